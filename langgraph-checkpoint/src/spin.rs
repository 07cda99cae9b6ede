//! Waiting for a local database without sleeping: a saver's statement runs on another thread
//! or process (SQLite's connection worker, a PostgreSQL server on the same machine) and
//! takes tens to hundreds of microseconds; parking the caller's thread and waking it again
//! costs about as much, in context switches. [`Spin`] polls the statement again at once while
//! it is young and parks only after a budget learned from how long the saver's recent
//! statements took, so that a slow or remote database is not polled for nothing; and no more
//! callers poll at once than the machine has cores, so that waiting never crowds out work.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

/// Callers that may poll at once, per saver: the cores this process may use.
static MAX_POLLING: LazyLock<usize> =
    LazyLock::new(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));

/// A saver's polling budget, learned from its statements (shared by the saver's clones).
#[derive(Debug)]
pub(crate) struct Spin {
    /// The most a caller polls; zero: never.
    cap: Duration,
    /// Moving average of recent statements' durations, in nanoseconds (0: none yet).
    avg_ns: AtomicU64,
    /// Callers polling now, and how many may.
    polling: AtomicUsize,
    max_polling: usize,
}

/// A caller's place among those polling; given back when dropped.
struct Polling<'a>(&'a AtomicUsize);

impl<'a> Polling<'a> {
    /// A place if fewer than `max` callers hold one (a refused caller's count is dropped
    /// at once).
    fn take(count: &'a AtomicUsize, max: usize) -> Option<Self> {
        let place = Self(count);
        (count.fetch_add(1, Ordering::Relaxed) < max).then_some(place)
    }
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Spin {
    pub(crate) fn new(cap: Duration) -> Self {
        Self::with_max_polling(cap, *MAX_POLLING)
    }

    fn with_max_polling(cap: Duration, max_polling: usize) -> Self {
        Self {
            cap,
            avg_ns: AtomicU64::new(0),
            polling: AtomicUsize::new(0),
            max_polling,
        }
    }

    /// The budget of the next statement: twice the recent average, within the cap (the cap
    /// before any statement is timed); none while statements take longer than the cap, where
    /// polling would rarely catch one and parking costs little next to them.
    fn budget(&self) -> Duration {
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

    /// Awaits `fut` (one statement) and times it. While the budget lasts, and if fewer than
    /// the allowed callers are polling, a pending `fut` only asks to be polled again (the
    /// runtime's other tasks still run in between); after that it parks until woken.
    pub(crate) async fn run<F: Future>(&self, fut: F) -> F::Output {
        if self.cap.is_zero() {
            return fut.await;
        }
        let t0 = Instant::now();
        let budget = self.budget();
        let mut polling = if budget.is_zero() {
            None
        } else {
            Polling::take(&self.polling, self.max_polling)
        };
        let mut fut = pin!(fut);
        let out = poll_fn(|cx| match fut.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(v),
            Poll::Pending => {
                if polling.is_some() && t0.elapsed() < budget {
                    cx.waker().wake_by_ref();
                } else {
                    polling = None;
                }
                Poll::Pending
            }
        })
        .await;
        self.record(t0.elapsed());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn polling_gives_the_same_result_and_parks_after_the_budget() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            tx.send(7).ok();
        });
        // The budget (1 ms) runs out long before the value comes: the await parks, gives its
        // place back, and still completes when the sender wakes it.
        let s = Spin::new(Duration::from_millis(1));
        assert_eq!(s.run(rx).await.ok(), Some(7));
        assert_eq!(s.polling.load(Ordering::Relaxed), 0);
        sender.await.ok();
        assert_eq!(s.run(async { 4 }).await, 4);
    }

    #[test]
    fn no_more_callers_poll_at_once_than_allowed() {
        use std::task::{Context, Waker};
        let s = Spin::with_max_polling(Duration::from_secs(60), 1);
        let mut cx = Context::from_waker(Waker::noop());
        let mut first = Box::pin(s.run(std::future::pending::<()>()));
        let mut second = Box::pin(s.run(std::future::pending::<()>()));
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert_eq!(s.polling.load(Ordering::Relaxed), 1);
        // The second caller finds the one place taken: it parks instead of polling.
        assert!(second.as_mut().poll(&mut cx).is_pending());
        assert_eq!(s.polling.load(Ordering::Relaxed), 1);
        // A caller that goes away (a cancelled run) gives its place back.
        drop(first);
        assert_eq!(s.polling.load(Ordering::Relaxed), 0);
        let mut third = Box::pin(s.run(std::future::pending::<()>()));
        assert!(third.as_mut().poll(&mut cx).is_pending());
        assert_eq!(s.polling.load(Ordering::Relaxed), 1);
        drop((second, third));
        assert_eq!(s.polling.load(Ordering::Relaxed), 0);
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
        // A cap far above the statement, so that a loaded machine (a 3 ms sleep taking far
        // longer) still leaves the budget at twice what the statement took.
        let s = Spin::new(Duration::from_secs(10));
        let t0 = Instant::now();
        let v = s
            .run(async {
                tokio::time::sleep(Duration::from_millis(3)).await;
                9
            })
            .await;
        let took = t0.elapsed();
        assert_eq!(v, 9);
        let b = s.budget();
        // Twice the statement's time: at least 2 x 3 ms, at most twice the whole call.
        assert!(b >= Duration::from_millis(6), "{b:?}");
        assert!(b <= took * 2, "{b:?} for a call of {took:?}");
        assert_eq!(Spin::new(Duration::ZERO).run(async { 1 }).await, 1);
    }
}
