//! [`AutoCrud`]: Kwik's CRUD operations for any [`Entity`], run in a request scope
//! ([`Context`]) and restricted by one overridable base query ([`AutoCrud::base_query`]).

use std::future::Future;

use kwik_core::audit::AuditEntry;
use kwik_core::{Backend, Context, Error, Queries, Result, ValidationIssue};
use kwik_listing::ListSpec;
use sea_query::{Condition, Expr, ExprTrait, Func, LockType, Query, ReturningClause, SelectStatement, Value};

use crate::entity::{CreateInput, Entity, Reference, ScopeFuture, UpdateInput, Values};

/// Which kind of access a base query is asked for. Reads, updates and deletes may see different
/// rows (a sales rep may read every order but change only their own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `get`, `list`, `count`, cursor pages, nested lists, and foreign-key checks.
    Read,
    /// `update`, `set`, and custom actions that change the row (by convention).
    Update,
    /// `delete`.
    Delete,
}

impl Operation {
    /// The value for this operation, as in `op.choose("order_read", "order_update", "order_delete")`.
    pub fn choose<T>(self, read: T, update: T, delete: T) -> T {
        match self {
            Self::Read => read,
            Self::Update => update,
            Self::Delete => delete,
        }
    }
}

/// The column that holds the total next to each row of a list statement.
const TOTAL_COLUMN: &str = "__kwik_total";

/// `SELECT <columns> FROM <table>` for an entity.
pub fn select<E: Entity>() -> SelectStatement {
    Query::select().columns(E::COLUMNS.iter().map(|c| (E::TABLE, *c))).from(E::TABLE).to_owned()
}

/// `RETURNING <columns>` for an entity.
fn returning<E: Entity>() -> ReturningClause {
    Query::returning().columns(E::COLUMNS.iter().copied())
}

/// `<table>.<pk> = id`.
fn by_id<E: Entity>(id: i64) -> Expr {
    Expr::col((E::TABLE, E::PRIMARY_KEY)).eq(id)
}

/// Whether a condition restricts nothing: exactly the empty `Condition::all()`. An empty
/// `Condition::any()` is FALSE (no row: a user in no team sees nothing), and a negated empty
/// `all()` too, so only this one may be left out of a statement.
fn unrestricted(scope: &Condition) -> bool {
    *scope == Condition::all()
}

/// Restricts a statement with a base-query condition (nothing when it restricts nothing).
fn restrict(select: &mut SelectStatement, scope: &Condition) {
    if !unrestricted(scope) {
        select.and_where(Expr::from(scope.clone()));
    }
}

/// Which soft-deleted rows a statement reaches (resources without soft delete have none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deleted {
    /// Live rows only: every ordinary operation.
    Hide,
    /// Live and deleted rows (`include_deleted=true`).
    Include,
    /// Deleted rows only (restore).
    Only,
}

/// The rows a statement of `crud` reaches for `op`: its base query (for writes, within the read
/// scope too), for a tenant-scoped resource
/// in a scope with a tenant `tenant_id = <tenant>`, and, for a soft-deletable resource,
/// `deleted_at IS NULL` unless `deleted` includes them. Applied outside
/// [`AutoCrud::base_query`], so overriding the base query never brings deleted rows back or
/// reaches another tenant.
fn scope_of<C: AutoCrud + ?Sized>(crud: &C, ctx: &Context, op: Operation, deleted: Deleted) -> Result<Condition> {
    let mut base = crud.base_query(ctx, op)?;
    if op != Operation::Read {
        // A write answers with the row: it never reaches a row the read scope hides.
        base = both(crud.base_query(ctx, Operation::Read)?, base);
    }
    if <C::Entity as Entity>::TENANT_SCOPED
        && let Some(tenant) = ctx.tenant_id
    {
        base = both(Condition::all().add(Expr::col((<C::Entity as Entity>::TABLE, TENANT)).eq(tenant)), base);
    }
    let column = Expr::col((<C::Entity as Entity>::TABLE, DELETED_AT));
    Ok(match deleted {
        _ if !<C::Entity as Entity>::SOFT_DELETE => base,
        Deleted::Include => base,
        Deleted::Hide => both(base, Condition::all().add(column.is_null())),
        Deleted::Only => both(base, Condition::all().add(column.is_not_null())),
    })
}

/// The tenant column (`#[kwik(tenant_scoped)]`).
const TENANT: &str = "tenant_id";

/// The soft-delete columns (`#[kwik(soft_delete)]`).
const DELETED_AT: &str = "deleted_at";
const DELETER: &str = "deleter_user_id";

/// `a AND b`, leaving out conditions that restrict nothing (an `any` condition, even an empty
/// one, stays one operand).
fn both(a: Condition, b: Condition) -> Condition {
    match (unrestricted(&a), unrestricted(&b)) {
        (true, _) => b,
        (_, true) => a,
        _ => Condition::all().add(a).add(b),
    }
}

/// Whether a row of `E` with this id exists within the scope's read access (`E::Crud`'s base
/// query). What [`Reference::exists`] points to.
///
/// Locking: on PostgreSQL a soft-deletable target is locked `FOR KEY SHARE` in write scopes, so a
/// concurrent soft delete either finishes first (and the row is then missing here) or waits for
/// this scope: no live row can end up referencing a deleted one (the foreign key cannot see
/// `deleted_at`). Other targets are not locked: a hook that goes on to lock the same row `FOR
/// UPDATE` (an order line locking its order) would otherwise upgrade a shared lock a concurrent
/// request also holds, and the two would deadlock; the database's foreign key still guards the
/// insert (a target deleted in between makes it a 409).
pub fn exists_in<E: Entity>(ctx: &mut Context, id: i64) -> ScopeFuture<'_, bool> {
    exists_for::<E>(ctx, id, Operation::Read)
}

/// [`exists_in`] within the scope's access `op` (a nested create checks its parent for
/// [`Operation::Update`]: adding a child changes the parent).
pub fn exists_for<E: Entity>(ctx: &mut Context, id: i64, op: Operation) -> ScopeFuture<'_, bool> {
    Box::pin(async move {
        let scope = scope_of(&E::Crud::default(), ctx, op, Deleted::Hide)?;
        let mut query =
            Query::select().expr(Expr::val(1_i64)).from(E::TABLE).and_where(by_id::<E>(id)).limit(1).to_owned();
        restrict(&mut query, &scope);
        if E::SOFT_DELETE && ctx.backend() == Backend::Postgres && ctx.tx.is_transaction() {
            query.lock(LockType::KeyShare);
        }
        Ok(ctx.tx.fetch_optional::<(i64,), _>(&query).await?.is_some())
    })
}

/// Rows of `E` within the scope's access `op`, as a sub-select of their ids: use it in another
/// resource's base query (`order_id IN (orders the caller may read)`):
///
/// ```ignore
/// fn base_query(&self, ctx: &Context, op: Operation) -> Result<Condition> {
///     Ok(Condition::all().add(Expr::col(("order_lines", "order_id")).in_subquery(ids_in_scope::<Order>(ctx, op)?)))
/// }
/// ```
///
/// # Errors
/// The target's base-query errors.
pub fn ids_in_scope<E: Entity>(ctx: &Context, op: Operation) -> Result<SelectStatement> {
    let scope = scope_of(&E::Crud::default(), ctx, op, Deleted::Hide)?;
    let mut query = Query::select().column((E::TABLE, E::PRIMARY_KEY)).from(E::TABLE).to_owned();
    restrict(&mut query, &scope);
    Ok(query)
}

/// The usual ownership rule as a base query: every row when the scope holds `permission`,
/// otherwise the rows whose `owner_column` is the acting user (none for a scope without a user).
///
/// ```ignore
/// fn base_query(&self, ctx: &Context, op: Operation) -> Result<Condition> {
///     let everyone = match op { Operation::Read => "order_read", Operation::Delete => "order_delete", _ => "order_update" };
///     Ok(own_rows_unless::<Order>(ctx, everyone, "creator_user_id"))
/// }
/// ```
pub fn own_rows_unless<E: Entity>(ctx: &Context, permission: &str, owner_column: &'static str) -> Condition {
    if ctx.has_permission(permission) {
        return Condition::all();
    }
    match ctx.user_id {
        Some(user) => Condition::all().add(Expr::col((E::TABLE, owner_column)).eq(user)),
        None => Condition::all().add(Expr::val(1_i64).eq(0_i64)),
    }
}

/// Checks the `(column, id)` references an input sends: each target must exist within the
/// caller's read scope, else a 422 at `["body", column]`.
async fn check_references<E: Entity>(ctx: &mut Context, sent: Vec<(&'static str, i64)>) -> Result<()> {
    let mut issues = Vec::new();
    for (column, id) in sent {
        let Some(reference) = E::references().iter().find(|r| r.column == column) else { continue };
        if !(reference.exists)(ctx, id).await? {
            issues.push(missing_reference(reference, id));
        }
    }
    if issues.is_empty() { Ok(()) } else { Err(Error::Validation(issues)) }
}

/// The 422 issue of a reference to a missing row.
fn missing_reference(reference: &Reference, id: i64) -> ValidationIssue {
    ValidationIssue::new(
        "foreign_key",
        &["body", reference.column],
        format!("Entity [{}] with id={id} does not exist", reference.table),
    )
    .with_input(id)
}

/// Audit columns of an insert or update, from the scope's user and the clock.
fn audit_values(ctx: &Context, values: &mut Values, insert: bool) {
    let now = kwik_core::now();
    if insert {
        values.set("creation_time", now).set("creator_user_id", ctx.user_id);
    }
    values.set("last_modification_time", now).set("last_modifier_user_id", ctx.user_id);
}

/// Kwik's `AutoCRUD`, redesigned around a request scope: every operation runs in a
/// [`Context`] (a transaction, or the pool for reads, plus the principal), and one overridable
/// base query ([`AutoCrud::base_query`], Django REST framework's `get_queryset`) restricts get,
/// list, count, cursor pages, update, delete and foreign-key checks alike. A row outside it is a
/// 404, never a 403.
///
/// ```ignore
/// #[derive(Default)]
/// pub struct OrderCrud;
/// impl AutoCrud for OrderCrud {
///     type Entity = Order;
///     fn base_query(&self, ctx: &Context, op: Operation) -> Result<Condition> {
///         let everyone = match op { Operation::Read => "order_read", Operation::Delete => "order_delete", _ => "order_update" };
///         Ok(own_rows_unless::<Order>(ctx, everyone, "creator_user_id"))
///     }
///     async fn before_update(&self, _: &mut Context, current: &Order, _: &mut OrderUpdate, _: &mut Values) -> Result<()> {
///         if current.status == OrderStatus::Confirmed { return Err(Error::rule("order_confirmed", "A confirmed order cannot change")) }
///         Ok(())
///     }
/// }
/// ```
///
/// Writes are one statement plus their hooks: `INSERT ... RETURNING`; `update` and `delete` load
/// the current row with `SELECT ... FOR UPDATE` (PostgreSQL; SQLite's write transaction already
/// serialises writers) for the hooks, then `UPDATE ... RETURNING` / `DELETE`. Hooks (the
/// "signals" of Kwik's starter kit) run in the same transaction: an error in a hook, or a
/// constraint violation, rolls the whole request back. Audit fields are set here from the
/// scope's user and the clock; inputs cannot carry them.
pub trait AutoCrud: Send + Sync + 'static {
    /// The resource.
    type Entity: Entity;

    /// The rows this scope may reach for `op` (DRF's `get_queryset`), as a condition added to
    /// every statement; the empty condition (the default) is every row. Updates and deletes are
    /// also restricted to the read scope (`op`'s condition AND `Read`'s): a write answers with
    /// the row, so it never reaches a row the caller may not read. Keep it a pure function
    /// of the scope (principal, permissions): it is built once per statement.
    ///
    /// # Errors
    /// Any error refuses the request.
    fn base_query(&self, _ctx: &Context, _op: Operation) -> Result<Condition> {
        Ok(Condition::all())
    }

    /// The entity with this id within the read scope, if any.
    ///
    /// # Errors
    /// Database errors.
    fn get(&self, ctx: &mut Context, id: i64) -> impl Future<Output = Result<Option<Self::Entity>>> + Send {
        async move {
            let scope = scope_of(self, ctx, Operation::Read, Deleted::Hide)?;
            let mut query = select::<Self::Entity>().and_where(by_id::<Self::Entity>(id)).to_owned();
            restrict(&mut query, &scope);
            let row: Option<Self::Entity> = ctx.tx.fetch_optional(&query).await?;
            Ok(row.map(|mut e| {
                e.finish();
                e
            }))
        }
    }

    /// The entity with this id within the read scope, or Kwik's 404
    /// `Entity [<table>] with id=<id> does not exist`.
    ///
    /// # Errors
    /// [`Error::NotFound`]; database errors.
    fn get_if_exist(&self, ctx: &mut Context, id: i64) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move { self.get(ctx, id).await?.ok_or_else(|| Error::not_found(<Self::Entity as Entity>::TABLE, id)) }
    }

    /// The entity with this id within the scope for `op`, locked until the scope commits
    /// (`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite the write transaction already holds
    /// the database's write lock). Use it in hand-written actions before changing a row.
    ///
    /// # Errors
    /// [`Error::NotFound`] (also for rows outside the scope); database errors.
    fn get_for_update(
        &self,
        ctx: &mut Context,
        id: i64,
        op: Operation,
    ) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move {
            locked_in(self, ctx, id, op, Deleted::Hide)
                .await?
                .ok_or_else(|| Error::not_found(<Self::Entity as Entity>::TABLE, id))
        }
    }

    /// A page under a list query, within the read scope, and the number of rows in scope
    /// matching its filters (Kwik's `(total, data)`). One statement: the total is a scalar
    /// sub-select next to each row, so both come from the same snapshot on both databases; only
    /// an empty page past the first (or with `limit=0`) needs a second statement for the total.
    ///
    /// # Errors
    /// Database errors.
    fn get_multi(
        &self,
        ctx: &mut Context,
        spec: &ListSpec,
    ) -> impl Future<Output = Result<(i64, Vec<Self::Entity>)>> + Send {
        self.get_multi_where(ctx, spec, Condition::all())
    }

    /// [`AutoCrud::get_multi`] restricted further by `within` (a nested route's parent key):
    /// counted and paged alike.
    ///
    /// # Errors
    /// Database errors.
    fn get_multi_where(
        &self,
        ctx: &mut Context,
        spec: &ListSpec,
        within: Condition,
    ) -> impl Future<Output = Result<(i64, Vec<Self::Entity>)>> + Send {
        list_in(self, ctx, spec, within, Deleted::Hide)
    }

    /// [`AutoCrud::get_multi`] with soft-deleted rows too (`GET /things/?include_deleted=true`,
    /// which needs the resource's restore permission). The same as `get_multi` for resources
    /// without soft delete.
    ///
    /// # Errors
    /// Database errors.
    fn get_multi_including_deleted(
        &self,
        ctx: &mut Context,
        spec: &ListSpec,
    ) -> impl Future<Output = Result<(i64, Vec<Self::Entity>)>> + Send {
        list_in(self, ctx, spec, Condition::all(), Deleted::Include)
    }

    /// Inserts an entity: reference checks (422 at the field for a target missing from the
    /// caller's scope), `before_create` (may change the input and add server-set values),
    /// `INSERT ... RETURNING` (with audit fields), `after_create`.
    ///
    /// # Errors
    /// 422 for missing references; hook errors; [`Error::DuplicatedEntity`]; database errors.
    fn create(
        &self,
        ctx: &mut Context,
        input: <Self::Entity as Entity>::Create,
    ) -> impl Future<Output = Result<Self::Entity>> + Send {
        self.create_with(ctx, input, Values::new())
    }

    /// [`AutoCrud::create`] with values the server sets before the hook runs (a nested route's
    /// parent key, an owner); the hook sees them in its `values` and may change them.
    ///
    /// # Errors
    /// As [`AutoCrud::create`].
    fn create_with(
        &self,
        ctx: &mut Context,
        input: <Self::Entity as Entity>::Create,
        preset: Values,
    ) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move {
            let mut input = input;
            check_references::<Self::Entity>(ctx, input.references()).await?;
            let mut server = preset;
            self.before_create(ctx, &mut input, &mut server).await?;
            let mut values = input.values();
            values.extend(server);
            if <Self::Entity as Entity>::AUDITED {
                audit_values(ctx, &mut values, true);
            }
            if <Self::Entity as Entity>::TENANT_SCOPED
                && let Some(tenant) = ctx.tenant_id
            {
                // The scope's tenant, whatever a hook or preset said.
                values.set(TENANT, tenant);
            }
            let (columns, exprs): (Vec<&'static str>, Vec<Expr>) =
                values.into_pairs().into_iter().map(|(c, v)| (c, Expr::val(v))).unzip();
            let mut insert = Query::insert()
                .into_table(<Self::Entity as Entity>::TABLE)
                .columns(columns)
                .returning(returning::<Self::Entity>())
                .to_owned();
            insert.values(exprs).map_err(|e| Error::Internal(format!("bad insert: {e}")))?;
            let mut entity: Self::Entity = ctx
                .tx
                .fetch_optional(&insert)
                .await?
                .ok_or_else(|| Error::Internal("INSERT ... RETURNING returned no row".to_owned()))?;
            entity.finish();
            audit(ctx, "create", entity.id(), None, Some(&entity)).await?;
            self.after_create(ctx, &entity).await?;
            Ok(entity)
        }
    }

    /// Returns the entity in scope matching every `(column, value)` filter, or creates it from
    /// `input` (Kwik's `create_if_not_exist`). The boolean says whether it was created.
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
            let scope = scope_of(self, ctx, Operation::Read, Deleted::Hide)?;
            let mut query = select::<Self::Entity>();
            for (column, value) in filters {
                query.and_where(Expr::col((table, column)).eq(value));
            }
            restrict(&mut query, &scope);
            if let Some(mut existing) = ctx.tx.fetch_optional::<Self::Entity, _>(query.limit(1)).await? {
                existing.finish();
                return Ok((existing, false));
            }
            Ok((self.create(ctx, input).await?, true))
        }
    }

    /// Changes only the fields sent: the current row locked within the update scope (404
    /// outside it), reference checks, `before_update` (sees the current row; may change the
    /// input and add server-set values), `UPDATE ... RETURNING` (touching the audit fields),
    /// `after_update`.
    ///
    /// # Errors
    /// [`Error::NotFound`]; 422 for missing references; hook errors;
    /// [`Error::DuplicatedEntity`]; database errors.
    fn update(
        &self,
        ctx: &mut Context,
        id: i64,
        input: <Self::Entity as Entity>::Update,
    ) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move {
            self.lock_first(ctx, id, Operation::Update).await?;
            let current = self.get_for_update(ctx, id, Operation::Update).await?;
            let mut input = input;
            check_references::<Self::Entity>(ctx, input.references()).await?;
            let mut server = Values::new();
            self.before_update(ctx, &current, &mut input, &mut server).await?;
            let mut values = input.values();
            values.extend(server);
            let entity = write_logged(self, ctx, id, values, "update", Some(current), Operation::Update, Deleted::Hide)
                .await?
                .ok_or_else(|| Error::not_found(<Self::Entity as Entity>::TABLE, id))?;
            self.after_update(ctx, &entity).await?;
            Ok(entity)
        }
    }

    /// Sets columns the server controls (a status, a computed total), touching the audit
    /// fields, in one `UPDATE ... RETURNING` restricted to the update scope. Runs no hooks:
    /// they are about client input. Call [`AutoCrud::get_for_update`] first when the new values
    /// depend on the current row.
    ///
    /// # Errors
    /// [`Error::NotFound`] (also outside the scope); database errors.
    fn set(&self, ctx: &mut Context, id: i64, values: Values) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move { self.write(ctx, id, values).await }
    }

    /// The `UPDATE <table> SET <values>, <audit fields> WHERE <pk> = id AND <update scope>
    /// RETURNING <columns>` behind [`AutoCrud::update`] and [`AutoCrud::set`], recorded in the
    /// audit log as an `update` (an audited resource reads the row, locked, first: the entry
    /// holds the values before).
    ///
    /// # Errors
    /// [`Error::NotFound`]; database errors.
    fn write(&self, ctx: &mut Context, id: i64, values: Values) -> impl Future<Output = Result<Self::Entity>> + Send {
        self.act(ctx, id, "update", values)
    }

    /// A custom action that changes the row (`POST /orders/{id}/confirm`): [`AutoCrud::set`]
    /// recorded in the audit log under the action's name instead of `update`. Runs no hooks.
    ///
    /// # Errors
    /// [`Error::NotFound`] (also outside the update scope); database errors.
    fn act(
        &self,
        ctx: &mut Context,
        id: i64,
        action: &str,
        values: Values,
    ) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move {
            write_logged(self, ctx, id, values, action, None, Operation::Update, Deleted::Hide)
                .await?
                .ok_or_else(|| Error::not_found(<Self::Entity as Entity>::TABLE, id))
        }
    }

    /// Deletes the entity and returns it as it was: the row locked within the delete scope (404
    /// outside it), `before_delete`, delete, `after_delete`. Rows still referencing it make it a
    /// 409 `still_referenced` naming the referencing resource (the same text on both databases),
    /// leaving everything unchanged.
    ///
    /// # Errors
    /// [`Error::NotFound`]; hook errors; [`Error::Rule`] `still_referenced`; database errors.
    fn delete(&self, ctx: &mut Context, id: i64) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move {
            let table = <Self::Entity as Entity>::TABLE;
            self.lock_first(ctx, id, Operation::Delete).await?;
            let entity = self.get_for_update(ctx, id, Operation::Delete).await?;
            self.before_delete(ctx, &entity).await?;
            if <Self::Entity as Entity>::SOFT_DELETE {
                // No foreign key stops a soft delete: refuse it as the hard delete would be.
                if let Some(referencing) = ctx.tx.referencing_table(table, id).await? {
                    return Err(still_referenced(table, id, Some(&referencing)));
                }
                let mut values = Values::new();
                values.set(DELETED_AT, kwik_core::now()).set(DELETER, ctx.user_id);
                let deleted =
                    write_logged(self, ctx, id, values, "delete", Some(entity), Operation::Delete, Deleted::Hide)
                        .await?
                        .ok_or_else(|| Error::not_found(table, id))?;
                self.after_delete(ctx, &deleted).await?;
                return Ok(deleted);
            }
            let delete = Query::delete().from_table(table).and_where(by_id::<Self::Entity>(id)).to_owned();
            match ctx.tx.execute(&delete).await {
                Ok(_) => {}
                Err(Error::ForeignKey { table: referencing }) => {
                    let referencing = match referencing {
                        Some(name) => Some(name),
                        // SQLite's error names no table; its transaction is still usable.
                        None if ctx.backend() == Backend::Sqlite => ctx.tx.referencing_table(table, id).await?,
                        None => None,
                    };
                    return Err(still_referenced(table, id, referencing.as_deref()));
                }
                Err(other) => return Err(other),
            }
            audit(ctx, "delete", id, Some(&entity), None).await?;
            self.after_delete(ctx, &entity).await?;
            Ok(entity)
        }
    }

    /// Brings a soft-deleted row back (`POST /things/{id}/restore`): clears `deleted_at` and
    /// `deleter_user_id` within the delete scope, touching the audit fields. A unique value taken
    /// meanwhile by another row is a 409 (the partial unique indexes of soft-deletable tables only
    /// cover live rows). A live row is a 409 `not_deleted` without its content: the restore
    /// permission alone must not read live rows. Runs no hooks.
    ///
    /// # Errors
    /// [`Error::NotFound`] (also outside the scope); [`Error::Rule`] `not_deleted`;
    /// [`Error::DuplicatedEntity`]; database errors.
    fn restore(&self, ctx: &mut Context, id: i64) -> impl Future<Output = Result<Self::Entity>> + Send {
        async move {
            if !<Self::Entity as Entity>::SOFT_DELETE {
                return self.get_if_exist(ctx, id).await;
            }
            let mut values = Values::new();
            values.set(DELETED_AT, Value::ChronoDateTimeUtc(None)).set(DELETER, Option::<i64>::None);
            if let Some(restored) =
                write_logged(self, ctx, id, values, "restore", None, Operation::Delete, Deleted::Only).await?
            {
                return Ok(restored);
            }
            let table = <Self::Entity as Entity>::TABLE;
            if exists_for::<Self::Entity>(ctx, id, Operation::Delete).await? {
                Err(Error::rule("not_deleted", format!("Entity [{table}] with id={id} is not deleted")))
            } else {
                Err(Error::not_found(table, id))
            }
        }
    }

    /// Runs first in `update` and `delete`, before the row is locked: lock here the rows that must
    /// be locked before it (its parent), so that every writer takes locks in one order. An order
    /// line's delete that locked the line and then its order would deadlock on PostgreSQL with
    /// the order's delete, which locks the order and then (cascading) its lines. Find the parent
    /// with a plain read, lock it with [`AutoCrud::get_for_update`], and ignore a missing one:
    /// the row's own lookup answers the 404.
    ///
    /// # Errors
    /// Any error aborts the request (and its transaction).
    fn lock_first(&self, _ctx: &mut Context, _id: i64, _op: Operation) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Runs before an insert, after the reference checks; may change the input, add server-set
    /// `values` (they win over the input's), or refuse with an error.
    ///
    /// # Errors
    /// Any error aborts the request (and its transaction).
    fn before_create(
        &self,
        _ctx: &mut Context,
        _input: &mut <Self::Entity as Entity>::Create,
        _values: &mut Values,
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

    /// Runs before an update with the current row (locked); may change the input, add
    /// server-set `values`, or refuse.
    ///
    /// # Errors
    /// Any error aborts the request (and its transaction).
    fn before_update(
        &self,
        _ctx: &mut Context,
        _current: &Self::Entity,
        _input: &mut <Self::Entity as Entity>::Update,
        _values: &mut Values,
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

    /// Runs before a delete with the row (locked); may refuse.
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

/// The row with this id within the scope for `op`, locked until the scope commits (`FOR UPDATE`
/// on PostgreSQL; SQLite's write transaction already holds the write lock).
async fn locked_in<C: AutoCrud + ?Sized>(
    crud: &C,
    ctx: &mut Context,
    id: i64,
    op: Operation,
    deleted: Deleted,
) -> Result<Option<C::Entity>> {
    let scope = scope_of(crud, ctx, op, deleted)?;
    let mut query = select::<C::Entity>().and_where(by_id::<C::Entity>(id)).to_owned();
    restrict(&mut query, &scope);
    if ctx.backend() == Backend::Postgres {
        query.lock(LockType::Update);
    }
    let row: Option<C::Entity> = ctx.tx.fetch_optional(&query).await?;
    Ok(row.map(|mut e| {
        e.finish();
        e
    }))
}

/// Records `action` on the row `id` of an audited resource (nothing for others): the fields
/// that differ between `before` and `after` (every field of a created or hard-deleted row).
async fn audit<E: Entity>(
    ctx: &mut Context,
    action: &str,
    id: i64,
    before: Option<&E>,
    after: Option<&E>,
) -> Result<()> {
    if !E::AUDIT_LOG {
        return Ok(());
    }
    let before = before.map(Entity::audit_fields).unwrap_or_default();
    let after = after.map(Entity::audit_fields).unwrap_or_default();
    let entry = AuditEntry::new(action, E::TABLE, Some(id)).diff(&before, &after, E::AUDIT_REDACTED);
    kwik_core::audit::record(ctx, entry).await
}

/// [`write_in`] recorded in the audit log as `action`. `before` is the row as the caller locked
/// it; without it an audited resource locks and reads it first (`None` when it is outside the
/// scope: nothing is written).
#[allow(clippy::too_many_arguments)] // private: every write path passes its own combination
async fn write_logged<C: AutoCrud + ?Sized>(
    crud: &C,
    ctx: &mut Context,
    id: i64,
    values: Values,
    action: &str,
    before: Option<C::Entity>,
    op: Operation,
    deleted: Deleted,
) -> Result<Option<C::Entity>> {
    let before = match before {
        Some(row) => Some(row),
        None if <C::Entity as Entity>::AUDIT_LOG => match locked_in(crud, ctx, id, op, deleted).await? {
            Some(row) => Some(row),
            None => return Ok(None),
        },
        None => None,
    };
    let after = write_in(crud, ctx, id, values, op, deleted).await?;
    if let Some(row) = &after {
        audit(ctx, action, id, before.as_ref(), Some(row)).await?;
    }
    Ok(after)
}

/// `UPDATE <table> SET <values>, <audit fields> WHERE <pk> = id AND <scope> RETURNING <columns>`.
async fn write_in<C: AutoCrud + ?Sized>(
    crud: &C,
    ctx: &mut Context,
    id: i64,
    values: Values,
    op: Operation,
    deleted: Deleted,
) -> Result<Option<C::Entity>> {
    let table = <C::Entity as Entity>::TABLE;
    let mut values = values;
    if <C::Entity as Entity>::TENANT_SCOPED && ctx.tenant_id.is_some() {
        // A row never leaves its tenant through a scope of that tenant.
        values.remove(TENANT);
    }
    if <C::Entity as Entity>::AUDITED {
        audit_values(ctx, &mut values, false);
    } else if values.is_empty() {
        // Nothing to write: the row as it is (still within the scope).
        return crud.get_for_update(ctx, id, op).await.map(Some);
    }
    let scope = scope_of(crud, ctx, op, deleted)?;
    let mut update = Query::update().table(table).and_where(by_id::<C::Entity>(id)).to_owned();
    if !unrestricted(&scope) {
        update.and_where(Expr::from(scope));
    }
    for (column, value) in values.into_pairs() {
        update.value(column, value);
    }
    update.returning(returning::<C::Entity>());
    let entity: Option<C::Entity> = ctx.tx.fetch_optional(&update).await?;
    Ok(entity.map(|mut e| {
        e.finish();
        e
    }))
}

/// The one list statement behind [`AutoCrud::get_multi`] and its variants.
async fn list_in<C: AutoCrud + ?Sized>(
    crud: &C,
    ctx: &mut Context,
    spec: &ListSpec,
    within: Condition,
    deleted: Deleted,
) -> Result<(i64, Vec<C::Entity>)> {
    let table = <C::Entity as Entity>::TABLE;
    let pk = <C::Entity as Entity>::PRIMARY_KEY;
    let scope = both(scope_of(crud, ctx, Operation::Read, deleted)?, within);
    let mut count = Query::select().expr(Func::count(Expr::col((table, pk)))).from(table).to_owned();
    restrict(&mut count, &scope);
    spec.apply_filters(&mut count);
    let mut page = select::<C::Entity>();
    restrict(&mut page, &scope);
    spec.apply(&mut page);
    page.expr_as(Expr::SubQuery(None, Box::new(count.clone().into())), TOTAL_COLUMN);
    let (mut rows, total): (Vec<C::Entity>, _) = ctx.tx.fetch_all_counted(&page, TOTAL_COLUMN).await?;
    rows.iter_mut().for_each(Entity::finish);
    let total = match total {
        Some(total) => total,
        // A first page with room for rows came back empty: nothing matches.
        None if spec.is_first_page() && spec.limit() > 0 => 0,
        None => ctx.tx.fetch_i64(&count).await?,
    };
    Ok((total, rows))
}

/// The 409 of deleting a row other rows still reference.
fn still_referenced(table: &str, id: i64, referencing: Option<&str>) -> Error {
    let detail = match referencing {
        Some(other) => format!("Entity [{table}] with id={id} is still referenced by [{other}]"),
        None => format!("Entity [{table}] with id={id} is still referenced by other records"),
    };
    Error::rule("still_referenced", detail)
}
