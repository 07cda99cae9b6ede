//! Derive macros for typed graph states, and `#[tool]` for LLM tools. Re-exported by `langgraph` and `langgraph-core`; see
//! their documentation for usage.
//!
//! - `#[derive(State)]` on a struct with named fields generates the channel table and the
//!   reducers (`impl State`), an update type `<Name>Update` with one optional field and one
//!   builder method per channel, serde and JSON-schema support for it, and the conversions
//!   that let the state and its update be used as graph input and node output.
//! - `#[derive(Projection)]` with `#[projection(of = State)]` on a struct whose fields are a
//!   subset of the state's makes it usable as a graph input, output, or node view.
//!
//! Attributes: `#[reducer(append | merge | add_messages | ephemeral | fn = path)]` and
//! `#[state(ephemeral)]` on fields; `#[state(update = Name, version = N, migrate = path,
//! crate = "path")]` on the struct.

mod ast;
mod attr;
mod crate_path;
mod ctxt;
mod expand_projection;
mod expand_state;
mod expand_tool;
mod expand_update;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `State` for a struct with named fields (see the crate docs).
#[proc_macro_derive(State, attributes(state, reducer))]
pub fn derive_state(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let mut cx = ctxt::Ctxt::default();
    let model = ast::state_model(&mut cx, &input);
    if let Err(errors) = cx.check() {
        return errors.into();
    }
    let Some(model) = model else {
        return TokenStream::new();
    };
    let state = expand_state::expand(&model);
    let update = expand_update::expand(&model);
    quote::quote!(#state #update).into()
}

/// Derives the conversions of a projection of a state (see the crate docs).
#[proc_macro_derive(Projection, attributes(projection))]
pub fn derive_projection(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    let mut cx = ctxt::Ctxt::default();
    let model = ast::projection_model(&mut cx, &input);
    if let Err(errors) = cx.check() {
        return errors.into();
    }
    match model {
        Some(m) => expand_projection::expand(&m).into(),
        None => TokenStream::new(),
    }
}

/// Turns an async fn into a tool for the LLM layer: `#[tool] async fn weather(city: String)
/// -> Result<String, ToolError>` becomes `fn weather() -> Arc<dyn Tool>`, named after the
/// function, described by its doc comment, with an argument schema made from its parameters.
/// The result is any `ToolOutput` (text goes as is), the error anything that displays.
/// Option: `#[tool(crate = "path::to::langgraph_llm")]`.
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand_tool::expand(attr.into(), item.into()) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}
