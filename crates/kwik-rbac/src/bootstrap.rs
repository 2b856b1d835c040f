//! Idempotent start-up bootstrap: built-in and module permissions, the `admin` role holding them
//! all, and the first superuser in it — the equivalent of Kwik's `admin_user` fixture.

use kwik_auth::PasswordHasher;
use kwik_core::{Context, Db, Result};
use sea_query::{Expr, OnConflict, Query};

use crate::statements::{insert_audit_values, set_values, with_audit};
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

/// The name the administrator role is created with. Bootstrap finds it by its
/// [`ADMIN_SYSTEM_KEY`], never by name, and the API refuses to rename, deactivate or delete it.
pub const ADMIN_ROLE: &str = "admin";
/// The `roles.system_key` of the administrator role (the one that holds every permission).
pub const ADMIN_SYSTEM_KEY: &str = "admin";
/// The `users.system_key` of the user bootstrap created from `KWIK_FIRST_SUPERUSER`.
pub const FIRST_SUPERUSER_SYSTEM_KEY: &str = "first_superuser";

/// Ensures, in one transaction: every built-in permission and every name in `extra`
/// (feature modules' permissions) exists once; the administrator role exists and holds every
/// permission (those created through the API too); the first superuser exists.
///
/// Rows are identified by stable markers (`system_key`) that no API call can set or change, not by
/// their names, so renaming a role to `admin` or taking the `KWIK_FIRST_SUPERUSER` email grants
/// nothing at the next start:
/// - the administrator role is the role marked [`ADMIN_SYSTEM_KEY`]; it is created (named
///   [`ADMIN_ROLE`]) only when no role has the marker;
/// - the first superuser is created (with `superuser_password`, name and surname `admin`,
///   bypassing the password policy as Kwik's fixture does) and put in the administrator role only
///   when no user has the [`FIRST_SUPERUSER_SYSTEM_KEY`] marker. A database bootstrapped before the
///   markers gets the marker on the user with `superuser_email`, without any new grant. Once it
///   exists it is never touched again: a changed password or email is never overwritten.
///
/// Safe to run concurrently from several instances (inserts ignore conflicts).
///
/// # Errors
/// Database errors; hashing errors; [`kwik_core::Error::Internal`] when a role named `admin`
/// exists without the marker (rename it, then restart).
pub async fn bootstrap(
    db: &Db,
    hasher: &PasswordHasher,
    superuser_email: &str,
    superuser_password: &str,
    extra: &[&str],
) -> Result<()> {
    let mut ctx = Context::begin(db, None).await?;
    for name in BUILTIN_PERMISSIONS.iter().chain(extra) {
        permissions::ensure(&mut ctx, name).await?;
    }

    let admin = ensure_admin_role(&mut ctx).await?;
    // Every permission, declared or created through the API: the role holds them all.
    for id in permissions::all_ids(&mut ctx.tx).await? {
        roles::add_permission(&mut ctx, admin.id, id).await?;
    }

    if users::by_system_key(&mut ctx.tx, FIRST_SUPERUSER_SYSTEM_KEY).await?.is_none() {
        if let Some(existing) = users::by_email(&mut ctx.tx, superuser_email).await? {
            // Bootstrapped before the markers existed: adopt it, grant nothing new.
            users::set_system_key(&mut ctx, existing.id, FIRST_SUPERUSER_SYSTEM_KEY).await?;
        } else {
            let hashed_password = hasher.hash(superuser_password).await?;
            let mut insert = Query::insert()
                .into_table("users")
                .columns(with_audit(&[
                    "name",
                    "surname",
                    "email",
                    "hashed_password",
                    "is_active",
                    "token_version",
                    "system_key",
                ]))
                .on_conflict(OnConflict::new().do_nothing().to_owned())
                .to_owned();
            let mut values = vec![
                Expr::val("admin"),
                Expr::val("admin"),
                Expr::val(superuser_email),
                Expr::val(hashed_password),
                Expr::val(true),
                Expr::val(0i64),
                Expr::val(FIRST_SUPERUSER_SYSTEM_KEY),
            ];
            values.extend(insert_audit_values(&ctx));
            set_values(&mut insert, values)?;
            if ctx.tx.execute(&insert).await? == 1 {
                tracing::info!(email = superuser_email, "first superuser created");
                let superuser = users::by_system_key(&mut ctx.tx, FIRST_SUPERUSER_SYSTEM_KEY)
                    .await?
                    .ok_or_else(|| kwik_core::Error::Internal("superuser missing after insert".to_owned()))?;
                roles::add_user(&mut ctx, admin.id, superuser.id).await?;
            }
        }
    }
    ctx.commit().await
}

/// The administrator role, created (named [`ADMIN_ROLE`], marked [`ADMIN_SYSTEM_KEY`]) when no
/// role has the marker.
async fn ensure_admin_role(ctx: &mut Context) -> Result<crate::Role> {
    if let Some(admin) = roles::admin(&mut ctx.tx).await? {
        return Ok(admin);
    }
    let mut insert_role = Query::insert()
        .into_table("roles")
        .columns(with_audit(&["name", "is_active", "system_key"]))
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    let mut values = vec![Expr::val(ADMIN_ROLE), Expr::val(true), Expr::val(ADMIN_SYSTEM_KEY)];
    values.extend(insert_audit_values(ctx));
    set_values(&mut insert_role, values)?;
    ctx.tx.execute(&insert_role).await?;
    roles::admin(&mut ctx.tx).await?.ok_or_else(|| {
        kwik_core::Error::Internal(format!(
            "a role named '{ADMIN_ROLE}' exists but is not the administrator role; rename it and restart"
        ))
    })
}

/// Makes `email` an active administrator with this password hash: creates the user if needed,
/// reactivates it, sets the password (revoking its old tokens and API keys) and assigns the
/// administrator role. Used by `kwik-server create-superuser` (an operator with shell access, the
/// way back in after a lockout). Run [`bootstrap`] first so that the role exists.
///
/// # Errors
/// Database errors; [`kwik_core::Error::Internal`] when the administrator role is missing.
pub async fn ensure_superuser(db: &Db, email: &str, hashed_password: &str) -> Result<()> {
    let mut ctx = Context::begin(db, None).await?;
    let admin = roles::admin(&mut ctx.tx).await?.ok_or_else(|| {
        kwik_core::Error::Internal("the admin role does not exist; run the migrations first".to_owned())
    })?;
    let user = match users::by_email(&mut ctx.tx, email).await? {
        Some(user) => {
            users::update(&mut ctx, user.id, users::UserPatch { is_active: Some(true), ..Default::default() }).await?;
            users::reset_password(&mut ctx, user.id, hashed_password).await?
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
