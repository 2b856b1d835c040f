//! The handlers behind `#[derive(Entity)]`'s generated endpoints: each runs one operation of an
//! [`AutoCrud`] in its own transaction (committed before the response; any error rolls back).

use kwik_core::Context;
use kwik_crud::{AutoCrud, Entity};
use kwik_listing::{Paginated, RawListQuery};
use poem_openapi::payload::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};

use crate::error::ApiResult;
use crate::listing::list_spec;
use crate::state::AppState;

/// `GET /things/`: a page under Kwik's list query.
///
/// # Errors
/// 400/422 for bad list queries; database errors.
pub async fn list<C>(crud: &C, state: &AppState, raw: &RawListQuery) -> ApiResult<Json<Paginated<C::Entity>>>
where
    C: AutoCrud,
    C::Entity: ParseFromJSON + ToJSON,
{
    let spec = list_spec(state, <C::Entity as Entity>::list_schema(), raw)?;
    let (total, rows) = crud.get_multi(&mut state.db.clone(), &spec).await?;
    Ok(Json(spec.paginate(total, rows)?))
}

/// `POST /things/`.
///
/// # Errors
/// 409 for a taken unique value; hook errors; database errors.
pub async fn create<C: AutoCrud>(
    crud: &C,
    state: &AppState,
    user_id: i64,
    input: <C::Entity as Entity>::Create,
) -> ApiResult<Json<C::Entity>> {
    let mut ctx = Context::begin(&state.db, Some(user_id)).await?;
    let entity = crud.create(&mut ctx, input).await?;
    ctx.commit().await?;
    Ok(Json(entity))
}

/// `GET /things/{id}`.
///
/// # Errors
/// 404; database errors.
pub async fn get<C: AutoCrud>(crud: &C, state: &AppState, id: i64) -> ApiResult<Json<C::Entity>> {
    Ok(Json(crud.get_if_exist(&mut state.db.clone(), id).await?))
}

/// `PUT /things/{id}`.
///
/// # Errors
/// 404, 409; hook errors; database errors.
pub async fn update<C: AutoCrud>(
    crud: &C,
    state: &AppState,
    user_id: i64,
    id: i64,
    input: <C::Entity as Entity>::Update,
) -> ApiResult<Json<C::Entity>> {
    let mut ctx = Context::begin(&state.db, Some(user_id)).await?;
    let entity = crud.update(&mut ctx, id, input).await?;
    ctx.commit().await?;
    Ok(Json(entity))
}

/// `DELETE /things/{id}`.
///
/// # Errors
/// 404, 409 (still referenced); hook errors; database errors.
pub async fn delete<C: AutoCrud>(crud: &C, state: &AppState, user_id: i64, id: i64) -> ApiResult<Json<C::Entity>> {
    let mut ctx = Context::begin(&state.db, Some(user_id)).await?;
    let entity = crud.delete(&mut ctx, id).await?;
    ctx.commit().await?;
    Ok(Json(entity))
}
