//! Building graphs: [`StateGraph`] (the builder), validation and lowering, drawing.

pub(crate) mod builder;
pub(crate) mod compile;
pub(crate) mod draw;
pub(crate) mod validate;

pub use builder::StateGraph;
