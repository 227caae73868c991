//! Server functions and the wire types they return.
//!
//! Each one is thin: take the services, call `shopmarkets-core`, map the result into a DTO.
//! Sea-orm models and secrets never cross the wire.

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
