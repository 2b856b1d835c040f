//! `#[derive(FromRow)]`: sqlx's `FromRow` for a struct with named fields, each read from the
//! column of its name (`#[sqlx(skip)]` fields get their `Default`). sqlx's own derive names
//! `::sqlx` in its output, which a crate depending only on the `kwik` facade does not have; this
//! one goes through the facade like every kwik derive.

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

/// Whether a field says `#[sqlx(skip)]`.
fn skipped(field: &syn::Field) -> bool {
    field.attrs.iter().any(|a| {
        a.path().is_ident("sqlx") && a.meta.require_list().is_ok_and(|l| l.tokens.to_string().trim() == "skip")
    })
}

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let name = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(name, "FromRow can only be derived for structs"));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new_spanned(name, "FromRow needs named fields"));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&input.generics, "FromRow does not support generic structs"));
    }
    let mut bounds = Vec::new();
    let mut inits = Vec::new();
    for field in &named.named {
        let ident = field.ident.as_ref().ok_or_else(|| syn::Error::new_spanned(field, "unnamed field"))?;
        if skipped(field) {
            inits.push(quote!(#ident: ::std::default::Default::default()));
            continue;
        }
        let ty = &field.ty;
        let column = ident.to_string();
        bounds.push(quote!(#ty: ::sqlx::decode::Decode<'r, R::Database> + ::sqlx::types::Type<R::Database>));
        inits.push(quote!(#ident: ::sqlx::Row::try_get(row, #column)?));
    }
    Ok(quote! {
        impl<'r, R: ::sqlx::Row> ::sqlx::FromRow<'r, R> for #name
        where
            &'r str: ::sqlx::ColumnIndex<R>,
            #(#bounds,)*
        {
            fn from_row(row: &'r R) -> ::std::result::Result<Self, ::sqlx::Error> {
                ::std::result::Result::Ok(Self { #(#inits,)* })
            }
        }
    })
}
