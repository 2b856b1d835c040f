//! The audit log: one row per change, written in the change's own transaction, so a request
//! that rolls back leaves no entry and a committed one always has its entry.
//!
//! AutoCrud writes entries for resources declared `#[kwik(audit_log)]`; the built-in users, roles,
//! permissions, API keys and impersonation write theirs through [`record`] too. Hand-written
//! actions record theirs the same way:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> kwik_core::Result<()> {
//! use kwik_core::audit::{self, AuditEntry};
//! use kwik_core::{Context, Db, settings::PoolSettings};
//! use serde_json::json;
//!
//! let db = Db::connect("sqlite::memory:", &PoolSettings::default()).await?;
//! # let Db::Sqlite(pool) = &db else { unreachable!() };
//! # sqlx::query("CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,
//! #   user_id INTEGER, impersonator_id INTEGER, tenant_id INTEGER, request_id TEXT, action TEXT NOT NULL, resource TEXT NOT NULL,
//! #   resource_id INTEGER, changes TEXT NOT NULL)").execute(pool).await?;
//! let mut ctx = Context::begin(&db, Some(7)).await?;
//! let entry = AuditEntry::new("send_invoice", "orders", Some(42)).change("invoice_number", json!(null), json!("F-1"));
//! audit::record(&mut ctx, entry).await?;
//! ctx.commit().await?;
//! # Ok(()) }
//! ```
//!
//! An entry's `changes` is a JSON object `{"field": {"before": ..., "after": ...}}`: every field
//! of a created row (`before` null), every field of a hard-deleted one (`after` null), the fields
//! an update or action changed. Redacted fields show [`REDACTED`] on both sides; excluded and
//! secret fields are not there at all.

use sea_query::{Expr, Query};
use serde_json::{Map, Value};

use crate::context::Context;
use crate::db::Queries;
use crate::error::{Error, Result};

/// The audit log's table (a migration of the built-in module).
pub const TABLE: &str = "audit_log";

/// What a redacted field's values read as in an entry.
pub const REDACTED: &str = "[redacted]";

/// One audit-log entry before it is written: the action, the resource (its table name, `users`,
/// `orders`), the row's id when there is one, and the changed fields. When, who, the
/// impersonator and the request id come from the [`Context`] at [`record`].
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// `create`, `update`, `delete`, `restore`, or an action's name (`confirm`,
    /// `password_change`, `impersonation_start`).
    pub action: String,
    /// The resource: its table name.
    pub resource: String,
    /// The row acted on, when the action has one.
    pub resource_id: Option<i64>,
    /// `{"field": {"before": ..., "after": ...}}`.
    pub changes: Map<String, Value>,
}

impl AuditEntry {
    /// An entry without changes yet.
    pub fn new(action: impl Into<String>, resource: impl Into<String>, resource_id: Option<i64>) -> Self {
        Self { action: action.into(), resource: resource.into(), resource_id, changes: Map::new() }
    }

    /// Adds a changed field with its values before and after.
    #[must_use]
    pub fn change(mut self, field: &str, before: Value, after: Value) -> Self {
        let mut pair = Map::new();
        pair.insert("before".to_owned(), before);
        pair.insert("after".to_owned(), after);
        self.changes.insert(field.to_owned(), Value::Object(pair));
        self
    }

    /// Adds the fields whose value differs between `before` and `after` (`(field, value)` pairs as
    /// an entity's `audit_fields` gives them; a field missing on one side counts as `null`).
    /// Fields named in `redacted` are recorded as changed with [`REDACTED`] for both values.
    #[must_use]
    pub fn diff(mut self, before: &[(&str, Value)], after: &[(&str, Value)], redacted: &[&str]) -> Self {
        let value_in = |side: &[(&str, Value)], field: &str| {
            side.iter().find(|(name, _)| *name == field).map_or(Value::Null, |(_, v)| v.clone())
        };
        let fields = before.iter().chain(after).map(|(name, _)| *name);
        let mut seen: Vec<&str> = Vec::new();
        for field in fields {
            if seen.contains(&field) {
                continue;
            }
            seen.push(field);
            let (old, new) = (value_in(before, field), value_in(after, field));
            if old == new {
                continue;
            }
            self = if redacted.contains(&field) {
                self.change(field, Value::from(REDACTED), Value::from(REDACTED))
            } else {
                self.change(field, old, new)
            };
        }
        self
    }
}

/// Writes `entry` in the scope's transaction with the time, the scope's user, impersonator,
/// tenant and request id. On an autocommit scope ([`Context::system`]) the entry commits on its own.
///
/// # Errors
/// Database errors (the caller's transaction then rolls back with its change).
pub async fn record(ctx: &mut Context, entry: AuditEntry) -> Result<()> {
    let changes = Value::Object(entry.changes);
    let changes = match ctx.backend() {
        // JSONB on PostgreSQL; SQLite stores the JSON text.
        crate::Backend::Postgres => sea_query::Value::Json(Some(Box::new(changes))),
        crate::Backend::Sqlite => sea_query::Value::from(changes.to_string()),
    };
    let mut insert = Query::insert()
        .into_table(TABLE)
        .columns([
            "created_at",
            "user_id",
            "impersonator_id",
            "tenant_id",
            "request_id",
            "action",
            "resource",
            "resource_id",
            "changes",
        ])
        .to_owned();
    insert
        .values([
            Expr::val(crate::now()),
            Expr::val(ctx.user_id),
            Expr::val(ctx.impersonator()),
            Expr::val(ctx.tenant_id),
            Expr::val(ctx.request_id.as_deref().map(str::to_owned)),
            Expr::val(entry.action),
            Expr::val(entry.resource),
            Expr::val(entry.resource_id),
            Expr::val(changes),
        ])
        .map_err(|e| Error::Internal(format!("bad audit insert: {e}")))?;
    ctx.tx.execute(&insert).await.map(drop)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn diff_keeps_changed_fields_only_and_redacts() {
        let before = [("name", json!("a")), ("email", json!("a@x.io")), ("pin", json!("1234"))];
        let after = [("name", json!("b")), ("email", json!("a@x.io")), ("pin", json!("9999")), ("new", json!(1))];
        let entry = AuditEntry::new("update", "things", Some(1)).diff(&before, &after, &["pin"]);
        assert_eq!(
            Value::Object(entry.changes),
            json!({
                "name": {"before": "a", "after": "b"},
                "pin": {"before": REDACTED, "after": REDACTED},
                "new": {"before": null, "after": 1},
            })
        );
    }

    #[test]
    fn an_unchanged_redacted_field_is_not_mentioned() {
        let side = [("pin", json!("1234"))];
        let entry = AuditEntry::new("update", "things", Some(1)).diff(&side, &side, &["pin"]);
        assert!(entry.changes.is_empty());
    }
}
