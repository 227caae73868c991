//! Encryption at rest for secrets the server must read back (TOTP secrets, later marketplace
//! credentials): AES-256-GCM under the configured key list (`ENCRYPTION_KEYS`).
//!
//! A stored value describes itself: `v1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>`. New
//! values are always encrypted with the newest key; the kid says which key opens an older one,
//! so a new key can be put in front of the list and old values re-encrypted later
//! ([`Cipher::needs_reencryption`], [`Cipher::reencrypt`]) before the old key is removed.
//!
//! Every value is bound to where it is stored by associated data the caller names
//! (`totp:<user_id>`): a ciphertext copied to another row or column does not decrypt. The
//! format version and the kid are authenticated too.
//!
//! Nonces are 96 random bits per message. With random nonces one key should not encrypt much
//! more than 2³² messages; rotating keys keeps every key far below that.
//!
//! Keys: the list holds at least 32 random bytes per key. The AES key is derived from them
//! with the one-step KDF of NIST SP 800-56C (`SHA-256(counter ‖ material ‖ label)`), which
//! takes material of any length to exactly 32 bytes and keeps these keys distinct from any
//! other use the same material might ever be put to.

use aes_gcm::{
    Aes256Gcm, KeyInit as _,
    aead::{Aead as _, Payload},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use sha2::{Digest as _, Sha256};

use crate::{config::KeyList, secret::Secret};

/// The format of values written today.
const FORMAT_VERSION: &str = "v1";
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;
/// The "FixedInfo" of the key derivation: names the product, the cipher and the format.
const KDF_LABEL: &[u8] = b"ShopMarkets encryption at rest: AES-256-GCM, format v1";
/// Key ids are at most this long in a key list; anything longer in a stored value is garbage.
const MAX_KID_LEN: usize = 32;

/// Why a stored value could not be decrypted. Says nothing about the plaintext or the keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("the stored value is not in a known encrypted format")]
    Malformed,
    /// The key was removed from `ENCRYPTION_KEYS` before the values under it were re-encrypted.
    #[error("the stored value was encrypted with key '{kid}', which is not configured")]
    UnknownKey { kid: String },
    /// The value was changed, belongs to another row (other associated data) or the key under
    /// its kid is not the key it was encrypted with.
    #[error("the stored value could not be decrypted")]
    Decrypt,
}

/// The configured keys, ready to encrypt (with the newest) and decrypt (with any).
pub struct Cipher {
    /// Newest first, as in the key list.
    keys: Vec<(String, Aes256Gcm)>,
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field(
                "kids",
                &self.keys.iter().map(|(kid, _)| kid).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Cipher {
    pub fn new(keys: &KeyList) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|key| {
                    let derived = derive_key(key.material());
                    (key.id().to_owned(), Aes256Gcm::new(&derived.into()))
                })
                .collect(),
        }
    }

    /// Encrypts with the newest key and a fresh random nonce; `aad` names the place the value
    /// is stored (`totp:<user_id>`) and must be given again to decrypt it.
    pub fn encrypt(&self, plaintext: &[u8], aad: &str) -> String {
        // A key list is never empty (`KeyList::parse` refuses that).
        let (kid, cipher) = &self.keys[0];
        let mut nonce = [0u8; NONCE_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
        let associated = associated_data(kid, aad);
        let sealed = cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad: associated.as_bytes(),
                },
            )
            .expect("AES-GCM encrypts any message shorter than 64 GiB");
        let mut body = Vec::with_capacity(NONCE_BYTES + sealed.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&sealed);
        format!("{FORMAT_VERSION}.{kid}.{}", URL_SAFE_NO_PAD.encode(body))
    }

    /// Decrypts a value written by [`Cipher::encrypt`] with the same `aad`. Any change to the
    /// value, another `aad` or a key that is not configured is an error, never a panic.
    pub fn decrypt(&self, stored: &str, aad: &str) -> Result<Secret<Vec<u8>>, CryptoError> {
        let (kid, encoded) = parse(stored).ok_or(CryptoError::Malformed)?;
        let body = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CryptoError::Malformed)?;
        if body.len() < NONCE_BYTES + TAG_BYTES {
            return Err(CryptoError::Malformed);
        }
        let (_, cipher) =
            self.keys
                .iter()
                .find(|(id, _)| id == kid)
                .ok_or_else(|| CryptoError::UnknownKey {
                    kid: kid.to_owned(),
                })?;
        let (nonce, sealed) = body.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        let associated = associated_data(kid, aad);
        cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: sealed,
                    aad: associated.as_bytes(),
                },
            )
            .map(Secret::new)
            .map_err(|_| CryptoError::Decrypt)
    }

    /// Whether a stored value is under an older key than the newest (or not in today's format
    /// at all, so that a re-encryption run tries it and reports what is wrong with it).
    pub fn needs_reencryption(&self, stored: &str) -> bool {
        parse(stored).is_none_or(|(kid, _)| kid != self.keys[0].0)
    }

    /// Decrypts a value and encrypts it again under the newest key, for key rotation.
    pub fn reencrypt(&self, stored: &str, aad: &str) -> Result<String, CryptoError> {
        let plaintext = self.decrypt(stored, aad)?;
        Ok(self.encrypt(plaintext.expose(), aad))
    }
}

/// Splits `v1.<kid>.<body>`; `None` for any other shape.
fn parse(stored: &str) -> Option<(&str, &str)> {
    let mut parts = stored.splitn(3, '.');
    let (version, kid, body) = (parts.next()?, parts.next()?, parts.next()?);
    let kid_ok = !kid.is_empty()
        && kid.len() <= MAX_KID_LEN
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    (version == FORMAT_VERSION && kid_ok && !body.is_empty()).then_some((kid, body))
}

/// What is authenticated besides the message: the format, the key id and the caller's place.
/// Key ids contain no `.`, so the parts cannot run into each other.
fn associated_data(kid: &str, aad: &str) -> String {
    format!("{FORMAT_VERSION}.{kid}.{aad}")
}

/// NIST SP 800-56C rev. 2 one-step key derivation with SHA-256, one block (counter 1).
fn derive_key(material: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(1u32.to_be_bytes());
    hasher.update(material);
    hasher.update(KDF_LABEL);
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys;

    fn list(entries: &[&str]) -> KeyList {
        KeyList::parse(&entries.join(",")).unwrap()
    }

    fn cipher() -> Cipher {
        Cipher::new(&list(&[&keys::generate_entry("k1")]))
    }

    #[test]
    fn a_value_round_trips_and_names_its_key() {
        let cipher = cipher();
        let stored = cipher.encrypt(b"JBSWY3DPEHPK3PXP secret bytes", "totp:42");
        assert!(stored.starts_with("v1.k1."), "{stored}");
        assert!(!stored.contains("JBSWY3DP"));
        let plain = cipher.decrypt(&stored, "totp:42").unwrap();
        assert_eq!(plain.expose(), b"JBSWY3DPEHPK3PXP secret bytes");
        assert!(!cipher.needs_reencryption(&stored));
        // The empty message is a message too.
        let empty = cipher.encrypt(b"", "x");
        assert_eq!(cipher.decrypt(&empty, "x").unwrap().expose(), b"");
    }

    #[test]
    fn other_associated_data_does_not_decrypt() {
        let cipher = cipher();
        let stored = cipher.encrypt(b"secret", "totp:42");
        assert_eq!(
            cipher.decrypt(&stored, "totp:43"),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(cipher.decrypt(&stored, ""), Err(CryptoError::Decrypt));
    }

    #[test]
    fn any_flipped_byte_is_refused() {
        let cipher = cipher();
        let stored = cipher.encrypt(b"secret", "totp:42");
        let (prefix, encoded) = stored.rsplit_once('.').unwrap();
        let body = URL_SAFE_NO_PAD.decode(encoded).unwrap();
        for index in 0..body.len() {
            let mut tampered = body.clone();
            tampered[index] ^= 0x01;
            let tampered = format!("{prefix}.{}", URL_SAFE_NO_PAD.encode(tampered));
            assert_eq!(
                cipher.decrypt(&tampered, "totp:42"),
                Err(CryptoError::Decrypt),
                "byte {index}"
            );
        }
        let truncated = format!(
            "{prefix}.{}",
            URL_SAFE_NO_PAD.encode(&body[..body.len() - 1])
        );
        assert_eq!(
            cipher.decrypt(&truncated, "totp:42"),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let cipher = cipher();
        for garbage in [
            "",
            "v1",
            "v1.k1",
            "v1.k1.",
            "v2.k1.AAAA",
            "v1..AAAA",
            "v1.k1.!!!not base64!!!",
            "v1.k1.AAAA",
            "v1.bad kid.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
        ] {
            assert_eq!(
                cipher.decrypt(garbage, "a"),
                Err(CryptoError::Malformed),
                "{garbage:?}"
            );
            // Only the header is read here; a broken body shows when the value is decrypted.
            if !garbage.starts_with("v1.k1.") {
                assert!(cipher.needs_reencryption(garbage), "{garbage:?}");
            }
        }
    }

    #[test]
    fn a_key_that_is_not_configured_is_named() {
        let stored = Cipher::new(&list(&[&keys::generate_entry("gone")])).encrypt(b"s", "a");
        assert_eq!(
            cipher().decrypt(&stored, "a"),
            Err(CryptoError::UnknownKey { kid: "gone".into() })
        );
        // Same kid, other key material: refused, not misread.
        let impostor = stored.replacen("v1.gone.", "v1.k1.", 1);
        assert_eq!(cipher().decrypt(&impostor, "a"), Err(CryptoError::Decrypt));
    }

    #[test]
    fn rotation_keeps_old_values_readable_until_reencrypted() {
        let old = keys::generate_entry("old");
        let new = keys::generate_entry("new");
        let before = Cipher::new(&list(&[&old]));
        let stored = before.encrypt(b"rotated secret", "totp:7");

        let after = Cipher::new(&list(&[&new, &old]));
        assert_eq!(
            after.decrypt(&stored, "totp:7").unwrap().expose(),
            b"rotated secret"
        );
        assert!(after.needs_reencryption(&stored));

        let again = after.reencrypt(&stored, "totp:7").unwrap();
        assert!(again.starts_with("v1.new."), "{again}");
        assert!(!after.needs_reencryption(&again));
        assert_eq!(
            after.decrypt(&again, "totp:7").unwrap().expose(),
            b"rotated secret"
        );
        // Once the old key is gone, only the re-encrypted value still opens.
        let only_new = Cipher::new(&list(&[&new]));
        assert!(only_new.decrypt(&again, "totp:7").is_ok());
        assert_eq!(
            only_new.decrypt(&stored, "totp:7"),
            Err(CryptoError::UnknownKey { kid: "old".into() })
        );
    }

    #[test]
    fn every_encryption_uses_a_fresh_nonce() {
        let cipher = cipher();
        let a = cipher.encrypt(b"same plaintext", "same:place");
        let b = cipher.encrypt(b"same plaintext", "same:place");
        assert_ne!(a, b);
        let nonce = |s: &str| {
            URL_SAFE_NO_PAD
                .decode(s.rsplit('.').next().unwrap())
                .unwrap()[..NONCE_BYTES]
                .to_vec()
        };
        assert_ne!(nonce(&a), nonce(&b));
    }

    #[test]
    fn keys_are_derived_to_32_bytes_from_longer_material() {
        let long = format!(
            "long:{}",
            base64::engine::general_purpose::STANDARD.encode([9u8; 64])
        );
        let cipher = Cipher::new(&list(&[&long]));
        let stored = cipher.encrypt(b"s", "a");
        assert_eq!(cipher.decrypt(&stored, "a").unwrap().expose(), b"s");
        assert_ne!(derive_key(&[9u8; 64]), derive_key(&[9u8; 32]));
    }

    #[test]
    fn debug_shows_key_ids_only() {
        let entry = keys::generate_entry("visible-kid");
        let material = entry.split_once(':').unwrap().1.to_owned();
        let debug = format!("{:?}", Cipher::new(&list(&[&entry])));
        assert!(debug.contains("visible-kid"), "{debug}");
        assert!(!debug.contains(&material), "{debug}");
        assert!(!debug.contains("Aes"), "{debug}");
    }
}
