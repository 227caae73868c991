//! Signing in and out, the second-factor step, password reset and change, sessions, the
//! organization switch and the user's notifications.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::FieldProblem;

/// An organization the user belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationRef {
    pub id: String,
    pub name: String,
    pub role: String,
}

/// Who is signed in, for the header and for pages that need a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub display_name: String,
    pub email: String,
    pub organization: Option<OrganizationRef>,
    pub organizations: Vec<OrganizationRef>,
}

/// The signed-in user, or `None` (also for a session still waiting for its second factor).
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<Me>, ServerFnError> {
    use crate::services::{current_auth, internal_error, services};
    use shopmarkets_core::{entity::user, organizations, sessions::Stage};

    let Some((_, auth)) = current_auth().await? else {
        return Ok(None);
    };
    if auth.stage != Stage::SignedIn {
        return Ok(None);
    }
    let services = services()?;
    let Some(account) = <user::Entity as sea_orm::EntityTrait>::find_by_id(auth.user_id)
        .one(&services.db)
        .await
        .map_err(internal_error)?
    else {
        return Ok(None);
    };
    let organizations: Vec<OrganizationRef> =
        organizations::memberships_of(&services.db, auth.user_id)
            .await
            .map_err(internal_error)?
            .into_iter()
            .map(|m| OrganizationRef {
                id: m.organization_id.to_string(),
                name: m.name,
                role: m.role.code().to_owned(),
            })
            .collect();
    let current = auth.organization_id.map(|id| id.to_string());
    Ok(Some(Me {
        display_name: account.display_name.clone(),
        email: account.email.clone(),
        organization: organizations
            .iter()
            .find(|o| Some(&o.id) == current.as_ref())
            .cloned(),
        organizations,
    }))
}

/// What the password step answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginAnswer {
    SignedIn,
    SecondFactorRequired,
    EmailNotVerified,
    /// Wrong address or password, or throttled: deliberately one answer.
    Refused,
}

/// The password step. A success starts a new session id (no fixation); with TOTP on, the
/// session reaches only the second-factor step.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<LoginAnswer, ServerFnError> {
    use crate::services::{
        begin_session, client_ip, internal_error, services, session, user_agent,
    };
    use shopmarkets_core::{
        accounts::login::{self, LoginError, LoginOutcome},
        audit::ip_prefix,
        secret::Secret,
        sessions::{SessionAuth, Stage},
    };

    let services = services()?;
    let now = services.clock.now();
    let ip = client_ip();
    let outcome = login::login(
        &services.db,
        &services.origin,
        &email,
        Secret::new(password),
        ip,
        now,
    )
    .await;
    let (user_id, organization_id, stage) = match outcome {
        Ok(LoginOutcome::SignedIn {
            user_id,
            organization_id,
        }) => (user_id, organization_id, Stage::SignedIn),
        Ok(LoginOutcome::SecondFactorRequired {
            user_id,
            organization_id,
        }) => (user_id, organization_id, Stage::AwaitingSecondFactor),
        Ok(LoginOutcome::EmailNotVerified) => return Ok(LoginAnswer::EmailNotVerified),
        Err(LoginError::Refused) => return Ok(LoginAnswer::Refused),
        Err(LoginError::Account(err)) => return Err(internal_error(err)),
    };
    let auth = SessionAuth::new(
        user_id,
        stage,
        organization_id,
        now,
        user_agent().as_deref(),
        ip.map(ip_prefix),
    );
    begin_session(&session().await?, &auth).await?;
    Ok(match stage {
        Stage::SignedIn => LoginAnswer::SignedIn,
        Stage::AwaitingSecondFactor => LoginAnswer::SecondFactorRequired,
    })
}

/// What the second-factor step answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecondFactorAnswer {
    SignedIn {
        recovery_codes_left: Option<u32>,
    },
    Refused,
    /// No password step waiting (never signed in, or its ten minutes are over).
    Expired,
}

/// The second-factor step of a half-authenticated session.
#[server(endpoint = "second_factor")]
pub async fn second_factor(code: String) -> Result<SecondFactorAnswer, ServerFnError> {
    use crate::services::{begin_session, client_ip, current_auth, internal_error, services};
    use shopmarkets_core::{
        accounts::{
            login::{self, LoginError},
            two_factor::SecondFactor,
        },
        sessions::Stage,
    };

    let services = services()?;
    let Some((session, mut auth)) = current_auth().await? else {
        return Ok(SecondFactorAnswer::Expired);
    };
    if auth.stage != Stage::AwaitingSecondFactor {
        return Ok(SecondFactorAnswer::Expired);
    }
    let now = services.clock.now();
    match login::second_factor(
        &services.db,
        &services.origin,
        &services.cipher,
        auth.user_id,
        &code,
        client_ip(),
        now,
    )
    .await
    {
        Ok(method) => {
            auth.stage = Stage::SignedIn;
            auth.last_seen_at = now;
            begin_session(&session, &auth).await?;
            Ok(SecondFactorAnswer::SignedIn {
                recovery_codes_left: match method {
                    SecondFactor::Totp => None,
                    SecondFactor::RecoveryCode { remaining } => Some(remaining),
                },
            })
        }
        Err(LoginError::Refused) => Ok(SecondFactorAnswer::Refused),
        Err(LoginError::Account(err)) => Err(internal_error(err)),
    }
}

/// Ends this session (works for a half-authenticated one too).
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    use crate::services::{current_auth, internal_error};
    use shopmarkets_core::audit::AuditAction;

    if let Some((session, auth)) = current_auth().await? {
        audit_as(
            &auth,
            AuditAction::LoggedOut,
            serde_json::json!({ "user_id": auth.user_id }),
        )
        .await?;
        session.flush().await.map_err(internal_error)?;
    }
    // No redirect here: the page loads `/login` as a new document (one navigation, no stale
    // header); a plain form post without scripts is sent back to its page, signed out.
    Ok(())
}

/// Asks for a reset link. Always answers the same, at once: the lookup and the email happen
/// after the response, so neither the answer nor its timing tells whether the address exists.
#[server(endpoint = "request_password_reset")]
pub async fn request_password_reset(email: String) -> Result<(), ServerFnError> {
    use crate::services::{client_ip, services};

    let services = services()?;
    let ip = client_ip();
    tokio::spawn(async move {
        if let Err(err) = shopmarkets_core::accounts::password::request_reset(
            &services.db,
            &services.origin,
            &email,
            ip,
        )
        .await
        {
            tracing::error!(error = %err, "password reset request failed");
        }
    });
    Ok(())
}

/// What setting a password answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PasswordAnswer {
    Done,
    InvalidLink,
    Invalid(Vec<FieldProblem>),
}

/// Sets a new password from a reset link.
#[server(endpoint = "reset_password")]
pub async fn reset_password(
    token: String,
    password: String,
) -> Result<PasswordAnswer, ServerFnError> {
    use crate::services::{client_ip, internal_error, services};
    use shopmarkets_core::accounts::{AccountError, password};
    use shopmarkets_types::Password;

    let new_password = match Password::parse(password) {
        Ok(p) => p,
        Err(error) => {
            return Ok(PasswordAnswer::Invalid(vec![FieldProblem {
                field: "password".into(),
                error,
            }]));
        }
    };
    let services = services()?;
    match password::reset(
        &services.db,
        &token,
        new_password,
        client_ip(),
        services.clock.now(),
    )
    .await
    {
        Ok(_) => Ok(PasswordAnswer::Done),
        Err(AccountError::InvalidLink) => Ok(PasswordAnswer::InvalidLink),
        Err(AccountError::Field { field, error }) => {
            Ok(PasswordAnswer::Invalid(vec![FieldProblem {
                field: field.into(),
                error,
            }]))
        }
        Err(err) => Err(internal_error(err)),
    }
}

/// Changes the signed-in user's password; other sessions end, this one gets a new id.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<PasswordAnswer, ServerFnError> {
    use crate::services::{begin_session, client_ip, internal_error, services, signed_in};
    use shopmarkets_core::{
        accounts::{AccountError, password},
        secret::Secret,
    };
    use shopmarkets_types::Password;

    let user = signed_in().await?;
    let new = match Password::parse(new_password) {
        Ok(p) => p,
        Err(error) => {
            return Ok(PasswordAnswer::Invalid(vec![FieldProblem {
                field: "new_password".into(),
                error,
            }]));
        }
    };
    let services = services()?;
    let current_id = user.session.id();
    match password::change(
        &services.db,
        user.user_id(),
        Secret::new(current_password),
        new,
        current_id.as_ref(),
        client_ip(),
        services.clock.now(),
    )
    .await
    {
        Ok(()) => {
            begin_session(&user.session, &user.auth).await?;
            Ok(PasswordAnswer::Done)
        }
        Err(AccountError::Field { field, error }) => {
            Ok(PasswordAnswer::Invalid(vec![FieldProblem {
                field: field.into(),
                error,
            }]))
        }
        Err(err) => Err(internal_error(err)),
    }
}

/// One of the user's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub handle: String,
    pub device: String,
    pub network: Option<String>,
    /// RFC 3339, UTC.
    pub signed_in_at: String,
    pub last_seen_at: String,
    pub current: bool,
}

/// The signed-in user's sessions.
#[server(endpoint = "my_sessions")]
pub async fn my_sessions() -> Result<Vec<SessionView>, ServerFnError> {
    use crate::services::{internal_error, services, signed_in};

    let user = signed_in().await?;
    let services = services()?;
    let list = shopmarkets_core::sessions::list_for_user(
        &services.db,
        user.user_id(),
        user.session.id().as_ref(),
    )
    .await
    .map_err(internal_error)?;
    Ok(list
        .into_iter()
        .map(|s| SessionView {
            handle: s.handle.to_string(),
            device: s.device,
            network: s.ip_prefix,
            signed_in_at: s.signed_in_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            last_seen_at: s.last_seen_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            current: s.current,
        })
        .collect())
}

/// Ends one of the user's sessions (another user's handle ends nothing).
#[server(endpoint = "end_session")]
pub async fn end_session(handle: String) -> Result<(), ServerFnError> {
    use crate::services::{internal_error, services, signed_in};
    use shopmarkets_core::audit::AuditAction;

    let user = signed_in().await?;
    let services = services()?;
    let Ok(handle) = uuid::Uuid::parse_str(&handle) else {
        return Ok(());
    };
    let ended = shopmarkets_core::sessions::end_by_handle(&services.db, user.user_id(), handle)
        .await
        .map_err(internal_error)?;
    if ended {
        audit_as(
            &user.auth,
            AuditAction::SessionEnded,
            serde_json::json!({ "user_id": user.user_id(), "sessions": 1 }),
        )
        .await?;
    }
    Ok(())
}

/// Ends every session of the user but this one; answers how many ended.
#[server(endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<u64, ServerFnError> {
    use crate::services::{internal_error, services, signed_in};
    use shopmarkets_core::audit::AuditAction;

    let user = signed_in().await?;
    let services = services()?;
    let ended = shopmarkets_core::sessions::end_all_except(
        &services.db,
        user.user_id(),
        user.session.id().as_ref(),
    )
    .await
    .map_err(internal_error)?;
    audit_as(
        &user.auth,
        AuditAction::SessionEnded,
        serde_json::json!({ "user_id": user.user_id(), "sessions": ended }),
    )
    .await?;
    Ok(ended)
}

/// Makes another of the user's organizations the current one (a privilege change: new id).
#[server(endpoint = "switch_organization")]
pub async fn switch_organization(organization_id: String) -> Result<(), ServerFnError> {
    use crate::services::{access_error, begin_session, services, signed_in};
    use shopmarkets_core::access::{AccessError, Scope};

    let mut user = signed_in().await?;
    let services = services()?;
    let organization_id =
        uuid::Uuid::parse_str(&organization_id).map_err(|_| access_error(AccessError::NotFound))?;
    Scope::for_member(&services.db, user.user_id(), organization_id)
        .await
        .map_err(access_error)?;
    user.auth.organization_id = Some(organization_id);
    begin_session(&user.session, &user.auth).await?;
    Ok(())
}

/// An unread in-app notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: String,
    /// `suspicious_sign_ins`, `suspicious_second_factor`, `password_changed`.
    pub kind: String,
    pub created_at: String,
}

/// The signed-in user's unread notifications (empty when signed out).
#[server(endpoint = "my_notifications")]
pub async fn my_notifications() -> Result<Vec<NotificationView>, ServerFnError> {
    use crate::services::{current_auth, internal_error, services};
    use shopmarkets_core::sessions::Stage;

    // Asked on every page: a visitor simply has none (no 401 on the page).
    let Some((_, auth)) = current_auth().await? else {
        return Ok(Vec::new());
    };
    if auth.stage != Stage::SignedIn {
        return Ok(Vec::new());
    }
    let services = services()?;
    Ok(
        shopmarkets_core::notifications::unread(&services.db, auth.user_id)
            .await
            .map_err(internal_error)?
            .into_iter()
            .map(|n| NotificationView {
                id: n.id.to_string(),
                kind: n.kind.code().to_owned(),
                created_at: n.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            })
            .collect(),
    )
}

/// Marks a notification read.
#[server(endpoint = "dismiss_notification")]
pub async fn dismiss_notification(id: String) -> Result<(), ServerFnError> {
    use crate::services::{internal_error, services, signed_in};

    let user = signed_in().await?;
    let services = services()?;
    if let Ok(id) = uuid::Uuid::parse_str(&id) {
        shopmarkets_core::notifications::mark_read(
            &services.db,
            user.user_id(),
            id,
            services.clock.now(),
        )
        .await
        .map_err(internal_error)?;
    }
    Ok(())
}

/// Records an event caused by the session's user, in their current organization's chain.
#[cfg(feature = "ssr")]
async fn audit_as(
    auth: &shopmarkets_core::sessions::SessionAuth,
    action: shopmarkets_core::audit::AuditAction,
    details: serde_json::Value,
) -> Result<(), ServerFnError> {
    use crate::services::{client_ip, internal_error, services};
    use shopmarkets_core::audit::{self, NewAuditEvent};

    let services = services()?;
    audit::record(
        &services.db,
        NewAuditEvent::by_user(
            action,
            auth.organization_id,
            auth.user_id,
            client_ip(),
            details,
        ),
    )
    .await
    .map_err(internal_error)?;
    Ok(())
}
