//! What can go wrong in an account operation, split into what the user may be told (a field
//! error, an invalid link) and what only the log may see.

use shopmarkets_types::FieldError;

use super::password_hash::PasswordHashError;
use crate::{crypto::CryptoError, db::DbError};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// An input was refused; `field` names the form field it belongs to.
    #[error("{field}: {error}")]
    Field {
        field: &'static str,
        error: FieldError,
    },
    /// A link's token is unknown, used, expired or for something else. Deliberately one case.
    #[error("the link is invalid or has expired")]
    InvalidLink,
    /// The signed-in user's row is gone (deleted while the session lived).
    #[error("the account does not exist")]
    UnknownUser,
    #[error("two-factor authentication is already on")]
    TwoFactorAlreadyEnabled,
    #[error("two-factor authentication is not on")]
    TwoFactorNotEnabled,
    /// A code was sent to confirm an enrolment that was never started (or already finished).
    #[error("no two-factor enrolment is in progress")]
    NoPendingEnrolment,
    /// A stored secret did not decrypt: a key is missing from `ENCRYPTION_KEYS` or the row was
    /// changed. An operator's problem; the user sees a generic failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("the QR code could not be drawn: {0}")]
    QrCode(String),
    #[error(transparent)]
    Hash(#[from] PasswordHashError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl AccountError {
    pub fn field(field: &'static str, error: FieldError) -> Self {
        Self::Field { field, error }
    }
}

impl From<sea_orm::DbErr> for AccountError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Db(DbError::Query(err))
    }
}
