//! Password hashes: argon2id with m=19456 KiB, t=2, p=1 (OWASP's recommendation, RustCrypto's
//! defaults), computed on a blocking thread so a login never stalls the async workers.
//!
//! Verifying against a missing account still runs one full verification against a dummy hash,
//! so "no such user" and "wrong password" take the same time.

use std::sync::OnceLock;

use argon2::{
    Algorithm, Argon2, Params, Version,
    password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash},
};

use crate::secret::Secret;

/// The PHC prefix every hash we write starts with.
pub const HASH_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

/// Why a hash could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PasswordHashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("password hashing was interrupted")]
    Interrupted,
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// At most one argon2 run per core at a time: each takes 19 MiB and a core for tens of
/// milliseconds, so a flood of sign-ins queues here instead of starting hundreds of blocking
/// threads and exhausting memory.
async fn hashing_permit() -> Option<tokio::sync::SemaphorePermit<'static>> {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, usize::from);
            tokio::sync::Semaphore::new(cores.max(2))
        })
        .acquire()
        .await
        .ok()
}

/// Hashes a password with a fresh random salt.
pub async fn hash(password: Secret<String>) -> Result<String, PasswordHashError> {
    let _permit = hashing_permit().await;
    tokio::task::spawn_blocking(move || hash_blocking(password.expose()))
        .await
        .map_err(|_| PasswordHashError::Interrupted)?
}

fn hash_blocking(password: &str) -> Result<String, PasswordHashError> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordHashError::Hash(e.to_string()))
}

/// Checks a password against a stored hash; `None` (no such account) burns the same time
/// against a dummy hash and answers `false`.
pub async fn verify(password: Secret<String>, stored: Option<String>) -> bool {
    let _permit = hashing_permit().await;
    tokio::task::spawn_blocking(move || {
        let stored = stored.as_deref().unwrap_or_else(|| dummy_hash());
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        argon2()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok()
            && !stored.eq(dummy_hash())
    })
    .await
    .unwrap_or(false)
}

/// Whether a stored hash uses weaker parameters than today's and should be re-hashed at the
/// next successful login.
pub fn needs_rehash(stored: &str) -> bool {
    !stored.starts_with(HASH_PREFIX)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        // A hash of random bytes no one knows; computed once per process.
        let mut random = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut random);
        hash_blocking(&base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            random,
        ))
        .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret<String> {
        Secret::new(s.to_owned())
    }

    #[tokio::test]
    async fn hashes_use_argon2id_with_the_owasp_parameters() {
        let stored = hash(secret("correct horse battery staple")).await.unwrap();
        assert!(stored.starts_with(HASH_PREFIX), "{stored}");
        assert!(!needs_rehash(&stored));
        assert!(verify(secret("correct horse battery staple"), Some(stored.clone())).await);
        assert!(!verify(secret("correct horse battery stapl"), Some(stored.clone())).await);
        assert!(!verify(secret("Correct horse battery staple"), Some(stored)).await);
    }

    #[tokio::test]
    async fn the_same_password_gets_a_different_salt_each_time() {
        let a = hash(secret("same password here")).await.unwrap();
        let b = hash(secret("same password here")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn unicode_is_hashed_as_given_without_trimming() {
        let with_spaces = "  pässwörd mit Leerzeichen 🔐  ";
        let stored = hash(secret(with_spaces)).await.unwrap();
        assert!(verify(secret(with_spaces), Some(stored.clone())).await);
        assert!(!verify(secret(with_spaces.trim()), Some(stored)).await);
    }

    #[tokio::test]
    async fn unknown_accounts_and_garbage_hashes_never_verify() {
        assert!(!verify(secret("anything at all"), None).await);
        assert!(!verify(secret("anything at all"), Some("not a hash".into())).await);
        assert!(needs_rehash("$argon2id$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA"));
    }
}
