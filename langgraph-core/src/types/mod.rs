//! Values that steer a run: where to go next ([`Route`], [`SendTo`], [`Command`]), what a
//! paused run asks ([`Interrupt`]) and how a run starts ([`Input`]).

mod command;
mod input;
mod interrupt;
mod route;
mod send;

pub use command::{Command, Resume};
pub use input::Input;
pub use interrupt::Interrupt;
pub use route::{IntoRoute, Route, Target};
pub use send::{SendArg, SendTo};

/// The virtual entry node: `edge(START, "first")` makes `first` run in the first superstep.
pub const START: &str = "__start__";
/// The virtual exit node: an edge or route to `END` finishes that branch.
pub const END: &str = "__end__";
/// Every node, for breakpoints: `interrupt_before([ALL_NODES])` pauses before each superstep.
pub const ALL_NODES: &str = "*";
