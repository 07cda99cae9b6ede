//! Retry policies: attempts, exponential backoff with jitter, and which errors retry.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use crate::error::NodeError;

type Predicate = Arc<dyn Fn(&NodeError) -> bool + Send + Sync>;

/// When and how often a failing node is tried again, within the same superstep.
///
/// Retries are invisible to the state and the stream: the task's writes are those of the
/// attempt that succeeded. [`Ctx::attempt`](crate::Ctx::attempt) tells a node which attempt it
/// is; [`Ctx::task_id`](crate::Ctx::task_id) stays the same across attempts.
///
/// An error marked [`NodeError::permanent`] is never retried and one marked
/// [`NodeError::transient`] always is (up to `max_attempts`); other errors are retried when the
/// predicate says so (default: every error).
///
/// ```
/// use std::time::Duration;
/// use langgraph_core::{NodeError, RetryPolicy};
/// let p = RetryPolicy::new(3)
///     .initial_interval(Duration::from_millis(10))
///     .jitter(false)
///     .retry_if(|e: &NodeError| e.is::<std::io::Error>());
/// assert_eq!(p.max_attempts, 3);
/// assert_eq!(p.delay(1), Duration::from_millis(10));
/// assert_eq!(p.delay(2), Duration::from_millis(20));
/// assert!(p.should_retry(&std::io::Error::other("reset").into()));
/// assert!(!p.should_retry(&NodeError::msg("bad input")));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in total, the first included (at least 1).
    pub max_attempts: u32,
    /// Wait before the second attempt.
    pub initial_interval: Duration,
    /// Multiplier of the wait per further attempt.
    pub backoff_factor: f64,
    /// Upper bound of the wait.
    pub max_interval: Duration,
    /// Randomizes each wait to between 50% and 150% of its nominal value.
    pub jitter: bool,
    retry_if: Option<Predicate>,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("initial_interval", &self.initial_interval)
            .field("backoff_factor", &self.backoff_factor)
            .field("max_interval", &self.max_interval)
            .field("jitter", &self.jitter)
            .field("retry_if", &self.retry_if.as_ref().map(|_| "fn"))
            .finish()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new(3)
    }
}

impl RetryPolicy {
    /// Up to `max_attempts` attempts, starting at 500 ms, doubling, capped at 128 s, with
    /// jitter, retrying every error.
    pub fn new(max_attempts: u32) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            initial_interval: Duration::from_millis(500),
            backoff_factor: 2.0,
            max_interval: Duration::from_secs(128),
            jitter: true,
            retry_if: None,
        }
    }

    /// Sets the first wait.
    pub fn initial_interval(mut self, d: Duration) -> Self {
        self.initial_interval = d;
        self
    }

    /// Sets the wait multiplier.
    pub fn backoff_factor(mut self, f: f64) -> Self {
        self.backoff_factor = if f.is_finite() && f >= 1.0 { f } else { 1.0 };
        self
    }

    /// Sets the longest wait.
    pub fn max_interval(mut self, d: Duration) -> Self {
        self.max_interval = d;
        self
    }

    /// Turns jitter on or off.
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// Retries only errors for which `pred` is true (explicit markings still win).
    pub fn retry_if(mut self, pred: impl Fn(&NodeError) -> bool + Send + Sync + 'static) -> Self {
        self.retry_if = Some(Arc::new(pred));
        self
    }

    /// True when `error` should be retried (attempts left aside).
    pub fn should_retry(&self, error: &NodeError) -> bool {
        match error.retryable() {
            Some(explicit) => explicit,
            None => self.retry_if.as_ref().is_none_or(|p| p(error)),
        }
    }

    /// The wait after failed attempt `attempt` (1-based), before jitter is applied.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .backoff_factor
            .powi(attempt.saturating_sub(1).min(64) as i32);
        let nominal = self.initial_interval.as_secs_f64() * exp;
        let capped = nominal.min(self.max_interval.as_secs_f64());
        let secs = if self.jitter {
            capped * (0.5 + random_unit())
        } else {
            capped
        };
        Duration::try_from_secs_f64(secs).unwrap_or(self.max_interval)
    }
}

/// A random number in [0, 1) without a RNG dependency (std's per-process random hash keys).
fn random_unit() -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x5eed);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::new(5)
            .initial_interval(Duration::from_millis(100))
            .backoff_factor(3.0)
            .max_interval(Duration::from_millis(500))
            .jitter(false);
        assert_eq!(p.delay(1), Duration::from_millis(100));
        assert_eq!(p.delay(2), Duration::from_millis(300));
        assert_eq!(p.delay(3), Duration::from_millis(500));
        assert_eq!(p.delay(60), Duration::from_millis(500));
        assert_eq!(RetryPolicy::new(0).max_attempts, 1);
        assert_eq!(RetryPolicy::default().max_attempts, 3);
        assert_eq!(
            RetryPolicy::new(2).backoff_factor(f64::NAN).backoff_factor,
            1.0
        );
    }

    #[test]
    fn jitter_stays_in_range() {
        let p = RetryPolicy::new(2).initial_interval(Duration::from_millis(100));
        for _ in 0..50 {
            let d = p.delay(1).as_millis();
            assert!((50..=150).contains(&d), "{d}");
        }
    }

    #[test]
    fn markings_beat_the_predicate() {
        let p = RetryPolicy::new(2).retry_if(|_| false);
        assert!(!p.should_retry(&NodeError::msg("x")));
        assert!(p.should_retry(&NodeError::msg("x").transient()));
        let all = RetryPolicy::new(2);
        assert!(all.should_retry(&NodeError::msg("x")));
        assert!(!all.should_retry(&NodeError::msg("x").permanent()));
        assert!(format!("{p:?}").contains("fn"));
    }
}
