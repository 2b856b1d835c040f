//! The `permissions` table.

use kwik_core::{Context, Error, Executor, Queries, Result};
use kwik_listing::{FieldSpec, FieldType, ListSchema, ListSpec};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};

use crate::models::{Permission, Role};
use crate::roles;
use crate::statements::{found, insert_audit_values, insert_named, log, rename_named, set_values, with_audit};

const TABLE: &str = "permissions";

/// Kwik's allow-list for `GET /permissions/`: `id, name`.
pub static LIST: ListSchema = ListSchema::new(
    "Permission",
    TABLE,
    "id",
    &[FieldSpec::new("id", FieldType::Int), FieldSpec::new("name", FieldType::Text)],
);

fn select() -> SelectStatement {
    crate::tables::permissions()
}

/// The permission with this id.
///
/// # Errors
/// Database errors.
pub async fn get(exec: &mut impl Executor, id: i64) -> Result<Option<Permission>> {
    exec.fetch_optional(select().and_where(Expr::col((TABLE, "id")).eq(id))).await
}

/// The permission with this id, or Kwik's 404.
///
/// # Errors
/// [`Error::NotFound`]; database errors.
pub async fn get_if_exist(exec: &mut impl Executor, id: i64) -> Result<Permission> {
    found(get(exec, id).await?, TABLE, id)
}

/// The permission with this normalised name.
///
/// # Errors
/// Database errors.
pub async fn by_name(exec: &mut impl Executor, name: &str) -> Result<Option<Permission>> {
    exec.fetch_optional(select().and_where(Expr::col((TABLE, "name")).eq(name))).await
}

/// Creates a permission; a taken name is a 409. The administrator role is granted it at once: it
/// holds every permission.
///
/// # Errors
/// [`Error::DuplicatedEntity`]; database errors.
pub async fn create(ctx: &mut Context, name: &str) -> Result<Permission> {
    let id = insert_named(ctx, TABLE, name).await?;
    if let Some(admin) = crate::admin::admin(&mut ctx.tx).await? {
        roles::add_permission(ctx, admin.id, id).await?;
    }
    get_if_exist(&mut ctx.tx, id).await
}

/// The ids of every permission.
///
/// # Errors
/// Database errors.
pub async fn all_ids(exec: &mut impl Executor) -> Result<Vec<i64>> {
    #[derive(sqlx::FromRow)]
    struct Id {
        id: i64,
    }
    let rows: Vec<Id> = exec.fetch_all(Query::select().column("id").from(TABLE).order_by("id", Order::Asc)).await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Creates the permission unless it exists (start-up bootstrap; safe when two instances start
/// at once), returning its id.
///
/// # Errors
/// Database errors.
pub async fn ensure(ctx: &mut Context, name: &str) -> Result<i64> {
    let mut insert = Query::insert()
        .into_table(TABLE)
        .columns(with_audit(&["name"]))
        .on_conflict(OnConflict::column("name").do_nothing().to_owned())
        .to_owned();
    let mut values = vec![Expr::val(name)];
    values.extend(insert_audit_values(ctx));
    set_values(&mut insert, values)?;
    let inserted = ctx.tx.execute(&insert).await? > 0;
    let id = by_name(&mut ctx.tx, name)
        .await?
        .map(|p| p.id)
        .ok_or_else(|| Error::Internal(format!("permission {name} vanished")))?;
    if inserted {
        log(ctx, "create", TABLE, id, &[], &[("name", name.into())]).await?;
    }
    Ok(id)
}

/// Renames a permission; a name another permission has is a 409 (Kwik accepts it: bug §9.3).
///
/// # Errors
/// [`Error::NotFound`], [`Error::DuplicatedEntity`]; database errors.
pub async fn update(ctx: &mut Context, id: i64, name: &str) -> Result<Permission> {
    let current = get_if_exist(&mut ctx.tx, id).await?;
    rename_named(ctx, TABLE, id, &current.name, name).await?;
    get_if_exist(&mut ctx.tx, id).await
}

/// Removes the permission from every role but the administrator role (which holds every
/// permission), keeping the permission.
///
/// # Errors
/// [`Error::NotFound`]; database errors.
pub async fn clear_roles(ctx: &mut Context, id: i64) -> Result<Permission> {
    let permission = get_if_exist(&mut ctx.tx, id).await?;
    let mut delete = Query::delete()
        .from_table("roles_permissions")
        .and_where(Expr::col("permission_id").eq(id))
        .returning_col("role_id")
        .to_owned();
    if let Some(admin) = crate::admin::admin(&mut ctx.tx).await? {
        delete.and_where(Expr::col("role_id").ne(admin.id));
    }
    let removed = crate::statements::removed_ids(ctx, &delete).await?;
    if !removed.is_empty() {
        log(ctx, "role_revoke", TABLE, id, &[("role_ids", removed.into())], &[]).await?;
    }
    Ok(permission)
}

/// Deletes the permission after purging its role links; returns it as it was.
///
/// # Errors
/// [`Error::NotFound`]; database errors.
pub async fn delete(ctx: &mut Context, id: i64) -> Result<Permission> {
    let permission = get_if_exist(&mut ctx.tx, id).await?;
    ctx.tx
        .execute(
            &Query::delete().from_table("roles_permissions").and_where(Expr::col("permission_id").eq(id)).to_owned(),
        )
        .await?;
    ctx.tx.execute(&Query::delete().from_table(TABLE).and_where(Expr::col("id").eq(id)).to_owned()).await?;
    log(ctx, "delete", TABLE, id, &[("name", permission.name.clone().into())], &[]).await?;
    Ok(permission)
}

/// A page of permissions and the number matching the filters.
///
/// # Errors
/// Database errors.
pub async fn list(exec: &mut impl Executor, spec: &ListSpec) -> Result<(i64, Vec<Permission>)> {
    crate::statements::list_page(exec, spec, TABLE, select()).await
}

/// Roles that grant the permission.
///
/// # Errors
/// Database errors.
pub async fn roles(exec: &mut impl Executor, id: i64) -> Result<Vec<Role>> {
    let query = crate::tables::roles()
        .inner_join("roles_permissions", Expr::col(("roles_permissions", "role_id")).equals(("roles", "id")))
        .and_where(Expr::col(("roles_permissions", "permission_id")).eq(id))
        .order_by(("roles", "id"), Order::Asc)
        .to_owned();
    exec.fetch_all(&query).await
}

/// Roles that do not grant the permission.
///
/// # Errors
/// Database errors.
pub async fn available_roles(exec: &mut impl Executor, id: i64) -> Result<Vec<Role>> {
    let granting = Query::select()
        .column("role_id")
        .from("roles_permissions")
        .and_where(Expr::col("permission_id").eq(id))
        .to_owned();
    let query = crate::tables::roles()
        .and_where(Expr::col(("roles", "id")).not_in_subquery(granting))
        .order_by(("roles", "id"), Order::Asc)
        .to_owned();
    exec.fetch_all(&query).await
}
