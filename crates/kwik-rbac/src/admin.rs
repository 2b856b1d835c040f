//! The administrator role, which bootstrap owns: finding it, and the rules that keep it whole
//! (it cannot be changed away, and it always keeps an active member).

use kwik_core::{Context, Error, Executor, Queries, Result};
use sea_query::{Expr, ExprTrait, Query};

use crate::models::Role;

const TABLE: &str = "roles";

/// The administrator role: the one bootstrap marked (see [`crate::bootstrap()`]), whatever its name.
///
/// # Errors
/// Database errors.
pub async fn admin(exec: &mut impl Executor) -> Result<Option<Role>> {
    exec.fetch_optional(
        crate::tables::roles().and_where(Expr::col((TABLE, "system_key")).eq(crate::bootstrap::ADMIN_SYSTEM_KEY)),
    )
    .await
}

/// A 409 when `role_id` is the administrator role, which bootstrap owns: `doing` says what was
/// refused.
pub(crate) async fn refuse_for_admin(ctx: &mut Context, role_id: i64, doing: &str) -> Result<()> {
    if admin(&mut ctx.tx).await?.is_some_and(|admin| admin.id == role_id) {
        return Err(Error::Conflict(format!("The admin role cannot be {doing}")));
    }
    Ok(())
}

/// Refuses (409) a change that would leave the administrator role without an active member:
/// `leaving` is the user about to be deactivated or removed from it. Nothing is refused when that
/// user is not an active member (the change does not reduce the count). On PostgreSQL the
/// administrator role's row is locked first, so two administrators removing each other at once
/// are serialized (on SQLite, write transactions already are).
///
/// # Errors
/// [`Error::Conflict`]; database errors.
pub async fn keep_an_active_administrator(ctx: &mut Context, leaving: i64) -> Result<()> {
    let Some(admin) = admin(&mut ctx.tx).await? else { return Ok(()) };
    if ctx.backend() == kwik_core::Backend::Postgres {
        let lock = Query::select()
            .column("id")
            .from(TABLE)
            .and_where(Expr::col("id").eq(admin.id))
            .lock(sea_query::LockType::Update)
            .to_owned();
        ctx.tx.fetch_i64(&lock).await?;
    }
    let active_members = |excluding: Option<i64>| {
        let mut count = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from("users_roles")
            .inner_join("users", Expr::col(("users", "id")).equals(("users_roles", "user_id")))
            .and_where(Expr::col(("users_roles", "role_id")).eq(admin.id))
            .and_where(Expr::col(("users", "is_active")).eq(true))
            .to_owned();
        if let Some(user) = excluding {
            count.and_where(Expr::col(("users", "id")).ne(user));
        }
        count
    };
    let all = ctx.tx.fetch_i64(&active_members(None)).await?;
    let others = ctx.tx.fetch_i64(&active_members(Some(leaving))).await?;
    if all > others && others == 0 {
        return Err(Error::Conflict(
            "The last active member of the admin role cannot be deactivated or removed from it".to_owned(),
        ));
    }
    Ok(())
}
