//! The behaviour scenarios, ported from the reference recordings in `expected/`.
//!
//! Each test builds the scenario's graph with this crate's API, performs the same calls and
//! compares the same observations. Where this crate differs on purpose, the test says so and
//! checks our behaviour instead. The `x*` scenarios (modules `resume` and `threads`) were
//! recorded by the scripts in `reference/`, with the shared scenarios' helpers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    unreachable_pub,
    dead_code
)]

mod checkpoints;
mod common;
mod edges;
mod edits;
mod fault_tolerance;
mod interrupts;
mod resume;
mod scenario;

mod schemas;
mod send_command;
mod state_reducers;
mod streaming;
mod subgraph_answers;
mod subgraph_persistence;
mod subgraphs;
mod threads;
