//! Reducer building blocks used by the code `#[derive(State)]` generates.
//!
//! - [`Appendable`]: what `#[reducer(append)]` needs (`Vec`, `VecDeque`, `String`);
//! - [`Mergeable`]: what `#[reducer(merge)]` needs (`HashMap`, `BTreeMap`);
//! - [`add_by_id`] and [`Identified`]: the id-aware list merge behind
//!   `#[reducer(add_messages)]`;
//! - [`ReducerFn`]: lets `#[reducer(fn = path)]` take `fn(&mut T, T)` or `fn(T, T) -> T`.
//!
//! # Example
//!
//! ```
//! use langgraph_core::channels::{Appendable, Mergeable};
//! use std::collections::BTreeMap;
//!
//! let mut notes = vec!["a".to_string()];
//! Appendable::append(&mut notes, vec!["b".to_string()]);
//! assert_eq!(notes, ["a", "b"]);
//!
//! let mut m = BTreeMap::from([("k", 1)]);
//! Mergeable::merge(&mut m, BTreeMap::from([("k", 2), ("j", 3)]));
//! assert_eq!(m, BTreeMap::from([("j", 3), ("k", 2)]));
//! ```

mod append;
mod by_id;
mod custom;
mod merge;

pub use append::Appendable;
pub use by_id::{Identified, add_by_id};
pub use custom::{ByRef, ByValue, ReducerFn, reduce_with};
pub use merge::Mergeable;
