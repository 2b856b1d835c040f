//! The `tenants` table (multi-tenancy, `KWIK_TENANCY_ENABLED`): tenants and the assignment of
//! users to them.

use kwik_core::{Context, Executor, Queries, Result};
use kwik_listing::{FieldSpec, FieldType, ListSchema, ListSpec};
use sea_query::{Expr, ExprTrait, Query, SelectStatement};

use crate::models::Tenant;
use crate::statements::{found, insert_named, log, rename_named, touch};

const TABLE: &str = "tenants";
const COLUMNS: [&str; 6] =
    ["id", "name", "creation_time", "last_modification_time", "creator_user_id", "last_modifier_user_id"];

/// The tenant every row belongs to unless assigned another (id 1, `default`, created by the
/// migration): with tenancy off, everything is in it.
pub const DEFAULT_TENANT: i64 = 1;

/// The allow-list of `GET /tenants/`: `id, name`.
pub static LIST: ListSchema = ListSchema::new(
    "Tenant",
    TABLE,
    "id",
    &[FieldSpec::new("id", FieldType::Int), FieldSpec::new("name", FieldType::Text)],
);

fn select() -> SelectStatement {
    Query::select().columns(COLUMNS.map(|c| (TABLE, c))).from(TABLE).to_owned()
}

/// The tenant with this id.
///
/// # Errors
/// Database errors.
pub async fn get(exec: &mut impl Executor, id: i64) -> Result<Option<Tenant>> {
    exec.fetch_optional(select().and_where(Expr::col((TABLE, "id")).eq(id))).await
}

/// The tenant with this id, or Kwik's 404 text.
///
/// # Errors
/// [`kwik_core::Error::NotFound`]; database errors.
pub async fn get_if_exist(exec: &mut impl Executor, id: i64) -> Result<Tenant> {
    found(get(exec, id).await?, TABLE, id)
}

/// Creates a tenant; a taken name is a 409.
///
/// # Errors
/// [`kwik_core::Error::DuplicatedEntity`]; database errors.
pub async fn create(ctx: &mut Context, name: &str) -> Result<Tenant> {
    let id = insert_named(ctx, TABLE, name).await?;
    get_if_exist(&mut ctx.tx, id).await
}

/// Renames a tenant; a name another tenant has is a 409.
///
/// # Errors
/// [`kwik_core::Error::NotFound`], [`kwik_core::Error::DuplicatedEntity`]; database errors.
pub async fn rename(ctx: &mut Context, id: i64, name: &str) -> Result<Tenant> {
    let current = get_if_exist(&mut ctx.tx, id).await?;
    rename_named(ctx, TABLE, id, &current.name, name).await?;
    get_if_exist(&mut ctx.tx, id).await
}

/// Moves a user to a tenant (it takes effect on the user's next request). Recorded in the audit
/// log as `tenant_assign` on the user.
///
/// # Errors
/// [`kwik_core::Error::NotFound`] for an unknown tenant or user; database errors.
pub async fn assign_user(ctx: &mut Context, tenant_id: i64, user_id: i64) -> Result<()> {
    get_if_exist(&mut ctx.tx, tenant_id).await?;
    let user = crate::users::get_if_exist(&mut ctx.tx, user_id).await?;
    if user.tenant_id == tenant_id {
        return Ok(());
    }
    let mut update =
        Query::update().table("users").value("tenant_id", tenant_id).and_where(Expr::col("id").eq(user_id)).to_owned();
    touch(&mut update, ctx);
    ctx.tx.execute(&update).await?;
    log(
        ctx,
        "tenant_assign",
        "users",
        user_id,
        &[("tenant_id", user.tenant_id.into())],
        &[("tenant_id", tenant_id.into())],
    )
    .await
}

/// A page of tenants and the number matching the filters.
///
/// # Errors
/// Database errors.
pub async fn list(exec: &mut impl Executor, spec: &ListSpec) -> Result<(i64, Vec<Tenant>)> {
    crate::statements::list_page(exec, spec, TABLE, select()).await
}
