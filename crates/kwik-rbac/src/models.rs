//! Rows of the RBAC tables.

use chrono::{DateTime, Utc};

/// A user (`users` table). `hashed_password` is never serialized or logged: `Debug` hides it.
#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// First name (non-empty).
    pub name: String,
    /// Last name (non-empty).
    pub surname: String,
    /// Email, unique, domain lower-cased (as Kwik's email-validator does).
    pub email: String,
    /// PHC string (argon2id; legacy bcrypt until the next successful login).
    pub hashed_password: String,
    /// Inactive users cannot log in and their tokens stop working.
    pub is_active: bool,
    /// Bumped on password change/reset and deactivation; tokens carry the version they were
    /// issued with, so older tokens are rejected.
    pub token_version: i64,
    /// Audit: when created (UTC).
    pub creation_time: DateTime<Utc>,
    /// Audit: when last modified (UTC).
    pub last_modification_time: DateTime<Utc>,
    /// Audit: who created it (None for the bootstrap or self-registration).
    pub creator_user_id: Option<i64>,
    /// Audit: who modified it last.
    pub last_modifier_user_id: Option<i64>,
    /// The user's tenant (multi-tenancy; `1`, the `default` tenant, unless assigned).
    pub tenant_id: i64,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("is_active", &self.is_active)
            .field("hashed_password", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A role (`roles` table) with the number of users assigned to it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Role {
    /// Primary key.
    pub id: i64,
    /// Normalised name (trimmed, lower-cased), unique.
    pub name: String,
    /// An inactive role grants nothing.
    pub is_active: bool,
    /// Users assigned, whatever their status (Kwik's `user_count`).
    pub user_count: i64,
    /// Audit: when created (UTC).
    pub creation_time: DateTime<Utc>,
    /// Audit: when last modified (UTC).
    pub last_modification_time: DateTime<Utc>,
    /// Audit: who created it.
    pub creator_user_id: Option<i64>,
    /// Audit: who modified it last.
    pub last_modifier_user_id: Option<i64>,
}

/// A permission (`permissions` table).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Permission {
    /// Primary key.
    pub id: i64,
    /// Normalised name (trimmed, lower-cased), unique, e.g. `user_read`.
    pub name: String,
    /// Audit: when created (UTC).
    pub creation_time: DateTime<Utc>,
    /// Audit: when last modified (UTC).
    pub last_modification_time: DateTime<Utc>,
    /// Audit: who created it.
    pub creator_user_id: Option<i64>,
    /// Audit: who modified it last.
    pub last_modifier_user_id: Option<i64>,
}

/// A tenant (`tenants` table; multi-tenancy). Tenant 1, `default`, always exists.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Tenant {
    /// Primary key.
    pub id: i64,
    /// Unique name (trimmed, lower-cased).
    pub name: String,
    /// Audit: when created (UTC).
    pub creation_time: DateTime<Utc>,
    /// Audit: when last modified (UTC).
    pub last_modification_time: DateTime<Utc>,
    /// Audit: who created it.
    pub creator_user_id: Option<i64>,
    /// Audit: who modified it last.
    pub last_modifier_user_id: Option<i64>,
}
