//! Finding threads: the threads a saver holds, in pages, by id prefix, by the time of their
//! newest checkpoint, by its metadata and by what it waits for (what a maintenance job needs
//! before it prunes or deletes old threads, or a user's, and what a human-in-the-loop inbox
//! lists).
//!
//! A thread is listed when its root namespace has a checkpoint; the newest one is its *head*.
//! Threads come in the byte order of their ids (as Rust compares strings), so a page ends
//! where the next one starts: pass the last thread id of a page to [`ThreadQuery::after`].
//! The time of a thread is the time in its head's id (a UUID v7 holds its creation time to
//! the millisecond); the time filters compare ids, so they cost an index lookup per thread in
//! the database savers, not a read of the checkpoint.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::error::CheckpointError;
use crate::id::{lowest_id_of_ms, ms_of_id};
use crate::model::{CheckpointMetadata, PendingWrite};
use crate::prune::Prune;
use crate::saver::Checkpointer;
use crate::thread_status::ThreadStatus;

/// Which threads [`Checkpointer::threads`](crate::Checkpointer::threads) lists.
///
/// ```
/// use chrono::{Duration, Utc};
/// use langgraph_checkpoint::ThreadQuery;
///
/// // Threads of tenant 42 not written for 30 days, 100 at a time.
/// let cutoff = Utc::now() - Duration::days(30);
/// let q = ThreadQuery::new().prefix("tenant-42/").updated_before(cutoff).limit(100);
/// assert_eq!(q.prefix, "tenant-42/");
/// assert_eq!(q.limit, Some(100));
/// // The next page starts after the last thread of this one.
/// let next = q.clone().after("tenant-42/chat-0099");
/// assert_eq!(next.after.as_deref(), Some("tenant-42/chat-0099"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadQuery {
    /// Only threads whose id starts with this text (`""`: every thread).
    pub prefix: String,
    /// Only threads whose id sorts after this one (the last id of the previous page).
    pub after: Option<String>,
    /// Only threads whose head was written before this time (to the millisecond).
    pub updated_before: Option<DateTime<Utc>>,
    /// Only threads whose head was written at or after this time (to the millisecond).
    pub updated_since: Option<DateTime<Utc>>,
    /// Only threads whose head's metadata has every key here with an equal value (a run's
    /// metadata, `RunConfig::metadata`, is in every checkpoint it writes).
    pub filter: Map<String, Value>,
    /// Only threads whose head waits for this (an answer to a question, or a retry of a
    /// failed task; see [`ThreadStatus`]).
    pub status: Option<ThreadStatus>,
    /// At most this many threads (`None`: all).
    pub limit: Option<usize>,
}

impl ThreadQuery {
    /// Every thread, in id order.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps only thread ids that start with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Starts after thread `thread_id` (exclusive): the cursor of the next page.
    pub fn after(mut self, thread_id: impl Into<String>) -> Self {
        self.after = Some(thread_id.into());
        self
    }

    /// Keeps only threads whose newest checkpoint is older than `time` (a
    /// `std::time::SystemTime` or a `chrono::DateTime<Utc>`).
    pub fn updated_before(mut self, time: impl Into<DateTime<Utc>>) -> Self {
        self.updated_before = Some(time.into());
        self
    }

    /// Keeps only threads whose newest checkpoint was written at `time` or later (a
    /// `std::time::SystemTime` or a `chrono::DateTime<Utc>`).
    pub fn updated_since(mut self, time: impl Into<DateTime<Utc>>) -> Self {
        self.updated_since = Some(time.into());
        self
    }

    /// Keeps only threads whose newest checkpoint's metadata has `key` equal to `value` (in
    /// addition to the keys already given): the threads of one user, say.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.filter.insert(key.into(), value.into());
        self
    }

    /// Keeps only threads whose head waits for `status`: with
    /// [`ThreadStatus::Interrupted`], the inbox of a human-in-the-loop application (the
    /// threads whose `get_state` shows a question, and those paused at a static breakpoint);
    /// with [`ThreadStatus::Failed`], the threads
    /// a run left with a failed task.
    pub fn status(mut self, status: ThreadStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// The pending-write channel a head must have an open write on (see
    /// [`ThreadStatus::channel`]), or `None` without a status filter.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn status_channel(&self) -> Option<&'static str> {
        self.status.map(ThreadStatus::channel)
    }

    /// Returns at most `n` threads.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// The lowest id of `updated_before`'s millisecond: a head sorts below it exactly when it
    /// was written before that millisecond.
    pub(crate) fn before_id(&self) -> Option<String> {
        self.updated_before.as_ref().map(lowest_id_at)
    }

    /// The lowest id of `updated_since`'s millisecond.
    pub(crate) fn since_id(&self) -> Option<String> {
        self.updated_since.as_ref().map(lowest_id_at)
    }

    /// The answer for a saver that holds its threads' heads at hand (thread id, head id, the
    /// head's metadata and pending writes): the admitted threads in id order, at most `limit`
    /// of them.
    pub(crate) fn select<'a>(
        &self,
        heads: impl IntoIterator<Item = (&'a str, &'a str, &'a CheckpointMetadata, &'a [PendingWrite])>,
    ) -> Vec<ThreadInfo> {
        let (before, since) = (self.before_id(), self.since_id());
        let mut found: Vec<(&str, &str)> = heads
            .into_iter()
            .filter(|(thread_id, head, metadata, writes)| {
                thread_id.starts_with(&self.prefix)
                    && self.after.as_deref().is_none_or(|a| *thread_id > a)
                    && before.as_deref().is_none_or(|b| *head < b)
                    && since.as_deref().is_none_or(|s| *head >= s)
                    && self.status.is_none_or(|s| s.shown_by(writes))
                    && metadata.matches(&self.filter)
            })
            .map(|(thread_id, head, _, _)| (thread_id, head))
            .collect();
        found.sort_unstable_by(|a, b| a.0.cmp(b.0));
        found.truncate(self.limit.unwrap_or(usize::MAX));
        found
            .into_iter()
            .map(|(thread_id, head)| ThreadInfo::new(thread_id, head))
            .collect()
    }

    /// The answer for a database saver: `fetch(after, limit, metadata)` returns up to `limit`
    /// (`None`: all) threads after `after` that match all but the metadata filter, with their
    /// head's metadata JSON when `metadata`. Without a metadata filter that is the answer;
    /// with one, pages of candidates are fetched until `limit` threads matched or none are
    /// left. A head whose metadata does not decode is a typed error.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) async fn answer<F, Fut>(
        &self,
        mut fetch: F,
    ) -> Result<Vec<ThreadInfo>, CheckpointError>
    where
        F: FnMut(Option<String>, Option<usize>, bool) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<(ThreadInfo, String)>, CheckpointError>>,
    {
        if self.filter.is_empty() {
            let rows = fetch(self.after.clone(), self.limit, false).await?;
            return Ok(rows.into_iter().map(|(info, _)| info).collect());
        }
        let want = self.limit.unwrap_or(usize::MAX);
        let page = want.clamp(100, 1000);
        let (mut after, mut out) = (self.after.clone(), Vec::new());
        while out.len() < want {
            let rows = fetch(after.clone(), Some(page), true).await?;
            let full = rows.len() == page;
            for (info, metadata) in rows {
                let m: CheckpointMetadata = serde_json::from_str(&metadata).map_err(|e| {
                    CheckpointError::corrupt(&info.thread_id, &info.head, format!("metadata: {e}"))
                })?;
                after = Some(info.thread_id.clone());
                if m.matches(&self.filter) {
                    out.push(info);
                    if out.len() == want {
                        break;
                    }
                }
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// The least text above every id that starts with `prefix`, in byte order (`None`: no
    /// bound, for an empty prefix or one of `char::MAX`s only): `prefix` with its last
    /// character that can grow moved to the next character, and what follows it cut.
    #[cfg(feature = "postgres")]
    pub(crate) fn prefix_end(&self) -> Option<String> {
        let mut chars: Vec<char> = self.prefix.chars().collect();
        while let Some(last) = chars.pop() {
            // The next scalar value: after U+D7FF comes U+E000 (surrogates are not chars).
            let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
            if let Some(next) = next {
                chars.push(next);
                return Some(chars.into_iter().collect());
            }
        }
        None
    }
}

/// A thread as [`Checkpointer::threads`](crate::Checkpointer::threads) lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadInfo {
    /// The thread's id.
    pub thread_id: String,
    /// The id of the newest checkpoint of its root namespace.
    pub head: String,
}

impl ThreadInfo {
    /// A thread with head checkpoint `head`.
    pub fn new(thread_id: impl Into<String>, head: impl Into<String>) -> Self {
        Self {
            thread_id: thread_id.into(),
            head: head.into(),
        }
    }

    /// When the head was written: the time in its id (to the millisecond), or `None` for an
    /// id that is not a UUID v7 (one a custom saver or test wrote).
    ///
    /// ```
    /// use langgraph_checkpoint::{ThreadInfo, new_checkpoint_id};
    ///
    /// let before = chrono::Utc::now();
    /// let t = ThreadInfo::new("t", new_checkpoint_id().as_str());
    /// let at = t.updated_at().unwrap();
    /// assert!(at >= before - chrono::Duration::milliseconds(1));
    /// assert_eq!(ThreadInfo::new("t", "c1").updated_at(), None);
    /// ```
    pub fn updated_at(&self) -> Option<DateTime<Utc>> {
        time_of_id(&self.head)
    }
}

/// The rows of a database saver's thread listing: thread id, head id and, when `metadata`,
/// the head's metadata JSON (a head without its checkpoint row reads as empty metadata, which
/// [`ThreadQuery::answer`] reports as a typed error).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn thread_rows<R: sqlx::Row>(
    rows: &[R],
    metadata: bool,
) -> Result<Vec<(ThreadInfo, String)>, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|r| {
            let info = ThreadInfo::new(r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?);
            let meta = if metadata {
                r.try_get::<Option<String>, _>(2)?.unwrap_or_default()
            } else {
                String::new()
            };
            Ok((info, meta))
        })
        .collect()
}

/// Prunes every thread `query` lists with `strategy`, a page of threads at a time (the
/// query's `limit` is the page size; 100 without one), and returns how many threads it
/// pruned: the loop of a maintenance job. Each page is listed after the last thread of the
/// one before, so threads deleted or pruned on the way are never listed twice.
///
/// ```
/// use langgraph_checkpoint::{Checkpointer, InMemorySaver, Prune, ThreadQuery, sweep};
/// use std::time::{Duration, SystemTime};
///
/// # futures::executor::block_on(async {
/// let saver = InMemorySaver::new();
/// // Delete the threads nobody wrote to for 30 days, 500 at a time.
/// let cutoff = SystemTime::now() - Duration::from_secs(30 * 24 * 3600);
/// let idle = ThreadQuery::new().updated_before(cutoff).limit(500);
/// let deleted = sweep(&saver, &idle, Prune::Delete).await.unwrap();
/// assert_eq!(deleted, 0); // a new saver has none
/// # });
/// ```
pub async fn sweep(
    saver: &dyn Checkpointer,
    query: &ThreadQuery,
    strategy: Prune,
) -> Result<usize, CheckpointError> {
    let page = query.limit.unwrap_or(100).max(1);
    let mut q = query.clone().limit(page);
    let mut done = 0;
    loop {
        let found = saver.threads(&q).await?;
        let ids: Vec<&str> = found.iter().map(|t| t.thread_id.as_str()).collect();
        saver.prune(&ids, strategy).await?;
        done += found.len();
        match found.last() {
            Some(last) if found.len() == page => q.after = Some(last.thread_id.clone()),
            _ => return Ok(done),
        }
    }
}

/// The lowest id of `time`'s millisecond.
fn lowest_id_at(time: &DateTime<Utc>) -> String {
    lowest_id_of_ms(time.timestamp_millis()).to_string()
}

/// The millisecond in a UUID v7's text, or `None` for other text.
fn time_of_id(id: &str) -> Option<DateTime<Utc>> {
    let ms = i64::try_from(ms_of_id(id)?).ok()?;
    Utc.timestamp_millis_opt(ms).single()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::new_checkpoint_id;
    use chrono::Duration;

    #[test]
    fn the_lowest_id_of_a_millisecond_sorts_below_every_id_made_in_it() {
        let id = new_checkpoint_id();
        let at = time_of_id(&id).unwrap();
        let floor = lowest_id_at(&at);
        assert!(floor.as_str() <= id.as_str());
        assert!(lowest_id_at(&(at + Duration::milliseconds(1))).as_str() > id.as_str());
        assert_eq!(time_of_id(&floor), None, "version 0: not an id of ours");
        assert_eq!(
            lowest_id_at(&DateTime::<Utc>::MIN_UTC),
            "00000000-0000-0000-0000-000000000000"
        );
    }

    #[test]
    fn select_filters_sorts_and_limits() {
        let old = "00000000-0001-7000-8000-000000000000";
        let new = new_checkpoint_id().to_string();
        let mut ann = CheckpointMetadata::new(crate::model::Source::Loop, 1);
        ann.extra.insert("user".into(), "ann".into());
        let bob = CheckpointMetadata::new(crate::model::Source::Loop, 1);
        let asked = [PendingWrite {
            task_id: "t".into(),
            task_name: "n".into(),
            channel: crate::INTERRUPT.into(),
            value: Value::Null,
        }];
        let heads: [(&str, &str, &CheckpointMetadata, &[PendingWrite]); 3] = [
            ("b", new.as_str(), &bob, &asked),
            ("a/2", old, &ann, &[]),
            ("a/1", new.as_str(), &ann, &[]),
        ];
        let ids = |q: ThreadQuery| -> Vec<String> {
            q.select(heads.iter().copied())
                .into_iter()
                .map(|t| t.thread_id)
                .collect()
        };
        assert_eq!(ids(ThreadQuery::new()), ["a/1", "a/2", "b"]);
        assert_eq!(ids(ThreadQuery::new().prefix("a/")), ["a/1", "a/2"]);
        assert_eq!(ids(ThreadQuery::new().after("a/1").limit(1)), ["a/2"]);
        assert_eq!(ids(ThreadQuery::new().limit(0)), Vec::<String>::new());
        let cutoff = Utc::now() - Duration::days(1);
        assert_eq!(ids(ThreadQuery::new().updated_before(cutoff)), ["a/2"]);
        assert_eq!(ids(ThreadQuery::new().updated_since(cutoff)), ["a/1", "b"]);
        let q = ThreadQuery::new().prefix("a/").updated_since(cutoff);
        assert_eq!(ids(q), ["a/1"]);
        assert_eq!(
            ids(ThreadQuery::new().metadata("user", "ann")),
            ["a/1", "a/2"]
        );
        assert_eq!(
            ids(ThreadQuery::new().metadata("user", "bob")),
            Vec::<String>::new()
        );
        assert_eq!(
            ids(ThreadQuery::new().metadata("step", 1)),
            ["a/1", "a/2", "b"]
        );
        let waiting = ThreadQuery::new().status(ThreadStatus::Interrupted);
        assert_eq!(ids(waiting.clone()), ["b"]);
        assert_eq!(ids(waiting.prefix("a/")), Vec::<String>::new());
        let failed = ThreadQuery::new().status(ThreadStatus::Failed);
        assert_eq!(ids(failed), Vec::<String>::new());
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn a_prefix_ends_below_the_first_id_without_it() {
        let end = |p: &str| ThreadQuery::new().prefix(p).prefix_end();
        assert_eq!(end(""), None);
        assert_eq!(end("a/").as_deref(), Some("a0"));
        assert!(end("a/").unwrap().as_str() > "a/\u{10ffff}");
        assert_eq!(end("x\u{d7ff}").as_deref(), Some("x\u{e000}"));
        assert_eq!(end("y\u{10ffff}").as_deref(), Some("z"));
        assert_eq!(end("\u{10ffff}"), None);
    }
}
