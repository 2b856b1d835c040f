//! The `roles` table and its assignments (`roles_permissions`, `users_roles`).

use kwik_core::{Context, Error, Executor, Queries, Result};
use kwik_listing::{FieldSpec, FieldType, ListSchema, ListSpec};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};

use crate::models::{Permission, Role, User};
use crate::statements::{found, insert_audit_values, log, set_values, touch, with_audit};

use crate::admin::refuse_for_admin;
pub use crate::admin::{admin, keep_an_active_administrator};

const TABLE: &str = "roles";

/// The fields of a role the audit log records.
fn logged(role: &Role) -> [(&'static str, serde_json::Value); 2] {
    [("name", role.name.clone().into()), ("is_active", role.is_active.into())]
}

/// `(field, ids)` for an entry of links removed in bulk.
fn ids(field: &'static str, ids: Vec<i64>) -> [(&'static str, serde_json::Value); 1] {
    [(field, ids.into())]
}

/// Kwik's allow-list for `GET /roles/`: `id, name, is_active`.
pub static LIST: ListSchema = ListSchema::new(
    "Role",
    TABLE,
    "id",
    &[
        FieldSpec::new("id", FieldType::Int),
        FieldSpec::new("name", FieldType::Text),
        FieldSpec::new("is_active", FieldType::Bool),
    ],
);

fn select() -> SelectStatement {
    crate::tables::roles()
}

/// The role with this id.
///
/// # Errors
/// Database errors.
pub async fn get(exec: &mut impl Executor, id: i64) -> Result<Option<Role>> {
    exec.fetch_optional(select().and_where(Expr::col((TABLE, "id")).eq(id))).await
}

/// The role with this id, or Kwik's 404.
///
/// # Errors
/// [`Error::NotFound`]; database errors.
pub async fn get_if_exist(exec: &mut impl Executor, id: i64) -> Result<Role> {
    found(get(exec, id).await?, TABLE, id)
}

/// The role with this normalised name.
///
/// # Errors
/// Database errors.
pub async fn by_name(exec: &mut impl Executor, name: &str) -> Result<Option<Role>> {
    exec.fetch_optional(select().and_where(Expr::col((TABLE, "name")).eq(name))).await
}

/// Creates a role; a taken (normalised) name is a 409.
///
/// # Errors
/// [`Error::DuplicatedEntity`]; database errors.
pub async fn create(ctx: &mut Context, name: &str, is_active: bool) -> Result<Role> {
    if by_name(&mut ctx.tx, name).await?.is_some() {
        return Err(Error::duplicated());
    }
    let mut insert =
        Query::insert().into_table(TABLE).columns(with_audit(&["name", "is_active"])).returning_col("id").to_owned();
    let mut values = vec![Expr::val(name), Expr::val(is_active)];
    values.extend(insert_audit_values(ctx));
    set_values(&mut insert, values)?;
    let id = ctx.tx.fetch_i64(&insert).await?;
    let role = get_if_exist(&mut ctx.tx, id).await?;
    log(ctx, "create", TABLE, id, &[], &logged(&role)).await?;
    Ok(role)
}

/// Renames and/or (de)activates a role. Renaming to a name another role has is a 409 (Kwik
/// accepts it and breaks later: bug §9.3). The administrator role can be neither renamed nor
/// deactivated (409).
///
/// # Errors
/// [`Error::NotFound`], [`Error::DuplicatedEntity`], [`Error::Conflict`]; database errors.
pub async fn update(ctx: &mut Context, id: i64, name: Option<&str>, is_active: Option<bool>) -> Result<Role> {
    let current = get_if_exist(&mut ctx.tx, id).await?;
    if name.is_some_and(|name| name != current.name) {
        refuse_for_admin(ctx, id, "renamed").await?;
    }
    if is_active == Some(false) {
        refuse_for_admin(ctx, id, "deactivated").await?;
    }
    let mut update = Query::update().table(TABLE).and_where(Expr::col("id").eq(id)).to_owned();
    if let Some(name) = name {
        if name != current.name && by_name(&mut ctx.tx, name).await?.is_some() {
            return Err(Error::duplicated());
        }
        update.value("name", name);
    }
    if let Some(active) = is_active {
        update.value("is_active", active);
    }
    touch(&mut update, ctx);
    ctx.tx.execute(&update).await?;
    let role = get_if_exist(&mut ctx.tx, id).await?;
    log(ctx, "update", TABLE, id, &logged(&current), &logged(&role)).await?;
    Ok(role)
}

/// Deletes a role after detaching its users and permissions, in the caller's transaction, and
/// returns it as it was (Kwik answers 500 when links exist: bug §9.4). The administrator role
/// cannot be deleted (409).
///
/// # Errors
/// [`Error::NotFound`], [`Error::Conflict`]; database errors.
pub async fn delete(ctx: &mut Context, id: i64) -> Result<Role> {
    let role = get_if_exist(&mut ctx.tx, id).await?;
    refuse_for_admin(ctx, id, "deleted").await?;
    for link in ["roles_permissions", "users_roles"] {
        ctx.tx.execute(&Query::delete().from_table(link).and_where(Expr::col("role_id").eq(id)).to_owned()).await?;
    }
    ctx.tx.execute(&Query::delete().from_table(TABLE).and_where(Expr::col("id").eq(id)).to_owned()).await?;
    log(ctx, "delete", TABLE, id, &logged(&role), &[]).await?;
    Ok(role)
}

/// A page of roles and the number matching the filters.
///
/// # Errors
/// Database errors.
pub async fn list(exec: &mut impl Executor, spec: &ListSpec) -> Result<(i64, Vec<Role>)> {
    crate::statements::list_page(exec, spec, TABLE, select()).await
}

fn permission_link(role_id: i64) -> Expr {
    Expr::col(("roles_permissions", "role_id")).eq(role_id)
}

/// Permissions granted by the role.
///
/// # Errors
/// Database errors.
pub async fn permissions(exec: &mut impl Executor, role_id: i64) -> Result<Vec<Permission>> {
    let query = crate::tables::permissions()
        .inner_join(
            "roles_permissions",
            Expr::col(("roles_permissions", "permission_id")).equals(("permissions", "id")),
        )
        .and_where(permission_link(role_id))
        .order_by(("permissions", "id"), Order::Asc)
        .to_owned();
    exec.fetch_all(&query).await
}

/// Permissions the role does not grant.
///
/// # Errors
/// Database errors.
pub async fn available_permissions(exec: &mut impl Executor, role_id: i64) -> Result<Vec<Permission>> {
    let granted = Query::select()
        .column("permission_id")
        .from("roles_permissions")
        .and_where(Expr::col("role_id").eq(role_id))
        .to_owned();
    let query = crate::tables::permissions()
        .and_where(Expr::col(("permissions", "id")).not_in_subquery(granted))
        .order_by(("permissions", "id"), Order::Asc)
        .to_owned();
    exec.fetch_all(&query).await
}

/// Users assigned to the role (any status).
///
/// # Errors
/// Database errors.
pub async fn users(exec: &mut impl Executor, role_id: i64, tenant: Option<i64>) -> Result<Vec<User>> {
    let mut query = crate::tables::users_by_id()
        .inner_join("users_roles", Expr::col(("users_roles", "user_id")).equals(("users", "id")))
        .and_where(Expr::col(("users_roles", "role_id")).eq(role_id))
        .to_owned();
    in_tenant(&mut query, tenant);
    exec.fetch_all(&query).await
}

/// Restricts a select of users to one tenant (`None`: every tenant).
fn in_tenant(query: &mut SelectStatement, tenant: Option<i64>) {
    if let Some(tenant) = tenant {
        query.and_where(Expr::col(("users", "tenant_id")).eq(tenant));
    }
}

/// Users not assigned to the role, each once (Kwik lists members with other roles, repeatedly:
/// bug §9.5). Like Kwik, an unknown role id is not an error: every user is available.
///
/// # Errors
/// Database errors.
pub async fn available_users(exec: &mut impl Executor, role_id: i64, tenant: Option<i64>) -> Result<Vec<User>> {
    let members =
        Query::select().column("user_id").from("users_roles").and_where(Expr::col("role_id").eq(role_id)).to_owned();
    let mut query =
        crate::tables::users_by_id().and_where(Expr::col(("users", "id")).not_in_subquery(members)).to_owned();
    in_tenant(&mut query, tenant);
    exec.fetch_all(&query).await
}

/// Grants a permission to the role; idempotent.
///
/// # Errors
/// Database errors.
pub async fn add_permission(ctx: &mut Context, role_id: i64, permission_id: i64) -> Result<()> {
    let mut insert = Query::insert()
        .into_table("roles_permissions")
        .columns(["role_id", "permission_id", "creation_time", "creator_user_id"])
        .on_conflict(OnConflict::columns(["role_id", "permission_id"]).do_nothing().to_owned())
        .to_owned();
    set_values(
        &mut insert,
        vec![Expr::val(role_id), Expr::val(permission_id), Expr::val(kwik_core::now()), Expr::val(ctx.user_id)],
    )?;
    if ctx.tx.execute(&insert).await? > 0 {
        log(ctx, "permission_grant", TABLE, role_id, &[], &[("permission_id", permission_id.into())]).await?;
    }
    Ok(())
}

/// Revokes a permission from the role; a no-op when not granted. The administrator role holds
/// every permission (bootstrap grants them again at each start): revoking one from it is a 409.
///
/// # Errors
/// [`Error::Conflict`]; database errors.
pub async fn remove_permission(ctx: &mut Context, role_id: i64, permission_id: i64) -> Result<()> {
    refuse_for_admin(ctx, role_id, "stripped of a permission: it holds every permission").await?;
    let delete = Query::delete()
        .from_table("roles_permissions")
        .and_where(Expr::col("role_id").eq(role_id))
        .and_where(Expr::col("permission_id").eq(permission_id))
        .to_owned();
    if ctx.tx.execute(&delete).await? > 0 {
        log(ctx, "permission_revoke", TABLE, role_id, &[("permission_id", permission_id.into())], &[]).await?;
    }
    Ok(())
}

/// Assigns a user to the role; idempotent.
///
/// # Errors
/// Database errors.
pub async fn add_user(ctx: &mut Context, role_id: i64, user_id: i64) -> Result<()> {
    let mut insert = Query::insert()
        .into_table("users_roles")
        .columns(["user_id", "role_id", "creation_time", "creator_user_id"])
        .on_conflict(OnConflict::columns(["user_id", "role_id"]).do_nothing().to_owned())
        .to_owned();
    set_values(
        &mut insert,
        vec![Expr::val(user_id), Expr::val(role_id), Expr::val(kwik_core::now()), Expr::val(ctx.user_id)],
    )?;
    if ctx.tx.execute(&insert).await? > 0 {
        log(ctx, "user_assign", TABLE, role_id, &[], &[("user_id", user_id.into())]).await?;
    }
    Ok(())
}

/// Removes a user from the role; a no-op when not a member. Removing the last active member of
/// the administrator role is a 409 (see [`keep_an_active_administrator`]).
///
/// # Errors
/// [`Error::Conflict`]; database errors.
pub async fn remove_user(ctx: &mut Context, role_id: i64, user_id: i64) -> Result<()> {
    if admin(&mut ctx.tx).await?.is_some_and(|admin| admin.id == role_id) {
        keep_an_active_administrator(ctx, user_id).await?;
    }
    let delete = Query::delete()
        .from_table("users_roles")
        .and_where(Expr::col("role_id").eq(role_id))
        .and_where(Expr::col("user_id").eq(user_id))
        .to_owned();
    if ctx.tx.execute(&delete).await? > 0 {
        log(ctx, "user_unassign", TABLE, role_id, &[("user_id", user_id.into())], &[]).await?;
    }
    Ok(())
}

/// Revokes every permission of the role (a 409 for the administrator role).
///
/// # Errors
/// [`Error::Conflict`]; database errors.
pub async fn clear_permissions(ctx: &mut Context, role_id: i64) -> Result<()> {
    refuse_for_admin(ctx, role_id, "stripped of a permission: it holds every permission").await?;
    let delete = Query::delete()
        .from_table("roles_permissions")
        .and_where(Expr::col("role_id").eq(role_id))
        .returning_col("permission_id")
        .to_owned();
    let removed = crate::statements::removed_ids(ctx, &delete).await?;
    if !removed.is_empty() {
        log(ctx, "permission_revoke", TABLE, role_id, &ids("permission_ids", removed), &[]).await?;
    }
    Ok(())
}

/// Removes every user from the role (a 409 for the administrator role: it would be left without
/// an active member); in a scope with a tenant, only the tenant's users.
///
/// # Errors
/// [`Error::Conflict`]; database errors.
pub async fn clear_users(ctx: &mut Context, role_id: i64) -> Result<()> {
    refuse_for_admin(ctx, role_id, "emptied: it would be left without an active member").await?;
    let mut delete = Query::delete()
        .from_table("users_roles")
        .and_where(Expr::col("role_id").eq(role_id))
        .returning_col("user_id")
        .to_owned();
    if let Some(tenant) = ctx.tenant_id {
        // Only the members of the caller's tenant (roles are shared by every tenant).
        let members =
            Query::select().column("id").from("users").and_where(Expr::col("tenant_id").eq(tenant)).to_owned();
        delete.and_where(Expr::col("user_id").in_subquery(members));
    }
    let removed = crate::statements::removed_ids(ctx, &delete).await?;
    if !removed.is_empty() {
        log(ctx, "user_unassign", TABLE, role_id, &ids("user_ids", removed), &[]).await?;
    }
    Ok(())
}
