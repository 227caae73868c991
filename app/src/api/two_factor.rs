//! Two-factor sign-in settings: status, turning it on (password, then a code from the app),
//! turning it off, and new recovery codes.
//!
//! Every change asks for the password again and is throttled per user, so a session left open
//! (or stolen) is not enough to guess the password through these forms. Turning 2FA on or off
//! ends the user's other sessions and gives this one a new id: the account's protection
//! changed, and whoever was signed in under the old rules must sign in under the new ones.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::FieldProblem;

/// What the settings show about the signed-in user's 2FA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorStatusView {
    pub enabled: bool,
    /// When it was turned on (`YYYY-MM-DD HH:MM UTC`), while it is on.
    pub enabled_at: Option<String>,
    pub recovery_codes_left: u32,
}

/// A started enrolment, shown once: what goes into the authenticator app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolmentView {
    /// The `otpauth://` URI as a QR code: our own generated SVG as a `data:` URL for an
    /// `<img>` (the page policy allows `img-src data:`; an image cannot run scripts).
    pub qr_image: String,
    /// The secret in base32, for typing in by hand.
    pub secret: String,
}

/// Never log the secret.
impl std::fmt::Debug for EnrolmentView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnrolmentView([redacted])")
    }
}

/// Fresh recovery codes, shown once.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodesView(pub Vec<String>);

/// Never log the codes.
impl std::fmt::Debug for RecoveryCodesView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodesView({} × [redacted])", self.0.len())
    }
}

/// What a change answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TwoFactorAnswer<T> {
    Done(T),
    /// Wrong or missing password or code; shown at the field.
    Invalid(Vec<FieldProblem>),
    /// 2FA was turned on or off meanwhile (in another tab), or the enrolment to confirm is
    /// gone: the page reloads the status.
    Outdated,
    /// Too many attempts in a short time; try again in a few minutes.
    TooManyAttempts,
}

/// Whether 2FA is on, since when, and how many recovery codes are left.
#[server(endpoint = "two_factor_status")]
pub async fn two_factor_status() -> Result<TwoFactorStatusView, ServerFnError> {
    use crate::services::{internal_error, services, signed_in};
    use shopmarkets_core::accounts::two_factor;

    let user = signed_in().await?;
    let services = services()?;
    let status = two_factor::status(&services.db, user.user_id())
        .await
        .map_err(internal_error)?;
    Ok(TwoFactorStatusView {
        enabled: status.enabled,
        enabled_at: status
            .enabled_at
            .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
        recovery_codes_left: status.recovery_codes_left,
    })
}

/// Starts turning 2FA on: checks the password and answers a new secret (QR code and text).
/// Nothing is active until [`confirm_two_factor`] gets a correct code for it.
#[server(endpoint = "begin_two_factor")]
pub async fn begin_two_factor(
    password: String,
) -> Result<TwoFactorAnswer<EnrolmentView>, ServerFnError> {
    use crate::services::{services, signed_in};
    use shopmarkets_core::{accounts::two_factor, secret::Secret};

    let user = signed_in().await?;
    let services = services()?;
    if let Some(refused) = check_input("password", &password, &services, user.user_id()).await? {
        return Ok(refused);
    }
    let result = two_factor::begin_enrolment(
        &services.db,
        &services.cipher,
        user.user_id(),
        &Secret::new(password),
        services.clock.now(),
    )
    .await;
    answer(result.map(|enrolment| EnrolmentView {
        qr_image: svg_data_url(&enrolment.qr_svg),
        secret: enrolment.secret_base32.clone(),
    }))
}

/// Finishes turning 2FA on with a code from the app; answers the ten recovery codes (shown
/// once). Other sessions end and this one gets a new id.
#[server(endpoint = "confirm_two_factor")]
pub async fn confirm_two_factor(
    code: String,
) -> Result<TwoFactorAnswer<RecoveryCodesView>, ServerFnError> {
    use crate::services::{client_ip, services, signed_in};
    use shopmarkets_core::accounts::two_factor;

    let user = signed_in().await?;
    let services = services()?;
    if let Some(refused) = check_input("code", &code, &services, user.user_id()).await? {
        return Ok(refused);
    }
    let result = two_factor::confirm_enrolment(
        &services.db,
        &services.cipher,
        user.user_id(),
        &code,
        services.clock.now(),
        client_ip(),
    )
    .await;
    let answer = answer(result.map(|codes| RecoveryCodesView(codes.expose().to_vec())))?;
    if matches!(answer, TwoFactorAnswer::Done(_)) {
        restart_sessions(&user, &services).await?;
    }
    Ok(answer)
}

/// Turns 2FA off after checking the password. Other sessions end and this one gets a new id.
#[server(endpoint = "disable_two_factor")]
pub async fn disable_two_factor(password: String) -> Result<TwoFactorAnswer<()>, ServerFnError> {
    use crate::services::{client_ip, services, signed_in};
    use shopmarkets_core::{accounts::two_factor, secret::Secret};

    let user = signed_in().await?;
    let services = services()?;
    if let Some(refused) = check_input("password", &password, &services, user.user_id()).await? {
        return Ok(refused);
    }
    let result = two_factor::disable(
        &services.db,
        user.user_id(),
        &Secret::new(password),
        services.clock.now(),
        client_ip(),
    )
    .await;
    let answer = answer(result)?;
    if matches!(answer, TwoFactorAnswer::Done(())) {
        restart_sessions(&user, &services).await?;
    }
    Ok(answer)
}

/// Replaces all recovery codes with ten new ones after checking the password; answers them
/// (shown once).
#[server(endpoint = "regenerate_recovery_codes")]
pub async fn regenerate_recovery_codes(
    password: String,
) -> Result<TwoFactorAnswer<RecoveryCodesView>, ServerFnError> {
    use crate::services::{services, signed_in};
    use shopmarkets_core::{accounts::two_factor, secret::Secret};

    let user = signed_in().await?;
    let services = services()?;
    if let Some(refused) = check_input("password", &password, &services, user.user_id()).await? {
        return Ok(refused);
    }
    let result = two_factor::regenerate_recovery_codes(
        &services.db,
        user.user_id(),
        &Secret::new(password),
        services.clock.now(),
    )
    .await;
    let answer = answer(result.map(|codes| RecoveryCodesView(codes.expose().to_vec())))?;
    // New codes are a change of the second factor: the other sessions end, as for on and off.
    if matches!(answer, TwoFactorAnswer::Done(_)) {
        restart_sessions(&user, &services).await?;
    }
    Ok(answer)
}

/// Attempts at the password or code through these forms, per user: a burst of this many,
/// then one every `ATTEMPT_PERIOD / ATTEMPTS`.
#[cfg(feature = "ssr")]
const ATTEMPTS: u32 = 10;
#[cfg(feature = "ssr")]
const ATTEMPT_PERIOD: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Refuses an empty field, and counts the attempt against the user's budget (failing closed
/// when the counter store is unavailable: this guards a password).
#[cfg(feature = "ssr")]
async fn check_input<T>(
    field: &str,
    value: &str,
    services: &crate::services::Services,
    user_id: uuid::Uuid,
) -> Result<Option<TwoFactorAnswer<T>>, ServerFnError> {
    use crate::services::internal_error;
    use shopmarkets_core::rate_limit::Quota;
    use shopmarkets_types::FieldError;

    if value.trim().is_empty() {
        return Ok(Some(TwoFactorAnswer::Invalid(vec![FieldProblem {
            field: field.to_owned(),
            error: FieldError::Required,
        }])));
    }
    let decision = services
        .rate_limiter
        .check(
            &format!("two-factor-settings:{user_id}"),
            Quota::new(ATTEMPTS, ATTEMPT_PERIOD),
        )
        .await
        .map_err(internal_error)?;
    if decision.is_allowed() {
        Ok(None)
    } else {
        tracing::warn!(%user_id, "two-factor settings throttled");
        Ok(Some(TwoFactorAnswer::TooManyAttempts))
    }
}

/// What `core` said, as an answer for the page; only unexpected failures are errors.
#[cfg(feature = "ssr")]
fn answer<T>(
    result: Result<T, shopmarkets_core::accounts::AccountError>,
) -> Result<TwoFactorAnswer<T>, ServerFnError> {
    use shopmarkets_core::accounts::AccountError;

    match result {
        Ok(value) => Ok(TwoFactorAnswer::Done(value)),
        Err(AccountError::Field { field, error }) => {
            Ok(TwoFactorAnswer::Invalid(vec![FieldProblem {
                field: field.to_owned(),
                error,
            }]))
        }
        Err(
            AccountError::TwoFactorAlreadyEnabled
            | AccountError::TwoFactorNotEnabled
            | AccountError::NoPendingEnrolment,
        ) => Ok(TwoFactorAnswer::Outdated),
        Err(err) => Err(crate::services::internal_error(err)),
    }
}

/// After 2FA was turned on or off: every other session of the user ends, and this one
/// continues under a new id.
#[cfg(feature = "ssr")]
async fn restart_sessions(
    user: &crate::services::SignedIn,
    services: &crate::services::Services,
) -> Result<(), ServerFnError> {
    use crate::services::{begin_session, client_ip, internal_error};
    use shopmarkets_core::audit::{self, AuditAction, NewAuditEvent};

    let ended = shopmarkets_core::sessions::end_all_except(
        &services.db,
        user.user_id(),
        user.session.id().as_ref(),
    )
    .await
    .map_err(internal_error)?;
    begin_session(&user.session, &user.auth).await?;
    if ended > 0 {
        audit::record(
            &services.db,
            NewAuditEvent {
                organization_id: user.auth.organization_id,
                actor_user_id: Some(user.user_id()),
                action: AuditAction::SessionEnded,
                ip: client_ip(),
                details: serde_json::json!({ "user_id": user.user_id(), "sessions": ended }),
            },
        )
        .await
        .map_err(internal_error)?;
    }
    Ok(())
}

/// An SVG document as a `data:` URL: every byte but the unreserved ones percent-encoded, so
/// nothing in it can end the attribute it is put in.
#[cfg(any(feature = "ssr", test))]
fn svg_data_url(svg: &str) -> String {
    use std::fmt::Write as _;

    let mut url = String::with_capacity(svg.len() * 2);
    url.push_str("data:image/svg+xml,");
    for byte in svg.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            url.push(char::from(byte));
        } else {
            let _ = write!(url, "%{byte:02X}");
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_data_urls_escape_everything_that_could_end_an_attribute() {
        let url = svg_data_url(r##"<svg a="#0" b='x'>&amp; é</svg>"##);
        assert!(url.starts_with("data:image/svg+xml,%3Csvg%20a%3D%22%230%22"));
        for forbidden in ['<', '>', '"', '\'', '&', '#', ' ', 'é'] {
            assert!(!url["data:".len()..].contains(forbidden), "{forbidden}");
        }
        assert!(url.ends_with("%C3%A9%3C%2Fsvg%3E"));
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let enrolment = EnrolmentView {
            qr_image: "data:image/svg+xml,JBSWY3DP".into(),
            secret: "JBSWY3DPEHPK3PXP".into(),
        };
        assert!(!format!("{enrolment:?}").contains("JBSWY3DP"));
        let codes = RecoveryCodesView(vec!["0123a-bcdef".into()]);
        assert_eq!(format!("{codes:?}"), "RecoveryCodesView(1 × [redacted])");
    }
}
