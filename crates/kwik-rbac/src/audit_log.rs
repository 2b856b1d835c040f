//! Reading and pruning the `audit_log` table (entries are written with
//! [`kwik_core::audit::record`]).

use chrono::{DateTime, Utc};
use kwik_core::{Executor, Queries, Result};
use kwik_listing::{FieldSpec, FieldType, ListSchema, ListSpec};
use sea_query::{Expr, ExprTrait, Query, SelectStatement};

const TABLE: &str = kwik_core::audit::TABLE;
const COLUMNS: [&str; 10] = [
    "id",
    "created_at",
    "user_id",
    "impersonator_id",
    "tenant_id",
    "request_id",
    "action",
    "resource",
    "resource_id",
    "changes",
];

/// One stored entry.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditLogEntry {
    /// Primary key; grows with time.
    pub id: i64,
    /// When the change was made (UTC, microseconds).
    pub created_at: DateTime<Utc>,
    /// Who made it (`None` for system work: bootstrap, seeds, commands).
    pub user_id: Option<i64>,
    /// Who was impersonating `user_id`, if anyone.
    pub impersonator_id: Option<i64>,
    /// The tenant the change was made in (multi-tenancy on).
    pub tenant_id: Option<i64>,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
    /// `create`, `update`, `delete`, `restore` or an action's name.
    pub action: String,
    /// The resource (table name).
    pub resource: String,
    /// The row acted on.
    pub resource_id: Option<i64>,
    /// `{"field": {"before": ..., "after": ...}}`.
    pub changes: sqlx::types::Json<serde_json::Value>,
}

/// The allow-list of `GET /audit-log/`: sort on `id` and `created_at`; filter on those and on
/// `user_id`, `impersonator_id`, `request_id`, `action`, `resource`, `resource_id`.
pub static LIST: ListSchema = ListSchema::new(
    "AuditLogEntry",
    TABLE,
    "id",
    &[
        FieldSpec::new("id", FieldType::Int),
        FieldSpec::new("created_at", FieldType::DateTime),
        FieldSpec::new("user_id", FieldType::Int).not_sortable(),
        FieldSpec::new("impersonator_id", FieldType::Int).not_sortable(),
        FieldSpec::new("request_id", FieldType::Text).not_sortable(),
        FieldSpec::new("action", FieldType::Text).not_sortable(),
        FieldSpec::new("resource", FieldType::Text).not_sortable(),
        FieldSpec::new("resource_id", FieldType::Int).not_sortable(),
    ],
);

fn select() -> SelectStatement {
    Query::select().columns(COLUMNS.map(|c| (TABLE, c))).from(TABLE).to_owned()
}

/// A page of entries and the number of entries matching the filters.
///
/// # Errors
/// Database errors.
pub async fn list(exec: &mut impl Executor, spec: &ListSpec) -> Result<(i64, Vec<AuditLogEntry>)> {
    list_in(exec, spec, None).await
}

/// [`list`] within one tenant (`None`: every entry).
///
/// # Errors
/// Database errors.
pub async fn list_in(
    exec: &mut impl Executor,
    spec: &ListSpec,
    tenant: Option<i64>,
) -> Result<(i64, Vec<AuditLogEntry>)> {
    crate::statements::list_page_where(
        exec,
        spec,
        TABLE,
        select(),
        tenant.map(|t| Expr::col((TABLE, "tenant_id")).eq(t)),
    )
    .await
}

/// Deletes the entries made before `cutoff`; returns how many (the retention command).
///
/// # Errors
/// Database errors.
pub async fn prune(exec: &mut impl Executor, cutoff: DateTime<Utc>) -> Result<u64> {
    exec.execute(&Query::delete().from_table(TABLE).and_where(Expr::col("created_at").lt(cutoff)).to_owned()).await
}
