//! # kwik-rbac
//!
//! Users, roles, permissions and their assignments on SQLite and PostgreSQL, with Kwik's rules:
//! names of roles and permissions are normalised (trimmed, lower-cased), a role grants nothing
//! while inactive, effective permissions come through active roles only, each once.
//!
//! Every write takes a [`kwik_core::Context`] (a transaction plus the acting user, for the audit
//! fields); reads take any executor (a pool or a transaction).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> kwik_core::Result<()> {
//! use kwik_core::{Context, Db, settings::PoolSettings};
//! use kwik_rbac::{roles, users, permissions};
//!
//! let db = Db::connect("sqlite::memory:", &PoolSettings::default()).await?;
//! db.migrate(&[&kwik_rbac::MIGRATIONS]).await?;
//!
//! let mut ctx = Context::begin(&db, None).await?;
//! let reader = roles::create(&mut ctx, "reader", true).await?;
//! let read = permissions::create(&mut ctx, "book_read").await?;
//! roles::add_permission(&mut ctx, reader.id, read.id).await?;
//! let ada = users::create(&mut ctx, users::NewUser {
//!     name: "Ada".into(), surname: "Lovelace".into(), email: "ada@example.com".into(),
//!     hashed_password: "$argon2id$...".into(), is_active: true,
//! }).await?;
//! roles::add_user(&mut ctx, reader.id, ada.id).await?;
//! ctx.commit().await?;
//!
//! let (user, granted) = users::principal(&mut db.clone(), ada.id).await?.expect("exists");
//! assert_eq!(user.email, "ada@example.com");
//! assert_eq!(granted, ["book_read"]);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod admin;
pub mod audit_log;
pub mod bootstrap;
pub mod models;
pub mod normalize;
pub mod permissions;
pub mod roles;
mod statements;
mod tables;
pub mod tenants;
pub mod users;

pub use bootstrap::{BUILTIN_PERMISSIONS, bootstrap};
pub use models::{Permission, Role, Tenant, User};

/// The RBAC tables, for both backends (tracked in `_kwik_migrations_rbac`).
pub static MIGRATIONS: kwik_core::MigrationSet = kwik_core::MigrationSet {
    name: "rbac",
    sqlite: sqlx::migrate!("migrations/sqlite"),
    postgres: sqlx::migrate!("migrations/postgres"),
};
