//! The validated model of a derive input.

use proc_macro2::TokenStream;
use quote::format_ident;
use syn::{Attribute, DeriveInput, Ident, Path, Type, Visibility};

use crate::attr::{Reducer, field_reducer, projection_attrs, state_attrs};
use crate::crate_path::crate_path;
use crate::ctxt::Ctxt;

/// One field (channel) of a state.
pub(crate) struct FieldModel<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) ty: &'a Type,
    pub(crate) reducer: Reducer,
    pub(crate) docs: Vec<&'a Attribute>,
    pub(crate) index: usize,
}

impl FieldModel<'_> {
    /// The channel name.
    pub(crate) fn name(&self) -> String {
        self.ident.to_string()
    }

    /// True for reducers whose type supports delta storage.
    pub(crate) fn delta(&self) -> bool {
        matches!(self.reducer, Reducer::Append | Reducer::AddMessages)
    }

    /// True when the field type is (syntactically) `String`: its setter takes `impl Into`.
    pub(crate) fn is_string(&self) -> bool {
        matches!(self.ty, Type::Path(p) if p.qself.is_none()
            && p.path.segments.last().is_some_and(|s| s.ident == "String" && s.arguments.is_empty()))
    }
}

/// A `#[derive(State)]` input.
pub(crate) struct StateModel<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) update: Ident,
    pub(crate) version: u32,
    pub(crate) migrate: Option<Path>,
    pub(crate) krate: TokenStream,
    pub(crate) docs: Vec<&'a Attribute>,
    pub(crate) fields: Vec<FieldModel<'a>>,
}

fn docs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("doc")).collect()
}

fn named_fields<'a>(
    cx: &mut Ctxt,
    input: &'a DeriveInput,
    what: &str,
) -> Option<&'a syn::punctuated::Punctuated<syn::Field, syn::Token![,]>> {
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            &input.generics,
            format!("{what} cannot be derived for generic structs; use a concrete struct"),
        );
    }
    match &input.data {
        syn::Data::Struct(s) => match &s.fields {
            syn::Fields::Named(f) => Some(&f.named),
            other => {
                cx.error_spanned_by(
                    other,
                    format!("{what} can only be derived for structs with named fields"),
                );
                None
            }
        },
        _ => {
            cx.error_spanned_by(
                &input.ident,
                format!("{what} can only be derived for structs with named fields"),
            );
            None
        }
    }
}

/// Validates a `#[derive(State)]` input.
pub(crate) fn state_model<'a>(cx: &mut Ctxt, input: &'a DeriveInput) -> Option<StateModel<'a>> {
    let attrs = state_attrs(cx, &input.attrs);
    let named = named_fields(cx, input, "State")?;
    let mut fields = Vec::new();
    for (index, f) in named.iter().enumerate() {
        let Some(ident) = f.ident.as_ref() else {
            continue;
        };
        let reducer = field_reducer(cx, f);
        fields.push(FieldModel {
            ident,
            vis: &f.vis,
            ty: &f.ty,
            reducer,
            docs: docs(&f.attrs),
            index,
        });
    }
    if fields.is_empty() {
        cx.error_spanned_by(&input.ident, "a state needs at least one field");
    }
    let names: Vec<String> = fields.iter().map(FieldModel::name).collect();
    for f in &fields {
        let name = f.name();
        let stripped = name.trim_start_matches("r#");
        if stripped == "new" {
            cx.error_spanned_by(
                f.ident,
                "a state field cannot be named `new`: the update type's constructor is `new()`",
            );
        }
        if stripped.starts_with("__") {
            cx.error_spanned_by(f.ident, "field names starting with `__` are reserved");
        }
        if let Some(base) = stripped.strip_prefix("overwrite_")
            && names.iter().zip(&fields).any(|(n, g)| {
                n == base && !matches!(g.reducer, Reducer::LastValue | Reducer::Ephemeral)
            })
        {
            cx.error_spanned_by(
                f.ident,
                format!(
                    "`{stripped}` clashes with the generated `overwrite_{base}` builder method"
                ),
            );
        }
    }
    Some(StateModel {
        ident: &input.ident,
        vis: &input.vis,
        update: attrs
            .update
            .unwrap_or_else(|| format_ident!("{}Update", input.ident)),
        version: attrs.version.unwrap_or(1),
        migrate: attrs.migrate,
        krate: crate_path(attrs.krate),
        docs: docs(&input.attrs),
        fields,
    })
}

/// A `#[derive(Projection)]` input.
pub(crate) struct ProjectionModel<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) of: Path,
    pub(crate) krate: TokenStream,
    pub(crate) fields: Vec<&'a Ident>,
}

/// Validates a `#[derive(Projection)]` input.
pub(crate) fn projection_model<'a>(
    cx: &mut Ctxt,
    input: &'a DeriveInput,
) -> Option<ProjectionModel<'a>> {
    let (of, krate) = projection_attrs(cx, input);
    let named = named_fields(cx, input, "Projection")?;
    Some(ProjectionModel {
        ident: &input.ident,
        of: of?,
        krate: crate_path(krate),
        fields: named.iter().filter_map(|f| f.ident.as_ref()).collect(),
    })
}
