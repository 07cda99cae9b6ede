//! Generates the `State` impl: the channel table, reducers, JSON conversion and schema.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::{FieldModel, StateModel};
use crate::attr::Reducer;

fn reducer_kind(k: &TokenStream, r: &Reducer) -> TokenStream {
    let v = match r {
        Reducer::LastValue => quote!(LastValue),
        Reducer::Ephemeral => quote!(Ephemeral),
        Reducer::Append => quote!(Append),
        Reducer::Merge => quote!(Merge),
        Reducer::AddMessages => quote!(AddMessages),
        Reducer::Custom(_) => quote!(Custom),
    };
    quote!(#k::__private::ReducerKind::#v)
}

fn apply_field(k: &TokenStream, f: &FieldModel<'_>) -> TokenStream {
    let id = f.ident;
    let i = f.index;
    let p = quote!(#k::__private);
    let reduce = match &f.reducer {
        Reducer::LastValue | Reducer::Ephemeral => {
            return quote! {
                if let ::core::option::Option::Some(v) = #id {
                    writes.last_value(#i)?;
                    self.#id = v;
                }
            };
        }
        Reducer::Append => quote! {
            let before = #p::Appendable::len(&self.#id);
            #p::Appendable::append(&mut self.#id, v);
            writes.appended(#i, before);
        },
        Reducer::Merge => quote! {
            #p::Mergeable::merge(&mut self.#id, v);
            writes.replaced(#i);
        },
        Reducer::AddMessages => quote! {
            match #p::add_by_id(&mut self.#id, v) {
                #p::ChannelChange::Appended { from } => writes.appended(#i, from),
                #p::ChannelChange::Replaced => writes.replaced(#i),
            }
        },
        Reducer::Custom(path) => quote! {
            #p::reduce_with(#path, &mut self.#id, v);
            writes.replaced(#i);
        },
    };
    quote! {
        if let ::core::option::Option::Some(v) = #id {
            if overwrite.contains(#i) {
                writes.replaced(#i);
                self.#id = v;
            } else {
                #reduce
            }
        }
    }
}

/// The `impl State for X` block and the conversions around it.
pub(crate) fn expand(m: &StateModel<'_>) -> TokenStream {
    let k = &m.krate;
    let p = quote!(#k::__private);
    let ident = m.ident;
    let update = &m.update;
    let name = ident.to_string();
    let version = m.version;
    let fids: Vec<_> = m.fields.iter().map(|f| f.ident).collect();
    let idx: Vec<usize> = m.fields.iter().map(|f| f.index).collect();
    let channel_infos = m.fields.iter().map(|f| {
        let n = f.name();
        let r = reducer_kind(k, &f.reducer);
        let d = f.delta();
        quote!(#p::ChannelInfo { name: #n, reducer: #r, delta: #d })
    });
    let applies = m.fields.iter().map(|f| apply_field(k, f));
    let delta_fields: Vec<_> = m.fields.iter().filter(|f| f.delta()).collect();
    let d_idx: Vec<usize> = delta_fields.iter().map(|f| f.index).collect();
    let d_ids: Vec<_> = delta_fields.iter().map(|f| f.ident).collect();
    let schema_fields = m.fields.iter().map(|f| {
        let n = f.name();
        let ty = f.ty;
        let doc = doc_string(&f.docs);
        let doc = match doc {
            Some(d) => quote!(::core::option::Option::Some(#d)),
            None => quote!(::core::option::Option::None),
        };
        quote!((#n, generator.subschema_for::<#ty>(), #doc, true))
    });
    let state_doc = match doc_string(&m.docs) {
        Some(d) => quote!(::core::option::Option::Some(#d)),
        None => quote!(::core::option::Option::None),
    };
    let migrate = m.migrate.as_ref().map(|path| {
        quote! {
            fn migrate(
                from: u32,
                values: #p::serde_json::Map<::std::string::String, #p::serde_json::Value>,
            ) -> ::core::result::Result<
                #p::serde_json::Map<::std::string::String, #p::serde_json::Value>,
                ::std::string::String,
            > {
                if from == #version {
                    ::core::result::Result::Ok(values)
                } else {
                    #path(from, values)
                }
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #p::State for #ident {
            type Update = #update;

            fn info() -> &'static #p::StateInfo {
                static INFO: #p::StateInfo = #p::StateInfo {
                    name: #name,
                    version: #version,
                    channels: &[#(#channel_infos),*],
                };
                &INFO
            }

            fn apply(
                &mut self,
                update: #update,
                writes: &mut #p::StepWrites,
            ) -> ::core::result::Result<(), #p::WriteConflict> {
                let #update { #(#fids,)* __overwrite: overwrite } = update;
                #(#applies)*
                let _ = &overwrite;
                ::core::result::Result::Ok(())
            }

            fn reset_channel(&mut self, channel: usize) {
                match channel {
                    #(#idx => self.#fids = ::core::default::Default::default(),)*
                    _ => {}
                }
            }

            fn channel_to_json(
                &self,
                channel: usize,
            ) -> ::core::result::Result<#p::serde_json::Value, #p::serde_json::Error> {
                match channel {
                    #(#idx => #p::serde_json::to_value(&self.#fids),)*
                    _ => ::core::result::Result::Err(<#p::serde_json::Error as #p::serde::ser::Error>::custom("no such channel")),
                }
            }

            fn channel_from_json(
                &mut self,
                channel: usize,
                value: #p::serde_json::Value,
            ) -> ::core::result::Result<(), #p::serde_json::Error> {
                match channel {
                    #(#idx => { self.#fids = #p::serde_json::from_value(value)?; })*
                    _ => return ::core::result::Result::Err(<#p::serde_json::Error as #p::serde::de::Error>::custom("no such channel")),
                }
                ::core::result::Result::Ok(())
            }

            fn channel_len(&self, channel: usize) -> usize {
                match channel {
                    #(#d_idx => #p::Appendable::len(&self.#d_ids),)*
                    _ => 0,
                }
            }

            fn channel_tail_to_json(
                &self,
                channel: usize,
                from: usize,
            ) -> ::core::result::Result<#p::serde_json::Value, #p::serde_json::Error> {
                match channel {
                    #(#d_idx => #p::Appendable::tail_to_json(&self.#d_ids, from),)*
                    other => <Self as #p::State>::channel_to_json(self, other),
                }
            }

            fn state_schema() -> #p::serde_json::Value {
                let mut generator = #p::schemars::SchemaGenerator::default();
                let fields = ::std::vec![#(#schema_fields),*];
                #p::object_schema(#name, #state_doc, fields, generator)
            }

            #migrate
        }

        #[automatically_derived]
        impl #p::FromState<#ident> for #ident {
            fn from_state(state: #ident) -> Self {
                state
            }
            fn from_state_ref(state: &#ident) -> Self {
                ::core::clone::Clone::clone(state)
            }
        }

        #[automatically_derived]
        impl #p::IntoUpdate<#ident> for #ident {
            fn into_update(self) -> #update {
                ::core::convert::From::from(self)
            }
        }

        #[automatically_derived]
        impl ::core::convert::From<#ident> for #update {
            fn from(state: #ident) -> Self {
                let #ident { #(#fids),* } = state;
                #update {
                    #(#fids: ::core::option::Option::Some(#fids),)*
                    __overwrite: ::core::default::Default::default(),
                }
            }
        }

        #[automatically_derived]
        impl ::core::convert::From<#ident> for #p::Input<#ident> {
            fn from(state: #ident) -> Self {
                #p::Input::Update(::core::convert::From::from(state))
            }
        }
    }
}

/// Joins `#[doc = "..."]` attributes into one trimmed string.
pub(crate) fn doc_string(docs: &[&syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = docs
        .iter()
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let joined = lines.join(" ").trim().to_string();
    (!joined.is_empty()).then_some(joined)
}
