//! `/roles/...` (CONTRACT §3).

use kwik_core::{Context, Error};
use kwik_listing::Paginated;
use kwik_rbac::{normalize, permissions, roles};
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;

use super::permission_sets::{
    PermissionDelete, PermissionRead, PermissionUpdate, RoleCreate, RoleDelete, RoleRead, RoleUpdate, UserDelete,
    UserRead, UserUpdate,
};
use super::schemas::{
    BuiltinTags, PermissionProfile, RoleDefinition, RolePermissionAssignment, RoleProfile,
    RoleUpdate as RoleUpdateBody, RoleUserAssignment, UserProfile,
};
use crate::auth::Auth;
use crate::body::JsonBody;
use crate::error::ApiResult;
use crate::listing::list_spec;
use crate::state::AppState;

/// Role endpoints.
#[derive(Debug, Clone, Copy, Default)]
pub struct RolesApi;

type RoleResult = ApiResult<Json<RoleProfile>>;

#[OpenApi(prefix_path = "/roles/", tag = "BuiltinTags::Roles")]
impl RolesApi {
    /// List roles
    ///
    /// Requires: `role_read`. Sort and filter fields: `id`, `name`, `is_active`.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        _auth: Auth<RoleRead>,
        /// Rows to skip (default 0, not with `cursor`).
        skip: Query<Option<crate::ListSkip>>,
        /// Page size (default 100, at most 1000).
        limit: Query<Option<crate::ListLimit>>,
        /// `field[:asc|:desc]`, comma-separated; fields: id, name, is_active.
        sorting: Query<Option<crate::ListSorting>>,
        /// Kwik's equality filter: field name (with `value`).
        filter_key: Query<Option<String>>,
        /// Kwik's equality filter: value (with `filter_key`).
        value: Query<Option<String>>,
        /// `field:op:value`, repeatable.
        filter: Query<crate::ListFilters>,
        /// Keyset pagination: empty for the first page, then the previous page's `next_cursor`.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Paginated<RoleProfile>>> {
        let spec = list_spec(
            &state,
            &roles::LIST,
            &crate::raw_list_query!(skip, limit, sorting, filter_key, value, filter, cursor),
        )?;
        let (total, rows) = roles::list(&mut state.db.clone(), &spec).await?;
        Ok(Json(spec.paginate(total, rows.into_iter().map(Into::into).collect())?))
    }

    /// Create a role
    ///
    /// Requires: `role_create`. The name is trimmed and lower-cased; a taken name: 409.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: Auth<RoleCreate>,
        body: JsonBody<RoleDefinition>,
    ) -> RoleResult {
        let name = normalize::name(&body.name, &["body", "name"]).map_err(Error::validation)?;
        let mut ctx = auth.write_scope(&state.db).await?;
        let role = roles::create(&mut ctx, &name, body.is_active).await?;
        ctx.commit().await?;
        Ok(Json(role.into()))
    }

    /// Get a role
    ///
    /// Requires: `role_read`. 404 for an unknown id.
    #[oai(path = "/:role_id", method = "get")]
    async fn get(&self, state: Data<&AppState>, _auth: Auth<RoleRead>, role_id: Path<i64>) -> RoleResult {
        Ok(Json(roles::get_if_exist(&mut state.db.clone(), role_id.0).await?.into()))
    }

    /// Update a role
    ///
    /// Requires: `role_update`; activating a role also needs every permission it grants (403).
    /// Renaming to a taken name: 409 (Kwik accepts it: bug §9.3). The admin role cannot be
    /// renamed or deactivated (409).
    #[oai(path = "/:role_id", method = "put")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: Auth<RoleUpdate>,
        role_id: Path<i64>,
        body: JsonBody<RoleUpdateBody>,
    ) -> RoleResult {
        let name = match &body.name {
            Some(name) => Some(normalize::name(name, &["body", "name"]).map_err(Error::validation)?),
            None => None,
        };
        let mut ctx = auth.write_scope(&state.db).await?;
        if body.is_active == Some(true) {
            // Activation grants the role's permissions to its members.
            super::rank::holds_role(&mut ctx.tx, &auth, role_id.0).await?;
        }
        let role = roles::update(&mut ctx, role_id.0, name.as_deref(), body.is_active).await?;
        ctx.commit().await?;
        Ok(Json(role.into()))
    }

    /// Delete a role
    ///
    /// Requires: `role_delete`. Detaches its users and permissions and deletes it, atomically
    /// (Kwik answers 500 when it has any: bug §9.4). Returns the role as it was.
    #[oai(path = "/:role_id", method = "delete")]
    async fn delete(&self, state: Data<&AppState>, auth: Auth<RoleDelete>, role_id: Path<i64>) -> RoleResult {
        let mut ctx = auth.write_scope(&state.db).await?;
        let role = roles::delete(&mut ctx, role_id.0).await?;
        ctx.commit().await?;
        Ok(Json(role.into()))
    }

    /// Permissions of a role
    ///
    /// Requires: `role_read`, `permission_read`. 404 for an unknown role.
    #[oai(path = "/:role_id/permissions", method = "get")]
    async fn permissions(
        &self,
        state: Data<&AppState>,
        _auth: Auth<(RoleRead, PermissionRead)>,
        role_id: Path<i64>,
    ) -> ApiResult<Json<Vec<PermissionProfile>>> {
        let mut db = state.db.clone();
        roles::get_if_exist(&mut db, role_id.0).await?;
        Ok(Json(roles::permissions(&mut db, role_id.0).await?.into_iter().map(Into::into).collect()))
    }

    /// Permissions a role does not have
    ///
    /// Requires: `role_read`, `permission_read`. 404 for an unknown role.
    #[oai(path = "/:role_id/available-permissions", method = "get")]
    async fn available_permissions(
        &self,
        state: Data<&AppState>,
        _auth: Auth<(RoleRead, PermissionRead)>,
        role_id: Path<i64>,
    ) -> ApiResult<Json<Vec<PermissionProfile>>> {
        let mut db = state.db.clone();
        roles::get_if_exist(&mut db, role_id.0).await?;
        Ok(Json(roles::available_permissions(&mut db, role_id.0).await?.into_iter().map(Into::into).collect()))
    }

    /// Users of a role
    ///
    /// Requires: `user_read`, `role_read`. 404 for an unknown role.
    #[oai(path = "/:role_id/users", method = "get")]
    async fn users(
        &self,
        state: Data<&AppState>,
        auth: Auth<(UserRead, RoleRead)>,
        role_id: Path<i64>,
    ) -> ApiResult<Json<Vec<UserProfile>>> {
        let mut db = state.db.clone();
        roles::get_if_exist(&mut db, role_id.0).await?;
        Ok(Json(roles::users(&mut db, role_id.0, auth.tenant_id).await?.into_iter().map(Into::into).collect()))
    }

    /// Users not in a role
    ///
    /// Requires: `user_read`, `role_read`. Each non-member once (Kwik repeats members: bug §9.5).
    /// Like Kwik, an unknown role id is not looked up: every user is listed.
    #[oai(path = "/:role_id/available-users", method = "get")]
    async fn available_users(
        &self,
        state: Data<&AppState>,
        auth: Auth<(UserRead, RoleRead)>,
        role_id: Path<i64>,
    ) -> ApiResult<Json<Vec<UserProfile>>> {
        let users = roles::available_users(&mut state.db.clone(), role_id.0, auth.tenant_id).await?;
        Ok(Json(users.into_iter().map(Into::into).collect()))
    }

    /// Grant a permission to a role
    ///
    /// Requires: `role_update`, `permission_update`, and the permission itself (403: one cannot
    /// grant what one does not hold). Idempotent. 404 for the role, then the permission.
    #[oai(path = "/:role_id/permissions", method = "post")]
    async fn add_permission(
        &self,
        state: Data<&AppState>,
        auth: Auth<(RoleUpdate, PermissionUpdate)>,
        role_id: Path<i64>,
        body: JsonBody<RolePermissionAssignment>,
    ) -> RoleResult {
        let mut ctx = auth.write_scope(&state.db).await?;
        roles::get_if_exist(&mut ctx.tx, role_id.0).await?;
        let permission = permissions::get_if_exist(&mut ctx.tx, body.permission_id).await?;
        super::rank::holds_all(&auth, [permission.name.as_str()])?;
        roles::add_permission(&mut ctx, role_id.0, body.permission_id).await?;
        finish(ctx, role_id.0).await
    }

    /// Revoke a permission from a role
    ///
    /// Requires: `role_update`, `permission_update`. A no-op when not granted. 404 for the role or permission.
    #[oai(path = "/:role_id/permissions/:permission_id", method = "delete")]
    async fn remove_permission(
        &self,
        state: Data<&AppState>,
        auth: Auth<(RoleUpdate, PermissionUpdate)>,
        role_id: Path<i64>,
        permission_id: Path<i64>,
    ) -> RoleResult {
        let mut ctx = auth.write_scope(&state.db).await?;
        roles::get_if_exist(&mut ctx.tx, role_id.0).await?;
        permissions::get_if_exist(&mut ctx.tx, permission_id.0).await?;
        roles::remove_permission(&mut ctx, role_id.0, permission_id.0).await?;
        finish(ctx, role_id.0).await
    }

    /// Add a user to a role
    ///
    /// Requires: `role_update`, `user_update`, and every permission the role grants (403: one
    /// cannot grant what one does not hold). Idempotent. 404 for the role, then the user.
    #[oai(path = "/:role_id/users", method = "post")]
    async fn add_user(
        &self,
        state: Data<&AppState>,
        auth: Auth<(RoleUpdate, UserUpdate)>,
        role_id: Path<i64>,
        body: JsonBody<RoleUserAssignment>,
    ) -> RoleResult {
        let mut ctx = auth.write_scope(&state.db).await?;
        roles::get_if_exist(&mut ctx.tx, role_id.0).await?;
        super::users::visible_user(&mut ctx.tx, &auth, body.user_id).await?;
        super::rank::holds_role(&mut ctx.tx, &auth, role_id.0).await?;
        roles::add_user(&mut ctx, role_id.0, body.user_id).await?;
        finish(ctx, role_id.0).await
    }

    /// Remove a user from a role
    ///
    /// Requires: `role_update`, `user_update`. A no-op when not a member. 404 for the role or user.
    #[oai(path = "/:role_id/users/:user_id", method = "delete")]
    async fn remove_user(
        &self,
        state: Data<&AppState>,
        auth: Auth<(RoleUpdate, UserUpdate)>,
        role_id: Path<i64>,
        user_id: Path<i64>,
    ) -> RoleResult {
        let mut ctx = auth.write_scope(&state.db).await?;
        roles::get_if_exist(&mut ctx.tx, role_id.0).await?;
        super::users::visible_user(&mut ctx.tx, &auth, user_id.0).await?;
        roles::remove_user(&mut ctx, role_id.0, user_id.0).await?;
        finish(ctx, role_id.0).await
    }

    /// Revoke every permission of a role
    ///
    /// Requires: `role_delete`, `permission_delete`. 404 for an unknown role.
    #[oai(path = "/:role_id/permissions", method = "delete")]
    async fn clear_permissions(
        &self,
        state: Data<&AppState>,
        auth: Auth<(RoleDelete, PermissionDelete)>,
        role_id: Path<i64>,
    ) -> RoleResult {
        let mut ctx = auth.write_scope(&state.db).await?;
        roles::get_if_exist(&mut ctx.tx, role_id.0).await?;
        roles::clear_permissions(&mut ctx, role_id.0).await?;
        finish(ctx, role_id.0).await
    }

    /// Remove every user from a role
    ///
    /// Requires: `role_delete`, `user_delete`. 404 for an unknown role.
    #[oai(path = "/:role_id/users", method = "delete")]
    async fn clear_users(
        &self,
        state: Data<&AppState>,
        auth: Auth<(RoleDelete, UserDelete)>,
        role_id: Path<i64>,
    ) -> RoleResult {
        let mut ctx = auth.write_scope(&state.db).await?;
        roles::get_if_exist(&mut ctx.tx, role_id.0).await?;
        roles::clear_users(&mut ctx, role_id.0).await?;
        finish(ctx, role_id.0).await
    }
}

/// Reads the role back (with its new `user_count`) and commits.
async fn finish(mut ctx: Context, role_id: i64) -> RoleResult {
    let role = roles::get_if_exist(&mut ctx.tx, role_id).await?;
    ctx.commit().await?;
    Ok(Json(role.into()))
}
