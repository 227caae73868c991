//! Product images: uploads checked and cleaned ([`process`]), stored by content hash
//! ([`MediaStore`]) and attached to products and variants (this module).
//!
//! Rules every function here keeps (see also `docs/media.md`):
//! - An upload's type comes from its bytes; only JPEG, PNG, WebP and GIF are accepted, at most
//!   [`MAX_UPLOAD_BYTES`] and [`MAX_PIXELS`] (checked from the header, before decoding).
//! - Nothing stored carries EXIF, XMP, GPS or text metadata, the kept original included.
//! - Everything goes through a [`Scope`]: another organization's product, variant or image is
//!   [`AccessError::NotFound`]; reading needs [`Permission::ViewCatalog`], changing
//!   [`Permission::EditCatalog`]. Every change writes its `sync_outbox` row (entity `image`).
//! - Objects are shared by hash across organizations, but each organization's quota counts
//!   its own uploads. An object is deleted from the store once no `media_objects` row of any
//!   organization uses it; rows nobody shows are removed by [`delete_unreferenced`].
//! - Store writes and deletes happen inside the database transaction that references or
//!   dereferences them, under a lock per object key (PostgreSQL advisory locks; SQLite has one
//!   writer), so an upload and a sweep of the same content never cross: a committed row never
//!   points at a deleted object.

mod process;
mod store;
mod strip;

pub use process::{
    Encoded, MAX_PIXELS, MAX_SIDE, MAX_UPLOAD_BYTES, MediaType, Processed, Size, process,
    process_async,
};
pub use store::{CACHE_CONTROL, MediaKey, MediaStore, StoredObject};

use std::{collections::BTreeSet, net::IpAddr};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbBackend,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::json;
use shopmarkets_types::FieldError;
use uuid::Uuid;

use crate::{
    access::{AccessError, OrganizationScoped, Permission, Scope},
    audit::{self, AuditAction, NewAuditEvent},
    catalog::CatalogError,
    db::{Db, DbError, begin_write},
    entity::{media_object, product, product_image, variant},
};

/// The outbox entity of product images.
const OUTBOX_ENTITY: &str = "image";
/// The longest alt text (characters).
pub const MAX_ALT_TEXT: usize = 250;
/// Unreferenced objects removed per sweep round.
const SWEEP_BATCH: u64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(transparent)]
    Access(#[from] AccessError),
    /// An input was refused; `field` names the form field.
    #[error("{field}: {error}")]
    Field { field: String, error: FieldError },
    /// The upload is larger than [`MAX_UPLOAD_BYTES`] (refused before anything else).
    #[error("the file is larger than {max} bytes")]
    TooLarge { max: usize },
    /// Not a JPEG, PNG, WebP or GIF by its content, whatever its name says.
    #[error("not a JPEG, PNG, WebP or GIF image")]
    UnsupportedType,
    /// The header declares more pixels than accepted (a decompression bomb, or just too big).
    #[error("the image is {width} × {height} pixels, more than accepted")]
    TooManyPixels { width: u32, height: u32 },
    /// The type is right but the file is broken.
    #[error("the image cannot be read: {0}")]
    Undecodable(String),
    /// The organization's image storage is full; nothing was stored.
    #[error("image storage full: {used} of {quota} bytes used, this image needs {needed}")]
    QuotaExceeded { used: u64, quota: u64, needed: u64 },
    /// A new order must list exactly the product's images, each once.
    #[error("the order must list each of the product's images exactly once")]
    NotTheProductsImages,
    #[error("media store: {0}")]
    Store(#[from] object_store::Error),
    #[error("media store: {0}")]
    StoreSetup(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sea_orm::DbErr> for MediaError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Db(DbError::Query(err))
    }
}

impl From<CatalogError> for MediaError {
    fn from(err: CatalogError) -> Self {
        match err {
            CatalogError::Access(err) => Self::Access(err),
            CatalogError::Db(err) => Self::Db(err),
            CatalogError::Field { field, error } => Self::Field { field, error },
            other => Self::Db(DbError::Query(sea_orm::DbErr::Custom(other.to_string()))),
        }
    }
}

/// Where each size of an image is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUrls {
    pub original: String,
    pub thumbnail: String,
    pub medium: String,
    pub large: String,
}

/// A product image as read, with its object's facts and URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductImage {
    pub id: Uuid,
    pub product_id: Uuid,
    pub variant_id: Option<Uuid>,
    pub position: i32,
    pub alt_text: Option<String>,
    pub version: i64,
    pub media_object_id: Uuid,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    /// Original and derivatives together (what counts against the quota).
    pub byte_size: u64,
    pub original_key: String,
    pub urls: ImageUrls,
    pub created_at: DateTime<Utc>,
}

impl ProductImage {
    fn new(image: product_image::Model, object: &media_object::Model, store: &MediaStore) -> Self {
        Self {
            id: image.id,
            product_id: image.product_id,
            variant_id: image.variant_id,
            position: image.position,
            alt_text: image.alt_text,
            version: image.version,
            media_object_id: object.id,
            content_type: object.content_type.clone(),
            width: object.width as u32,
            height: object.height as u32,
            byte_size: object.byte_size as u64,
            original_key: object.original_key.clone(),
            urls: ImageUrls {
                original: store.url(&object.original_key),
                thumbnail: store.url(&object.thumbnail_key),
                medium: store.url(&object.medium_key),
                large: store.url(&object.large_key),
            },
            created_at: image.created_at,
        }
    }
}

/// An organization's image storage: used and allowed, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaUsage {
    pub used_bytes: u64,
    pub quota_bytes: u64,
}

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sweep {
    /// `media_objects` rows no image showed any more.
    pub rows: u64,
    /// Stored objects no row of any organization used any more.
    pub objects: u64,
}

/// Processes `bytes` and attaches the image to a product (or one of its variants) as its last
/// image. Refused before anything is stored when the organization's quota would be exceeded.
/// The same file uploaded again in the organization reuses its object (and costs no quota).
#[allow(clippy::too_many_arguments)]
pub async fn attach_image(
    db: &Db,
    store: &MediaStore,
    scope: &Scope,
    product_id: Uuid,
    variant_id: Option<Uuid>,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<ProductImage, MediaError> {
    scope.require(Permission::EditCatalog)?;
    // The product first: an unknown product is NotFound before any CPU is spent on the file.
    check_target(db, scope, product_id, variant_id).await?;
    let processed = process_async(bytes).await?;
    let needed = processed.byte_size();
    let sha256 = processed.original.sha256.clone();

    // A cheap refusal before the transaction; the check inside it is the one that counts.
    if existing_object(db, scope, &sha256).await?.is_none() {
        check_quota(db, store, scope, needed).await?;
    }

    let txn = begin_write(db).await?;
    lock_quota(&txn, scope).await?;
    let keys: BTreeSet<String> = processed.objects().iter().map(|o| o.key()).collect();
    lock_keys(&txn, &keys).await?;
    check_target(&txn, scope, product_id, variant_id).await?;

    let (object, reused) = match existing_object(&txn, scope, &sha256).await? {
        Some(object) => (object, true),
        None => {
            check_quota(&txn, store, scope, needed).await?;
            let object = media_object::ActiveModel {
                id: Set(Uuid::new_v4()),
                organization_id: Set(scope.organization_id()),
                sha256: Set(sha256.clone()),
                content_type: Set(processed.original.media_type.content_type().to_owned()),
                byte_size: Set(needed as i64),
                width: Set(processed.original.width as i32),
                height: Set(processed.original.height as i32),
                original_key: Set(processed.original.key()),
                thumbnail_key: Set(processed.thumbnail.key()),
                medium_key: Set(processed.medium.key()),
                large_key: Set(processed.large.key()),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
            (object, false)
        }
    };
    // Written (or found present) while the keys are locked and before the commit, so no sweep
    // can delete them in between and no committed row points at a missing object. Objects of
    // a reused row are checked too: a sweep whose commit failed may have deleted them.
    for encoded in processed.objects() {
        store.ensure(encoded).await?;
    }

    let last = product_image::Entity::find_in(scope)
        .filter(product_image::Column::ProductId.eq(product_id))
        .order_by_desc(product_image::Column::Position)
        .one(&txn)
        .await?;
    let image = product_image::ActiveModel {
        id: Set(Uuid::new_v4()),
        organization_id: Set(scope.organization_id()),
        product_id: Set(product_id),
        variant_id: Set(variant_id),
        media_object_id: Set(object.id),
        position: Set(last.map_or(0, |l| l.position + 1)),
        alt_text: Set(None),
        version: Set(1),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    crate::catalog::outbox(
        &txn,
        scope,
        OUTBOX_ENTITY,
        image.id,
        product_id,
        "created",
        image.version,
        now,
    )
    .await?;
    audit::record_in(
        &txn,
        NewAuditEvent::in_scope(
            scope,
            AuditAction::MediaAdded,
            ip,
            json!({
                "product_id": product_id,
                "variant_id": variant_id,
                "image_id": image.id,
                "sha256": object.sha256,
                "content_type": object.content_type,
                "bytes": object.byte_size,
                "reused": reused,
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(ProductImage::new(image, &object, store))
}

/// A product's images in order, with the URLs of every size.
pub async fn list_images(
    db: &Db,
    store: &MediaStore,
    scope: &Scope,
    product_id: Uuid,
) -> Result<Vec<ProductImage>, MediaError> {
    scope.require(Permission::ViewCatalog)?;
    product::Entity::find_by_id_in(scope, product_id)
        .one(db)
        .await?
        .ok_or(AccessError::NotFound)?;
    let images = product_image::Entity::find_in(scope)
        .filter(product_image::Column::ProductId.eq(product_id))
        .order_by_asc(product_image::Column::Position)
        .order_by_asc(product_image::Column::CreatedAt)
        .all(db)
        .await?;
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let object_ids: BTreeSet<Uuid> = images.iter().map(|i| i.media_object_id).collect();
    let objects = media_object::Entity::find_in(scope)
        .filter(media_object::Column::Id.is_in(object_ids))
        .all(db)
        .await?;
    images
        .into_iter()
        .map(|image| {
            let object = objects
                .iter()
                .find(|o| o.id == image.media_object_id)
                .ok_or_else(|| {
                    MediaError::Db(DbError::Query(sea_orm::DbErr::RecordNotFound(
                        "media object of a product image".into(),
                    )))
                })?;
            Ok(ProductImage::new(image, object, store))
        })
        .collect()
}

/// Puts the product's images in the given order (which must list each of them exactly once).
/// Images whose position changes get a new version and an outbox row.
pub async fn reorder_images(
    db: &Db,
    scope: &Scope,
    product_id: Uuid,
    ordered_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<(), MediaError> {
    scope.require(Permission::EditCatalog)?;
    let txn = begin_write(db).await?;
    product::Entity::find_by_id_in(scope, product_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    let images = product_image::Entity::find_in(scope)
        .filter(product_image::Column::ProductId.eq(product_id))
        .all(&txn)
        .await?;
    let current: BTreeSet<Uuid> = images.iter().map(|i| i.id).collect();
    let wanted: BTreeSet<Uuid> = ordered_ids.iter().copied().collect();
    if wanted.len() != ordered_ids.len() || wanted != current {
        return Err(MediaError::NotTheProductsImages);
    }
    for (position, id) in ordered_ids.iter().enumerate() {
        let image = images.iter().find(|i| i.id == *id).expect("checked above");
        if image.position == position as i32 {
            continue;
        }
        let version = bump(
            &txn,
            scope,
            image,
            product_image::Column::Position,
            Expr::value(position as i32),
        )
        .await?;
        crate::catalog::outbox(
            &txn,
            scope,
            OUTBOX_ENTITY,
            image.id,
            product_id,
            "updated",
            version,
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Moves an image to one of its product's variants, or (with `None`) back to the product.
pub async fn assign_variant(
    db: &Db,
    scope: &Scope,
    image_id: Uuid,
    variant_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), MediaError> {
    scope.require(Permission::EditCatalog)?;
    let txn = begin_write(db).await?;
    let image = product_image::Entity::find_by_id_in(scope, image_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    check_target(&txn, scope, image.product_id, variant_id).await?;
    if image.variant_id == variant_id {
        return Ok(());
    }
    let version = bump(
        &txn,
        scope,
        &image,
        product_image::Column::VariantId,
        Expr::value(variant_id),
    )
    .await?;
    crate::catalog::outbox(
        &txn,
        scope,
        OUTBOX_ENTITY,
        image.id,
        image.product_id,
        "updated",
        version,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Sets (or, with nothing but spaces, clears) an image's alternative text: what screen readers
/// say and marketplaces show when the image cannot be loaded.
pub async fn set_alt_text(
    db: &Db,
    scope: &Scope,
    image_id: Uuid,
    alt_text: &str,
    now: DateTime<Utc>,
) -> Result<(), MediaError> {
    scope.require(Permission::EditCatalog)?;
    let alt_text = alt_text.trim();
    let field = |error| MediaError::Field {
        field: "alt_text".into(),
        error,
    };
    if alt_text.chars().nth(MAX_ALT_TEXT).is_some() {
        return Err(field(FieldError::TooLong { max: MAX_ALT_TEXT }));
    }
    if alt_text.chars().any(char::is_control) {
        return Err(field(FieldError::ControlCharacters));
    }
    let alt_text = (!alt_text.is_empty()).then(|| alt_text.to_owned());
    let txn = begin_write(db).await?;
    let image = product_image::Entity::find_by_id_in(scope, image_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    if image.alt_text == alt_text {
        return Ok(());
    }
    let version = bump(
        &txn,
        scope,
        &image,
        product_image::Column::AltText,
        Expr::value(alt_text),
    )
    .await?;
    crate::catalog::outbox(
        &txn,
        scope,
        OUTBOX_ENTITY,
        image.id,
        image.product_id,
        "updated",
        version,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Removes an image from its product. When no other image (of any product of the
/// organization) shows its object any more, the object's row goes, and the stored files go
/// once no organization uses them.
pub async fn remove_image(
    db: &Db,
    store: &MediaStore,
    scope: &Scope,
    image_id: Uuid,
    now: DateTime<Utc>,
    ip: Option<IpAddr>,
) -> Result<(), MediaError> {
    scope.require(Permission::EditCatalog)?;
    let txn = begin_write(db).await?;
    let image = product_image::Entity::find_by_id_in(scope, image_id)
        .one(&txn)
        .await?
        .ok_or(AccessError::NotFound)?;
    product_image::Entity::delete_by_id(image.id)
        .exec(&txn)
        .await?;
    crate::catalog::outbox(
        &txn,
        scope,
        OUTBOX_ENTITY,
        image.id,
        image.product_id,
        "deleted",
        image.version + 1,
        now,
    )
    .await?;
    audit::record_in(
        &txn,
        NewAuditEvent::in_scope(
            scope,
            AuditAction::MediaRemoved,
            ip,
            json!({
                "product_id": image.product_id,
                "variant_id": image.variant_id,
                "image_id": image.id,
                "media_object_id": image.media_object_id,
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    // The image is gone either way; a failed clean-up is retried by the periodic sweep.
    if let Err(err) = sweep(db, store, Some(image.media_object_id)).await {
        tracing::warn!(error = %err, "removing an unreferenced image object failed; the sweep retries");
    }
    Ok(())
}

/// How much image storage the organization uses, and may use.
pub async fn usage(db: &Db, store: &MediaStore, scope: &Scope) -> Result<MediaUsage, MediaError> {
    scope.require(Permission::ViewCatalog)?;
    Ok(MediaUsage {
        used_bytes: used_bytes(db, scope).await?,
        quota_bytes: store.quota_bytes(),
    })
}

/// Deletes every `media_objects` row no product image shows (after a product was deleted,
/// say), and every stored object no remaining row of any organization uses. For a periodic
/// job and after product deletion; safe to run at any time, on any instance.
pub async fn delete_unreferenced(db: &Db, store: &MediaStore) -> Result<Sweep, MediaError> {
    let mut total = Sweep::default();
    loop {
        let round = sweep(db, store, None).await?;
        total.rows += round.rows;
        total.objects += round.objects;
        if round.rows < SWEEP_BATCH {
            return Ok(total);
        }
    }
}

/// One round of the sweep, limited to one object when `only` is given.
async fn sweep(db: &Db, store: &MediaStore, only: Option<Uuid>) -> Result<Sweep, MediaError> {
    let unreferenced = || {
        media_object::Column::Id.not_in_subquery(
            Query::select()
                .column(product_image::Column::MediaObjectId)
                .from(product_image::Entity)
                .to_owned(),
        )
    };
    let txn = begin_write(db).await?;
    let mut candidates = media_object::Entity::find().filter(unreferenced());
    if let Some(id) = only {
        candidates = candidates.filter(media_object::Column::Id.eq(id));
    }
    let candidates = candidates.limit(SWEEP_BATCH).all(&txn).await?;
    if candidates.is_empty() {
        return Ok(Sweep::default());
    }
    let keys: BTreeSet<String> = candidates.iter().flat_map(object_keys).collect();
    lock_keys(&txn, &keys).await?;
    // Checked again under the locks: an upload may have started showing one meanwhile.
    let rows = media_object::Entity::delete_many()
        .filter(media_object::Column::Id.is_in(candidates.iter().map(|c| c.id)))
        .filter(unreferenced())
        .exec(&txn)
        .await?
        .rows_affected;
    let mut objects = 0;
    for key in &keys {
        let still_used = media_object::Entity::find()
            .filter(
                Condition::any()
                    .add(media_object::Column::OriginalKey.eq(key))
                    .add(media_object::Column::ThumbnailKey.eq(key))
                    .add(media_object::Column::MediumKey.eq(key))
                    .add(media_object::Column::LargeKey.eq(key)),
            )
            .one(&txn)
            .await?
            .is_some();
        if !still_used {
            store.delete(key).await?;
            objects += 1;
        }
    }
    txn.commit().await?;
    Ok(Sweep { rows, objects })
}

fn object_keys(object: &media_object::Model) -> [String; 4] {
    [
        object.original_key.clone(),
        object.thumbnail_key.clone(),
        object.medium_key.clone(),
        object.large_key.clone(),
    ]
}

/// The product (and variant, which must be the product's) exist in the scope's organization.
async fn check_target(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    product_id: Uuid,
    variant_id: Option<Uuid>,
) -> Result<(), MediaError> {
    product::Entity::find_by_id_in(scope, product_id)
        .one(conn)
        .await?
        .ok_or(AccessError::NotFound)?;
    if let Some(variant_id) = variant_id {
        variant::Entity::find_by_id_in(scope, variant_id)
            .filter(variant::Column::ProductId.eq(product_id))
            .one(conn)
            .await?
            .ok_or(AccessError::NotFound)?;
    }
    Ok(())
}

async fn existing_object(
    conn: &impl ConnectionTrait,
    scope: &Scope,
    sha256: &str,
) -> Result<Option<media_object::Model>, MediaError> {
    Ok(media_object::Entity::find_in(scope)
        .filter(media_object::Column::Sha256.eq(sha256))
        .one(conn)
        .await?)
}

async fn used_bytes(conn: &impl ConnectionTrait, scope: &Scope) -> Result<u64, MediaError> {
    let sum: Option<Option<i64>> = media_object::Entity::find_in(scope)
        .select_only()
        .column_as(
            Expr::col(media_object::Column::ByteSize)
                .sum()
                .cast_as("bigint"),
            "used",
        )
        .into_tuple()
        .one(conn)
        .await?;
    Ok(u64::try_from(sum.flatten().unwrap_or(0)).unwrap_or(0))
}

async fn check_quota(
    conn: &impl ConnectionTrait,
    store: &MediaStore,
    scope: &Scope,
    needed: u64,
) -> Result<(), MediaError> {
    let used = used_bytes(conn, scope).await?;
    let quota = store.quota_bytes();
    if used.saturating_add(needed) > quota {
        return Err(MediaError::QuotaExceeded {
            used,
            quota,
            needed,
        });
    }
    Ok(())
}

/// Sets one column of an image and adds one to its version; returns the new version.
async fn bump(
    txn: &DatabaseTransaction,
    scope: &Scope,
    image: &product_image::Model,
    column: product_image::Column,
    value: sea_orm::sea_query::SimpleExpr,
) -> Result<i64, MediaError> {
    product_image::Entity::update_many()
        .col_expr(column, value)
        .col_expr(
            product_image::Column::Version,
            Expr::col(product_image::Column::Version).add(1),
        )
        .filter(product_image::Column::Id.eq(image.id))
        .filter(product_image::Column::OrganizationId.eq(scope.organization_id()))
        .exec(txn)
        .await?;
    Ok(image.version + 1)
}

/// Serializes quota checks of one organization on PostgreSQL (SQLite has one writer), so two
/// concurrent uploads cannot both fit into the last free megabytes.
async fn lock_quota(txn: &DatabaseTransaction, scope: &Scope) -> Result<(), MediaError> {
    advisory_lock(txn, &format!("media-quota:{}", scope.organization_id())).await
}

/// Locks object keys, in sorted order (no deadlocks), for the rest of the transaction.
async fn lock_keys(txn: &DatabaseTransaction, keys: &BTreeSet<String>) -> Result<(), MediaError> {
    for key in keys {
        advisory_lock(txn, &format!("media-object:{key}")).await?;
    }
    Ok(())
}

async fn advisory_lock(txn: &DatabaseTransaction, name: &str) -> Result<(), MediaError> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [name.into()],
        ))
        .await?;
    }
    Ok(())
}
