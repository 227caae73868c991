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
        (
            "SMTP_URL",
            "smtp://mailer:secret@mail.internal:587?tls=required",
        ),
        ("MAIL_FROM", "ShopMarkets <no-reply@example.com>"),
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

#[test]
fn api_cors_origins_default_to_none_and_accept_exact_origins() {
    let config = Config::from_vars(&production()).unwrap();
    assert!(config.api_cors_origins.is_empty());

    let mut v = production();
    v.insert(
        "API_CORS_ORIGINS".into(),
        " https://ERP.example.com , http://127.0.0.1:8080,https://erp.example.com,https://a.example:443,http://[0:0::1]:3000"
            .into(),
    );
    let config = Config::from_vars(&v).unwrap();
    assert_eq!(
        config.api_cors_origins,
        [
            "https://erp.example.com",
            "http://127.0.0.1:8080",
            "https://a.example",
            "http://[::1]:3000"
        ]
    );
}

#[test]
fn api_cors_origins_refuse_wildcards_null_paths_and_other_schemes() {
    for bad in [
        "*",
        "https://*.canary.test",
        "null",
        "https://erp.canary.test/",
        "https://erp.canary.test/api",
        "https://erp.canary.test?x=1",
        "https://user@erp.canary.test",
        "ftp://erp.canary.test",
        "erp.canary.test",
        "https://",
        "https://erp.canary.test:0",
        "https://erp.canary.test:99999",
        "https://erp.canary.test:80x",
        "https://-canary-.test",
        "https://[not-v6]",
        "https://ok.canary.test,https://canary host",
    ] {
        let mut v = production();
        v.insert("API_CORS_ORIGINS".into(), bad.into());
        let err = Config::from_vars(&v).unwrap_err();
        assert_eq!(err.variable(), Some("API_CORS_ORIGINS"), "{bad}: {err}");
        let text = err.to_string();
        assert!(!text.contains("canary"), "{bad}: {text} echoes the value");
    }
}

#[test]
fn mail_settings_are_checked_and_required_in_production() {
    let config = Config::from_vars(&production()).unwrap();
    assert!(config.smtp_url.is_some());
    assert!(
        !format!("{config:?}").contains("secret@mail"),
        "the SMTP password stays hidden"
    );
    for (var, value, message) in [
        ("SMTP_URL", "", "SMTP_URL is not set"),
        ("SMTP_URL", "http://mail.example.com", "SMTP_URL"),
        ("MAIL_FROM", "", "MAIL_FROM is not set"),
        ("MAIL_FROM", "nobody", "MAIL_FROM"),
    ] {
        let mut vars = production();
        vars.insert(var.to_owned(), value.to_owned());
        let err = Config::from_vars(&vars).unwrap_err().to_string();
        assert!(err.contains(message), "{var}={value}: {err}");
    }
    let development = Config::from_vars(&vars(&[
        ("ENCRYPTION_KEYS", &keys::generate_entry("e1")),
        ("SIGNING_KEYS", &keys::generate_entry("s1")),
    ]))
    .unwrap();
    assert!(development.smtp_url.is_none());
    assert_eq!(development.mail_from, "ShopMarkets <no-reply@localhost>");
    assert_eq!(development.session_idle_minutes, 30);
    assert_eq!(development.session_absolute_hours, 12);
}

#[test]
fn media_settings_default_to_a_local_directory_and_parse_s3_and_cdn() {
    let development = Config::from_vars(&vars(&[
        ("DATA_DIR", "/srv/shopmarkets"),
        ("ENCRYPTION_KEYS", &keys::generate_entry("e1")),
        ("SIGNING_KEYS", &keys::generate_entry("s1")),
    ]))
    .unwrap();
    assert_eq!(
        development.media_store,
        MediaStoreLocation::Local("/srv/shopmarkets/media".into())
    );
    assert_eq!(development.cdn_base_url, None);
    assert_eq!(development.media_quota_mb, 1024);

    let mut v = production();
    v.insert("MEDIA_STORE".into(), "s3://shop-media/images/".into());
    v.insert(
        "AWS_SECRET_ACCESS_KEY".into(),
        "canary-aws-secret-7c1e".into(),
    );
    v.insert(
        "AWS_ENDPOINT".into(),
        "https://fsn1.your-objectstorage.com".into(),
    );
    v.insert(
        "CDN_BASE_URL".into(),
        "https://cdn.example.com/media/".into(),
    );
    v.insert("MEDIA_QUOTA_MB".into(), "5120".into());
    let config = Config::from_vars(&v).unwrap();
    let MediaStoreLocation::S3 {
        bucket,
        prefix,
        options,
    } = &config.media_store
    else {
        panic!("an S3 store: {:?}", config.media_store);
    };
    assert_eq!(
        (bucket.as_str(), prefix.as_deref()),
        ("shop-media", Some("images"))
    );
    assert_eq!(
        options.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["AWS_ENDPOINT", "AWS_SECRET_ACCESS_KEY"]
    );
    assert!(!format!("{config:?}").contains("canary-aws-secret"));
    assert_eq!(
        config.cdn_base_url.as_deref(),
        Some("https://cdn.example.com/media")
    );
    assert_eq!(config.media_quota_mb, 5120);

    for (var, value) in [
        ("MEDIA_STORE", "s3://"),
        ("MEDIA_STORE", "s3://Shop_Media"),
        ("MEDIA_STORE", "s3://shop-media/../x"),
        ("MEDIA_STORE", "gs://shop-media"),
        ("CDN_BASE_URL", "http://cdn.example.com"),
        ("CDN_BASE_URL", "https://cdn.example.com/m?x=1"),
        ("CDN_BASE_URL", "cdn.example.com"),
        ("MEDIA_QUOTA_MB", "0"),
        ("MEDIA_QUOTA_MB", "lots"),
    ] {
        let mut v = production();
        v.insert(var.to_owned(), value.to_owned());
        let err = Config::from_vars(&v).unwrap_err();
        assert_eq!(err.variable(), Some(var), "{var}={value}: {err}");
    }
}

#[test]
fn development_points_every_channel_at_the_sandboxes() {
    let config = Config::from_vars(&vars(&[
        ("ENCRYPTION_KEYS", &keys::generate_entry("e1")),
        ("SIGNING_KEYS", &keys::generate_entry("s1")),
    ]))
    .unwrap();
    let sandboxes = config
        .channels
        .sandboxes
        .as_ref()
        .expect("sandboxes on by default");
    assert_eq!(sandboxes.base_url(), "http://127.0.0.1:3100");
    assert_eq!(
        config.channels.shopify_admin_url("demo.myshopify.com"),
        "http://127.0.0.1:3100/shopify/demo.myshopify.com"
    );
    assert_eq!(
        config.channels.endpoint("ETSY_API_URL"),
        Some("http://127.0.0.1:3100/etsy")
    );
    assert_eq!(config.channels.extra_ca_cert, None);
}

#[test]
fn production_talks_to_the_real_marketplaces() {
    let config = Config::from_vars(&production()).unwrap();
    assert_eq!(config.channels.sandboxes, None);
    assert_eq!(
        config.channels.shopify_admin_url("demo.myshopify.com"),
        "https://demo.myshopify.com"
    );
    assert_eq!(
        config.channels.endpoint("AMAZON_LWA_URL"),
        Some("https://api.amazon.com")
    );
    assert_eq!(
        config.channels.endpoint("KAUFLAND_API_URL"),
        Some("https://sellerapi.kaufland.com")
    );
}

#[test]
fn production_refuses_sandbox_endpoints_and_names_the_variable() {
    let mut v = production();
    v.insert("CHANNEL_SANDBOXES".into(), "on".into());
    assert_eq!(
        Config::from_vars(&v).unwrap_err().variable(),
        Some("CHANNEL_SANDBOXES")
    );
    for (var, url) in [
        ("EBAY_API_URL", "https://127.0.0.1:3100/ebay"),
        ("ETSY_API_URL", "https://localhost/etsy"),
        (
            "SHOPIFY_ADMIN_URL",
            "https://proxy.example.com/sandbox/shopify/{shop}",
        ),
        ("AMAZON_SP_API_URL", "https://[::1]:8443"),
        ("KAUFLAND_API_URL", "http://sellerapi.kaufland.com"),
    ] {
        let mut v = production();
        v.insert(var.into(), url.into());
        let err = Config::from_vars(&v).unwrap_err();
        assert_eq!(err.variable(), Some(var), "{url}: {err}");
    }
    let mut regional = production();
    regional.insert(
        "AMAZON_SP_API_URL".into(),
        "https://sellingpartnerapi-na.amazon.com/".into(),
    );
    let config = Config::from_vars(&regional).unwrap();
    assert_eq!(
        config.channels.endpoint("AMAZON_SP_API_URL"),
        Some("https://sellingpartnerapi-na.amazon.com")
    );
}

#[test]
fn sandbox_settings_and_extra_ca_are_checked() {
    let base = [
        ("ENCRYPTION_KEYS", keys::generate_entry("e1")),
        ("SIGNING_KEYS", keys::generate_entry("s1")),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut v: Vars = base
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        for (k, val) in extra {
            v.insert((*k).to_owned(), (*val).to_owned());
        }
        Config::from_vars(&v)
    };
    assert_eq!(
        with(&[("SANDBOX_ADDR", "nowhere")]).unwrap_err().variable(),
        Some("SANDBOX_ADDR")
    );
    assert_eq!(
        with(&[("EXTRA_CA_CERT", "/nonexistent/ca.pem")])
            .unwrap_err()
            .variable(),
        Some("EXTRA_CA_CERT")
    );
    let tls = with(&[("SANDBOX_TLS", "on"), ("SANDBOX_ADDR", "127.0.0.1:4443")]).unwrap();
    let sandboxes = tls.channels.sandboxes.clone().unwrap();
    assert_eq!(sandboxes.base_url(), "https://127.0.0.1:4443");
    assert_eq!(tls.channels.extra_ca_cert, sandboxes.ca_file());
    let off = with(&[("CHANNEL_SANDBOXES", "off")]).unwrap();
    assert_eq!(off.channels.sandboxes, None);
    assert_eq!(
        off.channels.endpoint("ETSY_API_URL"),
        Some("https://api.etsy.com")
    );
}

#[test]
fn app_registrations_come_whole_or_not_at_all() {
    let mut v = production();
    v.insert("ETSY_KEYSTRING".into(), "etsykeystring".into());
    v.insert("ETSY_SHARED_SECRET".into(), "etsysecret".into());
    v.insert("EBAY_CLIENT_ID".into(), "ShopMark-Prod-PRD-1".into());
    v.insert("EBAY_CLIENT_SECRET".into(), "PRD-secret".into());
    v.insert("EBAY_RU_NAME".into(), "ShopMarkets-Prod-RuName".into());
    let config = Config::from_vars(&v).unwrap();
    let etsy = &config.channels.apps[&shopmarkets_types::Marketplace::Etsy];
    assert_eq!(etsy.client_id, "etsykeystring");
    assert_eq!(format!("{:?}", etsy.client_secret), "[redacted]");
    let ebay = &config.channels.apps[&shopmarkets_types::Marketplace::Ebay];
    assert_eq!(ebay.extra("ru_name"), Some("ShopMarkets-Prod-RuName"));
    assert!(
        !config
            .channels
            .apps
            .contains_key(&shopmarkets_types::Marketplace::Shopify),
        "a marketplace without registration is simply not connectable"
    );

    let mut half = production();
    half.insert("SHOPIFY_CLIENT_ID".into(), "abc".into());
    assert_eq!(
        Config::from_vars(&half).unwrap_err().variable(),
        Some("SHOPIFY_CLIENT_SECRET")
    );
    let mut no_ru_name = production();
    no_ru_name.insert("EBAY_CLIENT_ID".into(), "id".into());
    no_ru_name.insert("EBAY_CLIENT_SECRET".into(), "secret".into());
    assert_eq!(
        Config::from_vars(&no_ru_name).unwrap_err().variable(),
        Some("EBAY_RU_NAME")
    );
}
