//! Planning a write: the statements and parameters that store claims, checkpoints and pending
//! writes, each fenced by the thread's epoch, and what their results mean. No I/O here. Two
//! forms of the same ops, both inside `BEGIN IMMEDIATE … COMMIT` (the database's write lock,
//! so every check sees every committed write):
//!
//! - a plan ([`plan`]), sent to the pool as one script by `write.rs`: every insert carries its
//!   own guard in its `WHERE`, every op after the first also requires that the op before it
//!   was stored, and stored rows come back through `RETURNING`;
//! - steps ([`steps`]), run one by one on the caller's thread by `direct.rs`: a check query
//!   (or a claim that must change its row), then plain inserts with known changed-row counts.
//!
//! Either way a rejected op stops the batch and the ops before it are stored.

use std::sync::LazyLock;

use crate::encode::{blobs_json, put_conflict, to_json, writes_conflict};
use crate::error::CheckpointError;
use crate::model::{Fence, PutCheckpoint, PutWrites, SaveOp};

/// Parameters of one op, `$1`..`$10`: thread, namespace, checkpoint id (writes: the claim's
/// token), parent id (writes: their checkpoint), checkpoint, metadata, blobs, epoch, expected
/// head, pending writes. In a one-script batch, op `k` uses `$(10k + 1)`..`$(10k + 10)`.
/// (`$N` names, not `?N` indexes: SQLite numbers `$` names densely per statement, so a
/// statement that uses only some of an op's parameters leaves no unnamed gaps for a driver to
/// fill, and a driver that binds by name finds each one.)
pub(super) const PARAMS: usize = 10;

/// The newest checkpoint of namespace `$2` is `$9` (NULL: the namespace has none).
const HEAD_IS: &str = "(SELECT max(checkpoint_id) FROM lg_checkpoints \
     WHERE thread_id = $1 AND ns = $2) IS $9";

/// In a batch, the op before this one was stored: its last statement changed rows.
const PREVIOUS_STORED: &str = "changes() > 0";

/// Bumps the thread's epoch from `$8 - 1` to `$8` (creating the thread row) and records the
/// claim's token `$3`, if `cond` holds: a claim that cannot write its checkpoint does not
/// fence anyone out.
fn claim_sql(cond: &str) -> String {
    format!(
        "INSERT INTO lg_threads (thread_id, epoch, owner) SELECT $1, $8, $3 WHERE {cond} \
         ON CONFLICT (thread_id) DO UPDATE SET epoch = excluded.epoch, owner = excluded.owner \
         WHERE lg_threads.epoch = $8 - 1"
    )
}

/// The epoch of thread `$1` is `$8`.
const FENCE_HOLDS: &str = "(SELECT epoch FROM lg_threads WHERE thread_id = $1) = $8";

/// The epoch of thread `$1` is `$8`, set by the claim with token `$3` (an equal epoch may
/// come from another claimer that won).
const CLAIM_HELD: &str = "(SELECT epoch = $8 AND owner IS $3 FROM lg_threads WHERE thread_id = $1)";

/// Upserts the writes of JSON array `$10` at checkpoint `$4`, if `guard` holds.
fn writes_sql(guard: &str) -> String {
    format!(
        "INSERT INTO lg_writes (thread_id, ns, checkpoint_id, task_id, channel, task_name, value) \
         SELECT $1, $2, $4, j.value ->> '$.task_id', j.value ->> '$.channel', \
                j.value ->> '$.task_name', j.value -> '$.value' \
         FROM json_each($10) AS j WHERE {guard} \
         ON CONFLICT (thread_id, ns, checkpoint_id, task_id, channel) \
         DO UPDATE SET value = excluded.value, task_name = excluded.task_name"
    )
}

/// `cond`, and in a batch after the first op, that the previous op was stored.
fn and_previous(cond: &str, first: bool) -> String {
    if first {
        cond.to_string()
    } else {
        format!("{cond} AND {PREVIOUS_STORED}")
    }
}

/// The statements storing a checkpoint; the checkpoint insert returns one row, `tag`, if it
/// was stored.
fn put_statements(claim: bool, with_writes: bool, first: bool, tag: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(3);
    let fence = if claim {
        out.push(claim_sql(&and_previous(HEAD_IS, first)));
        // The claim's own guard checked the previous op.
        format!("{CLAIM_HELD} AND {HEAD_IS}")
    } else {
        and_previous(&format!("{FENCE_HOLDS} AND {HEAD_IS}"), first)
    };
    out.push(format!(
        "INSERT INTO lg_checkpoints \
         (thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, blobs) \
         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE {fence} RETURNING {tag}"
    ));
    if with_writes {
        out.push(writes_sql(
            "$4 IS NOT NULL AND EXISTS (SELECT 1 FROM lg_checkpoints \
             WHERE thread_id = $1 AND ns = $2 AND checkpoint_id = $3)",
        ));
    }
    out
}

/// The statements storing pending writes; they return one row, `tag`, per stored write.
fn writes_statements(claim: bool, first: bool, tag: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(2);
    let insert = if claim {
        out.push(claim_sql(&and_previous("1", first)));
        writes_sql(CLAIM_HELD)
    } else {
        writes_sql(&and_previous(FENCE_HOLDS, first))
    };
    out.push(format!("{insert} RETURNING {tag}"));
    out
}

/// The parameters `$N` of `sql`, in order: the byte range of each one's digits, and `N`
/// (JSON paths such as `'$.x'` are not parameters).
fn dollar_params(sql: &str) -> impl Iterator<Item = (std::ops::Range<usize>, usize)> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(i) = sql[from..].find('$') {
            let start = from + i + 1;
            let digits = sql[start..].bytes().take_while(u8::is_ascii_digit).count();
            from = start + digits;
            if let Ok(n) = sql[start..from].parse::<usize>() {
                return Some((start..from, n));
            }
        }
        None
    })
}

/// Renames the parameters `$N` of `sql` to `$(N + offset)` (JSON paths such as `'$.x'` are
/// not parameters and stay).
pub(super) fn shift_params(sql: &str, offset: usize) -> String {
    if offset == 0 {
        return sql.to_string();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut copied = 0;
    for (digits, n) in dollar_params(sql) {
        out.push_str(&sql[copied..digits.start]);
        out.push_str(&(n + offset).to_string());
        copied = digits.end;
    }
    out.push_str(&sql[copied..]);
    out
}

/// A parameter value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Param {
    Null,
    Int(i64),
    Text(String),
}

impl From<&str> for Param {
    fn from(s: &str) -> Self {
        Param::Text(s.to_string())
    }
}

impl From<Option<&str>> for Param {
    fn from(s: Option<&str>) -> Self {
        s.map_or(Param::Null, |s| Param::Text(s.to_string()))
    }
}

/// The parameter values of one op, `$1`..`$10`.
pub(super) type Params = [Param; PARAMS];

fn with_writes(put: &PutCheckpoint) -> bool {
    put.parent_id.is_some() && !put.parent_writes.is_empty()
}

/// The parameters of a checkpoint op.
fn put_params(put: &PutCheckpoint) -> Result<Params, CheckpointError> {
    Ok([
        put.thread_id.as_str().into(),
        put.ns.as_str().into(),
        put.checkpoint.id.as_str().into(),
        put.parent_id.as_deref().into(),
        Param::Text(to_json("a checkpoint", &put.checkpoint)?),
        Param::Text(to_json("checkpoint metadata", &put.metadata)?),
        Param::Text(blobs_json(&put.blobs)?),
        Param::Int(put.fence.epoch),
        put.expected_head.as_deref().into(),
        Param::Text(if with_writes(put) {
            to_json("pending writes", &put.parent_writes)?
        } else {
            "[]".to_string()
        }),
    ])
}

/// The parameters of a writes op (`$3`: a fresh claim token).
fn writes_params(w: &PutWrites) -> Result<Params, CheckpointError> {
    Ok([
        w.thread_id.as_str().into(),
        w.ns.as_str().into(),
        Param::Text(crate::model::new_checkpoint_id().into()),
        w.checkpoint_id.as_str().into(),
        Param::Null,
        Param::Null,
        Param::Null,
        Param::Int(w.fence.epoch),
        Param::Null,
        Param::Text(to_json("pending writes", &w.writes)?),
    ])
}

/// The parameters of each op, serialized once for whichever form runs them.
pub(super) fn params(ops: &[SaveOp]) -> Result<Vec<Params>, CheckpointError> {
    ops.iter()
        .map(|op| match op {
            SaveOp::Checkpoint(p) => put_params(p),
            SaveOp::Writes(w) => writes_params(w),
        })
        .collect()
}

/// Ops in one transaction at most (one script of ten parameters each through the pool).
pub(super) const MAX_BATCH: usize = 64;

/// The ops worth storing: empty pending writes store nothing and are left out.
pub(super) fn nonempty(ops: Vec<SaveOp>) -> Vec<SaveOp> {
    ops.into_iter()
        .filter(|op| !matches!(op, SaveOp::Writes(w) if w.writes.is_empty()))
        .collect()
}

/// The statements of one transaction storing `ops` (at most [`MAX_BATCH`]) in order, per op
/// (parameters `$1`..`$10`, unshifted); op `k`'s stored rows return tag `k`.
pub(super) fn plan(ops: &[SaveOp]) -> Vec<Vec<String>> {
    ops.iter()
        .enumerate()
        .map(|(k, op)| match op {
            SaveOp::Checkpoint(p) => put_statements(p.fence.claim, with_writes(p), k == 0, k),
            SaveOp::Writes(w) => writes_statements(w.fence.claim, k == 0, k),
        })
        .collect()
}

/// Checks the rows a transaction returned (their tags) against what each op stores: one row
/// for a checkpoint, one per write. The first op that was not stored is the error.
pub(super) fn check(ops: &[SaveOp], tags: &[usize]) -> Result<(), CheckpointError> {
    let stored = ops
        .iter()
        .enumerate()
        .take_while(|(k, op)| {
            let rows = tags.iter().filter(|&t| t == k).count();
            match op {
                SaveOp::Checkpoint(_) => rows == 1,
                SaveOp::Writes(w) => rows == w.writes.len(),
            }
        })
        .count();
    rejected(ops, stored)
}

/// A statement of the direct connection, with the op parameter each of its own parameters
/// takes: SQLite numbers named parameters in the order they first appear in the text, so
/// `binds[i]` is the index into the op's [`Params`] of `$N` that SQLite numbers `i + 1`
/// (worked out once, not looked up by name at every bind).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Sql {
    pub(super) text: String,
    pub(super) binds: Vec<usize>,
}

impl Sql {
    pub(super) fn new(text: String) -> Self {
        let binds = param_order(&text);
        Self { text, binds }
    }
}

/// The distinct `$N` of `sql`, in order of first appearance, as indexes `N - 1`.
fn param_order(sql: &str) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for (_, n) in dollar_params(sql) {
        if let Some(i) = n.checked_sub(1).filter(|i| !out.contains(i)) {
            out.push(i);
        }
    }
    out
}

/// One step of an op run on a connection that already holds the write lock (the direct
/// connection): there the checks can be their own queries, so no insert reads the table it
/// writes (SQLite would copy the selected row into a temporary table first) and nothing needs
/// `RETURNING` (another temporary table). An op whose check fails changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// A query whose one value must be true.
    Require(&'static Sql),
    /// A statement that must change this many rows.
    Change(&'static Sql, usize),
}

/// The epoch is the writer's and the head is the one it expects.
static PUT_HOLDS: LazyLock<Sql> =
    LazyLock::new(|| Sql::new(format!("SELECT {FENCE_HOLDS} AND {HEAD_IS}")));
/// The epoch is the writer's.
static WRITES_HOLD: LazyLock<Sql> = LazyLock::new(|| Sql::new(format!("SELECT {FENCE_HOLDS}")));
/// A claim that requires the expected head.
static CLAIM_AT_HEAD: LazyLock<Sql> = LazyLock::new(|| Sql::new(claim_sql(HEAD_IS)));
/// A claim of pending writes (no head to check).
static CLAIM_ANY: LazyLock<Sql> = LazyLock::new(|| Sql::new(claim_sql("1")));
/// The writes of `$10`, checked before.
static WRITES: LazyLock<Sql> = LazyLock::new(|| Sql::new(writes_sql("1")));
/// The checkpoint, checked before.
static INSERT_CHECKPOINT: LazyLock<Sql> = LazyLock::new(|| {
    Sql::new(
        "INSERT INTO lg_checkpoints \
         (thread_id, ns, checkpoint_id, parent_id, checkpoint, metadata, blobs) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)"
            .to_string(),
    )
});

/// Every statement the steps use.
#[cfg(test)]
pub(super) fn all_step_sql() -> [&'static Sql; 6] {
    [
        &PUT_HOLDS,
        &WRITES_HOLD,
        &CLAIM_AT_HEAD,
        &CLAIM_ANY,
        &WRITES,
        &INSERT_CHECKPOINT,
    ]
}

/// The steps of each op, in order. A claim that changed its row holds the fence for the rest
/// of the op (the write lock is held throughout).
pub(super) fn steps(ops: &[SaveOp]) -> Vec<Vec<Step>> {
    ops.iter()
        .map(|op| match op {
            SaveOp::Checkpoint(p) => {
                let mut steps = vec![if p.fence.claim {
                    Step::Change(&CLAIM_AT_HEAD, 1)
                } else {
                    Step::Require(&PUT_HOLDS)
                }];
                steps.push(Step::Change(&INSERT_CHECKPOINT, 1));
                if with_writes(p) {
                    steps.push(Step::Change(&WRITES, p.parent_writes.len()));
                }
                steps
            }
            SaveOp::Writes(w) => vec![
                if w.fence.claim {
                    Step::Change(&CLAIM_ANY, 1)
                } else {
                    Step::Require(&WRITES_HOLD)
                },
                Step::Change(&WRITES, w.writes.len()),
            ],
        })
        .collect()
}

/// The error of the first op not stored, when only the first `stored` ops were.
pub(super) fn rejected(ops: &[SaveOp], stored: usize) -> Result<(), CheckpointError> {
    match ops.get(stored) {
        None => Ok(()),
        Some(SaveOp::Checkpoint(p)) => Err(put_conflict(p)),
        Some(SaveOp::Writes(w)) => Err(writes_conflict(w)),
    }
}

/// Claims a thread: bumps its epoch from `?2 - 1` to `?2` with token `?3`; one changed row
/// if the claim won.
pub(super) const CLAIM: &str = "INSERT INTO lg_threads (thread_id, epoch, owner) VALUES (?1, ?2, ?3) \
     ON CONFLICT (thread_id) DO UPDATE SET epoch = excluded.epoch, owner = excluded.owner \
     WHERE lg_threads.epoch = ?2 - 1";

/// The fence of a claim that changed `changed` rows.
pub(super) fn claimed(thread_id: &str, epoch: i64, changed: u64) -> Result<Fence, CheckpointError> {
    if changed == 1 {
        Ok(Fence {
            epoch,
            claim: false,
        })
    } else {
        Err(CheckpointError::conflict(
            thread_id,
            "another run claimed the thread first",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_renamed_and_json_paths_kept() {
        assert_eq!(
            shift_params("SELECT $1, $10 ->> '$.task_id' WHERE x = $9", 20),
            "SELECT $21, $30 ->> '$.task_id' WHERE x = $29"
        );
        assert_eq!(shift_params("$3$", 0), "$3$");
        assert_eq!(shift_params("a $ b $2", 10), "a $ b $12");
    }

    fn mentions(statements: &[String], what: &str) -> bool {
        statements.iter().any(|s| s.contains(what))
    }

    #[test]
    fn only_ops_after_the_first_check_the_previous_op() {
        assert!(!mentions(
            &put_statements(false, true, true, 0),
            PREVIOUS_STORED
        ));
        assert!(mentions(
            &put_statements(false, true, false, 1),
            PREVIOUS_STORED
        ));
        assert!(mentions(
            &put_statements(true, false, false, 1),
            PREVIOUS_STORED
        ));
        assert!(mentions(
            &writes_statements(true, false, 2),
            PREVIOUS_STORED
        ));
        assert!(mentions(&writes_statements(false, false, 2), "RETURNING 2"));
    }

    #[test]
    fn direct_steps_check_first_and_then_change_known_row_counts() {
        use crate::model::{Checkpoint, CheckpointMetadata, PendingWrite, Source};
        let write = PendingWrite {
            task_id: "a".into(),
            task_name: "node".into(),
            channel: "c".into(),
            value: serde_json::json!(1),
        };
        let put = |claim: bool, writes: Vec<PendingWrite>| PutCheckpoint {
            thread_id: "t".into(),
            ns: String::new(),
            checkpoint: Checkpoint::with_id("b"),
            metadata: CheckpointMetadata::new(Source::Loop, 0),
            parent_id: Some("a".into()),
            expected_head: Some("a".into()),
            blobs: Vec::new(),
            parent_writes: writes,
            fence: Fence { epoch: 2, claim },
        };
        let ops = [
            SaveOp::Checkpoint(put(false, Vec::new())),
            SaveOp::Checkpoint(put(true, vec![write.clone(), write.clone()])),
            SaveOp::Writes(PutWrites {
                thread_id: "t".into(),
                ns: String::new(),
                checkpoint_id: "b".into(),
                writes: vec![write],
                fence: Fence {
                    epoch: 2,
                    claim: false,
                },
            }),
        ];
        let stepped = steps(&ops);
        assert_eq!(
            stepped[0],
            [
                Step::Require(&PUT_HOLDS),
                Step::Change(&INSERT_CHECKPOINT, 1)
            ]
        );
        assert_eq!(
            stepped[1],
            [
                Step::Change(&CLAIM_AT_HEAD, 1),
                Step::Change(&INSERT_CHECKPOINT, 1),
                Step::Change(&WRITES, 2)
            ]
        );
        assert_eq!(
            stepped[2],
            [Step::Require(&WRITES_HOLD), Step::Change(&WRITES, 1)]
        );
        assert_eq!(params(&ops).unwrap()[1][7], Param::Int(2));
        // The first op not stored names the error; all stored is fine.
        assert!(rejected(&ops, 3).is_ok());
        assert!(rejected(&ops, 1).unwrap_err().is_conflict());
        // The pool's check agrees: op 0 stored (one row), op 1 not.
        assert!(check(&ops, &[0]).unwrap_err().is_conflict());
        assert!(check(&ops, &[0, 1, 2]).is_ok());
    }

    #[test]
    fn parameters_are_ordered_by_first_appearance() {
        assert_eq!(
            param_order("SELECT $2, $1, $2, $10 ->> '$.a' WHERE $1"),
            [1, 0, 9]
        );
        assert_eq!(param_order("SELECT $0, $, ?1, '$.x'"), Vec::<usize>::new());
        assert_eq!(INSERT_CHECKPOINT.binds, [0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn a_claim_comes_before_the_insert_it_guards() {
        let s = put_statements(true, true, true, 0);
        assert_eq!(s.len(), 3);
        assert!(s[0].starts_with("INSERT INTO lg_threads"));
        assert!(s[1].contains(CLAIM_HELD) && s[1].ends_with("RETURNING 0"));
        assert!(s[2].starts_with("INSERT INTO lg_writes"));
        assert_eq!(put_statements(false, false, true, 0).len(), 1);
    }
}
