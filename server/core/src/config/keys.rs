//! Key lists with ids: `NAME=kid:base64,kid:base64`, newest first.
//!
//! The first key signs or encrypts; every key verifies or decrypts, so a new key can be put in
//! front and the old one removed later without downtime.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use rand::RngCore as _;
use std::fmt;

use crate::secret::Secret;

/// The shortest key we accept. All keys in the product are symmetric (AEAD, HMAC), where 256
/// bits is the modern floor.
pub const MIN_KEY_BYTES: usize = 32;
const MAX_KEY_ID_LEN: usize = 32;
const MAX_KEYS: usize = 16;

/// One key and its id. The id is stored beside every ciphertext or put in a token header so
/// the right key can be found again.
#[derive(Clone)]
pub struct Key {
    id: String,
    material: Secret<Vec<u8>>,
}

impl Key {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key bytes, for the cipher or MAC that uses them.
    pub fn material(&self) -> &[u8] {
        self.material.expose()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({}: [redacted])", self.id)
    }
}

/// A non-empty, ordered list of keys, newest first.
#[derive(Clone, Debug)]
pub struct KeyList {
    keys: Vec<Key>,
}

/// Why a key list was refused. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyListError {
    #[error("is empty")]
    Empty,
    #[error("has more than {MAX_KEYS} keys")]
    TooMany,
    #[error("entry {position} is not of the form kid:base64")]
    Malformed { position: usize },
    #[error("entry {position} has an invalid key id (1–{MAX_KEY_ID_LEN} of A–Z a–z 0–9 _ -)")]
    BadId { position: usize },
    #[error("key id '{id}' appears twice")]
    DuplicateId { id: String },
    #[error("key '{id}' is not valid base64")]
    NotBase64 { id: String },
    #[error("key '{id}' is {len} bytes; at least {MIN_KEY_BYTES} are required")]
    TooShort { id: String, len: usize },
}

impl KeyList {
    /// Parses `kid:base64,kid:base64`. Whitespace around entries is ignored.
    pub fn parse(value: &str) -> Result<Self, KeyListError> {
        let entries: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if entries.is_empty() {
            return Err(KeyListError::Empty);
        }
        if entries.len() > MAX_KEYS {
            return Err(KeyListError::TooMany);
        }
        let mut keys: Vec<Key> = Vec::with_capacity(entries.len());
        for (index, entry) in entries.into_iter().enumerate() {
            let position = index + 1;
            let (id, encoded) = entry
                .split_once(':')
                .ok_or(KeyListError::Malformed { position })?;
            if !is_valid_key_id(id) {
                return Err(KeyListError::BadId { position });
            }
            if keys.iter().any(|k| k.id == id) {
                return Err(KeyListError::DuplicateId { id: id.to_owned() });
            }
            let material = STANDARD
                .decode(encoded.trim())
                .map_err(|_| KeyListError::NotBase64 { id: id.to_owned() })?;
            if material.len() < MIN_KEY_BYTES {
                return Err(KeyListError::TooShort {
                    id: id.to_owned(),
                    len: material.len(),
                });
            }
            keys.push(Key {
                id: id.to_owned(),
                material: Secret::new(material),
            });
        }
        Ok(Self { keys })
    }

    /// The key that signs or encrypts new data.
    pub fn current(&self) -> &Key {
        // `parse` guarantees at least one key.
        &self.keys[0]
    }

    /// Finds the key for a stored key id, for verifying or decrypting.
    pub fn get(&self, id: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// All keys, newest first.
    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn is_valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEY_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A new random key list entry (`kid:base64` of 32 random bytes), as printed by
/// `shopmarkets keys generate` and written into the development secrets file.
pub fn generate_entry(id: &str) -> String {
    let mut bytes = [0u8; MIN_KEY_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{id}:{}", STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(len: usize, fill: u8) -> String {
        STANDARD.encode(vec![fill; len])
    }

    #[test]
    fn newest_first_and_all_ids_findable() {
        let list = KeyList::parse(&format!("k2:{}, k1:{}", b64(32, 2), b64(48, 1))).unwrap();
        assert_eq!(list.current().id(), "k2");
        assert_eq!(list.current().material(), &[2u8; 32]);
        assert_eq!(list.get("k1").unwrap().material().len(), 48);
        assert!(list.get("k3").is_none());
        assert_eq!(list.iter().map(Key::id).collect::<Vec<_>>(), ["k2", "k1"]);
    }

    #[test]
    fn short_keys_are_refused_and_named_by_id_only() {
        let err = KeyList::parse(&format!("old:{}", b64(16, 7))).unwrap_err();
        assert_eq!(
            err,
            KeyListError::TooShort {
                id: "old".into(),
                len: 16
            }
        );
        assert!(!err.to_string().contains(&b64(16, 7)));
    }

    #[test]
    fn malformed_lists_are_refused() {
        let refused = |value: &str| KeyList::parse(value).unwrap_err();
        assert_eq!(refused(""), KeyListError::Empty);
        assert_eq!(refused(" , "), KeyListError::Empty);
        assert_eq!(refused("no-colon"), KeyListError::Malformed { position: 1 });
        assert_eq!(
            refused(&format!("a:{},bad id:{}", b64(32, 1), b64(32, 1))),
            KeyListError::BadId { position: 2 }
        );
        assert_eq!(
            refused(&format!("a:{},a:{}", b64(32, 1), b64(32, 2))),
            KeyListError::DuplicateId { id: "a".into() }
        );
        assert_eq!(
            refused("a:!!!not-base64!!!"),
            KeyListError::NotBase64 { id: "a".into() }
        );
    }

    #[test]
    fn debug_output_shows_ids_but_no_material() {
        let list = KeyList::parse(&format!("k1:{}", b64(32, 0xAB))).unwrap();
        let debug = format!("{list:?}");
        assert!(debug.contains("k1"));
        assert!(!debug.contains(&b64(32, 0xAB)));
        assert!(
            !debug.contains("171"),
            "raw bytes must not be printed: {debug}"
        );
    }

    #[test]
    fn generated_entries_parse() {
        let list = KeyList::parse(&generate_entry("fresh")).unwrap();
        assert_eq!(list.current().id(), "fresh");
        assert_eq!(list.current().material().len(), MIN_KEY_BYTES);
        assert_ne!(generate_entry("x"), generate_entry("x"));
    }
}
