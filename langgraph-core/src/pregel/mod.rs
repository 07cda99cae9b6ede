//! The engine (Pregel / bulk-synchronous supersteps).
//!
//! - [`plan`]: the compiled program (graph lowered to indices); [`names`]: name lookup;
//! - [`algo`]: **pure** planning of the next superstep's tasks (no async, no state type);
//! - [`runner`]: running one task (attempts, timeout, interrupt detection);
//! - [`run_loop`]: the superstep loop (`while tick { execute; commit }`);
//! - [`settle`]: a superstep's outcomes become a commit, a pause or an error;
//! - [`commit`]: applying a superstep's writes, routing, planning;
//! - [`start`]: the ways a run starts (input, continue, replay, resume, jump);
//!   [`start_task`]: START as a task of a run that goes on from an input checkpoint;
//!   [`nested`]: how a subgraph run starts; [`resume`]: answers matched with the interrupts
//!   they answer; [`update_state`]: state edits as if a node wrote them, and
//!   [`special_edits`]: the edits that drop the tasks due, stage an input or copy a checkpoint;
//! - [`fallback`]: the node cache and error handlers;
//! - [`persist`] and [`saved`]: checkpoint I/O and stored task records; [`write_queue`]: the
//!   order, batching and backlog of a run's saver writes;
//! - [`scratch`]: buffers reused from one superstep to the next;
//! - [`events`]: the stream sender; [`emit`]: stream, trace and report events of a run;
//!   [`retry`]: retry policies.

pub(crate) mod algo;
pub(crate) mod commit;
pub(crate) mod emit;
pub(crate) mod events;
pub(crate) mod fallback;
pub(crate) mod names;
pub(crate) mod nested;
pub(crate) mod persist;
pub(crate) mod plan;
pub(crate) mod resume;
pub(crate) mod retry;
pub(crate) mod run_loop;
pub(crate) mod runner;
pub(crate) mod saved;
pub(crate) mod scratch;
pub(crate) mod settle;
pub(crate) mod special_edits;
pub(crate) mod start;
pub(crate) mod start_task;
pub(crate) mod update_state;
pub(crate) mod write_queue;
