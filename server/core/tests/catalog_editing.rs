//! Editing the catalog on both engines: saving a product as a whole (content, options,
//! variants), conflicts between editors, channel price rules and bulk actions.

use chrono::Utc;
use sea_orm::{EntityTrait, PaginatorTrait};
use shopmarkets_core::{
    access::{AccessError, Scope},
    catalog::{
        self, Attribute, AttributeValue, CatalogError, Condition, Dimensions, NewProduct,
        NewVariant, ProductContent, ProductDetails, ProductInput, StockChange, StockReason,
        VariantInput,
    },
    db::Db,
    db_tests,
    entity::{audit_event, stock_movement, sync_outbox},
    testing::owner_of_new_organization,
};
use shopmarkets_types::{
    Currency, FieldError, Marketplace, Money, PriceChange, PriceRule, Rounding, Sku,
};

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::Eur).unwrap()
}

fn content(title: &str) -> ProductContent {
    ProductContent {
        title: title.to_owned(),
        brand: Some("Muster".to_owned()),
        description_html: "<p>Baumwolle</p>".to_owned(),
        category: Some("Mode > Shirts".to_owned()),
        condition: Condition::New,
        weight_grams: Some(180),
        dimensions: Dimensions::default(),
        attributes: vec![],
    }
}

fn shirt(sku_prefix: &str) -> NewProduct {
    let variant = |size: &str, on_hand| NewVariant {
        sku: Sku::parse(&format!("{sku_prefix}-{size}")).unwrap(),
        gtin: None,
        option_values: vec![size.to_owned()],
        price: eur(1990),
        on_hand,
    };
    NewProduct {
        content: content("T-Shirt"),
        option_names: vec!["Größe".to_owned()],
        variants: vec![variant("S", 4), variant("M", 0)],
    }
}

/// The input the editor would send back for a product it loaded, unchanged.
fn as_input(details: &ProductDetails) -> ProductInput {
    let p = &details.product;
    ProductInput {
        content: ProductContent {
            title: p.title.clone(),
            brand: p.brand.clone(),
            description_html: p.description_html.clone(),
            category: p.category.clone(),
            condition: Condition::from_code(&p.condition).unwrap(),
            weight_grams: p.weight_grams,
            dimensions: Dimensions {
                length_mm: p.length_mm,
                width_mm: p.width_mm,
                height_mm: p.height_mm,
            },
            attributes: Attribute::from_json(&p.attributes),
        },
        option_names: serde_json::from_str(&p.option_names).unwrap(),
        variants: details
            .variants
            .iter()
            .map(|v| VariantInput {
                id: Some(v.id),
                sku: Sku::parse(&v.sku).unwrap(),
                gtin: None,
                option_values: serde_json::from_str(&v.option_values).unwrap(),
                price: eur(v.price_minor),
            })
            .collect(),
    }
}

async fn counts(db: &Db) -> (u64, u64, u64) {
    (
        sync_outbox::Entity::find().count(db).await.unwrap(),
        stock_movement::Entity::find().count(db).await.unwrap(),
        audit_event::Entity::find().count(db).await.unwrap(),
    )
}

async fn created(db: &Db, scope: &Scope, sku_prefix: &str) -> ProductDetails {
    catalog::create_product(db, scope, shirt(sku_prefix), Utc::now(), None)
        .await
        .unwrap()
}

fn field_error(result: Result<impl std::fmt::Debug, CatalogError>) -> (String, FieldError) {
    match result {
        Err(CatalogError::Field { field, error }) => (field, error),
        other => panic!("expected a field error, got {other:?}"),
    }
}

async fn saving_an_unchanged_product_writes_nothing(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let product = created(&db, &owner, "TS").await;
    let before = counts(&db).await;
    let outcome = catalog::save_product(
        &db,
        &owner,
        product.product.id,
        product.product.version,
        as_input(&product),
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    assert!(!outcome.changed);
    assert_eq!(outcome.version, product.product.version);
    assert_eq!(counts(&db).await, before);
}

async fn a_save_adds_changes_and_removes_variants_with_one_outbox_row_each(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let product = created(&db, &owner, "TS").await;
    let mut input = as_input(&product);
    input.content.attributes = vec![Attribute {
        name: "Material".to_owned(),
        value: AttributeValue::Text("Baumwolle".to_owned()),
    }];
    input.content.dimensions.length_mm = Some(300);
    // S gets a new price, M goes, L comes.
    input.variants[0].price = eur(2490);
    input.variants.remove(1);
    input.variants.push(VariantInput {
        id: None,
        sku: Sku::parse("TS-L").unwrap(),
        gtin: None,
        option_values: vec!["L".to_owned()],
        price: eur(1990),
    });
    let (outbox_before, ..) = counts(&db).await;
    let outcome = catalog::save_product(
        &db,
        &owner,
        product.product.id,
        product.product.version,
        input,
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    assert!(outcome.changed);
    assert_eq!(outcome.version, product.product.version + 1);

    let mut rows: Vec<(String, String)> = sync_outbox::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .skip(outbox_before as usize)
        .map(|r| (r.entity, r.change))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("price".into(), "updated".into()),
            ("product".into(), "updated".into()),
            ("variant".into(), "created".into()),
            ("variant".into(), "deleted".into()),
        ]
    );
    let saved = catalog::get_product(&db, &owner, product.product.id)
        .await
        .unwrap();
    let skus: Vec<&str> = saved.variants.iter().map(|v| v.sku.as_str()).collect();
    assert_eq!(skus, ["TS-S", "TS-L"]);
    assert_eq!(saved.variants[0].price_minor, 2490);
    assert_eq!(saved.variants[0].on_hand, 4, "stock is not part of a save");
    assert_eq!(saved.product.length_mm, Some(300));
    assert_eq!(
        Attribute::from_json(&saved.product.attributes)[0].name,
        "Material"
    );

    // The audit log says what changed, old → new.
    let events = audit_event::Entity::find().all(&db).await.unwrap();
    let updated = events
        .iter()
        .find(|e| e.action == "product.updated")
        .unwrap();
    let details: serde_json::Value = serde_json::from_str(&updated.details).unwrap();
    assert_eq!(details["changes"]["length_mm"]["new"], 300);
    assert_eq!(details["variants"]["added"][0], "TS-L");
    assert_eq!(details["variants"]["removed"][0], "TS-M");
    let price = events.iter().find(|e| e.action == "price.changed").unwrap();
    let details: serde_json::Value = serde_json::from_str(&price.details).unwrap();
    assert_eq!(details["price"]["old"]["minor"], 1990);
    assert_eq!(details["price"]["new"]["minor"], 2490);
}

async fn the_second_of_two_editors_gets_a_conflict_and_overwrites_nothing(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let product = created(&db, &owner, "TS").await;
    let mut first = as_input(&product);
    first.content.title = "T-Shirt Bio".to_owned();
    let mut second = as_input(&product);
    second.content.title = "T-Shirt Classic".to_owned();
    catalog::save_product(
        &db,
        &owner,
        product.product.id,
        product.product.version,
        first,
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    let before = counts(&db).await;
    let result = catalog::save_product(
        &db,
        &owner,
        product.product.id,
        product.product.version,
        second,
        Utc::now(),
        None,
    )
    .await;
    assert!(
        matches!(result, Err(CatalogError::Conflict { current_version }) if current_version == product.product.version + 1),
        "{result:?}"
    );
    assert_eq!(counts(&db).await, before);
    let read = catalog::get_product(&db, &owner, product.product.id)
        .await
        .unwrap();
    assert_eq!(read.product.title, "T-Shirt Bio");
}

async fn a_bulk_price_change_makes_an_open_editor_conflict(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let product = created(&db, &owner, "TS").await;
    let editor = as_input(&product);
    catalog::bulk_change_price(
        &db,
        &owner,
        &[product.product.id],
        PriceChange::Percent(-1000),
        Rounding::None,
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    let result = catalog::save_product(
        &db,
        &owner,
        product.product.id,
        product.product.version,
        editor,
        Utc::now(),
        None,
    )
    .await;
    assert!(
        matches!(result, Err(CatalogError::Conflict { .. })),
        "{result:?}"
    );
    let read = catalog::get_product(&db, &owner, product.product.id)
        .await
        .unwrap();
    assert!(read.variants.iter().all(|v| v.price_minor == 1791));
}

async fn invalid_saves_name_the_field_and_change_nothing(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let product = created(&db, &owner, "TS").await;
    let other = created(&db, &owner, "XX").await;
    let before = counts(&db).await;
    let save = |input: ProductInput| {
        let db = db.clone();
        let owner = owner.clone();
        async move {
            catalog::save_product(
                &db,
                &owner,
                product.product.id,
                product.product.version,
                input,
                Utc::now(),
                None,
            )
            .await
        }
    };

    // A SKU another product has.
    let mut input = as_input(&product);
    input.variants[1].sku = Sku::parse("XX-S").unwrap();
    assert_eq!(
        field_error(save(input).await),
        ("variants.1.sku".to_owned(), FieldError::AlreadyExists)
    );
    // The same SKU twice in the form.
    let mut input = as_input(&product);
    input.variants[1].sku = Sku::parse("TS-S").unwrap();
    assert_eq!(
        field_error(save(input).await),
        ("variants.1.sku".to_owned(), FieldError::AlreadyExists)
    );
    // A variant id of another product.
    let mut input = as_input(&product);
    input.variants[1].id = Some(other.variants[0].id);
    assert_eq!(
        field_error(save(input).await),
        ("variants.1.id".to_owned(), FieldError::NotFound)
    );
    // A dimension out of range.
    let mut input = as_input(&product);
    input.content.dimensions.height_mm = Some(-5);
    assert_eq!(field_error(save(input).await).0, "height_mm");
    assert_eq!(counts(&db).await, before);
}

async fn another_organizations_product_is_not_found_for_every_edit(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (_, stranger) = owner_of_new_organization(&db, "ben@example.com", "Ben KG").await;
    let product = created(&db, &owner, "TS").await;
    let id = product.product.id;
    let before = counts(&db).await;
    let not_found = |result: Result<_, CatalogError>| {
        matches!(result, Err(CatalogError::Access(AccessError::NotFound)))
    };
    assert!(not_found(
        catalog::save_product(&db, &stranger, id, 1, as_input(&product), Utc::now(), None)
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        catalog::bulk_change_price(
            &db,
            &stranger,
            &[id],
            PriceChange::Amount(100),
            Rounding::None,
            Utc::now(),
            None
        )
        .await
        .map(|_| ())
    ));
    assert!(not_found(
        catalog::bulk_change_stock(
            &db,
            &stranger,
            &[id],
            StockChange::Set(3),
            StockReason::Counted,
            Utc::now(),
            None
        )
        .await
        .map(|_| ())
    ));
    assert!(not_found(
        catalog::bulk_delete(&db, &stranger, &[id], Utc::now(), None)
            .await
            .map(|_| ())
    ));
    assert!(not_found(
        catalog::get_product(&db, &stranger, id).await.map(|_| ())
    ));
    assert!(not_found(
        catalog::set_price(
            &db,
            &stranger,
            product.variants[0].id,
            1,
            eur(100),
            Utc::now(),
            None
        )
        .await
        .map(|_| ())
    ));
    assert!(not_found(
        catalog::adjust_stock(
            &db,
            &stranger,
            product.variants[0].id,
            1,
            StockReason::Received,
            None,
            Utc::now(),
            None
        )
        .await
        .map(|_| ())
    ));
    // Mixed into a selection of the stranger's own products, it still stops the whole action.
    let own = created(&db, &stranger, "TS").await;
    assert!(not_found(
        catalog::bulk_delete(&db, &stranger, &[own.product.id, id], Utc::now(), None)
            .await
            .map(|_| ())
    ));
    assert_eq!(
        counts(&db).await.0,
        before.0 + 4,
        "only the stranger's own create"
    );
    assert!(catalog::get_product(&db, &owner, id).await.is_ok());
}

async fn bulk_price_changes_are_all_or_nothing(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let a = created(&db, &owner, "AA").await;
    let b = created(&db, &owner, "BB").await;
    let outcome = catalog::bulk_change_price(
        &db,
        &owner,
        &[a.product.id, b.product.id],
        PriceChange::Percent(1000),
        Rounding::Ending99,
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    assert_eq!((outcome.products, outcome.variants_changed), (2, 4));
    // 19.90 × 1.1 = 21.89 → 21.99
    let read = catalog::get_product(&db, &owner, a.product.id)
        .await
        .unwrap();
    assert!(read.variants.iter().all(|v| v.price_minor == 2199));

    // Lowering by 25 € would make every price negative: nothing changes, the SKU is named.
    let before = counts(&db).await;
    let (field, error) = field_error(
        catalog::bulk_change_price(
            &db,
            &owner,
            &[a.product.id, b.product.id],
            PriceChange::Amount(-2500),
            Rounding::None,
            Utc::now(),
            None,
        )
        .await,
    );
    assert!(field.starts_with("sku:"), "{field}");
    assert_eq!(error, FieldError::NegativeAmount);
    assert_eq!(counts(&db).await, before);
}

async fn bulk_stock_goes_through_the_ledger_and_never_below_zero(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let a = created(&db, &owner, "AA").await;
    catalog::bulk_change_stock(
        &db,
        &owner,
        &[a.product.id],
        StockChange::Set(10),
        StockReason::Counted,
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    let read = catalog::get_product(&db, &owner, a.product.id)
        .await
        .unwrap();
    assert!(read.variants.iter().all(|v| v.on_hand == 10));
    for v in &read.variants {
        let ledger = catalog::stock_movements(&db, &owner, v.id).await.unwrap();
        assert_eq!(ledger.iter().map(|m| m.on_hand_delta).sum::<i64>(), 10);
        assert_eq!(ledger[0].reason, "counted");
    }

    let before = counts(&db).await;
    let (field, error) = field_error(
        catalog::bulk_change_stock(
            &db,
            &owner,
            &[a.product.id],
            StockChange::Adjust(-11),
            StockReason::Damaged,
            Utc::now(),
            None,
        )
        .await,
    );
    assert!(field.starts_with("sku:AA-"), "{field}");
    assert_eq!(error, FieldError::NegativeAmount);
    assert_eq!(counts(&db).await, before);
}

async fn bulk_delete_removes_the_selection_and_tells_the_outbox(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let a = created(&db, &owner, "AA").await;
    let b = created(&db, &owner, "BB").await;
    let keep = created(&db, &owner, "CC").await;
    let outcome =
        catalog::bulk_delete(&db, &owner, &[a.product.id, b.product.id], Utc::now(), None)
            .await
            .unwrap();
    assert_eq!(outcome.products, 2);
    assert!(
        catalog::get_product(&db, &owner, a.product.id)
            .await
            .is_err()
    );
    assert!(
        catalog::get_product(&db, &owner, keep.product.id)
            .await
            .is_ok()
    );
    let deleted = sync_outbox::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.change == "deleted")
        .count();
    assert_eq!(deleted, 2);
}

async fn price_rules_are_stored_per_marketplace_with_conflicts_and_audit(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (_, stranger) = owner_of_new_organization(&db, "ben@example.com", "Ben KG").await;
    let amazon = PriceRule {
        percent_basis_points: 1500,
        add_minor: 0,
        rounding: Rounding::Ending99,
    };
    let stored = catalog::set_price_rule(
        &db,
        &owner,
        Marketplace::Amazon,
        amazon,
        None,
        Utc::now(),
        None,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(
        catalog::effective_rule(&db, owner.organization_id(), Marketplace::Amazon)
            .await
            .unwrap(),
        amazon
    );
    // Other marketplaces and other organizations are untouched.
    assert_eq!(
        catalog::effective_rule(&db, owner.organization_id(), Marketplace::Ebay)
            .await
            .unwrap(),
        PriceRule::IDENTITY
    );
    assert!(
        catalog::price_rules(&db, &stranger)
            .await
            .unwrap()
            .is_empty()
    );

    // A second editor who also saw "no rule" gets a conflict.
    let result = catalog::set_price_rule(
        &db,
        &owner,
        Marketplace::Amazon,
        PriceRule::IDENTITY,
        None,
        Utc::now(),
        None,
    )
    .await;
    assert!(matches!(
        result,
        Err(CatalogError::Conflict { current_version: 1 })
    ));

    // Out of range: refused with the field.
    let result = catalog::set_price_rule(
        &db,
        &owner,
        Marketplace::Amazon,
        PriceRule {
            percent_basis_points: -10_000,
            ..amazon
        },
        Some(1),
        Utc::now(),
        None,
    )
    .await;
    assert_eq!(field_error(result).0, "percent");

    // Setting the identity removes the rule.
    let removed = catalog::set_price_rule(
        &db,
        &owner,
        Marketplace::Amazon,
        PriceRule::IDENTITY,
        Some(1),
        Utc::now(),
        None,
    )
    .await
    .unwrap();
    assert!(removed.is_none());
    assert!(catalog::price_rules(&db, &owner).await.unwrap().is_empty());
    let audited = audit_event::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "price_rule.changed")
        .count();
    assert_eq!(audited, 2);
}

db_tests!(
    saving_an_unchanged_product_writes_nothing,
    a_save_adds_changes_and_removes_variants_with_one_outbox_row_each,
    the_second_of_two_editors_gets_a_conflict_and_overwrites_nothing,
    a_bulk_price_change_makes_an_open_editor_conflict,
    invalid_saves_name_the_field_and_change_nothing,
    another_organizations_product_is_not_found_for_every_edit,
    bulk_price_changes_are_all_or_nothing,
    bulk_stock_goes_through_the_ledger_and_never_below_zero,
    bulk_delete_removes_the_selection_and_tells_the_outbox,
    price_rules_are_stored_per_marketplace_with_conflicts_and_audit,
);
