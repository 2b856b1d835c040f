//! Request and response bodies of the built-in API, with Kwik's field names (CONTRACT §2).

use kwik_core::ValidationIssue;
use kwik_rbac::{Permission, Role, User, normalize};
use poem_openapi::{Object, Tags};
use serde::Deserialize;

use crate::body::{Rules, Validate};
use crate::lenient;

/// Operation groups in the docs.
#[derive(Tags)]
pub enum BuiltinTags {
    /// Tokens: login, refresh, impersonation, password recovery.
    Login,
    /// Users and their roles and permissions.
    Users,
    /// Roles and their users and permissions.
    Roles,
    /// Permissions.
    Permissions,
    /// API keys.
    ApiKeys,
    /// The audit log.
    AuditLog,
    /// Tenants (multi-tenancy).
    Tenants,
    /// Background jobs.
    Jobs,
}

/// A user as returned by the API. Password hashes are never returned.
#[derive(Debug, Clone, Object)]
pub struct UserProfile {
    /// User id.
    pub id: i64,
    /// First name.
    pub name: String,
    /// Last name.
    pub surname: String,
    /// Email.
    pub email: String,
    /// Whether the user can log in.
    pub is_active: bool,
}

impl From<User> for UserProfile {
    fn from(u: User) -> Self {
        Self { id: u.id, name: u.name, surname: u.surname, email: u.email, is_active: u.is_active }
    }
}

/// A role with the number of users assigned (any status).
#[derive(Debug, Clone, Object)]
pub struct RoleProfile {
    /// Role id.
    pub id: i64,
    /// Normalised name.
    pub name: String,
    /// An inactive role grants nothing.
    pub is_active: bool,
    /// Users assigned.
    pub user_count: i64,
}

impl From<Role> for RoleProfile {
    fn from(r: Role) -> Self {
        Self { id: r.id, name: r.name, is_active: r.is_active, user_count: r.user_count }
    }
}

/// A permission.
#[derive(Debug, Clone, Object)]
pub struct PermissionProfile {
    /// Permission id.
    pub id: i64,
    /// Normalised name, e.g. `user_read`.
    pub name: String,
}

impl From<Permission> for PermissionProfile {
    fn from(p: Permission) -> Self {
        Self { id: p.id, name: p.name }
    }
}

/// Kwik's token response, plus (ours) a refresh token when one was issued.
#[derive(Debug, Clone, Object)]
pub struct Token {
    /// The access token (JWT, HS256).
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// A refresh token for `POST /login/refresh` (not part of Kwik's response; Kwik clients ignore it).
    #[oai(skip_serializing_if_is_none)]
    pub refresh_token: Option<String>,
}

/// `{"msg": "..."}`.
#[derive(Debug, Clone, Object)]
pub struct Message {
    /// What happened.
    pub msg: String,
}

fn default_true() -> bool {
    true
}

fn name_issue(value: &str, field: &'static str, issues: &mut Vec<ValidationIssue>) {
    if let Err(issue) = normalize::name(value, &["body", field]) {
        issues.push(issue);
    }
}

fn person_issue(value: &str, field: &'static str, issues: &mut Vec<ValidationIssue>) {
    if let Err(issue) = normalize::person_name(value, &["body", field]) {
        issues.push(issue);
    }
}

fn email_issue(value: &str, issues: &mut Vec<ValidationIssue>) {
    if let Err(issue) = normalize::email(value, &["body", "email"]) {
        issues.push(issue);
    }
}

fn password_issue(rules: Rules, value: &str, field: &'static str, issues: &mut Vec<ValidationIssue>) {
    if let Err(issue) = kwik_auth::PasswordPolicy::new(rules.password_min_length).check(value, &["body", field]) {
        issues.push(issue);
    }
}

fn at_least_one(set: &[bool], issues: &mut Vec<ValidationIssue>) {
    if !set.iter().any(|s| *s) {
        issues.push(ValidationIssue::new("value_error", &["body"], "Value error, at least one field must be provided"));
    }
}

/// `POST /users/`: a new user.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct UserRegistration {
    /// First name, non-empty.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: String,
    /// Last name, non-empty.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub surname: String,
    /// Email (domain lower-cased on save).
    pub email: String,
    /// At least `KWIK_PASSWORD_MIN_LENGTH` characters (the document states the default, 12), at
    /// most 72 UTF-8 bytes.
    #[oai(write_only, validator(min_length = 12))]
    pub password: String,
    /// Default true.
    #[oai(default = "default_true")]
    #[serde(default = "default_true", deserialize_with = "lenient::bool")]
    pub is_active: bool,
}

impl Validate for UserRegistration {
    fn validate(&self, rules: &Rules) -> Vec<ValidationIssue> {
        let mut issues = Vec::new();
        person_issue(&self.name, "name", &mut issues);
        person_issue(&self.surname, "surname", &mut issues);
        email_issue(&self.email, &mut issues);
        password_issue(*rules, &self.password, "password", &mut issues);
        issues
    }
}

/// `PUT /users/me`, `PUT /users/{id}`: at least one field.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct UserProfileUpdate {
    /// New first name.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub name: Option<String>,
    /// New last name.
    #[oai(validator(min_length = 1, max_length = 100))]
    pub surname: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New status; deactivating revokes the user's tokens.
    #[serde(default, deserialize_with = "lenient::option_bool")]
    pub is_active: Option<bool>,
}

impl Validate for UserProfileUpdate {
    fn validate(&self, _rules: &Rules) -> Vec<ValidationIssue> {
        let mut issues = Vec::new();
        at_least_one(
            &[self.name.is_some(), self.surname.is_some(), self.email.is_some(), self.is_active.is_some()],
            &mut issues,
        );
        if let Some(name) = &self.name {
            person_issue(name, "name", &mut issues);
        }
        if let Some(surname) = &self.surname {
            person_issue(surname, "surname", &mut issues);
        }
        if let Some(email) = &self.email {
            email_issue(email, &mut issues);
        }
        issues
    }
}

/// `PUT /users/me/password`, `PUT /users/{id}/password`.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct UserPasswordChange {
    /// The current password (not checked against the policy).
    #[oai(write_only)]
    pub old_password: String,
    /// The new password (policy applies: at least `KWIK_PASSWORD_MIN_LENGTH` characters).
    #[oai(write_only, validator(min_length = 12))]
    pub new_password: String,
}

impl Validate for UserPasswordChange {
    fn validate(&self, rules: &Rules) -> Vec<ValidationIssue> {
        let mut issues = Vec::new();
        password_issue(*rules, &self.new_password, "new_password", &mut issues);
        issues
    }
}

/// `PUT /users/{id}/reset-password`.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct AdminPasswordReset {
    /// The new password (policy applies: at least `KWIK_PASSWORD_MIN_LENGTH` characters).
    #[oai(write_only, validator(min_length = 12))]
    pub new_password: String,
}

impl Validate for AdminPasswordReset {
    fn validate(&self, rules: &Rules) -> Vec<ValidationIssue> {
        let mut issues = Vec::new();
        password_issue(*rules, &self.new_password, "new_password", &mut issues);
        issues
    }
}

/// `POST /roles/`.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct RoleDefinition {
    /// Name; trimmed and lower-cased.
    pub name: String,
    /// Whether the role grants its permissions.
    #[serde(deserialize_with = "lenient::bool")]
    pub is_active: bool,
}

impl Validate for RoleDefinition {
    fn validate(&self, _rules: &Rules) -> Vec<ValidationIssue> {
        let mut issues = Vec::new();
        name_issue(&self.name, "name", &mut issues);
        issues
    }
}

/// `PUT /roles/{id}`: at least one field.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct RoleUpdate {
    /// New name.
    pub name: Option<String>,
    /// New status.
    #[serde(default, deserialize_with = "lenient::option_bool")]
    pub is_active: Option<bool>,
}

impl Validate for RoleUpdate {
    fn validate(&self, _rules: &Rules) -> Vec<ValidationIssue> {
        let mut issues = Vec::new();
        at_least_one(&[self.name.is_some(), self.is_active.is_some()], &mut issues);
        if let Some(name) = &self.name {
            name_issue(name, "name", &mut issues);
        }
        issues
    }
}

/// `POST /permissions/`, `PUT /permissions/{id}` (and `POST /tenants/`, `PUT /tenants/{id}`).
#[derive(Debug, Clone, Object, Deserialize)]
pub struct PermissionDefinition {
    /// Name; trimmed and lower-cased.
    pub name: String,
}

impl Validate for PermissionDefinition {
    fn validate(&self, _rules: &Rules) -> Vec<ValidationIssue> {
        let mut issues = Vec::new();
        name_issue(&self.name, "name", &mut issues);
        issues
    }
}

/// `POST /roles/{id}/permissions`.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct RolePermissionAssignment {
    /// The permission to grant (`5` or `"5"`).
    #[serde(deserialize_with = "lenient::int")]
    pub permission_id: i64,
}

impl Validate for RolePermissionAssignment {}

/// `POST /roles/{id}/users` (and `POST /tenants/{id}/users`).
#[derive(Debug, Clone, Object, Deserialize)]
pub struct RoleUserAssignment {
    /// The user to assign (`5` or `"5"`).
    #[serde(deserialize_with = "lenient::int")]
    pub user_id: i64,
}

impl Validate for RoleUserAssignment {}

/// The OAuth2 password-flow form of `POST /login/access-token`.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct LoginForm {
    /// The user's email.
    pub username: String,
    /// The password.
    #[oai(write_only)]
    pub password: String,
    /// Must be `password` when given (RFC 6749 §4.3).
    pub grant_type: Option<String>,
    /// Ignored.
    pub scope: Option<String>,
    /// Ignored.
    pub client_id: Option<String>,
    /// Ignored.
    #[oai(write_only)]
    pub client_secret: Option<String>,
}

impl Validate for LoginForm {
    fn validate(&self, _rules: &Rules) -> Vec<ValidationIssue> {
        match self.grant_type.as_deref() {
            None | Some("password") => Vec::new(),
            Some(other) => vec![
                ValidationIssue::new(
                    "string_pattern_mismatch",
                    &["body", "grant_type"],
                    "String should match pattern '^password$'",
                )
                .with_input(other)
                .with_ctx(serde_json::json!({"pattern": "^password$"})),
            ],
        }
    }
}

/// `POST /login/reset-password`.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct ResetPassword {
    /// The password-reset token.
    #[oai(write_only)]
    pub token: String,
    /// The new password (policy applies: at least `KWIK_PASSWORD_MIN_LENGTH` characters).
    #[oai(write_only, validator(min_length = 12))]
    pub password: String,
}

impl Validate for ResetPassword {
    fn validate(&self, rules: &Rules) -> Vec<ValidationIssue> {
        let mut issues = Vec::new();
        password_issue(*rules, &self.password, "password", &mut issues);
        issues
    }
}

/// `POST /login/refresh`.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct RefreshRequest {
    /// The refresh token from login or the previous refresh.
    #[oai(write_only)]
    pub refresh_token: String,
}

impl Validate for RefreshRequest {}

/// `POST /login/password-recovery`.
#[derive(Debug, Clone, Object, Deserialize)]
pub struct PasswordRecovery {
    /// The account's email.
    pub email: String,
}

impl Validate for PasswordRecovery {}
