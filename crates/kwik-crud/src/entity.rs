//! Describing a resource: [`Entity`] and its client-writable inputs.

use kwik_core::DbRow;
use kwik_listing::ListSchema;
use sea_query::Expr;

/// A stored resource: its table, columns, primary key, list allow-list and inputs.
/// Implement it with `#[derive(Entity)]` (kwik-macros) rather than by hand.
pub trait Entity: DbRow + Clone + Send + Sync + 'static {
    /// The create payload: only client-writable fields.
    type Create: CreateInput;
    /// The update payload: only client-updatable fields, each optional (only sent fields change).
    type Update: UpdateInput;
    /// Table name (also used in Kwik's 404 text: `Entity [<table>] with id=N does not exist`).
    const TABLE: &'static str;
    /// Primary-key column (an `i64`).
    const PRIMARY_KEY: &'static str;
    /// Every column read into the entity, in order.
    const COLUMNS: &'static [&'static str];
    /// Whether the table has Kwik's `RecordInfoMixin` audit columns (`creator_user_id`,
    /// `last_modifier_user_id`, `creation_time`, `last_modification_time`), set by the framework.
    const AUDITED: bool;
    /// The list allow-list (sortable and filterable fields).
    fn list_schema() -> &'static ListSchema;
    /// The primary-key value.
    fn id(&self) -> i64;
}

/// Column values of a create payload.
pub trait CreateInput: Send + Sync {
    /// `(column, value)` for every field, defaults applied.
    fn values(&self) -> Vec<(&'static str, Expr)>;
}

/// Column values of an update payload.
pub trait UpdateInput: Send + Sync {
    /// `(column, value)` for the fields that were sent.
    fn values(&self) -> Vec<(&'static str, Expr)>;
}
