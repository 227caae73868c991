//! The HTTP surface: pages and server functions from `shopmarkets-app`, health and metrics, and
//! the layers every response passes through.

pub mod api_v1;
pub mod catalog_files;
pub mod channels;
pub mod csrf;
pub mod error;
pub mod health;
pub mod media;
pub mod metrics;
pub mod observe;
pub mod rate_limit;
pub mod security;
pub mod session;

use std::{sync::Arc, time::Instant};

use axum::{
    Router,
    body::Body,
    extract::{FromRef, Request, State},
    http::{Method, StatusCode, Uri},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list, handle_server_fns_with_context};
use shopmarkets_app::{App, services::Services, shell};
use shopmarkets_core::{
    Config, Db, clock::SharedClock, crypto::Cipher, media::MediaStore, rate_limit::RateLimiter,
    sessions::Timeouts,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer, compression::CompressionLayer, limit::RequestBodyLimitLayer,
    timeout::TimeoutLayer,
};

/// Everything a request handler may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub services: Services,
    /// Product images (`MEDIA_STORE`), served at `/media/`.
    pub media: MediaStore,
}

impl AppState {
    /// The origin browsers reach the app at: `APP_BASE_URL`, or `http://` plus the listening
    /// address in development.
    pub fn origin(&self) -> String {
        self.services.origin.clone()
    }
}

impl AppState {
    pub fn new(
        leptos_options: LeptosOptions,
        config: Config,
        db: Db,
        rate_limiter: RateLimiter,
    ) -> Self {
        let cipher = Arc::new(Cipher::new(&config.encryption_keys));
        let session_timeouts = Timeouts {
            idle: chrono::Duration::minutes(config.session_idle_minutes.into()),
            absolute: chrono::Duration::hours(config.session_absolute_hours.into()),
        };
        // `serve` builds the store first and stops with the error when it cannot be used.
        let media = MediaStore::from_config(&config)
            .unwrap_or_else(|err| panic!("media storage (MEDIA_STORE): {err}"));
        let origin = config.public_url.as_ref().map_or_else(
            || format!("http://{}", leptos_options.site_addr),
            |url| url.as_str().to_owned(),
        );
        let channels = shopmarkets_core::channels::Channels::new(&config, &origin)
            .expect("the marketplace client was validated at start-up");
        Self {
            leptos_options,
            media: media.clone(),
            services: Services {
                media,
                channels,
                db,
                config: Arc::new(config),
                rate_limiter,
                origin,
                started_at: Instant::now(),
                clock: shopmarkets_core::clock::system(),
                cipher,
                session_timeouts,
            },
        }
    }

    /// Replaces the clock (tests move time with a `ManualClock`).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.services.clock = clock;
        self
    }

    /// Replaces the media store (tests use one they can look into).
    pub fn with_media(mut self, media: MediaStore) -> Self {
        self.services.media = media.clone();
        self.media = media;
        self
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application as one `Router`, so tests can drive it without a socket.
pub fn router(state: AppState) -> Router {
    let config = state.services.config.clone();
    let csrf = csrf::CsrfGuard::new(state.origin());
    let per_client = rate_limit::ClientLimit::new(&state.services);
    let pages = route_list();
    let page_context = page_context(state.services.clone());

    Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(metrics::render))
        .route("/media/{*key}", get(media::serve))
        .merge(channels::router())
        .nest("/api/v1", api_v1::router(&state))
        .route(
            "/api/{*fn_name}",
            get(server_fn_handler).post(server_fn_handler),
        )
        .leptos_routes_with_context(&state, pages, page_context.clone(), {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route_layer(middleware::from_fn(observe::tag_route))
        .fallback(fallback)
        .layer(RequestBodyLimitLayer::new(config.request_body_limit))
        // File uploads have a limit of their own (merged after the layer above, so it does not
        // apply to them).
        .merge(
            catalog_files::router()
                .route_layer(middleware::from_fn(observe::tag_route))
                .layer(RequestBodyLimitLayer::new(catalog_files::UPLOAD_BODY_LIMIT)),
        )
        // Innermost: the session exists for pages, server functions and the fallback, after
        // the guards below have let the request through.
        .layer(session::layer(
            state.services.db.clone(),
            &config,
            state.services.session_timeouts,
        ))
        .layer(
            // Outermost first.
            ServiceBuilder::new()
                .layer(sentry::integrations::tower::NewSentryLayer::<Request>::new_from_top())
                .layer(sentry::integrations::tower::SentryHttpLayer::new())
                .layer(CompressionLayer::new())
                .layer(middleware::from_fn(observe::observe))
                .layer(middleware::from_fn_with_state(
                    security::Headers::new(&config),
                    security::headers,
                ))
                .layer(middleware::from_fn_with_state(
                    per_client,
                    rate_limit::limit,
                ))
                .layer(middleware::from_fn_with_state(csrf, csrf::guard))
                .layer(CatchPanicLayer::custom(error::panic_response))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    config.request_timeout,
                )),
        )
        .with_state(state)
}

/// The page routes, generated once per process. Generating runs the app with resource loading
/// suppressed by a process-wide flag; a resource first polled by a request on another thread
/// during that window would wait forever (leptos-rs/leptos#4773). The server builds one router
/// at start-up anyway; tests build many in parallel, so they share this one list.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The context every page render and server function gets: the services, and for pages a
/// content security policy that allows exactly this response's hydration scripts.
fn page_context(services: Services) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(services.clone());
        security::provide_page_csp();
    }
}

async fn server_fn_handler(State(state): State<AppState>, request: Request) -> Response {
    let known = leptos::server_fn::axum::get_server_fn_service(
        request.uri().path(),
        request.method().clone(),
    )
    .is_some();
    if !known {
        return error::ApiError::not_found().into_response();
    }
    handle_server_fns_with_context(page_context(state.services.clone()), request)
        .await
        .into_response()
}

/// Unknown addresses: static files and the 404 page for browsers, a JSON 404 for everything
/// else.
async fn fallback(State(state): State<AppState>, uri: Uri, request: Request<Body>) -> Response {
    let is_page = matches!(*request.method(), Method::GET | Method::HEAD)
        && !["/api/", "/health/", "/metrics"]
            .iter()
            .any(|prefix| uri.path().starts_with(prefix));
    if !is_page {
        return error::ApiError::not_found().into_response();
    }
    let handler = leptos_axum::file_and_error_handler_with_context(
        page_context(state.services.clone()),
        shell,
    );
    handler(uri, State(state), request).await
}
