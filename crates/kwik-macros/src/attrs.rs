//! Parsing `#[kwik(...)]` attributes of `#[derive(Entity)]`.

use syn::{DeriveInput, Lit, LitInt, LitStr};

/// One permission requirement of an endpoint: `"a"`, `"a, b"` (all) or `"a | b"` (any).
pub struct Permission {
    /// Alternatives, each a list of names required together.
    pub alternatives: Vec<Vec<String>>,
}

impl Permission {
    fn parse(literal: &LitStr) -> syn::Result<Self> {
        let text = literal.value();
        let any: Vec<&str> = text.split('|').map(str::trim).collect();
        let alternatives: Vec<Vec<String>> = if any.len() > 1 {
            any.iter().map(|name| vec![(*name).to_owned()]).collect()
        } else {
            vec![text.split(',').map(|name| name.trim().to_owned()).collect()]
        };
        if alternatives.iter().flatten().any(|name| name.is_empty() || name.contains([',', '|', ' '])) {
            return Err(syn::Error::new_spanned(
                literal,
                "a permission is \"name\", \"a, b\" (all of them) or \"a | b\" (any one of them)",
            ));
        }
        Ok(Self { alternatives })
    }

    /// `` `a` and `b` `` / `` `a` or `b` `` for documentation.
    pub fn describe(&self) -> String {
        self.alternatives
            .iter()
            .map(|alt| alt.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" and "))
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// `api(...)`: which endpoints to generate, with their permissions.
#[derive(Default)]
pub struct ApiArgs {
    pub path: Option<LitStr>,
    pub list: Option<Permission>,
    pub get: Option<Permission>,
    pub create: Option<Permission>,
    pub update: Option<Permission>,
    pub delete: Option<Permission>,
    pub restore: Option<Permission>,
    pub tag: Option<LitStr>,
}

/// Struct-level attributes.
#[derive(Default)]
#[allow(clippy::struct_excessive_bools)] // one flag per attribute keyword
pub struct StructArgs {
    pub table: Option<LitStr>,
    pub audit: bool,
    pub soft_delete: bool,
    pub audit_log: bool,
    pub tenant_scoped: bool,
    pub crud: Option<LitStr>,
    pub api: Option<ApiArgs>,
}

/// `nested(path = "/customers/", name = "orders", list = "..", create = "..")` on a reference
/// field: `GET`/`POST <path>{id}/<name>/`, each generated when its permission is given.
pub struct NestedArgs {
    pub path: LitStr,
    pub name: Option<LitStr>,
    pub list: Option<Permission>,
    pub create: Option<Permission>,
}

/// Field-level attributes.
#[derive(Default)]
#[allow(clippy::struct_excessive_bools)] // one flag per attribute keyword
pub struct FieldArgs {
    pub primary_key: bool,
    pub create: bool,
    pub update: bool,
    pub sortable: bool,
    pub filterable: bool,
    pub email: bool,
    pub text_enum: bool,
    /// A function path (`"default_credit_limit"`) or a literal (`true`, `0`).
    pub default: Option<Lit>,
    pub min_length: Option<LitInt>,
    pub max_length: Option<LitInt>,
    pub bounds: Vec<(&'static str, String, proc_macro2::Span)>,
    pub pattern: Option<LitStr>,
    pub validate: Option<LitStr>,
    pub references: Option<LitStr>,
    pub nested: Option<NestedArgs>,
    pub computed: Option<LitStr>,
    pub audit_log: Option<AuditLogField>,
}

/// `audit_log = "exclude" | "redact"` on a field of an audited resource.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum AuditLogField {
    /// Never in an entry.
    Exclude,
    /// In an entry when it changed, without its values.
    Redact,
}

pub fn parse_struct_args(input: &DeriveInput) -> syn::Result<StructArgs> {
    let mut args = StructArgs::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("kwik")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                args.table = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("audit") {
                args.audit = true;
            } else if meta.path.is_ident("soft_delete") {
                args.soft_delete = true;
            } else if meta.path.is_ident("audit_log") {
                args.audit_log = true;
            } else if meta.path.is_ident("tenant_scoped") {
                args.tenant_scoped = true;
            } else if meta.path.is_ident("crud") {
                args.crud = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("api") {
                let mut api = ApiArgs::default();
                meta.parse_nested_meta(|inner| {
                    let value: LitStr = inner.value()?.parse()?;
                    let key = inner.path.get_ident().map(ToString::to_string).unwrap_or_default();
                    match key.as_str() {
                        "path" => api.path = Some(value),
                        "tag" => api.tag = Some(value),
                        "read" => {
                            api.list = Some(Permission::parse(&value)?);
                            api.get = Some(Permission::parse(&value)?);
                        }
                        "list" => api.list = Some(Permission::parse(&value)?),
                        "get" => api.get = Some(Permission::parse(&value)?),
                        "create" => api.create = Some(Permission::parse(&value)?),
                        "update" => api.update = Some(Permission::parse(&value)?),
                        "delete" => api.delete = Some(Permission::parse(&value)?),
                        "restore" => api.restore = Some(Permission::parse(&value)?),
                        _ => {
                            return Err(
                                inner.error("expected path, read, list, get, create, update, delete, restore or tag")
                            );
                        }
                    }
                    Ok(())
                })?;
                args.api = Some(api);
            } else {
                return Err(
                    meta.error("expected table, audit, soft_delete, audit_log, tenant_scoped, crud or api(...)")
                );
            }
            Ok(())
        })?;
    }
    Ok(args)
}

/// The text of a numeric literal (`0`, `-1.5`, `"0.01"`).
fn number_text(lit: &Lit) -> syn::Result<String> {
    let text = match lit {
        Lit::Int(int) => int.base10_digits().to_owned(),
        Lit::Float(float) => float.base10_digits().to_owned(),
        Lit::Str(text) => text.value(),
        other => return Err(syn::Error::new_spanned(other, "expected a number")),
    };
    if text.parse::<f64>().is_err() {
        return Err(syn::Error::new_spanned(lit, "expected a number"));
    }
    Ok(text)
}

pub fn parse_field_args(field: &syn::Field) -> syn::Result<FieldArgs> {
    let mut args = FieldArgs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("kwik")) {
        attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            match key.as_str() {
                "primary_key" => args.primary_key = true,
                "create" => args.create = true,
                "update" => args.update = true,
                "sortable" => args.sortable = true,
                "filterable" => args.filterable = true,
                "email" => args.email = true,
                "text_enum" => args.text_enum = true,
                "default" => args.default = Some(meta.value()?.parse()?),
                "min_length" => args.min_length = Some(meta.value()?.parse()?),
                "max_length" => args.max_length = Some(meta.value()?.parse()?),
                "pattern" => args.pattern = Some(meta.value()?.parse()?),
                "validate" => args.validate = Some(meta.value()?.parse()?),
                "references" => args.references = Some(meta.value()?.parse()?),
                "computed" => args.computed = Some(meta.value()?.parse()?),
                "audit_log" => {
                    let value: LitStr = meta.value()?.parse()?;
                    args.audit_log = Some(match value.value().as_str() {
                        "exclude" => AuditLogField::Exclude,
                        "redact" => AuditLogField::Redact,
                        _ => {
                            return Err(syn::Error::new_spanned(
                                value,
                                "expected audit_log = \"exclude\" or \"redact\"",
                            ));
                        }
                    });
                }
                "minimum" | "exclusive_minimum" | "maximum" | "exclusive_maximum" => {
                    let rule = match key.as_str() {
                        "minimum" => "Ge",
                        "exclusive_minimum" => "Gt",
                        "maximum" => "Le",
                        _ => "Lt",
                    };
                    let lit: Lit = meta.value()?.parse()?;
                    args.bounds.push((rule, number_text(&lit)?, lit.span()));
                }
                "nested" => {
                    let (mut path, mut name, mut list, mut create) = (None, None, None, None);
                    meta.parse_nested_meta(|inner| {
                        let value: LitStr = inner.value()?.parse()?;
                        if inner.path.is_ident("path") {
                            path = Some(value);
                        } else if inner.path.is_ident("name") {
                            name = Some(value);
                        } else if inner.path.is_ident("list") {
                            list = Some(Permission::parse(&value)?);
                        } else if inner.path.is_ident("create") {
                            create = Some(Permission::parse(&value)?);
                        } else {
                            return Err(inner.error("expected path, name, list or create"));
                        }
                        Ok(())
                    })?;
                    let path = path.ok_or_else(|| meta.error("nested(...) needs path = \"/parents/\""))?;
                    if list.is_none() && create.is_none() {
                        return Err(
                            meta.error("nested(...) needs list = \"permission\" and/or create = \"permission\"")
                        );
                    }
                    args.nested = Some(NestedArgs { path, name, list, create });
                }
                _ => {
                    return Err(meta.error(
                        "expected primary_key, create, update, sortable, filterable, email, text_enum, default, \
                         min_length, max_length, minimum, exclusive_minimum, maximum, exclusive_maximum, pattern, \
                         validate, references, nested(...), computed or audit_log",
                    ));
                }
            }
            Ok(())
        })?;
    }
    Ok(args)
}
