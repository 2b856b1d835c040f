//! `/permissions/...` (CONTRACT §3).

use kwik_core::Error;
use kwik_listing::Paginated;
use kwik_rbac::{normalize, permissions};
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;

use super::permission_sets::{PermissionCreate, PermissionDelete, PermissionRead, PermissionUpdate, RoleRead};
use super::schemas::{BuiltinTags, PermissionDefinition, PermissionProfile, RoleProfile};
use crate::auth::Auth;
use crate::body::JsonBody;
use crate::error::ApiResult;
use crate::listing::list_spec;
use crate::state::AppState;

/// Permission endpoints.
#[derive(Debug, Clone, Copy, Default)]
pub struct PermissionsApi;

type PermissionResult = ApiResult<Json<PermissionProfile>>;

#[OpenApi(prefix_path = "/permissions/", tag = "BuiltinTags::Permissions")]
impl PermissionsApi {
    /// List permissions
    ///
    /// Requires: `permission_read`. Sort and filter fields: `id`, `name`.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        _auth: Auth<PermissionRead>,
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
    ) -> ApiResult<Json<Paginated<PermissionProfile>>> {
        let spec = list_spec(
            &state,
            &permissions::LIST,
            &crate::raw_list_query!(skip, limit, sorting, filter_key, value, filter, cursor),
        )?;
        let (total, rows) = permissions::list(&mut state.db.clone(), &spec).await?;
        Ok(Json(spec.paginate(total, rows.into_iter().map(Into::into).collect())?))
    }

    /// Create a permission
    ///
    /// Requires: `permission_create`. The name is trimmed and lower-cased; a taken name: 409.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: Auth<PermissionCreate>,
        body: JsonBody<PermissionDefinition>,
    ) -> PermissionResult {
        let name = normalize::name(&body.name, &["body", "name"]).map_err(Error::validation)?;
        let mut ctx = auth.write_scope(&state.db).await?;
        let permission = permissions::create(&mut ctx, &name).await?;
        ctx.commit().await?;
        Ok(Json(permission.into()))
    }

    /// Get a permission
    ///
    /// Requires: `permission_read`. 404 for an unknown id.
    #[oai(path = "/:permission_id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        _auth: Auth<PermissionRead>,
        permission_id: Path<i64>,
    ) -> PermissionResult {
        Ok(Json(permissions::get_if_exist(&mut state.db.clone(), permission_id.0).await?.into()))
    }

    /// Rename a permission
    ///
    /// Requires: `permission_update`. A taken name: 409 (Kwik accepts it: bug §9.3). A permission
    /// the application's code checks (built-in or declared by a module): 409, since checks go by
    /// name and a rename would hand its power to whatever takes the name next.
    #[oai(path = "/:permission_id", method = "put")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: Auth<PermissionUpdate>,
        permission_id: Path<i64>,
        body: JsonBody<PermissionDefinition>,
    ) -> PermissionResult {
        let name = normalize::name(&body.name, &["body", "name"]).map_err(Error::validation)?;
        let mut ctx = auth.write_scope(&state.db).await?;
        let current = permissions::get_if_exist(&mut ctx.tx, permission_id.0).await?;
        if current.name != name {
            refuse_if_declared(&state, &current.name, "renamed")?;
        }
        let permission = permissions::update(&mut ctx, permission_id.0, &name).await?;
        ctx.commit().await?;
        Ok(Json(permission.into()))
    }

    /// Roles that grant a permission
    ///
    /// Requires: `permission_read`, `role_read`. 404 for an unknown id.
    #[oai(path = "/:permission_id/roles", method = "get")]
    async fn roles(
        &self,
        state: Data<&AppState>,
        _auth: Auth<(PermissionRead, RoleRead)>,
        permission_id: Path<i64>,
    ) -> ApiResult<Json<Vec<RoleProfile>>> {
        let mut db = state.db.clone();
        permissions::get_if_exist(&mut db, permission_id.0).await?;
        Ok(Json(permissions::roles(&mut db, permission_id.0).await?.into_iter().map(Into::into).collect()))
    }

    /// Roles that do not grant a permission
    ///
    /// Requires: `permission_read`, `role_read`. 404 for an unknown id.
    #[oai(path = "/:permission_id/available-roles", method = "get")]
    async fn available_roles(
        &self,
        state: Data<&AppState>,
        _auth: Auth<(PermissionRead, RoleRead)>,
        permission_id: Path<i64>,
    ) -> ApiResult<Json<Vec<RoleProfile>>> {
        let mut db = state.db.clone();
        permissions::get_if_exist(&mut db, permission_id.0).await?;
        Ok(Json(permissions::available_roles(&mut db, permission_id.0).await?.into_iter().map(Into::into).collect()))
    }

    /// Revoke a permission from every role
    ///
    /// Requires: `permission_delete`. The permission itself is kept. 404 for an unknown id.
    #[oai(path = "/:permission_id/roles", method = "delete")]
    async fn clear_roles(
        &self,
        state: Data<&AppState>,
        auth: Auth<PermissionDelete>,
        permission_id: Path<i64>,
    ) -> PermissionResult {
        let mut ctx = auth.write_scope(&state.db).await?;
        let permission = permissions::clear_roles(&mut ctx, permission_id.0).await?;
        ctx.commit().await?;
        Ok(Json(permission.into()))
    }

    /// Delete a permission
    ///
    /// Requires: `permission_delete`. Its role links are purged first. Returns it as it was. A
    /// permission the application's code checks: 409.
    #[oai(path = "/:permission_id", method = "delete")]
    async fn delete(
        &self,
        state: Data<&AppState>,
        auth: Auth<PermissionDelete>,
        permission_id: Path<i64>,
    ) -> PermissionResult {
        let mut ctx = auth.write_scope(&state.db).await?;
        let current = permissions::get_if_exist(&mut ctx.tx, permission_id.0).await?;
        refuse_if_declared(&state, &current.name, "deleted")?;
        let permission = permissions::delete(&mut ctx, permission_id.0).await?;
        ctx.commit().await?;
        Ok(Json(permission.into()))
    }
}

/// A 409 for a permission name the application's code refers to (see
/// [`AppState::declared_permissions`]).
fn refuse_if_declared(state: &AppState, name: &str, doing: &str) -> Result<(), Error> {
    if state.declared_permissions.contains(&name) {
        return Err(Error::Conflict(format!(
            "Permission '{name}' is used by the application and cannot be {doing}; revoke it from roles instead"
        )));
    }
    Ok(())
}
