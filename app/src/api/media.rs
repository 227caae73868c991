//! Server functions for a product's images: list, order, assign to a variant, alt text,
//! remove. Uploading goes through `POST /products/{id}/images/upload` (a plain multipart
//! request, so the browser can report each file's progress).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One image as the editor shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageView {
    pub id: String,
    pub thumbnail: String,
    pub medium: String,
    pub large: String,
    pub original: String,
    pub width: u32,
    pub height: u32,
    /// The variant the image shows, if it is not for the product as a whole.
    pub variant_id: Option<String>,
    pub alt_text: String,
}

/// A product's images and the organization's storage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagesView {
    pub images: Vec<ImageView>,
    pub used_bytes: u64,
    pub quota_bytes: u64,
}

/// What a change to the images answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImagesOutcome {
    Done,
    Invalid(Vec<super::FieldProblem>),
}

#[cfg(feature = "ssr")]
mod server {
    use leptos::prelude::ServerFnError;
    use shopmarkets_core::media::MediaError;

    use super::ImagesOutcome;
    use crate::{
        api::FieldProblem,
        services::{access_error, internal_error},
    };

    pub use crate::services::parse_id;

    pub fn outcome(result: Result<(), MediaError>) -> Result<ImagesOutcome, ServerFnError> {
        match result {
            Ok(()) => Ok(ImagesOutcome::Done),
            Err(MediaError::Access(err)) => Err(access_error(err)),
            Err(MediaError::Field { field, error }) => {
                Ok(ImagesOutcome::Invalid(vec![FieldProblem { field, error }]))
            }
            Err(MediaError::NotTheProductsImages) => {
                Ok(ImagesOutcome::Invalid(vec![FieldProblem {
                    field: "order".into(),
                    error: shopmarkets_types::FieldError::NotFound,
                }]))
            }
            Err(err) => Err(internal_error(err)),
        }
    }
}

/// The product's images in order, with the storage used.
#[server(endpoint = "product_images")]
pub async fn product_images(product_id: String) -> Result<ImagesView, ServerFnError> {
    use shopmarkets_core::{access::Permission, media};

    use crate::services::{access_error, internal_error, scope, services};

    let (_, scope) = scope(Permission::ViewCatalog).await?;
    let services = services()?;
    let product_id = server::parse_id(&product_id)?;
    let read_error = |err: media::MediaError| match err {
        media::MediaError::Access(err) => access_error(err),
        other => internal_error(other),
    };
    let images = media::list_images(&services.db, &services.media, &scope, product_id)
        .await
        .map_err(read_error)?;
    let usage = media::usage(&services.db, &services.media, &scope)
        .await
        .map_err(read_error)?;
    Ok(ImagesView {
        images: images
            .into_iter()
            .map(|image| ImageView {
                id: image.id.to_string(),
                thumbnail: image.urls.thumbnail,
                medium: image.urls.medium,
                large: image.urls.large,
                original: image.urls.original,
                width: image.width,
                height: image.height,
                variant_id: image.variant_id.map(|v| v.to_string()),
                alt_text: image.alt_text.unwrap_or_default(),
            })
            .collect(),
        used_bytes: usage.used_bytes,
        quota_bytes: usage.quota_bytes,
    })
}

/// Puts the product's images in the given order (every image exactly once).
#[server(endpoint = "reorder_images")]
pub async fn reorder_images(
    product_id: String,
    ordered: Vec<String>,
) -> Result<ImagesOutcome, ServerFnError> {
    use shopmarkets_core::{access::Permission, media};

    use crate::services::{scope, services};

    let (_, scope) = scope(Permission::EditCatalog).await?;
    let services = services()?;
    let product_id = server::parse_id(&product_id)?;
    let ordered = ordered
        .iter()
        .map(|id| server::parse_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    server::outcome(
        media::reorder_images(
            &services.db,
            &scope,
            product_id,
            &ordered,
            services.clock.now(),
        )
        .await,
    )
}

/// Shows an image for one variant (or, with an empty id, for the whole product).
#[server(endpoint = "assign_image")]
pub async fn assign_image(
    image_id: String,
    variant_id: String,
) -> Result<ImagesOutcome, ServerFnError> {
    use shopmarkets_core::{access::Permission, media};

    use crate::services::{scope, services};

    let (_, scope) = scope(Permission::EditCatalog).await?;
    let services = services()?;
    let image_id = server::parse_id(&image_id)?;
    let variant_id = match variant_id.trim() {
        "" => None,
        id => Some(server::parse_id(id)?),
    };
    server::outcome(
        media::assign_variant(
            &services.db,
            &scope,
            image_id,
            variant_id,
            services.clock.now(),
        )
        .await,
    )
}

/// Sets the text that describes an image (for screen readers and marketplaces).
#[server(endpoint = "image_alt_text")]
pub async fn image_alt_text(
    image_id: String,
    alt_text: String,
) -> Result<ImagesOutcome, ServerFnError> {
    use shopmarkets_core::{access::Permission, media};

    use crate::services::{scope, services};

    let (_, scope) = scope(Permission::EditCatalog).await?;
    let services = services()?;
    let image_id = server::parse_id(&image_id)?;
    server::outcome(
        media::set_alt_text(
            &services.db,
            &scope,
            image_id,
            &alt_text,
            services.clock.now(),
        )
        .await,
    )
}

/// Removes an image from the product; the stored file goes when nothing else uses it.
#[server(endpoint = "remove_image")]
pub async fn remove_image(image_id: String) -> Result<ImagesOutcome, ServerFnError> {
    use shopmarkets_core::{access::Permission, media};

    use crate::services::{client_ip, scope, services};

    let (_, scope) = scope(Permission::EditCatalog).await?;
    let services = services()?;
    let image_id = server::parse_id(&image_id)?;
    server::outcome(
        media::remove_image(
            &services.db,
            &services.media,
            &scope,
            image_id,
            services.clock.now(),
            client_ip(),
        )
        .await,
    )
}
