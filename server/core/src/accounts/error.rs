//! What can go wrong in an account operation, split into what the user may be told (a field
//! error, an invalid link) and what only the log may see.

use shopmarkets_types::FieldError;

use super::password_hash::PasswordHashError;
use crate::db::DbError;

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
