//! `#[tool]`: an async fn becomes a constructor of the tool it describes.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{Error, FnArg, ItemFn, Lit, LitStr, Meta, Pat, Path};

/// The `langgraph-llm` path generated code uses: an explicit `crate = "..."`, the facade
/// `langgraph::llm` if the user depends on `langgraph`, else `langgraph_llm`.
fn llm_path(explicit: Option<Path>) -> TokenStream {
    if let Some(p) = explicit {
        return quote!(#p);
    }
    if let Ok(f) = proc_macro_crate::crate_name("langgraph") {
        let facade = match f {
            proc_macro_crate::FoundCrate::Itself => quote!(crate),
            proc_macro_crate::FoundCrate::Name(n) => {
                let id = syn::Ident::new(&n, Span::call_site());
                quote!(::#id)
            }
        };
        return quote!(#facade::llm);
    }
    match proc_macro_crate::crate_name("langgraph-llm") {
        Ok(proc_macro_crate::FoundCrate::Itself) => quote!(crate),
        Ok(proc_macro_crate::FoundCrate::Name(n)) => {
            let id = syn::Ident::new(&n, Span::call_site());
            quote!(::#id)
        }
        Err(_) => quote!(::langgraph_llm),
    }
}

/// Parses `crate = "path"` (the only option).
fn options(attr: TokenStream) -> Result<Option<Path>, Error> {
    if attr.is_empty() {
        return Ok(None);
    }
    let meta: Meta = syn::parse2(attr)?;
    match meta {
        Meta::NameValue(nv) if nv.path.is_ident("crate") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(Some(s.parse()?)),
            other => Err(Error::new_spanned(other, "expected `crate = \"path\"`")),
        },
        other => Err(Error::new_spanned(
            other,
            "unknown option: `#[tool]` takes only `crate = \"path\"`",
        )),
    }
}

/// The doc comment, joined.
fn docs(f: &ItemFn) -> String {
    let mut lines = Vec::new();
    for a in &f.attrs {
        if let Meta::NameValue(nv) = &a.meta
            && nv.path.is_ident("doc")
            && let syn::Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
        {
            lines.push(s.value().trim().to_string());
        }
    }
    lines.join("\n").trim().to_string()
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> Result<TokenStream, Error> {
    let explicit = options(attr)?;
    let f: ItemFn = syn::parse2(item)?;
    if f.sig.asyncness.is_none() {
        return Err(Error::new_spanned(
            f.sig.fn_token,
            "#[tool] needs an `async fn` (its result goes back to the model)",
        ));
    }
    if !f.sig.generics.params.is_empty() {
        return Err(Error::new_spanned(
            &f.sig.generics,
            "#[tool] functions cannot be generic: the model needs one argument schema",
        ));
    }
    let description = docs(&f);
    if description.is_empty() {
        return Err(Error::new_spanned(
            &f.sig.ident,
            "#[tool] needs a doc comment: it is the description the model reads",
        ));
    }
    let mut names = Vec::new();
    let mut fields = Vec::new();
    for arg in &f.sig.inputs {
        match arg {
            FnArg::Receiver(r) => {
                return Err(Error::new_spanned(
                    r,
                    "#[tool] functions take no `self`; capture state in a closure with `tool_fn`",
                ));
            }
            FnArg::Typed(t) => {
                let Pat::Ident(id) = &*t.pat else {
                    return Err(Error::new_spanned(
                        &t.pat,
                        "#[tool] parameters must be plain names (they become the argument keys)",
                    ));
                };
                let (name, ty) = (&id.ident, &t.ty);
                let attrs = &t.attrs;
                names.push(name.clone());
                fields.push(quote!(#(#attrs)* #name: #ty));
            }
        }
    }
    let llm = llm_path(explicit);
    let path_str = |suffix: &str| {
        let s = format!("{}::__private::{suffix}", llm).replace(' ', "");
        LitStr::new(&s, Span::call_site())
    };
    let serde_crate = path_str("serde");
    let schemars_crate = path_str("schemars");
    let vis = &f.vis;
    let name = &f.sig.ident;
    let name_str = LitStr::new(&name.to_string(), name.span());
    let inner = format_ident!("__{}_tool_impl", name);
    let mut inner_fn = f.clone();
    inner_fn.sig.ident = inner.clone();
    inner_fn.vis = syn::Visibility::Inherited;
    inner_fn.attrs.retain(|a| !a.path().is_ident("doc"));
    for arg in &mut inner_fn.sig.inputs {
        if let FnArg::Typed(t) = arg {
            t.attrs.clear();
        }
    }
    let args = format_ident!("__{}_tool_args", name);
    let doc = LitStr::new(&description, Span::call_site());
    Ok(quote! {
        #[doc = #doc]
        #[doc = ""]
        #[doc = "(A tool: this function returns it, ready for `ToolNode` or an agent.)"]
        #vis fn #name() -> ::std::sync::Arc<dyn #llm::Tool> {
            #[derive(#llm::__private::serde::Deserialize, #llm::__private::schemars::JsonSchema)]
            #[serde(crate = #serde_crate)]
            #[schemars(crate = #schemars_crate)]
            #[allow(non_camel_case_types)]
            struct #args { #(#fields,)* }
            #inner_fn
            #llm::tool_fn(#name_str, #doc, |a: #args| async move {
                #inner(#(a.#names),*).await.map_err(#llm::ToolError::new)
            })
        }
    })
}
