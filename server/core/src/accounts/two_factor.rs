//! Two-factor authentication with TOTP: enrolling an authenticator app, the check after the
//! password at login, single-use recovery codes, and turning it off again.
//!
//! - Turning 2FA on or off and new recovery codes need the password again: a session left
//!   open on someone's desk must not be enough to take over or weaken the account.
//! - Enrolment has two steps. [`begin_enrolment`] stores a new secret as *pending* and shows it
//!   once (base32, `otpauth://` URI, QR code); only a correct code from the app
//!   ([`confirm_enrolment`]) makes it the active secret, so nobody is locked out by a scan
//!   that never happened.
//! - Secrets are stored encrypted ([`Cipher`]) and bound to their row and column by the
//!   associated data `totp:<user_id>` (active) or `totp-pending:<user_id>` (pending).
//! - A code works once: the time step of each accepted code is stored with
//!   `UPDATE … WHERE totp_last_step IS NULL OR totp_last_step < $step`, so of two logins racing
//!   with one code exactly one updates the row. The loser, like any replay, is told "wrong
//!   code", logged (user id only) and audited.
//! - Recovery codes (ten, 50 random bits each, `xxxxx-xxxxx` in Crockford's base32) are shown
//!   once and stored as SHA-256 of user id and code; one is used up by a conditional update
//!   that sets `used_at`, so each works exactly once.
//! - Every function takes `now` from the caller's clock, so tests can move time.

use std::{collections::BTreeSet, net::IpAddr};

use chrono::{DateTime, Utc};
use qrcode::{EcLevel, QrCode, render::svg};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    sea_query::Expr,
};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use shopmarkets_types::FieldError;
use uuid::Uuid;

use super::{
    AccountError, password_hash,
    totp::{self, TotpError, TotpSecret},
};
use crate::{
    audit::{self, AuditAction, NewAuditEvent},
    crypto::Cipher,
    db::{Db, begin_write},
    entity::{recovery_code, user},
    secret::Secret,
};

/// How many recovery codes a user gets at a time.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Crockford's base32, lower-case: no `i`, `l`, `o` or `u`. What looks alike is read alike
/// (`o` as `0`, `i` and `l` as `1`), so a code typed from paper works however it was read.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Ten characters of five bits: 50 random bits per code.
const RECOVERY_CODE_CHARS: usize = 10;
/// The QR code's smallest edge in pixels; it scales up with the URI's length.
const QR_MIN_PIXELS: u32 = 240;

/// A started enrolment: what the user puts into the authenticator app. Shown once; every
/// field contains the secret, so `Debug` shows none of them.
pub struct Enrolment {
    /// The secret for typing in by hand.
    pub secret_base32: String,
    pub otpauth_uri: String,
    /// The URI as a QR code: a self-contained `<svg>` element (black on white, with a quiet
    /// zone, no scripts or external references) for inlining into the page.
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

/// Fresh recovery codes in plain text (`xxxxx-xxxxx`), for showing once. `Debug` hides them.
pub struct RecoveryCodes(Secret<Vec<String>>);

impl RecoveryCodes {
    /// The codes, for the page that shows them; never log them.
    pub fn expose(&self) -> &[String] {
        self.0.expose()
    }
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} × [redacted])", self.0.expose().len())
    }
}

/// Which second factor a login passed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    /// A recovery code, now used up; the page should urge new codes when few are left.
    RecoveryCode {
        remaining: u32,
    },
}

/// What the security settings page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwoFactorStatus {
    pub enabled: bool,
    pub enabled_at: Option<DateTime<Utc>>,
    pub recovery_codes_left: u32,
}

/// Starts an enrolment: checks the password, creates a secret and stores it encrypted as the
/// pending one (replacing an earlier unconfirmed one). Refused while 2FA is on.
pub async fn begin_enrolment(
    db: &Db,
    cipher: &Cipher,
    user_id: Uuid,
    password: &Secret<String>,
    now: DateTime<Utc>,
) -> Result<Enrolment, AccountError> {
    let user = find_user(db, user_id).await?;
    reauthenticate(&user, password).await?;
    if user.totp_secret.is_some() {
        return Err(AccountError::TwoFactorAlreadyEnabled);
    }

    let secret = TotpSecret::generate();
    let stored = cipher.encrypt(secret.expose_bytes(), &pending_aad(user_id));
    // Conditional, so an enrolment finished in another tab meanwhile is not shadowed.
    let updated = user::Entity::update_many()
        .col_expr(user::Column::TotpPendingSecret, Expr::value(stored))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::TotpSecret.is_null())
        .exec(db)
        .await?;
    if updated.rows_affected == 0 {
        return Err(AccountError::TwoFactorAlreadyEnabled);
    }

    let otpauth_uri = secret.otpauth_uri(&user.email);
    let qr_svg = qr_svg(&otpauth_uri)?;
    Ok(Enrolment {
        secret_base32: secret.to_base32(),
        otpauth_uri,
        qr_svg,
    })
}

/// Finishes an enrolment with a code from the app: the pending secret becomes the active one,
/// the code's time step counts as used, and ten new recovery codes replace any old ones. All in
/// one transaction with the audit entry. A wrong code changes nothing (the user may try again).
pub async fn confirm_enrolment(
    db: &Db,
    cipher: &Cipher,
    user_id: Uuid,
    code: &str,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<RecoveryCodes, AccountError> {
    let txn = begin_write(db).await?;
    let user = find_user(&txn, user_id).await?;
    if user.totp_secret.is_some() {
        return Err(AccountError::TwoFactorAlreadyEnabled);
    }
    let pending = user
        .totp_pending_secret
        .as_deref()
        .ok_or(AccountError::NoPendingEnrolment)?;
    let secret = TotpSecret::from_bytes(
        cipher
            .decrypt(pending, &pending_aad(user_id))?
            .expose()
            .clone(),
    );
    let step = totp::verify(&secret, code, unix_seconds(now), None).map_err(|_| wrong_code())?;
    let step = i64::try_from(step).map_err(|_| wrong_code())?;

    user::Entity::update_many()
        .col_expr(
            user::Column::TotpSecret,
            Expr::value(cipher.encrypt(secret.expose_bytes(), &active_aad(user_id))),
        )
        .col_expr(
            user::Column::TotpPendingSecret,
            Expr::value(Option::<String>::None),
        )
        .col_expr(user::Column::TotpEnabledAt, Expr::value(now))
        .col_expr(user::Column::TotpLastStep, Expr::value(step))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    let codes = replace_recovery_codes(&txn, user_id, now).await?;
    let organization_id = super::login::default_organization(&txn, user_id).await?;
    audit::record_in(
        &txn,
        NewAuditEvent::by_user(
            AuditAction::TwoFactorEnabled,
            organization_id,
            user_id,
            ip,
            json!({ "user_id": user_id }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(codes)
}

/// Turns 2FA off after checking the password: secret, pending secret, last step and recovery
/// codes are removed, and the change is audited.
pub async fn disable(
    db: &Db,
    user_id: Uuid,
    password: &Secret<String>,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<(), AccountError> {
    let user = find_user(db, user_id).await?;
    if user.totp_secret.is_none() {
        return Err(AccountError::TwoFactorNotEnabled);
    }
    reauthenticate(&user, password).await?;

    let txn = begin_write(db).await?;
    let cleared = user::Entity::update_many()
        .col_expr(
            user::Column::TotpSecret,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            user::Column::TotpPendingSecret,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            user::Column::TotpEnabledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(user::Column::TotpLastStep, Expr::value(Option::<i64>::None))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::TotpSecret.is_not_null())
        .exec(&txn)
        .await?;
    if cleared.rows_affected == 0 {
        // Turned off in another tab between the check above and here.
        return Err(AccountError::TwoFactorNotEnabled);
    }
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    let organization_id = super::login::default_organization(&txn, user_id).await?;
    audit::record_in(
        &txn,
        NewAuditEvent::by_user(
            AuditAction::TwoFactorDisabled,
            organization_id,
            user_id,
            ip,
            json!({ "user_id": user_id }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Replaces all recovery codes (used or not) with ten new ones, after checking the password.
pub async fn regenerate_recovery_codes(
    db: &Db,
    user_id: Uuid,
    password: &Secret<String>,
    now: DateTime<Utc>,
) -> Result<RecoveryCodes, AccountError> {
    let user = find_user(db, user_id).await?;
    if user.totp_secret.is_none() {
        return Err(AccountError::TwoFactorNotEnabled);
    }
    reauthenticate(&user, password).await?;

    let txn = begin_write(db).await?;
    // Checked again inside the transaction: codes for a turned-off 2FA would be junk.
    if find_user(&txn, user_id).await?.totp_secret.is_none() {
        return Err(AccountError::TwoFactorNotEnabled);
    }
    let codes = replace_recovery_codes(&txn, user_id, now).await?;
    let organization_id = super::login::default_organization(&txn, user_id).await?;
    audit::record_in(
        &txn,
        NewAuditEvent::by_user(
            AuditAction::RecoveryCodesRegenerated,
            organization_id,
            user_id,
            None,
            json!({ "user_id": user_id }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(codes)
}

/// The second step of a login: a 6-digit code from the app, or a recovery code (told apart by
/// their form). Wrong, expired, replayed and unknown codes all answer the same field error, so
/// the user learns only "wrong code".
pub async fn verify(
    db: &Db,
    cipher: &Cipher,
    user_id: Uuid,
    code: &str,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<SecondFactor, AccountError> {
    let user = find_user(db, user_id).await?;
    let stored = user
        .totp_secret
        .as_deref()
        .ok_or(AccountError::TwoFactorNotEnabled)?;

    if is_totp_code(code) {
        let secret = TotpSecret::from_bytes(
            cipher
                .decrypt(stored, &active_aad(user_id))?
                .expose()
                .clone(),
        );
        let last_step = user.totp_last_step.and_then(|s| u64::try_from(s).ok());
        let step = match totp::verify(&secret, code, unix_seconds(now), last_step) {
            Ok(step) => i64::try_from(step).map_err(|_| wrong_code())?,
            Err(TotpError::Replayed) => return Err(replay_rejected(db, user_id, ip).await),
            Err(TotpError::Invalid) => return Err(wrong_code()),
        };
        // The read above may be stale: only the database decides which login got the step.
        let accepted = user::Entity::update_many()
            .col_expr(user::Column::TotpLastStep, Expr::value(step))
            .filter(user::Column::Id.eq(user_id))
            .filter(
                Condition::any()
                    .add(user::Column::TotpLastStep.is_null())
                    .add(user::Column::TotpLastStep.lt(step)),
            )
            .exec(db)
            .await?;
        if accepted.rows_affected == 0 {
            return Err(replay_rejected(db, user_id, ip).await);
        }
        return Ok(SecondFactor::Totp);
    }

    let Some(canonical) = canonical_recovery_code(code) else {
        return Err(wrong_code());
    };
    let used = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
        .filter(recovery_code::Column::CodeHash.eq(recovery_hash(user_id, &canonical)))
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if used.rows_affected == 0 {
        return Err(wrong_code());
    }
    let remaining = unused_recovery_codes(db, user_id).await?;
    tracing::info!(%user_id, remaining, "recovery code used at login");
    Ok(SecondFactor::RecoveryCode { remaining })
}

/// Whether 2FA is on, since when, and how many recovery codes are left.
pub async fn status(db: &Db, user_id: Uuid) -> Result<TwoFactorStatus, AccountError> {
    let user = find_user(db, user_id).await?;
    let enabled = user.totp_secret.is_some();
    Ok(TwoFactorStatus {
        enabled,
        enabled_at: user.totp_enabled_at.filter(|_| enabled),
        recovery_codes_left: if enabled {
            unused_recovery_codes(db, user_id).await?
        } else {
            0
        },
    })
}

async fn find_user(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<user::Model, AccountError> {
    user::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .ok_or(AccountError::UnknownUser)
}

/// The password once more, before a change to the account's security.
async fn reauthenticate(user: &user::Model, password: &Secret<String>) -> Result<(), AccountError> {
    if password_hash::verify(password.clone(), Some(user.password_hash.clone())).await {
        Ok(())
    } else {
        Err(AccountError::field("password", FieldError::WrongPassword))
    }
}

fn wrong_code() -> AccountError {
    AccountError::field("code", FieldError::WrongCode)
}

/// A code that was already accepted came again: someone watched it being typed, or two
/// logins raced. Logged and audited (never the code itself), then answered as a wrong code.
async fn replay_rejected(db: &Db, user_id: Uuid, ip: Option<IpAddr>) -> AccountError {
    tracing::warn!(%user_id, "TOTP code replay rejected");
    let organization_id = super::login::default_organization(db, user_id)
        .await
        .ok()
        .flatten();
    let recorded = audit::record(
        db,
        NewAuditEvent::by_user(
            AuditAction::TotpReplayRejected,
            organization_id,
            user_id,
            ip,
            json!({ "user_id": user_id }),
        ),
    )
    .await;
    if let Err(err) = recorded {
        // The code is refused all the same; only the trail is missing, which the log says.
        tracing::error!(%user_id, error = %err, "could not audit a rejected TOTP replay");
    }
    wrong_code()
}

async fn replace_recovery_codes(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<RecoveryCodes, AccountError> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    // Distinct, so one code never stands for two rows.
    let mut canonical = BTreeSet::new();
    while canonical.len() < RECOVERY_CODE_COUNT {
        canonical.insert(random_recovery_code());
    }
    recovery_code::Entity::insert_many(canonical.iter().map(|code| recovery_code::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(user_id),
        code_hash: Set(recovery_hash(user_id, code)),
        used_at: Set(None),
        created_at: Set(now),
    }))
    .exec(conn)
    .await?;
    Ok(RecoveryCodes(Secret::new(
        canonical
            .iter()
            .map(|code| format!("{}-{}", &code[..5], &code[5..]))
            .collect(),
    )))
}

async fn unused_recovery_codes(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<u32, AccountError> {
    let count = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(conn)
        .await?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// Ten characters from the 32-letter alphabet; a byte masked to five bits is uniform.
fn random_recovery_code() -> String {
    let mut bytes = [0u8; RECOVERY_CODE_CHARS];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    bytes
        .iter()
        .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 0x1f)]))
        .collect()
}

/// A recovery code as typed, reduced to its ten characters: case, spaces and dashes do not
/// matter, and look-alikes are read as Crockford says. `None` if it cannot be one.
fn canonical_recovery_code(input: &str) -> Option<String> {
    let mut canonical = String::with_capacity(RECOVERY_CODE_CHARS);
    for c in input.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        let c = match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        if !c.is_ascii() || !RECOVERY_ALPHABET.contains(&(c as u8)) {
            return None;
        }
        canonical.push(c);
        if canonical.len() > RECOVERY_CODE_CHARS {
            return None;
        }
    }
    (canonical.len() == RECOVERY_CODE_CHARS).then_some(canonical)
}

/// Six digits, spaces allowed (apps show `123 456`): a TOTP code, not a recovery code.
fn is_totp_code(input: &str) -> bool {
    let mut digits = 0;
    for c in input.chars() {
        if c.is_ascii_digit() {
            digits += 1;
        } else if !c.is_whitespace() {
            return false;
        }
    }
    digits == 6
}

/// SHA-256 (hex) of the user id and the canonical code: equal codes of two users are stored
/// differently, and the lookup is always for one user anyway.
fn recovery_hash(user_id: Uuid, canonical: &str) -> String {
    Sha256::digest(format!("recovery-code:{user_id}:{canonical}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) fn active_aad(user_id: Uuid) -> String {
    format!("totp:{user_id}")
}

pub(crate) fn pending_aad(user_id: Uuid) -> String {
    format!("totp-pending:{user_id}")
}

fn unix_seconds(now: DateTime<Utc>) -> u64 {
    u64::try_from(now.timestamp()).unwrap_or(0)
}

/// The URI as an SVG QR code (error correction M). The XML declaration is dropped so the
/// element can be inlined into HTML.
fn qr_svg(uri: &str) -> Result<String, AccountError> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|e| AccountError::QrCode(e.to_string()))?;
    let image = code
        .render::<svg::Color>()
        .quiet_zone(true)
        .min_dimensions(QR_MIN_PIXELS, QR_MIN_PIXELS)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    Ok(match image.find("<svg") {
        Some(start) => image[start..].to_owned(),
        None => image,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_ten_unambiguous_characters() {
        for _ in 0..200 {
            let code = random_recovery_code();
            assert_eq!(code.len(), RECOVERY_CODE_CHARS);
            assert!(
                code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)),
                "{code}"
            );
            assert!(!code.contains(['i', 'l', 'o', 'u']), "{code}");
            assert_eq!(canonical_recovery_code(&code).as_deref(), Some(&*code));
        }
        assert_ne!(random_recovery_code(), random_recovery_code());
    }

    #[test]
    fn recovery_codes_are_read_forgivingly() {
        let expect = Some("0123abcdef".to_owned());
        assert_eq!(canonical_recovery_code("0123a-bcdef"), expect);
        assert_eq!(canonical_recovery_code(" O123A BCDEF "), expect);
        assert_eq!(canonical_recovery_code("oI23a-bcdef"), expect);
        assert_eq!(canonical_recovery_code("0l23a–bcdef"), None, "en dash");
        assert_eq!(canonical_recovery_code("0123a-bcdeu"), None);
        assert_eq!(canonical_recovery_code("0123a-bcde"), None);
        assert_eq!(canonical_recovery_code("0123a-bcdef0"), None);
        assert_eq!(canonical_recovery_code("ääääääääää"), None);
        assert_eq!(canonical_recovery_code(""), None);
    }

    #[test]
    fn totp_codes_and_recovery_codes_are_told_apart() {
        assert!(is_totp_code("123456"));
        assert!(is_totp_code(" 123 456 "));
        assert!(!is_totp_code("12345"));
        assert!(!is_totp_code("1234567"));
        assert!(!is_totp_code("12345-67890"));
        assert!(!is_totp_code("١٢٣٤٥٦"));
    }

    #[test]
    fn recovery_hashes_differ_per_user() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let hash = recovery_hash(a, "0123abcdef");
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, recovery_hash(a, "0123abcdef"));
        assert_ne!(hash, recovery_hash(b, "0123abcdef"));
        assert!(!hash.contains("0123abcdef"));
    }

    #[test]
    fn the_qr_code_is_a_plain_svg_element() {
        let secret = TotpSecret::generate();
        let svg = qr_svg(&secret.otpauth_uri("erika@example.com")).unwrap();
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg:.80}"
        );
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains(r##"fill="#ffffff""##) && svg.contains(r##"fill="#000000""##));
        for forbidden in ["<script", "href", "<image", "<?xml", "url("] {
            assert!(!svg.contains(forbidden), "{forbidden}");
        }
        let width: u32 = svg
            .split("width=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|w| w.parse().ok())
            .unwrap();
        assert!(width >= QR_MIN_PIXELS, "{width}");
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let enrolment = Enrolment {
            secret_base32: "JBSWY3DPEHPK3PXP".into(),
            otpauth_uri: "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP".into(),
            qr_svg: "<svg/>".into(),
        };
        assert!(!format!("{enrolment:?}").contains("JBSWY3DP"));
        let codes = RecoveryCodes(Secret::new(vec!["0123a-bcdef".into()]));
        assert_eq!(format!("{codes:?}"), "RecoveryCodes(1 × [redacted])");
    }
}
