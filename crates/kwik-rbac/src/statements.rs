//! Statement helpers shared by the repositories: the audit columns of Kwik's `RecordInfoMixin`,
//! audit-log entries, lookups by id that fail with Kwik's 404 text, and list pages.

use kwik_core::audit::AuditEntry;
use kwik_core::{Context, DbRow, Error, Executor, Queries, Result};
use kwik_listing::ListSpec;
use sea_query::{Expr, ExprTrait, Func, InsertStatement, Query, SelectStatement, UpdateStatement};
use serde_json::Value;

/// Audit columns written on insert, in this order.
const INSERT_AUDIT: [&str; 4] = ["creation_time", "last_modification_time", "creator_user_id", "last_modifier_user_id"];

/// `columns` followed by the audit columns (sea-query's `columns` replaces, it does not append).
pub(crate) fn with_audit(columns: &[&'static str]) -> Vec<&'static str> {
    columns.iter().copied().chain(INSERT_AUDIT).collect()
}

/// Values for the audit columns of [`with_audit`]: now, now, the acting user twice.
pub(crate) fn insert_audit_values(ctx: &Context) -> [Expr; 4] {
    let now = kwik_core::now();
    [Expr::val(now), Expr::val(now), Expr::val(ctx.user_id), Expr::val(ctx.user_id)]
}

/// Adds `last_modification_time = now, last_modifier_user_id = user` to an UPDATE.
pub(crate) fn touch(update: &mut UpdateStatement, ctx: &Context) {
    update.value("last_modification_time", kwik_core::now()).value("last_modifier_user_id", ctx.user_id);
}

/// Sets the values of an INSERT, turning a column/value count mismatch (a bug) into a 500.
pub(crate) fn set_values(insert: &mut InsertStatement, values: Vec<Expr>) -> Result<()> {
    insert.values(values).map(|_| ()).map_err(|e| Error::Internal(format!("bad insert: {e}")))
}

/// `Some(row)` or Kwik's 404 `Entity [<table>] with id=<id> does not exist`.
pub(crate) fn found<T>(row: Option<T>, table: &str, id: i64) -> Result<T> {
    row.ok_or_else(|| Error::not_found(table, id))
}

/// One page of `select` (a `SELECT ... FROM table`) under a list query, and the number of rows
/// of `table` matching the query's filters (Kwik's `total`).
pub(crate) async fn list_page<T: DbRow>(
    exec: &mut impl Executor,
    spec: &ListSpec,
    table: &'static str,
    select: SelectStatement,
) -> Result<(i64, Vec<T>)> {
    list_page_where(exec, spec, table, select, None).await
}

/// [`list_page`] restricted further by `within` (a tenant), counted and paged alike.
pub(crate) async fn list_page_where<T: DbRow>(
    exec: &mut impl Executor,
    spec: &ListSpec,
    table: &'static str,
    mut select: SelectStatement,
    within: Option<Expr>,
) -> Result<(i64, Vec<T>)> {
    let mut count = Query::select().expr(Func::count(Expr::col((table, "id")))).from(table).to_owned();
    if let Some(condition) = within {
        count.and_where(condition.clone());
        select.and_where(condition);
    }
    spec.apply_filters(&mut count);
    let total = exec.fetch_i64(&count).await?;
    spec.apply(&mut select);
    Ok((total, exec.fetch_all(&select).await?))
}

/// Records an audit-log entry: `action` on the row `id` of `table`, with the fields that differ
/// between `before` and `after` (empty on the missing side of a create or delete).
pub(crate) async fn log(
    ctx: &mut Context,
    action: &str,
    table: &str,
    id: i64,
    before: &[(&str, Value)],
    after: &[(&str, Value)],
) -> Result<()> {
    kwik_core::audit::record(ctx, AuditEntry::new(action, table, Some(id)).diff(before, after, &[])).await?;
    // Every change to users, roles, grants, permissions and tenants passes here: principal
    // caches must not outlive it.
    ctx.principals_changed();
    Ok(())
}

/// The ids a `DELETE ... RETURNING <id column>` removed, in order.
pub(crate) async fn removed_ids(ctx: &mut Context, delete: &sea_query::DeleteStatement) -> Result<Vec<i64>> {
    let mut removed: Vec<i64> = ctx.tx.fetch_all::<(i64,), _>(delete).await?.into_iter().map(|(id,)| id).collect();
    removed.sort_unstable();
    Ok(removed)
}

/// Whether `table` has a row named `name` (tables of unique names: permissions, tenants).
async fn name_taken(ctx: &mut Context, table: &'static str, name: &str) -> Result<bool> {
    let query = Query::select().expr(Expr::val(1_i64)).from(table).and_where(Expr::col("name").eq(name)).to_owned();
    Ok(ctx.tx.fetch_optional::<(i64,), _>(&query).await?.is_some())
}

/// Inserts a row named `name` into a table of unique names, with the audit columns, and records
/// it in the audit log; returns its id. A taken name is a 409.
///
/// # Errors
/// [`Error::DuplicatedEntity`]; database errors.
pub(crate) async fn insert_named(ctx: &mut Context, table: &'static str, name: &str) -> Result<i64> {
    if name_taken(ctx, table, name).await? {
        return Err(Error::duplicated());
    }
    let mut insert = Query::insert().into_table(table).columns(with_audit(&["name"])).returning_col("id").to_owned();
    let mut values = vec![Expr::val(name)];
    values.extend(insert_audit_values(ctx));
    set_values(&mut insert, values)?;
    let id = ctx.tx.fetch_i64(&insert).await?;
    log(ctx, "create", table, id, &[], &[("name", name.into())]).await?;
    Ok(id)
}

/// Renames row `id` of a table of unique names from `current` to `name`, touching the audit
/// columns, and records it. A name another row has is a 409.
///
/// # Errors
/// [`Error::DuplicatedEntity`]; database errors.
pub(crate) async fn rename_named(
    ctx: &mut Context,
    table: &'static str,
    id: i64,
    current: &str,
    name: &str,
) -> Result<()> {
    if name != current && name_taken(ctx, table, name).await? {
        return Err(Error::duplicated());
    }
    let mut update = Query::update().table(table).value("name", name).and_where(Expr::col("id").eq(id)).to_owned();
    touch(&mut update, ctx);
    ctx.tx.execute(&update).await?;
    log(ctx, "update", table, id, &[("name", current.into())], &[("name", name.into())]).await
}
