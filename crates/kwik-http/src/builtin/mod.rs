//! Kwik's built-in API (CONTRACT §3): login, users, roles, permissions — plus API keys and the
//! audit log.
//! Register it with `App::module(Builtin)`.

mod api_keys;
mod audit_log;
mod jobs;
mod login;
pub mod permission_sets;
mod permissions;
mod rank;
mod reset_email;
mod roles;
pub mod schemas;
mod tenants;
mod users;

pub use api_keys::{API_KEY_PERMISSIONS, ApiKeysApi};
pub use audit_log::{AuditLogApi, AuditLogEntryProfile, AuditLogRead};
pub use jobs::{JobManage, JobProfile, JobRead, JobStateName, JobsApi, RetryJob};
pub use login::{Impersonification, LoginApi};
pub use permissions::PermissionsApi;
pub use reset_email::{PASSWORD_RESET_EMAIL, PasswordResetEmail};
pub use roles::RolesApi;
pub use tenants::{TenantManage, TenantProfile, TenantsApi};
pub use users::UsersApi;

use crate::module::Module;

/// The permissions the built-in module adds to Kwik's: API keys, the audit log, tenants
/// (inert with multi-tenancy off), and background jobs.
pub const BUILTIN_MODULE_PERMISSIONS: [&str; 7] = [
    "api_key_read",
    "api_key_revoke",
    "audit_log_read",
    "tenant_manage",
    crate::auth::TENANT_SWITCH,
    "job_read",
    "job_manage",
];

/// The built-in module: Kwik's `/login`, `/users`, `/roles`, `/permissions` routers and our
/// `/api-keys`, `/audit-log`, `/tenants` and `/jobs`. Its migrations (users, roles, permissions, api keys, refresh tokens) and the
/// bootstrap of permissions and the first superuser run for every app, with or without it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Builtin;

impl Module for Builtin {
    type Api = (LoginApi, UsersApi, RolesApi, PermissionsApi, ApiKeysApi, AuditLogApi, TenantsApi, JobsApi);

    fn name(&self) -> &'static str {
        "builtin"
    }

    fn api(&self) -> Self::Api {
        (LoginApi, UsersApi, RolesApi, PermissionsApi, ApiKeysApi, AuditLogApi, TenantsApi, JobsApi)
    }

    fn permissions(&self) -> &'static [&'static str] {
        &BUILTIN_MODULE_PERMISSIONS
    }

    fn jobs(&self) -> &'static [kwik_jobs::JobDef] {
        const JOBS: &[kwik_jobs::JobDef] =
            &[kwik_jobs::job::<PasswordResetEmail>(), kwik_jobs::job::<kwik_mail::SendEmail>()];
        JOBS
    }
}
