//! Reading the variables: the sources merged by `config`, the groups by serde, every invalid
//! variable named, then the defaults and rules that span variables.

use std::collections::HashMap;
use std::num::NonZeroU32;

use rand::Rng;
use serde::Deserialize;
use serde::de::value::{Error as ValueError, MapDeserializer};

use super::groups::DEFAULT_SUPERUSER_PASSWORD;
use super::{
    AppEnv, AuthSettings, CorsSettings, DatabaseSettings, JobSettings, ListSettings, LogSettings, MailSettings,
    PrincipalCacheSettings, RateLimitSettings, Secret, ServerSettings, SettingError, Settings, SettingsError, values,
};

const PREFIX: &str = "KWIK";

/// [`Settings::from_env`] (`vars` = `None`) and [`Settings::from_vars`].
pub(super) fn load(vars: Option<HashMap<String, String>>) -> Result<Settings, SettingsError> {
    let file = match &vars {
        Some(map) => map.get("KWIK_SETTINGS_FILE").cloned(),
        None => std::env::var("KWIK_SETTINGS_FILE").ok(),
    }
    .filter(|path| !path.is_empty());
    let mut raw = HashMap::new();
    // The file first, then the environment, so that environment variables win.
    if let Some(path) = file {
        let source = config::Config::builder().add_source(config::File::new(&path, config::FileFormat::Toml));
        collect_into(&mut raw, source)?;
    }
    let env = config::Environment::with_prefix(PREFIX).prefix_separator("_").ignore_empty(true);
    let env = match vars {
        Some(map) => env.source(Some(map.into_iter().collect())),
        None => env,
    };
    collect_into(&mut raw, config::Config::builder().add_source(env))?;
    let (vars, mut errors) = deserialize(raw);
    let settings = vars.map(|vars| resolve(vars, &mut errors));
    match settings {
        Some(settings) if errors.is_empty() => Ok(settings),
        _ => Err(SettingsError::Invalid(errors)),
    }
}

/// The top-level variables as written, and the groups; [`Settings`] is what they mean once the
/// defaults that depend on `KWIK_APP_ENV` are applied and the rules across variables hold.
#[derive(Deserialize)]
struct Vars {
    #[serde(default, deserialize_with = "values::choice")]
    app_env: AppEnv,
    #[serde(default = "default_project_name")]
    project_name: String,
    #[serde(default, deserialize_with = "values::optional_boolean")]
    debug: Option<bool>,
    #[serde(default, deserialize_with = "values::secret_key")]
    secret_key: Option<Secret>,
    #[serde(default, deserialize_with = "values::boolean")]
    tenancy_enabled: bool,
    #[serde(default, deserialize_with = "values::nonzero_or_off::<36_500, _>")]
    audit_log_retention_days: Option<NonZeroU32>,
    #[serde(flatten)]
    server: ServerSettings,
    #[serde(flatten)]
    log: LogSettings,
    #[serde(flatten)]
    database: DatabaseSettings,
    #[serde(flatten)]
    auth: AuthSettings,
    #[serde(flatten)]
    cors: CorsSettings,
    #[serde(flatten)]
    rate_limit: RateLimitSettings,
    #[serde(flatten)]
    list: ListSettings,
    #[serde(flatten)]
    principal_cache: PrincipalCacheSettings,
    #[serde(flatten)]
    jobs: JobSettings,
    #[serde(flatten)]
    mail: MailSettings,
}

fn default_project_name() -> String {
    "kwik".to_owned()
}

/// Builds one source and adds its non-empty values to `raw`, keys lower-cased.
fn collect_into(
    raw: &mut HashMap<String, String>,
    builder: config::ConfigBuilder<config::builder::DefaultState>,
) -> Result<(), SettingsError> {
    let values = builder
        .build()
        .map_err(|e| SettingsError::Source(e.to_string()))?
        .try_deserialize::<HashMap<String, config::Value>>()
        .map_err(|e| SettingsError::Source(e.to_string()))?;
    for (key, value) in values {
        let text = value.into_string().map_err(|e| {
            SettingsError::Invalid(vec![SettingError {
                variable: var_name(&key),
                message: format!("{e}; expected a plain value"),
            }])
        })?;
        if !text.is_empty() {
            raw.insert(key.to_lowercase(), text);
        }
    }
    Ok(())
}

fn var_name(key: &str) -> String {
    format!("{PREFIX}_{}", key.to_uppercase())
}

fn from_map(raw: impl IntoIterator<Item = (String, String)>) -> Result<Vars, ValueError> {
    Vars::deserialize(MapDeserializer::<_, ValueError>::new(raw.into_iter()))
}

/// serde stops at the first invalid value, and its error does not say which variable held it
/// (the groups are flattened). So when the whole set fails, each variable is read on its own to
/// find every culprit, and the rest is read without them: one message per invalid variable.
///
/// This holds because every parser of `values` reads one variable and every `From` of a group is
/// infallible; a check that needs two variables belongs in [`resolve`], not in a group.
fn deserialize(raw: HashMap<String, String>) -> (Option<Vars>, Vec<SettingError>) {
    let whole = match from_map(raw.clone()) {
        Ok(vars) => return (Some(vars), Vec::new()),
        Err(error) => error,
    };
    let mut keys: Vec<&String> = raw.keys().collect();
    keys.sort();
    let mut errors = Vec::new();
    for key in keys {
        if let Err(error) = from_map([(key.clone(), raw[key].clone())]) {
            errors.push(SettingError { variable: var_name(key), message: error.to_string() });
        }
    }
    if errors.is_empty() {
        // Only a combination fails (no single variable does): say so rather than nothing.
        errors.push(SettingError { variable: format!("{PREFIX}_*"), message: whole.to_string() });
        return (None, errors);
    }
    let rest = raw.into_iter().filter(|(key, _)| !errors.iter().any(|e| e.variable == var_name(key)));
    (from_map(rest).ok(), errors)
}

/// Applies the defaults that depend on `KWIK_APP_ENV` and the rules that span variables, adding
/// a message for each rule broken (unless the variable is already reported).
fn resolve(vars: Vars, errors: &mut Vec<SettingError>) -> Settings {
    let production = vars.app_env == AppEnv::Production;
    let mut fail = |variable: &str, message: &str| {
        if !errors.iter().any(|e| e.variable == variable) {
            errors.push(SettingError { variable: variable.to_owned(), message: message.to_owned() });
        }
    };
    let secret_key_generated = vars.secret_key.is_none() && !production;
    let secret_key = match vars.secret_key {
        Some(key) => key,
        None if production => {
            fail(
                "KWIK_SECRET_KEY",
                "missing; it is required when KWIK_APP_ENV=production (expected at least 32 random bytes, e.g. \
                 `openssl rand -base64 48`)",
            );
            Secret::new("")
        }
        None => generated_key(),
    };
    if production && vars.auth.first_superuser_password.expose() == DEFAULT_SUPERUSER_PASSWORD {
        fail(
            "KWIK_FIRST_SUPERUSER_PASSWORD",
            "the default password 'admin' is refused when KWIK_APP_ENV=production; expected a strong password",
        );
    }
    if vars.cors.allow_credentials && vars.cors.origins.iter().any(|o| o == "*") {
        fail(
            "KWIK_BACKEND_CORS_ORIGINS",
            "'*' (any origin) cannot be combined with credentials (KWIK_BACKEND_CORS_ALLOW_CREDENTIALS=true, the \
             default): browsers refuse `Access-Control-Allow-Origin: *` on credentialed requests, and reflecting \
             every origin instead would let any web site call the API with a user's credentials; expected the list \
             of allowed origins (e.g. https://app.example.com), or KWIK_BACKEND_CORS_ALLOW_CREDENTIALS=false to \
             allow any origin without credentials",
        );
    }
    if vars.mail.host.is_some() && vars.mail.from_email.is_none() {
        fail("KWIK_EMAILS_FROM_EMAIL", "required with KWIK_SMTP_HOST (the sender address)");
    }
    Settings {
        app_env: vars.app_env,
        project_name: vars.project_name,
        debug: vars.debug.unwrap_or(!production),
        secret_key,
        secret_key_generated,
        tenancy_enabled: vars.tenancy_enabled,
        audit_log_retention_days: vars.audit_log_retention_days,
        server: vars.server,
        log: vars.log,
        database: vars.database,
        auth: vars.auth,
        cors: vars.cors,
        rate_limit: vars.rate_limit,
        list: vars.list,
        principal_cache: vars.principal_cache,
        jobs: vars.jobs,
        mail: vars.mail,
    }
}

/// 32 random bytes as hex: a development key, new at each start.
fn generated_key() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{b:02x}"));
        out
    }))
}
