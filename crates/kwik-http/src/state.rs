//! Shared per-process state handed to every handler as poem `Data`.

use std::sync::Arc;

use kwik_auth::{Argon2Params, JwtKeys, PasswordHasher, PasswordPolicy};
use kwik_core::{Db, Result, Settings};
use kwik_listing::CursorKey;

use crate::principals::PrincipalCache;
use crate::recovery::{LogSender, ResetTokenSender};

/// What handlers share: settings, the database pool, and the auth services built from the
/// settings (signing keys, password hasher and policy, cursor key). Cheap to clone.
///
/// Handlers receive it with `poem::web::Data<&AppState>`.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The loaded settings.
    pub settings: Arc<Settings>,
    /// The database pool (SQLite or PostgreSQL).
    pub db: Db,
    /// HS256 keys from `KWIK_SECRET_KEY`.
    pub jwt: Arc<JwtKeys>,
    /// argon2id hasher with the `KWIK_ARGON2_*` parameters.
    pub hasher: PasswordHasher,
    /// Kwik's password policy (`KWIK_PASSWORD_MIN_LENGTH`, at most 72 UTF-8 bytes).
    pub password_policy: PasswordPolicy,
    /// Signs list cursors (derived from `KWIK_SECRET_KEY`).
    pub cursor_key: Arc<CursorKey>,
    /// Delivers password-reset tokens (default: [`LogSender`]).
    pub reset_sender: Arc<dyn ResetTokenSender>,
    /// The permission names the code refers to: Kwik's built-in ones and every name a module
    /// declares ([`App::module`](crate::App::module) adds them). Permission checks go by name,
    /// so these cannot be renamed or deleted through the API.
    pub declared_permissions: Arc<Vec<&'static str>>,
    /// Authenticated principals and API key rows in memory, dropped on every change
    /// (`KWIK_PRINCIPAL_CACHE_*`; see [`PrincipalCache`]).
    pub principals: Arc<PrincipalCache>,
    /// Values jobs reach with [`kwik_jobs::JobContext::data`] (a mail sender, ...): add yours
    /// with [`AppState::with_job_data`] before the workers start.
    pub job_data: kwik_jobs::JobData,
    /// This process's job workers, once started ([`App::start_workers`](crate::App::start_workers)),
    /// for the readiness check.
    pub workers: Arc<std::sync::OnceLock<kwik_jobs::WorkerStatus>>,
}

impl AppState {
    /// Builds the state from settings and an open database.
    ///
    /// # Errors
    /// [`kwik_core::Error::Internal`] when the argon2 parameters are rejected, or the email
    /// settings cannot make a mailer.
    pub fn new(settings: Settings, db: Db) -> Result<Self> {
        let secret = settings.secret_key.expose().as_bytes().to_vec();
        let argon2 = settings.auth.argon2;
        let settings_debug = settings.debug;
        let hasher = PasswordHasher::new(Argon2Params {
            memory_kib: argon2.memory_kib,
            iterations: argon2.iterations,
            parallelism: argon2.parallelism,
        })?;
        let mailer = kwik_mail::Mailer::from_settings(&settings.mail, &settings.project_name)
            .map_err(|e| kwik_core::Error::Internal(format!("email settings: {e}")))?;
        let job_data = match mailer {
            Some(mailer) => kwik_jobs::JobData::default().insert(mailer),
            None => kwik_jobs::JobData::default(),
        };
        Ok(Self {
            principals: Arc::new(PrincipalCache::new(settings.principal_cache, &db)),
            password_policy: PasswordPolicy::new(settings.auth.password_min_length),
            settings: Arc::new(settings),
            db,
            jwt: Arc::new(JwtKeys::new(&secret)),
            hasher,
            cursor_key: Arc::new(CursorKey::new(&secret)),
            reset_sender: Arc::new(LogSender { reveal_token: settings_debug }),
            declared_permissions: Arc::new(kwik_rbac::BUILTIN_PERMISSIONS.to_vec()),
            job_data,
            workers: Arc::default(),
        })
    }

    /// Shares `value` with every job ([`kwik_jobs::JobContext::data`]).
    #[must_use]
    pub fn with_job_data<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.job_data = self.job_data.insert(value);
        self
    }

    /// Replaces the password-reset token sender.
    #[must_use]
    pub fn with_reset_sender(mut self, sender: Arc<dyn ResetTokenSender>) -> Self {
        self.reset_sender = sender;
        self
    }
}
