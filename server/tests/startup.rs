//! The binary as an operator meets it: start-up failures end in one clear line and exit code 1;
//! a healthy start serves, and SIGTERM stops it cleanly.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_shopmarkets");

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sm-startup-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A command with a clean environment: nothing from the developer's shell leaks in.
fn shopmarkets(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LEPTOS_OUTPUT_NAME", "shopmarkets")
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("LOG_FORMAT", "json")
        // Development starts the marketplace sandboxes; tests run side by side, each on a port
        // of its own.
        .env("SANDBOX_ADDR", format!("127.0.0.1:{}", free_port()))
        .current_dir(temp_dir())
        .envs(vars.iter().copied());
    command
}

fn run(args: &[&str], vars: &[(&str, &str)]) -> Output {
    shopmarkets(args, vars).output().expect("binary runs")
}

/// Exit code 1, exactly one `error:` line that contains `expected`, and no panic.
fn assert_fails_clearly(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line expected in: {stderr}");
    assert!(
        errors[0].contains(expected),
        "{:?} lacks {expected:?}",
        errors[0]
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_malformed_database_url_is_named_without_its_value() {
    let output = run(&[], &[("DATABASE_URL", "mysql://root:canary-pw@db/shop")]);
    assert_fails_clearly(&output, "DATABASE_URL");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("canary-pw"));
}

#[test]
fn production_without_secrets_refuses_to_start() {
    let output = run(
        &[],
        &[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "sqlite::memory:"),
            ("APP_BASE_URL", "https://app.example.com"),
            ("SIGNING_KEYS", "k1:c2hvcnQ="),
        ],
    );
    assert_fails_clearly(&output, "ENCRYPTION_KEYS is not set");
}

#[test]
fn an_unreachable_database_fails_with_one_line() {
    let port = free_port().to_string();
    let output = run(
        &[],
        &[
            (
                "DATABASE_URL",
                "postgres://postgres:canary-pw@127.0.0.1:1/none",
            ),
            ("LEPTOS_SITE_ADDR", &format!("127.0.0.1:{port}")),
        ],
    );
    assert_fails_clearly(
        &output,
        "cannot open the database (PostgreSQL at 127.0.0.1:1/none)",
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("canary-pw"));
}

#[test]
fn a_port_in_use_fails_with_one_line() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = run(&[], &[("LEPTOS_SITE_ADDR", &addr)]);
    assert_fails_clearly(&output, &format!("cannot listen on {addr}"));
}

#[test]
fn migrate_applies_then_reports_nothing_pending() {
    let data = temp_dir();
    let vars = [("DATA_DIR", data.to_str().unwrap())];
    let output = run(&["migrate"], &vars);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("applied ") && !stdout.starts_with("applied 0 "),
        "{stdout}"
    );

    let status = run(&["migrate", "--status"], &vars);
    assert!(String::from_utf8_lossy(&status.stdout).starts_with("0 pending migration(s)"));
}

#[test]
fn keys_generate_prints_a_valid_entry() {
    let output = run(&["keys", "generate", "--id", "k2"], &[]);
    assert!(output.status.success());
    let entry = String::from_utf8(output.stdout).unwrap();
    assert!(shopmarkets_core::config::KeyList::parse(entry.trim()).is_ok());
    assert!(entry.starts_with("k2:"));
}

#[test]
fn serves_in_development_and_stops_cleanly_on_sigterm() {
    let data = temp_dir();
    let port = free_port();
    let mut child = shopmarkets(
        &["serve"],
        &[
            ("DATA_DIR", data.to_str().unwrap()),
            ("LEPTOS_SITE_ADDR", &format!("127.0.0.1:{port}")),
        ],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = loop {
        if let Ok(body) = http_get(port, "/health/ready") {
            break body;
        }
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        ready.contains("200 OK") && ready.contains("\"ready\""),
        "{ready}"
    );
    assert!(
        data.join("secrets.env").exists(),
        "development secrets were generated"
    );
    assert!(
        data.join("shopmarkets.db").exists(),
        "the SQLite file lives under DATA_DIR"
    );
    // Credentials in headers and query strings never reach the log.
    let canaries = [
        "canary-token-5f1e",
        "canary-cookie-9a2b",
        "canary-query-77c3",
    ];
    let page = http_request(
        port,
        &format!("/orders?token={}", canaries[2]),
        &[
            ("Authorization", &format!("Bearer {}", canaries[0])),
            ("Cookie", &format!("session={}", canaries[1])),
        ],
    )
    .unwrap();
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "server did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(exit.success(), "{log}");
    assert!(log.contains("generated development secrets"), "{log}");
    assert!(log.contains("shutdown signal received"), "{log}");
    for line in log.lines() {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
        assert!(parsed["level"].is_string(), "{line}");
    }
    for canary in canaries {
        assert!(!log.contains(canary), "{canary} reached the log");
    }
    assert!(
        log.contains("\"route\":\"/orders\""),
        "requests are logged by route: {log}"
    );
    let secrets = std::fs::read_to_string(data.join("secrets.env")).unwrap();
    for value in secrets
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(_, v)| v)
    {
        assert!(!log.contains(value), "a generated secret reached the log");
    }
}

fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    http_request(port, path, &[])
}

/// A minimal HTTP/1.1 GET, to keep an HTTP client out of the test dependencies.
fn http_request(port: u16, path: &str, headers: &[(&str, &str)]) -> std::io::Result<String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    )?;
    for (name, value) in headers {
        write!(stream, "{name}: {value}\r\n")?;
    }
    write!(stream, "\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

#[test]
fn an_unreachable_redis_fails_with_one_line() {
    let data = temp_dir();
    let addr = format!("127.0.0.1:{}", free_port());
    let output = run(
        &[],
        &[
            ("DATA_DIR", data.to_str().unwrap()),
            ("LEPTOS_SITE_ADDR", &addr),
            ("REDIS_URL", "redis://:canary-redis-pw@127.0.0.1:1"),
        ],
    );
    assert_fails_clearly(&output, "cannot connect to Redis (REDIS_URL)");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("canary-redis-pw"));
}

#[test]
fn production_refuses_the_marketplace_sandboxes() {
    let output = run(
        &[],
        &[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "sqlite::memory:"),
            ("APP_BASE_URL", "https://app.example.com"),
            (
                "ENCRYPTION_KEYS",
                &shopmarkets_core::config::keys::generate_entry("e1"),
            ),
            (
                "SIGNING_KEYS",
                &shopmarkets_core::config::keys::generate_entry("s1"),
            ),
            ("SMTP_URL", "smtp://mail.internal:587"),
            ("MAIL_FROM", "ShopMarkets <no-reply@example.com>"),
            ("CHANNEL_SANDBOXES", "on"),
        ],
    );
    assert_fails_clearly(&output, "CHANNEL_SANDBOXES");
    let output = run(&["sandbox"], &[("APP_ENV", "production")]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn the_sandbox_command_serves_the_marketplaces_and_keeps_their_state() {
    let data = temp_dir();
    let port = free_port();
    let state_file = data.join("sandboxes.json");
    let mut child = shopmarkets(
        &[
            "sandbox",
            "--port",
            &port.to_string(),
            "--state-file",
            state_file.to_str().unwrap(),
        ],
        &[("DATA_DIR", data.to_str().unwrap())],
    )
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let state = loop {
        if let Ok(body) = http_get(port, "/kaufland/_sandbox/state") {
            break body;
        }
        assert!(Instant::now() < deadline, "the sandboxes did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(state.starts_with("HTTP/1.1 200"), "{state}");
    assert!(state.contains("\"sandbox\":\"kaufland\""), "{state}");
    let index = http_get(port, "/").unwrap();
    for name in [
        "Shopify",
        "WooCommerce",
        "Amazon",
        "eBay",
        "Kaufland",
        "Etsy",
    ] {
        assert!(index.contains(name), "{name} missing: {index}");
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the sandboxes did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(child.wait().unwrap().success());
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    assert!(saved.get("shopify").is_some() && saved.get("etsy").is_some());
}
