//! A checkpointer wrapper that counts calls and their time per method, for diagnosing where a
//! storage workload spends its time (`LG_BENCH_PROBE=1` prints the counts to stderr).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use langgraph::checkpoint::{
    CheckpointError, CheckpointTuple, Checkpointer, Fence, Head, ListOptions, PutCheckpoint,
    PutWrites, SaveOp, async_trait,
};

/// Calls and total µs per method.
pub(crate) type Counts = Arc<Mutex<BTreeMap<&'static str, (u64, f64)>>>;

pub(crate) struct Probe {
    inner: Arc<dyn Checkpointer>,
    pub(crate) counts: Counts,
}

impl Probe {
    pub(crate) fn wrap(inner: Arc<dyn Checkpointer>) -> Arc<dyn Checkpointer> {
        if std::env::var_os("LG_BENCH_PROBE").is_none() {
            return inner;
        }
        let p = Arc::new(Self {
            inner,
            counts: Counts::default(),
        });
        let counts = p.counts.clone();
        PROBES.lock().expect("probes").push(counts);
        p
    }

    fn record(&self, what: &'static str, t0: Instant) {
        let mut c = self.counts.lock().expect("counts");
        let e = c.entry(what).or_default();
        e.0 += 1;
        e.1 += t0.elapsed().as_nanos() as f64 / 1000.0;
    }
}

static PROBES: Mutex<Vec<Counts>> = Mutex::new(Vec::new());

/// Prints every probe's counts, per `unit` (e.g. per cycle), and forgets them.
pub(crate) fn report(units: f64) {
    for counts in PROBES.lock().expect("probes").drain(..) {
        for (k, (n, us)) in counts.lock().expect("counts").iter() {
            eprintln!(
                "probe {k:<12} {:>7.2} calls/unit {:>9.1} us/call",
                *n as f64 / units,
                us / *n as f64
            );
        }
    }
}

#[async_trait]
impl Checkpointer for Probe {
    async fn head(&self, thread_id: &str, ns: &str) -> Result<Head, CheckpointError> {
        let t = Instant::now();
        let r = self.inner.head(thread_id, ns).await;
        self.record("head", t);
        r
    }
    async fn get(
        &self,
        thread_id: &str,
        ns: &str,
        checkpoint_id: &str,
    ) -> Result<Option<CheckpointTuple>, CheckpointError> {
        let t = Instant::now();
        let r = self.inner.get(thread_id, ns, checkpoint_id).await;
        self.record("get", t);
        r
    }
    async fn list(
        &self,
        thread_id: &str,
        ns: &str,
        opts: &ListOptions,
    ) -> Result<Vec<CheckpointTuple>, CheckpointError> {
        let t = Instant::now();
        let r = self.inner.list(thread_id, ns, opts).await;
        self.record("list", t);
        r
    }
    async fn claim(&self, thread_id: &str, seen_epoch: i64) -> Result<Fence, CheckpointError> {
        let t = Instant::now();
        let r = self.inner.claim(thread_id, seen_epoch).await;
        self.record("claim", t);
        r
    }
    async fn put(&self, put: PutCheckpoint) -> Result<(), CheckpointError> {
        let t = Instant::now();
        let what = if put.fence.claim { "put+claim" } else { "put" };
        let r = self.inner.put(put).await;
        self.record(what, t);
        r
    }
    async fn put_writes(&self, w: PutWrites) -> Result<(), CheckpointError> {
        let t = Instant::now();
        let what = if w.fence.claim {
            "writes+claim"
        } else {
            "put_writes"
        };
        let r = self.inner.put_writes(w).await;
        self.record(what, t);
        r
    }
    async fn put_batch(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        let t = Instant::now();
        let what = match ops.len() {
            0..=2 => "batch<=2",
            3..=8 => "batch<=8",
            _ => "batch>8",
        };
        let r = self.inner.put_batch(ops).await;
        self.record(what, t);
        r
    }
    async fn put_batch_unsynced(&self, ops: Vec<SaveOp>) -> Result<(), CheckpointError> {
        let t = Instant::now();
        let r = self.inner.put_batch_unsynced(ops).await;
        self.record("unsynced", t);
        r
    }
    async fn sync(&self) -> Result<(), CheckpointError> {
        let t = Instant::now();
        let r = self.inner.sync().await;
        self.record("sync", t);
        r
    }
    async fn delete_thread(&self, thread_id: &str) -> Result<(), CheckpointError> {
        self.inner.delete_thread(thread_id).await
    }
    async fn prune(
        &self,
        threads: &[&str],
        strategy: langgraph::Prune,
    ) -> Result<(), CheckpointError> {
        let t = Instant::now();
        let r = self.inner.prune(threads, strategy).await;
        self.record("prune", t);
        r
    }
    async fn copy_thread(&self, from: &str, to: &str) -> Result<(), CheckpointError> {
        let t = Instant::now();
        let r = self.inner.copy_thread(from, to).await;
        self.record("copy_thread", t);
        r
    }
    async fn threads(
        &self,
        query: &langgraph::ThreadQuery,
    ) -> Result<Vec<langgraph::ThreadInfo>, CheckpointError> {
        let t = Instant::now();
        let r = self.inner.threads(query).await;
        self.record("threads", t);
        r
    }
}
