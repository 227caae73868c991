//! Server functions and the wire types they return.
//!
//! Each one is thin: take the services, call `shopmarkets-core`, map the result into a DTO.
//! Sea-orm models and secrets never cross the wire.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod catalog_import;
pub mod catalog_list;
pub mod connections;
pub mod media;
pub mod members;
pub mod two_factor;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::i18n::Locale;

/// What the dashboard shows about the running system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatusView {
    pub version: String,
    pub database: String,
    pub schema_version: Option<String>,
    pub migrations_applied: usize,
    pub migrations_pending: usize,
    pub uptime_seconds: u64,
}

/// Reads the system's own status from the database.
#[server(endpoint = "system_status")]
pub async fn system_status() -> Result<SystemStatusView, ServerFnError> {
    use crate::services::{internal_error, services};

    let services = services()?;
    let status = shopmarkets_core::system::status(&services.db)
        .await
        .map_err(internal_error)?;
    Ok(SystemStatusView {
        version: status.version.to_owned(),
        database: status.engine.name().to_owned(),
        schema_version: status.schema_version,
        migrations_applied: status.migrations_applied,
        migrations_pending: status.migrations_pending,
        uptime_seconds: services.started_at.elapsed().as_secs(),
    })
}

/// Remembers the chosen language in a cookie for a year and returns it.
///
/// Works with and without JavaScript: a plain form post is redirected back to the page.
#[server(endpoint = "set_locale")]
pub async fn set_locale(locale: Locale) -> Result<Locale, ServerFnError> {
    use crate::{i18n::LOCALE_COOKIE, services::services};
    use http::{HeaderValue, header::SET_COOKIE};

    let services = services()?;
    let secure = if services.config.env.is_production() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{LOCALE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{secure}",
        locale.code()
    );
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.append_header(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(crate::services::internal_error)?,
    );
    Ok(locale)
}

/// One refused field of a form, as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub error: shopmarkets_types::FieldError,
}

/// What a sign-up answers. Deliberately the same for new and already registered addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegisterOutcome {
    CheckInbox,
    Invalid(Vec<FieldProblem>),
}

/// Signs up: a new account owning a new organization, and a confirmation link by email.
#[server(endpoint = "register")]
pub async fn register(
    email: String,
    password: String,
    display_name: String,
    organization_name: String,
) -> Result<RegisterOutcome, ServerFnError> {
    use shopmarkets_core::accounts::{AccountError, registration};
    use shopmarkets_types::{DisplayName, EmailAddress, OrganizationName, Password};

    use crate::services::{client_ip, internal_error, request_locale, services};

    let services = services()?;
    let mut problems = Vec::new();
    let mut check = |field: &str, error: Option<shopmarkets_types::FieldError>| {
        if let Some(error) = error {
            problems.push(FieldProblem {
                field: field.to_owned(),
                error,
            });
        }
    };
    let email = EmailAddress::parse(&email);
    check("email", email.clone().err());
    let password = Password::parse(password);
    check("password", password.clone().err());
    let display_name = DisplayName::parse(&display_name);
    check("display_name", display_name.clone().err());
    let organization_name = OrganizationName::parse(&organization_name);
    check("organization_name", organization_name.clone().err());
    let (Ok(email), Ok(password), Ok(display_name), Ok(organization_name)) =
        (email, password, display_name, organization_name)
    else {
        return Ok(RegisterOutcome::Invalid(problems));
    };

    let sign_up = registration::Registration {
        email,
        password,
        display_name,
        organization_name,
        locale: request_locale(),
    };
    match registration::register(&services.db, &services.origin, sign_up, client_ip()).await {
        Ok(()) => Ok(RegisterOutcome::CheckInbox),
        Err(AccountError::Field { field, error }) => {
            Ok(RegisterOutcome::Invalid(vec![FieldProblem {
                field: field.to_owned(),
                error,
            }]))
        }
        Err(err) => Err(internal_error(err)),
    }
}

/// Confirms an email address with the token from the emailed link. A POST, never a page load:
/// link scanners in mail systems open links, and must not use them up.
#[server(endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<bool, ServerFnError> {
    use shopmarkets_core::accounts::{AccountError, registration};

    use crate::services::{internal_error, services};

    let services = services()?;
    match registration::verify_email(&services.db, &token).await {
        Ok(_) => Ok(true),
        Err(AccountError::InvalidLink) => Ok(false),
        Err(err) => Err(internal_error(err)),
    }
}

/// A message in the development outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessageView {
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_at: String,
}

/// The newest emails, for the development outbox page. Refused in production, where email
/// goes out by SMTP and nobody but the recipient may read it.
#[server(endpoint = "dev_outbox")]
pub async fn dev_outbox() -> Result<Vec<OutboxMessageView>, ServerFnError> {
    use crate::services::{internal_error, services};

    let services = services()?;
    if services.config.env.is_production() {
        return Err(ServerFnError::new("not found"));
    }
    let messages = shopmarkets_core::mail::newest(&services.db, 50)
        .await
        .map_err(internal_error)?;
    Ok(messages
        .into_iter()
        .map(|m| OutboxMessageView {
            to: m.to_address,
            subject: m.subject,
            body: m.body_text,
            created_at: m.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        })
        .collect())
}
