//! The control API every sandbox shares: state, faults, clock, snapshots, the index page.

mod common;

use common::Harness;
use serde_json::json;

#[tokio::test]
async fn every_sandbox_answers_its_state_and_page() {
    let h = Harness::start().await;
    let index = h.http.get(&h.base).send().await.unwrap();
    assert_eq!(index.status(), 200);
    let index = index.text().await.unwrap();
    for id in [
        "shopify",
        "woocommerce",
        "amazon",
        "ebay",
        "kaufland",
        "etsy",
    ] {
        assert!(
            index.contains(&format!("{}/{id}/_sandbox", h.base)),
            "{index}"
        );
        let state = h.state(id).await;
        assert_eq!(state["sandbox"], id);
        assert!(state["calls"].is_array());
        let page = h
            .http
            .get(format!("{}/_sandbox", h.url(id)))
            .header("accept-language", "de-DE")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let page = page.text().await.unwrap();
        assert!(page.contains("Testbestellung aufgeben"), "{page}");
    }
}

#[tokio::test]
async fn faults_are_validated_and_the_clock_only_moves_forward() {
    let h = Harness::start().await;
    let bad = h
        .http
        .put(format!("{}/_sandbox/faults", h.url("shopify")))
        .json(&json!({ "error_rate": 2.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("error_rate"));
    let unknown = h
        .http
        .put(format!("{}/_sandbox/faults", h.url("shopify")))
        .json(&json!({ "eror_rate": 0.5 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unknown.status(),
        422,
        "unknown fields are refused, not ignored"
    );

    h.set_faults("etsy", json!({ "latency_ms": 5, "drop_rate": 0.5 }))
        .await;
    let state = h.state("etsy").await;
    assert_eq!(state["faults"]["latency_ms"], 5);
    assert_eq!(state["faults"]["drop_rate"], 0.5);
    assert_eq!(
        h.state("shopify").await["faults"]["latency_ms"],
        0,
        "faults are per sandbox"
    );

    h.advance_clock("amazon", 301).await;
    assert_eq!(h.state("amazon").await["clock_offset_secs"], 301);
}

#[tokio::test]
async fn a_snapshot_survives_a_restart() {
    let h = Harness::start().await;
    let dir = std::env::temp_dir().join(format!("sandbox-snapshot-{}", std::process::id()));
    let file = dir.join("sandboxes.json");
    h.sandboxes.save(&file).unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    for id in [
        "shopify",
        "woocommerce",
        "amazon",
        "ebay",
        "kaufland",
        "etsy",
    ] {
        assert!(saved.get(id).is_some(), "{id} missing from the snapshot");
    }
    let again = Harness::start().await;
    assert!(again.sandboxes.load(&file).unwrap());
    assert_eq!(again.sandboxes.snapshot(), h.sandboxes.snapshot());
    assert!(!again.sandboxes.load(&dir.join("missing.json")).unwrap());
    std::fs::write(&file, "{ not json").unwrap();
    assert!(
        again.sandboxes.load(&file).is_err(),
        "a damaged snapshot is an error, not a silent reset"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
