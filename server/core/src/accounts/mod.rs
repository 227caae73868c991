//! Accounts and their security primitives: password hashing, the common-password list and
//! TOTP second factors. The services built on them (registration, login, sessions) use these
//! and nothing else for credentials.

pub mod common_passwords;
mod error;
pub mod login;
pub mod password;
pub mod password_hash;
pub mod registration;
pub mod throttle;
pub mod tokens;
pub mod totp;
pub mod two_factor;

pub use error::AccountError;
