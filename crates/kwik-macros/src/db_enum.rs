//! `#[derive(TextEnum)]`: a Rust enum stored as text, on top of poem-openapi's `Enum` (which
//! gives its OpenAPI `enum` and its JSON names).

use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(name, "TextEnum can only be derived for enums"));
    };
    let mut variants = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(variant, "TextEnum variants carry no data"));
        }
        let ident = &variant.ident;
        variants.push(quote!(#name::#ident));
    }
    let json = quote!(::kwik_crud::__private::serde_json);
    let sqlx = quote!(::kwik_crud::__private::sqlx);
    let serde = quote!(::kwik_crud::__private::serde);
    Ok(quote! {
        impl #name {
            /// Every variant, in declaration order.
            pub const VARIANTS: &'static [Self] = &[#(#variants),*];

            /// The text stored and sent for this variant (its OpenAPI name).
            pub fn as_text(&self) -> ::std::string::String {
                match ::poem_openapi::types::ToJSON::to_json(self) {
                    ::std::option::Option::Some(#json::Value::String(text)) => text,
                    _ => ::std::string::String::new(),
                }
            }

            /// The variant named `text`, if any.
            pub fn from_text(text: &str) -> ::std::option::Option<Self> {
                <Self as ::poem_openapi::types::ParseFromJSON>::parse_from_json(
                    ::std::option::Option::Some(#json::Value::String(text.to_owned()))).ok()
            }

            fn __kwik_expected() -> ::std::string::String {
                let names: ::std::vec::Vec<::std::string::String> =
                    Self::VARIANTS.iter().map(|v| ::std::format!("'{}'", v.as_text())).collect();
                match names.split_last() {
                    ::std::option::Option::Some((last, rest)) if !rest.is_empty() => ::std::format!("{} or {}", rest.join(", "), last),
                    _ => names.join(""),
                }
            }
        }

        impl #serde::Serialize for #name {
            fn serialize<S: #serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.as_text())
            }
        }

        impl<'de> #serde::Deserialize<'de> for #name {
            fn deserialize<D: #serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let text = <::std::string::String as #serde::Deserialize>::deserialize(deserializer)?;
                Self::from_text(&text).ok_or_else(|| {
                    <D::Error as #serde::de::Error>::invalid_value(
                        #serde::de::Unexpected::Str(&text), &Self::__kwik_expected().as_str())
                })
            }
        }

        impl ::std::convert::From<#name> for ::sea_query::Value {
            fn from(value: #name) -> Self {
                ::sea_query::Value::String(::std::option::Option::Some(value.as_text().into()))
            }
        }

        impl ::sea_query::Nullable for #name {
            fn null() -> ::sea_query::Value {
                ::sea_query::Value::String(::std::option::Option::None)
            }
        }

        impl #sqlx::Type<#sqlx::Sqlite> for #name {
            fn type_info() -> #sqlx::sqlite::SqliteTypeInfo {
                <::std::string::String as #sqlx::Type<#sqlx::Sqlite>>::type_info()
            }
            fn compatible(ty: &#sqlx::sqlite::SqliteTypeInfo) -> bool {
                <::std::string::String as #sqlx::Type<#sqlx::Sqlite>>::compatible(ty)
            }
        }

        impl #sqlx::Type<#sqlx::Postgres> for #name {
            fn type_info() -> #sqlx::postgres::PgTypeInfo {
                <::std::string::String as #sqlx::Type<#sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &#sqlx::postgres::PgTypeInfo) -> bool {
                <::std::string::String as #sqlx::Type<#sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'r> #sqlx::Decode<'r, #sqlx::Sqlite> for #name {
            fn decode(value: #sqlx::sqlite::SqliteValueRef<'r>) -> ::std::result::Result<Self, #sqlx::error::BoxDynError> {
                let text = <::std::string::String as #sqlx::Decode<#sqlx::Sqlite>>::decode(value)?;
                Self::from_text(&text).ok_or_else(|| ::std::format!("unknown {} value {text:?}", ::std::stringify!(#name)).into())
            }
        }

        impl<'r> #sqlx::Decode<'r, #sqlx::Postgres> for #name {
            fn decode(value: #sqlx::postgres::PgValueRef<'r>) -> ::std::result::Result<Self, #sqlx::error::BoxDynError> {
                let text = <::std::string::String as #sqlx::Decode<#sqlx::Postgres>>::decode(value)?;
                Self::from_text(&text).ok_or_else(|| ::std::format!("unknown {} value {text:?}", ::std::stringify!(#name)).into())
            }
        }
    })
}
