//! The product list and the price rules over HTTP, through the whole router on SQLite, signed in
//! through `/api/login`: search by title and SKU prefix, the stock filter, keyset pages, bulk
//! price changes typed in German notation, bulk stock changes, bulk deletion; a viewer is
//! refused every change (403) and sees the list without selection; another organization's
//! product in a selection is 404 and nothing changes; price rules save with the version read
//! and a stale version is a conflict. Products are created through `shopmarkets_core::catalog`.

mod common;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use common::{Browser, TestApp, on_shared_runtime};
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};
use shopmarkets_core::{
    Db,
    access::{AccessError, Scope},
    catalog::{self, CatalogError, Condition, Dimensions, NewProduct, NewVariant, ProductContent},
    entity::membership::{self, Role},
    organizations,
    testing::confirmed_user,
};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple 42";

/// A variant: SKU, price in cents (EUR) and stock on hand. The value types are read through
/// serde, as the browser would send them.
fn variant(sku: &str, cents: i64, on_hand: i64) -> NewVariant {
    NewVariant {
        sku: serde_json::from_value(json!(sku)).expect("a valid SKU"),
        gtin: None,
        option_values: Vec::new(),
        price: serde_json::from_value(json!({ "minor": cents, "currency": "EUR" }))
            .expect("a valid price"),
        on_hand,
    }
}

/// A product without options (one variant) or with a "Größe" axis (several).
fn product(title: &str, category: Option<&str>, variants: Vec<NewVariant>) -> NewProduct {
    let several = variants.len() > 1;
    let variants = variants
        .into_iter()
        .enumerate()
        .map(|(i, mut v)| {
            if several {
                v.option_values = vec![format!("Größe {i}")];
            }
            v
        })
        .collect();
    NewProduct {
        content: ProductContent {
            title: title.to_owned(),
            brand: Some("Muster".to_owned()),
            description_html: String::new(),
            category: category.map(str::to_owned),
            condition: Condition::New,
            weight_grams: None,
            dimensions: Dimensions::default(),
            attributes: Vec::new(),
        },
        option_names: if several {
            vec!["Größe".to_owned()]
        } else {
            Vec::new()
        },
        variants,
    }
}

/// Creates a product in the scope's organization; returns its id.
async fn create(db: &Db, scope: &Scope, new: NewProduct, age_minutes: i64) -> Uuid {
    let at = Utc::now() - Duration::minutes(age_minutes);
    catalog::create_product(db, scope, new, at, None)
        .await
        .expect("create the product")
        .product
        .id
}

/// The variants' prices of a product, in cents, in variant order.
async fn prices(db: &Db, scope: &Scope, id: Uuid) -> Vec<i64> {
    catalog::get_product(db, scope, id)
        .await
        .expect("the product")
        .variants
        .iter()
        .map(|v| v.price_minor)
        .collect()
}

async fn on_hand(db: &Db, scope: &Scope, id: Uuid) -> Vec<i64> {
    catalog::get_product(db, scope, id)
        .await
        .expect("the product")
        .variants
        .iter()
        .map(|v| v.on_hand)
        .collect()
}

async fn home_organization(db: &Db, user_id: Uuid) -> Uuid {
    organizations::default_organization(db, user_id)
        .await
        .unwrap()
        .expect("an organization")
        .organization_id
}

/// Alice owns organization A (signed in, working in A); Bob owns B.
struct World<'a> {
    db: Db,
    alice: Browser<'a>,
    scope_a: Scope,
    scope_b: Scope,
}

async fn world(app: &TestApp) -> World<'_> {
    let db = app.db.clone();
    let alice_id = confirmed_user(&db, "alice@example.com", PASSWORD).await;
    let bob_id = confirmed_user(&db, "bob@example.com", PASSWORD).await;
    let org_a = home_organization(&db, alice_id).await;
    let org_b = home_organization(&db, bob_id).await;
    let scope_a = Scope::for_member(&db, alice_id, org_a).await.unwrap();
    let scope_b = Scope::for_member(&db, bob_id, org_b).await.unwrap();
    let alice = app.signed_in("alice@example.com", PASSWORD).await;
    World {
        db,
        alice,
        scope_a,
        scope_b,
    }
}

/// Carol, a viewer in organization A, signed in and working in A.
async fn viewer<'a>(app: &'a TestApp, scope_a: &Scope) -> Browser<'a> {
    let carol_id = confirmed_user(&app.db, "carol@example.com", PASSWORD).await;
    membership::ActiveModel {
        organization_id: Set(scope_a.organization_id()),
        user_id: Set(carol_id),
        role: Set(Role::Viewer),
        created_at: Set(Utc::now()),
    }
    .insert(&app.db)
    .await
    .unwrap();
    let mut carol = app.signed_in("carol@example.com", PASSWORD).await;
    let organization_id = scope_a.organization_id().to_string();
    let (status, body) = carol
        .call(
            "switch_organization",
            &[("organization_id", organization_id.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    carol
}

/// The list as the page asks for it.
async fn list(browser: &mut Browser<'_>, form: &[(&str, &str)]) -> Value {
    let (status, body) = browser.call("product_list", form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn titles(page: &Value) -> Vec<String> {
    page["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| row["title"].as_str().unwrap().to_owned())
        .collect()
}

/// A form with the selection as the bulk bar sends it (`ids[]` once per product).
fn with_ids<'a>(ids: &'a [String], rest: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form: Vec<(&str, &str)> = ids.iter().map(|id| ("ids[]", id.as_str())).collect();
    form.extend_from_slice(rest);
    form
}

#[test]
fn search_finds_titles_and_sku_prefixes_and_filters_by_stock_and_category() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let World {
            db,
            mut alice,
            scope_a,
            scope_b,
        } = world(&app).await;
        create(
            &db,
            &scope_a,
            product(
                "Kaffeetasse",
                Some("Küche > Tassen"),
                vec![variant("MUG-RED", 1299, 5)],
            ),
            3,
        )
        .await;
        create(
            &db,
            &scope_a,
            product("Teekanne", Some("Küche"), vec![variant("POT-1", 2999, 0)]),
            2,
        )
        .await;
        create(
            &db,
            &scope_a,
            product(
                "Frühstücksbrett",
                Some("Garten"),
                vec![variant("BRD-OAK-S", 1500, 2), variant("BRD-OAK-L", 1900, 0)],
            ),
            1,
        )
        .await;
        // Another organization's product never shows up.
        create(
            &db,
            &scope_b,
            product("Kaffeetasse von B", None, vec![variant("MUG-B", 999, 1)]),
            0,
        )
        .await;

        let all = list(&mut alice, &[]).await;
        assert_eq!(
            titles(&all),
            ["Frühstücksbrett", "Teekanne", "Kaffeetasse"],
            "newest change first"
        );
        assert_eq!(all["can_edit"], json!(true));
        assert_eq!(all["filtered"], json!(false));
        assert_eq!(all["next"], Value::Null);
        let board = &all["rows"][0];
        assert_eq!(board["variants"], json!(2));
        assert_eq!(
            (&board["available"], &board["on_hand"]),
            (&json!(2), &json!(2))
        );
        assert_eq!(
            board["lowest_price"],
            json!({ "minor": 1500, "currency": "EUR" })
        );
        assert_eq!(
            board["updated_on"].as_str().map(str::len),
            Some("2026-01-01".len())
        );

        // Title (any part, any case) and the start of a SKU.
        assert_eq!(
            titles(&list(&mut alice, &[("q", "TASSE")]).await),
            ["Kaffeetasse"]
        );
        assert_eq!(
            titles(&list(&mut alice, &[("q", "pot")]).await),
            ["Teekanne"]
        );
        assert_eq!(
            titles(&list(&mut alice, &[("q", "brd-oak")]).await),
            ["Frühstücksbrett"]
        );
        // The middle of a SKU is not a prefix.
        assert!(titles(&list(&mut alice, &[("q", "OAK")]).await).is_empty());
        let none = list(&mut alice, &[("q", "Schraube")]).await;
        assert!(titles(&none).is_empty());
        assert_eq!(none["filtered"], json!(true));

        assert_eq!(
            titles(&list(&mut alice, &[("stock", "out_of_stock")]).await),
            ["Teekanne"]
        );
        assert_eq!(
            titles(&list(&mut alice, &[("stock", "in_stock")]).await),
            ["Frühstücksbrett", "Kaffeetasse"]
        );
        // Anything else is all.
        assert_eq!(
            titles(&list(&mut alice, &[("stock", "all")]).await).len(),
            3
        );
        assert_eq!(
            titles(&list(&mut alice, &[("category", "Küche")]).await),
            ["Teekanne", "Kaffeetasse"]
        );
        assert_eq!(
            titles(
                &list(
                    &mut alice,
                    &[("q", "tasse"), ("stock", "in_stock"), ("category", "Küche")]
                )
                .await
            ),
            ["Kaffeetasse"]
        );

        // The page renders on the server with the query from the URL: a bookmark works
        // before (and without) the page's script.
        let (status, html) = alice.page("/products?q=tasse&stock=in_stock").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Kaffeetasse"), "{html}");
        assert!(!html.contains("Teekanne"));
        assert!(!html.contains("Kaffeetasse von B"));
        assert!(html.contains(r#"id="product-search""#));
        assert!(html.contains(r#"value="tasse""#));
        assert!(
            html.contains(r#"data-testid="product-select""#),
            "editors select rows"
        );
        assert!(html.contains(r#"href="/products/new""#));
        assert!(html.contains("/products/export.csv?delimiter=semicolon"));
        assert!(html.contains(r#"href="/settings/price-rules""#));
    });
}

#[test]
fn pages_follow_the_cursor_and_a_broken_cursor_starts_over() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let World {
            db,
            mut alice,
            scope_a,
            ..
        } = world(&app).await;
        for i in 0..52 {
            create(
                &db,
                &scope_a,
                product(
                    &format!("Produkt {i:02}"),
                    None,
                    vec![variant(&format!("P-{i:02}"), 100, 1)],
                ),
                100 - i,
            )
            .await;
        }

        let first = list(&mut alice, &[]).await;
        let first_titles = titles(&first);
        assert_eq!(first_titles.len(), 50);
        assert_eq!(first_titles[0], "Produkt 51");
        assert_eq!(first["paged"], json!(false));
        let next = first["next"].as_str().expect("a next page").to_owned();

        let second = list(&mut alice, &[("after", &next)]).await;
        assert_eq!(titles(&second), ["Produkt 01", "Produkt 00"]);
        assert_eq!(second["next"], Value::Null);
        assert_eq!(second["paged"], json!(true));

        // The links on the server-rendered page carry the cursor.
        let (status, html) = alice.page("/products").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"id="products-next""#));
        assert!(html.contains(&format!("/products?after={next}")), "{html}");
        let (_, html) = alice.page(&format!("/products?after={next}")).await;
        assert!(html.contains("Produkt 00"));
        assert!(html.contains(r#"id="products-first""#));
        assert!(!html.contains(r#"id="products-next""#));

        let broken = list(&mut alice, &[("after", "not-a-cursor")]).await;
        assert_eq!(broken["cursor_reset"], json!(true));
        assert_eq!(titles(&broken), first_titles);
    });
}

#[test]
fn bulk_price_changes_read_german_notation_and_stop_at_the_sku_that_cannot() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let World {
            db,
            mut alice,
            scope_a,
            ..
        } = world(&app).await;
        let shirt = create(
            &db,
            &scope_a,
            product(
                "Shirt",
                None,
                vec![variant("TS-S", 2000, 1), variant("TS-M", 1000, 1)],
            ),
            2,
        )
        .await;
        let mug = create(
            &db,
            &scope_a,
            product("Tasse", None, vec![variant("MUG-1", 400, 1)]),
            1,
        )
        .await;
        let ids = [shirt.to_string(), mug.to_string()];

        // −12,5 % in German notation: 20,00 → 17,50, 10,00 → 8,75, 4,00 → 3,50.
        let (status, body) = alice
            .call(
                "bulk_price",
                &with_ids(
                    &ids,
                    &[
                        ("mode", "percent"),
                        ("value", "-12,5"),
                        ("rounding", "none"),
                        ("locale", "de"),
                    ],
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({ "Done": { "products": 2, "variants": 3 } }));
        assert_eq!(prices(&db, &scope_a, shirt).await, [1750, 875]);
        assert_eq!(prices(&db, &scope_a, mug).await, [350]);

        // By amount, rounded up to .99: 17,50 + 1,50 = 19,00 → 19,99.
        let one = [shirt.to_string()];
        let (_, body) = alice
            .call(
                "bulk_price",
                &with_ids(
                    &one,
                    &[
                        ("mode", "amount"),
                        ("value", "1,50"),
                        ("rounding", "ending_99"),
                        ("locale", "de"),
                    ],
                ),
            )
            .await;
        assert_eq!(body, json!({ "Done": { "products": 1, "variants": 2 } }));
        assert_eq!(prices(&db, &scope_a, shirt).await, [1999, 1099]);

        // English notation when the page is English.
        let (_, body) = alice
            .call(
                "bulk_price",
                &with_ids(
                    &[mug.to_string()],
                    &[
                        ("mode", "percent"),
                        ("value", "100"),
                        ("rounding", "none"),
                        ("locale", "en"),
                    ],
                ),
            )
            .await;
        assert_eq!(body, json!({ "Done": { "products": 1, "variants": 1 } }));
        assert_eq!(prices(&db, &scope_a, mug).await, [700]);

        // −8,00 would take the mug below zero: nothing changes, and the answer names its SKU.
        let (_, body) = alice
            .call(
                "bulk_price",
                &with_ids(
                    &ids,
                    &[
                        ("mode", "amount"),
                        ("value", "-8,00"),
                        ("rounding", "none"),
                        ("locale", "de"),
                    ],
                ),
            )
            .await;
        assert_eq!(
            body,
            json!({ "Invalid": [{ "field": "sku:MUG-1", "error": { "code": "negative_amount" } }] })
        );
        assert_eq!(prices(&db, &scope_a, shirt).await, [1999, 1099]);
        assert_eq!(prices(&db, &scope_a, mug).await, [700]);

        // The value itself: unreadable, and beyond the limits of a price change.
        for (value, error) in [
            ("zehn", json!({ "code": "invalid_amount" })),
            ("12.5", json!({ "code": "invalid_amount" })),
            (
                "-100",
                json!({ "code": "out_of_range", "min": -99, "max": 1000 }),
            ),
        ] {
            let (_, body) = alice
                .call(
                    "bulk_price",
                    &with_ids(
                        &ids,
                        &[
                            ("mode", "percent"),
                            ("value", value),
                            ("rounding", "none"),
                            ("locale", "de"),
                        ],
                    ),
                )
                .await;
            assert_eq!(
                body,
                json!({ "Invalid": [{ "field": "value", "error": error }] }),
                "{value}"
            );
        }
        // No selection.
        let (_, body) = alice
            .call(
                "bulk_price",
                &[
                    ("mode", "percent"),
                    ("value", "5"),
                    ("rounding", "none"),
                    ("locale", "de"),
                ],
            )
            .await;
        assert_eq!(
            body,
            json!({ "Invalid": [{ "field": "selection", "error": { "code": "required" } }] })
        );
        assert_eq!(prices(&db, &scope_a, mug).await, [700]);
    });
}

#[test]
fn bulk_stock_and_bulk_delete() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let World {
            db,
            mut alice,
            scope_a,
            ..
        } = world(&app).await;
        let shirt = create(
            &db,
            &scope_a,
            product(
                "Shirt",
                None,
                vec![variant("TS-S", 2000, 4), variant("TS-M", 1000, 0)],
            ),
            3,
        )
        .await;
        let mug = create(
            &db,
            &scope_a,
            product("Tasse", None, vec![variant("MUG-1", 400, 2)]),
            2,
        )
        .await;
        let pot = create(
            &db,
            &scope_a,
            product("Kanne", None, vec![variant("POT-1", 900, 1)]),
            1,
        )
        .await;
        let ids = [shirt.to_string(), mug.to_string()];

        let (status, body) = alice
            .call(
                "bulk_stock",
                &with_ids(
                    &ids,
                    &[
                        ("mode", "adjust"),
                        ("quantity", "+3"),
                        ("reason", "received"),
                    ],
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({ "Done": { "products": 2, "variants": 3 } }));
        assert_eq!(on_hand(&db, &scope_a, shirt).await, [7, 3]);
        assert_eq!(on_hand(&db, &scope_a, mug).await, [5]);

        let (_, body) = alice
            .call(
                "bulk_stock",
                &with_ids(
                    &ids,
                    &[("mode", "set"), ("quantity", "5"), ("reason", "counted")],
                ),
            )
            .await;
        assert_eq!(
            body,
            json!({ "Done": { "products": 1, "variants": 2 } }),
            "the mug had 5"
        );
        assert_eq!(on_hand(&db, &scope_a, shirt).await, [5, 5]);

        // Writing off more than there is stops at the first SKU that would go below zero (the
        // shirt's variants go in their order).
        let (_, body) = alice
            .call(
                "bulk_stock",
                &with_ids(
                    &[shirt.to_string()],
                    &[
                        ("mode", "adjust"),
                        ("quantity", "-6"),
                        ("reason", "damaged"),
                    ],
                ),
            )
            .await;
        assert_eq!(body["Invalid"][0]["field"], json!("sku:TS-S"), "{body}");
        assert_eq!(on_hand(&db, &scope_a, shirt).await, [5, 5]);
        let (_, body) = alice
            .call(
                "bulk_stock",
                &with_ids(
                    &ids,
                    &[
                        ("mode", "set"),
                        ("quantity", "viele"),
                        ("reason", "counted"),
                    ],
                ),
            )
            .await;
        assert_eq!(
            body,
            json!({ "Invalid": [{ "field": "quantity", "error": { "code": "invalid_number" } }] })
        );

        let (status, body) = alice.call("bulk_delete", &with_ids(&ids, &[])).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({ "Done": { "products": 2, "variants": 3 } }));
        for gone in [shirt, mug] {
            assert!(matches!(
                catalog::get_product(&db, &scope_a, gone).await,
                Err(CatalogError::Access(AccessError::NotFound))
            ));
        }
        assert_eq!(titles(&list(&mut alice, &[]).await), ["Kanne"]);
        assert_eq!(on_hand(&db, &scope_a, pot).await, [1]);

        // Deleted ids are unknown ids now.
        let (status, _) = alice.call("bulk_delete", &with_ids(&ids, &[])).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    });
}

#[test]
fn a_viewer_sees_the_list_without_selection_and_may_change_nothing() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let World { db, scope_a, .. } = world(&app).await;
        let mug = create(
            &db,
            &scope_a,
            product("Tasse", None, vec![variant("MUG-1", 400, 2)]),
            1,
        )
        .await;
        let mut carol = viewer(&app, &scope_a).await;

        let page = list(&mut carol, &[]).await;
        assert_eq!(titles(&page), ["Tasse"]);
        assert_eq!(page["can_edit"], json!(false));
        let (status, html) = carol.page("/products").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Tasse"));
        assert!(
            !html.contains(r#"data-testid="product-select""#),
            "no checkboxes"
        );
        assert!(!html.contains(r#"id="bulk-actions""#), "no bulk bar");
        assert!(!html.contains(r#"href="/products/new""#), "no new product");

        let ids = [mug.to_string()];
        let attempts: [(&str, Vec<(&str, &str)>); 4] = [
            (
                "bulk_price",
                with_ids(
                    &ids,
                    &[("mode", "percent"), ("value", "10"), ("rounding", "none")],
                ),
            ),
            (
                "bulk_stock",
                with_ids(
                    &ids,
                    &[("mode", "set"), ("quantity", "0"), ("reason", "counted")],
                ),
            ),
            ("bulk_delete", with_ids(&ids, &[])),
            (
                "save_price_rule",
                vec![
                    ("marketplace", "amazon"),
                    ("percent", "15"),
                    ("rounding", "none"),
                ],
            ),
        ];
        for (function, form) in attempts {
            let (status, body) = carol.call(function, &form).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{function}: {body}");
        }
        assert_eq!(prices(&db, &scope_a, mug).await, [400]);
        assert_eq!(on_hand(&db, &scope_a, mug).await, [2]);

        let (status, rules) = carol.call("price_rules_overview", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(rules["can_edit"], json!(false));
        assert!(
            catalog::price_rules(&db, &scope_a)
                .await
                .unwrap()
                .is_empty()
        );

        // Signed out: nothing at all.
        let (status, _) = app.browser().call("product_list", &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    });
}

#[test]
fn another_organizations_product_in_a_selection_is_not_found_and_nothing_changes() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let World {
            db,
            mut alice,
            scope_a,
            scope_b,
        } = world(&app).await;
        let own = create(
            &db,
            &scope_a,
            product("Tasse", None, vec![variant("MUG-1", 400, 2)]),
            1,
        )
        .await;
        let theirs = create(
            &db,
            &scope_b,
            product("Kanne", None, vec![variant("POT-1", 900, 1)]),
            1,
        )
        .await;

        for ids in [
            [own.to_string(), theirs.to_string()],
            [own.to_string(), Uuid::new_v4().to_string()],
            [own.to_string(), "not-an-id".to_owned()],
        ] {
            let attempts: [(&str, Vec<(&str, &str)>); 3] = [
                (
                    "bulk_price",
                    with_ids(
                        &ids,
                        &[
                            ("mode", "percent"),
                            ("value", "10"),
                            ("rounding", "none"),
                            ("locale", "de"),
                        ],
                    ),
                ),
                (
                    "bulk_stock",
                    with_ids(
                        &ids,
                        &[("mode", "set"), ("quantity", "9"), ("reason", "counted")],
                    ),
                ),
                ("bulk_delete", with_ids(&ids, &[])),
            ];
            for (function, form) in attempts {
                let (status, body) = alice.call(function, &form).await;
                assert_eq!(status, StatusCode::NOT_FOUND, "{function} {ids:?}: {body}");
            }
        }
        assert_eq!(prices(&db, &scope_a, own).await, [400]);
        assert_eq!(on_hand(&db, &scope_a, own).await, [2]);
        assert_eq!(prices(&db, &scope_b, theirs).await, [900]);
        assert_eq!(on_hand(&db, &scope_b, theirs).await, [1]);
    });
}

#[test]
fn price_rules_save_with_the_version_read_and_a_stale_version_conflicts() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        let World {
            db,
            mut alice,
            scope_a,
            ..
        } = world(&app).await;

        let (status, overview) = alice.call("price_rules_overview", &[]).await;
        assert_eq!(status, StatusCode::OK, "{overview}");
        assert_eq!(overview["can_edit"], json!(true));
        let rules = overview["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 6, "one row per marketplace");
        assert_eq!(
            rules[2],
            json!({
                "marketplace": "amazon",
                "rule": { "percent_basis_points": 0, "add_minor": 0, "rounding": "none" },
                "version": null,
            })
        );

        let save = |percent: &'static str, add: &'static str, version: &'static str| {
            vec![
                ("marketplace", "amazon"),
                ("percent", percent),
                ("add", add),
                ("rounding", "ending_99"),
                ("version", version),
                ("locale", "de"),
            ]
        };
        let (status, body) = alice.call("save_price_rule", &save("15", "0,50", "")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            json!({ "Saved": {
                "marketplace": "amazon",
                "rule": { "percent_basis_points": 1500, "add_minor": 50, "rounding": "ending_99" },
                "version": 1,
            } })
        );

        // A second tab that still saw no rule is too late.
        let (_, body) = alice.call("save_price_rule", &save("20", "", "")).await;
        assert_eq!(body, json!("Conflict"));
        let (_, body) = alice.call("save_price_rule", &save("-5,5", "", "1")).await;
        assert_eq!(body["Saved"]["rule"]["percent_basis_points"], json!(-550));
        assert_eq!(body["Saved"]["rule"]["add_minor"], json!(0));
        assert_eq!(body["Saved"]["version"], json!(2));
        let (_, body) = alice.call("save_price_rule", &save("30", "", "1")).await;
        assert_eq!(body, json!("Conflict"));

        // Unreadable or out-of-range values name their field; nothing is stored.
        let (_, body) = alice
            .call("save_price_rule", &save("viel", "1.50", "2"))
            .await;
        assert_eq!(
            body,
            json!({ "Invalid": [
                { "field": "percent", "error": { "code": "invalid_amount" } },
                { "field": "add", "error": { "code": "invalid_amount" } },
            ] })
        );
        let (_, body) = alice.call("save_price_rule", &save("-100", "", "2")).await;
        assert_eq!(body["Invalid"][0]["field"], json!("percent"), "{body}");

        let stored = catalog::price_rules(&db, &scope_a).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(
            (stored[0].rule.percent_basis_points, stored[0].version),
            (-550, 2)
        );

        // "0 %, nothing added, no rounding" removes the rule.
        let (_, body) = alice
            .call(
                "save_price_rule",
                &[
                    ("marketplace", "amazon"),
                    ("percent", "0"),
                    ("add", ""),
                    ("rounding", "none"),
                    ("version", "2"),
                ],
            )
            .await;
        assert_eq!(body["Saved"]["version"], Value::Null, "{body}");
        assert!(
            catalog::price_rules(&db, &scope_a)
                .await
                .unwrap()
                .is_empty()
        );

        let (status, html) = alice.page("/settings/price-rules").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"id="rule-amazon""#), "{html}");
        assert!(
            html.contains("€19.99 → €19.99"),
            "the preview of the page's language"
        );
    });
}
