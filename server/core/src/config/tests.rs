use super::*;

fn vars(pairs: &[(&str, &str)]) -> Vars {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn production() -> Vars {
    vars(&[
        ("APP_ENV", "production"),
        (
            "DATABASE_URL",
            "postgres://shop:pw@db.internal:5432/shopmarkets",
        ),
        ("APP_BASE_URL", "https://app.example.com"),
        ("ENCRYPTION_KEYS", &keys::generate_entry("e1")),
        ("SIGNING_KEYS", &keys::generate_entry("s1")),
    ])
}

#[test]
fn production_with_everything_set_starts() {
    let config = Config::from_vars(&production()).unwrap();
    assert_eq!(config.env, AppEnv::Production);
    assert_eq!(config.log_format, LogFormat::Json);
    assert_eq!(config.encryption_keys.current().id(), "e1");
    assert_eq!(
        config.public_url.unwrap().as_str(),
        "https://app.example.com"
    );
}

#[test]
fn production_refuses_missing_or_empty_secrets_and_names_them() {
    for var in [
        "ENCRYPTION_KEYS",
        "SIGNING_KEYS",
        "DATABASE_URL",
        "APP_BASE_URL",
    ] {
        let mut v = production();
        v.remove(var);
        let err = Config::from_vars(&v).unwrap_err();
        assert_eq!(err.variable(), Some(var), "{err}");
        assert!(err.to_string().starts_with(var), "{err}");

        v.insert(var.to_owned(), "   ".to_owned());
        assert_eq!(Config::from_vars(&v).unwrap_err().variable(), Some(var));
    }
}

#[test]
fn production_refuses_short_keys_without_echoing_them() {
    let mut v = production();
    let short = "k1:c2hvcnQtc2VjcmV0LXZhbHVl"; // 19 bytes
    v.insert("SIGNING_KEYS".into(), short.into());
    let err = Config::from_vars(&v).unwrap_err();
    assert_eq!(err.variable(), Some("SIGNING_KEYS"));
    let text = err.to_string();
    assert!(text.contains("at least 32"), "{text}");
    assert!(!text.contains("c2hvcnQtc2VjcmV0LXZhbHVl"), "{text}");
}

#[test]
fn production_requires_https_origin() {
    let mut v = production();
    v.insert("APP_BASE_URL".into(), "http://app.example.com".into());
    assert_eq!(
        Config::from_vars(&v).unwrap_err().variable(),
        Some("APP_BASE_URL")
    );
    v.insert("APP_BASE_URL".into(), "https://app.example.com/path".into());
    assert_eq!(
        Config::from_vars(&v).unwrap_err().variable(),
        Some("APP_BASE_URL")
    );
}

#[test]
fn invalid_values_are_named_without_their_value() {
    let cases = [
        ("APP_ENV", "staging"),
        ("DATABASE_URL", "mysql://root:hunter2@db/shop"),
        ("LOG_FORMAT", "xml"),
        ("REQUEST_TIMEOUT_SECS", "soon"),
        ("REQUEST_TIMEOUT_SECS", "9999"),
        ("METRICS_TOKEN", "tiny-7"),
        ("REDIS_URL", "http://cache.internal:6379"),
        ("TRUSTED_PROXY_HOPS", "17"),
    ];
    for (var, value) in cases {
        let mut v = production();
        v.insert(var.into(), value.into());
        let err = Config::from_vars(&v).unwrap_err();
        assert_eq!(err.variable(), Some(var), "{err}");
        assert!(!err.to_string().contains(value), "{err} echoes the value");
    }
}

#[test]
fn development_defaults_to_sqlite_under_data_dir() {
    let mut v = vars(&[("DATA_DIR", "/srv/sm")]);
    v.insert("ENCRYPTION_KEYS".into(), keys::generate_entry("d"));
    v.insert("SIGNING_KEYS".into(), keys::generate_entry("d"));
    let config = Config::from_vars(&v).unwrap();
    assert_eq!(config.env, AppEnv::Development);
    assert_eq!(config.log_format, LogFormat::Pretty);
    assert!(config.public_url.is_none());
    assert_eq!(
        config.database_url.expose(),
        "sqlite:///srv/sm/shopmarkets.db?mode=rwc"
    );
    assert_eq!(config.request_timeout, Duration::from_secs(30));
}

#[test]
fn debug_output_of_config_holds_no_secret() {
    let mut v = production();
    v.insert(
        "SENTRY_DSN".into(),
        "https://canarykey@sentry.example/1".into(),
    );
    v.insert(
        "METRICS_TOKEN".into(),
        "canary-metrics-token-0123456789".into(),
    );
    let config = Config::from_vars(&v).unwrap();
    let debug = format!("{config:?}");
    for secret in [
        "canarykey",
        "canary-metrics-token",
        "pw@",
        v["ENCRYPTION_KEYS"].split(':').nth(1).unwrap(),
        v["SIGNING_KEYS"].split(':').nth(1).unwrap(),
    ] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
    }
}

#[test]
fn public_url_accepts_origins_only() {
    assert!(PublicUrl::parse("https://shop.example.com:8443/").is_ok());
    for bad in [
        "ftp://x",
        "https://",
        "https://a/b",
        "https://u@h",
        "example.com",
    ] {
        assert!(PublicUrl::parse(bad).is_err(), "{bad}");
    }
}
