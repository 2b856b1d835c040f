//! [`Context`]: the request scope data-access code runs in — a transaction (or, for reads, the
//! pool) and the [`Principal`] acting (Kwik's `UserCtx` / `NoUserCtx`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, SubsecRound, Utc};

use crate::db::{Backend, Db, Queries, Tx};
use crate::error::Result;

/// The PostgreSQL setting that carries a transaction's tenant for row-level security policies.
pub const TENANT_SETTING: &str = "kwik.tenant_id";

/// Who is acting in a request: the user, their effective permission names, and, in an
/// impersonation session, the impersonator. Built by kwik-http from the authenticated request
/// (`Auth::principal`); cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The acting user (the impersonated one in an impersonation session).
    pub user_id: i64,
    /// Effective permission names, through the user's active roles.
    pub permissions: Arc<[String]>,
    /// The user who is impersonating `user_id`, if any.
    pub impersonator: Option<i64>,
    /// With multi-tenancy on, the tenant the principal acts in: rows of tenant-scoped resources
    /// outside it do not exist for this principal. `None` with tenancy off.
    pub tenant_id: Option<i64>,
}

impl Principal {
    /// A principal with these permissions and no impersonator.
    pub fn new(user_id: i64, permissions: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            user_id,
            permissions: permissions.into_iter().map(Into::into).collect(),
            impersonator: None,
            tenant_id: None,
        }
    }

    /// Kwik's `has_permission`: whether the principal holds the permission named.
    pub fn has_permission(&self, name: &str) -> bool {
        self.permissions.iter().any(|p| p == name)
    }
}

/// One request scope: a transaction (or the pool, for [`Context::read`]) plus who is acting.
/// Every AutoCrud operation runs in one, so scoping rules (`AutoCrud::base_query`) can see the
/// principal. Commit a write scope with [`Context::commit`]; dropped without committing,
/// everything rolls back, so an error anywhere in a request leaves the database as it was.
#[derive(Debug)]
pub struct Context {
    /// The open transaction ([`Tx::Autocommit`] for read scopes). Run sea-query statements on it
    /// with [`Queries`].
    pub tx: Tx,
    /// The acting user (for audit fields), or `None` for system work (bootstrap, seeds, jobs).
    pub user_id: Option<i64>,
    /// The authenticated principal, when the scope was opened for one.
    pub principal: Option<Principal>,
    /// The request's id (`X-Request-Id`), recorded in audit-log entries; `None` outside requests.
    pub request_id: Option<Arc<str>>,
    /// The tenant tenant-scoped resources are restricted to (the principal's, with tenancy on);
    /// `None`: every tenant (tenancy off, system scopes).
    pub tenant_id: Option<i64>,
    /// Whether this scope changed what principals are made of ([`Context::principals_changed`]).
    changes_principals: bool,
    /// The database the scope runs on, whose principal-change counter a commit advances.
    db: Db,
}

/// For each database this process uses, how many committed scopes changed what principals are
/// made of: see [`principal_changes`].
static PRINCIPAL_CHANGES: LazyLock<Mutex<HashMap<String, Arc<AtomicU64>>>> = LazyLock::new(Mutex::default);

/// The counter of committed scopes of this process that changed what principals are made of in
/// `db`'s database ([`Context::principals_changed`]). Caches of principals remember its value
/// when they load an entry and drop the entry when it moved. Pools on the same database share
/// one counter; other databases (other tests' ones, say) have their own.
pub fn principal_changes(db: &Db) -> Arc<AtomicU64> {
    let key = db.identity();
    let mut counters = PRINCIPAL_CHANGES.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    counters.entry(key).or_default().clone()
}

impl Context {
    /// Opens a write transaction on `db` for `user_id` (no permissions known: see
    /// [`Context::has_permission`]). For requests prefer [`Context::write`] with the principal.
    ///
    /// # Errors
    /// [`Error::Unavailable`](crate::Error::Unavailable) when no connection is free in time.
    pub async fn begin(db: &Db, user_id: Option<i64>) -> Result<Self> {
        Ok(Self {
            tx: db.begin_write().await?,
            user_id,
            principal: None,
            request_id: None,
            tenant_id: None,
            changes_principals: false,
            db: db.clone(),
        })
    }

    /// Opens a write transaction on `db` for `principal` (on SQLite it takes the write lock up
    /// front, `BEGIN IMMEDIATE`). With a tenant, on PostgreSQL, the transaction carries it for
    /// the row-level security policies ([`Context::set_tenant_setting`]).
    ///
    /// # Errors
    /// [`Error::Unavailable`](crate::Error::Unavailable) when no connection is free in time.
    pub async fn write(db: &Db, principal: Principal) -> Result<Self> {
        let mut ctx = Self {
            tx: db.begin_write().await?,
            user_id: Some(principal.user_id),
            tenant_id: principal.tenant_id,
            principal: Some(principal),
            request_id: None,
            changes_principals: false,
            db: db.clone(),
        };
        ctx.set_tenant_setting().await?;
        Ok(ctx)
    }

    /// A read scope for `principal`: no transaction, each statement on a pooled connection and
    /// its own snapshot. AutoCrud's `get` and `get_multi` are one statement each (a list's count
    /// and page included), so each answer is consistent; a nested list checks its parent in a
    /// statement of its own first.
    pub fn read(db: &Db, principal: Principal) -> Self {
        Self {
            tx: Tx::Autocommit(db.clone()),
            user_id: Some(principal.user_id),
            tenant_id: principal.tenant_id,
            principal: Some(principal),
            request_id: None,
            changes_principals: false,
            db: db.clone(),
        }
    }

    /// The read scope requests use: [`Context::read`], except for a principal with a tenant on
    /// PostgreSQL, whose reads run in a transaction carrying the tenant so that the row-level
    /// security policies apply to them too (it is never committed: dropping it ends it).
    ///
    /// # Errors
    /// [`Error::Unavailable`](crate::Error::Unavailable) when no connection is free in time.
    pub async fn read_in_tenant(db: &Db, principal: Principal) -> Result<Self> {
        if principal.tenant_id.is_some() && db.backend() == Backend::Postgres {
            Self::write(db, principal).await
        } else {
            Ok(Self::read(db, principal))
        }
    }

    /// On PostgreSQL, in a transaction with a tenant: `set_config('kwik.tenant_id', <tenant>,
    /// true)`, the per-transaction setting the row-level security policies of tenant-scoped
    /// tables compare `tenant_id` with (defence in depth under the queries' own tenant filter).
    /// Nothing otherwise.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_tenant_setting(&mut self) -> Result<()> {
        let Some(tenant) = self.tenant_id else { return Ok(()) };
        if self.backend() != Backend::Postgres || !self.tx.is_transaction() {
            return Ok(());
        }
        let set = sea_query::Query::select()
            .expr(sea_query::Func::cust("set_config").args([
                sea_query::Expr::val(TENANT_SETTING),
                sea_query::Expr::val(tenant.to_string()),
                sea_query::Expr::val(true),
            ]))
            .to_owned();
        self.tx.execute(&set).await.map(drop)
    }

    /// A system scope (seeds, jobs, tests): no user, every permission, on `db`'s pool without a
    /// transaction. Use [`Context::begin`] with `None` for a transactional one.
    pub fn system(db: &Db) -> Self {
        Self {
            tx: Tx::Autocommit(db.clone()),
            user_id: None,
            principal: None,
            request_id: None,
            tenant_id: None,
            changes_principals: false,
            db: db.clone(),
        }
    }

    /// Whether the scope may act under the permission `name`: the principal's permissions when
    /// there is one; `true` for system scopes (no user at all); `false` for a scope opened with
    /// only a user id ([`Context::begin`] with `Some`), whose permissions are unknown.
    pub fn has_permission(&self, name: &str) -> bool {
        match (&self.principal, self.user_id) {
            (Some(principal), _) => principal.has_permission(name),
            (None, None) => true,
            (None, Some(_)) => false,
        }
    }

    /// The scope with the request's id, for the audit log.
    #[must_use]
    pub fn with_request_id(mut self, request_id: Option<Arc<str>>) -> Self {
        self.request_id = request_id;
        self
    }

    /// The impersonator, in an impersonation session.
    pub fn impersonator(&self) -> Option<i64> {
        self.principal.as_ref().and_then(|p| p.impersonator)
    }

    /// Marks the scope as changing what authenticated principals are made of (a user's token
    /// version, active flag, tenant or profile; roles, grants, permissions, API keys): once it
    /// commits, this process's principal caches drop what they hold ([`principal_changes`]).
    /// kwik-rbac's functions call it; other instances learn of the change through the database
    /// (see the handbook's "Principal cache"). Call it after the statements: in a scope
    /// without a transaction ([`Context::system`]) they are committed already, and the caches
    /// are told at once.
    ///
    /// Hand-written SQL on the tables principals are made of (`users`, `roles`, `permissions`,
    /// `users_roles`, `roles_permissions`, `api_keys`) reaches every instance's cache through the
    /// database anyway; marking the scope makes it visible to this instance's very next request:
    ///
    /// ```no_run
    /// use kwik_core::{Context, Db, Queries, Result};
    /// use sea_query::{Expr, ExprTrait, Query};
    ///
    /// /// Deactivates every user of a customer account (hand-written SQL on `users`).
    /// async fn suspend_account(db: &Db, account: i64) -> Result<()> {
    ///     let mut ctx = Context::begin(db, None).await?;
    ///     let update = Query::update()
    ///         .table("users")
    ///         .value("is_active", false)
    ///         .and_where(Expr::col("account_id").eq(account))
    ///         .to_owned();
    ///     ctx.tx.execute(&update).await?;
    ///     ctx.principals_changed();
    ///     ctx.commit().await
    /// }
    /// ```
    pub fn principals_changed(&mut self) {
        if self.tx.is_transaction() {
            self.changes_principals = true;
        } else {
            principal_changes(&self.db).fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Commits the transaction (nothing to do for a read scope).
    ///
    /// # Errors
    /// The database error.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        if self.changes_principals {
            principal_changes(&self.db).fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Which engine the scope runs on.
    pub fn backend(&self) -> Backend {
        self.tx.backend()
    }
}

/// The current time for audit fields, truncated to microseconds so that it round-trips exactly
/// through PostgreSQL `TIMESTAMPTZ` and SQLite text alike. Timestamps are set in Rust, never by
/// database defaults, so both backends store the same value.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
