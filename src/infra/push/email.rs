//! Email notifications over SMTP (`lettre`): one plain-text mail per outbox row.

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::notify::outbox::Outcome;

/// An SMTP relay and the sender address.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `url` as lettre reads it (`smtp://host:port`, `smtps://user:pass@host`, …).
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP_URL: {e}"))?
            .build();
        let from = from.parse().map_err(|e| format!("SMTP_FROM: {e}"))?;
        Ok(Self { transport, from })
    }

    pub async fn send(&self, to: &str, subject: &str, text: &str) -> Outcome {
        let to: Mailbox = match to.parse() {
            Ok(m) => m,
            Err(e) => return Outcome::Failed(format!("recipient: {e}")),
        };
        let message = match Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(text.to_string())
        {
            Ok(m) => m,
            Err(e) => return Outcome::Failed(format!("building the mail: {e}")),
        };
        match self.transport.send(message).await {
            Ok(_) => Outcome::Delivered,
            Err(e) if e.is_permanent() => Outcome::Failed(format!("smtp: {e}")),
            Err(e) => Outcome::Retry {
                after: None,
                error: format!("smtp: {e}"),
            },
        }
    }
}
