//! Finding the path of the runtime crate in the user's dependencies.

use proc_macro_crate::{FoundCrate, crate_name};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Ident, Path};

fn found(f: FoundCrate, own_name: &str) -> TokenStream {
    let name = match f {
        FoundCrate::Itself => own_name.to_string(),
        FoundCrate::Name(n) => n,
    };
    let id = Ident::new(&name, Span::call_site());
    quote!(::#id)
}

/// The path generated code uses to reach the runtime: an explicit `crate = "..."`, else the
/// facade `langgraph` if the user depends on it (possibly renamed), else `langgraph-core`.
pub(crate) fn crate_path(explicit: Option<Path>) -> TokenStream {
    if let Some(p) = explicit {
        return quote!(#p);
    }
    if let Ok(f) = crate_name("langgraph") {
        return found(f, "langgraph");
    }
    if let Ok(f) = crate_name("langgraph-core") {
        return found(f, "langgraph_core");
    }
    quote!(::langgraph)
}
