//! The `users` table.

use kwik_core::{Context, Error, Executor, Queries, Result};
use kwik_listing::{FieldSpec, FieldType, ListSchema, ListSpec};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};

use crate::models::{Permission, Role, User};
use crate::statements::{found, insert_audit_values, log, set_values, touch, with_audit};

const TABLE: &str = "users";

/// Kwik's allow-list for `GET /users/`: sort and filter on `id, name, surname, email, is_active`.
pub static LIST: ListSchema = ListSchema::new(
    "User",
    TABLE,
    "id",
    &[
        FieldSpec::new("id", FieldType::Int),
        FieldSpec::new("name", FieldType::Text),
        FieldSpec::new("surname", FieldType::Text),
        FieldSpec::new("email", FieldType::Text),
        FieldSpec::new("is_active", FieldType::Bool),
    ],
);

/// A new user. `hashed_password` must already be a PHC hash.
#[derive(Clone)]
pub struct NewUser {
    /// First name.
    pub name: String,
    /// Last name.
    pub surname: String,
    /// Normalised email.
    pub email: String,
    /// PHC hash of the password.
    pub hashed_password: String,
    /// Whether the user can log in.
    pub is_active: bool,
}

/// A partial update: `None` leaves a field unchanged.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New first name.
    pub name: Option<String>,
    /// New last name.
    pub surname: Option<String>,
    /// New normalised email.
    pub email: Option<String>,
    /// New status; deactivating revokes every token of the user.
    pub is_active: Option<bool>,
}

/// The fields of a user the audit log records (never the hash or the token version).
fn logged(user: &User) -> [(&'static str, serde_json::Value); 4] {
    [
        ("name", user.name.clone().into()),
        ("surname", user.surname.clone().into()),
        ("email", user.email.clone().into()),
        ("is_active", user.is_active.into()),
    ]
}

fn select() -> SelectStatement {
    crate::tables::users()
}

/// The user with this id.
///
/// # Errors
/// Database errors.
pub async fn get(exec: &mut impl Executor, id: i64) -> Result<Option<User>> {
    exec.fetch_optional(select().and_where(Expr::col((TABLE, "id")).eq(id))).await
}

/// The user with this id, or Kwik's 404 `Entity [users] with id=N does not exist`.
///
/// # Errors
/// [`Error::NotFound`]; database errors.
pub async fn get_if_exist(exec: &mut impl Executor, id: i64) -> Result<User> {
    found(get(exec, id).await?, TABLE, id)
}

/// The user with exactly this (normalised) email. Kwik's lookup is exact on the stored string.
///
/// # Errors
/// Database errors.
pub async fn by_email(exec: &mut impl Executor, email: &str) -> Result<Option<User>> {
    exec.fetch_optional(select().and_where(Expr::col((TABLE, "email")).eq(email))).await
}

/// Inserts a user, in the scope's tenant (the `default` tenant without one). A taken email is a
/// 409 (checked first, and caught again as a unique violation when two requests race): emails
/// are unique across tenants, since they are what one logs in with.
///
/// # Errors
/// [`Error::DuplicatedEntity`]; database errors.
pub async fn create(ctx: &mut Context, user: NewUser) -> Result<User> {
    if by_email(&mut ctx.tx, &user.email).await?.is_some() {
        return Err(Error::duplicated());
    }
    let mut insert = Query::insert()
        .into_table(TABLE)
        .columns(with_audit(&[
            "name",
            "surname",
            "email",
            "hashed_password",
            "is_active",
            "token_version",
            "tenant_id",
        ]))
        .returning_col("id")
        .to_owned();
    let mut values = vec![
        Expr::val(user.name),
        Expr::val(user.surname),
        Expr::val(user.email),
        Expr::val(user.hashed_password),
        Expr::val(user.is_active),
        Expr::val(0i64),
        Expr::val(ctx.tenant_id.unwrap_or(crate::tenants::DEFAULT_TENANT)),
    ];
    values.extend(insert_audit_values(ctx));
    set_values(&mut insert, values)?;
    let id = ctx.tx.fetch_i64(&insert).await?;
    let user = get_if_exist(&mut ctx.tx, id).await?;
    log(ctx, "create", TABLE, id, &[], &logged(&user)).await?;
    Ok(user)
}

/// Applies a partial update. Changing the email to one another user has is a 409 (Kwik answers
/// 500 here: bug §9.2). Deactivating bumps the token version, so existing tokens stop working.
///
/// # Errors
/// [`Error::NotFound`], [`Error::DuplicatedEntity`]; database errors.
pub async fn update(ctx: &mut Context, id: i64, patch: UserPatch) -> Result<User> {
    let current = get_if_exist(&mut ctx.tx, id).await?;
    if let Some(email) = &patch.email
        && *email != current.email
        && by_email(&mut ctx.tx, email).await?.is_some()
    {
        return Err(Error::duplicated());
    }
    let mut update = Query::update().table(TABLE).and_where(Expr::col("id").eq(id)).to_owned();
    if let Some(name) = patch.name {
        update.value("name", name);
    }
    if let Some(surname) = patch.surname {
        update.value("surname", surname);
    }
    if let Some(email) = patch.email {
        update.value("email", email);
    }
    if patch.is_active == Some(false) && current.is_active {
        crate::admin::keep_an_active_administrator(ctx, id).await?;
    }
    if let Some(active) = patch.is_active {
        update.value("is_active", active);
        if current.is_active && !active {
            update.value("token_version", Expr::col("token_version").add(1));
        }
    }
    touch(&mut update, ctx);
    ctx.tx.execute(&update).await?;
    let user = get_if_exist(&mut ctx.tx, id).await?;
    log(ctx, "update", TABLE, id, &logged(&current), &logged(&user)).await?;
    Ok(user)
}

/// Stores a new password hash and bumps the token version: every token issued before is revoked.
/// API keys are kept (the user's own change; see [`reset_password`] for the paths that revoke
/// them).
///
/// # Errors
/// [`Error::NotFound`]; database errors.
pub async fn set_password(ctx: &mut Context, id: i64, hashed_password: &str) -> Result<User> {
    set_password_if(ctx, id, None, hashed_password).await?.ok_or_else(|| Error::not_found(TABLE, id))
}

/// [`set_password`] as a compare-and-set: only when the stored hash is still `expected` (when
/// given), so a password verified against that hash cannot overwrite a change made meanwhile.
/// `None` when nothing was written. Recorded in the audit log as a `password_change` event,
/// without values.
///
/// # Errors
/// Database errors.
pub async fn set_password_if(
    ctx: &mut Context,
    id: i64,
    expected: Option<&str>,
    hashed_password: &str,
) -> Result<Option<User>> {
    let user = store_password(ctx, id, expected, hashed_password).await?;
    if user.is_some() {
        log(ctx, "password_change", TABLE, id, &[], &[]).await?;
    }
    Ok(user)
}

/// The new hash and a bumped token version, compare-and-set on `expected`; no audit entry.
async fn store_password(
    ctx: &mut Context,
    id: i64,
    expected: Option<&str>,
    hashed_password: &str,
) -> Result<Option<User>> {
    let mut update = Query::update()
        .table(TABLE)
        .value("hashed_password", hashed_password)
        .value("token_version", Expr::col("token_version").add(1))
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    if let Some(expected) = expected {
        update.and_where(Expr::col("hashed_password").eq(expected));
    }
    touch(&mut update, ctx);
    if ctx.tx.execute(&update).await? == 0 {
        return Ok(None);
    }
    get(&mut ctx.tx, id).await
}

/// A password reset (by an administrator, through recovery, or by `create-superuser`): the new
/// hash, every token revoked, and every API key of the user revoked too — a reset is what one
/// does when an account may be in someone else's hands. Compare-and-set on `expected` as in
/// [`set_password_if`]. Recorded as a `password_reset` event, without values.
///
/// # Errors
/// Database errors.
pub async fn reset_password_if(
    ctx: &mut Context,
    id: i64,
    expected: Option<&str>,
    hashed_password: &str,
) -> Result<Option<User>> {
    let Some(user) = store_password(ctx, id, expected, hashed_password).await? else { return Ok(None) };
    let revoke = Query::update()
        .table("api_keys")
        .value("revoked_at", kwik_core::now())
        .and_where(Expr::col("user_id").eq(id))
        .and_where(Expr::col("revoked_at").is_null())
        .to_owned();
    ctx.tx.execute(&revoke).await?;
    log(ctx, "password_reset", TABLE, id, &[], &[]).await?;
    Ok(Some(user))
}

/// [`reset_password_if`] without the compare-and-set.
///
/// # Errors
/// [`Error::NotFound`]; database errors.
pub async fn reset_password(ctx: &mut Context, id: i64, hashed_password: &str) -> Result<User> {
    reset_password_if(ctx, id, None, hashed_password).await?.ok_or_else(|| Error::not_found(TABLE, id))
}

/// Replaces the hash without revoking tokens (transparent re-hash after a login with a legacy
/// bcrypt hash or outdated argon2 parameters: the password itself did not change). Only when the
/// stored hash is still `previous`, so a password changed meanwhile is never overwritten with the
/// old one. Returns whether it was written.
///
/// # Errors
/// Database errors.
pub async fn rehash_password(exec: &mut impl Executor, id: i64, previous: &str, hashed_password: &str) -> Result<bool> {
    let update = Query::update()
        .table(TABLE)
        .value("hashed_password", hashed_password)
        .and_where(Expr::col("id").eq(id))
        .and_where(Expr::col("hashed_password").eq(previous))
        .to_owned();
    Ok(exec.execute(&update).await? == 1)
}

/// The user bootstrap marked with this `system_key` (see [`crate::bootstrap()`]).
///
/// # Errors
/// Database errors.
pub async fn by_system_key(exec: &mut impl Executor, key: &str) -> Result<Option<User>> {
    exec.fetch_optional(select().and_where(Expr::col((TABLE, "system_key")).eq(key))).await
}

/// Marks a user with a `system_key` (bootstrap only; no API sets it).
///
/// # Errors
/// Database errors.
pub async fn set_system_key(ctx: &mut Context, id: i64, key: &str) -> Result<()> {
    let update = Query::update().table(TABLE).value("system_key", key).and_where(Expr::col("id").eq(id)).to_owned();
    ctx.tx.execute(&update).await?;
    ctx.principals_changed();
    Ok(())
}

/// A page of users and the number of users matching the filters.
///
/// # Errors
/// Database errors.
pub async fn list(exec: &mut impl Executor, spec: &ListSpec) -> Result<(i64, Vec<User>)> {
    list_in(exec, spec, None).await
}

/// [`list`] within one tenant (`None`: every tenant).
///
/// # Errors
/// Database errors.
pub async fn list_in(exec: &mut impl Executor, spec: &ListSpec, tenant: Option<i64>) -> Result<(i64, Vec<User>)> {
    crate::statements::list_page_where(
        exec,
        spec,
        TABLE,
        select(),
        tenant.map(|t| Expr::col((TABLE, "tenant_id")).eq(t)),
    )
    .await
}

/// The roles assigned to the user; `active_only` drops inactive roles (Kwik's `/users/{id}/roles`).
///
/// # Errors
/// Database errors.
pub async fn roles(exec: &mut impl Executor, user_id: i64, active_only: bool) -> Result<Vec<Role>> {
    let mut query = crate::tables::roles()
        .inner_join("users_roles", Expr::col(("users_roles", "role_id")).equals(("roles", "id")))
        .and_where(Expr::col(("users_roles", "user_id")).eq(user_id))
        .order_by(("roles", "id"), Order::Asc)
        .to_owned();
    if active_only {
        query.and_where(Expr::col(("roles", "is_active")).eq(true));
    }
    exec.fetch_all(&query).await
}

/// The user's effective permissions: granted through active roles, each once, in id order
/// (Kwik repeats a permission granted by several roles: bug §9.6).
///
/// # Errors
/// Database errors.
pub async fn effective_permissions(exec: &mut impl Executor, user_id: i64) -> Result<Vec<Permission>> {
    let query = crate::tables::permissions()
        .distinct()
        .inner_join(
            "roles_permissions",
            Expr::col(("roles_permissions", "permission_id")).equals(("permissions", "id")),
        )
        .inner_join("roles", Expr::col(("roles", "id")).equals(("roles_permissions", "role_id")))
        .inner_join("users_roles", Expr::col(("users_roles", "role_id")).equals(("roles", "id")))
        .and_where(Expr::col(("users_roles", "user_id")).eq(user_id))
        .and_where(Expr::col(("roles", "is_active")).eq(true))
        .order_by(("permissions", "id"), Order::Asc)
        .to_owned();
    exec.fetch_all(&query).await
}

#[derive(sqlx::FromRow)]
struct PrincipalRow {
    #[sqlx(flatten)]
    user: User,
    permission: Option<String>,
}

/// The user and the names of their effective permissions, in **one** query (one round trip per
/// authenticated request). `None` when the user does not exist.
///
/// # Errors
/// Database errors.
pub async fn principal(exec: &mut impl Executor, user_id: i64) -> Result<Option<(User, Vec<String>)>> {
    let query = select()
        .expr_as(Expr::col(("permissions", "name")), "permission")
        .left_join("users_roles", Expr::col(("users_roles", "user_id")).equals((TABLE, "id")))
        .left_join(
            "roles",
            Expr::col(("roles", "id"))
                .equals(("users_roles", "role_id"))
                .and(Expr::col(("roles", "is_active")).eq(true)),
        )
        .left_join("roles_permissions", Expr::col(("roles_permissions", "role_id")).equals(("roles", "id")))
        .left_join("permissions", Expr::col(("permissions", "id")).equals(("roles_permissions", "permission_id")))
        .and_where(Expr::col((TABLE, "id")).eq(user_id))
        .to_owned();
    let rows: Vec<PrincipalRow> = exec.fetch_all(&query).await?;
    let mut rows = rows.into_iter();
    let Some(first) = rows.next() else { return Ok(None) };
    let mut names: Vec<String> = first.permission.into_iter().collect();
    for row in rows {
        if let Some(name) = row.permission
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    Ok(Some((first.user, names)))
}
