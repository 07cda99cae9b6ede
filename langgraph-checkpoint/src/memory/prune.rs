//! Pruning a thread held in memory (the plan and the rewrite are in [`crate::prune`]).

use super::{InMemorySaver, Namespace, Stored, Thread, insert_sorted};
use crate::error::CheckpointError;
use crate::prune::{Entry, plan, rewrite};

/// Keeps what [`Prune::KeepLatest`](crate::Prune::KeepLatest) keeps of `t`; `t` is left as
/// it was when a kept checkpoint cannot be read.
pub(super) fn keep_latest(thread_id: &str, t: &mut Thread) -> Result<(), CheckpointError> {
    let mut entries = Vec::new();
    for (name, ns) in &t.namespaces {
        for s in &ns.checkpoints {
            entries.push(Entry::new(
                name.clone(),
                s.checkpoint.id.to_string(),
                s.parent.as_deref().map(str::to_string),
                s.metadata.clone(),
            ));
        }
    }
    let total = entries.len();
    let kept = plan(entries);
    if kept.len() == total {
        return Ok(());
    }
    let mut pruned: Vec<(String, Namespace)> = Vec::with_capacity(kept.0.len());
    for (name, ids) in &kept.0 {
        let Some(ns) = t.namespaces.get(name) else {
            continue;
        };
        let mut out = Namespace::default();
        for id in ids {
            let Some(tuple) = InMemorySaver::tuple(thread_id, name, ns, id)? else {
                continue;
            };
            let r = rewrite(&tuple, |x| ids.contains(x));
            for b in r.blobs {
                let list = out.blobs.entry(b.channel).or_default();
                insert_sorted(list, (b.version, b.value), |(v, _)| v);
            }
            if let Some(w) = ns.writes.get(id.as_str()) {
                out.writes.insert(tuple.checkpoint.id.clone(), w.clone());
            }
            let stored = Box::new(Stored {
                checkpoint: r.checkpoint,
                metadata: tuple.metadata,
                parent: r.parent.map(Into::into),
            });
            insert_sorted(&mut out.checkpoints, stored, |s| &s.checkpoint.id);
        }
        pruned.push((name.clone(), out));
    }
    t.namespaces = pruned.into_iter().collect();
    t.epoch += 1;
    Ok(())
}
