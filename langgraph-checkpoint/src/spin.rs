//! Waiting for a local database without sleeping: a saver's statement runs on another thread
//! or process (SQLite's connection worker, a PostgreSQL server on the same machine) and
//! takes tens to hundreds of microseconds; parking the caller's thread and waking it again
//! costs about as much, in context switches. [`spin`] polls the statement again at once while
//! it is young and parks only after `budget`; [`Spin`] picks that budget from how long the
//! saver's recent statements took, so that a slow or remote database is not polled for
//! nothing.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

/// A saver's polling budget, learned from its statements (shared by the saver's clones).
#[derive(Debug)]
pub(crate) struct Spin {
    /// The most a caller polls; zero: never.
    cap: Duration,
    /// Moving average of recent statements' durations, in nanoseconds (0: none yet).
    avg_ns: AtomicU64,
}

impl Spin {
    pub(crate) fn new(cap: Duration) -> Self {
        Self {
            cap,
            avg_ns: AtomicU64::new(0),
        }
    }

    /// The budget of the next statement: twice the recent average, within the cap (the cap
    /// before any statement is timed); none while statements take longer than the cap, where
    /// polling would rarely catch one and parking costs little next to them.
    pub(crate) fn budget(&self) -> Duration {
        let cap = u64::try_from(self.cap.as_nanos()).unwrap_or(u64::MAX);
        match self.avg_ns.load(Ordering::Relaxed) {
            0 => self.cap,
            avg if avg > cap => Duration::ZERO,
            avg => Duration::from_nanos(avg.saturating_mul(2).min(cap)),
        }
    }

    /// Adds a statement's duration to the average (weight 1/8). Callers racing here may lose
    /// one update; the average stays a recent one.
    fn record(&self, took: Duration) {
        let t = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX).max(1);
        let old = self.avg_ns.load(Ordering::Relaxed);
        let new = if old == 0 { t } else { old - old / 8 + t / 8 };
        self.avg_ns.store(new.max(1), Ordering::Relaxed);
    }

    /// Awaits `fut` (one statement), polling it for the current budget, and times it.
    pub(crate) async fn run<F: Future>(&self, fut: F) -> F::Output {
        if self.cap.is_zero() {
            return fut.await;
        }
        let t0 = Instant::now();
        let out = spin(self.budget(), fut).await;
        self.record(t0.elapsed());
        out
    }
}

/// Awaits `fut`, re-polling it without parking for up to `budget` (zero: a plain await).
/// Other tasks of the runtime still run in between: the task only asks to be polled again.
pub(crate) async fn spin<F: Future>(budget: Duration, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    if budget.is_zero() {
        return fut.await;
    }
    let mut start = None;
    poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(v) => Poll::Ready(v),
        Poll::Pending => {
            let t0 = *start.get_or_insert_with(Instant::now);
            if t0.elapsed() < budget {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spinning_gives_the_same_result_and_parks_after_the_budget() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            tx.send(7).ok();
        });
        // The budget (1 ms) runs out long before the value comes: the await parks and still
        // completes when the sender wakes it.
        let got = spin(Duration::from_millis(1), rx).await;
        assert_eq!(got.ok(), Some(7));
        sender.await.ok();
        assert_eq!(spin(Duration::ZERO, async { 3 }).await, 3);
        assert_eq!(spin(Duration::from_millis(1), async { 4 }).await, 4);
    }

    #[test]
    fn the_budget_follows_recent_statements_within_the_cap() {
        let s = Spin::new(Duration::from_millis(2));
        // Nothing timed yet: the cap.
        assert_eq!(s.budget(), Duration::from_millis(2));
        s.record(Duration::from_micros(300));
        assert_eq!(s.budget(), Duration::from_micros(600));
        // Statements slower than the cap: no polling at all.
        for _ in 0..40 {
            s.record(Duration::from_millis(10));
        }
        assert_eq!(s.budget(), Duration::ZERO);
        // The database gets fast again: the average follows and polling resumes, capped.
        for _ in 0..60 {
            s.record(Duration::from_micros(100));
        }
        let b = s.budget();
        assert!(
            b > Duration::ZERO && b <= Duration::from_micros(250),
            "{b:?}"
        );
        for _ in 0..60 {
            s.record(Duration::from_micros(1_500));
        }
        assert_eq!(s.budget(), Duration::from_millis(2));
        // A zero cap never polls.
        assert_eq!(Spin::new(Duration::ZERO).budget(), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_run_times_its_statement() {
        let s = Spin::new(Duration::from_millis(5));
        let v = s
            .run(async {
                tokio::time::sleep(Duration::from_millis(3)).await;
                9
            })
            .await;
        assert_eq!(v, 9);
        let b = s.budget();
        // Twice about 3 ms, capped at 5 ms.
        assert!(b >= Duration::from_millis(5), "{b:?}");
        assert_eq!(Spin::new(Duration::ZERO).run(async { 1 }).await, 1);
    }
}
