//! Generates the conversions of a `#[derive(Projection)]` type.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::ProjectionModel;

/// `FromState` (output / node view), `IntoUpdate` and `Into<Input>` (graph input).
pub(crate) fn expand(m: &ProjectionModel<'_>) -> TokenStream {
    let k = &m.krate;
    let p = quote!(#k::__private);
    let ident = m.ident;
    let of = &m.of;
    let fids = &m.fields;
    quote! {
        #[automatically_derived]
        impl #p::FromState<#of> for #ident {
            fn from_state(state: #of) -> Self {
                Self { #(#fids: state.#fids,)* }
            }
            fn from_state_ref(state: &#of) -> Self {
                Self { #(#fids: ::core::clone::Clone::clone(&state.#fids),)* }
            }
        }

        #[automatically_derived]
        impl #p::IntoUpdate<#of> for #ident {
            fn into_update(self) -> <#of as #p::State>::Update {
                <#of as #p::State>::Update::new() #(.#fids(self.#fids))*
            }
        }

        #[automatically_derived]
        impl ::core::convert::From<#ident> for #p::Input<#of> {
            fn from(value: #ident) -> Self {
                #p::Input::Update(#p::IntoUpdate::into_update(value))
            }
        }
    }
}
