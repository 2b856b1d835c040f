//! # kwik-macros
//!
//! `#[derive(Entity)]`: describe a resource once and get its table mapping, client inputs,
//! validation, list allow-list, an [`AutoCrud`](../kwik_crud/trait.AutoCrud.html) and —
//! optionally — its five standard endpoints.
//!
//! ```ignore
//! #[derive(Debug, Clone, sqlx::FromRow, poem_openapi::Object, kwik_macros::Entity)]
//! #[kwik(table = "projects", audit, api(path = "/projects/", read = "project_read",
//!        create = "project_create", update = "project_update", delete = "project_delete"))]
//! pub struct Project {
//!     #[kwik(primary_key, sortable, filterable)]
//!     pub id: i64,
//!     #[kwik(create, update, sortable, filterable, min_length = 1, max_length = 200)]
//!     pub name: String,
//!     #[kwik(create, update, filterable)]
//!     pub description: Option<String>,
//!     // audit fields (with `audit`): creator_user_id, last_modifier_user_id,
//!     // creation_time, last_modification_time
//! }
//! ```
//!
//! A runnable example (without `api(...)`, which also needs kwik-http):
//!
//! ```
//! use kwik_core::{Rules, Validate};
//! use kwik_crud::{CreateInput, Entity};
//!
//! #[derive(Debug, Clone, sqlx::FromRow, poem_openapi::Object, kwik_macros::Entity)]
//! #[kwik(table = "notes")]
//! pub struct Note {
//!     #[kwik(primary_key)]
//!     pub id: i64,
//!     /// The text.
//!     #[kwik(create, update, sortable, filterable, min_length = 1)]
//!     pub text: String,
//! }
//!
//! assert_eq!(Note::TABLE, "notes");
//! assert_eq!(Note::COLUMNS, ["id", "text"]);
//! assert!(Note::list_schema().field("text").is_some_and(|f| f.sortable));
//!
//! let empty = NoteCreate { text: String::new() };
//! let issues = empty.validate(&Rules::default());
//! assert_eq!(issues[0].loc, ["body", "text"]);
//! assert_eq!(empty.values()[0].0, "text");
//!
//! let nothing = NoteUpdate::default();
//! assert_eq!(nothing.validate(&Rules::default())[0].msg, "Value error, at least one field must be provided");
//! ```
//!
//! Struct attributes (`#[kwik(...)]`):
//! - `table = "name"` (required);
//! - `audit`: the struct has Kwik's four `RecordInfoMixin` fields, set by the framework only;
//! - `crud = "Type"`: use your own `AutoCrud` implementation (default: a generated `<Name>Crud`);
//! - `api(path = "/things/", read = "..", create = "..", update = "..", delete = "..", tag = "Enum::Variant")`:
//!   generate `<Name>Api` with list, create, get, update and delete operations, each requiring
//!   its permission.
//!
//! Field attributes: `primary_key` (an `i64`), `create` (client-writable on create), `update`
//! (client-writable on update), `sortable`, `filterable`, `default = "path::to::fn"` (create
//! default), `min_length = N`, `max_length = N` (characters), `email`.
//!
//! Generated: `impl kwik_crud::Entity`, `<Name>Create` and `<Name>Update` (poem-openapi objects
//! with serde and `Validate`; update fields are optional, nullable ones use `MaybeUndefined` so
//! `null` clears and absence keeps), the allow-list, `<Name>Crud` (unless `crud` is given), and
//! `<Name>Api` (with `api(...)`). The user crate needs `poem-openapi`, `serde`, `sqlx`,
//! `sea-query`, `kwik-core`, `kwik-crud`, `kwik-listing` and, for `api`, `kwik-http`.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, LitInt, LitStr, PathArguments, Type, parse_macro_input};

/// Derives `kwik_crud::Entity` and friends; see the crate documentation.
#[proc_macro_derive(Entity, attributes(kwik))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

#[derive(Default)]
struct ApiArgs {
    path: Option<LitStr>,
    read: Option<LitStr>,
    create: Option<LitStr>,
    update: Option<LitStr>,
    delete: Option<LitStr>,
    tag: Option<LitStr>,
}

#[derive(Default)]
struct StructArgs {
    table: Option<LitStr>,
    audit: bool,
    crud: Option<LitStr>,
    api: Option<ApiArgs>,
}

#[derive(Default)]
#[allow(clippy::struct_excessive_bools)] // one flag per attribute keyword
struct FieldArgs {
    primary_key: bool,
    create: bool,
    update: bool,
    sortable: bool,
    filterable: bool,
    email: bool,
    default: Option<LitStr>,
    min_length: Option<LitInt>,
    max_length: Option<LitInt>,
}

struct FieldInfo {
    ident: Ident,
    ty: Type,
    args: FieldArgs,
    /// The field's doc comments, repeated on the generated inputs (they become OpenAPI descriptions).
    docs: Vec<syn::Attribute>,
}

const AUDIT_FIELDS: [&str; 4] = ["creator_user_id", "last_modifier_user_id", "creation_time", "last_modification_time"];

fn parse_struct_args(input: &DeriveInput) -> syn::Result<StructArgs> {
    let mut args = StructArgs::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("kwik")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                args.table = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("audit") {
                args.audit = true;
            } else if meta.path.is_ident("crud") {
                args.crud = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("api") {
                let mut api = ApiArgs::default();
                meta.parse_nested_meta(|inner| {
                    let slot = if inner.path.is_ident("path") {
                        &mut api.path
                    } else if inner.path.is_ident("read") {
                        &mut api.read
                    } else if inner.path.is_ident("create") {
                        &mut api.create
                    } else if inner.path.is_ident("update") {
                        &mut api.update
                    } else if inner.path.is_ident("delete") {
                        &mut api.delete
                    } else if inner.path.is_ident("tag") {
                        &mut api.tag
                    } else {
                        return Err(inner.error("expected path, read, create, update, delete or tag"));
                    };
                    *slot = Some(inner.value()?.parse()?);
                    Ok(())
                })?;
                args.api = Some(api);
            } else {
                return Err(meta.error("expected table, audit, crud or api(...)"));
            }
            Ok(())
        })?;
    }
    Ok(args)
}

fn parse_field_args(field: &syn::Field) -> syn::Result<FieldArgs> {
    let mut args = FieldArgs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("kwik")) {
        attr.parse_nested_meta(|meta| {
            let path = &meta.path;
            if path.is_ident("primary_key") {
                args.primary_key = true;
            } else if path.is_ident("create") {
                args.create = true;
            } else if path.is_ident("update") {
                args.update = true;
            } else if path.is_ident("sortable") {
                args.sortable = true;
            } else if path.is_ident("filterable") {
                args.filterable = true;
            } else if path.is_ident("email") {
                args.email = true;
            } else if path.is_ident("default") {
                args.default = Some(meta.value()?.parse()?);
            } else if path.is_ident("min_length") {
                args.min_length = Some(meta.value()?.parse()?);
            } else if path.is_ident("max_length") {
                args.max_length = Some(meta.value()?.parse()?);
            } else {
                return Err(meta.error(
                    "expected primary_key, create, update, sortable, filterable, email, default, min_length or max_length",
                ));
            }
            Ok(())
        })?;
    }
    Ok(args)
}

/// `T` when `ty` is `Option<T>`.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first()? {
        GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default(),
        _ => String::new(),
    }
}

/// kwik-listing's field type for a Rust type.
fn field_type(ty: &Type) -> Option<TokenStream2> {
    let base = option_inner(ty).unwrap_or(ty);
    let variant = match type_name(base).as_str() {
        "i64" | "i32" | "i16" | "i8" | "u32" | "u16" | "u8" => "Int",
        "f64" | "f32" => "Float",
        "bool" => "Bool",
        "String" => "Text",
        "DateTime" => "DateTime",
        "Uuid" => "Uuid",
        "Decimal" => "Decimal",
        _ => return None,
    };
    let variant = Ident::new(variant, Span::call_site());
    Some(quote!(::kwik_listing::FieldType::#variant))
}

fn is_string(ty: &Type) -> bool {
    type_name(option_inner(ty).unwrap_or(ty)) == "String"
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let name = &input.ident;
    let args = parse_struct_args(input)?;
    let table =
        args.table.clone().ok_or_else(|| syn::Error::new_spanned(name, "#[kwik(table = \"...\")] is required"))?;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(name, "Entity can only be derived for structs"));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new_spanned(name, "Entity needs named fields"));
    };
    let mut fields = Vec::new();
    for field in &named.named {
        let ident = field.ident.clone().ok_or_else(|| syn::Error::new_spanned(field, "unnamed field"))?;
        let args = parse_field_args(field)?;
        let is_audit = AUDIT_FIELDS.contains(&ident.to_string().as_str());
        if is_audit && (args.create || args.update) {
            return Err(syn::Error::new_spanned(
                &ident,
                "audit fields are set by the framework and cannot be client-writable",
            ));
        }
        if (args.sortable || args.filterable) && field_type(&field.ty).is_none() {
            return Err(syn::Error::new_spanned(
                &field.ty,
                "sortable/filterable fields must be i64, f64, bool, String, DateTime, Uuid or Decimal (or Option of those)",
            ));
        }
        let docs = field.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
        fields.push(FieldInfo { ident, ty: field.ty.clone(), args, docs });
    }
    if args.audit {
        for audit in AUDIT_FIELDS {
            if !fields.iter().any(|f| f.ident == audit) {
                return Err(syn::Error::new_spanned(name, format!("#[kwik(audit)] needs a field `{audit}`")));
            }
        }
    }
    let pk = fields
        .iter()
        .find(|f| f.args.primary_key)
        .ok_or_else(|| syn::Error::new_spanned(name, "one field needs #[kwik(primary_key)]"))?;
    let pk_ident = &pk.ident;
    let pk_name = pk_ident.to_string();

    let create_ident = format_ident!("{}Create", name);
    let update_ident = format_ident!("{}Update", name);
    let schema_ident = format_ident!("__KWIK_{}_LIST", name.to_string().to_uppercase());
    let columns: Vec<String> = fields.iter().map(|f| f.ident.to_string()).collect();
    let audited = args.audit;

    let list_fields = fields.iter().filter(|f| f.args.sortable || f.args.filterable || f.args.primary_key).map(|f| {
        let column = f.ident.to_string();
        let ty = field_type(&f.ty).unwrap_or_else(|| quote!(::kwik_listing::FieldType::Int));
        let mut spec = quote!(::kwik_listing::FieldSpec::new(#column, #ty));
        if !f.args.sortable && !f.args.primary_key {
            spec = quote!(#spec.not_sortable());
        }
        if !f.args.filterable && !f.args.primary_key {
            spec = quote!(#spec.not_filterable());
        }
        spec
    });

    let model = name.to_string();
    let create_fields: Vec<&FieldInfo> = fields.iter().filter(|f| f.args.create).collect();
    let update_fields: Vec<&FieldInfo> = fields.iter().filter(|f| f.args.update).collect();

    let create_struct_fields = create_fields.iter().map(|f| {
        let ident = &f.ident;
        let ty = &f.ty;
        let serde_default = match (&f.args.default, option_inner(ty)) {
            (Some(path), _) => quote!(#[serde(default = #path)] #[oai(default = #path)]),
            (None, Some(_)) => quote!(#[serde(default)]),
            (None, None) => quote!(),
        };
        let docs = &f.docs;
        let lengths = length_validator(f);
        quote!(#(#docs)* #serde_default #lengths pub #ident: #ty,)
    });
    let create_values = create_fields.iter().map(|f| {
        let ident = &f.ident;
        let column = ident.to_string();
        quote!((#column, ::sea_query::Expr::val(::std::clone::Clone::clone(&self.#ident))))
    });

    let update_struct_fields = update_fields.iter().map(|f| {
        let ident = &f.ident;
        let docs = &f.docs;
        let lengths = length_validator(f);
        match option_inner(&f.ty) {
            Some(inner) => {
                quote!(#(#docs)* #[serde(default)] #lengths pub #ident: ::poem_openapi::types::MaybeUndefined<#inner>,)
            }
            None => {
                let ty = &f.ty;
                quote!(#(#docs)* #[serde(default)] #lengths pub #ident: ::std::option::Option<#ty>,)
            }
        }
    });
    let update_values = update_fields.iter().map(|f| {
        let ident = &f.ident;
        let column = ident.to_string();
        match option_inner(&f.ty) {
            Some(inner) => quote! {
                match &self.#ident {
                    ::poem_openapi::types::MaybeUndefined::Undefined => {}
                    ::poem_openapi::types::MaybeUndefined::Null => {
                        values.push((#column, ::sea_query::Expr::val(::std::option::Option::<#inner>::None)));
                    }
                    ::poem_openapi::types::MaybeUndefined::Value(v) => {
                        values.push((#column, ::sea_query::Expr::val(::std::option::Option::Some(::std::clone::Clone::clone(v)))));
                    }
                }
            },
            None => quote! {
                if let ::std::option::Option::Some(v) = &self.#ident {
                    values.push((#column, ::sea_query::Expr::val(::std::clone::Clone::clone(v))));
                }
            },
        }
    });
    let update_present = update_fields.iter().map(|f| {
        let ident = &f.ident;
        match option_inner(&f.ty) {
            Some(_) => quote!(!self.#ident.is_undefined()),
            None => quote!(self.#ident.is_some()),
        }
    });

    let create_checks = create_fields.iter().map(|f| field_checks(f, false));
    let update_checks = update_fields.iter().map(|f| field_checks(f, true));

    let crud_ident = match &args.crud {
        Some(path) => syn::parse_str::<syn::Path>(&path.value())?,
        None => syn::parse_str::<syn::Path>(&format!("{name}Crud"))?,
    };
    let crud_struct = if args.crud.is_none() {
        let doc = format!("Kwik's `AutoCrud` for [`{name}`], with every default.");
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone, Copy, Default)]
            pub struct #crud_ident;
            impl ::kwik_crud::AutoCrud for #crud_ident {
                type Entity = #name;
            }
        }
    } else {
        quote!()
    };

    let api = match &args.api {
        Some(api) => expand_api(name, &table, &crud_ident, api, &fields)?,
        None => quote!(),
    };

    let create_doc = format!("Create payload of [`{name}`]: its client-writable fields.");
    let update_doc = format!("Update payload of [`{name}`]: only the fields sent change (at least one).");

    Ok(quote! {
        static #schema_ident: ::kwik_listing::ListSchema =
            ::kwik_listing::ListSchema::new(#model, #table, #pk_name, &[#(#list_fields),*]);

        impl ::kwik_crud::Entity for #name {
            type Create = #create_ident;
            type Update = #update_ident;
            const TABLE: &'static str = #table;
            const PRIMARY_KEY: &'static str = #pk_name;
            const COLUMNS: &'static [&'static str] = &[#(#columns),*];
            const AUDITED: bool = #audited;
            fn list_schema() -> &'static ::kwik_listing::ListSchema {
                &#schema_ident
            }
            fn id(&self) -> i64 {
                self.#pk_ident
            }
        }

        #[doc = #create_doc]
        #[derive(Debug, Clone, ::poem_openapi::Object, ::serde::Deserialize)]
        pub struct #create_ident {
            #(#create_struct_fields)*
        }

        impl ::kwik_crud::CreateInput for #create_ident {
            fn values(&self) -> ::std::vec::Vec<(&'static str, ::sea_query::Expr)> {
                ::std::vec![#(#create_values),*]
            }
        }

        impl ::kwik_core::Validate for #create_ident {
            fn validate(&self, _rules: &::kwik_core::Rules) -> ::std::vec::Vec<::kwik_core::ValidationIssue> {
                let mut issues = ::std::vec::Vec::new();
                #(#create_checks)*
                issues
            }
        }

        #[doc = #update_doc]
        #[derive(Debug, Clone, Default, ::poem_openapi::Object, ::serde::Deserialize)]
        pub struct #update_ident {
            #(#update_struct_fields)*
        }

        impl ::kwik_crud::UpdateInput for #update_ident {
            fn values(&self) -> ::std::vec::Vec<(&'static str, ::sea_query::Expr)> {
                #[allow(unused_mut)]
                let mut values = ::std::vec::Vec::new();
                #(#update_values)*
                values
            }
        }

        impl ::kwik_core::Validate for #update_ident {
            fn validate(&self, _rules: &::kwik_core::Rules) -> ::std::vec::Vec<::kwik_core::ValidationIssue> {
                let mut issues = ::std::vec::Vec::new();
                if ![#(#update_present),*].iter().any(|present: &bool| *present) {
                    issues.push(::kwik_core::ValidationIssue::new(
                        "value_error", &["body"], "Value error, at least one field must be provided"));
                }
                #(#update_checks)*
                issues
            }
        }

        #crud_struct
        #api
    })
}

/// `min_length`/`max_length` of a text field, stated in the OpenAPI document too (poem-openapi
/// validators; the body itself is checked by the generated `Validate`, with Kwik's texts).
fn length_validator(field: &FieldInfo) -> TokenStream2 {
    if !is_string(&field.ty) {
        return quote!();
    }
    let bounds: Vec<TokenStream2> = [("min_length", &field.args.min_length), ("max_length", &field.args.max_length)]
        .into_iter()
        .filter_map(|(name, value)| {
            let name = format_ident!("{}", name);
            value.as_ref().map(|n| quote!(#name = #n))
        })
        .collect();
    if bounds.is_empty() { quote!() } else { quote!(#[oai(validator(#(#bounds),*))]) }
}

/// Length and email checks of one input field (`optional`: the field is an update field).
fn field_checks(field: &FieldInfo, optional: bool) -> TokenStream2 {
    if !is_string(&field.ty) {
        return quote!();
    }
    let ident = &field.ident;
    let column = ident.to_string();
    let min = field.args.min_length.as_ref().map(|n| {
        quote! {
            if value.chars().count() < #n {
                issues.push(::kwik_core::ValidationIssue::new("string_too_short", &["body", #column],
                    format!("String should have at least {} characters", #n)).with_input(value.clone()));
            }
        }
    });
    let max = field.args.max_length.as_ref().map(|n| {
        quote! {
            if value.chars().count() > #n {
                issues.push(::kwik_core::ValidationIssue::new("string_too_long", &["body", #column],
                    format!("String should have at most {} characters", #n)).with_input(value.clone()));
            }
        }
    });
    let email = field.args.email.then(|| {
        quote! {
            if !::kwik_crud::is_valid_email(value) {
                issues.push(::kwik_core::ValidationIssue::new("value_error", &["body", #column],
                    "value is not a valid email address").with_input(value.clone()));
            }
        }
    });
    if min.is_none() && max.is_none() && email.is_none() {
        return quote!();
    }
    let body = quote!(#min #max #email);
    let nullable = option_inner(&field.ty).is_some();
    match (optional, nullable) {
        (false, false) => quote!({ let value: &String = &self.#ident; #body }),
        (false, true) | (true, false) => quote!(if let ::std::option::Option::Some(value) = &self.#ident { #body }),
        (true, true) => quote!(if let ::poem_openapi::types::MaybeUndefined::Value(value) = &self.#ident { #body }),
    }
}

fn expand_api(
    name: &Ident,
    table: &LitStr,
    crud: &syn::Path,
    api: &ApiArgs,
    fields: &[FieldInfo],
) -> syn::Result<TokenStream2> {
    let missing = |what: &str| syn::Error::new_spanned(name, format!("api(...) needs `{what} = \"...\"`"));
    let path = api.path.as_ref().ok_or_else(|| missing("path"))?;
    let read = api.read.as_ref().ok_or_else(|| missing("read"))?;
    let create = api.create.as_ref().ok_or_else(|| missing("create"))?;
    let update = api.update.as_ref().ok_or_else(|| missing("update"))?;
    let delete = api.delete.as_ref().ok_or_else(|| missing("delete"))?;
    let api_ident = format_ident!("{}Api", name);
    let module = format_ident!("__kwik_{}_permissions", name.to_string().to_lowercase());
    let create_ident = format_ident!("{}Create", name);
    let update_ident = format_ident!("{}Update", name);
    let table = table.value();

    let sortable: Vec<String> =
        fields.iter().filter(|f| f.args.sortable || f.args.primary_key).map(|f| f.ident.to_string()).collect();
    let filterable: Vec<String> =
        fields.iter().filter(|f| f.args.filterable || f.args.primary_key).map(|f| f.ident.to_string()).collect();
    let list_doc = format!(
        "List {table}\n\nRequires: `{}`. Sortable fields: {}. Filterable fields: {}. Filter operators \
         (`filter=field:op:value`, repeatable): eq, ne, lt, lte, gt, gte, in (comma-separated), contains, \
         icontains, startswith (text only), isnull (true/false).",
        read.value(),
        sortable.join(", "),
        filterable.join(", ")
    );
    let sorting_doc = format!("`field[:asc|:desc]`, comma-separated; fields: {}.", sortable.join(", "));
    let filter_doc = format!("`field:op:value`, repeatable; fields: {}.", filterable.join(", "));
    let create_doc =
        format!("Create a {table} row\n\nRequires: `{}`. A unique value already taken: 409.", create.value());
    let get_doc = format!("Get a {table} row\n\nRequires: `{}`. 404 for an unknown id.", read.value());
    let update_doc = format!(
        "Update a {table} row\n\nRequires: `{}`. Only the fields sent change. 404 for an unknown id.",
        update.value()
    );
    let delete_doc = format!(
        "Delete a {table} row\n\nRequires: `{}`. Returns it as it was. 404 for an unknown id; 409 when other rows still reference it.",
        delete.value()
    );
    let tag = api.tag.as_ref().map(|t| quote!(, tag = #t));
    let api_doc = format!("The five standard endpoints of [`{name}`] (generated by `#[derive(Entity)]`).");

    Ok(quote! {
        #[allow(non_snake_case)]
        #[doc(hidden)]
        pub mod #module {
            ::kwik_http::permission!(pub Read = #read);
            ::kwik_http::permission!(pub Create = #create);
            ::kwik_http::permission!(pub Update = #update);
            ::kwik_http::permission!(pub Delete = #delete);
        }

        #[doc = #api_doc]
        #[derive(Debug, Clone, Copy, Default)]
        pub struct #api_ident;

        #[::poem_openapi::OpenApi(prefix_path = #path #tag)]
        impl #api_ident {
            #[doc = #list_doc]
            #[oai(path = "/", method = "get")]
            #[allow(clippy::too_many_arguments)]
            async fn list(
                &self,
                state: ::poem::web::Data<&::kwik_http::AppState>,
                _auth: ::kwik_http::Auth<#module::Read>,
                /// Rows to skip (default 0, not with `cursor`).
                skip: ::poem_openapi::param::Query<::std::option::Option<::kwik_http::ListSkip>>,
                /// Page size (default 100, at most 1000).
                limit: ::poem_openapi::param::Query<::std::option::Option<::kwik_http::ListLimit>>,
                #[doc = #sorting_doc]
                sorting: ::poem_openapi::param::Query<::std::option::Option<::kwik_http::ListSorting>>,
                /// Kwik's equality filter: field name (with `value`).
                filter_key: ::poem_openapi::param::Query<::std::option::Option<String>>,
                /// Kwik's equality filter: value (with `filter_key`).
                value: ::poem_openapi::param::Query<::std::option::Option<String>>,
                #[doc = #filter_doc]
                filter: ::poem_openapi::param::Query<::kwik_http::ListFilters>,
                /// Keyset pagination: empty for the first page, then the previous page's `next_cursor`.
                cursor: ::poem_openapi::param::Query<::std::option::Option<String>>,
            ) -> ::kwik_http::ApiResult<::poem_openapi::payload::Json<::kwik_listing::Paginated<#name>>> {
                let raw = ::kwik_http::raw_list_query!(skip, limit, sorting, filter_key, value, filter, cursor);
                ::kwik_http::crud::list(&#crud, &state, &raw).await
            }

            #[doc = #create_doc]
            #[oai(path = "/", method = "post")]
            async fn create(
                &self,
                state: ::poem::web::Data<&::kwik_http::AppState>,
                auth: ::kwik_http::Auth<#module::Create>,
                body: ::kwik_http::JsonBody<#create_ident>,
            ) -> ::kwik_http::ApiResult<::poem_openapi::payload::Json<#name>> {
                ::kwik_http::crud::create(&#crud, &state, auth.id(), body.0).await
            }

            #[doc = #get_doc]
            #[oai(path = "/:id", method = "get")]
            async fn get(
                &self,
                state: ::poem::web::Data<&::kwik_http::AppState>,
                _auth: ::kwik_http::Auth<#module::Read>,
                id: ::poem_openapi::param::Path<i64>,
            ) -> ::kwik_http::ApiResult<::poem_openapi::payload::Json<#name>> {
                ::kwik_http::crud::get(&#crud, &state, id.0).await
            }

            #[doc = #update_doc]
            #[oai(path = "/:id", method = "put")]
            async fn update(
                &self,
                state: ::poem::web::Data<&::kwik_http::AppState>,
                auth: ::kwik_http::Auth<#module::Update>,
                id: ::poem_openapi::param::Path<i64>,
                body: ::kwik_http::JsonBody<#update_ident>,
            ) -> ::kwik_http::ApiResult<::poem_openapi::payload::Json<#name>> {
                ::kwik_http::crud::update(&#crud, &state, auth.id(), id.0, body.0).await
            }

            #[doc = #delete_doc]
            #[oai(path = "/:id", method = "delete")]
            async fn delete(
                &self,
                state: ::poem::web::Data<&::kwik_http::AppState>,
                auth: ::kwik_http::Auth<#module::Delete>,
                id: ::poem_openapi::param::Path<i64>,
            ) -> ::kwik_http::ApiResult<::poem_openapi::payload::Json<#name>> {
                ::kwik_http::crud::delete(&#crud, &state, auth.id(), id.0).await
            }
        }
    })
}
