//! Waiting for a local database without sleeping: a saver's statement runs on another thread
//! (SQLite's connection worker) and takes tens of microseconds; parking the caller's thread
//! and waking it again costs about as much, in context switches. [`spin`] polls the statement
//! again at once while it is young and parks only after `budget`.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

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
}
