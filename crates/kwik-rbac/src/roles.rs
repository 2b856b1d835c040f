//! The `roles` table and its assignments (`roles_permissions`, `users_roles`).

use kwik_core::{Context, Error, Executor, Queries, Result};
use kwik_listing::{FieldSpec, FieldType, ListSchema, ListSpec};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};

use crate::audit::{found, insert_audit_values, set_values, touch, with_audit};
use crate::models::{Permission, Role, User};
use crate::{permissions, users};

const TABLE: &str = "roles";
const COLUMNS: [&str; 7] =
    ["id", "name", "is_active", "creation_time", "last_modification_time", "creator_user_id", "last_modifier_user_id"];

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

/// Roles with their `user_count` (users assigned, any status).
pub(crate) fn select() -> SelectStatement {
    Query::select()
        .columns(COLUMNS.map(|c| (TABLE, c)))
        .expr_as(Expr::cust("(SELECT COUNT(*) FROM users_roles WHERE users_roles.role_id = roles.id)"), "user_count")
        .from(TABLE)
        .to_owned()
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
    get_if_exist(&mut ctx.tx, id).await
}

/// Renames and/or (de)activates a role. Renaming to a name another role has is a 409 (Kwik
/// accepts it and breaks later: bug §9.3).
///
/// # Errors
/// [`Error::NotFound`], [`Error::DuplicatedEntity`]; database errors.
pub async fn update(ctx: &mut Context, id: i64, name: Option<&str>, is_active: Option<bool>) -> Result<Role> {
    let current = get_if_exist(&mut ctx.tx, id).await?;
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
    get_if_exist(&mut ctx.tx, id).await
}

/// Deletes a role after detaching its users and permissions, in the caller's transaction, and
/// returns it as it was (Kwik answers 500 when links exist: bug §9.4).
///
/// # Errors
/// [`Error::NotFound`]; database errors.
pub async fn delete(ctx: &mut Context, id: i64) -> Result<Role> {
    let role = get_if_exist(&mut ctx.tx, id).await?;
    for link in ["roles_permissions", "users_roles"] {
        ctx.tx.execute(&Query::delete().from_table(link).and_where(Expr::col("role_id").eq(id)).to_owned()).await?;
    }
    ctx.tx.execute(&Query::delete().from_table(TABLE).and_where(Expr::col("id").eq(id)).to_owned()).await?;
    Ok(role)
}

/// A page of roles and the number matching the filters.
///
/// # Errors
/// Database errors.
pub async fn list(exec: &mut impl Executor, spec: &ListSpec) -> Result<(i64, Vec<Role>)> {
    crate::audit::list_page(exec, spec, TABLE, select()).await
}

fn permission_link(role_id: i64) -> Expr {
    Expr::col(("roles_permissions", "role_id")).eq(role_id)
}

/// Permissions granted by the role.
///
/// # Errors
/// Database errors.
pub async fn permissions(exec: &mut impl Executor, role_id: i64) -> Result<Vec<Permission>> {
    let query = permissions::select()
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
    let query = permissions::select()
        .and_where(Expr::col(("permissions", "id")).not_in_subquery(granted))
        .order_by(("permissions", "id"), Order::Asc)
        .to_owned();
    exec.fetch_all(&query).await
}

/// Users assigned to the role (any status).
///
/// # Errors
/// Database errors.
pub async fn users(exec: &mut impl Executor, role_id: i64) -> Result<Vec<User>> {
    let query = users::select_all()
        .inner_join("users_roles", Expr::col(("users_roles", "user_id")).equals(("users", "id")))
        .and_where(Expr::col(("users_roles", "role_id")).eq(role_id))
        .to_owned();
    exec.fetch_all(&query).await
}

/// Users not assigned to the role, each once (Kwik lists members with other roles, repeatedly:
/// bug §9.5). Like Kwik, an unknown role id is not an error: every user is available.
///
/// # Errors
/// Database errors.
pub async fn available_users(exec: &mut impl Executor, role_id: i64) -> Result<Vec<User>> {
    let members =
        Query::select().column("user_id").from("users_roles").and_where(Expr::col("role_id").eq(role_id)).to_owned();
    let query = users::select_all().and_where(Expr::col(("users", "id")).not_in_subquery(members)).to_owned();
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
    ctx.tx.execute(&insert).await.map(drop)
}

/// Revokes a permission from the role; a no-op when not granted.
///
/// # Errors
/// Database errors.
pub async fn remove_permission(ctx: &mut Context, role_id: i64, permission_id: i64) -> Result<()> {
    let delete = Query::delete()
        .from_table("roles_permissions")
        .and_where(Expr::col("role_id").eq(role_id))
        .and_where(Expr::col("permission_id").eq(permission_id))
        .to_owned();
    ctx.tx.execute(&delete).await.map(drop)
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
    ctx.tx.execute(&insert).await.map(drop)
}

/// Removes a user from the role; a no-op when not a member.
///
/// # Errors
/// Database errors.
pub async fn remove_user(ctx: &mut Context, role_id: i64, user_id: i64) -> Result<()> {
    let delete = Query::delete()
        .from_table("users_roles")
        .and_where(Expr::col("role_id").eq(role_id))
        .and_where(Expr::col("user_id").eq(user_id))
        .to_owned();
    ctx.tx.execute(&delete).await.map(drop)
}

/// Revokes every permission of the role.
///
/// # Errors
/// Database errors.
pub async fn clear_permissions(ctx: &mut Context, role_id: i64) -> Result<()> {
    ctx.tx
        .execute(
            &Query::delete().from_table("roles_permissions").and_where(Expr::col("role_id").eq(role_id)).to_owned(),
        )
        .await
        .map(drop)
}

/// Removes every user from the role.
///
/// # Errors
/// Database errors.
pub async fn clear_users(ctx: &mut Context, role_id: i64) -> Result<()> {
    ctx.tx
        .execute(&Query::delete().from_table("users_roles").and_where(Expr::col("role_id").eq(role_id)).to_owned())
        .await
        .map(drop)
}
