//! `GET /audit-log/`: the audit log, with the usual listing (ours; Kwik has none).

use chrono::{DateTime, SecondsFormat, Utc};
use kwik_listing::Paginated;
use kwik_rbac::audit_log::{self, AuditLogEntry};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::schemas::BuiltinTags;
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::listing::list_spec;
use crate::permission;
use crate::state::AppState;

permission!(/** `audit_log_read` */ pub AuditLogRead = "audit_log_read");

/// A timestamp as the API writes it (RFC 3339, UTC, `Z`), for values recorded in entries.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// One change recorded in the audit log.
#[derive(Debug, Clone, Object)]
pub struct AuditLogEntryProfile {
    /// Entry id; grows with time.
    pub id: i64,
    /// When the change was made (UTC).
    pub created_at: DateTime<Utc>,
    /// Who made it; `null` for system work (bootstrap, seeds, commands).
    pub user_id: Option<i64>,
    /// Who was impersonating `user_id` when it was made, if anyone.
    pub impersonator_id: Option<i64>,
    /// The request's `X-Request-Id` (also in the access log line).
    pub request_id: Option<String>,
    /// `create`, `update`, `delete`, `restore`, or an action's name (`confirm`,
    /// `password_change`, `password_reset`, `permission_grant`, `impersonation_start`, ...).
    pub action: String,
    /// The resource (its table name: `users`, `roles`, `orders`, ...).
    pub resource: String,
    /// The row acted on.
    pub resource_id: Option<i64>,
    /// The changed fields: `{"field": {"before": ..., "after": ...}}`; every field of a created
    /// row (`before` null) or a deleted one (`after` null). Redacted fields read `"[redacted]"`;
    /// secrets are never recorded.
    pub changes: serde_json::Value,
}

impl From<AuditLogEntry> for AuditLogEntryProfile {
    fn from(e: AuditLogEntry) -> Self {
        Self {
            id: e.id,
            created_at: e.created_at,
            user_id: e.user_id,
            impersonator_id: e.impersonator_id,
            request_id: e.request_id,
            action: e.action,
            resource: e.resource,
            resource_id: e.resource_id,
            changes: e.changes.0,
        }
    }
}

/// The audit-log endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditLogApi;

#[OpenApi(prefix_path = "/audit-log/", tag = "BuiltinTags::AuditLog")]
impl AuditLogApi {
    /// List audit-log entries
    ///
    /// Requires: `audit_log_read`. With multi-tenancy on, the entries of the caller's tenant only.
    /// Newest first unless `sorting` says otherwise. Sort fields:
    /// `id`, `created_at`; filter fields: those and `user_id`, `impersonator_id`, `request_id`,
    /// `action`, `resource`, `resource_id` (a time range: `filter=created_at:gte:2026-01-01`
    /// and `filter=created_at:lt:2026-02-01`).
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: Auth<AuditLogRead>,
        /// Rows to skip (default 0, not with `cursor`).
        skip: Query<Option<crate::ListSkip>>,
        /// Page size (default 100, at most 1000).
        limit: Query<Option<crate::ListLimit>>,
        /// `field[:asc|:desc]`, comma-separated; fields: id, created_at. Default `id:desc`.
        sorting: Query<Option<crate::ListSorting>>,
        /// Kwik's equality filter: field name (with `value`).
        filter_key: Query<Option<String>>,
        /// Kwik's equality filter: value (with `filter_key`).
        value: Query<Option<String>>,
        /// `field:op:value`, repeatable.
        filter: Query<crate::ListFilters>,
        /// Keyset pagination: empty for the first page, then the previous page's `next_cursor`.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Paginated<AuditLogEntryProfile>>> {
        let mut raw = crate::raw_list_query!(skip, limit, sorting, filter_key, value, filter, cursor);
        if raw.sorting.as_deref().is_none_or(str::is_empty) {
            raw.sorting = Some("id:desc".to_owned());
        }
        let spec = list_spec(&state, &audit_log::LIST, &raw)?;
        let (total, rows) = audit_log::list_in(&mut state.db.clone(), &spec, auth.tenant_id).await?;
        Ok(Json(spec.paginate(total, rows.into_iter().map(Into::into).collect())?))
    }
}
