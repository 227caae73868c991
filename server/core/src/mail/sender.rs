//! Delivering the outbox over SMTP (`SMTP_URL`), with retries.
//!
//! Every instance may run the sender: a message is claimed by a conditional update of its
//! attempt counter before it is sent, so two instances never send the same attempt. A failed
//! attempt is retried with growing pauses (10 s, 30 s, 70 s, … after the message was queued) up
//! to [`MAX_ATTEMPTS`]; an address the mail library cannot even parse fails for good at once.
//! Logs name the message id and kind, never the address or the text.

use chrono::{DateTime, Duration, Utc};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr, sea_query::ExprTrait};

use crate::{
    db::{Db, DbError},
    entity::email_outbox,
    secret::Secret,
};

/// After this many failed attempts a message stays unsent (and visible as such).
pub const MAX_ATTEMPTS: i32 = 12;

#[derive(Debug, thiserror::Error)]
pub enum MailerError {
    #[error("SMTP_URL is not a usable mail server URL")]
    Url,
    #[error("MAIL_FROM is not a valid address: {0}")]
    From(String),
}

/// An SMTP connection pool and the sender address.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mailer([redacted])")
    }
}

/// What one round of delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub failed: usize,
}

impl Mailer {
    /// `smtp://[user:pass@]host[:port][?tls=required|opportunistic]` or `smtps://…`.
    pub fn new(url: &Secret<String>, from: &str) -> Result<Self, MailerError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            .map_err(|_| MailerError::Url)?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| MailerError::From(e.to_string()))?;
        Ok(Self { transport, from })
    }

    /// Sends what is due in the outbox (at most `limit` messages).
    pub async fn deliver_due(
        &self,
        db: &Db,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Delivery, DbError> {
        let mut delivery = Delivery::default();
        let candidates = crate::mail::unsent(db, limit).await?;
        for message in candidates {
            if message.attempts >= MAX_ATTEMPTS || now < next_attempt_at(&message) {
                continue;
            }
            // Claim this attempt; another instance that read the same row loses here.
            let claimed = email_outbox::Entity::update_many()
                .col_expr(
                    email_outbox::Column::Attempts,
                    Expr::col(email_outbox::Column::Attempts).add(1),
                )
                .filter(email_outbox::Column::Id.eq(message.id))
                .filter(email_outbox::Column::Attempts.eq(message.attempts))
                .filter(email_outbox::Column::SentAt.is_null())
                .exec(db)
                .await?;
            if claimed.rows_affected != 1 {
                continue;
            }
            let outcome = match self.build(&message) {
                Ok(email) => self
                    .transport
                    .send(email)
                    .await
                    .map(drop)
                    .map_err(|e| (e.to_string(), e.is_permanent())),
                Err(reason) => Err((reason, true)),
            };
            match outcome {
                Ok(()) => {
                    // Once delivered, the text (with its working links) is not kept.
                    email_outbox::Entity::update_many()
                        .col_expr(email_outbox::Column::SentAt, Expr::value(Utc::now()))
                        .col_expr(email_outbox::Column::BodyText, Expr::value(String::new()))
                        .col_expr(
                            email_outbox::Column::LastError,
                            Expr::value(Option::<String>::None),
                        )
                        .filter(email_outbox::Column::Id.eq(message.id))
                        .exec(db)
                        .await?;
                    tracing::info!(event = "mail.sent", id = %message.id, kind = %message.kind, "email sent");
                    delivery.sent += 1;
                }
                Err((reason, permanent)) => {
                    let mut update = email_outbox::Entity::update_many().col_expr(
                        email_outbox::Column::LastError,
                        Expr::value(Some(reason.chars().take(500).collect::<String>())),
                    );
                    if permanent {
                        update = update
                            .col_expr(email_outbox::Column::Attempts, Expr::value(MAX_ATTEMPTS));
                    }
                    update
                        .filter(email_outbox::Column::Id.eq(message.id))
                        .exec(db)
                        .await?;
                    tracing::warn!(
                        event = "mail.failed",
                        id = %message.id,
                        kind = %message.kind,
                        attempt = message.attempts + 1,
                        permanent,
                        "email not sent"
                    );
                    delivery.failed += 1;
                }
            }
        }
        Ok(delivery)
    }

    fn build(&self, message: &email_outbox::Model) -> Result<Message, String> {
        let to = message
            .to_address
            .parse::<Mailbox>()
            .map_err(|_| "the recipient address cannot be used".to_owned())?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(message.body_text.clone())
            .map_err(|e| e.to_string())
    }
}

/// When a message that failed `attempts` times may be tried again: 10 s × (2^attempts − 1)
/// after it was queued.
fn next_attempt_at(message: &email_outbox::Model) -> DateTime<Utc> {
    let factor = (1i64 << message.attempts.clamp(0, 20)) - 1;
    message.created_at + Duration::seconds(10 * factor)
}

/// Delivers the outbox every few seconds until the process ends.
pub async fn run(mailer: Mailer, db: Db) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tick.tick().await;
        if let Err(err) = mailer.deliver_due(&db, Utc::now(), 50).await {
            tracing::error!(error = %err, "mail delivery round failed");
        }
    }
}
