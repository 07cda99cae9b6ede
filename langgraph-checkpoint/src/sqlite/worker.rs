//! A thread of the saver's own (the group-commit and the log-checkpointing threads) that
//! closing waits for.

use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

/// Resolves once the thread started with [`Stopped::spawn`] has returned.
#[derive(Debug, Default)]
pub(super) struct Stopped(Mutex<Option<oneshot::Receiver<()>>>);

impl Stopped {
    /// Runs `f` on a new thread named `name`; [`wait`](Self::wait) then waits for it.
    pub(super) fn spawn(
        &self,
        name: &str,
        f: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<()> {
        let (stopped, on_stop) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                // `f`, and all it holds, is dropped before the sender.
                f();
                drop(stopped);
            })?;
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(on_stop);
        Ok(())
    }

    /// Waits for the thread to return (at once if none was started, or it was waited for).
    pub(super) async fn wait(&self) {
        let on_stop = self.0.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(on_stop) = on_stop {
            // The thread dropped its sender as it returned.
            let _ = on_stop.await;
        }
    }

    /// No thread is left to wait for.
    #[cfg(test)]
    pub(super) fn is_waited(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn waiting_returns_once_the_thread_has_returned() {
        let s = Stopped::default();
        // Nothing started: nothing to wait for.
        s.wait().await;
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        s.spawn("lg-test-worker", move || {
            std::thread::sleep(Duration::from_millis(30));
            d.store(true, Ordering::SeqCst);
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!s.is_waited());
        s.wait().await;
        assert!(done.load(Ordering::SeqCst));
        assert!(s.is_waited());
    }
}
