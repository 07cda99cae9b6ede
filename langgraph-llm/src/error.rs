//! `LlmError`: what can go wrong with a model call, a structured answer or a tool.

use langgraph_core::BudgetExceeded;

/// One attempt at a structured answer that did not validate.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedAttempt {
    /// What the model wrote.
    pub raw: String,
    /// Why it was rejected (parse or schema errors).
    pub errors: Vec<String>,
}

/// An error of the LLM layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The provider answered with an error status (after the retries for 429 and 5xx).
    #[error("the model server answered {status}: {body}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The body (truncated).
        body: String,
    },
    /// The provider could not be reached or the connection broke.
    #[error("cannot reach the model server: {0}")]
    Transport(String),
    /// No answer within the request timeout.
    #[error("the model did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The provider's answer does not follow the protocol.
    #[error("unexpected answer from the model server: {0}")]
    Protocol(String),
    /// Missing or invalid configuration (base URL, key, model).
    #[error("configuration: {0}")]
    Config(String),
    /// A tool call's arguments are not valid JSON.
    #[error("the model called `{tool}` with arguments that are not JSON ({reason}): {raw}")]
    BadToolArguments {
        /// The tool.
        tool: String,
        /// What the model wrote.
        raw: String,
        /// The parse error.
        reason: String,
    },
    /// No valid structured answer after every attempt; each attempt's output and errors are
    /// kept.
    #[error(
        "no answer matched the schema of `{type_name}` after {} attempts; last errors: {}",
        attempts.len(),
        attempts.last().map(|a| a.errors.join("; ")).unwrap_or_default()
    )]
    Structured {
        /// The expected type.
        type_name: &'static str,
        /// Every attempt.
        attempts: Vec<FailedAttempt>,
    },
    /// A ceiling of the run's budget was reached; no call was made.
    #[error(transparent)]
    Budget(Box<BudgetExceeded>),
    /// A tool failed.
    #[error("tool `{tool}` failed: {message}")]
    Tool {
        /// The tool.
        tool: String,
        /// Its error.
        message: String,
    },
    /// The model called a tool that is not bound.
    #[error("the model called an unknown tool `{0}`")]
    UnknownTool(String),
}

impl From<BudgetExceeded> for LlmError {
    fn from(e: BudgetExceeded) -> Self {
        Self::Budget(Box::new(e))
    }
}

impl LlmError {
    /// True for errors worth retrying: rate limits, server errors, timeouts, broken connections.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http { status, .. } => *status == 429 || *status >= 500,
            Self::Transport(_) | Self::Timeout(_) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_the_retryable_ones() {
        let http = |status| LlmError::Http {
            status,
            body: String::new(),
        };
        assert!(http(429).is_transient() && http(503).is_transient());
        assert!(!http(400).is_transient() && !http(401).is_transient());
        assert!(LlmError::Timeout(std::time::Duration::from_secs(1)).is_transient());
        let s = LlmError::Structured {
            type_name: "Verdict",
            attempts: vec![FailedAttempt {
                raw: "{}".into(),
                errors: vec!["missing `answer`".into()],
            }],
        };
        assert!(
            s.to_string()
                .contains("after 1 attempts; last errors: missing `answer`")
        );
    }
}
