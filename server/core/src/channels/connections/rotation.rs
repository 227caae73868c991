//! `shopmarkets keys rotate`: re-encrypts everything stored under `ENCRYPTION_KEYS` (marketplace
//! credentials and two-factor secrets) under the newest key, so the older keys can then be
//! removed from the list.

use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, sea_query::Expr};

use super::{ConnectError, secrets_aad};
use crate::crypto::Cipher;
use crate::db::Db;
use crate::entity::{channel_connection, user};

/// What a rotation run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Stored values looked at.
    pub checked: usize,
    /// Re-encrypted under the newest key.
    pub reencrypted: usize,
    /// Could not be decrypted (key removed too early, or damaged): left as they are.
    pub failed: Vec<String>,
}

/// Re-encrypts channel credentials and two-factor secrets not under the newest key. Each row
/// is updated only if it still holds the value read, so a refresh (or a 2FA change) running at
/// the same time wins and is not undone.
pub async fn rotate_keys(db: &Db, cipher: &Cipher) -> Result<RotationReport, ConnectError> {
    let mut report = RotationReport::default();
    rotate_two_factor_secrets(db, cipher, &mut report).await?;
    let rows = channel_connection::Entity::find()
        .filter(channel_connection::Column::Secrets.is_not_null())
        .all(db)
        .await?;
    for row in rows {
        let Some(stored) = row.secrets.as_deref() else {
            continue;
        };
        report.checked += 1;
        if !cipher.needs_reencryption(stored) {
            continue;
        }
        match cipher.reencrypt(stored, &secrets_aad(row.id)) {
            Ok(fresh) => {
                channel_connection::Entity::update_many()
                    .col_expr(channel_connection::Column::Secrets, Expr::value(fresh))
                    .filter(channel_connection::Column::Id.eq(row.id))
                    .filter(channel_connection::Column::Secrets.eq(stored))
                    .exec(db)
                    .await?;
                report.reencrypted += 1;
            }
            Err(error) => report
                .failed
                .push(format!("channel connection {}: {error}", row.id)),
        }
    }
    Ok(report)
}

/// The active and the pending (enrolment not yet confirmed) TOTP secret of every user.
async fn rotate_two_factor_secrets(
    db: &Db,
    cipher: &Cipher,
    report: &mut RotationReport,
) -> Result<(), ConnectError> {
    use crate::accounts::two_factor::{active_aad, pending_aad};
    let users = user::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(user::Column::TotpSecret.is_not_null())
                .add(user::Column::TotpPendingSecret.is_not_null()),
        )
        .all(db)
        .await?;
    for row in users {
        let columns = [
            (
                user::Column::TotpSecret,
                row.totp_secret.as_deref(),
                active_aad(row.id),
            ),
            (
                user::Column::TotpPendingSecret,
                row.totp_pending_secret.as_deref(),
                pending_aad(row.id),
            ),
        ];
        for (column, stored, aad) in columns {
            let Some(stored) = stored else {
                continue;
            };
            report.checked += 1;
            if !cipher.needs_reencryption(stored) {
                continue;
            }
            match cipher.reencrypt(stored, &aad) {
                Ok(fresh) => {
                    user::Entity::update_many()
                        .col_expr(column, Expr::value(fresh))
                        .filter(user::Column::Id.eq(row.id))
                        .filter(column.eq(stored))
                        .exec(db)
                        .await?;
                    report.reencrypted += 1;
                }
                Err(error) => report
                    .failed
                    .push(format!("two-factor secret of user {}: {error}", row.id)),
            }
        }
    }
    Ok(())
}
