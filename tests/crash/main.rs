//! Durability under faults: child processes running a long graph are killed with SIGKILL at
//! random points and resumed (`kills`), and two processes resume one thread at the same moment
//! (`race`), on SQLite and (with the `postgres` feature) PostgreSQL; a journaled side effect
//! survives a crash without running twice (`journal`).
//!
//! The children are this test binary, re-run with `LG_CRASH_CHILD` set and the
//! `job::child_process` filter; in a normal run that test returns at once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub
)]

mod job;
mod journal;
mod kills;
#[cfg(feature = "postgres")]
#[path = "../support/pg.rs"]
#[allow(dead_code)] // the savers in scoped schemas serve other tests
mod pg;
mod race;
