//! Describing a resource: [`Entity`], its client-writable inputs, the [`Values`] written, and
//! its [`Reference`]s to other resources.

use std::future::Future;
use std::pin::Pin;

use kwik_core::{Context, DbRow, Result};
use kwik_listing::ListSchema;
use sea_query::Value;

use crate::crud::AutoCrud;

/// A stored resource: its table, columns, primary key, list allow-list, inputs, references and
/// the [`AutoCrud`] that serves it. Implement it with `#[derive(Entity)]` (kwik-macros) rather
/// than by hand.
pub trait Entity: DbRow + Clone + Send + Sync + 'static {
    /// The create payload: only client-writable fields.
    type Create: CreateInput;
    /// The update payload: only client-updatable fields, each optional (only sent fields change).
    type Update: UpdateInput;
    /// The resource's AutoCrud (its scoping rules and hooks). Foreign-key checks and nested
    /// routes of *other* resources go through it, so a row outside the caller's scope is missing
    /// for them too.
    type Crud: AutoCrud<Entity = Self> + Default;
    /// Table name (also used in Kwik's 404 text: `Entity [<table>] with id=N does not exist`).
    const TABLE: &'static str;
    /// Primary-key column (an `i64`).
    const PRIMARY_KEY: &'static str;
    /// Every column read into the entity, in order (computed fields are not columns).
    const COLUMNS: &'static [&'static str];
    /// What the entity expects of each column (name, kind, nullability), for
    /// [`check_table`](crate::check_table); empty for hand-written entities that do not say.
    const COLUMN_SPECS: &'static [ColumnSpec] = &[];
    /// Whether the table has Kwik's `RecordInfoMixin` audit columns (`creator_user_id`,
    /// `last_modifier_user_id`, `creation_time`, `last_modification_time`), set by the framework.
    const AUDITED: bool;
    /// Whether the table has `deleted_at` and `deleter_user_id` (`#[kwik(soft_delete)]`):
    /// `delete` sets them, and every other operation skips such rows.
    const SOFT_DELETE: bool = false;
    /// Whether rows belong to a tenant (`#[kwik(tenant_scoped)]`, a `tenant_id` column): with
    /// multi-tenancy on, every statement is restricted to the scope's tenant and inserts take it
    /// from the scope.
    const TENANT_SCOPED: bool = false;
    /// Whether every write through AutoCrud records an audit-log entry (`#[kwik(audit_log)]`):
    /// create, update, delete, restore and actions ([`AutoCrud::act`]), in the write's
    /// transaction.
    const AUDIT_LOG: bool = false;
    /// Fields recorded as changed without their values (`#[kwik(audit_log = "redact")]`, and
    /// fields whose name says they hold a secret: `password`, `secret`, `token`, `hash`).
    const AUDIT_REDACTED: &'static [&'static str] = &[];
    /// The list allow-list (sortable and filterable fields).
    fn list_schema() -> &'static ListSchema;
    /// The primary-key value.
    fn id(&self) -> i64;
    /// Foreign keys declared with `#[kwik(references = "Target")]`.
    fn references() -> &'static [Reference] {
        &[]
    }
    /// Fills computed fields (`#[kwik(computed = "fn")]`) after a row is read or written.
    fn finish(&mut self) {}
    /// `(field, JSON value)` of every field the audit log compares: the columns but the primary
    /// key, the `RecordInfoMixin` fields (the entry has its own time and user) and fields
    /// declared `#[kwik(audit_log = "exclude")]`.
    fn audit_fields(&self) -> Vec<(&'static str, serde_json::Value)> {
        Vec::new()
    }
}

/// A boxed future borrowing a [`Context`], as stored in [`Reference::exists`].
pub type ScopeFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// A foreign key of a resource: `column` holds the id of a row of `table`.
#[derive(Clone, Copy)]
pub struct Reference {
    /// The referencing column (a field of this resource).
    pub column: &'static str,
    /// The referenced table (the target resource's `TABLE`).
    pub table: &'static str,
    /// Whether the target row exists *within the caller's read scope* (the target's
    /// `AutoCrud::base_query`); [`crate::exists_in`] for the target entity.
    pub exists: for<'a> fn(&'a mut Context, i64) -> ScopeFuture<'a, bool>,
}

impl std::fmt::Debug for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reference").field("column", &self.column).field("table", &self.table).finish_non_exhaustive()
    }
}

/// Column values of a create payload.
pub trait CreateInput: Send + Sync {
    /// `(column, value)` for every field, defaults applied.
    fn values(&self) -> Values;
    /// `(column, id)` of every reference field that holds an id (checked before the insert).
    fn references(&self) -> Vec<(&'static str, i64)> {
        Vec::new()
    }
}

/// Column values of an update payload.
pub trait UpdateInput: Send + Sync {
    /// `(column, value)` for the fields that were sent.
    fn values(&self) -> Values;
    /// `(column, id)` of every reference field sent with an id (checked before the update).
    fn references(&self) -> Vec<(&'static str, i64)> {
        Vec::new()
    }
}

/// The `(column, value)` pairs an insert or update writes, in order; setting a column twice
/// keeps the last value. Hooks see them and may add server-set values (DRF's
/// `perform_create(serializer.save(owner=...))`):
///
/// ```
/// use kwik_crud::Values;
/// let mut values = Values::new();
/// values.set("quantity", 3_i64).set("order_id", 7_i64).set("quantity", 4_i64);
/// assert_eq!(values.get_i64("quantity"), Some(4));
/// assert_eq!(values.columns().collect::<Vec<_>>(), ["quantity", "order_id"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Values(Vec<(&'static str, Value)>);

impl Values {
    /// No values.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `column` to `value` (replacing an earlier value of the same column).
    pub fn set(&mut self, column: &'static str, value: impl Into<Value>) -> &mut Self {
        let value = value.into();
        match self.0.iter_mut().find(|(c, _)| *c == column) {
            Some(slot) => slot.1 = value,
            None => self.0.push((column, value)),
        }
        self
    }

    /// The value set for `column`, if any.
    pub fn get(&self, column: &str) -> Option<&Value> {
        self.0.iter().find(|(c, _)| *c == column).map(|(_, v)| v)
    }

    /// The value set for `column` as an integer, if it is one (and not NULL).
    pub fn get_i64(&self, column: &str) -> Option<i64> {
        match self.get(column)? {
            Value::BigInt(Some(v)) => Some(*v),
            Value::Int(Some(v)) => Some(i64::from(*v)),
            Value::SmallInt(Some(v)) => Some(i64::from(*v)),
            Value::TinyInt(Some(v)) => Some(i64::from(*v)),
            Value::BigUnsigned(Some(v)) => i64::try_from(*v).ok(),
            Value::Unsigned(Some(v)) => Some(i64::from(*v)),
            _ => None,
        }
    }

    /// Removes `column`, returning its value.
    pub fn remove(&mut self, column: &str) -> Option<Value> {
        let index = self.0.iter().position(|(c, _)| *c == column)?;
        Some(self.0.remove(index).1)
    }

    /// The columns set, in order.
    pub fn columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|(c, _)| *c)
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds every value of `other` (its values win).
    pub fn extend(&mut self, other: Values) {
        for (column, value) in other.0 {
            self.set(column, value);
        }
    }

    /// The pairs, in order.
    pub fn into_pairs(self) -> Vec<(&'static str, Value)> {
        self.0
    }
}

impl From<Vec<(&'static str, Value)>> for Values {
    fn from(pairs: Vec<(&'static str, Value)>) -> Self {
        let mut values = Self::new();
        for (column, value) in pairs {
            values.set(column, value);
        }
        values
    }
}

/// The kind of value a column holds, as the entity reads it (a family of SQL types: both
/// databases' spellings of it are accepted by [`check_table`](crate::check_table)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// An integer (`INTEGER`, `BIGINT`, ...).
    Int,
    /// A float (`REAL`, `DOUBLE PRECISION`).
    Float,
    /// A boolean.
    Bool,
    /// Text (also text enums).
    Text,
    /// A UTC timestamp (`DATETIME` on SQLite, `TIMESTAMPTZ` on PostgreSQL).
    DateTime,
    /// A UUID (`UUID`; `BLOB` or `TEXT` on SQLite).
    Uuid,
    /// An exact decimal (`NUMERIC`; `TEXT` or `NUMERIC` on SQLite).
    Decimal,
    /// JSON (`JSONB`/`JSON`; `TEXT` on SQLite).
    Json,
    /// Anything else: only the name and nullability are checked.
    Other,
}

/// One column as the entity expects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Column name.
    pub name: &'static str,
    /// What it holds.
    pub kind: ColumnKind,
    /// Whether the field is an `Option` (the column may hold NULL).
    pub nullable: bool,
    /// The primary key (its nullability is not checked: SQLite reports `INTEGER PRIMARY KEY` as
    /// nullable).
    pub primary_key: bool,
}
