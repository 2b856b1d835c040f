//! `/users/...` (CONTRACT §3).

use kwik_core::Error;
use kwik_listing::Paginated;
use kwik_rbac::{normalize, users};
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;

use super::permission_sets::{PasswordReset, PermissionRead, RoleRead, UserCreate, UserRead, UserUpdate};
use super::schemas::{
    AdminPasswordReset, BuiltinTags, PermissionProfile, RoleProfile, UserPasswordChange, UserProfile,
    UserProfileUpdate, UserRegistration,
};
use crate::auth::Auth;
use crate::body::JsonBody;
use crate::error::ApiResult;
use crate::listing::list_spec;
use crate::state::AppState;

/// User endpoints.
#[derive(Debug, Clone, Copy, Default)]
pub struct UsersApi;

#[OpenApi(prefix_path = "/users/", tag = "BuiltinTags::Users")]
impl UsersApi {
    /// List users
    ///
    /// Requires: `user_read`. Sort and filter fields: `id`, `name`, `surname`, `email`, `is_active`.
    /// Filter operators (`filter=field:op:value`, repeatable): `eq`, `ne`, `lt`, `lte`, `gt`, `gte`,
    /// `in`, `contains`, `icontains`, `startswith`, `isnull`.
    #[oai(path = "/", method = "get")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: Data<&AppState>,
        auth: Auth<UserRead>,
        /// Rows to skip (default 0, not with `cursor`).
        skip: Query<Option<crate::ListSkip>>,
        /// Page size (default 100, at most 1000).
        limit: Query<Option<crate::ListLimit>>,
        /// `field[:asc|:desc]`, comma-separated; fields: id, name, surname, email, is_active.
        sorting: Query<Option<crate::ListSorting>>,
        /// Kwik's equality filter: field name (with `value`).
        filter_key: Query<Option<String>>,
        /// Kwik's equality filter: value (with `filter_key`).
        value: Query<Option<String>>,
        /// `field:op:value`, repeatable.
        filter: Query<crate::ListFilters>,
        /// Keyset pagination: empty for the first page, then the previous page's `next_cursor`.
        cursor: Query<Option<String>>,
    ) -> ApiResult<Json<Paginated<UserProfile>>> {
        let spec = list_spec(
            &state,
            &users::LIST,
            &crate::raw_list_query!(skip, limit, sorting, filter_key, value, filter, cursor),
        )?;
        let (total, rows) = users::list_in(&mut state.db.clone(), &spec, auth.tenant_id).await?;
        Ok(Json(spec.paginate(total, rows.into_iter().map(Into::into).collect())?))
    }

    /// Create a user
    ///
    /// Requires: `user_create`. An email already taken: 409.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        state: Data<&AppState>,
        auth: Auth<UserCreate>,
        body: JsonBody<UserRegistration>,
    ) -> ApiResult<Json<UserProfile>> {
        let body = body.0;
        let new = users::NewUser {
            name: body.name,
            surname: body.surname,
            email: normalize::email(&body.email, &["body", "email"]).map_err(Error::validation)?,
            hashed_password: state.hasher.hash(&body.password).await?,
            is_active: body.is_active,
        };
        let mut ctx = auth.write_scope(&state.db).await?;
        let user = users::create(&mut ctx, new).await?;
        ctx.commit().await?;
        Ok(Json(user.into()))
    }

    /// My profile
    ///
    /// Requires: authentication.
    #[oai(path = "/me", method = "get")]
    async fn me(&self, auth: Auth) -> Json<UserProfile> {
        Json(auth.current.user.clone().into())
    }

    /// Update my profile
    ///
    /// Requires: authentication. Users may deactivate themselves (their tokens then stop working).
    #[oai(path = "/me", method = "put")]
    async fn update_me(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        body: JsonBody<UserProfileUpdate>,
    ) -> ApiResult<Json<UserProfile>> {
        update_user(&state, &auth, auth.id(), body.0).await
    }

    /// My effective permissions
    ///
    /// Requires: authentication. Permissions granted through active roles, each once.
    #[oai(path = "/me/permissions", method = "get")]
    async fn my_permissions(&self, state: Data<&AppState>, auth: Auth) -> ApiResult<Json<Vec<PermissionProfile>>> {
        let permissions = users::effective_permissions(&mut state.db.clone(), auth.id()).await?;
        Ok(Json(permissions.into_iter().map(Into::into).collect()))
    }

    /// My roles
    ///
    /// Requires: authentication. Active roles only.
    #[oai(path = "/me/roles", method = "get")]
    async fn my_roles(&self, state: Data<&AppState>, auth: Auth) -> ApiResult<Json<Vec<RoleProfile>>> {
        let roles = users::roles(&mut state.db.clone(), auth.id(), true).await?;
        Ok(Json(roles.into_iter().map(Into::into).collect()))
    }

    /// Change my password
    ///
    /// Requires: authentication. Wrong `old_password`: 401 `Incorrect credentials`. Every token
    /// issued before the change stops working; API keys are kept. Each attempt counts against the
    /// authentication rate limit of the client and the account (429).
    #[oai(path = "/me/password", method = "put")]
    async fn change_my_password(
        &self,
        req: &poem::Request,
        state: Data<&AppState>,
        auth: Auth,
        body: JsonBody<UserPasswordChange>,
    ) -> ApiResult<Json<UserProfile>> {
        change_password(req, &state, &auth, auth.id(), &body).await
    }

    /// Get a user
    ///
    /// Requires: `user_read`. 404 for an unknown id.
    #[oai(path = "/:user_id", method = "get")]
    async fn get(
        &self,
        state: Data<&AppState>,
        auth: Auth<UserRead>,
        user_id: Path<i64>,
    ) -> ApiResult<Json<UserProfile>> {
        Ok(Json(visible_user(&mut state.db.clone(), &auth, user_id.0).await?.into()))
    }

    /// Update a user
    ///
    /// Requires: `user_update`, and every permission the user holds (403 otherwise: changing the
    /// email of a more privileged user would hand over its account through password recovery).
    /// 404 for an unknown id; 409 for an email another user has.
    #[oai(path = "/:user_id", method = "put")]
    async fn update(
        &self,
        state: Data<&AppState>,
        auth: Auth<UserUpdate>,
        user_id: Path<i64>,
        body: JsonBody<UserProfileUpdate>,
    ) -> ApiResult<Json<UserProfile>> {
        visible_user(&mut state.db.clone(), &auth, user_id.0).await?;
        super::rank::outranks(&mut state.db.clone(), &auth, user_id.0).await?;
        update_user(&state, &auth, user_id.0, body.0).await
    }

    /// A user's effective permissions
    ///
    /// Requires: `user_read`, `permission_read`. 404 for an unknown id.
    #[oai(path = "/:user_id/permissions", method = "get")]
    async fn permissions(
        &self,
        state: Data<&AppState>,
        auth: Auth<(UserRead, PermissionRead)>,
        user_id: Path<i64>,
    ) -> ApiResult<Json<Vec<PermissionProfile>>> {
        let mut db = state.db.clone();
        visible_user(&mut db, &auth, user_id.0).await?;
        Ok(Json(users::effective_permissions(&mut db, user_id.0).await?.into_iter().map(Into::into).collect()))
    }

    /// A user's roles
    ///
    /// Requires: `user_read`, `role_read`. Active roles only. 404 for an unknown id.
    #[oai(path = "/:user_id/roles", method = "get")]
    async fn roles(
        &self,
        state: Data<&AppState>,
        auth: Auth<(UserRead, RoleRead)>,
        user_id: Path<i64>,
    ) -> ApiResult<Json<Vec<RoleProfile>>> {
        let mut db = state.db.clone();
        visible_user(&mut db, &auth, user_id.0).await?;
        Ok(Json(users::roles(&mut db, user_id.0, true).await?.into_iter().map(Into::into).collect()))
    }

    /// Change a user's password
    ///
    /// Requires: `user_update`. The old password is still required (401 when wrong); 404 `User not
    /// found`. Each attempt counts against the authentication rate limit of the client and the
    /// target account (429).
    #[oai(path = "/:user_id/password", method = "put")]
    async fn change_password(
        &self,
        req: &poem::Request,
        state: Data<&AppState>,
        auth: Auth<UserUpdate>,
        user_id: Path<i64>,
        body: JsonBody<UserPasswordChange>,
    ) -> ApiResult<Json<UserProfile>> {
        users::get(&mut state.db.clone(), user_id.0)
            .await?
            .filter(|user| auth.sees_user(user))
            .ok_or_else(|| Error::NotFound("User not found".to_owned()))?;
        super::rank::outranks(&mut state.db.clone(), &auth, user_id.0).await?;
        change_password(req, &state, &auth, user_id.0, &body).await
    }

    /// Reset a user's password (administrator)
    ///
    /// Requires: `password_reset`, and every permission the user holds (403 otherwise). 404 `User
    /// not found`; 400 `Inactive user`. Revokes the user's tokens and API keys.
    #[oai(path = "/:user_id/reset-password", method = "put")]
    async fn reset_password(
        &self,
        state: Data<&AppState>,
        auth: Auth<PasswordReset>,
        user_id: Path<i64>,
        body: JsonBody<AdminPasswordReset>,
    ) -> ApiResult<Json<UserProfile>> {
        let user = users::get(&mut state.db.clone(), user_id.0)
            .await?
            .filter(|user| auth.sees_user(user))
            .ok_or_else(|| Error::NotFound("User not found".to_owned()))?;
        // A reset hands the account to whoever receives the new password.
        super::rank::outranks(&mut state.db.clone(), &auth, user.id).await?;
        if !user.is_active {
            return Err(Error::InactiveUser.into());
        }
        // Hash before taking the write lock: a hash costs tens of milliseconds.
        let hashed = state.hasher.hash(&body.new_password).await?;
        let mut ctx = auth.write_scope(&state.db).await?;
        let user = users::reset_password(&mut ctx, user.id, &hashed).await?;
        ctx.commit().await?;
        Ok(Json(user.into()))
    }
}

/// The user with this id as the caller may see it: with tenancy on, a user of another tenant is
/// missing (Kwik's 404 text, the same as for an unknown id).
pub(crate) async fn visible_user(
    exec: &mut impl kwik_core::Executor,
    caller: &crate::CurrentUser,
    id: i64,
) -> kwik_core::Result<kwik_rbac::User> {
    users::get(exec, id).await?.filter(|user| caller.sees_user(user)).ok_or_else(|| Error::not_found("users", id))
}

async fn update_user(
    state: &AppState,
    actor: &crate::CurrentUser,
    user_id: i64,
    body: UserProfileUpdate,
) -> ApiResult<Json<UserProfile>> {
    let email = match body.email {
        Some(email) => Some(normalize::email(&email, &["body", "email"]).map_err(Error::validation)?),
        None => None,
    };
    let patch = users::UserPatch { name: body.name, surname: body.surname, email, is_active: body.is_active };
    let mut ctx = actor.write_scope(&state.db).await?;
    let user = users::update(&mut ctx, user_id, patch).await?;
    ctx.commit().await?;
    Ok(Json(user.into()))
}

/// Verifies the old password and hashes the new one outside any transaction (argon2 takes tens
/// of milliseconds; on SQLite a write transaction blocks every writer), then writes with a
/// compare-and-set on the verified hash: a change made meanwhile wins and this one is a 409.
async fn change_password(
    req: &poem::Request,
    state: &AppState,
    actor: &crate::CurrentUser,
    user_id: i64,
    body: &UserPasswordChange,
) -> ApiResult<Json<UserProfile>> {
    let user = users::get(&mut state.db.clone(), user_id)
        .await?
        .ok_or_else(|| Error::NotFound("User not found".to_owned()))?;
    crate::PasswordAttempts::count_for(req, &user.email).await?;
    if !state.hasher.verify(&body.old_password, Some(&user.hashed_password)).await?.is_valid() {
        return Err(Error::AuthenticationFailed.into());
    }
    let hashed = state.hasher.hash(&body.new_password).await?;
    let mut ctx = actor.write_scope(&state.db).await?;
    let user = users::set_password_if(&mut ctx, user.id, Some(&user.hashed_password), &hashed)
        .await?
        .ok_or_else(|| Error::Conflict("The password was changed meanwhile; try again".to_owned()))?;
    ctx.commit().await?;
    Ok(Json(user.into()))
}
