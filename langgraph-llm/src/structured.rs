//! Structured output: the answer is a `T`, validated against `T`'s JSON schema, asked again
//! with the validation errors when it is not.

use std::marker::PhantomData;

use langgraph_core::Ctx;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{FailedAttempt, LlmError};
use crate::llm::Llm;
use crate::message::Message;
use crate::model::{ChatRequest, ResponseFormat};

/// A call whose answer must be a `T`.
///
/// The schema of `T` goes to the provider (adapted to OpenAI's strict mode: every property
/// required, no additional properties, no keywords strict mode rejects). The answer is parsed
/// and validated against the *full* schema locally, including what providers do not enforce
/// (numeric bounds, lengths, formats). When it fails, the model's answer and the errors go
/// back to the model and it is asked again, up to `retries` times; the final error keeps every
/// attempt's raw output.
///
/// ```
/// use langgraph_llm::{Llm, Message, ScriptedModel, LlmError};
/// #[derive(serde::Deserialize, schemars::JsonSchema, Debug, PartialEq)]
/// struct Verdict {
///     #[schemars(range(min = 0.0, max = 1.0))]
///     confidence: f64,
///     answer: String,
/// }
/// let model = ScriptedModel::new("m")
///     .reply(r#"{"confidence": 7, "answer": "yes"}"#)      // out of range: asked again
///     .reply(r#"{"confidence": 0.9, "answer": "yes"}"#);
/// let llm = Llm::new(model);
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// let v: Verdict = rt.block_on(llm.structured::<Verdict>().retries(2).invoke(&[Message::user("ok?")])).unwrap();
/// assert_eq!(v, Verdict { confidence: 0.9, answer: "yes".into() });
/// ```
pub struct Structured<T> {
    llm: Llm,
    retries: u32,
    _t: PhantomData<fn() -> T>,
}

impl<T> Structured<T> {
    pub(crate) fn new(llm: Llm) -> Self {
        Self {
            llm,
            retries: 2,
            _t: PhantomData,
        }
    }

    /// Asks again up to `n` times after an invalid answer (default 2).
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }
}

impl<T: JsonSchema + DeserializeOwned> Structured<T> {
    /// Asks outside a graph.
    pub async fn invoke(&self, messages: &[Message]) -> Result<T, LlmError> {
        self.run(None, messages).await
    }

    /// Asks from a node (budget, streaming, usage: see [`Llm`]).
    pub async fn invoke_in(&self, ctx: &Ctx, messages: &[Message]) -> Result<T, LlmError> {
        self.run(Some(ctx), messages).await
    }

    async fn run(&self, ctx: Option<&Ctx>, messages: &[Message]) -> Result<T, LlmError> {
        let schema = schemars::schema_for!(T).to_value();
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| LlmError::Config(format!("the schema of the answer type: {e}")))?;
        let name = short_name(std::any::type_name::<T>());
        let format = ResponseFormat::JsonSchema {
            name: name.clone(),
            schema: strict_schema(&schema),
            strict: true,
        };
        let mut conversation = messages.to_vec();
        let mut attempts = Vec::new();
        for _ in 0..=self.retries {
            let mut request = ChatRequest::new(conversation.clone());
            request.response_format = Some(format.clone());
            let answer = self.llm.request(ctx, request).await?;
            let raw = answer.message.content.clone();
            match check::<T>(&validator, &raw) {
                Ok(v) => return Ok(v),
                Err(errors) => {
                    tracing::info!(errors = ?errors, "structured answer rejected; asking again");
                    conversation.push(Message::assistant(raw.clone()));
                    conversation.push(Message::user(format!(
                        "That answer is not valid: {}. Answer again with only a JSON object \
                         that matches the schema `{name}`.",
                        errors.join("; ")
                    )));
                    attempts.push(FailedAttempt { raw, errors });
                }
            }
        }
        Err(LlmError::Structured {
            type_name: std::any::type_name::<T>(),
            attempts,
        })
    }
}

/// Parses, validates and deserializes an answer; the errors say what to fix.
fn check<T: DeserializeOwned>(
    validator: &jsonschema::Validator,
    raw: &str,
) -> Result<T, Vec<String>> {
    let text = strip_fences(raw);
    let value: Value =
        serde_json::from_str(text).map_err(|e| vec![format!("not valid JSON ({e})")])?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() {
                e.to_string()
            } else {
                format!("at `{at}`: {e}")
            }
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_json::from_value(value).map_err(|e| vec![e.to_string()])
}

/// Small models wrap JSON in Markdown fences; take what is inside.
fn strip_fences(raw: &str) -> &str {
    let t = raw.trim();
    let Some(inner) = t.strip_prefix("```") else {
        return t;
    };
    let inner = inner.strip_prefix("json").unwrap_or(inner);
    inner.strip_suffix("```").unwrap_or(inner).trim()
}

fn short_name(type_name: &str) -> String {
    let base = type_name.split('<').next().unwrap_or(type_name);
    base.rsplit("::")
        .next()
        .unwrap_or(base)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Keywords OpenAI's strict mode rejects (checked locally instead).
const UNSUPPORTED: [&str; 13] = [
    "$schema",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "default",
];

/// `schema` as OpenAI's strict mode accepts it: objects list every property as required and
/// allow no others; unsupported keywords are dropped (the local validation keeps them).
pub fn strict_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, v) in o {
                if UNSUPPORTED.contains(&k.as_str()) {
                    continue;
                }
                out.insert(k.clone(), strict_schema(v));
            }
            let is_object =
                out.get("type").is_some_and(|t| t == "object") || out.contains_key("properties");
            if is_object {
                let keys: Vec<Value> = out
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().cloned().map(Value::String).collect())
                    .unwrap_or_default();
                out.insert("required".into(), Value::Array(keys));
                out.insert("additionalProperties".into(), Value::Bool(false));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(strict_schema).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_schemas_require_everything_and_drop_bounds() {
        let s = json!({
            "type": "object",
            "properties": {
                "a": {"type": "number", "minimum": 0},
                "b": {"type": "object", "properties": {"c": {"type": "string", "format": "email"}}}
            },
            "required": ["a"]
        });
        let strict = strict_schema(&s);
        assert_eq!(strict["required"], json!(["a", "b"]));
        assert_eq!(strict["additionalProperties"], false);
        assert!(strict["properties"]["a"].get("minimum").is_none());
        assert_eq!(strict["properties"]["b"]["required"], json!(["c"]));
        assert!(
            strict["properties"]["b"]["properties"]["c"]
                .get("format")
                .is_none()
        );
    }

    #[test]
    fn answers_are_checked_against_the_full_schema() {
        #[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
        struct V {
            #[schemars(range(min = 0, max = 10))]
            n: u32,
        }
        let schema = schemars::schema_for!(V).to_value();
        let v = jsonschema::validator_for(&schema).unwrap();
        assert_eq!(check::<V>(&v, "```json\n{\"n\": 3}\n```").unwrap().n, 3);
        let errors = check::<V>(&v, "{\"n\": 30}").unwrap_err();
        assert!(
            errors[0].contains("/n") && errors[0].contains("30"),
            "{errors:?}"
        );
        assert!(check::<V>(&v, "not json").unwrap_err()[0].contains("not valid JSON"));
        assert_eq!(short_name("my::mod::Verdict<u8>"), "Verdict");
    }
}
