//! [`assert_migrations_current`]: the committed SQL of a module's migrations is what its Rust
//! migrations render.

use std::path::Path;

use kwik_core::schema::{self, Migration};

/// The environment variable that makes [`assert_migrations_current`] write the files instead of
/// checking them: `KWIK_WRITE_MIGRATIONS=1 cargo test`.
pub const WRITE_MIGRATIONS: &str = "KWIK_WRITE_MIGRATIONS";

/// Fails (panics, naming each file and the command that fixes it) when the SQL files under
/// `dir/sqlite` and `dir/postgres` are not what `migrations` render
/// ([`kwik_core::schema::stale_files`]). With `KWIK_WRITE_MIGRATIONS=1` set, writes them instead
/// ([`kwik_core::schema::write_files`]) and passes. Relative `dir`s are relative to the test's
/// working directory, the crate's folder under `cargo test`.
///
/// ```no_run
/// use kwik_core::schema::{Column, Migration, Table};
///
/// let migrations = [Migration::new(1, "notes").create_table(Table::new("notes").id().column(Column::text("text")))];
/// kwik_testing::assert_migrations_current(&migrations, "migrations/notes");
/// ```
///
/// # Panics
/// When the files differ, or the migrations cannot be rendered or written.
#[track_caller]
pub fn assert_migrations_current(migrations: &[Migration], dir: impl AsRef<Path>) {
    let dir = dir.as_ref();
    if std::env::var(WRITE_MIGRATIONS).is_ok_and(|v| v == "1") {
        if let Err(e) = schema::write_files(migrations, dir) {
            panic!("writing the migrations under {}: {e}", dir.display());
        }
        return;
    }
    match schema::stale_files(migrations, dir) {
        Ok(problems) if problems.is_empty() => {}
        Ok(problems) => panic!(
            "the SQL under {} is not what the Rust migrations render:\n  {}\nrun the test again with {WRITE_MIGRATIONS}=1 to write it (and review the diff)",
            dir.display(),
            problems.join("\n  ")
        ),
        Err(e) => panic!("rendering the migrations for {}: {e}", dir.display()),
    }
}
