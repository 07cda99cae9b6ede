//! Collects every error of a derive input instead of stopping at the first one.

use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// An error accumulator (serde_derive's `Ctxt` idea).
#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records an error at the span of `tokens`.
    pub(crate) fn error_spanned_by<T: ToTokens, M: Display>(&mut self, tokens: T, msg: M) {
        self.errors.push(syn::Error::new_spanned(tokens, msg));
    }

    /// Records a `syn` error.
    pub(crate) fn syn_error(&mut self, err: syn::Error) {
        self.errors.push(err);
    }

    /// All errors as `compile_error!` invocations, or `Ok` when there were none.
    pub(crate) fn check(self) -> Result<(), TokenStream> {
        let mut iter = self.errors.into_iter();
        let Some(mut first) = iter.next() else {
            return Ok(());
        };
        for e in iter {
            first.combine(e);
        }
        Err(first.to_compile_error())
    }
}
