//! Measurements for the catalog at 100,000 products (ignored by default; timings are reported,
//! never asserted — the machines are shared):
//!
//! ```text
//! cargo test -p shopmarkets-core --release --test catalog_bench -- --ignored --nocapture
//! ```
//!
//! The catalog is inserted with multi-row `INSERT`s (the editor's path, with ledger, outbox and
//! audit rows per product, is not what is measured here), then the product list is timed: first page, a search, the stock
//! filter, a category filter and a page deep in the keyset.

use std::time::Instant;

use chrono::{Duration, Utc};
use sea_orm::ConnectionTrait;
use shopmarkets_core::{
    catalog::{self, ProductQuery, StockFilter},
    db::Db,
    testing::owner_of_new_organization,
};
use uuid::Uuid;

const PRODUCTS: usize = 100_000;
const BATCH: usize = 500;

async fn seed(db: &Db, organization_id: Uuid) {
    use sea_orm::{EntityTrait, Set};
    use shopmarkets_core::entity::{product, variant};

    let categories = [
        "Mode > T-Shirts",
        "Küche > Tassen",
        "Wohnen > Kissen",
        "Büro > Notizbücher",
    ];
    let start = Utc::now() - Duration::days(30);
    for batch in 0..PRODUCTS / BATCH {
        let mut products = Vec::with_capacity(BATCH);
        let mut variants = Vec::with_capacity(BATCH * 2);
        for i in 0..BATCH {
            let n = batch * BATCH + i;
            let id = Uuid::new_v4();
            let title = format!("Produkt {n} Baumwolle Classic");
            let updated = start + Duration::seconds(n as i64);
            products.push(product::ActiveModel {
                id: Set(id),
                organization_id: Set(organization_id),
                search_text: Set(format!("{} nordhaus", title.to_lowercase())),
                title: Set(title),
                brand: Set(Some("Nordhaus".to_owned())),
                description_html: Set("<p>x</p>".to_owned()),
                description_text: Set("x".to_owned()),
                category: Set(Some(categories[n % categories.len()].to_owned())),
                condition: Set("new".to_owned()),
                option_names: Set(r#"["Größe"]"#.to_owned()),
                attributes: Set("[]".to_owned()),
                weight_grams: Set(None),
                length_mm: Set(None),
                width_mm: Set(None),
                height_mm: Set(None),
                version: Set(1),
                created_at: Set(updated),
                updated_at: Set(updated),
            });
            for (j, size) in ["M", "L"].iter().enumerate() {
                variants.push(variant::ActiveModel {
                    id: Set(Uuid::new_v4()),
                    organization_id: Set(organization_id),
                    product_id: Set(id),
                    sku: Set(format!("SKU-{n:06}-{size}")),
                    gtin: Set(None),
                    option_values: Set(format!(r#"["{size}"]"#)),
                    price_minor: Set(1990 + (n % 50) as i64 * 100),
                    currency: Set("EUR".to_owned()),
                    on_hand: Set(if n.is_multiple_of(7) {
                        0
                    } else {
                        (n % 40) as i64
                    }),
                    reserved: Set(0),
                    position: Set(j as i32),
                    version: Set(1),
                    created_at: Set(updated),
                    updated_at: Set(updated),
                });
            }
        }
        product::Entity::insert_many(products)
            .exec(db)
            .await
            .unwrap();
        variant::Entity::insert_many(variants)
            .exec(db)
            .await
            .unwrap();
    }
    db.execute_unprepared("ANALYZE").await.unwrap();
}

async fn timed(label: &str, db: &Db, scope: &shopmarkets_core::access::Scope, query: ProductQuery) {
    // One warm-up, then the median of five.
    catalog::list_products(db, scope, &query).await.unwrap();
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let page = catalog::list_products(db, scope, &query).await.unwrap();
        times.push(started.elapsed());
        found = page.items.len();
    }
    times.sort();
    println!(
        "  {label:<28} {:>8.1} ms  ({found} rows)",
        times[2].as_secs_f64() * 1000.0
    );
}

async fn product_list_at_100k(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "bench@example.com", "Bench GmbH").await;
    let started = Instant::now();
    seed(&db, owner.organization_id()).await;
    println!(
        "{:?}: seeded {PRODUCTS} products with {} variants in {:.1} s",
        db.get_database_backend(),
        PRODUCTS * 2,
        started.elapsed().as_secs_f64()
    );
    let page = |q: ProductQuery| ProductQuery { limit: 50, ..q };
    timed("first page", &db, &owner, page(ProductQuery::default())).await;
    timed(
        "search \"produkt 4711\"",
        &db,
        &owner,
        page(ProductQuery {
            search: Some("produkt 4711 ".to_owned()),
            ..Default::default()
        }),
    )
    .await;
    timed(
        "search SKU prefix",
        &db,
        &owner,
        page(ProductQuery {
            search: Some("sku-0471".to_owned()),
            ..Default::default()
        }),
    )
    .await;
    timed(
        "out of stock",
        &db,
        &owner,
        page(ProductQuery {
            stock: Some(StockFilter::OutOfStock),
            ..Default::default()
        }),
    )
    .await;
    timed(
        "category",
        &db,
        &owner,
        page(ProductQuery {
            category: Some("Küche".to_owned()),
            ..Default::default()
        }),
    )
    .await;
    // Page 1000: keyset, not offset.
    let mut query = page(ProductQuery::default());
    for _ in 0..1000 {
        let next = catalog::list_products(&db, &owner, &query)
            .await
            .unwrap()
            .next;
        let Some(next) = next else { break };
        query.after = Some(next);
    }
    timed("page 1000 (keyset)", &db, &owner, query).await;
}

#[tokio::test]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn product_list_at_100k_on_sqlite() {
    let test_db = shopmarkets_core::testing::TestDb::sqlite_file().await;
    product_list_at_100k(test_db.db.clone()).await;
}

#[tokio::test]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn product_list_at_100k_on_postgres() {
    if let Some(test_db) = shopmarkets_core::testing::TestDb::postgres().await {
        product_list_at_100k(test_db.db.clone()).await;
    }
}
