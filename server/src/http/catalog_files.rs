//! Files in and out of the catalog over plain HTTP, next to the server functions: the CSV
//! export (streamed, so 100,000 products never sit in memory), the CSV import upload (stored
//! as a job and run on a task of its own) and product image uploads (one file per request so
//! the browser can show each file's progress; several files in a plain form post work too).
//!
//! They read the same session as every page and check the same permissions through
//! `shopmarkets_app::services::scope_of`. Uploads have a body limit of their own; everything
//! else keeps the global one.

use axum::{
    Extension, Json, Router,
    body::Body,
    extract::{Multipart, Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use shopmarkets_app::services::{ClientIp, Refusal, scope_of};
use shopmarkets_core::{
    access::{AccessError, Permission},
    catalog::{
        CatalogError,
        csv::{self, Delimiter, ImportError},
    },
    media::{self, MediaError},
};
use tower_sessions::Session;
use uuid::Uuid;

use super::{AppState, error::ApiError};

/// The largest upload body: one CSV file (50 MiB) or a few images, plus multipart framing.
pub const UPLOAD_BODY_LIMIT: usize = csv::MAX_FILE_BYTES + 2 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products/export.csv", get(export))
        .route("/products/import/upload", post(import_upload))
        .route("/products/{id}/images/upload", post(image_upload))
}

fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::SignedOut => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Please sign in first.",
        )
        .into_response(),
        Refusal::Access(err) => access(err),
        Refusal::Internal(err) => internal(err),
    }
}

fn access(err: AccessError) -> Response {
    match err {
        AccessError::NotFound => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "Not found.").into_response()
        }
        AccessError::Forbidden => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Your role does not allow this.",
        )
        .into_response(),
        AccessError::Db(err) => internal(err),
    }
}

fn internal(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "catalog file request failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Something went wrong on our side.",
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    /// `semicolon` (default: German spreadsheets), `comma` or `tab`.
    delimiter: Option<String>,
}

/// `GET /products/export.csv`: the whole catalog in the import's columns, streamed page by
/// page (memory stays flat however large the catalog).
async fn export(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<ExportQuery>,
) -> Response {
    let scope = match scope_of(&state.services, &session, Permission::ViewCatalog).await {
        Ok(scope) => scope,
        Err(refusal) => return refused(refusal),
    };
    let delimiter = match query.delimiter.as_deref().unwrap_or("semicolon") {
        "semicolon" => Delimiter::Semicolon,
        "comma" => Delimiter::Comma,
        "tab" => Delimiter::Tab,
        _ => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_delimiter",
                "delimiter must be semicolon, comma or tab.",
            )
            .into_response();
        }
    };
    let export = match csv::export_products(&state.services.db, &scope, delimiter).await {
        Ok(export) => export,
        Err(CatalogError::Access(err)) => return access(err),
        Err(err) => return internal(err),
    };
    let content_type = export.content_type();
    let chunks = futures_util::stream::try_unfold(export, |mut export| async move {
        match export.next_chunk().await {
            Ok(chunk) => Ok(chunk.map(|chunk| (chunk, export))),
            Err(err) => {
                // The status line is gone already; cutting the stream makes the download
                // fail visibly instead of ending in a silently short file.
                tracing::error!(error = %err, "export failed midway");
                Err(std::io::Error::other("export failed"))
            }
        }
    });
    let file_name = format!(
        "produkte-{}.csv",
        state.services.clock.now().format("%Y-%m-%d")
    );
    let mut response = Body::from_stream(chunks).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The first file field of a multipart body, with its name.
async fn first_file(multipart: &mut Multipart) -> Result<Option<(String, Vec<u8>)>, Response> {
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                if field.file_name().is_none() {
                    continue;
                }
                let name = field.file_name().unwrap_or("upload").to_owned();
                let bytes = field.bytes().await.map_err(too_large_or_bad)?;
                return Ok(Some((name, bytes.to_vec())));
            }
            Ok(None) => return Ok(None),
            Err(err) => return Err(too_large_or_bad(err)),
        }
    }
}

fn too_large_or_bad(err: axum::extract::multipart::MultipartError) -> Response {
    let status = err.status();
    let (code, message) = if status == StatusCode::PAYLOAD_TOO_LARGE {
        ("too_large", "The file is too large.")
    } else {
        ("bad_upload", "The upload could not be read.")
    };
    ApiError::new(status, code, message).into_response()
}

/// Whether the browser sent the form itself (no script): answer with a redirect then, JSON
/// for the page's own upload code.
fn wants_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

#[derive(Debug, Serialize)]
struct ImportStarted {
    id: Uuid,
}

/// `POST /products/import/upload`: stores the file as an import job and starts it on a task;
/// the import page follows its progress.
async fn import_upload(
    State(state): State<AppState>,
    session: Session,
    headers: axum::http::HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let scope = match scope_of(&state.services, &session, Permission::EditCatalog).await {
        Ok(scope) => scope,
        Err(refusal) => return refused(refusal),
    };
    let (file_name, bytes) = match first_file(&mut multipart).await {
        Ok(Some(file)) => file,
        Ok(None) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "no_file", "Please choose a file.")
                .into_response();
        }
        Err(response) => return response,
    };
    let services = &state.services;
    let id = match csv::start_import(
        &services.db,
        &scope,
        &file_name,
        bytes,
        services.clock.now(),
    )
    .await
    {
        Ok(id) => id,
        Err(ImportError::Access(err)) => return access(err),
        Err(ImportError::TooLarge { .. }) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "The file is larger than 50 MB.",
            )
            .into_response();
        }
        Err(ImportError::Empty) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "empty", "The file is empty.")
                .into_response();
        }
        Err(ImportError::AlreadyRunning) => {
            return ApiError::new(
                StatusCode::CONFLICT,
                "already_running",
                "Another import is still running; please wait until it is done.",
            )
            .into_response();
        }
        Err(err) => return internal(err),
    };
    let db = services.db.clone();
    let clock = services.clock.clone();
    tokio::spawn(async move {
        if let Err(err) = csv::run_import(&db, id, clock.as_ref()).await {
            tracing::error!(error = %err, import = %id, "import job failed to record its end");
        }
    });
    if wants_json(&headers) {
        (StatusCode::ACCEPTED, Json(ImportStarted { id })).into_response()
    } else {
        Redirect::to(&format!("/products/import?job={id}")).into_response()
    }
}

/// One file's result, for the page's upload list.
#[derive(Debug, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
enum ImageResult {
    Added {
        id: Uuid,
        thumbnail: String,
    },
    /// Refused: `code` is one of `too_large`, `unsupported_type`, `too_many_pixels`,
    /// `undecodable`, `quota_exceeded`; the page words it in the user's language.
    Refused {
        file: String,
        code: &'static str,
    },
}

#[derive(Debug, Deserialize)]
pub struct ImageQuery {
    /// Attach to this variant instead of the product as a whole.
    variant: Option<String>,
}

/// `POST /products/{id}/images/upload`: every file of the body becomes an image of the
/// product (in order); each file is checked on its own, so one bad file does not stop the
/// others.
async fn image_upload(
    State(state): State<AppState>,
    session: Session,
    headers: axum::http::HeaderMap,
    client_ip: Option<Extension<ClientIp>>,
    Path(product_id): Path<String>,
    Query(query): Query<ImageQuery>,
    mut multipart: Multipart,
) -> Response {
    let scope = match scope_of(&state.services, &session, Permission::EditCatalog).await {
        Ok(scope) => scope,
        Err(refusal) => return refused(refusal),
    };
    let Ok(product_id) = Uuid::parse_str(&product_id) else {
        return access(AccessError::NotFound);
    };
    let variant_id = match query.variant.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => match Uuid::parse_str(v) {
            Ok(id) => Some(id),
            Err(_) => return access(AccessError::NotFound),
        },
        None => None,
    };
    let services = &state.services;
    let mut results = Vec::new();
    loop {
        let (file, bytes) = match first_file(&mut multipart).await {
            Ok(Some(file)) => file,
            Ok(None) => break,
            Err(response) => return response,
        };
        let attached = media::attach_image(
            &services.db,
            &state.media,
            &scope,
            product_id,
            variant_id,
            bytes,
            services.clock.now(),
            client_ip.as_ref().map(|ip| ip.0.0),
        )
        .await;
        results.push(match attached {
            Ok(image) => ImageResult::Added {
                id: image.id,
                thumbnail: image.urls.thumbnail,
            },
            Err(MediaError::Access(err)) => return access(err),
            Err(MediaError::TooLarge { .. }) => ImageResult::Refused {
                file,
                code: "too_large",
            },
            Err(MediaError::UnsupportedType) => ImageResult::Refused {
                file,
                code: "unsupported_type",
            },
            Err(MediaError::TooManyPixels { .. }) => ImageResult::Refused {
                file,
                code: "too_many_pixels",
            },
            Err(MediaError::Undecodable(_)) => ImageResult::Refused {
                file,
                code: "undecodable",
            },
            Err(MediaError::QuotaExceeded { .. }) => ImageResult::Refused {
                file,
                code: "quota_exceeded",
            },
            Err(err) => return internal(err),
        });
    }
    if results.is_empty() {
        return ApiError::new(StatusCode::BAD_REQUEST, "no_file", "Please choose a file.")
            .into_response();
    }
    if wants_json(&headers) {
        Json(results).into_response()
    } else {
        Redirect::to(&format!("/products/{product_id}#images")).into_response()
    }
}
