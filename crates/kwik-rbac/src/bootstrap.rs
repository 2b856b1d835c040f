//! Idempotent start-up bootstrap: built-in and module permissions, the `admin` role holding them
//! all, and the first superuser in it — the equivalent of Kwik's `admin_user` fixture.

use kwik_auth::PasswordHasher;
use kwik_core::{Context, Db, Result};
use sea_query::{Expr, OnConflict, Query};

use crate::audit::{insert_audit_values, set_values, with_audit};
use crate::{permissions, roles, users};
use kwik_core::Queries;

/// Kwik's built-in permission names (its `Permissions` enum; `impersonification` is Kwik's spelling).
pub const BUILTIN_PERMISSIONS: [&str; 14] = [
    "impersonification",
    "user_create",
    "user_read",
    "user_update",
    "user_delete",
    "password_reset",
    "permission_create",
    "permission_read",
    "permission_update",
    "permission_delete",
    "role_create",
    "role_read",
    "role_update",
    "role_delete",
];

/// The role that holds every permission.
pub const ADMIN_ROLE: &str = "admin";

/// Ensures, in one transaction: every built-in permission and every name in `extra`
/// (feature modules' permissions) exists once; the `admin` role exists and holds them all;
/// a user with `superuser_email` exists (created with `superuser_password`, name and surname
/// `admin`, bypassing the password policy as Kwik's fixture does) and is in `admin`.
/// Existing rows are left as they are: a changed superuser password is never overwritten.
/// Safe to run concurrently from several instances (inserts ignore conflicts).
///
/// # Errors
/// Database errors; hashing errors.
pub async fn bootstrap(
    db: &Db,
    hasher: &PasswordHasher,
    superuser_email: &str,
    superuser_password: &str,
    extra: &[&str],
) -> Result<()> {
    let mut ctx = Context::begin(db, None).await?;
    let mut permission_ids = Vec::new();
    for name in BUILTIN_PERMISSIONS.iter().chain(extra) {
        permission_ids.push(permissions::ensure(&mut ctx, name).await?);
    }

    let mut insert_role = Query::insert()
        .into_table("roles")
        .columns(with_audit(&["name", "is_active"]))
        .on_conflict(OnConflict::column("name").do_nothing().to_owned())
        .to_owned();
    let mut values = vec![Expr::val(ADMIN_ROLE), Expr::val(true)];
    values.extend(insert_audit_values(&ctx));
    set_values(&mut insert_role, values)?;
    ctx.tx.execute(&insert_role).await?;
    let admin = roles::by_name(&mut ctx.tx, ADMIN_ROLE)
        .await?
        .ok_or_else(|| kwik_core::Error::Internal("admin role missing after insert".to_owned()))?;
    for id in permission_ids {
        roles::add_permission(&mut ctx, admin.id, id).await?;
    }

    let existing = users::by_email(&mut ctx.tx, superuser_email).await?;
    let superuser = if let Some(user) = existing {
        user
    } else {
        {
            let hashed_password = hasher.hash(superuser_password).await?;
            let mut insert = Query::insert()
                .into_table("users")
                .columns(with_audit(&["name", "surname", "email", "hashed_password", "is_active", "token_version"]))
                .on_conflict(OnConflict::column("email").do_nothing().to_owned())
                .to_owned();
            let mut values = vec![
                Expr::val("admin"),
                Expr::val("admin"),
                Expr::val(superuser_email),
                Expr::val(hashed_password),
                Expr::val(true),
                Expr::val(0i64),
            ];
            values.extend(insert_audit_values(&ctx));
            set_values(&mut insert, values)?;
            ctx.tx.execute(&insert).await?;
            tracing::info!(email = superuser_email, "first superuser created");
            users::by_email(&mut ctx.tx, superuser_email)
                .await?
                .ok_or_else(|| kwik_core::Error::Internal("superuser missing after insert".to_owned()))?
        }
    };
    roles::add_user(&mut ctx, admin.id, superuser.id).await?;
    ctx.commit().await
}

/// Makes `email` an active administrator with this password hash: creates the user if needed,
/// reactivates it, sets the password (revoking its old tokens) and assigns the `admin` role.
/// Used by `kwik-server create-superuser`. Run [`bootstrap`] first so that `admin` exists.
///
/// # Errors
/// Database errors; [`kwik_core::Error::Internal`] when the `admin` role is missing.
pub async fn ensure_superuser(db: &Db, email: &str, hashed_password: &str) -> Result<()> {
    let mut ctx = Context::begin(db, None).await?;
    let admin = roles::by_name(&mut ctx.tx, ADMIN_ROLE).await?.ok_or_else(|| {
        kwik_core::Error::Internal("the admin role does not exist; run the migrations first".to_owned())
    })?;
    let user = match users::by_email(&mut ctx.tx, email).await? {
        Some(user) => {
            users::update(&mut ctx, user.id, users::UserPatch { is_active: Some(true), ..Default::default() }).await?;
            users::set_password(&mut ctx, user.id, hashed_password).await?
        }
        None => {
            let new = users::NewUser {
                name: "admin".to_owned(),
                surname: "admin".to_owned(),
                email: email.to_owned(),
                hashed_password: hashed_password.to_owned(),
                is_active: true,
            };
            users::create(&mut ctx, new).await?
        }
    };
    roles::add_user(&mut ctx, admin.id, user.id).await?;
    ctx.commit().await
}
