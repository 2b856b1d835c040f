//! Delivery of password-reset tokens (`POST /login/password-recovery`).

use futures_util::future::BoxFuture;

/// Hands a password-reset token to the user, typically by email with a link to your front end.
/// Plug your own into [`AppState::with_reset_sender`](crate::AppState::with_reset_sender).
pub trait ResetTokenSender: Send + Sync + std::fmt::Debug {
    /// Delivers `token` to `email`. Runs in the background: the HTTP answer never waits for it
    /// and never reveals whether the address exists.
    fn send<'a>(&'a self, email: &'a str, token: &'a str) -> BoxFuture<'a, ()>;
}

/// The default sender. With `KWIK_DEBUG=true` (development) it logs the token at WARN level so a
/// developer can finish the flow locally; otherwise it logs only that a reset was requested and
/// drops the token, since tokens must never reach production logs. Configure a real sender for
/// production.
#[derive(Debug, Clone, Copy)]
pub struct LogSender {
    /// Whether the token itself may be logged (development only).
    pub reveal_token: bool,
}

impl ResetTokenSender for LogSender {
    fn send<'a>(&'a self, email: &'a str, token: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if self.reveal_token {
                tracing::warn!(
                    email,
                    reset_token = token,
                    "password reset requested (development: token shown; configure a ResetTokenSender)"
                );
            } else {
                tracing::warn!(
                    email,
                    "password reset requested, but no ResetTokenSender is configured: the token was dropped"
                );
            }
        })
    }
}
