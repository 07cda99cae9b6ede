//! Parsing `#[state(...)]`, `#[reducer(...)]` and `#[projection(...)]` attributes.

use syn::{Attribute, Expr, ExprLit, Lit, LitStr, Path};

use crate::ctxt::Ctxt;

/// A field's reducer, as written.
#[derive(Clone)]
pub(crate) enum Reducer {
    LastValue,
    Ephemeral,
    Append,
    Merge,
    AddMessages,
    Custom(Path),
}

/// Container attributes of `#[derive(State)]`.
#[derive(Default)]
pub(crate) struct StateAttrs {
    pub(crate) update: Option<syn::Ident>,
    pub(crate) version: Option<u32>,
    pub(crate) migrate: Option<Path>,
    pub(crate) krate: Option<Path>,
}

fn parse_crate(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Path> {
    let s: LitStr = meta.value()?.parse()?;
    s.parse::<Path>()
}

/// Parses `#[state(update = Name, version = N, migrate = path, crate = "path")]`.
pub(crate) fn state_attrs(cx: &mut Ctxt, attrs: &[Attribute]) -> StateAttrs {
    let mut out = StateAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("state")) {
        let r = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("update") {
                out.update = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("version") {
                let lit: syn::LitInt = meta.value()?.parse()?;
                let v: u32 = lit.base10_parse()?;
                if v == 0 {
                    return Err(syn::Error::new(lit.span(), "state versions start at 1"));
                }
                out.version = Some(v);
            } else if meta.path.is_ident("migrate") {
                out.migrate = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("crate") {
                out.krate = Some(parse_crate(&meta)?);
            } else {
                return Err(meta.error(
                    "unknown state attribute; expected `update = Name`, `version = N`, \
                     `migrate = path::to::fn` or `crate = \"path\"`",
                ));
            }
            Ok(())
        });
        if let Err(e) = r {
            cx.syn_error(e);
        }
    }
    if out.migrate.is_some() && out.version.is_none_or(|v| v < 2) {
        cx.error_spanned_by(
            out.migrate.as_ref(),
            "`migrate` needs `version = N` with N >= 2 (the version the migration upgrades to)",
        );
    }
    out
}

const REDUCER_HELP: &str =
    "expected `append`, `merge`, `add_messages`, `ephemeral` or `fn = path::to::reducer`";

/// Parses the reducer of one field from `#[reducer(...)]` and `#[state(ephemeral)]`.
pub(crate) fn field_reducer(cx: &mut Ctxt, field: &syn::Field) -> Reducer {
    let mut found: Vec<(Reducer, proc_macro2::Span)> = Vec::new();
    for attr in &field.attrs {
        if attr.path().is_ident("reducer") {
            let r = attr.parse_nested_meta(|meta| {
                let span = meta
                    .path
                    .get_ident()
                    .map(|i| i.span())
                    .unwrap_or_else(proc_macro2::Span::call_site);
                let r = if meta.path.is_ident("append") {
                    Reducer::Append
                } else if meta.path.is_ident("merge") {
                    Reducer::Merge
                } else if meta.path.is_ident("add_messages") {
                    Reducer::AddMessages
                } else if meta.path.is_ident("ephemeral") {
                    Reducer::Ephemeral
                } else if meta.path.is_ident("fn") {
                    if meta.input.is_empty() || meta.input.peek(syn::Token![,]) {
                        return Err(
                            meta.error("`fn` needs a path: `#[reducer(fn = path::to::reducer)]`")
                        );
                    }
                    let expr: Expr = meta.value()?.parse()?;
                    match expr {
                        Expr::Path(p) => Reducer::Custom(p.path),
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => Reducer::Custom(s.parse()?),
                        other => {
                            return Err(syn::Error::new_spanned(other, "expected a function path"));
                        }
                    }
                } else {
                    let name = meta
                        .path
                        .get_ident()
                        .map(|i| i.to_string())
                        .unwrap_or_else(|| "?".into());
                    return Err(meta.error(format!("unknown reducer `{name}`; {REDUCER_HELP}")));
                };
                found.push((r, span));
                Ok(())
            });
            if let Err(e) = r {
                cx.syn_error(e);
            }
            if let syn::Meta::Path(p) = &attr.meta {
                cx.error_spanned_by(p, format!("`#[reducer]` needs an argument; {REDUCER_HELP}"));
            }
        } else if attr.path().is_ident("state") {
            let r = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("ephemeral") {
                    let span = meta
                        .path
                        .get_ident()
                        .map(|i| i.span())
                        .unwrap_or_else(proc_macro2::Span::call_site);
                    found.push((Reducer::Ephemeral, span));
                    Ok(())
                } else {
                    Err(meta.error("unknown field attribute; expected `#[state(ephemeral)]`"))
                }
            });
            if let Err(e) = r {
                cx.syn_error(e);
            }
        }
    }
    if found.len() > 1 {
        cx.syn_error(syn::Error::new(
            found[1].1,
            "a field has one reducer; remove the extra `#[reducer]`/`#[state(ephemeral)]`",
        ));
    }
    found
        .into_iter()
        .next()
        .map(|(r, _)| r)
        .unwrap_or(Reducer::LastValue)
}

/// Parses `#[projection(of = State, crate = "path")]`.
pub(crate) fn projection_attrs(
    cx: &mut Ctxt,
    input: &syn::DeriveInput,
) -> (Option<Path>, Option<Path>) {
    let mut of = None;
    let mut krate = None;
    for attr in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("projection"))
    {
        let r = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("of") {
                of = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("crate") {
                krate = Some(parse_crate(&meta)?);
            } else {
                return Err(meta.error("unknown projection attribute; expected `of = StateType`"));
            }
            Ok(())
        });
        if let Err(e) = r {
            cx.syn_error(e);
        }
    }
    if of.is_none() {
        cx.error_spanned_by(
            &input.ident,
            "#[derive(Projection)] needs the state it projects: `#[projection(of = MyState)]`",
        );
    }
    (of, krate)
}
