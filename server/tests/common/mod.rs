//! The harness the HTTP test files share: the whole router on a fresh database, driven without
//! a socket, with a browser-like client that keeps its session cookie.
#![allow(dead_code)] // each test file uses a different part of it

use std::sync::Arc;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
};
use http_body_util::BodyExt as _;
use leptos::config::LeptosOptions;
use serde_json::Value;
use shopmarkets_core::{
    Db,
    clock::{ManualClock, SharedClock},
    rate_limit::RateLimiter,
    testing::{TestDb, config},
};
use shopmarkets_server::http::{AppState, router};
use tower::ServiceExt as _;

/// The origin the test app believes it is served at (plain-HTTP development).
pub const ORIGIN: &str = "http://127.0.0.1:3000";

/// All tests render pages on one multi-threaded runtime that lives as long as the process, as
/// the server does. Leptos spawns render tasks on the runtime current at the time; with a
/// runtime per test, a task spawned while another test's runtime was current could be dropped
/// with that runtime and leave a render waiting forever.
pub fn on_shared_runtime<F: std::future::Future<Output = ()>>(test: F) {
    static RUNTIME: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            // As the server's runtime: deep page views need more than 2 MiB in debug builds.
            .thread_stack_size(8 * 1024 * 1024)
            .enable_all()
            .build()
            .expect("test runtime")
    });
    RUNTIME.block_on(test);
}

pub fn leptos_options() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("shopmarkets")
        .site_root("target/site")
        .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 3000)))
        .build()
}

/// The app on a database of its own, with a clock the test moves.
pub struct TestApp {
    pub router: Router,
    pub db: Db,
    pub clock: ManualClock,
    /// The origin the app believes it is served at (the issuer of its API tokens).
    pub origin: String,
    /// Shared with the apps [`restarted`](Self::restarted) from this one.
    test_db: Arc<TestDb>,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(&[]).await
    }

    /// The app on a SQLite file database of its own, with configuration overrides.
    pub async fn with(overrides: &[(&str, &str)]) -> Self {
        Self::on(TestDb::sqlite_file().await, overrides)
    }

    /// The app on the given database (PostgreSQL, for instance).
    pub fn on(test_db: TestDb, overrides: &[(&str, &str)]) -> Self {
        Self::build(Arc::new(test_db), ManualClock::starting_now(), overrides)
    }

    /// The same app restarted with another configuration: same database, same clock.
    pub fn restarted(&self, overrides: &[(&str, &str)]) -> Self {
        Self::build(self.test_db.clone(), self.clock.clone(), overrides)
    }

    fn build(test_db: Arc<TestDb>, clock: ManualClock, overrides: &[(&str, &str)]) -> Self {
        let shared: SharedClock = Arc::new(clock.clone());
        let state = AppState::new(
            leptos_options(),
            config(overrides),
            test_db.db.clone(),
            RateLimiter::memory(),
        )
        .with_clock(shared);
        Self {
            origin: state.origin(),
            router: router(state),
            db: test_db.db.clone(),
            clock,
            test_db,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Response {
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible")
    }

    /// A new browser with no cookies.
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            app: self,
            cookie: None,
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36".to_owned(),
        }
    }

    /// A new browser signed in with the password step alone (no second factor).
    pub async fn signed_in(&self, email: &str, password: &str) -> Browser<'_> {
        let mut browser = self.browser();
        assert_eq!(
            browser.login(email, password).await,
            Value::from("SignedIn"),
            "login of {email}"
        );
        assert!(browser.cookie.is_some(), "a session cookie");
        browser
    }
}

/// A client that sends the app's own `Origin` (as browsers do on form posts) and keeps the
/// session cookie it is given.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    /// `name=value` of the session cookie.
    pub cookie: Option<String>,
    pub user_agent: String,
}

impl Browser<'_> {
    /// POSTs a form to a server function (`/api/<name>`) and returns status and JSON answer.
    pub async fn call(&mut self, function: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self.post_raw(function, form).await;
        let status = response.status();
        let text = body_text(response).await;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn post_raw(&mut self, function: &str, form: &[(&str, &str)]) -> Response {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut request = Request::post(format!("/api/{function}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::ORIGIN, ORIGIN)
            .header(header::USER_AGENT, &self.user_agent);
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = self.app.send(request.body(Body::from(body)).unwrap()).await;
        self.keep_cookie(&response);
        response
    }

    /// POSTs JSON to a server function declared with `input = Json`.
    pub async fn call_json(&mut self, function: &str, body: &Value) -> (StatusCode, Value) {
        let request = Request::post(format!("/api/{function}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = self.send(request).await;
        let status = response.status();
        let text = body_text(response).await;
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Sends any request as this browser: its `Origin`, user agent and session cookie.
    pub async fn send(&mut self, mut request: Request<Body>) -> Response {
        let headers = request.headers_mut();
        headers.insert(header::ORIGIN, ORIGIN.parse().unwrap());
        headers.insert(header::USER_AGENT, self.user_agent.parse().unwrap());
        if let Some(cookie) = &self.cookie {
            headers.insert(header::COOKIE, cookie.parse().unwrap());
        }
        let response = self.app.send(request).await;
        self.keep_cookie(&response);
        response
    }

    /// GETs a page with the session, in English; returns status and HTML.
    pub async fn page(&mut self, uri: &str) -> (StatusCode, String) {
        let mut request = Request::get(uri)
            .header(header::ACCEPT_LANGUAGE, "en")
            .header(header::USER_AGENT, &self.user_agent);
        if let Some(cookie) = &self.cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let response = self.app.send(request.body(Body::empty()).unwrap()).await;
        self.keep_cookie(&response);
        let status = response.status();
        (status, body_text(response).await)
    }

    fn keep_cookie(&mut self, response: &Response) {
        for value in response.headers().get_all(header::SET_COOKIE) {
            let value = value.to_str().unwrap_or_default();
            let pair = value.split(';').next().unwrap_or_default().trim();
            if let Some((name, content)) = pair.split_once('=')
                && name.ends_with("sm_session")
            {
                self.cookie = if content.is_empty() || value.contains("Max-Age=0") {
                    None
                } else {
                    Some(pair.to_owned())
                };
            }
        }
    }

    /// Signs in with the password step; returns the server function's answer.
    pub async fn login(&mut self, email: &str, password: &str) -> Value {
        let (status, answer) = self
            .call("login", &[("email", email), ("password", password)])
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }
}

/// Form encoding for test values.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

pub async fn body_text(response: Response) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub async fn body_json(response: Response) -> Value {
    serde_json::from_str(&body_text(response).await).expect("JSON body")
}

/// Everything the process logs from the moment [`capture_logs`] is first called, in the
/// production format (JSON lines, `debug` and up, including the database driver's).
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

fn log_buffer() -> &'static std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    static LOGS: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
        std::sync::OnceLock::new();
    LOGS.get_or_init(Default::default)
}

#[derive(Clone)]
struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber for this test binary (once).
pub fn capture_logs() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        let writer = LogWriter(log_buffer().clone());
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_env_filter("debug")
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).ok();
    });
}
