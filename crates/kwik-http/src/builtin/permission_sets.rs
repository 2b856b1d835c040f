//! Kwik's built-in permissions as types for [`Auth`](crate::Auth).

use crate::permission;

permission!(/** `user_create` */ pub UserCreate = "user_create");
permission!(/** `user_read` */ pub UserRead = "user_read");
permission!(/** `user_update` */ pub UserUpdate = "user_update");
permission!(/** `user_delete` */ pub UserDelete = "user_delete");
permission!(/** `password_reset` */ pub PasswordReset = "password_reset");
permission!(/** `role_create` */ pub RoleCreate = "role_create");
permission!(/** `role_read` */ pub RoleRead = "role_read");
permission!(/** `role_update` */ pub RoleUpdate = "role_update");
permission!(/** `role_delete` */ pub RoleDelete = "role_delete");
permission!(/** `permission_create` */ pub PermissionCreate = "permission_create");
permission!(/** `permission_read` */ pub PermissionRead = "permission_read");
permission!(/** `permission_update` */ pub PermissionUpdate = "permission_update");
permission!(/** `permission_delete` */ pub PermissionDelete = "permission_delete");
