//! `/tenants/...`: tenant administration for multi-tenancy (ours; Kwik has none). Platform
//! operations: they need `tenant_manage`, which a tenant's own administrators should not hold.

use chrono::{DateTime, Utc};
use kwik_core::Error;
use kwik_listing::Paginated;
use kwik_rbac::{Tenant, normalize, tenants};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::schemas::{BuiltinTags, PermissionDefinition, RoleUserAssignment};
use crate::auth::Auth;
use crate::body::JsonBody;
use crate::error::ApiResult;
use crate::listing::list_spec;
use crate::permission;
use crate::state::AppState;

permission!(/** `tenant_manage`: create and rename tenants, move users between them. */ pub TenantManage = "tenant_manage");

/// A tenant.
#[derive(Debug, Clone, Object)]
pub struct TenantProfile {
    /// Tenant id (`1` is the `default` tenant every row belongs to unless assigned another).
    pub id: i64,
    /// Unique name, trimmed and lower-cased.
    pub name: String,
    /// When it was created (UTC).
    pub creation_time: DateTime<Utc>,
}

impl From<Tenant> for TenantProfile {
    fn from(t: Tenant) -> Self {
        Self { id: t.id, name: t.name, creation_time: t.creation_time }
    }
}

/// Tenant endpoints.
#[derive(Debug, Clone, Copy, Default)]
pub struct TenantsApi;

#[OpenApi(prefix_path = "/tenants/", tag = "BuiltinTags::Tenants")]
impl TenantsApi {
    /// List tenants
    ///
    /// Requires: `tenant_manage`. Sort and filter fields: `id`, `name`.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        _auth: Auth<TenantManage>,
        /// Rows to skip (default 0, not with `cursor`).
        skip: Query<Option<crate::ListSkip>>,
        /// Page size (default 100, at most 1000).
        limit: Query<Option<crate::ListLimit>>,
        /// `field[:asc|:desc]`, comma-separated; fields: id, name.
        sorting: Query<Option<crate::ListSorting>>,
        /// Kwik's equality filter: field name (with `value`).
        filter_key: Query<Option<String>>,
        /// Kwik's equality filter: value (with `filter_key`).
        value: Query<Option<String>>,
        /// `field:op:value`, repeatable.
        filter: Query<crate::ListFilters>,
        /// Keyset pagination: empty for the first page, then the previous page's `next_cursor`.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Paginated<TenantProfile>>> {
        let raw = crate::raw_list_query!(skip, limit, sorting, filter_key, value, filter, cursor);
        let spec = list_spec(&state, &tenants::LIST, &raw)?;
        let (total, rows) = tenants::list(&mut state.db.clone(), &spec).await?;
        Ok(Json(spec.paginate(total, rows.into_iter().map(Into::into).collect())?))
    }

    /// Create a tenant
    ///
    /// Requires: `tenant_manage`. The name is trimmed and lower-cased; a taken name: 409.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: Auth<TenantManage>,
        body: JsonBody<PermissionDefinition>,
    ) -> ApiResult<Json<TenantProfile>> {
        let name = normalize::name(&body.name, &["body", "name"]).map_err(Error::validation)?;
        let mut ctx = auth.write_scope(&state.db).await?;
        let tenant = tenants::create(&mut ctx, &name).await?;
        ctx.commit().await?;
        Ok(Json(tenant.into()))
    }

    /// Get a tenant
    ///
    /// Requires: `tenant_manage`. 404 for an unknown id.
    #[oai(path = "/:tenant_id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        _auth: Auth<TenantManage>,
        tenant_id: Path<i64>,
    ) -> ApiResult<Json<TenantProfile>> {
        Ok(Json(tenants::get_if_exist(&mut state.db.clone(), tenant_id.0).await?.into()))
    }

    /// Rename a tenant
    ///
    /// Requires: `tenant_manage`. 404 for an unknown id; 409 for a taken name.
    #[oai(path = "/:tenant_id", method = "put")]
    async fn rename(
        &self,
        state: Data<&AppState>,
        auth: Auth<TenantManage>,
        tenant_id: Path<i64>,
        body: JsonBody<PermissionDefinition>,
    ) -> ApiResult<Json<TenantProfile>> {
        let name = normalize::name(&body.name, &["body", "name"]).map_err(Error::validation)?;
        let mut ctx = auth.write_scope(&state.db).await?;
        let tenant = tenants::rename(&mut ctx, tenant_id.0, &name).await?;
        ctx.commit().await?;
        Ok(Json(tenant.into()))
    }

    /// Move a user to a tenant
    ///
    /// Requires: `tenant_manage`. Takes effect on the user's next request (their tokens stay
    /// valid; what they reach changes). 404 for an unknown tenant or user.
    #[oai(path = "/:tenant_id/users", method = "post")]
    async fn assign_user(
        &self,
        state: Data<&AppState>,
        auth: Auth<TenantManage>,
        tenant_id: Path<i64>,
        body: JsonBody<RoleUserAssignment>,
    ) -> ApiResult<Json<TenantProfile>> {
        let mut ctx = auth.write_scope(&state.db).await?;
        tenants::assign_user(&mut ctx, tenant_id.0, body.user_id).await?;
        let tenant = tenants::get_if_exist(&mut ctx.tx, tenant_id.0).await?;
        ctx.commit().await?;
        Ok(Json(tenant.into()))
    }
}
