//! `GET /media/<key>` over HTTP: stored images come back with their type, an immutable cache
//! policy and their hash as `ETag`, without a session; anything that is not exactly a key is a
//! 404, however it tries to leave the store.

mod common;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
};
use chrono::Utc;
use common::{body_json, leptos_options, on_shared_runtime};
use http_body_util::BodyExt as _;
use shopmarkets_core::{
    catalog::{self, Condition, Dimensions, NewProduct, NewVariant, ProductContent},
    media::{self, MediaStore, ProductImage},
    rate_limit::RateLimiter,
    testing::{TestDb, config, owner_of_new_organization, photo_jpeg},
};
use shopmarkets_server::http::{AppState, router};
use shopmarkets_types::{Currency, Money, Sku};
use tower::ServiceExt as _;

struct App {
    router: Router,
    store: MediaStore,
    data_dir: std::path::PathBuf,
    _db: TestDb,
}

/// The app on a database of its own, with a product image uploaded through the core service
/// into the app's own media store.
async fn app_with_image(overrides: &[(&str, &str)]) -> (App, ProductImage) {
    let test_db = TestDb::sqlite_file().await;
    let config = config(overrides);
    let data_dir = config.data_dir.clone();
    let state = AppState::new(
        leptos_options(),
        config,
        test_db.db.clone(),
        RateLimiter::memory(),
    );
    let store = state.media.clone();
    let db = &test_db.db;
    let (_, owner) = owner_of_new_organization(db, "anna@example.com", "Anna GmbH").await;
    let product = catalog::create_product(
        db,
        &owner,
        NewProduct {
            content: ProductContent {
                title: "Tasse".to_owned(),
                brand: None,
                description_html: String::new(),
                category: None,
                condition: Condition::New,
                weight_grams: None,
                dimensions: Dimensions::default(),
                attributes: vec![],
            },
            option_names: vec![],
            variants: vec![NewVariant {
                sku: Sku::parse("TASSE-1").unwrap(),
                gtin: None,
                option_values: vec![],
                price: Money::new(999, Currency::Eur).unwrap(),
                on_hand: 1,
            }],
        },
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    let jpeg = photo_jpeg(900, 600);
    let image = media::attach_image(
        db,
        &store,
        &owner,
        product.product.id,
        None,
        jpeg,
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    (
        App {
            router: router(state),
            store,
            data_dir,
            _db: test_db,
        },
        image,
    )
}

async fn send(app: &App, request: Request<Body>) -> Response {
    app.router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible")
}

async fn get(app: &App, uri: &str) -> Response {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn body_bytes(response: Response) -> Vec<u8> {
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

fn key_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[test]
fn stored_images_are_served_immutable_with_their_hash_and_without_a_session() {
    on_shared_runtime(async {
        let (app, image) = app_with_image(&[]).await;
        for url in [
            &image.urls.original,
            &image.urls.large,
            &image.urls.medium,
            &image.urls.thumbnail,
        ] {
            assert!(url.starts_with("/media/"), "{url}");
            let response = get(&app, url).await;
            assert_eq!(response.status(), StatusCode::OK, "{url}");
            let headers = response.headers().clone();
            assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
            assert_eq!(
                headers[header::CACHE_CONTROL],
                "public, max-age=31536000, immutable"
            );
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            let hash = &key_of(url)[..64];
            assert_eq!(headers[header::ETAG], format!("\"{hash}\"").as_str());
            assert!(
                headers.get(header::SET_COOKIE).is_none(),
                "no session is started"
            );
            let body = body_bytes(response).await;
            let stored = app.store.get(key_of(url)).await.unwrap().unwrap();
            assert_eq!(body, stored.bytes);
            assert_eq!(stored.key.sha256(), hash);
        }

        // A cache that has it already is told so, without the bytes.
        let revalidated = send(
            &app,
            Request::get(&image.urls.original)
                .header(
                    header::IF_NONE_MATCH,
                    format!("\"{}\"", &image.original_key[..64]),
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        assert!(body_bytes(revalidated).await.is_empty());
    });
}

#[test]
fn marketplaces_fetching_many_images_are_not_rate_limited() {
    on_shared_runtime(async {
        let (app, image) = app_with_image(&[("RATE_LIMIT_PER_MINUTE", "2")]).await;
        for _ in 0..10 {
            let response = get(&app, &image.urls.large).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
    });
}

#[test]
fn unknown_keys_and_anything_else_under_media_are_not_found() {
    on_shared_runtime(async {
        let (app, image) = app_with_image(&[]).await;
        // Files that must never be reachable through /media/.
        std::fs::write(app.data_dir.join("secrets.env"), "ENCRYPTION_KEYS=canary").unwrap();
        let hash = &image.original_key[..64];
        for uri in [
            format!("/media/{}.jpg", "0".repeat(64)),
            format!("/media/{hash}.png"),
            format!("/media/{hash}.php"),
            format!("/media/{hash}.jpg.php"),
            format!("/media/{}.jpg", hash.to_uppercase()),
            format!("/media/{}/{}/{hash}.jpg", &hash[..2], &hash[2..4]),
            format!("/media/{hash}"),
            "/media/../secrets.env".to_owned(),
            "/media/..%2Fsecrets.env".to_owned(),
            "/media/%2e%2e/%2e%2e/Cargo.toml".to_owned(),
            "/media/..%5Csecrets.env".to_owned(),
            "/media/secrets.env".to_owned(),
        ] {
            let response = get(&app, &uri).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
            let body = body_json(response).await;
            assert_eq!(body["code"], "not_found", "{uri}");
        }
    });
}

#[test]
fn with_a_cdn_urls_point_there_and_the_app_still_serves_as_its_origin() {
    on_shared_runtime(async {
        let (app, image) =
            app_with_image(&[("CDN_BASE_URL", "https://cdn.example.com/media")]).await;
        let key = key_of(&image.urls.original).to_owned();
        assert_eq!(
            image.urls.original,
            format!("https://cdn.example.com/media/{key}")
        );
        assert_eq!(
            app.store.absolute_url(&key, "https://app.example.com"),
            image.urls.original
        );
        let response = get(&app, &format!("/media/{key}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/jpeg");
    });
}

#[test]
fn the_media_store_lives_under_the_data_directory_by_default() {
    on_shared_runtime(async {
        let (app, image) = app_with_image(&[]).await;
        let media_dir = app.data_dir.join("media");
        let hash = &image.original_key[..64];
        let file = media_dir
            .join(&hash[..2])
            .join(&hash[2..4])
            .join(&image.original_key);
        assert!(file.is_file(), "{}", file.display());
        assert_eq!(
            app.store
                .absolute_url(&image.original_key, "https://app.example.com/"),
            format!("https://app.example.com/media/{}", image.original_key)
        );
    });
}
