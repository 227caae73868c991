//! Delivering the outbox to a real SMTP server (a minimal one in this test, speaking the
//! protocol over TCP), with retries when it refuses.

use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use sea_orm::EntityTrait;
use shopmarkets_core::{
    db::Db,
    db_tests,
    entity::email_outbox,
    mail::{
        self,
        sender::{Delivery, MAX_ATTEMPTS, Mailer},
        templates,
    },
    secret::Secret,
};
use shopmarkets_types::Locale;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

/// What the test server received: one entry per accepted message (envelope and data).
#[derive(Default)]
struct Received {
    messages: Vec<(String, String)>,
}

/// An SMTP server that accepts every message, or refuses every `RCPT` with 451 when
/// `refuse` is set (a temporary failure).
async fn smtp_server(refuse: bool) -> (u16, Arc<Mutex<Received>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Received::default()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test ESMTP\r\n").await.ok();
                let mut rcpt = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-test\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM") {
                        b"250 ok\r\n"
                    } else if upper.starts_with("RCPT TO") {
                        if refuse {
                            b"451 try again later\r\n"
                        } else {
                            rcpt = line.clone();
                            b"250 ok\r\n"
                        }
                    } else if upper == "DATA" {
                        write.write_all(b"354 go ahead\r\n").await.ok();
                        let mut data = String::new();
                        while let Ok(Some(line)) = lines.next_line().await {
                            if line == "." {
                                break;
                            }
                            data.push_str(&line);
                            data.push('\n');
                        }
                        store.lock().unwrap().messages.push((rcpt.clone(), data));
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        write.write_all(b"221 bye\r\n").await.ok();
                        return;
                    } else if upper == "RSET" || upper == "NOOP" {
                        b"250 ok\r\n"
                    } else {
                        b"502 not implemented\r\n"
                    };
                    write.write_all(reply).await.ok();
                }
            });
        }
    });
    (port, received)
}

fn mailer(port: u16) -> Mailer {
    Mailer::new(
        &Secret::new(format!("smtp://127.0.0.1:{port}")),
        "ShopMarkets <no-reply@example.com>",
    )
    .unwrap()
}

async fn queue(db: &Db, to: &str) {
    mail::enqueue(
        db,
        templates::verify_email(
            to,
            Locale::De,
            "https://app.example.com/verify-email?token=abc",
        ),
    )
    .await
    .unwrap();
}

async fn the_outbox_goes_out_over_smtp_once(db: Db) {
    let (port, received) = smtp_server(false).await;
    queue(&db, "anna@example.com").await;
    queue(&db, "ben@example.com").await;
    let mailer = mailer(port);

    let delivery = mailer.deliver_due(&db, Utc::now(), 50).await.unwrap();
    assert_eq!(delivery, Delivery { sent: 2, failed: 0 });
    let again = mailer.deliver_due(&db, Utc::now(), 50).await.unwrap();
    assert_eq!(
        again,
        Delivery::default(),
        "sent messages are not sent again"
    );

    let messages = received.lock().unwrap().messages.clone();
    assert_eq!(messages.len(), 2);
    let (rcpt, data) = messages
        .iter()
        .find(|(rcpt, _)| rcpt.contains("anna@example.com"))
        .expect("anna's message");
    assert!(rcpt.to_ascii_uppercase().starts_with("RCPT TO"));
    assert!(
        data.contains("From: ShopMarkets <no-reply@example.com>"),
        "{data}"
    );
    assert!(data.contains("Subject:"), "{data}");
    // The body is quoted-printable: "=" travels as "=3D".
    assert!(data.contains("verify-email?token=3Dabc"), "{data}");
    let rows = email_outbox::Entity::find().all(&db).await.unwrap();
    assert!(rows.iter().all(|r| r.sent_at.is_some() && r.attempts == 1));
}

async fn a_refusing_server_leads_to_spaced_retries_then_gives_up(db: Db) {
    let (port, received) = smtp_server(true).await;
    queue(&db, "anna@example.com").await;
    let mailer = mailer(port);
    let start = Utc::now();

    let first = mailer.deliver_due(&db, start, 50).await.unwrap();
    assert_eq!(first, Delivery { sent: 0, failed: 1 });
    // Not due again right away.
    let at_once = mailer.deliver_due(&db, start, 50).await.unwrap();
    assert_eq!(at_once, Delivery::default());
    // Due again later; still refused.
    let later = mailer
        .deliver_due(&db, start + Duration::seconds(11), 50)
        .await
        .unwrap();
    assert_eq!(later, Delivery { sent: 0, failed: 1 });
    let row = email_outbox::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.attempts, 2);
    assert!(row.sent_at.is_none());
    assert!(row.last_error.is_some());

    // Far in the future every attempt is used up, and then it stops.
    let far = start + Duration::days(30);
    for _ in 0..MAX_ATTEMPTS {
        mailer.deliver_due(&db, far, 50).await.unwrap();
    }
    let row = email_outbox::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.attempts, MAX_ATTEMPTS);
    assert_eq!(
        mailer.deliver_due(&db, far, 50).await.unwrap(),
        Delivery::default()
    );
    assert!(received.lock().unwrap().messages.is_empty());
}

async fn an_unusable_address_fails_for_good_at_once(db: Db) {
    let (port, _received) = smtp_server(false).await;
    queue(&db, "not an address").await;
    let delivery = mailer(port).deliver_due(&db, Utc::now(), 50).await.unwrap();
    assert_eq!(delivery, Delivery { sent: 0, failed: 1 });
    let row = email_outbox::Entity::find()
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.attempts, MAX_ATTEMPTS);
}

#[tokio::test]
async fn mail_settings_are_validated() {
    assert!(Mailer::new(&Secret::new("smtp://127.0.0.1:25".into()), "nobody").is_err());
    assert!(Mailer::new(&Secret::new("ftp://x".into()), "a@example.com").is_err());
}

db_tests!(
    the_outbox_goes_out_over_smtp_once,
    a_refusing_server_leads_to_spaced_retries_then_gives_up,
    an_unusable_address_fails_for_good_at_once,
);
