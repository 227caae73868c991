//! The catalog on both engines: products with variants, organization scoping, SKU uniqueness,
//! optimistic concurrency, the stock ledger and the sync outbox.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use shopmarkets_core::{
    access::{AccessError, Scope},
    catalog::{
        self, CatalogError, Condition, Dimensions, NewProduct, NewVariant, ProductContent,
        StockReason,
    },
    db::Db,
    db_tests,
    entity::{membership, membership::Role, stock_movement, sync_outbox},
    testing::{inserted_user, owner_of_new_organization},
};
use shopmarkets_types::{Currency, FieldError, Locale, Money, Sku};

fn content(title: &str) -> ProductContent {
    ProductContent {
        title: title.to_owned(),
        brand: Some("Muster".to_owned()),
        description_html: "<p>Schöne <b>Tasse</b></p><script>alert(1)</script>".to_owned(),
        category: Some("Küche > Tassen".to_owned()),
        condition: Condition::New,
        weight_grams: Some(350),
        dimensions: Dimensions::default(),
        attributes: vec![],
    }
}

fn variant(sku: &str, options: &[&str], euros: i64, on_hand: i64) -> NewVariant {
    NewVariant {
        sku: Sku::parse(sku).unwrap(),
        gtin: None,
        option_values: options.iter().map(|o| (*o).to_owned()).collect(),
        price: Money::new(euros * 100, Currency::Eur).unwrap(),
        on_hand,
    }
}

fn shirt() -> NewProduct {
    NewProduct {
        content: content("T-Shirt"),
        option_names: vec!["Größe".to_owned(), "Farbe".to_owned()],
        variants: vec![
            variant("TS-S-RED", &["S", "Rot"], 19, 5),
            variant("TS-M-RED", &["M", "Rot"], 19, 0),
        ],
    }
}

async fn outbox_rows(db: &Db) -> Vec<(String, String)> {
    sync_outbox::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.entity, r.change))
        .collect()
}

async fn member_with(db: &Db, owner: &Scope, address: &str, role: Role) -> Scope {
    let user_id = inserted_user(db, address, "Member", Locale::De).await;
    membership::ActiveModel {
        organization_id: Set(owner.organization_id()),
        user_id: Set(user_id),
        role: Set(role),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap();
    Scope::for_member(db, user_id, owner.organization_id())
        .await
        .unwrap()
}

async fn a_product_is_created_with_variants_stock_and_outbox_rows(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let created = catalog::create_product(&db, &owner, shirt(), Utc::now(), None)
        .await
        .unwrap();
    assert_eq!(created.product.version, 1);
    assert_eq!(
        created.product.description_html,
        "<p>Schöne <b>Tasse</b></p>"
    );
    assert_eq!(created.product.description_text, "Schöne Tasse");
    assert_eq!(created.variants.len(), 2);
    assert_eq!(created.variants[0].on_hand, 5);
    assert_eq!(created.variants[0].option_values, r#"["S","Rot"]"#);

    let read = catalog::get_product(&db, &owner, created.product.id)
        .await
        .unwrap();
    assert_eq!(read, created);
    // One row per created entity, then the opening stock of the variant that has some.
    assert_eq!(
        outbox_rows(&db).await,
        [
            ("product".into(), "created".into()),
            ("variant".into(), "created".into()),
            ("variant".into(), "created".into()),
            ("stock".into(), "updated".into()),
        ]
    );
    let ledger = catalog::stock_movements(&db, &owner, created.variants[0].id)
        .await
        .unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (ledger[0].on_hand_delta, ledger[0].reason.as_str()),
        (5, "initial")
    );
}

async fn a_failed_create_leaves_nothing_behind(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    catalog::create_product(&db, &owner, shirt(), Utc::now(), None)
        .await
        .unwrap();
    let before = outbox_rows(&db).await.len();
    // The second variant's SKU is taken: the whole product rolls back, outbox included.
    let mut again = shirt();
    again.variants[0] = variant("TS-L-RED", &["L", "Rot"], 19, 3);
    let result = catalog::create_product(&db, &owner, again, Utc::now(), None).await;
    assert!(
        matches!(&result, Err(CatalogError::Field { field, error: FieldError::AlreadyExists }) if field == "variants.1.sku"),
        "{result:?}"
    );
    assert_eq!(outbox_rows(&db).await.len(), before);
    assert_eq!(
        stock_movement::Entity::find().all(&db).await.unwrap().len(),
        1
    );

    // Another organization may use the same SKU.
    let (_, other) = owner_of_new_organization(&db, "ben@example.com", "Ben KG").await;
    catalog::create_product(&db, &other, shirt(), Utc::now(), None)
        .await
        .unwrap();
}

async fn product_shapes_are_checked(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let mut plain = shirt();
    plain.option_names.clear();
    let result = catalog::create_product(&db, &owner, plain, Utc::now(), None).await;
    assert!(matches!(result, Err(CatalogError::Field { ref field, .. }) if field == "variants"));

    let mut twice = shirt();
    twice.variants[1].option_values = vec!["s".into(), "rot".into()];
    let result = catalog::create_product(&db, &owner, twice, Utc::now(), None).await;
    assert!(
        matches!(&result, Err(CatalogError::Field { field, error: FieldError::AlreadyExists }) if field == "variants.1.option_values")
    );

    let mut untitled = shirt();
    untitled.content.title = "  ".into();
    let result = catalog::create_product(&db, &owner, untitled, Utc::now(), None).await;
    assert!(
        matches!(&result, Err(CatalogError::Field { field, error: FieldError::Required }) if field == "title")
    );
    assert!(outbox_rows(&db).await.is_empty());
}

async fn other_organizations_and_roles_are_kept_out(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (_, stranger) = owner_of_new_organization(&db, "ben@example.com", "Ben KG").await;
    let created = catalog::create_product(&db, &owner, shirt(), Utc::now(), None)
        .await
        .unwrap();
    let id = created.product.id;
    let variant_id = created.variants[0].id;

    let not_found =
        |r: Result<_, CatalogError>| matches!(r, Err(CatalogError::Access(AccessError::NotFound)));
    assert!(not_found(
        catalog::get_product(&db, &stranger, id).await.map(drop)
    ));
    assert!(not_found(
        catalog::update_content(&db, &stranger, id, 1, content("Gekapert"), Utc::now(), None)
            .await
            .map(drop)
    ));
    assert!(not_found(
        catalog::set_price(
            &db,
            &stranger,
            variant_id,
            1,
            Money::new(1, Currency::Eur).unwrap(),
            Utc::now(),
            None
        )
        .await
        .map(drop)
    ));
    assert!(not_found(
        catalog::adjust_stock(
            &db,
            &stranger,
            variant_id,
            -5,
            StockReason::Damaged,
            None,
            Utc::now(),
            None
        )
        .await
        .map(drop)
    ));
    assert!(not_found(
        catalog::delete_product(&db, &stranger, id, Utc::now(), None).await
    ));

    let viewer = member_with(&db, &owner, "vera@example.com", Role::Viewer).await;
    assert!(catalog::get_product(&db, &viewer, id).await.is_ok());
    let forbidden =
        catalog::update_content(&db, &viewer, id, 1, content("Neu"), Utc::now(), None).await;
    assert!(matches!(
        forbidden,
        Err(CatalogError::Access(AccessError::Forbidden))
    ));
    let editor = member_with(&db, &owner, "emil@example.com", Role::Editor).await;
    catalog::update_content(&db, &editor, id, 1, content("Neu"), Utc::now(), None)
        .await
        .unwrap();

    let unchanged = catalog::get_product(&db, &owner, id).await.unwrap();
    assert_eq!(
        unchanged.variants[0].on_hand, 5,
        "the stranger moved no stock"
    );
    assert_eq!(unchanged.product.title, "Neu");
}

async fn the_second_of_two_editors_gets_a_conflict(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let created = catalog::create_product(&db, &owner, shirt(), Utc::now(), None)
        .await
        .unwrap();
    let id = created.product.id;
    let first = catalog::update_content(
        &db,
        &owner,
        id,
        1,
        content("Erste Fassung"),
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(first.version, 2);
    let second = catalog::update_content(
        &db,
        &owner,
        id,
        1,
        content("Zweite Fassung"),
        Utc::now(),
        None,
    )
    .await;
    assert!(
        matches!(second, Err(CatalogError::Conflict { current_version: 2 })),
        "{second:?}"
    );
    assert_eq!(
        catalog::get_product(&db, &owner, id)
            .await
            .unwrap()
            .product
            .title,
        "Erste Fassung"
    );

    let variant = &created.variants[0];
    let price = Money::parse("24,99", Currency::Eur, Locale::De).unwrap();
    let priced = catalog::set_price(&db, &owner, variant.id, 1, price, Utc::now(), None)
        .await
        .unwrap();
    assert_eq!((priced.price_minor, priced.version), (2499, 2));
    let stale = catalog::set_price(&db, &owner, variant.id, 1, price, Utc::now(), None).await;
    assert!(matches!(
        stale,
        Err(CatalogError::Conflict { current_version: 2 })
    ));
    let updates: Vec<_> = outbox_rows(&db)
        .await
        .into_iter()
        .filter(|(_, change)| change == "updated")
        .collect();
    // One product update, one price update (plus the opening stock): refused changes wrote none.
    assert_eq!(
        updates,
        [
            ("stock".into(), "updated".into()),
            ("product".into(), "updated".into()),
            ("price".into(), "updated".into()),
        ]
    );
}

async fn stock_moves_only_through_the_ledger_and_concurrent_moves_all_count(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let created = catalog::create_product(&db, &owner, shirt(), Utc::now(), None)
        .await
        .unwrap();
    let variant_id = created.variants[0].id;
    let moves = (0..8).map(|i| {
        let (db, owner) = (db.clone(), owner.clone());
        tokio::spawn(async move {
            let delta = if i % 2 == 0 { 3 } else { -1 };
            catalog::adjust_stock(
                &db,
                &owner,
                variant_id,
                delta,
                StockReason::Received,
                Some("Lieferung"),
                Utc::now(),
                None,
            )
            .await
        })
    });
    for m in moves {
        m.await.unwrap().unwrap();
    }
    let after = catalog::get_product(&db, &owner, created.product.id)
        .await
        .unwrap();
    assert_eq!(after.variants[0].on_hand, 5 + 4 * 3 - 4);
    let ledger = catalog::stock_movements(&db, &owner, variant_id)
        .await
        .unwrap();
    assert_eq!(ledger.len(), 9);
    assert_eq!(
        ledger.iter().map(|m| m.on_hand_delta).sum::<i64>(),
        after.variants[0].on_hand
    );

    // Below zero is refused and changes nothing.
    let too_much = catalog::adjust_stock(
        &db,
        &owner,
        variant_id,
        -100,
        StockReason::Damaged,
        None,
        Utc::now(),
        None,
    )
    .await;
    assert!(matches!(too_much, Err(CatalogError::Field { ref field, .. }) if field == "delta"));
    assert_eq!(
        catalog::stock_movements(&db, &owner, variant_id)
            .await
            .unwrap()
            .len(),
        9
    );
}

async fn deleting_a_product_tells_the_outbox_and_the_audit_log(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let created = catalog::create_product(&db, &owner, shirt(), Utc::now(), None)
        .await
        .unwrap();
    catalog::delete_product(&db, &owner, created.product.id, Utc::now(), None)
        .await
        .unwrap();
    assert!(matches!(
        catalog::get_product(&db, &owner, created.product.id).await,
        Err(CatalogError::Access(AccessError::NotFound))
    ));
    assert_eq!(
        outbox_rows(&db).await.last().unwrap(),
        &("product".into(), "deleted".into())
    );
    assert!(
        stock_movement::Entity::find()
            .all(&db)
            .await
            .unwrap()
            .is_empty()
    );
    let actions: Vec<String> =
        shopmarkets_core::audit::list(&db, Some(owner.organization_id()), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
    assert_eq!(&actions[..2], ["product.deleted", "product.created"]);
    assert_eq!(catalog::pending_changes(&db, 100).await.unwrap().len(), 5);
}

async fn the_list_searches_filters_and_pages_without_gaps(db: Db) {
    use catalog::{ProductQuery, StockFilter};
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (_, other) = owner_of_new_organization(&db, "ben@example.com", "Ben KG").await;
    let start = Utc::now();
    let items = [
        ("Kaffeetasse 100% Porzellan", "Küche > Tassen", "CUP-1", 4),
        ("Teetasse", "Küche > Tassen", "CUP-2", 0),
        ("Teekanne", "Küche", "POT-1", 2),
        ("Gartenschlauch", "Garten", "HOSE-1", 0),
        ("Küchenwaage", "Küchengeräte", "SCALE-1", 1),
    ];
    for (i, (title, category, sku, stock)) in items.into_iter().enumerate() {
        let mut product = NewProduct {
            content: content(title),
            option_names: vec![],
            variants: vec![variant(sku, &[], 10 + i as i64, stock)],
        };
        product.content.category = Some(category.to_owned());
        // Distinct change times, newest last.
        catalog::create_product(
            &db,
            &owner,
            product,
            start + chrono::Duration::seconds(i as i64),
            None,
        )
        .await
        .unwrap();
    }
    catalog::create_product(&db, &other, shirt(), Utc::now(), None)
        .await
        .unwrap();

    let titles = |page: &catalog::ProductPage| {
        page.items
            .iter()
            .map(|r| r.title.clone())
            .collect::<Vec<_>>()
    };
    let list = |query: ProductQuery| {
        let (db, owner) = (db.clone(), owner.clone());
        async move {
            catalog::list_products(&db, &owner, &ProductQuery { limit: 50, ..query })
                .await
                .unwrap()
        }
    };

    let all = list(ProductQuery::default()).await;
    assert_eq!(
        titles(&all),
        [
            "Küchenwaage",
            "Gartenschlauch",
            "Teekanne",
            "Teetasse",
            "Kaffeetasse 100% Porzellan"
        ],
        "newest change first, only this organization"
    );
    assert_eq!(all.next, None);
    let waage = &all.items[0];
    assert_eq!((waage.variants, waage.on_hand, waage.available), (1, 1, 1));
    assert_eq!(waage.lowest_price, Some((1400, "EUR".to_owned())));

    let search = |term: &str| ProductQuery {
        search: Some(term.to_owned()),
        ..Default::default()
    };
    assert_eq!(
        titles(&list(search("TASSE")).await),
        ["Teetasse", "Kaffeetasse 100% Porzellan"]
    );
    assert_eq!(
        titles(&list(search("cup-2")).await),
        ["Teetasse"],
        "SKU prefix"
    );
    assert_eq!(
        titles(&list(search("100%")).await),
        ["Kaffeetasse 100% Porzellan"]
    );
    assert!(
        list(search("%")).await.items.len() == 1,
        "% is a character, not a pattern"
    );

    assert_eq!(
        titles(&list(search("KÜCHEN")).await),
        ["Küchenwaage"],
        "umlauts fold case on both engines"
    );
    assert_eq!(
        list(search("muster")).await.items.len(),
        5,
        "the brand is searched too"
    );
    let stock = |filter| ProductQuery {
        stock: Some(filter),
        ..Default::default()
    };
    assert_eq!(
        titles(&list(stock(StockFilter::OutOfStock)).await),
        ["Gartenschlauch", "Teetasse"]
    );
    assert_eq!(list(stock(StockFilter::InStock)).await.items.len(), 3);

    let category = ProductQuery {
        category: Some("Küche".to_owned()),
        ..Default::default()
    };
    assert_eq!(
        titles(&list(category).await),
        ["Teekanne", "Teetasse", "Kaffeetasse 100% Porzellan"],
        "the category and below, not Küchengeräte"
    );

    // Pages of two: every product exactly once, in order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = catalog::list_products(
            &db,
            &owner,
            &ProductQuery {
                limit: 2,
                after: after.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        seen.extend(titles(&page));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, titles(&all));

    let garbage = catalog::list_products(
        &db,
        &owner,
        &ProductQuery {
            after: Some("nonsense".into()),
            limit: 2,
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(garbage, Err(CatalogError::Field { ref field, .. }) if field == "after"));
}

db_tests!(
    the_list_searches_filters_and_pages_without_gaps,
    a_product_is_created_with_variants_stock_and_outbox_rows,
    a_failed_create_leaves_nothing_behind,
    product_shapes_are_checked,
    other_organizations_and_roles_are_kept_out,
    the_second_of_two_editors_gets_a_conflict,
    stock_moves_only_through_the_ledger_and_concurrent_moves_all_count,
    deleting_a_product_tells_the_outbox_and_the_audit_log,
);
