//! [`Scenario`]: users, roles and permissions declared up front and built in one call.

use std::collections::HashMap;

use kwik_auth::Claims;
use kwik_core::Context;
use kwik_rbac::{Permission, Role, permissions, roles, users};

use crate::app::TestApp;

/// A user created by a [`Scenario`], with the password it was given and a valid access token.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// The user's id.
    pub id: i64,
    /// The user's email (`<name>@example.com`).
    pub email: String,
    /// The user's password (`<name>-password-123`, policy-compliant).
    pub password: String,
    /// An access token minted for the user (valid until the user's tokens are revoked).
    pub token: String,
    /// Whether the user was created active.
    pub is_active: bool,
}

struct UserSpec {
    name: String,
    roles: Vec<String>,
    active: bool,
    admin: bool,
}

struct RoleSpec {
    name: String,
    permissions: Vec<String>,
    active: bool,
}

/// Declares the world a test needs:
///
/// ```ignore
/// let world = Scenario::new()
///     .permission("project_archive")
///     .role("editor", &["project_read", "project_update"])
///     .inactive_role("retired", &["project_delete"])
///     .user("alice", &["editor"])
///     .inactive_user("bob", &[])
///     .admin("root")
///     .build(&app)
///     .await;
/// let alice = world.user("alice");
/// ```
///
/// Permissions named by roles are created when missing. Everything is created in one transaction.
#[derive(Default)]
#[must_use]
pub struct Scenario {
    permissions: Vec<String>,
    roles: Vec<RoleSpec>,
    users: Vec<UserSpec>,
}

impl Scenario {
    /// An empty scenario.
    pub fn new() -> Self {
        Self::default()
    }

    /// A custom permission.
    pub fn permission(mut self, name: &str) -> Self {
        self.permissions.push(name.to_owned());
        self
    }

    /// An active role granting `permissions`.
    pub fn role(mut self, name: &str, permissions: &[&str]) -> Self {
        self.roles.push(RoleSpec { name: name.to_owned(), permissions: to_strings(permissions), active: true });
        self
    }

    /// An inactive role (grants nothing) with `permissions`.
    pub fn inactive_role(mut self, name: &str, permissions: &[&str]) -> Self {
        self.roles.push(RoleSpec { name: name.to_owned(), permissions: to_strings(permissions), active: false });
        self
    }

    /// An active user in `roles`.
    pub fn user(mut self, name: &str, roles: &[&str]) -> Self {
        self.users.push(UserSpec { name: name.to_owned(), roles: to_strings(roles), active: true, admin: false });
        self
    }

    /// An inactive user in `roles`.
    pub fn inactive_user(mut self, name: &str, roles: &[&str]) -> Self {
        self.users.push(UserSpec { name: name.to_owned(), roles: to_strings(roles), active: false, admin: false });
        self
    }

    /// An active user in the `admin` role (every permission).
    pub fn admin(mut self, name: &str) -> Self {
        self.users.push(UserSpec { name: name.to_owned(), roles: Vec::new(), active: true, admin: true });
        self
    }

    /// Creates everything in `app`'s database.
    ///
    /// # Panics
    /// On any database error (a name used twice, for example).
    pub async fn build(self, app: &TestApp) -> World {
        let state = app.state();
        let mut ctx = Context::begin(&state.db, None).await.unwrap_or_else(|e| panic!("scenario: {e}"));
        let mut world = World::default();
        let mut permission_names: Vec<String> = self.permissions.clone();
        for role in &self.roles {
            permission_names.extend(role.permissions.iter().cloned());
        }
        for name in permission_names {
            let id = permissions::ensure(&mut ctx, &name)
                .await
                .unwrap_or_else(|e| panic!("scenario permission {name}: {e}"));
            let permission =
                permissions::get_if_exist(&mut ctx.tx, id).await.unwrap_or_else(|e| panic!("scenario: {e}"));
            world.permissions.insert(name, permission);
        }
        for spec in &self.roles {
            let role = roles::create(&mut ctx, &spec.name, spec.active)
                .await
                .unwrap_or_else(|e| panic!("scenario role {}: {e}", spec.name));
            for name in &spec.permissions {
                let permission = &world.permissions[name];
                roles::add_permission(&mut ctx, role.id, permission.id)
                    .await
                    .unwrap_or_else(|e| panic!("scenario: {e}"));
            }
            world.roles.insert(spec.name.clone(), role);
        }
        let admin_role = roles::admin(&mut ctx.tx)
            .await
            .unwrap_or_else(|e| panic!("scenario: {e}"))
            .unwrap_or_else(|| panic!("scenario: the admin role is missing"));
        for spec in self.users {
            let password = format!("{}-password-123", spec.name);
            let hashed = state.hasher.hash(&password).await.unwrap_or_else(|e| panic!("scenario: {e}"));
            let email = format!("{}@example.com", spec.name);
            let new = users::NewUser {
                name: spec.name.clone(),
                surname: "Test".to_owned(),
                email: email.clone(),
                hashed_password: hashed,
                is_active: spec.active,
            };
            let user =
                users::create(&mut ctx, new).await.unwrap_or_else(|e| panic!("scenario user {}: {e}", spec.name));
            let mut role_ids: Vec<i64> = spec.roles.iter().map(|r| world.role(r).id).collect();
            if spec.admin {
                role_ids.push(admin_role.id);
            }
            for role_id in role_ids {
                roles::add_user(&mut ctx, role_id, user.id).await.unwrap_or_else(|e| panic!("scenario: {e}"));
            }
            let claims = Claims::access(user.id, user.token_version, state.settings.access_token_ttl(), None);
            let token = state.jwt.encode(&claims).unwrap_or_else(|e| panic!("scenario: {e}"));
            world.users.insert(spec.name, TestUser { id: user.id, email, password, token, is_active: spec.active });
        }
        ctx.commit().await.unwrap_or_else(|e| panic!("scenario: {e}"));
        world
    }
}

fn to_strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// What a [`Scenario`] built, by name.
#[derive(Default)]
pub struct World {
    users: HashMap<String, TestUser>,
    roles: HashMap<String, Role>,
    permissions: HashMap<String, Permission>,
}

impl World {
    /// The user declared as `name`.
    ///
    /// # Panics
    /// When no such user was declared.
    pub fn user(&self, name: &str) -> &TestUser {
        self.users.get(name).unwrap_or_else(|| panic!("no user {name:?} in the scenario"))
    }

    /// The role declared as `name`.
    ///
    /// # Panics
    /// When no such role was declared.
    pub fn role(&self, name: &str) -> &Role {
        self.roles.get(name).unwrap_or_else(|| panic!("no role {name:?} in the scenario"))
    }

    /// The permission declared (or named by a role) as `name`.
    ///
    /// # Panics
    /// When no such permission was declared.
    pub fn permission(&self, name: &str) -> &Permission {
        self.permissions.get(name).unwrap_or_else(|| panic!("no permission {name:?} in the scenario"))
    }
}
