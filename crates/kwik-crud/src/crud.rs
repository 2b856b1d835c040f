//! [`AutoCrud`]: Kwik's CRUD operations for any [`Entity`], each overridable, with hooks.

use std::future::Future;

use kwik_core::{Context, Error, Executor, Queries, Result};
use kwik_listing::ListSpec;
use sea_query::{Expr, ExprTrait, Func, Query, SelectStatement, Value};

use crate::entity::{CreateInput, Entity, UpdateInput};

/// `SELECT <columns> FROM <table>` for an entity.
pub fn select<E: Entity>() -> SelectStatement {
    Query::select().columns(E::COLUMNS.iter().map(|c| (E::TABLE, *c))).from(E::TABLE).to_owned()
}

/// `UPDATE <table> SET <values>, <audit fields> WHERE <pk> = id`.
async fn write_update<E: Entity>(ctx: &mut Context, id: i64, values: Vec<(&'static str, Expr)>) -> Result<()> {
    let mut update = Query::update().table(E::TABLE).and_where(Expr::col(E::PRIMARY_KEY).eq(id)).to_owned();
    for (column, value) in values {
        update.value(column, value);
    }
    if E::AUDITED {
        update.value("last_modification_time", kwik_core::now()).value("last_modifier_user_id", ctx.user_id);
    }
    ctx.tx.execute(&update).await.map(drop)
}

/// Kwik's `AutoCRUD`: `get`, `get_if_exist`, `get_multi`, `create`, `create_if_not_exist`,
/// `update` (partial) and `delete` (returns the deleted entity), all against a [`Context`] or
/// any executor for reads. Implement it for a unit struct and override any method, or a hook:
///
/// ```ignore
/// pub struct ProjectCrud;
/// impl AutoCrud for ProjectCrud {
///     type Entity = Project;
///     async fn before_create(&self, ctx: &mut Context, input: &mut ProjectCreate) -> Result<()> {
///         input.name = input.name.trim().to_owned();
///         Ok(())
///     }
/// }
/// ```
///
/// Hooks (the "signals" of Kwik's starter kit) run inside the same transaction as the
/// operation: an error in a hook, or a constraint violation, rolls the whole request back.
/// Audit fields are set here from the context's user and the clock; inputs cannot carry them.
pub trait AutoCrud: Send + Sync + 'static {
    /// The resource.
    type Entity: Entity;

    /// The entity with this id, if any.
    ///
    /// # Errors
    /// Database errors.
    fn get(&self, exec: &mut impl Executor, id: i64) -> impl Future<Output = Result<Option<Self::Entity>>> + Send {
        async move {
            let e = <Self::Entity as Entity>::TABLE;
            let pk = <Self::Entity as Entity>::PRIMARY_KEY;
            exec.fetch_optional(select::<Self::Entity>().and_where(Expr::col((e, pk)).eq(id))).await
        }
    }

    /// The entity with this id, or Kwik's 404 `Entity [<table>] with id=<id> does not exist`.
    ///
    /// # Errors
    /// [`Error::NotFound`]; database errors.
    fn get_if_exist(&self, exec: &mut impl Executor, id: i64) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move { self.get(exec, id).await?.ok_or_else(|| Error::not_found(<Self::Entity as Entity>::TABLE, id)) }
    }

    /// A page under a list query and the number of rows matching its filters (Kwik's
    /// `(total, data)`).
    ///
    /// # Errors
    /// Database errors.
    fn get_multi(
        &self,
        exec: &mut impl Executor,
        spec: &ListSpec,
    ) -> impl Future<Output = Result<(i64, Vec<Self::Entity>)>> + Send {
        async move {
            let table = <Self::Entity as Entity>::TABLE;
            let pk = <Self::Entity as Entity>::PRIMARY_KEY;
            let mut count = Query::select().expr(Func::count(Expr::col((table, pk)))).from(table).to_owned();
            spec.apply_filters(&mut count);
            let total = exec.fetch_i64(&count).await?;
            let mut page = select::<Self::Entity>();
            spec.apply(&mut page);
            Ok((total, exec.fetch_all(&page).await?))
        }
    }

    /// Inserts an entity: `before_create`, insert (with audit fields), `after_create`.
    /// A unique violation is a 409; a foreign-key violation a 409 naming the constraint.
    ///
    /// # Errors
    /// Hook errors; [`Error::DuplicatedEntity`], [`Error::Conflict`]; database errors.
    fn create(
        &self,
        ctx: &mut Context,
        input: <Self::Entity as Entity>::Create,
    ) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move {
            let mut input = input;
            self.before_create(ctx, &mut input).await?;
            let mut values = input.values();
            if <Self::Entity as Entity>::AUDITED {
                let now = kwik_core::now();
                values.extend([
                    ("creation_time", Expr::val(now)),
                    ("last_modification_time", Expr::val(now)),
                    ("creator_user_id", Expr::val(ctx.user_id)),
                    ("last_modifier_user_id", Expr::val(ctx.user_id)),
                ]);
            }
            let (columns, exprs): (Vec<&'static str>, Vec<Expr>) = values.into_iter().unzip();
            let mut insert = Query::insert()
                .into_table(<Self::Entity as Entity>::TABLE)
                .columns(columns)
                .returning_col(<Self::Entity as Entity>::PRIMARY_KEY)
                .to_owned();
            insert.values(exprs).map_err(|e| Error::Internal(format!("bad insert: {e}")))?;
            let id = ctx.tx.fetch_i64(&insert).await?;
            let entity = self.get_if_exist(&mut ctx.tx, id).await?;
            self.after_create(ctx, &entity).await?;
            Ok(entity)
        }
    }

    /// Returns the entity matching every `(column, value)` filter, or creates it from `input`
    /// (Kwik's `create_if_not_exist`). The boolean says whether it was created.
    ///
    /// # Errors
    /// As [`AutoCrud::create`].
    fn create_if_not_exist(
        &self,
        ctx: &mut Context,
        input: <Self::Entity as Entity>::Create,
        filters: Vec<(&'static str, Value)>,
    ) -> impl Future<Output = Result<(Self::Entity, bool)>> + Send {
        async move {
            let table = <Self::Entity as Entity>::TABLE;
            let mut query = select::<Self::Entity>();
            for (column, value) in filters {
                query.and_where(Expr::col((table, column)).eq(value));
            }
            if let Some(existing) = ctx.tx.fetch_optional(query.limit(1)).await? {
                return Ok((existing, false));
            }
            Ok((self.create(ctx, input).await?, true))
        }
    }

    /// Changes only the fields sent: `before_update`, update (touching the audit fields),
    /// `after_update`.
    ///
    /// # Errors
    /// [`Error::NotFound`]; hook errors; [`Error::DuplicatedEntity`]; database errors.
    fn update(
        &self,
        ctx: &mut Context,
        id: i64,
        input: <Self::Entity as Entity>::Update,
    ) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move {
            let current = self.get_if_exist(&mut ctx.tx, id).await?;
            let mut input = input;
            self.before_update(ctx, &current, &mut input).await?;
            let values = input.values();
            if !values.is_empty() {
                write_update::<Self::Entity>(ctx, id, values).await?;
            }
            let entity = self.get_if_exist(&mut ctx.tx, id).await?;
            self.after_update(ctx, &entity).await?;
            Ok(entity)
        }
    }

    /// Sets columns the server controls (not client-writable ones such as a status flag),
    /// touching the audit fields like an update. Runs no hooks: they are about client input.
    ///
    /// # Errors
    /// [`Error::NotFound`]; database errors.
    fn set(
        &self,
        ctx: &mut Context,
        id: i64,
        values: Vec<(&'static str, Expr)>,
    ) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move {
            self.get_if_exist(&mut ctx.tx, id).await?;
            write_update::<Self::Entity>(ctx, id, values).await?;
            self.get_if_exist(&mut ctx.tx, id).await
        }
    }

    /// Deletes the entity and returns it as it was: `before_delete`, delete, `after_delete`.
    /// Rows still referencing it make it a 409 (foreign key), leaving everything unchanged.
    ///
    /// # Errors
    /// [`Error::NotFound`]; hook errors; [`Error::Conflict`]; database errors.
    fn delete(&self, ctx: &mut Context, id: i64) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move {
            let entity = self.get_if_exist(&mut ctx.tx, id).await?;
            self.before_delete(ctx, &entity).await?;
            let delete = Query::delete()
                .from_table(<Self::Entity as Entity>::TABLE)
                .and_where(Expr::col(<Self::Entity as Entity>::PRIMARY_KEY).eq(id))
                .to_owned();
            ctx.tx.execute(&delete).await?;
            self.after_delete(ctx, &entity).await?;
            Ok(entity)
        }
    }

    /// Runs before an insert; may change the input or refuse with an error.
    ///
    /// # Errors
    /// Any error aborts the request (and its transaction).
    fn before_create(
        &self,
        _ctx: &mut Context,
        _input: &mut <Self::Entity as Entity>::Create,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Runs after an insert, in the same transaction.
    ///
    /// # Errors
    /// Any error aborts the request (and its transaction).
    fn after_create(&self, _ctx: &mut Context, _entity: &Self::Entity) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Runs before an update with the current row; may change the input or refuse.
    ///
    /// # Errors
    /// Any error aborts the request (and its transaction).
    fn before_update(
        &self,
        _ctx: &mut Context,
        _current: &Self::Entity,
        _input: &mut <Self::Entity as Entity>::Update,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Runs after an update, in the same transaction.
    ///
    /// # Errors
    /// Any error aborts the request (and its transaction).
    fn after_update(&self, _ctx: &mut Context, _entity: &Self::Entity) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Runs before a delete; may refuse.
    ///
    /// # Errors
    /// Any error aborts the request (and its transaction).
    fn before_delete(&self, _ctx: &mut Context, _entity: &Self::Entity) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Runs after a delete, in the same transaction.
    ///
    /// # Errors
    /// Any error aborts the request (and its transaction).
    fn after_delete(&self, _ctx: &mut Context, _entity: &Self::Entity) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}
