//! `kwik-bench-baseline`: the raw poem + sqlx server that `cargo xtask bench` measures kwik-server
//! against, so the framework's overhead is a ratio taken in the same run on the same machine.
//!
//! It serves the routes of the benchmark workloads W2–W5 with the **same SQL** kwik-server runs
//! for them, and the same auth check (an HS256 access token signed with `KWIK_SECRET_KEY`, then the
//! user and their effective permissions loaded in one query, token version and active flag
//! checked), written by hand with no framework layer in between:
//!
//! | route | statements |
//! |---|---|
//! | `GET /api/v1/users/me` | auth |
//! | `GET /api/v1/projects/?skip=&limit=&sorting=` | auth, `COUNT`, page |
//! | `GET /api/v1/projects/{id}` | auth, select by id |
//! | `POST /api/v1/projects/` | auth, `BEGIN`, `INSERT .. RETURNING id`, select by id, `COMMIT` |
//!
//! The pool has kwik-server's default size (30 connections) and sqlx's other defaults, as
//! kwik-server's does. Helper subcommands let the bench tooling prepare the database without
//! `psql`: `reset-db`, `seed` (projects up to a count) and `hash` (argon2id cost per call).

use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
use chrono::{DateTime, SubsecRound as _, Utc};
use clap::{Parser, Subcommand};
use jsonwebtoken::{DecodingKey, Validation};
use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::{Data, Json, Path, Query};
use poem::{EndpointExt as _, IntoResponse, Request, Response, Route, Server, get, handler};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgPool};

/// The baseline server and its helpers.
#[derive(Debug, Parser)]
#[command(about = "Raw poem + sqlx baseline for `cargo xtask bench`")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the W2–W5 routes on 127.0.0.1:PORT.
    Serve {
        /// PostgreSQL URL of a database kwik-server has migrated.
        #[arg(long, env = "KWIK_DATABASE_URL")]
        database_url: String,
        /// The HS256 secret kwik-server signs its tokens with.
        #[arg(long, env = "KWIK_SECRET_KEY")]
        secret_key: String,
        /// Port on 127.0.0.1.
        #[arg(long)]
        port: u16,
        /// Pool size (kwik-server: `POSTGRES_POOL_SIZE` + `POSTGRES_MAX_OVERFLOW` = 30).
        #[arg(long, default_value_t = 30)]
        max_connections: u32,
    },
    /// Drop (forcing connections off) and recreate a database; prints the server version.
    ResetDb {
        /// URL of an existing database to connect through (e.g. `.../postgres`).
        #[arg(long)]
        admin_url: String,
        /// The database to recreate (letters, digits, `_`).
        #[arg(long)]
        name: String,
    },
    /// Make the `projects` table hold COUNT rows: insert bench projects, or delete the newest rows
    /// beyond COUNT; prints `{"projects", "min_id", "max_id"}`.
    Seed {
        /// PostgreSQL URL of the migrated database.
        #[arg(long)]
        database_url: String,
        /// Rows the `projects` table should hold.
        #[arg(long, default_value_t = 10_000)]
        projects: i64,
    },
    /// Time argon2id hashes with these parameters; prints `{"ms_per_hash", ...}`.
    Hash {
        /// Memory in KiB (`KWIK_ARGON2_MEMORY_KIB`).
        #[arg(long, default_value_t = 19_456)]
        memory_kib: u32,
        /// Iterations (`KWIK_ARGON2_ITERATIONS`).
        #[arg(long, default_value_t = 2)]
        iterations: u32,
        /// Lanes (`KWIK_ARGON2_PARALLELISM`).
        #[arg(long, default_value_t = 1)]
        parallelism: u32,
        /// Hashes to time (one untimed warm-up first).
        #[arg(long, default_value_t = 20)]
        count: u32,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let result = match Cli::parse().command {
        Command::Serve { database_url, secret_key, port, max_connections } => {
            serve(&database_url, &secret_key, port, max_connections).await
        }
        Command::ResetDb { admin_url, name } => reset_db(&admin_url, &name).await,
        Command::Seed { database_url, projects } => seed(&database_url, projects).await,
        Command::Hash { memory_kib, iterations, parallelism, count } => {
            hash(memory_kib, iterations, parallelism, count)
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kwik-bench-baseline: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The SQL: what kwik-server's sea-query statements render to on PostgreSQL.

/// `kwik_rbac::users::principal`: the user and their effective permission names in one query.
const PRINCIPAL: &str = r#"SELECT "users"."id", "users"."name", "users"."surname", "users"."email", "users"."hashed_password", "users"."is_active", "users"."token_version", "users"."creation_time", "users"."last_modification_time", "users"."creator_user_id", "users"."last_modifier_user_id", "permissions"."name" AS "permission" FROM "users" LEFT JOIN "users_roles" ON "users_roles"."user_id" = "users"."id" LEFT JOIN "roles" ON "roles"."id" = "users_roles"."role_id" AND "roles"."is_active" = $1 LEFT JOIN "roles_permissions" ON "roles_permissions"."role_id" = "roles"."id" LEFT JOIN "permissions" ON "permissions"."id" = "roles_permissions"."permission_id" WHERE "users"."id" = $2"#;

/// `AutoCrud::get_multi`'s count (no filters).
const PROJECT_COUNT: &str = r#"SELECT COUNT("projects"."id") FROM "projects""#;

/// The page for each supported `sorting` (`ListSpec::apply`: NULLS LAST ascending, FIRST descending,
/// none on the primary key).
const PAGE_BY_ID_ASC: &str = r#"SELECT "projects"."id", "projects"."name", "projects"."description", "projects"."archived", "projects"."creation_time", "projects"."last_modification_time", "projects"."creator_user_id", "projects"."last_modifier_user_id" FROM "projects" ORDER BY "projects"."id" ASC LIMIT $1 OFFSET $2"#;
const PAGE_BY_ID_DESC: &str = r#"SELECT "projects"."id", "projects"."name", "projects"."description", "projects"."archived", "projects"."creation_time", "projects"."last_modification_time", "projects"."creator_user_id", "projects"."last_modifier_user_id" FROM "projects" ORDER BY "projects"."id" DESC LIMIT $1 OFFSET $2"#;
const PAGE_BY_NAME_ASC: &str = r#"SELECT "projects"."id", "projects"."name", "projects"."description", "projects"."archived", "projects"."creation_time", "projects"."last_modification_time", "projects"."creator_user_id", "projects"."last_modifier_user_id" FROM "projects" ORDER BY "projects"."name" ASC NULLS LAST LIMIT $1 OFFSET $2"#;
const PAGE_BY_NAME_DESC: &str = r#"SELECT "projects"."id", "projects"."name", "projects"."description", "projects"."archived", "projects"."creation_time", "projects"."last_modification_time", "projects"."creator_user_id", "projects"."last_modifier_user_id" FROM "projects" ORDER BY "projects"."name" DESC NULLS FIRST LIMIT $1 OFFSET $2"#;

/// `AutoCrud::get`.
const PROJECT_BY_ID: &str = r#"SELECT "projects"."id", "projects"."name", "projects"."description", "projects"."archived", "projects"."creation_time", "projects"."last_modification_time", "projects"."creator_user_id", "projects"."last_modifier_user_id" FROM "projects" WHERE "projects"."id" = $1"#;

/// `AutoCrud::create` (audited entity).
const PROJECT_INSERT: &str = r#"INSERT INTO "projects" ("name", "description", "creation_time", "last_modification_time", "creator_user_id", "last_modifier_user_id") VALUES ($1, $2, $3, $4, $5, $6) RETURNING "id""#;

// ---------------------------------------------------------------------------------------------
// Server.

struct State {
    pool: PgPool,
    key: DecodingKey,
    validation: Validation,
}

type Shared = Arc<State>;

async fn serve(database_url: &str, secret_key: &str, port: u16, max_connections: u32) -> Result<(), String> {
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(10))
        .connect(database_url)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    // kwik_auth::JwtKeys: HS256 only, zero leeway, `exp` required, `nbf` enforced.
    let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.leeway = 0;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp"]);
    let state: Shared = Arc::new(State { pool, key: DecodingKey::from_secret(secret_key.as_bytes()), validation });
    let app = Route::new()
        .at("/health", get(health))
        .at("/api/v1/users/me", get(me))
        .at("/api/v1/projects/", get(list_projects).post(create_project))
        .at("/api/v1/projects/:id", get(get_project))
        .data(state);
    Server::new(TcpListener::bind(("127.0.0.1", port))).run(app).await.map_err(|e| format!("server error: {e}"))
}

/// A JSON error `{"detail": ...}` (Kwik's shape).
fn fail(status: StatusCode, detail: &str) -> Response {
    (status, Json(serde_json::json!({ "detail": detail }))).into_response()
}

fn internal(e: &sqlx::Error) -> Response {
    eprintln!("database error: {e}");
    fail(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
}

#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    sub: String,
    exp: i64,
    kwik_type: String,
    kwik_ver: i64,
    #[serde(default)]
    kwik_impersonate: String,
}

#[derive(sqlx::FromRow)]
#[allow(dead_code)] // read as kwik-server reads it; not every column is used
struct PrincipalRow {
    id: i64,
    name: String,
    surname: String,
    email: String,
    hashed_password: String,
    is_active: bool,
    token_version: i64,
    creation_time: DateTime<Utc>,
    last_modification_time: DateTime<Utc>,
    creator_user_id: Option<i64>,
    last_modifier_user_id: Option<i64>,
    permission: Option<String>,
}

/// kwik-http's `Auth<P>` for bearer tokens: 401 without a token, 400 for an invalid or revoked
/// one, 403 without every permission in `required`. One database query. Returns the user.
async fn authenticate(state: &State, req: &Request, required: &[&str]) -> Result<PrincipalRow, Response> {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .ok_or_else(|| fail(StatusCode::UNAUTHORIZED, "Not authenticated"))?;
    let invalid = || fail(StatusCode::BAD_REQUEST, "Invalid token");
    let claims = jsonwebtoken::decode::<Claims>(token, &state.key, &state.validation).map_err(|_| invalid())?.claims;
    // Impersonation tokens (which cost kwik-server a second lookup) are refused: the bench never uses them.
    if claims.exp <= Utc::now().timestamp() || claims.kwik_type != "access" || !claims.kwik_impersonate.is_empty() {
        return Err(invalid());
    }
    let user_id: i64 = claims.sub.parse().map_err(|_| invalid())?;
    let rows: Vec<PrincipalRow> =
        sqlx::query_as(PRINCIPAL).bind(true).bind(user_id).fetch_all(&state.pool).await.map_err(|e| internal(&e))?;
    let mut rows = rows.into_iter();
    let Some(mut first) = rows.next() else {
        return Err(fail(StatusCode::FORBIDDEN, "Not enough privileges"));
    };
    let mut permissions: Vec<String> = first.permission.take().into_iter().collect();
    for row in rows {
        if let Some(name) = row.permission
            && !permissions.contains(&name)
        {
            permissions.push(name);
        }
    }
    if claims.kwik_ver != first.token_version {
        return Err(invalid());
    }
    if !first.is_active {
        return Err(fail(StatusCode::BAD_REQUEST, "Inactive user"));
    }
    if !required.iter().all(|r| permissions.iter().any(|p| p == r)) {
        return Err(fail(StatusCode::FORBIDDEN, "Not enough privileges"));
    }
    Ok(first)
}

#[handler]
fn health() -> &'static str {
    "ok"
}

#[derive(Serialize)]
struct UserProfile<'a> {
    id: i64,
    name: &'a str,
    surname: &'a str,
    email: &'a str,
    is_active: bool,
}

/// W2: `GET /api/v1/users/me`.
#[handler]
async fn me(req: &Request, state: Data<&Shared>) -> Response {
    match authenticate(&state, req, &[]).await {
        Ok(u) => {
            Json(UserProfile { id: u.id, name: &u.name, surname: &u.surname, email: &u.email, is_active: u.is_active })
                .into_response()
        }
        Err(response) => response,
    }
}

#[derive(Serialize, sqlx::FromRow)]
struct Project {
    id: i64,
    name: String,
    description: Option<String>,
    archived: bool,
    creation_time: DateTime<Utc>,
    last_modification_time: DateTime<Utc>,
    creator_user_id: Option<i64>,
    last_modifier_user_id: Option<i64>,
}

#[derive(Deserialize)]
struct ListParams {
    skip: Option<i64>,
    limit: Option<i64>,
    sorting: Option<String>,
}

#[derive(Serialize)]
struct Page {
    total: i64,
    data: Vec<Project>,
}

/// W3: `GET /api/v1/projects/?skip=&limit=&sorting=` (sorting: `id` or `name`, `:asc`/`:desc`).
#[handler]
async fn list_projects(req: &Request, state: Data<&Shared>, params: Query<ListParams>) -> Response {
    if let Err(response) = authenticate(&state, req, &["project_read"]).await {
        return response;
    }
    let skip = params.skip.unwrap_or(0);
    let limit = params.limit.unwrap_or(100);
    if skip < 0 || !(1..=1000).contains(&limit) {
        return fail(StatusCode::UNPROCESSABLE_ENTITY, "skip must be >= 0 and limit between 1 and 1000");
    }
    let page_sql = match params.sorting.as_deref().unwrap_or("id") {
        "id" | "id:asc" => PAGE_BY_ID_ASC,
        "id:desc" => PAGE_BY_ID_DESC,
        "name" | "name:asc" => PAGE_BY_NAME_ASC,
        "name:desc" => PAGE_BY_NAME_DESC,
        _ => return fail(StatusCode::UNPROCESSABLE_ENTITY, "unsupported sorting"),
    };
    let total: i64 = match sqlx::query_scalar(PROJECT_COUNT).fetch_one(&state.pool).await {
        Ok(total) => total,
        Err(e) => return internal(&e),
    };
    match sqlx::query_as::<_, Project>(page_sql).bind(limit).bind(skip).fetch_all(&state.pool).await {
        Ok(data) => Json(Page { total, data }).into_response(),
        Err(e) => internal(&e),
    }
}

/// W4: `GET /api/v1/projects/{id}`.
#[handler]
async fn get_project(req: &Request, state: Data<&Shared>, id: Path<i64>) -> Response {
    if let Err(response) = authenticate(&state, req, &["project_read"]).await {
        return response;
    }
    match sqlx::query_as::<_, Project>(PROJECT_BY_ID).bind(id.0).fetch_optional(&state.pool).await {
        Ok(Some(project)) => Json(project).into_response(),
        Ok(None) => fail(StatusCode::NOT_FOUND, &format!("Entity [projects] with id={} does not exist", id.0)),
        Err(e) => internal(&e),
    }
}

#[derive(Deserialize)]
struct ProjectCreate {
    name: String,
    description: Option<String>,
}

/// W5: `POST /api/v1/projects/`, in one transaction, 409 for a taken name.
#[handler]
async fn create_project(req: &Request, state: Data<&Shared>, body: Json<ProjectCreate>) -> Response {
    let caller = match authenticate(&state, req, &["project_create"]).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let input = body.0;
    let name_len = input.name.chars().count();
    if !(1..=200).contains(&name_len) || input.description.as_ref().is_some_and(|d| d.chars().count() > 2000) {
        return fail(StatusCode::UNPROCESSABLE_ENTITY, "name must be 1 to 200 characters, description at most 2000");
    }
    match insert_project(&state.pool, caller.id, input).await {
        Ok(project) => Json(project).into_response(),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => fail(StatusCode::CONFLICT, "Entity already exists"),
        Err(e) => internal(&e),
    }
}

async fn insert_project(pool: &PgPool, user_id: i64, input: ProjectCreate) -> Result<Project, sqlx::Error> {
    let now = Utc::now().trunc_subsecs(6);
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query_scalar(PROJECT_INSERT)
        .bind(input.name)
        .bind(input.description)
        .bind(now)
        .bind(now)
        .bind(Some(user_id))
        .bind(Some(user_id))
        .fetch_one(&mut *tx)
        .await?;
    let project = sqlx::query_as::<_, Project>(PROJECT_BY_ID).bind(id).fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(project)
}

// ---------------------------------------------------------------------------------------------
// Helpers for the bench tooling.

async fn reset_db(admin_url: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("'{name}' is not a plain database name"));
    }
    let mut conn = sqlx::PgConnection::connect(admin_url).await.map_err(|e| format!("cannot connect: {e}"))?;
    for sql in [format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"), format!("CREATE DATABASE \"{name}\"")] {
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.map_err(|e| e.to_string())?;
    }
    let version: String =
        sqlx::query_scalar("SHOW server_version").fetch_one(&mut conn).await.map_err(|e| e.to_string())?;
    println!("{}", serde_json::json!({ "database": name, "server_version": version }));
    Ok(())
}

async fn seed(database_url: &str, projects: i64) -> Result<(), String> {
    let mut conn = sqlx::PgConnection::connect(database_url).await.map_err(|e| format!("cannot connect: {e}"))?;
    let err = |e: sqlx::Error| e.to_string();
    let current: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects").fetch_one(&mut conn).await.map_err(err)?;
    if current < projects {
        sqlx::query(
            "INSERT INTO projects (name, description, archived, creation_time, last_modification_time) \
             SELECT 'Bench project ' || lpad(g::text, 6, '0'), 'Seeded bench project number ' || g, g % 7 = 0, \
                    date_trunc('milliseconds', now()), date_trunc('milliseconds', now()) \
             FROM generate_series(1, $1) AS g ON CONFLICT (name) DO NOTHING",
        )
        .bind(projects - current)
        .execute(&mut conn)
        .await
        .map_err(err)?;
        sqlx::query("ANALYZE projects").execute(&mut conn).await.map_err(err)?;
    } else if current > projects {
        // Back to the seeded table after runs that created projects: the newest rows go.
        sqlx::query("DELETE FROM projects WHERE id > (SELECT id FROM projects ORDER BY id OFFSET $1 LIMIT 1)")
            .bind(projects.max(1) - 1)
            .execute(&mut conn)
            .await
            .map_err(err)?;
        sqlx::query("VACUUM ANALYZE projects").execute(&mut conn).await.map_err(err)?;
    }
    let (count, min_id, max_id): (i64, Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MIN(id), MAX(id) FROM projects").fetch_one(&mut conn).await.map_err(err)?;
    println!("{}", serde_json::json!({ "projects": count, "min_id": min_id, "max_id": max_id }));
    Ok(())
}

fn hash(memory_kib: u32, iterations: u32, parallelism: u32, count: u32) -> Result<(), String> {
    let params = Params::new(memory_kib, iterations, parallelism, None).map_err(|e| e.to_string())?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let password = b"correct horse battery staple";
    argon2.hash_password(password).map_err(|e| e.to_string())?;
    let count = count.max(1);
    let mut times = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let start = Instant::now();
        argon2.hash_password(password).map_err(|e| e.to_string())?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / f64::from(count);
    let median = times[times.len() / 2];
    println!(
        "{}",
        serde_json::json!({
            "ms_per_hash": mean,
            "median_ms": median,
            "count": count,
            "memory_kib": memory_kib,
            "iterations": iterations,
            "parallelism": parallelism,
        })
    );
    Ok(())
}
