//! Which checkpoints a listing returns (pure; the database savers fetch the tuples).

use std::future::Future;

use crate::error::CheckpointError;
use crate::model::{CheckpointMetadata, CheckpointTuple, ListOptions};

/// How many checkpoints a listing reads in one statement: enough that a page of a UI's
/// history reads the chains its checkpoints share once, few enough that a listing of a whole
/// long thread does not hold every row of it at once.
pub(crate) const PAGE: usize = 64;

/// Candidate rows the first statement of a filtered, limited listing reads (at least; twice
/// the limit when that is more).
const FIRST_WINDOW: usize = 64;

/// Most candidate rows one statement of a filtered listing reads.
const MAX_WINDOW: usize = 4096;

/// How many candidate rows the next statement of a listing with a filter and a `limit` reads,
/// after one of `last` rows (`None`: the first statement). Each window doubles the last, so a
/// filter that few rows match costs a few statements, not one per page.
fn next_window(last: Option<usize>, limit: usize) -> usize {
    match last {
        None => limit.saturating_mul(2).clamp(FIRST_WINDOW, MAX_WINDOW),
        Some(n) => n.saturating_mul(2).min(MAX_WINDOW),
    }
}

/// The ids, among `rows` of `(checkpoint id, metadata JSON)` newest first, whose metadata
/// matches `opts.filter`, at most `limit` of them. A row whose metadata does not decode is a
/// typed error naming the thread and the checkpoint.
fn matching(
    thread_id: &str,
    rows: Vec<(String, String)>,
    opts: &ListOptions,
    limit: Option<usize>,
) -> Result<Vec<String>, CheckpointError> {
    let mut ids = Vec::new();
    for (id, meta) in rows {
        if limit.is_some_and(|l| ids.len() >= l) {
            break;
        }
        let m: CheckpointMetadata = serde_json::from_str(&meta)
            .map_err(|e| CheckpointError::corrupt(thread_id, &id, format!("metadata: {e}")))?;
        if m.matches(&opts.filter) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The ids of the checkpoints `opts` selects, newest first, read through `fetch(before,
/// limit)`: a statement returning a namespace's `(checkpoint id, metadata JSON)` rows newest
/// first, older than `before` (`None`: from the newest), at most `limit` of them (`None`: all).
///
/// Without a filter the newest `opts.limit` rows are the answer (one statement). With a filter
/// and a limit, windows of rows are read, each older than the last, until enough match or the
/// namespace ends: a page of a long thread's filtered history reads the rows down to its last
/// match, not the whole thread. With a filter and no limit, every row once.
pub(crate) async fn select_ids<F, Fut>(
    thread_id: &str,
    opts: &ListOptions,
    mut fetch: F,
) -> Result<Vec<String>, CheckpointError>
where
    F: FnMut(Option<String>, Option<usize>) -> Fut,
    Fut: Future<Output = Result<Vec<(String, String)>, CheckpointError>>,
{
    let want = match opts.limit {
        Some(n) if !opts.filter.is_empty() => n,
        limit => {
            let rows = fetch(
                opts.before.clone(),
                limit.filter(|_| opts.filter.is_empty()),
            );
            return matching(thread_id, rows.await?, opts, opts.limit);
        }
    };
    let mut ids = Vec::new();
    let mut before = opts.before.clone();
    let mut window = None;
    while ids.len() < want {
        let size = next_window(window, want);
        window = Some(size);
        let rows = fetch(before.clone(), Some(size)).await?;
        let (read, last) = (rows.len(), rows.last().map(|r| r.0.clone()));
        ids.extend(matching(thread_id, rows, opts, Some(want - ids.len()))?);
        if read < size {
            break; // the namespace has no older rows
        }
        before = last;
    }
    Ok(ids)
}

/// The checkpoints `ids`, in that order, read [`PAGE`] per call of `load` (a statement that
/// reads several checkpoints and the chains they share at once).
pub(crate) async fn load_in_pages<'i, F, Fut>(
    ids: &'i [String],
    mut load: F,
) -> Result<Vec<CheckpointTuple>, CheckpointError>
where
    F: FnMut(&'i [String]) -> Fut,
    Fut: Future<Output = Result<Vec<CheckpointTuple>, CheckpointError>>,
{
    let mut out = Vec::with_capacity(ids.len());
    for page in ids.chunks(PAGE) {
        out.extend(load(page).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::model::Source;

    fn row(id: &str, step: i64) -> (String, String) {
        let m = CheckpointMetadata::new(Source::Loop, step);
        (id.to_string(), serde_json::to_string(&m).unwrap())
    }

    /// A namespace of `n` rows, newest first (ids `c{n-1:05}` down to `c00000`), with step 1
    /// on every `every`-th row and 0 elsewhere.
    fn rows(n: usize, every: usize) -> Vec<(String, String)> {
        (0..n)
            .rev()
            .map(|i| row(&format!("c{i:05}"), i64::from(i % every == 0)))
            .collect()
    }

    /// Lists `table` as a statement would, recording each statement's `before` and limit.
    async fn select(
        table: &[(String, String)],
        opts: &ListOptions,
    ) -> (
        Result<Vec<String>, CheckpointError>,
        Vec<(Option<String>, Option<usize>)>,
    ) {
        let calls = RefCell::new(Vec::new());
        let ids = select_ids("t", opts, |before: Option<String>, limit: Option<usize>| {
            calls.borrow_mut().push((before.clone(), limit));
            let rows: Vec<_> = table
                .iter()
                .filter(|r| before.as_ref().is_none_or(|b| r.0 < *b))
                .take(limit.unwrap_or(usize::MAX))
                .cloned()
                .collect();
            async move { Ok(rows) }
        })
        .await;
        (ids, calls.into_inner())
    }

    fn step_is(step: i64) -> ListOptions {
        ListOptions::new().filter("step", step)
    }

    #[tokio::test]
    async fn filter_then_limit() {
        let table = vec![row("c3", 2), row("c2", 1), row("c1", 2), row("c0", 2)];
        let (ids, calls) = select(&table, &step_is(2).limit(2)).await;
        assert_eq!(ids.unwrap(), ["c3", "c1"]);
        assert_eq!(calls, [(None, Some(FIRST_WINDOW))]);
    }

    #[tokio::test]
    async fn without_a_filter_one_statement_reads_the_limit() {
        let table = rows(300, 1);
        let (ids, calls) = select(&table, &ListOptions::new().limit(3)).await;
        assert_eq!(ids.unwrap(), ["c00299", "c00298", "c00297"]);
        assert_eq!(calls, [(None, Some(3))]);
        let before = ListOptions::new().before("c00100").limit(2);
        let (ids, calls) = select(&table, &before).await;
        assert_eq!(ids.unwrap(), ["c00099", "c00098"]);
        assert_eq!(calls, [(Some("c00100".to_string()), Some(2))]);
    }

    #[tokio::test]
    async fn a_sparse_filter_reads_growing_windows_down_to_its_last_match() {
        // Every 50th row matches: the fifth match from the top is row 750 (of 1,000), 250 rows
        // down; windows of 64, 128 and 256 rows reach it.
        let table = rows(1000, 50);
        let (ids, calls) = select(&table, &step_is(1).limit(5)).await;
        assert_eq!(
            ids.unwrap(),
            ["c00950", "c00900", "c00850", "c00800", "c00750"]
        );
        let sizes: Vec<_> = calls.iter().map(|c| c.1).collect();
        assert_eq!(sizes, [Some(64), Some(128), Some(256)]);
        // Each window starts below the last row of the one before.
        assert_eq!(calls[1].0.as_deref(), Some("c00936"));
        assert_eq!(calls[2].0.as_deref(), Some("c00808"));
        // The same page before a checkpoint starts there.
        let (ids, _) = select(&table, &step_is(1).before("c00900").limit(2)).await;
        assert_eq!(ids.unwrap(), ["c00850", "c00800"]);
    }

    #[tokio::test]
    async fn windows_stop_where_the_namespace_ends() {
        let table = rows(150, 50);
        let (ids, calls) = select(&table, &step_is(1).limit(10)).await;
        assert_eq!(ids.unwrap(), ["c00100", "c00050", "c00000"]);
        // 64 rows, then 86 of 128 asked: nothing older is left.
        assert_eq!(calls.len(), 2);
        assert_eq!(next_window(Some(MAX_WINDOW), 1), MAX_WINDOW);
        assert_eq!(next_window(None, 10_000), MAX_WINDOW);
    }

    #[tokio::test]
    async fn a_filter_without_a_limit_reads_every_row_once() {
        let table = rows(200, 50);
        let (ids, calls) = select(&table, &step_is(1)).await;
        assert_eq!(ids.unwrap(), ["c00150", "c00100", "c00050", "c00000"]);
        assert_eq!(calls, [(None, None)]);
    }

    #[tokio::test]
    async fn unreadable_metadata_names_thread_and_checkpoint() {
        let table = vec![row("c1", 0), ("c0".into(), "{not json".into())];
        let (ids, _) = select(&table, &ListOptions::default()).await;
        let e = ids.unwrap_err();
        assert!(
            matches!(&e, CheckpointError::Corrupt { thread_id, checkpoint_id, .. }
                if thread_id == "t" && checkpoint_id == "c0"),
            "{e}"
        );
    }
}
