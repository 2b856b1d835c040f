//! No escalation through delegation: whoever grants a permission (to a role, a role to a user,
//! an inactive role back to life) or acts on another user's account (changing it, resetting its
//! password, impersonating it) must hold every permission that gives or that the user has. Kwik
//! checks only the endpoint's own permission, so a `password_reset` holder could take over the
//! superuser's account, and a `role_update` + `user_update` holder could join the admin role.
//! This is Django's rule that only a superuser makes superusers, generalised to every permission.

use kwik_core::{Error, Executor, Result};
use kwik_rbac::{roles, users};

use crate::auth::CurrentUser;

/// The 403 for a target that holds (or a grant that gives) more than the caller has.
fn outranked() -> Error {
    Error::Forbidden("Not enough privileges: that gives permissions you do not hold".to_owned())
}

/// Refuses unless the caller holds every permission in `names`.
///
/// # Errors
/// [`Error::Forbidden`] (403).
pub(crate) fn holds_all<'a>(caller: &CurrentUser, names: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let mut names = names.into_iter();
    if names.all(|name| caller.permissions.iter().any(|held| held == name)) { Ok(()) } else { Err(outranked()) }
}

/// Refuses unless the caller holds every permission user `target` holds (acting on oneself is
/// always allowed). An unknown user passes: the operation reports its own 404.
///
/// # Errors
/// [`Error::Forbidden`] (403); database errors.
pub(crate) async fn outranks(exec: &mut impl Executor, caller: &CurrentUser, target: i64) -> Result<()> {
    if target == caller.id() {
        return Ok(());
    }
    match users::principal(exec, target).await? {
        Some((_, permissions)) => holds_all(caller, permissions.iter().map(String::as_str)),
        None => Ok(()),
    }
}

/// Refuses unless the caller holds every permission role `role_id` grants (whether or not it is
/// active: activation would grant them).
///
/// # Errors
/// [`Error::Forbidden`] (403); database errors.
pub(crate) async fn holds_role(exec: &mut impl Executor, caller: &CurrentUser, role_id: i64) -> Result<()> {
    let granted = roles::permissions(exec, role_id).await?;
    holds_all(caller, granted.iter().map(|p| p.name.as_str()))
}
