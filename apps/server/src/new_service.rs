//! `kwik-server new <name>`: writes a new service that depends on the `kwik` facade — one
//! resource with its migrations, `main.rs`, tests on the test kit, a README, `.gitignore` and a
//! CI workflow — ready for `cargo run` and `cargo test` (docs/new-service.md walks through it).

use std::path::{Path, PathBuf};

/// The files of a new service: path inside the service, template.
const FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/new-service/Cargo.toml.tmpl")),
    ("src/lib.rs", include_str!("../templates/new-service/lib.rs.tmpl")),
    ("src/main.rs", include_str!("../templates/new-service/main.rs.tmpl")),
    ("migrations/sqlite/0001_notes.sql", include_str!("../templates/new-service/sqlite.sql.tmpl")),
    ("migrations/postgres/0001_notes.sql", include_str!("../templates/new-service/postgres.sql.tmpl")),
    ("tests/notes.rs", include_str!("../templates/new-service/tests.rs.tmpl")),
    ("README.md", include_str!("../templates/new-service/README.md.tmpl")),
    (".gitignore", include_str!("../templates/new-service/gitignore.tmpl")),
    (".github/workflows/ci.yml", include_str!("../templates/new-service/ci.yml.tmpl")),
];

/// The `kwik` crate this binary was built with: the default dependency of a new service (the
/// framework is not on crates.io yet).
pub fn default_kwik_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/kwik")
}

/// Whether `name` is a Cargo package name a service can have: ASCII letters, digits, `-` and
/// `_`, starting with a letter, at most 64 characters.
fn valid_name(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Writes the service `name` into `dir` (created; it must not exist or be empty), depending on
/// the `kwik` crate at `kwik_path`. Returns the files written.
///
/// # Errors
/// A message for an invalid name, a non-empty directory, or an I/O error.
pub fn generate(name: &str, dir: &Path, kwik_path: &Path) -> Result<Vec<PathBuf>, String> {
    if !valid_name(name) {
        return Err(format!(
            "'{name}' is not a valid package name: letters, digits, '-' and '_', starting with a letter"
        ));
    }
    if dir.read_dir().is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(format!("{} exists and is not empty", dir.display()));
    }
    let kwik_path = kwik_path.canonicalize().map_err(|e| format!("the kwik crate at {}: {e}", kwik_path.display()))?;
    let path = kwik_path.display().to_string().replace('\\', "/").replace('"', "\\\"");
    let crate_name = name.replace('-', "_");
    let mut written = Vec::new();
    for (file, template) in FILES {
        let text = template
            .replace("{{kwik_dependency}}", &format!("{{ path = \"{path}\" }}"))
            .replace("{{kwik_dependency_inner}}", &format!("path = \"{path}\""))
            .replace("{{crate}}", &crate_name)
            .replace("{{name}}", name);
        let target = dir.join(file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&target, text).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        written.push(target);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_cargo() {
        assert!(valid_name("billing-service"));
        assert!(valid_name("crm_2"));
        for bad in ["", "2fast", "-x", "a b", "naïve", "../up", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn refuses_a_directory_that_is_not_empty() {
        let dir = std::env::temp_dir().join(format!("kwik-new-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("keep.txt"), "mine").unwrap();
        let error = generate("svc", &dir, &default_kwik_path()).unwrap_err();
        assert!(error.contains("not empty"), "{error}");
        assert_eq!(std::fs::read_to_string(dir.join("keep.txt")).unwrap(), "mine");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fills_every_placeholder() {
        let dir = std::env::temp_dir().join(format!("kwik-new-fill-{}", std::process::id()));
        let files = generate("billing-service", &dir, &default_kwik_path()).unwrap();
        assert_eq!(files.len(), FILES.len());
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            assert!(!text.contains("{{"), "{} keeps a placeholder", file.display());
        }
        let main = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
        assert!(main.contains("billing_service::build"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
