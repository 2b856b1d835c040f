//! The SELECTs of the RBAC tables, shared by their repositories so that `users`, `roles` and
//! `permissions` never import one another to read a row.

use sea_query::{Expr, Order, Query, SelectStatement};

/// Columns of `users`.
const USERS: [&str; 12] = [
    "id",
    "name",
    "surname",
    "email",
    "hashed_password",
    "is_active",
    "token_version",
    "creation_time",
    "last_modification_time",
    "creator_user_id",
    "last_modifier_user_id",
    "tenant_id",
];

/// Columns of `roles`.
const ROLES: [&str; 7] =
    ["id", "name", "is_active", "creation_time", "last_modification_time", "creator_user_id", "last_modifier_user_id"];

/// Columns of `permissions`.
const PERMISSIONS: [&str; 6] =
    ["id", "name", "creation_time", "last_modification_time", "creator_user_id", "last_modifier_user_id"];

/// Every user column.
pub(crate) fn users() -> SelectStatement {
    Query::select().columns(USERS.map(|c| ("users", c))).from("users").to_owned()
}

/// All users, in id order (role member lists).
pub(crate) fn users_by_id() -> SelectStatement {
    users().order_by(("users", "id"), Order::Asc).to_owned()
}

/// Roles with their `user_count` (users assigned, any status).
pub(crate) fn roles() -> SelectStatement {
    Query::select()
        .columns(ROLES.map(|c| ("roles", c)))
        .expr_as(Expr::cust("(SELECT COUNT(*) FROM users_roles WHERE users_roles.role_id = roles.id)"), "user_count")
        .from("roles")
        .to_owned()
}

/// Every permission column.
pub(crate) fn permissions() -> SelectStatement {
    Query::select().columns(PERMISSIONS.map(|c| ("permissions", c))).from("permissions").to_owned()
}
