//! Where image bytes live: content-addressed objects in a local directory or an S3-compatible
//! bucket, behind `object_store`.
//!
//! An object's key is `<sha256>.<ext>` of its bytes, so equal bytes are one object, written
//! once, whichever organization uploads them; the database says who uses which key, and an
//! object is deleted when no row uses it any more (see [`super::delete_unreferenced`]). In the
//! store the key is fanned out as `ab/cd/<key>`, so a local directory never holds millions of
//! files in one folder.

use std::{path::Path as FsPath, sync::Arc};

use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt as _, PutOptions,
    aws::{AmazonS3Builder, AmazonS3ConfigKey},
    local::LocalFileSystem,
    memory::InMemory,
    path::Path,
    prefix::PrefixStore,
};

use super::{MediaError, process::Encoded, process::MediaType};
use crate::config::{Config, MediaStoreLocation};

/// What `/media/…` answers with, and what CDNs are told to keep: objects never change under
/// their key.
pub const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// The image storage and how its objects are addressed. Cheap to clone.
#[derive(Clone)]
pub struct MediaStore {
    objects: Arc<dyn ObjectStore>,
    cdn_base_url: Option<String>,
    quota_bytes: u64,
    /// Whether the backend keeps content type and cache policy with the object (S3 does, so a
    /// CDN pointed straight at the bucket serves them right; a local directory cannot).
    with_attributes: bool,
    description: String,
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaStore")
            .field("store", &self.description)
            .field("cdn_base_url", &self.cdn_base_url)
            .field("quota_bytes", &self.quota_bytes)
            .finish()
    }
}

/// A stored object as read back.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: MediaKey,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for StoredObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredObject")
            .field("key", &self.key.as_str())
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// A key of the exact shape `<64 lower-case hex digits>.<jpg|png|webp|gif>`: anything else
/// (path separators, `..`, upper case, other extensions) is no key at all, so a key taken from
/// a URL can never point outside the store.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MediaKey {
    key: String,
    media_type: MediaType,
}

impl MediaKey {
    pub fn parse(key: &str) -> Option<Self> {
        let (hash, extension) = key.split_once('.')?;
        if hash.len() != 64
            || !hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let media_type = MediaType::from_extension(extension)?;
        Some(Self {
            key: key.to_owned(),
            media_type,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// The SHA-256 of the object's bytes (hex): its `ETag`.
    pub fn sha256(&self) -> &str {
        &self.key[..64]
    }

    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    pub fn content_type(&self) -> &'static str {
        self.media_type.content_type()
    }

    fn location(&self) -> Path {
        Path::from(format!(
            "{}/{}/{}",
            &self.key[..2],
            &self.key[2..4],
            self.key
        ))
    }
}

impl MediaStore {
    /// A store over any `object_store` backend.
    pub fn new(
        objects: Arc<dyn ObjectStore>,
        cdn_base_url: Option<String>,
        quota_bytes: u64,
    ) -> Self {
        Self {
            description: objects.to_string(),
            objects,
            cdn_base_url: cdn_base_url.map(|url| url.trim_end_matches('/').to_owned()),
            quota_bytes,
            with_attributes: false,
        }
    }

    /// A store in a local directory, created when missing.
    pub fn local(
        dir: &FsPath,
        cdn_base_url: Option<String>,
        quota_bytes: u64,
    ) -> Result<Self, MediaError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| MediaError::StoreSetup(format!("cannot create {}: {e}", dir.display())))?;
        let objects = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self {
            description: format!("local directory {}", dir.display()),
            ..Self::new(Arc::new(objects), cdn_base_url, quota_bytes)
        })
    }

    /// A store in this process's memory (tests, tools).
    pub fn in_memory(cdn_base_url: Option<String>, quota_bytes: u64) -> Self {
        Self::new(Arc::new(InMemory::new()), cdn_base_url, quota_bytes)
    }

    /// The store the configuration names (`MEDIA_STORE`, `CDN_BASE_URL`, `MEDIA_QUOTA_MB`).
    pub fn from_config(config: &Config) -> Result<Self, MediaError> {
        let quota_bytes = config.media_quota_mb.saturating_mul(1024 * 1024);
        match &config.media_store {
            MediaStoreLocation::Local(dir) => {
                Self::local(dir, config.cdn_base_url.clone(), quota_bytes)
            }
            MediaStoreLocation::S3 {
                bucket,
                prefix,
                options,
            } => {
                // What `AmazonS3Builder::from_env` would do, from the configuration's copy of
                // the environment: every `AWS_*` variable the client knows. The bucket of
                // `MEDIA_STORE` wins over an `AWS_BUCKET` that may be set for other tools.
                let mut builder = AmazonS3Builder::new();
                for (name, value) in options {
                    if let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                        builder = builder.with_config(key, value.expose());
                    }
                }
                let s3 = builder.with_bucket_name(bucket).build()?;
                let (objects, description): (Arc<dyn ObjectStore>, String) = match prefix {
                    Some(prefix) => (
                        Arc::new(PrefixStore::new(s3, prefix.as_str())),
                        format!("s3://{bucket}/{prefix}"),
                    ),
                    None => (Arc::new(s3), format!("s3://{bucket}")),
                };
                Ok(Self {
                    description,
                    with_attributes: true,
                    ..Self::new(objects, config.cdn_base_url.clone(), quota_bytes)
                })
            }
        }
    }

    /// Where the objects are, for the start-up log (never credentials).
    pub fn describe(&self) -> &str {
        &self.description
    }

    pub fn cdn_base_url(&self) -> Option<&str> {
        self.cdn_base_url.as_deref()
    }

    /// How many bytes of images one organization may keep.
    pub fn quota_bytes(&self) -> u64 {
        self.quota_bytes
    }

    /// The URL of an object: on the CDN when one is configured, else the app's own
    /// `/media/<key>` (relative; see [`Self::absolute_url`] for marketplaces).
    pub fn url(&self, key: &str) -> String {
        match &self.cdn_base_url {
            Some(base) => format!("{base}/{key}"),
            None => format!("/media/{key}"),
        }
    }

    /// An absolute URL, as marketplaces need to fetch an image: the CDN's, or the app's
    /// public origin (`APP_BASE_URL`) plus `/media/<key>`.
    pub fn absolute_url(&self, key: &str, public_url: &str) -> String {
        match &self.cdn_base_url {
            Some(_) => self.url(key),
            None => format!("{}/media/{key}", public_url.trim_end_matches('/')),
        }
    }

    /// The object under `key`; `None` when the key has not the exact shape of a key or no
    /// such object exists.
    pub async fn get(&self, key: &str) -> Result<Option<StoredObject>, MediaError> {
        let Some(key) = MediaKey::parse(key) else {
            return Ok(None);
        };
        match self.objects.get(&key.location()).await {
            Ok(result) => Ok(Some(StoredObject {
                key,
                bytes: result.bytes().await?.into(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Whether an object exists under `key`.
    pub async fn contains(&self, key: &str) -> Result<bool, MediaError> {
        let Some(key) = MediaKey::parse(key) else {
            return Ok(false);
        };
        match self.objects.head(&key.location()).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(err) => Err(err.into()),
        }
    }

    /// Stores `object` unless an object is under its key already (equal bytes: nothing to
    /// write). Returns whether it wrote.
    pub(crate) async fn ensure(&self, object: &Encoded) -> Result<bool, MediaError> {
        let key = MediaKey::parse(&object.key()).expect("processed objects have valid keys");
        if self.contains(key.as_str()).await? {
            return Ok(false);
        }
        let mut options = PutOptions::default();
        if self.with_attributes {
            let mut attributes = Attributes::new();
            attributes.insert(
                Attribute::ContentType,
                AttributeValue::from(key.content_type()),
            );
            attributes.insert(Attribute::CacheControl, AttributeValue::from(CACHE_CONTROL));
            options.attributes = attributes;
        }
        self.objects
            .put_opts(&key.location(), object.bytes.clone().into(), options)
            .await?;
        Ok(true)
    }

    /// Deletes the object under `key`; a missing one is no error.
    pub(crate) async fn delete(&self, key: &str) -> Result<(), MediaError> {
        let Some(key) = MediaKey::parse(key) else {
            return Ok(());
        };
        match self.objects.delete(&key.location()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_keys_are_keys() {
        let hash = "ab".repeat(32);
        assert!(MediaKey::parse(&format!("{hash}.jpg")).is_some());
        assert!(MediaKey::parse(&format!("{hash}.webp")).is_some());
        for bad in [
            format!("{hash}.JPG"),
            format!("{hash}.svg"),
            format!("{hash}.jpg.php"),
            format!("{}.jpg", "AB".repeat(32)),
            format!("{}.jpg", &hash[..63]),
            format!("../{hash}.jpg"),
            format!("ab/cd/{hash}.jpg"),
            hash.clone(),
            "..".to_owned(),
            String::new(),
        ] {
            assert!(MediaKey::parse(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn an_s3_store_is_configured_from_the_environment_without_contacting_it() {
        use crate::config::{Vars, keys};
        let vars = Vars::from([
            ("ENCRYPTION_KEYS".to_owned(), keys::generate_entry("e")),
            ("SIGNING_KEYS".to_owned(), keys::generate_entry("s")),
            (
                "MEDIA_STORE".to_owned(),
                "s3://shop-media/images".to_owned(),
            ),
            ("MEDIA_QUOTA_MB".to_owned(), "2".to_owned()),
            ("AWS_ACCESS_KEY_ID".to_owned(), "minio".to_owned()),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                "canary-secret".to_owned(),
            ),
            (
                "AWS_ENDPOINT".to_owned(),
                "http://127.0.0.1:9000".to_owned(),
            ),
            ("AWS_ALLOW_HTTP".to_owned(), "true".to_owned()),
            ("AWS_BUCKET".to_owned(), "some-other-bucket".to_owned()),
        ]);
        let config = Config::from_vars(&vars).unwrap();
        let store = MediaStore::from_config(&config).unwrap();
        assert_eq!(store.describe(), "s3://shop-media/images");
        assert_eq!(store.quota_bytes(), 2 * 1024 * 1024);
        assert!(!format!("{store:?}").contains("canary-secret"));

        let mut without_prefix = vars.clone();
        without_prefix.insert("MEDIA_STORE".to_owned(), "s3://shop-media".to_owned());
        let store = MediaStore::from_config(&Config::from_vars(&without_prefix).unwrap()).unwrap();
        assert_eq!(store.objects.to_string(), "AmazonS3(shop-media)");
    }

    #[test]
    fn urls_point_at_the_app_or_the_cdn() {
        let key = format!("{}.png", "0f".repeat(32));
        let local = MediaStore::in_memory(None, 1);
        assert_eq!(local.url(&key), format!("/media/{key}"));
        assert_eq!(
            local.absolute_url(&key, "https://app.example.com/"),
            format!("https://app.example.com/media/{key}")
        );
        let cdn = MediaStore::in_memory(Some("https://cdn.example.com/m/".into()), 1);
        assert_eq!(cdn.url(&key), format!("https://cdn.example.com/m/{key}"));
        assert_eq!(
            cdn.absolute_url(&key, "https://app.example.com"),
            format!("https://cdn.example.com/m/{key}")
        );
    }
}
