//! Email templates: a subject, a text part and an HTML part, rendered with minijinja.

use kwik_core::Error;
use serde::{Deserialize, Serialize};

/// A rendered email, ready to send (the arguments of the [`SendEmail`](crate::SendEmail) job).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The recipient's address.
    pub to: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// An email template: three minijinja (Jinja2) sources. The HTML part is auto-escaped (a value
/// `<b>` renders as `&lt;b&gt;`); the subject and text are not.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    /// A name for error messages (`password_reset`).
    pub name: &'static str,
    /// The subject line (one line).
    pub subject: &'static str,
    /// The plain-text part.
    pub text: &'static str,
    /// The HTML part.
    pub html: &'static str,
}

impl Template {
    /// Renders the template for `to` with `values` (a serializable value: a struct, a map, or
    /// [`context!`](crate::context)).
    ///
    /// # Errors
    /// [`Error::Internal`] naming the template when a source does not parse or a value is
    /// missing or of the wrong kind.
    pub fn render(&self, to: &str, values: &impl Serialize) -> Result<Email, Error> {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        let parts = [("subject.txt", self.subject), ("text.txt", self.text), ("body.html", self.html)];
        for (name, source) in parts {
            env.add_template(name, source).map_err(|e| self.error(&e))?;
        }
        let render = |name: &str| env.get_template(name).and_then(|t| t.render(values)).map_err(|e| self.error(&e));
        Ok(Email {
            to: to.to_owned(),
            subject: render("subject.txt")?.lines().next().unwrap_or_default().trim().to_owned(),
            text: render("text.txt")?,
            html: render("body.html")?,
        })
    }

    fn error(&self, error: &minijinja::Error) -> Error {
        Error::Internal(format!("email template {}: {error}", self.name))
    }
}
