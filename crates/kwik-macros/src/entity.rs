//! `#[derive(Entity)]`: the Entity implementation, the inputs and their validation.

use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::{Data, DeriveInput, Fields, GenericArgument, Ident, PathArguments, Type};

use crate::attrs::{AuditLogField, FieldArgs, parse_field_args, parse_struct_args};

/// A field of the entity and its attributes.
pub struct FieldInfo {
    pub ident: Ident,
    pub ty: Type,
    pub args: FieldArgs,
    /// The field's doc comments, repeated on the generated inputs (they become OpenAPI descriptions).
    pub docs: Vec<syn::Attribute>,
    /// Hidden from responses (`#[oai(skip)]`).
    pub hidden: bool,
}

impl FieldInfo {
    pub fn column(&self) -> String {
        self.ident.to_string()
    }
}

const SOFT_DELETE_FIELDS: [&str; 2] = ["deleted_at", "deleter_user_id"];

const AUDIT_FIELDS: [&str; 4] = ["creator_user_id", "last_modifier_user_id", "creation_time", "last_modification_time"];

/// Words in a field name that mark a secret: such fields are redacted in the audit log.
const SECRET_WORDS: [&str; 4] = ["password", "secret", "token", "hash"];

/// `_`-separated parts of a field name that mark a secret too (`api_key`, `pin`, `otp_code`).
const SECRET_PARTS: [&str; 5] = ["key", "pin", "otp", "credential", "credentials"];

/// Whether a field's name says it holds a secret.
fn secret_name(column: &str) -> bool {
    SECRET_WORDS.iter().any(|w| column.contains(w)) || column.split('_').any(|part| SECRET_PARTS.contains(&part))
}

/// The audit log's parts of the Entity impl: which fields are redacted, and `audit_fields`.
fn audit_log_items(fields: &[FieldInfo]) -> (Vec<String>, TokenStream2) {
    let logged: Vec<&FieldInfo> = fields
        .iter()
        .filter(|f| {
            let column = f.column();
            !f.args.primary_key
                && f.args.computed.is_none()
                && !AUDIT_FIELDS.contains(&column.as_str())
                && column != "tenant_id"
                && !f.hidden
                && f.args.audit_log != Some(AuditLogField::Exclude)
        })
        .collect();
    let redacted = logged
        .iter()
        .filter(|f| {
            let column = f.column();
            f.args.audit_log == Some(AuditLogField::Redact) || secret_name(&column)
        })
        .map(|f| f.column())
        .collect();
    let pairs = logged.iter().map(|f| {
        let ident = &f.ident;
        let column = f.column();
        quote! {
            (#column, ::poem_openapi::types::ToJSON::to_json(&self.#ident)
                .unwrap_or(::kwik_crud::__private::serde_json::Value::Null))
        }
    });
    let body = quote! {
        fn audit_fields(&self) -> ::std::vec::Vec<(&'static str, ::kwik_crud::__private::serde_json::Value)> {
            ::std::vec![#(#pairs),*]
        }
    };
    (redacted, body)
}

/// `T` when `ty` is `Option<T>`.
pub fn option_inner(ty: &Type) -> Option<&Type> {
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

/// The kind of value a field holds, by its type's name: `Int`, `Float`, `Bool`, `Text`,
/// `DateTime`, `Uuid`, `Decimal`, `Json`; `None` for other types.
fn kind_name(field_ty: &Type, text_enum: bool) -> Option<&'static str> {
    let base = option_inner(field_ty).unwrap_or(field_ty);
    Some(match type_name(base).as_str() {
        _ if text_enum => "Text",
        "i64" | "i32" | "i16" | "i8" | "u32" | "u16" | "u8" => "Int",
        "f64" | "f32" => "Float",
        "bool" => "Bool",
        "String" => "Text",
        "DateTime" => "DateTime",
        "Uuid" => "Uuid",
        "Decimal" => "Decimal",
        "Value" | "Json" => "Json",
        _ => return None,
    })
}

/// kwik-listing's field type for a field (JSON is not sortable or filterable).
fn field_type(field_ty: &Type, text_enum: bool) -> Option<TokenStream2> {
    let variant = kind_name(field_ty, text_enum).filter(|kind| *kind != "Json")?;
    let variant = Ident::new(variant, Span::call_site());
    Some(quote!(::kwik_listing::FieldType::#variant))
}

/// kwik-crud's column kind for a field (the entity/table check).
fn column_kind(field_ty: &Type, text_enum: bool) -> TokenStream2 {
    let variant = Ident::new(kind_name(field_ty, text_enum).unwrap_or("Other"), Span::call_site());
    quote!(::kwik_crud::ColumnKind::#variant)
}

fn is_string(ty: &Type) -> bool {
    type_name(option_inner(ty).unwrap_or(ty)) == "String"
}

fn is_plain_number(ty: &Type) -> bool {
    matches!(
        type_name(option_inner(ty).unwrap_or(ty)).as_str(),
        "i64" | "i32" | "i16" | "i8" | "u32" | "u16" | "u8" | "f64" | "f32"
    )
}

/// `PascalCase` of a `snake_case` table name: the default OpenAPI tag (`order_lines` → `OrderLines`).
pub fn pascal(name: &str) -> String {
    name.split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
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
        if (args.sortable || args.filterable) && field_type(&field.ty, args.text_enum).is_none() {
            return Err(syn::Error::new_spanned(
                &field.ty,
                "sortable/filterable fields must be i64, f64, bool, String, DateTime, Uuid, Decimal or a \
                 #[kwik(text_enum)] (or Option of those)",
            ));
        }
        if args.computed.is_some() {
            let skipped = field.attrs.iter().any(|a| {
                a.path().is_ident("sqlx") && a.meta.require_list().is_ok_and(|l| l.tokens.to_string().contains("skip"))
            });
            if !skipped {
                return Err(syn::Error::new_spanned(&ident, "a computed field is not a column: add #[sqlx(skip)]"));
            }
            if args.create || args.update || args.sortable || args.filterable || args.primary_key {
                return Err(syn::Error::new_spanned(
                    &ident,
                    "a computed field cannot be written, sorted or filtered: it is not a column",
                ));
            }
        }
        let hidden = field.attrs.iter().any(|a| {
            a.path().is_ident("oai")
                && a.meta.require_list().is_ok_and(|l| l.tokens.to_string().split(',').any(|t| t.trim() == "skip"))
        });
        if hidden && (args.sortable || args.filterable) {
            return Err(syn::Error::new_spanned(
                &ident,
                "a field hidden from responses (#[oai(skip)]) cannot be sortable or filterable: filters and cursors \
                 would reveal it",
            ));
        }
        if args.nested.is_some() && args.references.is_none() {
            return Err(syn::Error::new_spanned(&ident, "nested(...) needs references = \"Parent\" on the same field"));
        }
        if !args.bounds.is_empty()
            && !is_plain_number(&field.ty)
            && type_name(option_inner(&field.ty).unwrap_or(&field.ty)) != "Decimal"
        {
            return Err(syn::Error::new_spanned(&field.ty, "numeric bounds need an integer, float or Decimal field"));
        }
        let docs = field.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
        fields.push(FieldInfo { ident, ty: field.ty.clone(), args, docs, hidden });
    }
    if args.soft_delete {
        for column in SOFT_DELETE_FIELDS {
            match fields.iter().find(|f| f.ident == column) {
                None => {
                    return Err(syn::Error::new_spanned(
                        name,
                        format!("#[kwik(soft_delete)] needs a field `{column}`"),
                    ));
                }
                Some(f) if f.args.create || f.args.update => {
                    return Err(syn::Error::new_spanned(&f.ident, "soft-delete fields are set by the framework only"));
                }
                Some(_) => {}
            }
        }
    }
    if args.api.as_ref().is_some_and(|api| api.restore.is_some()) && !args.soft_delete {
        return Err(syn::Error::new_spanned(name, "api(restore = ...) needs #[kwik(soft_delete)]"));
    }
    if args.tenant_scoped {
        match fields.iter().find(|f| f.ident == "tenant_id") {
            None => return Err(syn::Error::new_spanned(name, "#[kwik(tenant_scoped)] needs a field `tenant_id: i64`")),
            Some(field) if field.args.create || field.args.update => {
                return Err(syn::Error::new_spanned(
                    &field.ident,
                    "tenant_id is set from the caller's tenant and cannot be client-writable",
                ));
            }
            Some(_) => {}
        }
    }
    if args.audit {
        for audit in AUDIT_FIELDS {
            if !fields.iter().any(|f| f.ident == audit) {
                return Err(syn::Error::new_spanned(name, format!("#[kwik(audit)] needs a field `{audit}`")));
            }
        }
    }
    if args.api.is_none()
        && let Some(nested) = fields.iter().find(|f| f.args.nested.is_some())
    {
        return Err(syn::Error::new_spanned(
            &nested.ident,
            "nested(...) routes are generated with the resource's api(path = ...): add api(...)",
        ));
    }
    if fields.iter().filter(|f| f.args.nested.is_some()).count() > 1 {
        return Err(syn::Error::new_spanned(name, "one field at most can declare nested(...)"));
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
    let columns: Vec<String> = fields.iter().filter(|f| f.args.computed.is_none()).map(FieldInfo::column).collect();
    let column_specs = fields.iter().filter(|f| f.args.computed.is_none()).map(|f| {
        let name = f.column();
        let kind = column_kind(&f.ty, f.args.text_enum);
        let nullable = option_inner(&f.ty).is_some();
        let primary_key = f.args.primary_key;
        quote!(::kwik_crud::ColumnSpec { name: #name, kind: #kind, nullable: #nullable, primary_key: #primary_key })
    });
    let audited = args.audit;
    let soft_delete = args.soft_delete;
    let audit_log = args.audit_log;
    let tenant_scoped = args.tenant_scoped;
    let (redacted, audit_fields) = if audit_log { audit_log_items(&fields) } else { (Vec::new(), quote!()) };
    if !audit_log && let Some(field) = fields.iter().find(|f| f.args.audit_log.is_some()) {
        return Err(syn::Error::new_spanned(
            &field.ident,
            "audit_log = \"...\" on a field needs #[kwik(audit_log)] on the struct",
        ));
    }

    let list_fields = fields.iter().filter(|f| f.args.sortable || f.args.filterable || f.args.primary_key).map(|f| {
        let column = f.column();
        let ty = field_type(&f.ty, f.args.text_enum).unwrap_or_else(|| quote!(::kwik_listing::FieldType::Int));
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
    let nested_field = fields.iter().find(|f| f.args.nested.is_some());

    let create_struct = create_input(&create_ident, name, &create_fields, "Create payload of");
    let update_struct_fields = update_fields.iter().map(|f| {
        let ident = &f.ident;
        let docs = &f.docs;
        let doc_validators = doc_validators(f);
        match option_inner(&f.ty) {
            Some(inner) => {
                quote!(#(#docs)* #[serde(default)] #doc_validators pub #ident: ::poem_openapi::types::MaybeUndefined<#inner>,)
            }
            None => {
                let ty = &f.ty;
                quote!(#(#docs)* #[serde(default)] #doc_validators pub #ident: ::std::option::Option<#ty>,)
            }
        }
    });
    let update_values = update_fields.iter().map(|f| {
        let ident = &f.ident;
        let column = f.column();
        // Email fields are stored normalized, as on create.
        let value = if f.args.email {
            quote!(::kwik_crud::normalize_email(v).unwrap_or_else(|| ::std::clone::Clone::clone(v)))
        } else {
            quote!(::std::clone::Clone::clone(v))
        };
        match option_inner(&f.ty) {
            Some(inner) => quote! {
                match &self.#ident {
                    ::poem_openapi::types::MaybeUndefined::Undefined => {}
                    ::poem_openapi::types::MaybeUndefined::Null => {
                        values.set(#column, ::std::option::Option::<#inner>::None);
                    }
                    ::poem_openapi::types::MaybeUndefined::Value(v) => {
                        values.set(#column, ::std::option::Option::Some(#value));
                    }
                }
            },
            None => quote! {
                if let ::std::option::Option::Some(v) = &self.#ident {
                    values.set(#column, #value);
                }
            },
        }
    });
    let update_refs = update_fields.iter().filter(|f| f.args.references.is_some()).map(|f| {
        let ident = &f.ident;
        let column = f.column();
        match option_inner(&f.ty) {
            Some(_) => quote! {
                if let ::poem_openapi::types::MaybeUndefined::Value(v) = &self.#ident { refs.push((#column, *v)); }
            },
            None => quote! {
                if let ::std::option::Option::Some(v) = &self.#ident { refs.push((#column, *v)); }
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

    let references = fields.iter().filter_map(|f| {
        let target = f.args.references.as_ref()?;
        let target: syn::Path = match syn::parse_str(&target.value()) {
            Ok(path) => path,
            Err(e) => return Some(syn::Error::new_spanned(target, e).to_compile_error()),
        };
        let column = f.column();
        Some(quote! {
            ::kwik_crud::Reference {
                column: #column,
                table: <#target as ::kwik_crud::Entity>::TABLE,
                exists: ::kwik_crud::exists_in::<#target>,
            }
        })
    });
    let computed = fields.iter().filter_map(|f| {
        let path = f.args.computed.as_ref()?;
        let path: syn::Path = match syn::parse_str(&path.value()) {
            Ok(path) => path,
            Err(e) => return Some(syn::Error::new_spanned(path, e).to_compile_error()),
        };
        let ident = &f.ident;
        Some(quote!(self.#ident = #path(self);))
    });

    // A nested create body: the create fields without the parent key (set from the path).
    let nested_create = match nested_field {
        Some(parent) if parent.args.create => {
            let nested_ident = format_ident!("{}NestedCreate", name);
            let without: Vec<&FieldInfo> = create_fields.iter().copied().filter(|f| f.ident != parent.ident).collect();
            let body = create_input(&nested_ident, name, &without, "Create payload, under its parent's path, of");
            let parent_ident = &parent.ident;
            let copies = without.iter().map(|f| {
                let ident = &f.ident;
                quote!(#ident: self.#ident,)
            });
            quote! {
                #body
                impl #nested_ident {
                    /// The full create payload, with the parent key from the path.
                    pub fn into_create(self, parent: i64) -> #create_ident {
                        #create_ident { #parent_ident: ::std::convert::Into::into(parent), #(#copies)* }
                    }
                }
            }
        }
        _ => quote!(),
    };

    let api = match &args.api {
        Some(api) => crate::api::expand_api(name, &table, &crud_ident, api, &fields, &input.attrs)?,
        None => quote!(),
    };

    let update_doc = format!("Update payload of [`{name}`]: only the fields sent change (at least one).");

    Ok(quote! {
        static #schema_ident: ::kwik_listing::ListSchema =
            ::kwik_listing::ListSchema::new(#model, #table, #pk_name, &[#(#list_fields),*]);

        impl ::kwik_crud::Entity for #name {
            type Create = #create_ident;
            type Update = #update_ident;
            type Crud = #crud_ident;
            const TABLE: &'static str = #table;
            const PRIMARY_KEY: &'static str = #pk_name;
            const COLUMNS: &'static [&'static str] = &[#(#columns),*];
            const COLUMN_SPECS: &'static [::kwik_crud::ColumnSpec] = &[#(#column_specs),*];
            const AUDITED: bool = #audited;
            const SOFT_DELETE: bool = #soft_delete;
            const AUDIT_LOG: bool = #audit_log;
            const TENANT_SCOPED: bool = #tenant_scoped;
            const AUDIT_REDACTED: &'static [&'static str] = &[#(#redacted),*];
            fn list_schema() -> &'static ::kwik_listing::ListSchema {
                &#schema_ident
            }
            fn id(&self) -> i64 {
                self.#pk_ident
            }
            fn references() -> &'static [::kwik_crud::Reference] {
                static REFERENCES: &[::kwik_crud::Reference] = &[#(#references),*];
                REFERENCES
            }
            fn finish(&mut self) {
                #(#computed)*
            }
            #audit_fields
        }

        #create_struct
        #nested_create

        #[doc = #update_doc]
        #[derive(Debug, Clone, Default, ::poem_openapi::Object, ::serde::Deserialize)]
        pub struct #update_ident {
            #(#update_struct_fields)*
        }

        impl ::kwik_crud::UpdateInput for #update_ident {
            fn values(&self) -> ::kwik_crud::Values {
                #[allow(unused_mut)]
                let mut values = ::kwik_crud::Values::new();
                #(#update_values)*
                values
            }
            fn references(&self) -> ::std::vec::Vec<(&'static str, i64)> {
                #[allow(unused_mut)]
                let mut refs = ::std::vec::Vec::new();
                #(#update_refs)*
                refs
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

/// A create input struct over `fields`, with `CreateInput` and `Validate`.
fn create_input(ident: &Ident, entity: &Ident, fields: &[&FieldInfo], what: &str) -> TokenStream2 {
    let mut default_fns = Vec::new();
    let struct_fields: Vec<TokenStream2> = fields
        .iter()
        .map(|f| {
            let field = &f.ident;
            let ty = &f.ty;
            let serde_default = match (&f.args.default, option_inner(ty)) {
                (Some(syn::Lit::Str(path)), _) => quote!(#[serde(default = #path)] #[oai(default = #path)]),
                (Some(literal), _) => {
                    let name = format!("__kwik_default_{}_{}", ident.to_string().to_lowercase(), field);
                    let fn_ident = Ident::new(&name, Span::call_site());
                    default_fns.push(quote!(#[doc(hidden)] fn #fn_ident() -> #ty { #literal }));
                    quote!(#[serde(default = #name)] #[oai(default = #name)])
                }
                (None, Some(_)) => quote!(#[serde(default)]),
                (None, None) => quote!(),
            };
            let docs = &f.docs;
            let doc_validators = doc_validators(f);
            quote!(#(#docs)* #serde_default #doc_validators pub #field: #ty,)
        })
        .collect();
    let values = fields.iter().map(|f| {
        let field = &f.ident;
        let column = f.column();
        if f.args.email {
            // Stored as users' emails are: trimmed, domain lower-cased (validated before).
            return match option_inner(&f.ty) {
                Some(_) => quote!(values.set(#column, self.#field.as_deref().map(|v| ::kwik_crud::normalize_email(v)
                    .unwrap_or_else(|| ::std::borrow::ToOwned::to_owned(v))));),
                None => quote!(values.set(#column, ::kwik_crud::normalize_email(&self.#field)
                    .unwrap_or_else(|| ::std::clone::Clone::clone(&self.#field)));),
            };
        }
        quote!(values.set(#column, ::std::clone::Clone::clone(&self.#field));)
    });
    let refs = fields.iter().filter(|f| f.args.references.is_some()).map(|f| {
        let field = &f.ident;
        let column = f.column();
        match option_inner(&f.ty) {
            Some(_) => quote!(if let ::std::option::Option::Some(v) = self.#field { refs.push((#column, v)); }),
            None => quote!(refs.push((#column, self.#field));),
        }
    });
    let checks = fields.iter().map(|f| field_checks(f, false));
    let doc = format!("{what} [`{entity}`]: its client-writable fields.");
    quote! {
        #(#default_fns)*

        #[doc = #doc]
        #[derive(Debug, Clone, ::poem_openapi::Object, ::serde::Deserialize)]
        pub struct #ident {
            #(#struct_fields)*
        }

        impl ::kwik_crud::CreateInput for #ident {
            fn values(&self) -> ::kwik_crud::Values {
                #[allow(unused_mut)]
                let mut values = ::kwik_crud::Values::new();
                #(#values)*
                values
            }
            fn references(&self) -> ::std::vec::Vec<(&'static str, i64)> {
                #[allow(unused_mut)]
                let mut refs = ::std::vec::Vec::new();
                #(#refs)*
                refs
            }
        }

        impl ::kwik_core::Validate for #ident {
            fn validate(&self, _rules: &::kwik_core::Rules) -> ::std::vec::Vec<::kwik_core::ValidationIssue> {
                #[allow(unused_mut)]
                let mut issues = ::std::vec::Vec::new();
                #(#checks)*
                issues
            }
        }
    }
}

/// Bounds stated in the OpenAPI document (poem-openapi validators; the body itself is checked by
/// the generated `Validate`, with Kwik's texts): lengths and patterns of text fields, numeric
/// bounds of integer and float fields.
fn doc_validators(field: &FieldInfo) -> TokenStream2 {
    let mut bounds: Vec<TokenStream2> = Vec::new();
    if is_string(&field.ty) {
        if let Some(n) = &field.args.min_length {
            bounds.push(quote!(min_length = #n));
        }
        if let Some(n) = &field.args.max_length {
            bounds.push(quote!(max_length = #n));
        }
        if let Some(pattern) = &field.args.pattern {
            bounds.push(quote!(pattern = #pattern));
        }
    }
    if is_plain_number(&field.ty) {
        for (rule, text, _) in &field.args.bounds {
            let value: f64 = text.parse().unwrap_or_default();
            let value = syn::LitFloat::new(&format!("{value:?}"), Span::call_site());
            let exclusive = matches!(*rule, "Gt" | "Lt");
            let which = if matches!(*rule, "Ge" | "Gt") { format_ident!("minimum") } else { format_ident!("maximum") };
            bounds.push(quote!(#which(value = #value, exclusive = #exclusive)));
        }
    }
    if bounds.is_empty() { quote!() } else { quote!(#[oai(validator(#(#bounds),*))]) }
}

/// Checks of one input field (`optional`: the field is an update field): lengths, email,
/// pattern, numeric bounds, custom validator.
fn field_checks(field: &FieldInfo, optional: bool) -> TokenStream2 {
    let ident = &field.ident;
    let column = field.column();
    let mut body = Vec::new();
    if is_string(&field.ty) {
        if let Some(n) = &field.args.min_length {
            body.push(quote! {
                if value.chars().count() < #n {
                    issues.push(::kwik_core::ValidationIssue::new("string_too_short", &["body", #column],
                        format!("String should have at least {} characters", #n)).with_input(value.clone()));
                }
            });
        }
        if let Some(n) = &field.args.max_length {
            body.push(quote! {
                if value.chars().count() > #n {
                    issues.push(::kwik_core::ValidationIssue::new("string_too_long", &["body", #column],
                        format!("String should have at most {} characters", #n)).with_input(value.clone()));
                }
            });
        }
        if field.args.email {
            body.push(quote! {
                if !::kwik_crud::is_valid_email(value) {
                    issues.push(::kwik_core::ValidationIssue::new("value_error", &["body", #column],
                        "value is not a valid email address").with_input(value.clone()));
                }
            });
        }
        if let Some(pattern) = &field.args.pattern {
            body.push(quote!(::kwik_crud::check_pattern(&mut issues, #column, value, #pattern);));
        }
    }
    for (rule, text, _) in &field.args.bounds {
        let rule = format_ident!("{}", rule);
        body.push(quote!(::kwik_crud::check_bound(&mut issues, #column, value, ::kwik_crud::Bound::#rule, #text);));
    }
    if let Some(path) = &field.args.validate {
        let path: syn::Path = match syn::parse_str(&path.value()) {
            Ok(path) => path,
            Err(e) => return syn::Error::new_spanned(path, e).to_compile_error(),
        };
        body.push(quote!(::kwik_crud::check_custom(&mut issues, #column, value, #path(value));));
    }
    if body.is_empty() {
        return quote!();
    }
    let nullable = option_inner(&field.ty).is_some();
    let inner = option_inner(&field.ty).unwrap_or(&field.ty);
    match (optional, nullable) {
        (false, false) => quote!({ let value: &#inner = &self.#ident; #(#body)* }),
        (false, true) | (true, false) => {
            quote!(if let ::std::option::Option::Some(value) = &self.#ident { let value: &#inner = value; #(#body)* })
        }
        (true, true) => {
            quote!(if let ::poem_openapi::types::MaybeUndefined::Value(value) = &self.#ident { let value: &#inner = value; #(#body)* })
        }
    }
}
