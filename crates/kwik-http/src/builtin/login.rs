//! `/login/...`: tokens (Kwik's contract) plus refresh rotation and password recovery (ours).

use kwik_auth::{Claims, Impersonator, TokenKind, Verification};
use kwik_core::audit::AuditEntry;
use kwik_core::{Context, Error, Queries};
use kwik_rbac::{User, users};
use poem::web::Data;
use poem_openapi::OpenApi;
use poem_openapi::param::Query as QueryParam;
use poem_openapi::payload::Json;
use sea_query::{Expr, ExprTrait, Query};

use super::schemas::{
    BuiltinTags, LoginForm, Message, PasswordRecovery, RefreshRequest, ResetPassword, Token, UserProfile,
};
use crate::auth::Auth;
use crate::body::{FormBody, JsonBody};
use crate::error::ApiResult;
use crate::state::AppState;

crate::permission!(
    /// Kwik's impersonation permission (its spelling).
    pub Impersonification = "impersonification"
);

/// The answer of `POST /login/password-recovery`, whether or not the address has an account.
const RECOVERY_MESSAGE: &str = "If this address belongs to an account, a password reset link has been sent";

/// Login and token endpoints.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoginApi;

#[OpenApi(prefix_path = "/login/", tag = "BuiltinTags::Login")]
impl LoginApi {
    /// Log in (OAuth2 password flow)
    ///
    /// Exchanges email (`username`) and password for a bearer access token and a refresh token.
    /// Unknown email or wrong password: 401 `Incorrect credentials` (same answer and the same
    /// hashing time either way). Inactive user: 400 `Inactive user` (Kwik issues a token: bug §9.1).
    #[oai(path = "/access-token", method = "post")]
    async fn access_token(&self, state: Data<&AppState>, form: FormBody<LoginForm>) -> ApiResult<Json<Token>> {
        let mut db = state.db.clone();
        let user = users::by_email(&mut db, &form.username).await?;
        let verification =
            state.hasher.verify(&form.password, user.as_ref().map(|u| u.hashed_password.as_str())).await?;
        let (Some(user), Verification::Valid { needs_rehash }) = (user, verification) else {
            return Err(Error::AuthenticationFailed.into());
        };
        if !user.is_active {
            return Err(Error::InactiveUser.into());
        }
        if needs_rehash {
            let upgraded = state.hasher.hash(&form.password).await?;
            // Compare-and-set on the hash just verified: a password changed meanwhile stays.
            if users::rehash_password(&mut db, user.id, &user.hashed_password, &upgraded).await? {
                tracing::info!(user_id = user.id, "password hash upgraded to the current argon2id parameters");
            }
        }
        let mut ctx = Context::begin(&state.db, Some(user.id)).await?;
        let token = issue_tokens(&state, &mut ctx, &user, uuid::Uuid::new_v4().to_string()).await?;
        ctx.commit().await?;
        Ok(Json(token))
    }

    /// Rotate a refresh token
    ///
    /// Returns a new access token and a new refresh token; the one presented is spent. Presenting
    /// a spent refresh token again revokes its whole family (every token descended from the same
    /// login), following OAuth 2.0 Security BCP (RFC 9700 §4.14.2). Any problem: 400 `Invalid token`.
    #[oai(path = "/refresh", method = "post")]
    async fn refresh(&self, state: Data<&AppState>, body: JsonBody<RefreshRequest>) -> ApiResult<Json<Token>> {
        let claims = state.jwt.decode(&body.refresh_token, TokenKind::Refresh)?;
        let (Some(jti), Some(family)) = (claims.jti.clone(), claims.kwik_family.clone()) else {
            return Err(Error::InvalidToken.into());
        };
        let mut ctx = Context::begin(&state.db, Some(claims.user_id()?)).await?;
        let spend = Query::update()
            .table("refresh_tokens")
            .value("used_at", kwik_core::now())
            .and_where(Expr::col("jti").eq(jti.as_str()))
            .and_where(Expr::col("used_at").is_null())
            .and_where(Expr::col("revoked_at").is_null())
            .to_owned();
        if ctx.tx.execute(&spend).await? == 0 {
            // Unknown, revoked, or already used: reuse means theft; kill the family.
            let revoke = Query::update()
                .table("refresh_tokens")
                .value("revoked_at", kwik_core::now())
                .and_where(Expr::col("family").eq(family.as_str()))
                .and_where(Expr::col("revoked_at").is_null())
                .to_owned();
            ctx.tx.execute(&revoke).await?;
            ctx.commit().await?;
            tracing::warn!(user_id = claims.user_id().ok(), "refresh token reuse detected: token family revoked");
            return Err(Error::InvalidToken.into());
        }
        let user = users::get(&mut ctx.tx, claims.user_id()?).await?.ok_or(Error::InvalidToken)?;
        if user.token_version != claims.kwik_ver {
            return Err(Error::InvalidToken.into());
        }
        if !user.is_active {
            return Err(Error::InactiveUser.into());
        }
        let token = issue_tokens(&state, &mut ctx, &user, family).await?;
        ctx.commit().await?;
        Ok(Json(token))
    }

    /// Test a token
    ///
    /// Returns the profile of the token's user. Requires: authentication.
    #[oai(path = "/test-token", method = "post")]
    async fn test_token(&self, auth: Auth) -> ApiResult<Json<UserProfile>> {
        Ok(Json(auth.current.user.clone().into()))
    }

    /// Impersonate a user
    ///
    /// Returns a token acting as `user_id` with that user's permissions; the token records the
    /// impersonator. Requires: `impersonification`, with a token of one's own: from inside an
    /// impersonation session it is 403 (it would launder the session into the target's
    /// identity), and only of a user whose permissions the caller all holds (403: impersonation
    /// is not a way to gain any). 404 for an unknown user.
    #[oai(path = "/impersonate", method = "post")]
    async fn impersonate(
        &self,
        state: Data<&AppState>,
        auth: Auth<Impersonification>,
        user_id: QueryParam<i64>,
    ) -> ApiResult<Json<Token>> {
        if auth.impersonator().is_some() {
            return Err(Error::Forbidden("Not allowed while impersonating; stop impersonating first".to_owned()).into());
        }
        if auth.claims.is_none() {
            return Err(Error::Forbidden("Impersonation needs a login token, not an API key".to_owned()).into());
        }
        let target = super::users::visible_user(&mut state.db.clone(), &auth, user_id.0).await?;
        super::rank::outranks(&mut state.db.clone(), &auth, target.id).await?;
        let mut ctx = auth.write_scope(&state.db).await?;
        kwik_core::audit::record(&mut ctx, AuditEntry::new("impersonation_start", "users", Some(target.id))).await?;
        ctx.commit().await?;
        let impersonator = Impersonator { id: auth.id(), token_version: auth.current.user.token_version };
        let claims =
            Claims::access(target.id, target.token_version, state.settings.access_token_ttl(), Some(impersonator));
        Ok(Json(Token {
            access_token: state.jwt.encode(&claims)?,
            token_type: "bearer".to_owned(),
            refresh_token: None,
        }))
    }

    /// Whether the token is an impersonation token
    ///
    /// Requires: authentication. Answers `true` or `false`.
    #[oai(path = "/is_impersonating", method = "post")]
    async fn is_impersonating(&self, auth: Auth) -> Json<bool> {
        Json(auth.impersonator().is_some())
    }

    /// Stop impersonating
    ///
    /// Returns a plain token for the impersonator. Requires: an impersonation token (400 otherwise).
    #[oai(path = "/stop_impersonating", method = "post")]
    async fn stop_impersonating(&self, state: Data<&AppState>, auth: Auth) -> ApiResult<Json<Token>> {
        let impersonator_id = auth.impersonator().ok_or_else(|| Error::BadRequest("Not impersonating".to_owned()))?;
        let impersonator = users::get(&mut state.db.clone(), impersonator_id).await?.ok_or(Error::AccessDenied)?;
        // Recorded as the session's: user = the impersonated user, impersonator = who stops.
        let mut ctx = auth.write_scope(&state.db).await?;
        kwik_core::audit::record(&mut ctx, AuditEntry::new("impersonation_stop", "users", Some(auth.id()))).await?;
        ctx.commit().await?;
        let claims =
            Claims::access(impersonator.id, impersonator.token_version, state.settings.access_token_ttl(), None);
        Ok(Json(Token {
            access_token: state.jwt.encode(&claims)?,
            token_type: "bearer".to_owned(),
            refresh_token: None,
        }))
    }

    /// Reset a password with a reset token
    ///
    /// Public. The token (from `/login/password-recovery`) is single-use, also when presented
    /// twice at once: it dies once the password changes, after 48 hours, or when the user is
    /// deactivated. Bad token: 400 `Invalid token`. Revokes the user's tokens and API keys.
    #[oai(path = "/reset-password", method = "post")]
    async fn reset_password(
        &self,
        req: &poem::Request,
        state: Data<&AppState>,
        body: JsonBody<ResetPassword>,
    ) -> ApiResult<Json<Message>> {
        let claims = state.jwt.decode(&body.token, TokenKind::Reset)?;
        let user = users::get(&mut state.db.clone(), claims.user_id()?).await?.ok_or(Error::InvalidToken)?;
        if !user.is_active || user.token_version != claims.kwik_ver || !claims.password_matches(&user.hashed_password) {
            return Err(Error::InvalidToken.into());
        }
        // Hash outside the write transaction, then compare-and-set on the hash the token was
        // issued for: of two simultaneous uses, exactly one writes.
        let hashed = state.hasher.hash(&body.password).await?;
        let mut ctx = Context::begin(&state.db, Some(user.id)).await?.with_request_id(crate::request_id(req));
        if state.settings.tenancy_enabled {
            // The user's own tenant: the entry belongs to it (and is listed there).
            ctx.tenant_id = Some(user.tenant_id);
        }
        users::reset_password_if(&mut ctx, user.id, Some(&user.hashed_password), &hashed)
            .await?
            .ok_or(Error::InvalidToken)?;
        ctx.commit().await?;
        Ok(Json(Message { msg: "Password updated successfully".to_owned() }))
    }

    /// Request a password reset
    ///
    /// Public. Always answers the same, whether or not the address belongs to an active user, so
    /// it cannot be used to discover accounts; when it does, a reset token (valid 48 hours) is
    /// handed to the configured sender in the background.
    #[oai(path = "/password-recovery", method = "post")]
    async fn password_recovery(
        &self,
        state: Data<&AppState>,
        body: JsonBody<PasswordRecovery>,
    ) -> ApiResult<Json<Message>> {
        if let Some(user) = users::by_email(&mut state.db.clone(), body.email.trim()).await?
            && user.is_active
        {
            if state.job_data.get::<kwik_mail::Mailer>().is_some() {
                // Queued in the background too, so the answer takes as long for unknown addresses.
                let db = state.db.clone();
                tokio::spawn(async move {
                    let queued = async {
                        let mut ctx = Context::begin(&db, None).await?;
                        // One email per account per five minutes, however often it is asked for
                        // (the authentication rate limit is per client, not per account).
                        let window = kwik_core::now().timestamp() / 300;
                        let once = kwik_jobs::EnqueueOptions {
                            delay: std::time::Duration::ZERO,
                            unique_key: Some(format!("reset:{}:{window}", user.id)),
                        };
                        kwik_jobs::enqueue_with(&mut ctx, super::PasswordResetEmail { user_id: user.id }, once).await?;
                        ctx.commit().await
                    };
                    if let Err(error) = queued.await {
                        tracing::error!(user_id = user.id, %error, "could not queue the password reset email");
                    }
                });
                return Ok(Json(Message { msg: RECOVERY_MESSAGE.to_owned() }));
            }
            let token = super::reset_email::reset_token(&state, &user)?;
            let sender = state.reset_sender.clone();
            tokio::spawn(async move { sender.send(&user.email, &token).await });
        }
        Ok(Json(Message { msg: RECOVERY_MESSAGE.to_owned() }))
    }
}

/// Issues an access token and a refresh token in `family`, recording the refresh token.
async fn issue_tokens(state: &AppState, ctx: &mut Context, user: &User, family: String) -> kwik_core::Result<Token> {
    let settings = &state.settings;
    let access = Claims::access(user.id, user.token_version, settings.access_token_ttl(), None);
    let refresh = Claims::refresh(user.id, user.token_version, settings.refresh_token_ttl(), family.clone());
    let jti = refresh.jti.clone().ok_or_else(|| Error::Internal("refresh token without jti".to_owned()))?;
    let mut insert = Query::insert()
        .into_table("refresh_tokens")
        .columns(["jti", "family", "user_id", "creation_time", "expires_at"])
        .to_owned();
    insert
        .values([
            Expr::val(jti),
            Expr::val(family),
            Expr::val(user.id),
            Expr::val(kwik_core::now()),
            Expr::val(kwik_core::now() + settings.refresh_token_ttl()),
        ])
        .map_err(|e| Error::Internal(e.to_string()))?;
    ctx.tx.execute(&insert).await?;
    Ok(Token {
        access_token: state.jwt.encode(&access)?,
        token_type: "bearer".to_owned(),
        refresh_token: Some(state.jwt.encode(&refresh)?),
    })
}
