//! The marketplace client over TLS, as production talks to the marketplaces: the sandboxes
//! serve HTTPS with a certificate generated at start, and the client trusts it only when
//! `EXTRA_CA_CERT` names it.

use std::sync::Arc;

use shopmarkets_core::channels::http;
use shopmarkets_core::testing;
use shopmarkets_sandbox::{Apps, SandboxConfig, Sandboxes, SelfSigned};

async fn tls_sandbox() -> (String, SelfSigned) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    let sandboxes = Arc::new(Sandboxes::new(SandboxConfig::new(&base, Apps::generated())));
    let cert = SelfSigned::generate(&[]).unwrap();
    tokio::spawn(shopmarkets_sandbox::serve(
        listener,
        sandboxes.router(),
        Some(cert.clone()),
    ));
    (base, cert)
}

#[tokio::test]
async fn the_client_trusts_the_extra_ca_and_nothing_else() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let (base, cert) = tls_sandbox().await;
    let state = format!("{base}/etsy/_sandbox/state");

    let plain = http::client(&testing::config(&[]).channels).unwrap();
    let refused = plain.get(&state).send().await;
    assert!(
        refused.is_err(),
        "a self-signed certificate must not be trusted by default"
    );

    let dir = std::env::temp_dir().join(format!("sm-ca-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("sandbox-ca.pem");
    std::fs::write(&ca, &cert.cert_pem).unwrap();
    let config = testing::config(&[("EXTRA_CA_CERT", ca.to_str().unwrap())]);
    let trusting = http::client(&config.channels).unwrap();
    let response = trusting.get(&state).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["sandbox"], "etsy");

    std::fs::write(&ca, "not a certificate").unwrap();
    let err = http::client(&config.channels).unwrap_err();
    assert!(err.to_string().contains("EXTRA_CA_CERT"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
