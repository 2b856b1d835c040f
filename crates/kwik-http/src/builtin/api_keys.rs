//! `/api-keys/...` (ours): personal API keys, usable wherever a bearer token is, via `X-API-Key`.

use chrono::{DateTime, Utc};
use kwik_auth::ApiKey;
use kwik_core::audit::AuditEntry;
use kwik_core::{Error, Queries};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Deserialize;
use serde_json::Value;

use super::schemas::BuiltinTags;
use crate::auth::Auth;
use crate::body::{JsonBody, Rules, Validate};
use crate::error::ApiResult;
use crate::state::AppState;

crate::permission!(
    /// List every user's API keys.
    pub ApiKeyRead = "api_key_read"
);
crate::permission!(
    /// Revoke any user's API key.
    pub ApiKeyRevoke = "api_key_revoke"
);

/// Permissions this router adds to Kwik's built-in ones.
pub const API_KEY_PERMISSIONS: [&str; 2] = ["api_key_read", "api_key_revoke"];

/// An API key as listed: never the secret.
#[derive(Debug, Clone, Object, sqlx::FromRow)]
pub struct ApiKeyProfile {
    /// Key id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// A label chosen at creation.
    pub name: String,
    /// The public part of the key (`kwik_<prefix>_...`), to recognise it.
    pub prefix: String,
    /// Created at (UTC).
    pub creation_time: DateTime<Utc>,
    /// Expires at (UTC), if it expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last successful use (UTC, to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revoked at (UTC), if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// `POST /api-keys/`.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct ApiKeyCreate {
    /// The caller's current password: a key outlives every token, so minting one re-authenticates
    /// (OWASP ASVS V2/V3, re-authentication before sensitive actions).
    #[oai(write_only)]
    pub password: String,
    /// A label, 1 to 100 characters.
    pub name: String,
    /// Lifetime in days (1 to 3650); none = no expiry.
    pub expires_in_days: Option<i64>,
}

impl Validate for ApiKeyCreate {
    fn validate(&self, _rules: &Rules) -> Vec<kwik_core::ValidationIssue> {
        let mut issues = Vec::new();
        let len = self.name.trim().chars().count();
        if !(1..=100).contains(&len) {
            issues.push(kwik_core::ValidationIssue::new(
                "string_length",
                &["body", "name"],
                "String should have 1 to 100 characters",
            ));
        }
        if self.expires_in_days.is_some_and(|d| !(1..=3650).contains(&d)) {
            issues.push(kwik_core::ValidationIssue::new(
                "range",
                &["body", "expires_in_days"],
                "Input should be from 1 to 3650",
            ));
        }
        issues
    }
}

/// A new key: the only time `key` is shown.
#[derive(Debug, Clone, Object)]
pub struct ApiKeyCreated {
    /// The key's details.
    pub profile: ApiKeyProfile,
    /// The secret key, for the `X-API-Key` header. Store it now: it cannot be shown again.
    pub key: String,
}

/// API key endpoints.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiKeysApi;

/// Restricts a select of keys to those of the caller's tenant's users (tenancy on).
fn in_tenant(query: &mut SelectStatement, caller: &crate::CurrentUser) {
    if let Some(tenant) = caller.tenant_id {
        let members =
            Query::select().column("id").from("users").and_where(Expr::col("tenant_id").eq(tenant)).to_owned();
        query.and_where(Expr::col("user_id").in_subquery(members));
    }
}

fn select() -> SelectStatement {
    Query::select()
        .columns(["id", "user_id", "name", "prefix", "creation_time", "expires_at", "last_used_at", "revoked_at"])
        .from("api_keys")
        .order_by("id", Order::Asc)
        .to_owned()
}

#[OpenApi(prefix_path = "/api-keys/", tag = "BuiltinTags::ApiKeys")]
impl ApiKeysApi {
    /// Create an API key
    ///
    /// Requires: authentication with a login token of one's own (403 from an impersonation session
    /// or with an API key) and the caller's current `password` (401 `Incorrect credentials` when
    /// wrong; each attempt counts against the authentication rate limit, 429). The key acts as its
    /// owner, with the owner's current permissions. Only a SHA-256 hash is stored; the key is in
    /// this response and nowhere else.
    #[oai(path = "/", method = "post")]
    async fn create(
        &self,
        req: &poem::Request,
        state: Data<&AppState>,
        auth: Auth,
        body: JsonBody<ApiKeyCreate>,
    ) -> ApiResult<Json<ApiKeyCreated>> {
        if auth.impersonator().is_some() {
            return Err(Error::Forbidden("API keys cannot be created while impersonating".to_owned()).into());
        }
        if auth.claims.is_none() {
            return Err(Error::Forbidden("API keys cannot be created with an API key".to_owned()).into());
        }
        crate::PasswordAttempts::count_for(req, &auth.current.user.email).await?;
        if !state.hasher.verify(&body.password, Some(&auth.current.user.hashed_password)).await?.is_valid() {
            return Err(Error::AuthenticationFailed.into());
        }
        let generated = ApiKey::generate();
        let now = kwik_core::now();
        let expires_at = body.expires_in_days.map(|days| now + chrono::Duration::days(days));
        let mut ctx = auth.write_scope(&state.db).await?;
        let mut insert = Query::insert()
            .into_table("api_keys")
            .columns(["user_id", "name", "prefix", "key_hash", "creation_time", "expires_at"])
            .returning_col("id")
            .to_owned();
        insert
            .values([
                Expr::val(auth.id()),
                Expr::val(body.name.trim()),
                Expr::val(generated.prefix.as_str()),
                Expr::val(generated.hash.as_str()),
                Expr::val(now),
                Expr::val(expires_at),
            ])
            .map_err(|e| Error::Internal(e.to_string()))?;
        let id = ctx.tx.fetch_i64(&insert).await?;
        let profile: ApiKeyProfile = ctx
            .tx
            .fetch_optional(select().and_where(Expr::col("id").eq(id)))
            .await?
            .ok_or_else(|| Error::not_found("api_keys", id))?;
        let after = [
            ("user_id", Value::from(profile.user_id)),
            ("name", Value::from(profile.name.as_str())),
            ("prefix", Value::from(profile.prefix.as_str())),
            ("expires_at", profile.expires_at.map_or(Value::Null, |at| super::audit_log::timestamp(at).into())),
        ];
        kwik_core::audit::record(&mut ctx, AuditEntry::new("create", "api_keys", Some(id)).diff(&[], &after, &[]))
            .await?;
        ctx.commit().await?;
        Ok(Json(ApiKeyCreated { profile, key: generated.secret }))
    }

    /// My API keys
    ///
    /// Requires: authentication. Secrets are never listed.
    #[oai(path = "/", method = "get")]
    async fn list_mine(&self, state: Data<&AppState>, auth: Auth) -> ApiResult<Json<Vec<ApiKeyProfile>>> {
        Ok(Json(state.db.clone().fetch_all(select().and_where(Expr::col("user_id").eq(auth.id()))).await?))
    }

    /// Revoke one of my API keys
    ///
    /// Requires: authentication. 404 when the key is not yours.
    #[oai(path = "/:key_id", method = "delete")]
    async fn revoke_mine(
        &self,
        state: Data<&AppState>,
        auth: Auth,
        key_id: Path<i64>,
    ) -> ApiResult<Json<ApiKeyProfile>> {
        revoke(&state, &auth, key_id.0, Some(auth.id())).await
    }

    /// Every user's API keys
    ///
    /// Requires: `api_key_read`. With multi-tenancy on, the keys of the caller's tenant's users.
    #[oai(path = "/all", method = "get")]
    async fn list_all(&self, state: Data<&AppState>, auth: Auth<ApiKeyRead>) -> ApiResult<Json<Vec<ApiKeyProfile>>> {
        let mut query = select();
        in_tenant(&mut query, &auth);
        Ok(Json(state.db.clone().fetch_all(&query).await?))
    }

    /// Revoke anyone's API key
    ///
    /// Requires: `api_key_revoke`. 404 for an unknown key (with multi-tenancy on, also for a key
    /// of another tenant's user).
    #[oai(path = "/:key_id/revoke", method = "post")]
    async fn revoke_any(
        &self,
        state: Data<&AppState>,
        auth: Auth<ApiKeyRevoke>,
        key_id: Path<i64>,
    ) -> ApiResult<Json<ApiKeyProfile>> {
        revoke(&state, &auth, key_id.0, None).await
    }
}

async fn revoke(
    state: &AppState,
    actor: &crate::CurrentUser,
    key_id: i64,
    owner: Option<i64>,
) -> ApiResult<Json<ApiKeyProfile>> {
    let mut ctx = actor.write_scope(&state.db).await?;
    let mut find = select().and_where(Expr::col("id").eq(key_id)).to_owned();
    if let Some(owner) = owner {
        find.and_where(Expr::col("user_id").eq(owner));
    }
    in_tenant(&mut find, actor);
    let key: ApiKeyProfile = ctx.tx.fetch_optional(&find).await?.ok_or_else(|| Error::not_found("api_keys", key_id))?;
    if key.revoked_at.is_none() {
        let now = kwik_core::now();
        let update =
            Query::update().table("api_keys").value("revoked_at", now).and_where(Expr::col("id").eq(key_id)).to_owned();
        ctx.tx.execute(&update).await?;
        let entry = AuditEntry::new("revoke", "api_keys", Some(key_id)).change(
            "revoked_at",
            Value::Null,
            Value::from(super::audit_log::timestamp(now)),
        );
        kwik_core::audit::record(&mut ctx, entry).await?;
        ctx.principals_changed();
    }
    let key = ctx.tx.fetch_optional(&select().and_where(Expr::col("id").eq(key_id)).to_owned()).await?.unwrap_or(key);
    ctx.commit().await?;
    Ok(Json(key))
}
