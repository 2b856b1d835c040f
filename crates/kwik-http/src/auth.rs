//! Authentication and permission checks, visible in handler signatures:
//!
//! ```ignore
//! async fn read(&self, auth: Auth<UserRead>) -> ApiResult<Json<UserProfile>> { ... }
//! ```
//!
//! [`Auth<P>`] accepts a bearer access token (`Authorization: Bearer ...`, the OAuth2 password
//! flow Swagger UI's Authorize dialog drives) or an API key (`X-API-Key`), loads the user and
//! their effective permissions in one query, and requires every permission of `P`.
//! Failures follow Kwik's order: 401 no credentials → 400 invalid token → 403 missing permission.

use std::marker::PhantomData;

use kwik_auth::{ApiKey, Claims, TokenKind};
use kwik_core::{Context, Error, Principal, Queries, Result};
use kwik_rbac::User;
use poem::{Request, RequestBody};
use poem_openapi::registry::Registry;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, SecurityScheme};
use sea_query::{Expr, ExprTrait, Query};

use crate::error::ApiError;
use crate::principals::LoadedPrincipal;
use crate::state::AppState;

/// OAuth2 password flow over a bearer JWT (Kwik's `/login/access-token`).
#[derive(SecurityScheme)]
#[oai(rename = "OAuth2", ty = "oauth2", flows(password(token_url = "/api/v1/login/access-token")))]
pub struct BearerToken(pub poem_openapi::auth::Bearer);

/// An API key in the `X-API-Key` header (create one with `POST /api-keys/`).
#[derive(SecurityScheme)]
#[oai(rename = "ApiKey", ty = "api_key", key_in = "header", key_name = "X-API-Key")]
pub struct ApiKeyHeader(pub poem_openapi::auth::ApiKey);

/// Either credential; the bearer token is tried first.
#[derive(SecurityScheme)]
pub enum Credentials {
    /// `Authorization: Bearer <access token>`.
    Bearer(BearerToken),
    /// `X-API-Key: <key>`.
    ApiKey(ApiKeyHeader),
}

/// A set of permission names required together (AND), or alternatives of which one suffices
/// (OR). Declare one with [`permission!`](crate::permission); `()` requires none (any
/// authenticated user), and tuples combine sets (AND): `(UserRead, RoleRead)`.
pub trait PermissionSet: Send + Sync + 'static {
    /// Every permission name the set mentions.
    fn names() -> Vec<&'static str>;

    /// The alternatives: the caller needs every name of at least one of them. The default is
    /// the single alternative [`PermissionSet::names`] (all required).
    fn alternatives() -> Vec<Vec<&'static str>> {
        vec![Self::names()]
    }

    /// How the set reads in documentation: `` `a`, `b` `` (all) or `` `a` or `b` `` (any).
    fn describe() -> String {
        Self::alternatives()
            .iter()
            .map(|alt| alt.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" and "))
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

impl PermissionSet for () {
    fn names() -> Vec<&'static str> {
        Vec::new()
    }
}

impl<A: PermissionSet, B: PermissionSet> PermissionSet for (A, B) {
    fn names() -> Vec<&'static str> {
        let mut names = A::names();
        names.extend(B::names());
        names
    }

    fn alternatives() -> Vec<Vec<&'static str>> {
        let mut all = Vec::new();
        for a in A::alternatives() {
            for b in B::alternatives() {
                let mut both = a.clone();
                both.extend(b);
                all.push(both);
            }
        }
        all
    }
}

/// Declares a permission type for [`Auth`]: names separated by `,` are all required, names
/// separated by `|` are alternatives (any one suffices):
///
/// ```
/// kwik_http::permission!(
///     /// Read projects.
///     pub ProjectRead = "project_read"
/// );
/// kwik_http::permission!(
///     /// Read every order, or only one's own (the resource's base query decides which rows).
///     pub OrderRead = "order_read" | "order_read_own"
/// );
/// use kwik_http::PermissionSet;
/// assert_eq!(ProjectRead::names(), ["project_read"]);
/// assert_eq!(OrderRead::alternatives(), [["order_read"], ["order_read_own"]]);
/// assert_eq!(OrderRead::describe(), "`order_read` or `order_read_own`");
/// ```
#[macro_export]
macro_rules! permission {
    ($(#[$meta:meta])* $vis:vis $name:ident = $first:literal $(| $perm:literal)+) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::PermissionSet for $name {
            fn names() -> ::std::vec::Vec<&'static str> {
                ::std::vec![$first $(, $perm)+]
            }
            fn alternatives() -> ::std::vec::Vec<::std::vec::Vec<&'static str>> {
                ::std::vec![::std::vec![$first] $(, ::std::vec![$perm])+]
            }
        }
    };
    ($(#[$meta:meta])* $vis:vis $name:ident = $($perm:literal),+ $(,)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::PermissionSet for $name {
            fn names() -> ::std::vec::Vec<&'static str> {
                ::std::vec![$($perm),+]
            }
        }
    };
}

/// The authenticated caller: the user row, their effective permission names, and how they
/// authenticated. Kwik's `current_user` / `UserContext` user.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user, as the principal cache holds it: current as of the last change to any user,
    /// role, grant, permission or API key (see [`PrincipalCache`](crate::PrincipalCache)).
    pub user: User,
    /// Effective permission names (through active roles).
    pub permissions: std::sync::Arc<[String]>,
    /// The access token's claims; `None` when authenticated with an API key.
    pub claims: Option<Claims>,
    /// The request's id, recorded in audit-log entries of the scopes opened for this caller.
    pub request_id: Option<std::sync::Arc<str>>,
    /// With multi-tenancy on, the tenant this request acts in: the user's, or the one named by
    /// `X-Tenant-Id` for holders of `tenant_switch`. `None` with tenancy off.
    pub tenant_id: Option<i64>,
}

impl CurrentUser {
    /// The user's id.
    pub fn id(&self) -> i64 {
        self.user.id
    }

    /// Kwik's `has_permission`: true when the user holds every permission named.
    pub fn has_permission(&self, names: &[&str]) -> bool {
        names.iter().all(|name| self.permissions.iter().any(|p| p == name))
    }

    /// Who is impersonating this user, if the token came from `/login/impersonate`.
    pub fn impersonator(&self) -> Option<i64> {
        self.claims.as_ref().and_then(Claims::impersonator)
    }

    /// The caller as the request scope's principal.
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.user.id,
            permissions: self.permissions.clone(),
            impersonator: self.impersonator(),
            tenant_id: self.tenant_id,
        }
    }

    /// A write scope for this caller: a transaction on `db` (`BEGIN IMMEDIATE` on SQLite).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when no connection is free in time.
    pub async fn write_scope(&self, db: &kwik_core::Db) -> Result<Context> {
        Ok(Context::write(db, self.principal()).await?.with_request_id(self.request_id.clone()))
    }

    /// A read scope for this caller: no transaction (each AutoCrud read is one statement), or,
    /// with a tenant on PostgreSQL, a transaction carrying it for row-level security
    /// ([`Context::read_in_tenant`]).
    ///
    /// # Errors
    /// [`Error::Unavailable`] when no connection is free in time.
    pub async fn read_scope(&self, db: &kwik_core::Db) -> Result<Context> {
        self.read_scope_for(db, true).await
    }

    /// [`CurrentUser::read_scope`] for reads that touch tenant-scoped tables only when
    /// `tenant_scoped` (the generated endpoints pass their resource's `Entity::TENANT_SCOPED`):
    /// other reads skip the transaction that carries the tenant for row-level security.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when no connection is free in time.
    pub async fn read_scope_for(&self, db: &kwik_core::Db, tenant_scoped: bool) -> Result<Context> {
        let ctx = if tenant_scoped {
            Context::read_in_tenant(db, self.principal()).await?
        } else {
            Context::read(db, self.principal())
        };
        Ok(ctx.with_request_id(self.request_id.clone()))
    }

    /// Whether `user` is visible to this caller: always with tenancy off; with it on, only the
    /// users of the caller's tenant.
    pub fn sees_user(&self, user: &User) -> bool {
        self.tenant_id.is_none_or(|tenant| user.tenant_id == tenant)
    }
}

/// An authenticated request that holds every permission of `P`.
pub struct Auth<P: PermissionSet = ()> {
    /// The caller.
    pub current: CurrentUser,
    _permissions: PhantomData<P>,
}

impl<P: PermissionSet> std::ops::Deref for Auth<P> {
    type Target = CurrentUser;
    fn deref(&self) -> &CurrentUser {
        &self.current
    }
}

impl<'a, P: PermissionSet> ApiExtractor<'a> for Auth<P> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        Credentials::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        Credentials::security_schemes()
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let credentials = Credentials::from_request(req, body, param_opts).await?;
        let state = req.data::<AppState>().ok_or_else(|| ApiError(Error::Internal("AppState missing".to_owned())))?;
        let mut current = authenticate(state, credentials).await.map_err(ApiError)?;
        current.request_id = crate::protection::request_id(req);
        if state.settings.tenancy_enabled {
            current.tenant_id = Some(tenant_of(state, req, &current).await.map_err(ApiError)?);
        }
        if !P::alternatives().iter().any(|required| current.has_permission(required)) {
            return Err(ApiError(Error::AccessDenied).into());
        }
        Ok(Self { current, _permissions: PhantomData })
    }
}

/// The header a holder of `tenant_switch` names another tenant with (multi-tenancy on).
pub const TENANT_HEADER: &str = "x-tenant-id";

/// The permission that lets a user act inside another tenant, named with [`TENANT_HEADER`]:
/// cross-tenant access is explicit, never implicit (an administrator without the header acts in
/// their own tenant).
pub const TENANT_SWITCH: &str = "tenant_switch";

/// The tenant a request acts in: the user's own, or the one `X-Tenant-Id` names (400 when it is
/// not an integer; 403 without `tenant_switch`; 404 for an unknown tenant).
async fn tenant_of(state: &AppState, req: &Request, current: &CurrentUser) -> Result<i64> {
    let own = current.user.tenant_id;
    let Some(value) = req.headers().get(TENANT_HEADER) else { return Ok(own) };
    let requested: i64 = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::BadRequest(format!("{TENANT_HEADER} must be a tenant id")))?;
    if requested == own {
        return Ok(own);
    }
    if !current.has_permission(&[TENANT_SWITCH]) {
        return Err(Error::Forbidden(format!("Acting in another tenant needs the {TENANT_SWITCH} permission")));
    }
    kwik_rbac::tenants::get_if_exist(&mut state.db.clone(), requested).await.map(|tenant| tenant.id)
}

/// Resolves credentials to a user. Access tokens: HS256, type `access`, unexpired, issued for the
/// user's current token version (password changes and deactivation revoke older tokens).
async fn authenticate(state: &AppState, credentials: Credentials) -> Result<CurrentUser> {
    match credentials {
        Credentials::Bearer(BearerToken(bearer)) => {
            let claims = state.jwt.decode(&bearer.token, TokenKind::Access)?;
            let LoadedPrincipal { user, permissions } = load(state, claims.user_id()?).await?;
            if claims.kwik_ver != user.token_version {
                return Err(Error::InvalidToken);
            }
            if !user.is_active {
                return Err(Error::InactiveUser);
            }
            // An impersonation session is the impersonator's: it ends when their tokens are
            // revoked (password change, deactivation), when they are deleted, and when they lose
            // the impersonation permission (one extra query, for impersonation tokens only).
            if let Some(impersonator) = claims.impersonator() {
                let still_entitled = state.principals.principal(&state.db, impersonator).await?.is_some_and(
                    |LoadedPrincipal { user: by, permissions: granted }| {
                        by.is_active
                            && Some(by.token_version) == claims.kwik_impersonator_ver
                            && crate::builtin::Impersonification::names()
                                .iter()
                                .all(|name| granted.iter().any(|p| p == name))
                            // With tenancy on, the session ends when the users no longer share a
                            // tenant (one was moved), unless the impersonator may switch tenants.
                            && (!state.settings.tenancy_enabled
                                || by.tenant_id == user.tenant_id
                                || granted.iter().any(|p| p == TENANT_SWITCH))
                    },
                );
                if !still_entitled {
                    return Err(Error::InvalidToken);
                }
            }
            Ok(CurrentUser { user, permissions, claims: Some(claims), request_id: None, tenant_id: None })
        }
        Credentials::ApiKey(ApiKeyHeader(key)) => authenticate_api_key(state, &key.key).await,
    }
}

/// Kwik: a token whose `sub` names no user is 403 `Not enough privileges`.
async fn load(state: &AppState, user_id: i64) -> Result<LoadedPrincipal> {
    state.principals.principal(&state.db, user_id).await?.ok_or(Error::AccessDenied)
}

/// The marker of Kwik's own API keys (`tbk_...`), whose rows are found by the SHA-256 of the whole
/// key (Kwik stores that in `api_keys.key_hash`; it has no lookup prefix).
const KWIK_KEY_MARKER: &str = "tbk_";

/// API keys: ours found by prefix, Kwik's (`tbk_`, migrated from a Kwik database) by the SHA-256
/// of the key; compared in constant time, refused when revoked or expired. `last_used_at` is
/// written at most once a minute per key, so keys do not turn every read into a write.
async fn authenticate_api_key(state: &AppState, key: &str) -> Result<CurrentUser> {
    let mut query = Query::select()
        .columns(["id", "user_id", "key_hash", "expires_at", "last_used_at", "revoked_at"])
        .from("api_keys")
        .to_owned();
    let lookup = if let Some(prefix) = ApiKey::parse_prefix(key) {
        query.and_where(Expr::col("prefix").eq(prefix));
        format!("prefix:{prefix}")
    } else if key.starts_with(KWIK_KEY_MARKER) && key.len() <= 256 {
        let hash = ApiKey::hash_key(key);
        query.and_where(Expr::col("key_hash").eq(hash.clone()));
        format!("hash:{hash}")
    } else {
        return Err(Error::InvalidToken);
    };
    let row = state.principals.api_key(&state.db, &lookup, &query).await?.ok_or(Error::InvalidToken)?;
    let now = kwik_core::now();
    if !ApiKey::verify(key, &row.key_hash) || row.revoked_at.is_some() || row.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::InvalidToken);
    }
    let LoadedPrincipal { user, permissions } = load(state, row.user_id).await?;
    if !user.is_active {
        return Err(Error::InactiveUser);
    }
    if row.last_used_at.is_none_or(|at| now - at > chrono::Duration::seconds(60)) {
        let touch = Query::update()
            .table("api_keys")
            .value("last_used_at", now)
            .and_where(Expr::col("id").eq(row.id))
            .to_owned();
        state.db.clone().execute(&touch).await?;
        state.principals.touched_api_key(&lookup, now);
    }
    Ok(CurrentUser { user, permissions, claims: None, request_id: None, tenant_id: None })
}
