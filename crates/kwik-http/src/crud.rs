//! The handlers behind `#[derive(Entity)]`'s generated endpoints. Each opens the caller's request
//! scope (a read scope for reads, a transaction for writes, committed before the response; any
//! error rolls back) and runs one [`AutoCrud`] operation in it, so the resource's base query
//! applies to every generated endpoint.

use kwik_core::{Context, Error};
use kwik_crud::{AutoCrud, Entity, Operation, Values, exists_for, exists_in};
use kwik_listing::{Paginated, RawListQuery};
use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use sea_query::{Expr, ExprTrait};

use crate::auth::{CurrentUser, PermissionSet};
use crate::error::ApiResult;
use crate::etag::{Tagged, etag_of, if_match_admits};
use crate::listing::list_spec;
use crate::state::AppState;

/// `GET /things/`: a page under Kwik's list query, within the caller's read scope.
///
/// # Errors
/// 400/422 for bad list queries; database errors.
pub async fn list<C>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    raw: &RawListQuery,
) -> ApiResult<Json<Paginated<C::Entity>>>
where
    C: AutoCrud,
    C::Entity: ParseFromJSON + ToJSON,
{
    list_rows(crud, state, caller, raw, false).await
}

/// The list, with or without soft-deleted rows.
async fn list_rows<C>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    raw: &RawListQuery,
    include_deleted: bool,
) -> ApiResult<Json<Paginated<C::Entity>>>
where
    C: AutoCrud,
    C::Entity: ParseFromJSON + ToJSON,
{
    let spec = list_spec(state, <C::Entity as Entity>::list_schema(), raw)?;
    let mut ctx = caller.read_scope_for(&state.db, <C::Entity as Entity>::TENANT_SCOPED).await?;
    let (total, rows) = if include_deleted {
        crud.get_multi_including_deleted(&mut ctx, &spec).await?
    } else {
        crud.get_multi(&mut ctx, &spec).await?
    };
    Ok(Json(spec.paginate(total, rows)?))
}

/// `GET /things/?include_deleted=true`: the list with soft-deleted rows too, for holders of
/// `R` (the resource's restore permission); 403 for anyone else.
///
/// # Errors
/// 403; as [`list`].
pub async fn list_including_deleted<C, R>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    raw: &RawListQuery,
) -> ApiResult<Json<Paginated<C::Entity>>>
where
    C: AutoCrud,
    C::Entity: ParseFromJSON + ToJSON,
    R: PermissionSet,
{
    if !R::alternatives().iter().any(|required| caller.has_permission(required)) {
        return Err(Error::AccessDenied.into());
    }
    list_rows(crud, state, caller, raw, true).await
}

/// `POST /things/{id}/restore`: brings a soft-deleted row back (see [`AutoCrud::restore`]).
///
/// # Errors
/// 404; 409 when a unique value was taken meanwhile; database errors.
pub async fn restore<C: AutoCrud>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    id: i64,
) -> ApiResult<Tagged<C::Entity>>
where
    C::Entity: ToJSON,
{
    let mut ctx = caller.write_scope(&state.db).await?;
    let entity = crud.restore(&mut ctx, id).await?;
    ctx.commit().await?;
    Ok(Tagged::new(entity))
}

/// `GET /parents/{id}/things/`: the rows whose `parent_column` is `parent_id`, within the
/// caller's read scope; 404 when the parent is unknown or outside the caller's read scope of
/// `P`.
///
/// # Errors
/// 404; 400/422 for bad list queries; database errors.
pub async fn list_nested<C, P>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    parent_column: &'static str,
    parent_id: i64,
    raw: &RawListQuery,
) -> ApiResult<Json<Paginated<C::Entity>>>
where
    C: AutoCrud,
    C::Entity: ParseFromJSON + ToJSON,
    P: Entity,
{
    let spec = list_spec(state, <C::Entity as Entity>::list_schema(), raw)?;
    let tenant_scoped = <C::Entity as Entity>::TENANT_SCOPED || P::TENANT_SCOPED;
    let mut ctx = caller.read_scope_for(&state.db, tenant_scoped).await?;
    if !exists_in::<P>(&mut ctx, parent_id).await? {
        return Err(Error::not_found(P::TABLE, parent_id).into());
    }
    let within = Expr::col((<C::Entity as Entity>::TABLE, parent_column)).eq(parent_id);
    let (total, rows) = crud.get_multi_where(&mut ctx, &spec, within.into()).await?;
    Ok(Json(spec.paginate(total, rows)?))
}

/// `POST /things/`.
///
/// # Errors
/// 422 for references to missing rows; 409 for a taken unique value; hook errors; database errors.
pub async fn create<C: AutoCrud>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    input: <C::Entity as Entity>::Create,
) -> ApiResult<Tagged<C::Entity>>
where
    C::Entity: ToJSON,
{
    let mut ctx = caller.write_scope(&state.db).await?;
    let entity = crud.create(&mut ctx, input).await?;
    ctx.commit().await?;
    Ok(Tagged::new(entity))
}

/// `POST /parents/{id}/things/`: creates a row whose `parent_column` is `parent_id` (set by the
/// server, visible to the resource's `before_create` hook); 404 when the parent is unknown or
/// outside the caller's *update* scope of `P` (adding a child changes the parent).
///
/// # Errors
/// 404; as [`create`].
pub async fn create_nested<C: AutoCrud, P: Entity>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    parent_column: &'static str,
    parent_id: i64,
    input: <C::Entity as Entity>::Create,
) -> ApiResult<Tagged<C::Entity>>
where
    C::Entity: ToJSON,
{
    let mut ctx = caller.write_scope(&state.db).await?;
    if !exists_for::<P>(&mut ctx, parent_id, Operation::Update).await? {
        return Err(Error::not_found(P::TABLE, parent_id).into());
    }
    let mut preset = Values::new();
    preset.set(parent_column, parent_id);
    let entity = crud.create_with(&mut ctx, input, preset).await?;
    ctx.commit().await?;
    Ok(Tagged::new(entity))
}

/// `GET /things/{id}` within the caller's read scope, with its `ETag`; 304 without a body when
/// `if_none_match` names the current version.
///
/// # Errors
/// 404 (also outside the scope); database errors.
pub async fn get<C: AutoCrud>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    id: i64,
    if_none_match: Option<&str>,
) -> ApiResult<Tagged<C::Entity>>
where
    C::Entity: ToJSON,
{
    let mut ctx = caller.read_scope_for(&state.db, <C::Entity as Entity>::TENANT_SCOPED).await?;
    let entity = crud.get_if_exist(&mut ctx, id).await?;
    Ok(Tagged::unless_current(entity, if_none_match))
}

/// With `If-Match`: locks the current row within the scope for `op` and refuses (412) when its
/// `ETag` is not one the client named, before anything is written.
async fn check_if_match<C: AutoCrud>(
    crud: &C,
    ctx: &mut kwik_core::Context,
    id: i64,
    op: Operation,
    if_match: Option<&str>,
) -> kwik_core::Result<()>
where
    C::Entity: ToJSON,
{
    let Some(header) = if_match else { return Ok(()) };
    // The rows the write locks first (a parent) before this one, as the write itself does.
    crud.lock_first(ctx, id, op).await?;
    let current = crud.get_for_update(ctx, id, op).await?;
    if if_match_admits(header, &etag_of(&current)) { Ok(()) } else { Err(Error::PreconditionFailed) }
}

/// `PUT /things/{id}` within the caller's update scope. With `If-Match`, a 412 when the entity
/// changed since the client read it (checked on the locked row, so two clients holding the same
/// version cannot both write).
///
/// # Errors
/// 404, 409, 412, 422; hook errors; database errors.
pub async fn update<C: AutoCrud>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    id: i64,
    input: <C::Entity as Entity>::Update,
    if_match: Option<&str>,
) -> ApiResult<Tagged<C::Entity>>
where
    C::Entity: ToJSON,
{
    let mut ctx = caller.write_scope(&state.db).await?;
    check_if_match(crud, &mut ctx, id, Operation::Update, if_match).await?;
    let entity = crud.update(&mut ctx, id, input).await?;
    ctx.commit().await?;
    Ok(Tagged::new(entity))
}

/// `DELETE /things/{id}` within the caller's delete scope; with `If-Match`, 412 when the entity
/// changed since the client read it.
///
/// # Errors
/// 404, 409 (still referenced), 412; hook errors; database errors.
pub async fn delete<C: AutoCrud>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    id: i64,
    if_match: Option<&str>,
) -> ApiResult<Tagged<C::Entity>>
where
    C::Entity: ToJSON,
{
    let mut ctx: Context = caller.write_scope(&state.db).await?;
    check_if_match(crud, &mut ctx, id, Operation::Delete, if_match).await?;
    let entity = crud.delete(&mut ctx, id).await?;
    ctx.commit().await?;
    Ok(Tagged::new(entity))
}
