//! A resource's allow-list: which fields a list query may sort and filter on, and how.

use std::fmt::Write as _;

/// The column type of a field, which decides how query-string values are parsed and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// A 64-bit integer (`INTEGER`/`BIGINT`), bound as `i64`.
    Int,
    /// A double-precision float (`REAL`/`DOUBLE PRECISION`), bound as `f64`; NaN and infinities are refused.
    Float,
    /// A boolean (`BOOLEAN` on PostgreSQL, `INTEGER` 0/1 on SQLite). Query values accept
    /// `true/false/1/0/yes/no`, case-insensitively.
    Bool,
    /// Text (`TEXT`/`VARCHAR`). The only type that supports `contains`, `icontains` and `startswith`.
    Text,
    /// A UTC timestamp (`TIMESTAMPTZ` on PostgreSQL, sqlx's text form on SQLite), bound as
    /// `DateTime<Utc>`. Query values are RFC 3339 (`2024-05-01T12:00:00Z`), a naive date-time taken
    /// as UTC (`2024-05-01T12:00:00`), or a date (`2024-05-01`, midnight UTC).
    DateTime,
    /// A UUID, bound as `Uuid`.
    Uuid,
    /// An exact decimal (`NUMERIC` on PostgreSQL; `NUMERIC` or `TEXT` on SQLite). Values are validated
    /// as decimal numbers, bound as text and compared and sorted through `CAST(.. AS NUMERIC)` on both
    /// sides, so comparisons are numeric on both backends (a no-op cast on PostgreSQL; on SQLite the
    /// cast yields an INTEGER or a REAL, so precision there is that of an `f64`, about 15 digits).
    Decimal,
}

impl FieldType {
    /// A short human name, used in error messages and in [`describe`].
    pub fn label(self) -> &'static str {
        match self {
            Self::Int => "integer",
            Self::Float => "number",
            Self::Bool => "boolean",
            Self::Text => "text",
            Self::DateTime => "date-time",
            Self::Uuid => "uuid",
            Self::Decimal => "decimal",
        }
    }

    /// What a value of this type must look like, used in error messages.
    pub(crate) fn expectation(self) -> &'static str {
        match self {
            Self::Int => "an integer",
            Self::Float => "a finite number",
            Self::Bool => "a boolean (true/false/1/0/yes/no)",
            Self::Text => "text",
            Self::DateTime => "an RFC 3339 date-time such as 2024-05-01T12:00:00Z",
            Self::Uuid => "a UUID",
            Self::Decimal => "a decimal number such as 12.50",
        }
    }
}

/// One field of a resource as seen by list queries.
///
/// `name` is what clients write in `sorting`, `filter_key` and `filter` (and the key of the field in
/// the JSON rows given to [`ListSpec::next_cursor`](crate::ListSpec::next_cursor)); `column` is the
/// database column. Only these identifiers ever reach the SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// The public name used in the query string and in JSON rows.
    pub name: &'static str,
    /// The database column.
    pub column: &'static str,
    /// The column type.
    pub ty: FieldType,
    /// Whether `sorting` may name this field.
    pub sortable: bool,
    /// Whether `filter_key` and `filter` may name this field.
    pub filterable: bool,
}

impl FieldSpec {
    /// A field that is both sortable and filterable, whose column has the same name.
    pub const fn new(name: &'static str, ty: FieldType) -> Self {
        Self { name, column: name, ty, sortable: true, filterable: true }
    }

    /// The same field on another column.
    #[must_use]
    pub const fn column(mut self, column: &'static str) -> Self {
        self.column = column;
        self
    }

    /// The same field, not sortable.
    #[must_use]
    pub const fn not_sortable(mut self) -> Self {
        self.sortable = false;
        self
    }

    /// The same field, not filterable.
    #[must_use]
    pub const fn not_filterable(mut self) -> Self {
        self.filterable = false;
        self
    }
}

/// A resource's allow-list for list queries: the table, its primary key and its fields.
///
/// Declare it as a `static` so that a [`ListSpec`](crate::ListSpec) can refer to it:
///
/// ```
/// use kwik_listing::{FieldSpec, FieldType, ListSchema};
///
/// static ROLES: ListSchema = ListSchema::new(
///     "Role",
///     "roles",
///     "id",
///     &[
///         FieldSpec::new("id", FieldType::Int),
///         FieldSpec::new("name", FieldType::Text),
///         FieldSpec::new("is_active", FieldType::Bool),
///     ],
/// );
/// assert_eq!(ROLES.max_limit, 1000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListSchema {
    /// The model name used in Kwik's messages (`Invalid sort field 'f' for model User`).
    pub model: &'static str,
    /// The table; columns in the generated SQL are qualified with it.
    pub table: &'static str,
    /// The **field name** of the primary key (it must appear in `fields`, sortable or not). It is
    /// the default order and the last tiebreak of cursor pages.
    pub primary_key: &'static str,
    /// The fields.
    pub fields: &'static [FieldSpec],
    /// The largest `limit` accepted (422 above it).
    pub max_limit: u64,
}

impl ListSchema {
    /// The default for [`max_limit`](Self::max_limit).
    pub const DEFAULT_MAX_LIMIT: u64 = 1000;

    /// A schema with the default `max_limit` (1000).
    pub const fn new(
        model: &'static str,
        table: &'static str,
        primary_key: &'static str,
        fields: &'static [FieldSpec],
    ) -> Self {
        Self { model, table, primary_key, fields, max_limit: Self::DEFAULT_MAX_LIMIT }
    }

    /// The same schema with another `max_limit`.
    #[must_use]
    pub const fn with_max_limit(mut self, max_limit: u64) -> Self {
        self.max_limit = max_limit;
        self
    }

    /// The field called `name`, if any.
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.fields.iter().find(|field| field.name == name)
    }

    pub(crate) fn sortable_field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.field(name).filter(|field| field.sortable)
    }

    pub(crate) fn filterable_field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.field(name).filter(|field| field.filterable)
    }
}

/// A markdown description of what a resource's list operation accepts: sortable fields, filterable
/// fields with their operators, and the pagination parameters. Meant for the parameter or operation
/// description in the OpenAPI document.
pub fn describe(schema: &ListSchema) -> String {
    let mut out = String::new();
    let sortable: Vec<String> = schema.fields.iter().filter(|f| f.sortable).map(|f| format!("`{}`", f.name)).collect();
    let _ = writeln!(
        out,
        "**Sorting** (`sorting`): comma-separated `field[:asc|:desc]` (direction in lowercase, \
         default `asc`), e.g. `sorting={}:desc`. Default order: `{}` ascending.",
        schema.fields.iter().find(|f| f.sortable).map_or(schema.primary_key, |f| f.name),
        schema.primary_key,
    );
    if sortable.is_empty() {
        let _ = writeln!(out, "No field is sortable.");
    } else {
        let _ = writeln!(out, "Sortable fields: {}.", sortable.join(", "));
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "**Filtering**: `filter_key` + `value` (equality on one field), and/or repeatable \
         `filter=field:op:value` (all conditions must hold). Operators: `eq`, `ne`, `lt`, `lte`, `gt`, \
         `gte`, `in` (comma-separated values), `isnull` (`true`/`false`); on text fields also \
         `contains`, `icontains` (case-insensitive) and `startswith`. Booleans accept \
         `true/false/1/0/yes/no`; date-times are RFC 3339 (encode `+` as `%2B`)."
    );
    let filterable: Vec<&FieldSpec> = schema.fields.iter().filter(|f| f.filterable).collect();
    if filterable.is_empty() {
        let _ = writeln!(out, "No field is filterable.");
    } else {
        out.push('\n');
        out.push_str("| Field | Type | Operators |\n|---|---|---|\n");
        for field in filterable {
            let ops = if field.ty == FieldType::Text {
                "eq, ne, lt, lte, gt, gte, in, contains, icontains, startswith, isnull"
            } else {
                "eq, ne, lt, lte, gt, gte, in, isnull"
            };
            let _ = writeln!(out, "| `{}` | {} | {} |", field.name, field.ty.label(), ops);
        }
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "**Pagination**: `skip` (default 0) and `limit` (default 100, at most {}); `total` counts \
         every row matching the filters. For keyset pagination send `cursor=` (empty) for the first \
         page, then the `next_cursor` of each response; `skip` cannot be combined with a cursor, and \
         a cursor is only valid with the sorting it was issued for.",
        schema.max_limit
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    static FIELDS: &[FieldSpec] = &[
        FieldSpec::new("id", FieldType::Int),
        FieldSpec::new("name", FieldType::Text),
        FieldSpec::new("secret", FieldType::Text).not_sortable().not_filterable(),
        FieldSpec::new("created", FieldType::DateTime).column("created_at").not_filterable(),
    ];
    static SCHEMA: ListSchema = ListSchema::new("Thing", "things", "id", FIELDS).with_max_limit(50);

    #[test]
    fn lookups_respect_flags() {
        assert!(SCHEMA.sortable_field("secret").is_none());
        assert!(SCHEMA.filterable_field("secret").is_none());
        assert!(SCHEMA.field("secret").is_some());
        assert_eq!(SCHEMA.sortable_field("created").map(|f| f.column), Some("created_at"));
        assert!(SCHEMA.filterable_field("created").is_none());
        assert!(SCHEMA.field("nope").is_none());
    }

    #[test]
    fn describe_lists_fields_and_operators() {
        let text = describe(&SCHEMA);
        assert!(text.contains("Sortable fields: `id`, `name`, `created`."), "{text}");
        assert!(text.contains("| `name` | text | eq, ne, lt, lte, gt, gte, in, contains,"), "{text}");
        assert!(text.contains("| `id` | integer | eq, ne, lt, lte, gt, gte, in, isnull |"), "{text}");
        assert!(!text.contains("`secret`"), "{text}");
        assert!(!text.contains("| `created`"), "{text}");
        assert!(text.contains("at most 50"), "{text}");
    }
}
