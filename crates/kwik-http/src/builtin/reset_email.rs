//! The password-reset email (`POST /login/password-recovery` with `KWIK_SMTP_HOST` set): a job
//! that makes the reset token when it runs, so the token is never stored — not in the job's
//! arguments, not in a log line.

use kwik_auth::{Claims, password_fingerprint};
use kwik_jobs::{Job, JobContext, JobError};
use kwik_mail::{Mailer, Template};
use kwik_rbac::users;
use serde::{Deserialize, Serialize};

use crate::state::AppState;

/// How long a reset token is valid (Kwik's 48 hours).
pub(crate) const RESET_TOKEN_HOURS: i64 = 48;

/// The email (Jinja2 sources; the HTML part is auto-escaped).
pub const PASSWORD_RESET_EMAIL: Template = Template {
    name: "password_reset",
    subject: "{{ project }}: password recovery for {{ email }}",
    text: "Hello {{ name }},\n\n\
        Someone asked to reset the password of the {{ project }} account {{ email }}.\n\
        {% if link %}Choose a new password here:\n\n{{ link }}\n{% else %}Your reset token:\n\n{{ token }}\n{% endif %}\n\
        The {% if link %}link{% else %}token{% endif %} is valid for {{ hours }} hours and works once. \
        If you did not ask for it, ignore this email: your password stays as it is.\n",
    html: "<p>Hello {{ name }},</p>\
        <p>Someone asked to reset the password of the {{ project }} account <b>{{ email }}</b>.</p>\
        {% if link %}<p><a href=\"{{ link }}\">Choose a new password</a></p>\
        {% else %}<p>Your reset token:</p><pre>{{ token }}</pre>{% endif %}\
        <p>It is valid for {{ hours }} hours and works once. If you did not ask for it, ignore this \
        email: your password stays as it is.</p>",
};

/// A password-reset token for `user`: valid [`RESET_TOKEN_HOURS`], bound to the user's token
/// version and current password (so it dies with a password change or a revocation).
///
/// # Errors
/// The signing error.
pub(crate) fn reset_token(state: &AppState, user: &kwik_rbac::User) -> kwik_core::Result<String> {
    let claims = Claims::reset(
        user.id,
        user.token_version,
        chrono::Duration::hours(RESET_TOKEN_HOURS),
        password_fingerprint(&user.hashed_password),
    );
    state.jwt.encode(&claims)
}

/// Sends the password-reset email to user `user_id`, if the account is still active.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordResetEmail {
    /// The user who asked.
    pub user_id: i64,
}

impl Job for PasswordResetEmail {
    const NAME: &'static str = "password_reset_email";
    const MAX_ATTEMPTS: u32 = <kwik_mail::SendEmail as Job>::MAX_ATTEMPTS;

    fn backoff(attempt: u32) -> std::time::Duration {
        <kwik_mail::SendEmail as Job>::backoff(attempt)
    }

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let state = ctx.data::<AppState>().ok_or_else(|| JobError::new("the app's state is not shared with jobs"))?;
        let mailer = ctx.data::<Mailer>().ok_or_else(|| JobError::new("email is not configured (KWIK_SMTP_HOST)"))?;
        let Some(user) = users::get(&mut ctx.db().clone(), self.user_id).await? else { return Ok(()) };
        if !user.is_active {
            return Ok(());
        }
        let token = reset_token(&state, &user)?;
        let link = state.settings.auth.frontend_reset_url.as_ref().map(|url| {
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}token={token}")
        });
        let values = serde_json::json!({
            "project": state.settings.project_name,
            "name": user.name,
            "email": user.email,
            "link": link,
            "token": token,
            "hours": RESET_TOKEN_HOURS,
        });
        let email = PASSWORD_RESET_EMAIL.render(&user.email, &values)?;
        mailer.send(&email).await.map_err(|e| JobError(e.0))?;
        tracing::info!(job_id = ctx.id(), user_id = user.id, "password reset email sent");
        Ok(())
    }
}
