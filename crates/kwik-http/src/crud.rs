//! The handlers behind `#[derive(Entity)]`'s generated endpoints. Each opens the caller's request
//! scope (a read scope for reads, a transaction for writes, committed before the response; any
//! error rolls back) and runs one [`AutoCrud`] operation in it, so the resource's base query
//! applies to every generated endpoint.

use kwik_core::{Context, Error};
use kwik_crud::{AutoCrud, Entity, Values, exists_in};
use kwik_listing::{Paginated, RawListQuery};
use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};
use sea_query::{Expr, ExprTrait};

use crate::auth::{CurrentUser, PermissionSet};
use crate::error::ApiResult;
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
    let mut ctx = caller.read_scope(&state.db);
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
) -> ApiResult<Json<C::Entity>> {
    let mut ctx = caller.write_scope(&state.db).await?;
    let entity = crud.restore(&mut ctx, id).await?;
    ctx.commit().await?;
    Ok(Json(entity))
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
    let mut ctx = caller.read_scope(&state.db);
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
) -> ApiResult<Json<C::Entity>> {
    let mut ctx = caller.write_scope(&state.db).await?;
    let entity = crud.create(&mut ctx, input).await?;
    ctx.commit().await?;
    Ok(Json(entity))
}

/// `POST /parents/{id}/things/`: creates a row whose `parent_column` is `parent_id` (set by the
/// server, visible to the resource's `before_create` hook); 404 when the parent is unknown or
/// outside the caller's read scope of `P`.
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
) -> ApiResult<Json<C::Entity>> {
    let mut ctx = caller.write_scope(&state.db).await?;
    if !exists_in::<P>(&mut ctx, parent_id).await? {
        return Err(Error::not_found(P::TABLE, parent_id).into());
    }
    let mut preset = Values::new();
    preset.set(parent_column, parent_id);
    let entity = crud.create_with(&mut ctx, input, preset).await?;
    ctx.commit().await?;
    Ok(Json(entity))
}

/// `GET /things/{id}` within the caller's read scope.
///
/// # Errors
/// 404 (also outside the scope); database errors.
pub async fn get<C: AutoCrud>(crud: &C, state: &AppState, caller: &CurrentUser, id: i64) -> ApiResult<Json<C::Entity>> {
    Ok(Json(crud.get_if_exist(&mut caller.read_scope(&state.db), id).await?))
}

/// `PUT /things/{id}` within the caller's update scope.
///
/// # Errors
/// 404, 409, 422; hook errors; database errors.
pub async fn update<C: AutoCrud>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    id: i64,
    input: <C::Entity as Entity>::Update,
) -> ApiResult<Json<C::Entity>> {
    let mut ctx = caller.write_scope(&state.db).await?;
    let entity = crud.update(&mut ctx, id, input).await?;
    ctx.commit().await?;
    Ok(Json(entity))
}

/// `DELETE /things/{id}` within the caller's delete scope.
///
/// # Errors
/// 404, 409 (still referenced); hook errors; database errors.
pub async fn delete<C: AutoCrud>(
    crud: &C,
    state: &AppState,
    caller: &CurrentUser,
    id: i64,
) -> ApiResult<Json<C::Entity>> {
    let mut ctx: Context = caller.write_scope(&state.db).await?;
    let entity = crud.delete(&mut ctx, id).await?;
    ctx.commit().await?;
    Ok(Json(entity))
}
