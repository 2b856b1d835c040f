//! The SMTP connection pool (lettre).

use kwik_core::settings::{MailSettings, SmtpTls};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::template::Email;

/// Why an email was not sent. The text never holds the SMTP password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailError(pub String);

impl std::fmt::Display for MailError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MailError {}

/// Sends email through the configured SMTP server (a pool of connections, opened on demand).
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// The mailer the settings describe; `None` when `KWIK_SMTP_HOST` is unset. `project_name`
    /// is the sender's name when `KWIK_EMAILS_FROM_NAME` is unset.
    ///
    /// # Errors
    /// [`MailError`] when the sender address is missing or invalid, or TLS cannot be set up for
    /// the host name.
    pub fn from_settings(settings: &MailSettings, project_name: &str) -> Result<Option<Self>, MailError> {
        let Some(host) = &settings.host else { return Ok(None) };
        let address =
            settings.from_email.as_deref().ok_or_else(|| MailError("KWIK_EMAILS_FROM_EMAIL is required".to_owned()))?;
        let name = settings.from_name.clone().unwrap_or_else(|| project_name.to_owned());
        let from = Mailbox::new(
            Some(name),
            address.parse().map_err(|e| MailError(format!("KWIK_EMAILS_FROM_EMAIL is not an address: {e}")))?,
        );
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(parameters(host)?),
            SmtpTls::Tls => Tls::Wrapper(parameters(host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let Some(user) = &settings.user {
            let password = settings.password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Some(Self { transport: builder.build(), from }))
    }

    /// Sends `email` as a `multipart/alternative` message (text, then HTML).
    ///
    /// # Errors
    /// [`MailError`] when the recipient is not an address, or the server cannot be reached or
    /// refuses the message.
    pub async fn send(&self, email: &Email) -> Result<(), MailError> {
        let to: Mailbox = email.to.parse().map_err(|e| MailError(format!("recipient is not an address: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(|e| MailError(format!("cannot build the message: {e}")))?;
        self.transport.send(message).await.map(drop).map_err(|e| MailError(format!("SMTP: {e}")))
    }
}

fn parameters(host: &str) -> Result<TlsParameters, MailError> {
    TlsParameters::new(host.to_owned()).map_err(|e| MailError(format!("TLS for {host}: {e}")))
}
