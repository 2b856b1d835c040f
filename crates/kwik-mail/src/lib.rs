//! Email for Kwik for Rust: an SMTP [`Mailer`] on [lettre](https://docs.rs/lettre), [`Template`]s
//! with a text and an HTML part ([minijinja](https://docs.rs/minijinja), HTML auto-escaped), and
//! the [`SendEmail`] job, so a slow or unreachable mail server never slows or fails a request:
//! the request queues the email in its transaction ([`send_later`]); a worker delivers it,
//! retrying with backoff while the server is down.
//!
//! Settings (`KWIK_SMTP_HOST`, `KWIK_SMTP_PORT`, `KWIK_SMTP_USER`, `KWIK_SMTP_PASSWORD`,
//! `KWIK_SMTP_TLS`, `KWIK_EMAILS_FROM_EMAIL`, `KWIK_EMAILS_FROM_NAME`):
//! [`kwik_core::settings::MailSettings`].
//!
//! ```
//! use kwik_mail::Template;
//!
//! const WELCOME: Template = Template {
//!     name: "welcome",
//!     subject: "Welcome, {{ name }}",
//!     text: "Hello {{ name }}, your account is ready.",
//!     html: "<p>Hello <b>{{ name }}</b>, your account is ready.</p>",
//! };
//!
//! let email = WELCOME.render("ada@example.com", &kwik_mail::context! { name => "Ada <3" })?;
//! assert_eq!(email.subject, "Welcome, Ada <3");
//! assert_eq!(email.text, "Hello Ada <3, your account is ready.");
//! assert_eq!(email.html, "<p>Hello <b>Ada &lt;3</b>, your account is ready.</p>");
//! # Ok::<(), kwik_core::Error>(())
//! ```

mod job;
mod mailer;
mod template;

pub use job::{SendEmail, send_later};
pub use mailer::{MailError, Mailer};
pub use minijinja::context;
pub use template::{Email, Template};
