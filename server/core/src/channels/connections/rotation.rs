//! `shopmarkets keys rotate`: re-encrypts every stored credential under the newest key of
//! `ENCRYPTION_KEYS`, so the older keys can then be removed from the list.

use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, sea_query::Expr};

use super::{ConnectError, secrets_aad};
use crate::crypto::Cipher;
use crate::db::Db;
use crate::entity::channel_connection;

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

/// Re-encrypts channel credentials not under the newest key. Each row is updated only if it
/// still holds the value read, so a refresh running at the same time wins and is not undone.
pub async fn rotate_keys(db: &Db, cipher: &Cipher) -> Result<RotationReport, ConnectError> {
    let mut report = RotationReport::default();
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
