//! `api(...)`: the generated endpoints of a resource, each optional with its own permission,
//! under one OpenAPI tag; plus the nested routes of a `nested(...)` reference.

use proc_macro2::TokenStream as TokenStream2;
use quote::{format_ident, quote};
use syn::{Ident, LitStr};

use crate::attrs::{ApiArgs, Permission};
use crate::entity::{FieldInfo, pascal};

/// `permission!(pub Name = ...)` for one endpoint's requirement.
fn permission_type(ident: &Ident, permission: &Permission) -> TokenStream2 {
    let alternatives = &permission.alternatives;
    if alternatives.len() > 1 {
        let names = alternatives.iter().map(|alt| alt[0].as_str());
        quote!(::kwik_http::permission!(pub #ident = #(#names)|*);)
    } else {
        let names = alternatives[0].iter().map(String::as_str);
        quote!(::kwik_http::permission!(pub #ident = #(#names),*);)
    }
}

/// The first paragraph of the struct's doc comment (the tag's description).
fn description(attrs: &[syn::Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("doc")) {
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. }) = &nv.value
        {
            let line = text.value().trim().to_owned();
            if line.is_empty() && !lines.is_empty() {
                break;
            }
            if !line.is_empty() {
                lines.push(line);
            }
        }
    }
    lines.join(" ")
}

/// `an Order`, `a Customer`.
fn with_article(name: &str) -> String {
    let vowel = name.chars().next().is_some_and(|c| "AEIOUaeiou".contains(c));
    format!("{} {name}", if vowel { "an" } else { "a" })
}

pub fn expand_api(
    name: &Ident,
    table: &LitStr,
    crud: &syn::Path,
    api: &ApiArgs,
    fields: &[FieldInfo],
    attrs: &[syn::Attribute],
) -> syn::Result<TokenStream2> {
    let path = api.path.as_ref().ok_or_else(|| syn::Error::new_spanned(name, "api(...) needs `path = \"...\"`"))?;
    let base = path.value().trim_end_matches('/').to_owned();
    if !base.starts_with('/') {
        return Err(syn::Error::new_spanned(path, "the path starts with `/`, e.g. \"/orders/\""));
    }
    let prefix = format!("{base}/");
    let collection = "/";
    let item = "/:id";
    let api_ident = format_ident!("{}Api", name);
    let tag_ident = format_ident!("{}Tag", name);
    let tag_name = api.tag.as_ref().map_or_else(|| pascal(&table.value()), LitStr::value);
    let tag_path = format!("{tag_ident}::Resource");
    let tag_doc = description(attrs);
    let module = format_ident!("__kwik_{}_permissions", name.to_string().to_lowercase());
    let create_ident = format_ident!("{}Create", name);
    let update_ident = format_ident!("{}Update", name);
    let table = table.value();
    let one = with_article(&name.to_string());
    let crud_value = quote!(&<#crud as ::std::default::Default>::default());

    let sortable: Vec<String> =
        fields.iter().filter(|f| f.args.sortable || f.args.primary_key).map(FieldInfo::column).collect();
    let filterable: Vec<String> =
        fields.iter().filter(|f| f.args.filterable || f.args.primary_key).map(FieldInfo::column).collect();
    let sorting_doc = format!("`field[:asc|:desc]`, comma-separated; fields: {}.", sortable.join(", "));
    let filter_doc = format!("`field:op:value`, repeatable; fields: {}.", filterable.join(", "));
    let list_params = quote! {
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
    };
    let list_tail = format!(
        " Sortable fields: {}. Filterable fields: {}. Filter operators (`filter=field:op:value`, repeatable): eq, \
         ne, lt, lte, gt, gte, in (comma-separated), contains, icontains, startswith (text only), isnull (true/false).",
        sortable.join(", "),
        filterable.join(", ")
    );

    let mut permissions = Vec::new();
    let mut operations = Vec::new();
    let mut nested_operations = Vec::new();
    let mut nested_prefix = String::new();
    let scope_note = "Rows outside the caller's scope are 404.";

    if let Some(permission) = &api.restore {
        permissions.push(permission_type(&format_ident!("Restore"), permission));
        let doc = format!(
            "Restore a deleted {one}\n\nRequires: {}. Brings a soft-deleted row back; a live row is returned as it \
             is. 409 when a unique value was taken meanwhile. 404 for an unknown id. {scope_note}",
            permission.describe()
        );
        operations.push(quote! {
            #[doc = #doc]
            #[oai(path = "/:id/restore", method = "post")]
            async fn restore(
                &self,
                state: ::poem::web::Data<&::kwik_http::AppState>,
                auth: ::kwik_http::Auth<#module::Restore>,
                id: ::poem_openapi::param::Path<i64>,
            ) -> ::kwik_http::ApiResult<::kwik_http::Tagged<#name>> {
                ::kwik_http::crud::restore(#crud_value, &state, &auth, id.0).await
            }
        });
    }
    if let Some(permission) = &api.list {
        permissions.push(permission_type(&format_ident!("List"), permission));
        let (deleted_param, deleted_note, call) = match &api.restore {
            Some(restore) => {
                let param_doc = format!("Also list soft-deleted rows (needs {}).", restore.describe());
                (
                    quote! {
                        #[doc = #param_doc]
                        include_deleted: ::poem_openapi::param::Query<::std::option::Option<bool>>,
                    },
                    format!(" With `include_deleted=true` (needs {}) deleted rows are listed too.", restore.describe()),
                    quote! {
                        if include_deleted.0.unwrap_or(false) {
                            ::kwik_http::crud::list_including_deleted::<_, #module::Restore>(#crud_value, &state, &auth, &raw).await
                        } else {
                            ::kwik_http::crud::list(#crud_value, &state, &auth, &raw).await
                        }
                    },
                )
            }
            None => (quote!(), String::new(), quote!(::kwik_http::crud::list(#crud_value, &state, &auth, &raw).await)),
        };
        let doc = format!("List {table}\n\nRequires: {}. {scope_note}{deleted_note}{list_tail}", permission.describe());
        operations.push(quote! {
            #[doc = #doc]
            #[oai(path = #collection, method = "get")]
            #[allow(clippy::too_many_arguments)]
            async fn list(
                &self,
                state: ::poem::web::Data<&::kwik_http::AppState>,
                auth: ::kwik_http::Auth<#module::List>,
                #list_params
                #deleted_param
            ) -> ::kwik_http::ApiResult<::poem_openapi::payload::Json<::kwik_listing::Paginated<#name>>> {
                let raw = ::kwik_http::raw_list_query!(skip, limit, sorting, filter_key, value, filter, cursor);
                #call
            }
        });
    }
    if let Some(permission) = &api.create {
        permissions.push(permission_type(&format_ident!("Create"), permission));
        let doc = format!(
            "Create {one}\n\nRequires: {}. A unique value already taken: 409. A reference to a row that \
             does not exist (or that the caller cannot read): 422 at that field.",
            permission.describe()
        );
        operations.push(quote! {
            #[doc = #doc]
            #[oai(path = #collection, method = "post")]
            async fn create(
                &self,
                state: ::poem::web::Data<&::kwik_http::AppState>,
                auth: ::kwik_http::Auth<#module::Create>,
                body: ::kwik_http::JsonBody<#create_ident>,
            ) -> ::kwik_http::ApiResult<::kwik_http::Tagged<#name>> {
                ::kwik_http::crud::create(#crud_value, &state, &auth, body.0).await
            }
        });
    }
    if let Some(permission) = &api.get {
        permissions.push(permission_type(&format_ident!("Get"), permission));
        let doc = format!("Get {one}\n\nRequires: {}. 404 for an unknown id. {scope_note}", permission.describe());
        operations.push(quote! {
            #[doc = #doc]
            #[oai(path = #item, method = "get")]
            async fn get(
                &self,
                state: ::poem::web::Data<&::kwik_http::AppState>,
                auth: ::kwik_http::Auth<#module::Get>,
                id: ::poem_openapi::param::Path<i64>,
                /// An `ETag` of this entity: 304 without a body when it is still current.
                #[oai(name = "If-None-Match")]
                if_none_match: ::poem_openapi::param::Header<::std::option::Option<String>>,
            ) -> ::kwik_http::ApiResult<::kwik_http::Tagged<#name>> {
                ::kwik_http::crud::get(#crud_value, &state, &auth, id.0, if_none_match.0.as_deref()).await
            }
        });
    }
    if let Some(permission) = &api.update {
        permissions.push(permission_type(&format_ident!("Update"), permission));
        let doc = format!(
            "Update {one}\n\nRequires: {}. Only the fields sent change. 404 for an unknown id. {scope_note}",
            permission.describe()
        );
        operations.push(quote! {
            #[doc = #doc]
            #[oai(path = #item, method = "put")]
            async fn update(
                &self,
                state: ::poem::web::Data<&::kwik_http::AppState>,
                auth: ::kwik_http::Auth<#module::Update>,
                id: ::poem_openapi::param::Path<i64>,
                /// The `ETag` the client read: 412 when the entity changed since (nothing is written).
                #[oai(name = "If-Match")]
                if_match: ::poem_openapi::param::Header<::std::option::Option<String>>,
                body: ::kwik_http::JsonBody<#update_ident>,
            ) -> ::kwik_http::ApiResult<::kwik_http::Tagged<#name>> {
                ::kwik_http::crud::update(#crud_value, &state, &auth, id.0, body.0, if_match.0.as_deref()).await
            }
        });
    }
    if let Some(permission) = &api.delete {
        permissions.push(permission_type(&format_ident!("Delete"), permission));
        let doc = format!(
            "Delete {one}\n\nRequires: {}. Returns it as it was. 404 for an unknown id; 409 \
             (`still_referenced`) when other rows still reference it. {scope_note}",
            permission.describe()
        );
        operations.push(quote! {
            #[doc = #doc]
            #[oai(path = #item, method = "delete")]
            async fn delete(
                &self,
                state: ::poem::web::Data<&::kwik_http::AppState>,
                auth: ::kwik_http::Auth<#module::Delete>,
                id: ::poem_openapi::param::Path<i64>,
                /// The `ETag` the client read: 412 when the entity changed since (nothing is deleted).
                #[oai(name = "If-Match")]
                if_match: ::poem_openapi::param::Header<::std::option::Option<String>>,
            ) -> ::kwik_http::ApiResult<::kwik_http::Tagged<#name>> {
                ::kwik_http::crud::delete(#crud_value, &state, &auth, id.0, if_match.0.as_deref()).await
            }
        });
    }

    if let Some(parent) = fields.iter().find(|f| f.args.nested.is_some()) {
        let nested = parent.args.nested.as_ref().ok_or_else(|| syn::Error::new_spanned(name, "nested"))?;
        let target_text = parent.args.references.as_ref().map(LitStr::value).unwrap_or_default();
        let target: syn::Path = syn::parse_str(&target_text)?;
        let parent_one = with_article(&target.segments.last().map(|s| s.ident.to_string()).unwrap_or_default());
        let segment = nested.name.as_ref().map_or_else(|| table.clone(), LitStr::value);
        let parent_base = nested.path.value().trim_end_matches('/').to_owned();
        nested_prefix = format!("{parent_base}/");
        // poem-openapi drops a trailing slash here; kwik-http serves both forms.
        let nested_path = format!("/:id/{segment}");
        let column = parent.column();
        if let Some(permission) = &nested.list {
            permissions.push(permission_type(&format_ident!("NestedList"), permission));
            let doc = format!(
                "List the {table} of {parent_one}\n\nRequires: {}. 404 when the parent row does not \
                 exist or is outside the caller's scope. {scope_note}{list_tail}",
                permission.describe()
            );
            nested_operations.push(quote! {
                #[doc = #doc]
                #[oai(path = #nested_path, method = "get")]
                #[allow(clippy::too_many_arguments)]
                async fn list_nested(
                    &self,
                    state: ::poem::web::Data<&::kwik_http::AppState>,
                    auth: ::kwik_http::Auth<#module::NestedList>,
                    /// The parent row's id.
                    id: ::poem_openapi::param::Path<i64>,
                    #list_params
                ) -> ::kwik_http::ApiResult<::poem_openapi::payload::Json<::kwik_listing::Paginated<#name>>> {
                    let raw = ::kwik_http::raw_list_query!(skip, limit, sorting, filter_key, value, filter, cursor);
                    ::kwik_http::crud::list_nested::<_, #target>(#crud_value, &state, &auth, #column, id.0, &raw).await
                }
            });
        }
        if let Some(permission) = &nested.create {
            permissions.push(permission_type(&format_ident!("NestedCreate"), permission));
            let doc = format!(
                "Create {one} for {parent_one}\n\nRequires: {}. The parent key comes from the \
                 path. 404 when the parent row does not exist or is outside the caller's scope.",
                permission.describe()
            );
            let (body_ty, convert) = if parent.args.create {
                let nested_ident = format_ident!("{}NestedCreate", name);
                (quote!(#nested_ident), quote!(body.0.into_create(id.0)))
            } else {
                (quote!(#create_ident), quote!(body.0))
            };
            nested_operations.push(quote! {
                #[doc = #doc]
                #[oai(path = #nested_path, method = "post")]
                async fn create_nested(
                    &self,
                    state: ::poem::web::Data<&::kwik_http::AppState>,
                    auth: ::kwik_http::Auth<#module::NestedCreate>,
                    /// The parent row's id.
                    id: ::poem_openapi::param::Path<i64>,
                    body: ::kwik_http::JsonBody<#body_ty>,
                ) -> ::kwik_http::ApiResult<::kwik_http::Tagged<#name>> {
                    ::kwik_http::crud::create_nested::<_, #target>(#crud_value, &state, &auth, #column, id.0, #convert).await
                }
            });
        }
    }
    if operations.is_empty() && nested_operations.is_empty() {
        return Err(syn::Error::new_spanned(
            path,
            "api(...) names no endpoint: give read, list, get, create, update or delete",
        ));
    }

    let api_doc = format!(
        "The generated endpoints of [`{name}`] (`#[derive(Entity)]`), tagged `{tag_name}` in the OpenAPI document."
    );
    let tag_enum_doc = format!(
        "The OpenAPI tag `{tag_name}` of [`{name}`]'s operations. Tag hand-written operations of the \
         resource with it: `#[OpenApi(tag = \"{tag_ident}::Resource\")]`."
    );
    let core_ident = format_ident!("__Kwik{}CoreApi", name);
    let nested_ident = format_ident!("__Kwik{}NestedApi", name);
    let api_types = if nested_operations.is_empty() {
        quote! {
            #[doc = #api_doc]
            #[derive(Debug, Clone, Copy, Default)]
            pub struct #api_ident;

            #[::poem_openapi::OpenApi(prefix_path = #prefix, tag = #tag_path)]
            impl #api_ident {
                #(#operations)*
            }
        }
    } else {
        quote! {
            #[doc = #api_doc]
            pub type #api_ident = (#core_ident, #nested_ident);

            #[doc(hidden)]
            #[derive(Debug, Clone, Copy, Default)]
            pub struct #core_ident;

            #[::poem_openapi::OpenApi(prefix_path = #prefix, tag = #tag_path)]
            impl #core_ident {
                #(#operations)*
            }

            #[doc(hidden)]
            #[derive(Debug, Clone, Copy, Default)]
            pub struct #nested_ident;

            #[::poem_openapi::OpenApi(prefix_path = #nested_prefix, tag = #tag_path)]
            impl #nested_ident {
                #(#nested_operations)*
            }
        }
    };
    Ok(quote! {
        #[allow(non_snake_case)]
        #[doc(hidden)]
        pub mod #module {
            #(#permissions)*
        }

        #[doc = #tag_enum_doc]
        #[derive(::poem_openapi::Tags)]
        pub enum #tag_ident {
            #[doc = #tag_doc]
            #[oai(rename = #tag_name)]
            Resource,
        }

        #api_types
    })
}
