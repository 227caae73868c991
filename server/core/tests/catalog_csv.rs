//! CSV import and export of the catalog on both engines: the report of a bad file, both
//! delimiters and decimal habits, all-or-nothing, idempotent re-imports, the round trip
//! through the export, scoping and interrupted jobs.

use chrono::{TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set, sea_query::Expr,
};
use shopmarkets_core::{
    access::{AccessError, Scope},
    catalog::{
        self, Attribute, AttributeValue, Condition, Dimensions, NewProduct, NewVariant,
        ProductContent,
        csv::{
            Delimiter, ImportError, ImportFailure, ImportState, ImportStatus, MAX_FILE_BYTES,
            Problem, RowError, export_products, import_status, resume_interrupted, run_import,
            start_import,
        },
    },
    clock::SystemClock,
    db::Db,
    db_tests,
    entity::{
        audit_event, catalog_import, membership, membership::Role, product, stock_movement,
        sync_outbox, variant,
    },
    testing::{inserted_user, owner_of_new_organization},
};
use shopmarkets_types::{Currency, FieldError, Gtin, Locale, Money, Sku};

/// Uploads `content` and runs the job to its end on a task of its own, as the server does.
async fn import(db: &Db, scope: &Scope, content: impl Into<Vec<u8>>) -> ImportStatus {
    let id = start_import(db, scope, "artikel.csv", content.into(), Utc::now())
        .await
        .expect("start the import");
    let (task_db, clock) = (db.clone(), shopmarkets_core::clock::system());
    tokio::spawn(async move { run_import(&task_db, id, clock.as_ref()).await })
        .await
        .expect("the job's task")
        .expect("run the import");
    import_status(db, scope, id).await.expect("read the job")
}

fn problems(status: &ImportStatus) -> Vec<(u64, Option<&str>, &Problem)> {
    status
        .report
        .errors
        .iter()
        .map(
            |RowError {
                 row,
                 column,
                 problem,
             }| (*row, column.as_deref(), problem),
        )
        .collect()
}

fn invalid(error: FieldError) -> Problem {
    Problem::Invalid { error }
}

/// What an import may write, counted: outbox, ledger, audit entries and the sum of versions.
#[derive(Debug, PartialEq, Eq)]
struct Written {
    outbox: u64,
    ledger: u64,
    audit: u64,
    versions: i64,
    products: u64,
}

async fn written(db: &Db) -> Written {
    let products = product::Entity::find().all(db).await.unwrap();
    let variants = variant::Entity::find().all(db).await.unwrap();
    Written {
        outbox: sync_outbox::Entity::find().count(db).await.unwrap(),
        ledger: stock_movement::Entity::find().count(db).await.unwrap(),
        audit: audit_event::Entity::find()
            .filter(audit_event::Column::Action.starts_with("product."))
            .count(db)
            .await
            .unwrap()
            + audit_event::Entity::find()
                .filter(audit_event::Column::Action.is_in(["price.changed", "stock.adjusted"]))
                .count(db)
                .await
                .unwrap(),
        versions: products.iter().map(|p| p.version).sum::<i64>()
            + variants.iter().map(|v| v.version).sum::<i64>(),
        products: products.len() as u64,
    }
}

async fn variant_by_sku(db: &Db, sku: &str) -> variant::Model {
    variant::Entity::find()
        .filter(variant::Column::Sku.eq(sku))
        .one(db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("variant {sku}"))
}

async fn exported(db: &Db, scope: &Scope, delimiter: Delimiter) -> (Vec<u8>, usize) {
    let mut export = export_products(db, scope, delimiter).await.unwrap();
    let mut file = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = export.next_chunk().await.unwrap() {
        file.extend_from_slice(&chunk);
        chunks += 1;
    }
    (file, chunks)
}

const SHIRTS: &str = "\
handle,title,brand,category,condition,option1_name,option1_value,option2_name,option2_value,sku,gtin,price,currency,stock
shirt,T-Shirt,Muster,Kleidung > Shirts,new,Größe,S,Farbe,Rot,TS-S-RED,4006381333931,19.99,EUR,5
shirt,,,,,,M,,Rot,TS-M-RED,,19.99,EUR,0
shirt,,,,,,L,,Blau,TS-L-BLUE,,21.50,EUR,2
,Becher,,Küche,,,,,,MUG-1,,\"8,50\",,12
";

async fn bad_rows_are_reported_with_row_and_column_and_nothing_is_written(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let before = written(&db).await;
    let status = import(
        &db,
        &owner,
        "sku;title;price;gtin;condition;stock\n\
         OK-1;Gut;12,99;;new;1\n\
         bad sku;Schlecht;zwölf;4006381333932;kaputt;-3\n\
         OK-2;;5;;;\n\
         ;Ohne SKU;5;;;\n\
         OK-3;Mehrdeutig;1.234;;;\n",
    )
    .await;
    assert_eq!(status.state, ImportState::Invalid);
    assert_eq!(status.total_rows, 5);
    assert_eq!(status.delimiter, Some(Delimiter::Semicolon));
    assert_eq!(
        problems(&status),
        [
            (3, Some("condition"), &Problem::UnknownCondition),
            (3, Some("sku"), &invalid(FieldError::InvalidSkuCharacters)),
            (3, Some("gtin"), &invalid(FieldError::GtinCheckDigit)),
            (3, Some("price"), &invalid(FieldError::InvalidAmount)),
            (
                3,
                Some("stock"),
                &invalid(FieldError::OutOfRange {
                    min: 0,
                    max: catalog::MAX_STOCK
                })
            ),
            (4, Some("title"), &invalid(FieldError::Required)),
            (5, Some("sku"), &invalid(FieldError::Required)),
            (6, Some("price"), &Problem::AmbiguousAmount),
        ]
    );
    // The good row was not written either: all or nothing.
    assert_eq!(written(&db).await, before);
    let job = catalog_import::Entity::find_by_id(status.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        job.file_content, None,
        "the upload is not kept after the job"
    );
}

async fn a_semicolon_file_with_german_headers_and_decimal_commas_is_imported(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let status = import(
        &db,
        &owner,
        "Gruppe;Titel;Marke;Option1_Name;Option1_Wert;Artikelnummer;EAN;Preis;Währung;Bestand\r\n\
         becher;Becher;Muster;Farbe;Weiß;B-W;;12,99;;3\r\n\
         becher;;;;Schwarz;B-S;;1.299,00 €;EUR;0\r\n\
         ;Teller;;;;T-1;4006381333931;7,5;CHF;\r\n",
    )
    .await;
    assert_eq!(status.state, ImportState::Done, "{:?}", status.report);
    assert_eq!(
        (
            status.created_products,
            status.updated_products,
            status.unchanged_products
        ),
        (2, 0, 0)
    );
    assert_eq!(status.processed_rows, 3);
    let white = variant_by_sku(&db, "B-W").await;
    assert_eq!((white.price_minor, white.currency.as_str()), (1299, "EUR"));
    assert_eq!(variant_by_sku(&db, "B-S").await.price_minor, 129_900);
    let plate = variant_by_sku(&db, "T-1").await;
    assert_eq!((plate.price_minor, plate.currency.as_str()), (750, "CHF"));
    assert_eq!(plate.gtin.as_deref(), Some("4006381333931"));
    assert_eq!(plate.on_hand, 0);
    // Stock through the ledger, marked as the import's.
    assert_eq!(white.on_hand, 3);
    let ledger = stock_movement::Entity::find().all(&db).await.unwrap();
    assert_eq!(ledger.len(), 1);
    assert_eq!(
        (
            ledger[0].variant_id,
            ledger[0].on_hand_delta,
            ledger[0].reason.as_str(),
            ledger[0].source.as_str()
        ),
        (white.id, 3, "import", "csv_import")
    );
    let mug = catalog::get_product(&db, &owner, white.product_id)
        .await
        .unwrap();
    assert_eq!(mug.product.option_names, r#"["Farbe"]"#);
    assert_eq!(mug.variants.len(), 2);
    assert_eq!(mug.product.brand.as_deref(), Some("Muster"));
}

async fn a_byte_order_mark_and_crlf_are_tolerated(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let mut file = b"\xEF\xBB\xBF".to_vec();
    file.extend_from_slice(b"sku,title,price\r\nBOM-1,Mit BOM,1.00\r\n");
    let status = import(&db, &owner, file).await;
    assert_eq!(status.state, ImportState::Done, "{:?}", status.report);
    assert_eq!(status.delimiter, Some(Delimiter::Comma));
    assert_eq!(variant_by_sku(&db, "BOM-1").await.price_minor, 100);
}

async fn a_sku_twice_in_one_file_is_refused(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let status = import(
        &db,
        &owner,
        "sku,title,price\nA-1,Eins,1\nA-2,Zwei,2\nA-1,Nochmal,3\n",
    )
    .await;
    assert_eq!(status.state, ImportState::Invalid);
    assert_eq!(
        problems(&status),
        [(4, Some("sku"), &Problem::DuplicateSku { first_row: 2 })]
    );
    assert_eq!(written(&db).await.products, 0);
}

async fn quoted_values_may_hold_line_breaks_and_delimiters(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let file = "sku;title;description_html;price\n\
                Q-1;\"Tasse; groß\";\"<p>Zeile eins</p>\n<p>Zeile \"\"zwei\"\"; mit Semikolon</p>\";4,20\n\
                Q-2;Ohne Preis;;\n";
    let status = import(&db, &owner, file).await;
    // The quoted value spans two lines, yet the next product is row 3 as a spreadsheet shows.
    assert_eq!(
        problems(&status),
        [(3, Some("price"), &invalid(FieldError::Required))]
    );
    let file = file.replace("Q-2;Ohne Preis;;", "Q-2;Mit Preis;;1");
    let status = import(&db, &owner, file).await;
    assert_eq!(status.state, ImportState::Done, "{:?}", status.report);
    let cup = catalog::get_product(&db, &owner, variant_by_sku(&db, "Q-1").await.product_id)
        .await
        .unwrap();
    assert_eq!(cup.product.title, "Tasse; groß");
    assert_eq!(
        cup.product.description_html,
        "<p>Zeile eins</p>\n<p>Zeile \"zwei\"; mit Semikolon</p>"
    );
}

async fn unknown_and_missing_columns_are_reported_on_the_header_row(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let status = import(&db, &owner, "title;colour;Preis;price\nTasse;rot;1;1\n").await;
    assert_eq!(status.state, ImportState::Invalid);
    assert_eq!(
        problems(&status),
        [
            (1, Some("sku"), &Problem::MissingColumn),
            (1, Some("price"), &Problem::DuplicateColumn),
            (1, Some("colour"), &Problem::UnknownColumn),
        ]
    );
    assert_eq!(written(&db).await.products, 0);
}

async fn rows_of_one_handle_must_agree(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let status = import(
        &db,
        &owner,
        "handle,title,option1_name,option1_value,sku,price\n\
         h,Hemd,Größe,S,H-S,10\n\
         h,Bluse,,M,H-M,10\n\
         h,,,s,H-S2,10\n\
         g,Gürtel,,,G-1,5\n\
         g,,,,G-2,5\n",
    )
    .await;
    assert_eq!(
        problems(&status),
        [
            (3, Some("title"), &Problem::Contradicts { first_row: 2 }),
            (
                4,
                Some("option1_value"),
                &Problem::DuplicateOptions { first_row: 2 }
            ),
            (6, Some("option1_name"), &Problem::VariantsNeedOptions),
        ]
    );
}

async fn re_importing_the_same_file_changes_nothing(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let first = import(&db, &owner, SHIRTS).await;
    assert_eq!(first.state, ImportState::Done, "{:?}", first.report);
    assert_eq!(first.created_products, 2);
    let after_first = written(&db).await;
    // Three variants with stock: three ledger rows.
    assert_eq!(after_first.ledger, 3);

    let again = import(&db, &owner, SHIRTS).await;
    assert_eq!(again.state, ImportState::Done, "{:?}", again.report);
    assert_eq!(
        (
            again.created_products,
            again.updated_products,
            again.unchanged_products
        ),
        (0, 0, 2)
    );
    assert_eq!(written(&db).await, after_first);
}

async fn a_changed_price_writes_exactly_its_rows(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    import(&db, &owner, SHIRTS).await;
    let before = written(&db).await;
    let outbox_before = sync_outbox::Entity::find().count(&db).await.unwrap();
    let product_before = variant_by_sku(&db, "TS-L-BLUE").await.product_id;
    let version_before = product::Entity::find_by_id(product_before)
        .one(&db)
        .await
        .unwrap()
        .unwrap()
        .version;

    let changed = SHIRTS.replace("TS-L-BLUE,,21.50", "TS-L-BLUE,,22.50");
    let status = import(&db, &owner, changed.clone()).await;
    assert_eq!(status.state, ImportState::Done, "{:?}", status.report);
    assert_eq!(
        (
            status.created_products,
            status.updated_products,
            status.unchanged_products
        ),
        (0, 1, 1)
    );
    let new_rows: Vec<(String, String)> = sync_outbox::Entity::find()
        .filter(sync_outbox::Column::Id.gt(outbox_before as i64))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.entity, r.change))
        .collect();
    assert_eq!(new_rows, [("price".to_owned(), "updated".to_owned())]);
    let after = written(&db).await;
    assert_eq!(after.ledger, before.ledger, "no stock moved");
    assert_eq!(after.audit, before.audit + 1, "one price.changed entry");
    assert_eq!(variant_by_sku(&db, "TS-L-BLUE").await.price_minor, 2250);
    let version_after = product::Entity::find_by_id(product_before)
        .one(&db)
        .await
        .unwrap()
        .unwrap()
        .version;
    assert_eq!(version_after, version_before + 1);

    // A stock target: one ledger row of the difference, one stock outbox row.
    let restocked = changed.replace("TS-M-RED,,19.99,EUR,0", "TS-M-RED,,19.99,EUR,7");
    let outbox_before = sync_outbox::Entity::find().count(&db).await.unwrap();
    let status = import(&db, &owner, restocked).await;
    assert_eq!(status.updated_products, 1);
    let new_rows: Vec<(String, String)> = sync_outbox::Entity::find()
        .filter(sync_outbox::Column::Id.gt(outbox_before as i64))
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.entity, r.change))
        .collect();
    assert_eq!(new_rows, [("stock".to_owned(), "updated".to_owned())]);
    let medium = variant_by_sku(&db, "TS-M-RED").await;
    assert_eq!(medium.on_hand, 7);
    assert_eq!(
        written(&db).await.audit,
        after.audit + 1,
        "one stock.adjusted entry"
    );
    let ledger = catalog::stock_movements(&db, &owner, medium.id)
        .await
        .unwrap();
    assert_eq!(
        ledger
            .iter()
            .map(|m| (m.on_hand_delta, m.reason.as_str()))
            .collect::<Vec<_>>(),
        [(7, "import")]
    );
}

fn variant(
    sku: &str,
    options: &[&str],
    cents: i64,
    currency: Currency,
    on_hand: i64,
) -> NewVariant {
    NewVariant {
        sku: Sku::parse(sku).unwrap(),
        gtin: None,
        option_values: options.iter().map(|o| (*o).to_owned()).collect(),
        price: Money::new(cents, currency).unwrap(),
        on_hand,
    }
}

async fn export_then_import_changes_nothing(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let mut shirt = NewProduct {
        content: ProductContent {
            title: "=HYPERLINK(\"x\") T-Shirt".to_owned(),
            brand: Some("Muster, Söhne & Co".to_owned()),
            description_html: "<p>Weich; \"bequem\"</p>\n<ul><li>Baumwolle</li></ul>".to_owned(),
            category: Some("Kleidung > Shirts".to_owned()),
            condition: Condition::UsedGood,
            weight_grams: Some(180),
            dimensions: Dimensions {
                length_mm: Some(300),
                width_mm: Some(200),
                height_mm: None,
            },
            attributes: vec![Attribute {
                name: "Material".to_owned(),
                value: AttributeValue::Text("Baumwolle".to_owned()),
            }],
        },
        option_names: vec!["Größe".to_owned(), "Farbe".to_owned()],
        variants: vec![
            variant("-TS-S", &["S", "Rot"], 1999, Currency::Eur, 5),
            variant("TS-M", &["M", "Rot"], 123_456, Currency::Eur, 0),
        ],
    };
    shirt.variants[0].gtin = Some(Gtin::parse("4006381333931").unwrap());
    catalog::create_product(&db, &owner, shirt, Utc::now(), None)
        .await
        .unwrap();
    let plate = NewProduct {
        content: ProductContent {
            title: "Teller".to_owned(),
            brand: None,
            description_html: String::new(),
            category: None,
            condition: Condition::New,
            weight_grams: None,
            dimensions: Dimensions::default(),
            attributes: vec![],
        },
        option_names: vec![],
        variants: vec![variant("PLATE", &[], 750, Currency::Chf, 3)],
    };
    catalog::create_product(&db, &owner, plate, Utc::now(), None)
        .await
        .unwrap();
    let before = written(&db).await;

    for delimiter in [Delimiter::Semicolon, Delimiter::Comma, Delimiter::Tab] {
        let (file, _) = exported(&db, &owner, delimiter).await;
        assert_eq!(
            file.starts_with(b"\xEF\xBB\xBF"),
            delimiter == Delimiter::Semicolon,
            "a byte order mark only for Excel's semicolon files"
        );
        let text = String::from_utf8(file.clone()).unwrap();
        assert!(text.matches("\r\n").count() >= 4, "CRLF line ends: {text}");
        if delimiter == Delimiter::Semicolon {
            assert!(text.contains(";1.234,56;EUR;0\r\n"), "{text}");
            assert!(text.contains("'=HYPERLINK"), "formulas are defused: {text}");
        }
        let status = import(&db, &owner, file).await;
        assert_eq!(
            status.state,
            ImportState::Done,
            "{delimiter:?}: {:?}",
            status.report
        );
        assert_eq!(
            (
                status.created_products,
                status.updated_products,
                status.unchanged_products
            ),
            (0, 0, 2),
            "{delimiter:?}"
        );
        assert_eq!(written(&db).await, before, "{delimiter:?}");
    }
    let stored = catalog::get_product(&db, &owner, variant_by_sku(&db, "-TS-S").await.product_id)
        .await
        .unwrap();
    assert!(stored.product.title.starts_with("=HYPERLINK"));
    assert!(
        stored.product.attributes.contains("Baumwolle"),
        "attributes are kept"
    );
}

async fn the_export_pages_through_the_catalog(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let mut file = String::from("sku,title,price,stock\n");
    for i in 0..1001 {
        file.push_str(&format!("P-{i:05},Produkt {i},{}.99,{}\n", i % 50, i % 3));
    }
    let status = import(&db, &owner, file).await;
    assert_eq!(status.state, ImportState::Done, "{:?}", status.report);
    assert_eq!(status.created_products, 1001);
    let (exported_file, chunks) = exported(&db, &owner, Delimiter::Comma).await;
    assert_eq!(chunks, 3, "500 products per chunk");
    let text = String::from_utf8(exported_file.clone()).unwrap();
    assert_eq!(text.lines().count(), 1002);
    let before = written(&db).await;
    let status = import(&db, &owner, exported_file).await;
    assert_eq!(status.unchanged_products, 1001);
    assert_eq!(written(&db).await, before);
}

async fn another_organizations_import_is_not_found(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let (_, stranger) = owner_of_new_organization(&db, "ben@example.com", "Ben KG").await;
    let status = import(&db, &owner, "sku,title,price\nA,B,1\n").await;
    let result = import_status(&db, &stranger, status.id).await;
    assert!(
        matches!(result, Err(ImportError::Access(AccessError::NotFound))),
        "{result:?}"
    );
    // The stranger's own import does not see or touch the owner's products.
    let theirs = import(&db, &stranger, "sku,title,price\nA,Fremd,2\n").await;
    assert_eq!(theirs.created_products, 1);
    let ours = catalog::get_product(
        &db,
        &owner,
        variant::Entity::find()
            .filter(variant::Column::OrganizationId.eq(owner.organization_id()))
            .one(&db)
            .await
            .unwrap()
            .unwrap()
            .product_id,
    )
    .await
    .unwrap();
    assert_eq!(ours.product.title, "B");
}

async fn permissions_and_size_are_checked_before_anything_is_stored(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let viewer_id = inserted_user(&db, "vera@example.com", "Vera", Locale::De).await;
    membership::ActiveModel {
        organization_id: Set(owner.organization_id()),
        user_id: Set(viewer_id),
        role: Set(Role::Viewer),
        created_at: Set(Utc::now()),
    }
    .insert(&db)
    .await
    .unwrap();
    let viewer = Scope::for_member(&db, viewer_id, owner.organization_id())
        .await
        .unwrap();
    let refused = start_import(&db, &viewer, "a.csv", b"sku\nA\n".to_vec(), Utc::now()).await;
    assert!(matches!(
        refused,
        Err(ImportError::Access(AccessError::Forbidden))
    ));
    assert!(
        export_products(&db, &viewer, Delimiter::Comma)
            .await
            .is_ok()
    );

    let too_large = start_import(
        &db,
        &owner,
        "a.csv",
        vec![b'x'; MAX_FILE_BYTES + 1],
        Utc::now(),
    )
    .await;
    assert!(matches!(too_large, Err(ImportError::TooLarge { .. })));
    assert_eq!(catalog_import::Entity::find().count(&db).await.unwrap(), 0);
}

async fn a_sku_of_another_product_conflicts(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    import(
        &db,
        &owner,
        "sku,title,price\nMUG,Becher,5\nPLATE,Teller,7\n",
    )
    .await;
    let before = written(&db).await;
    let status = import(
        &db,
        &owner,
        "handle,title,option1_name,option1_value,sku,price\n\
         set,Becher,Teil,Becher,MUG,5\n\
         set,,,Teller,PLATE,7\n",
    )
    .await;
    assert_eq!(status.state, ImportState::Invalid);
    assert_eq!(
        problems(&status),
        [(3, Some("sku"), &Problem::SkuOfOtherProduct)]
    );
    assert_eq!(written(&db).await, before);
}

async fn an_interrupted_job_is_marked_failed_at_start_up(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let started = Utc::now() - TimeDelta::minutes(10);
    let id = start_import(
        &db,
        &owner,
        "a.csv",
        b"sku,title,price\nA,B,1\n".to_vec(),
        started,
    )
    .await
    .unwrap();
    // The process died while applying.
    catalog_import::Entity::update_many()
        .col_expr(catalog_import::Column::Status, Expr::value("applying"))
        .filter(catalog_import::Column::Id.eq(id))
        .exec(&db)
        .await
        .unwrap();
    assert!(matches!(
        start_import(&db, &owner, "b.csv", b"sku\nA\n".to_vec(), started).await,
        Err(ImportError::AlreadyRunning)
    ));

    assert_eq!(resume_interrupted(&db, Utc::now()).await.unwrap(), 1);
    let status = import_status(&db, &owner, id).await.unwrap();
    assert_eq!(status.state, ImportState::Failed);
    assert_eq!(status.failure, Some(ImportFailure::Interrupted));
    assert_eq!(
        status.failure.unwrap().message(),
        "interrupted, nothing was applied"
    );
    let job = catalog_import::Entity::find_by_id(id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.file_content, None);
    // Running it now does nothing: it is finished.
    assert_eq!(
        run_import(&db, id, &SystemClock).await.unwrap(),
        ImportState::Failed
    );
    assert_eq!(written(&db).await.products, 0);
    // And a new import may start.
    let next = import(&db, &owner, "sku,title,price\nA,B,1\n").await;
    assert_eq!(next.state, ImportState::Done);
}

/// The `csv` examples of docs/csv.md, in order.
fn documented_examples() -> Vec<String> {
    let doc = include_str!("../../../docs/csv.md");
    doc.split("```csv\n")
        .skip(1)
        .map(|block| block.split("```").next().unwrap().to_owned())
        .collect()
}

async fn the_documented_examples_import_as_described(db: Db) {
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let examples = documented_examples();
    assert_eq!(examples.len(), 2);
    let status = import(&db, &owner, examples[0].as_bytes()).await;
    assert_eq!(status.state, ImportState::Done, "{:?}", status.report);
    assert_eq!(status.created_products, 3);
    let plate = variant_by_sku(&db, "PLATE-1").await;
    assert_eq!(
        (plate.price_minor, plate.currency.as_str()),
        (129_900, "CHF")
    );
    let shirt = catalog::get_product(
        &db,
        &owner,
        variant_by_sku(&db, "TS-L-BLUE").await.product_id,
    )
    .await
    .unwrap();
    assert_eq!(shirt.variants.len(), 3);
    assert_eq!(shirt.product.title, "T-Shirt „Basic“");

    let before = written(&db).await;
    let status = import(&db, &owner, examples[1].as_bytes()).await;
    assert_eq!(status.state, ImportState::Done, "{:?}", status.report);
    assert_eq!((status.updated_products, status.unchanged_products), (2, 0));
    assert_eq!(variant_by_sku(&db, "TS-S-RED").await.price_minor, 1799);
    assert_eq!(variant_by_sku(&db, "MUG-1").await.price_minor, 900);
    let after = written(&db).await;
    assert_eq!(after.ledger, before.ledger, "stock untouched");
    assert_eq!(after.audit, before.audit + 2, "two price.changed entries");
    // Everything else stays as it was.
    let shirt_after = catalog::get_product(&db, &owner, shirt.product.id)
        .await
        .unwrap();
    assert_eq!(shirt_after.product.title, shirt.product.title);
    assert_eq!(shirt_after.product.brand, shirt.product.brand);
    assert_eq!(shirt_after.variants[0].gtin, shirt.variants[0].gtin);
}

async fn an_api_key_imports_and_a_revoked_one_applies_nothing(db: Db) {
    use shopmarkets_core::{access::ApiScope, api_keys};
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let scopes = [ApiScope::CatalogWrite].into_iter().collect();
    let created = api_keys::create(&db, &owner, "ERP", scopes, None)
        .await
        .unwrap();
    let key = api_keys::authenticate(&db, created.key.expose(), Utc::now())
        .await
        .unwrap();
    let status = import(&db, &key, "sku,title,price\nERP-1,Aus dem ERP,3\n").await;
    assert_eq!(status.state, ImportState::Done, "{:?}", status.report);
    assert_eq!(status.started_by, None);

    // Revoked between upload and run: the job checks again and writes nothing.
    let id = start_import(
        &db,
        &key,
        "b.csv",
        b"sku,title,price\nERP-2,Zu spaet,3\n".to_vec(),
        Utc::now(),
    )
    .await
    .unwrap();
    api_keys::revoke(&db, &owner, created.summary.id, None)
        .await
        .unwrap();
    assert_eq!(
        run_import(&db, id, &SystemClock).await.unwrap(),
        ImportState::Failed
    );
    let status = import_status(&db, &owner, id).await.unwrap();
    assert_eq!(status.failure, Some(ImportFailure::NotPermitted));
    assert_eq!(written(&db).await.products, 1);
}

db_tests!(
    an_api_key_imports_and_a_revoked_one_applies_nothing,
    the_documented_examples_import_as_described,
    bad_rows_are_reported_with_row_and_column_and_nothing_is_written,
    a_semicolon_file_with_german_headers_and_decimal_commas_is_imported,
    a_byte_order_mark_and_crlf_are_tolerated,
    a_sku_twice_in_one_file_is_refused,
    quoted_values_may_hold_line_breaks_and_delimiters,
    unknown_and_missing_columns_are_reported_on_the_header_row,
    rows_of_one_handle_must_agree,
    re_importing_the_same_file_changes_nothing,
    a_changed_price_writes_exactly_its_rows,
    export_then_import_changes_nothing,
    the_export_pages_through_the_catalog,
    another_organizations_import_is_not_found,
    permissions_and_size_are_checked_before_anything_is_stored,
    a_sku_of_another_product_conflicts,
    an_interrupted_job_is_marked_failed_at_start_up,
);

/// The process's resident memory now and at its peak, in MiB (Linux; `None` elsewhere).
fn memory_mib() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The benchmark: 100,000 rows (25,000 products with four variants each) imported on SQLite,
/// then exported. `cargo test -p shopmarkets-core --test catalog_csv -- --ignored --nocapture`
#[tokio::test]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn benchmark_100k_rows_on_sqlite() {
    let test_db = shopmarkets_core::testing::TestDb::sqlite_file().await;
    let db = test_db.db.clone();
    let (_, owner) = owner_of_new_organization(&db, "anna@example.com", "Anna GmbH").await;
    let mut file = String::from(
        "handle;title;brand;category;condition;description_html;weight_g;option1_name;option1_value;sku;gtin;price;currency;stock\n",
    );
    let sizes = ["S", "M", "L", "XL"];
    for p in 0..25_000 {
        for (i, size) in sizes.iter().enumerate() {
            if i == 0 {
                file.push_str(&format!(
                    "p{p};Produkt {p};Marke {};Kategorie {} > Unter {};new;\"<p>Beschreibung von Produkt {p}; mit <b>HTML</b></p>\";{};Größe;{size};P{p:06}-{size};;{},{:02};EUR;{}\n",
                    p % 40,
                    p % 12,
                    p % 7,
                    100 + p % 900,
                    5 + p % 90,
                    p % 100,
                    p % 13
                ));
            } else {
                file.push_str(&format!(
                    "p{p};;;;;;;;{size};P{p:06}-{size};;{},{:02};EUR;{}\n",
                    5 + p % 90,
                    p % 100,
                    (p + i) % 13
                ));
            }
        }
    }
    let bytes = file.len();
    println!("memory before: {:?} MiB (now, peak)", memory_mib());
    let started = std::time::Instant::now();
    let status = import(&db, &owner, file.clone()).await;
    let took = started.elapsed();
    assert_eq!(status.state, ImportState::Done, "{:?}", status.report);
    assert_eq!(status.created_products, 25_000);
    println!(
        "import: 100,000 rows ({:.1} MiB) in {:.1} s = {:.0} rows/s",
        bytes as f64 / 1_048_576.0,
        took.as_secs_f64(),
        100_000.0 / took.as_secs_f64()
    );
    println!(
        "memory after the import: {:?} MiB (now, peak)",
        memory_mib()
    );

    let started = std::time::Instant::now();
    let again = import(&db, &owner, file).await;
    let took = started.elapsed();
    assert_eq!(again.unchanged_products, 25_000);
    println!(
        "re-import (nothing changes): {:.1} s = {:.0} rows/s",
        took.as_secs_f64(),
        100_000.0 / took.as_secs_f64()
    );

    println!(
        "memory before the export: {:?} MiB (now, peak)",
        memory_mib()
    );
    let started = std::time::Instant::now();
    let mut export = export_products(&db, &owner, Delimiter::Semicolon)
        .await
        .unwrap();
    let (mut total, mut chunks, mut largest) = (0usize, 0usize, 0usize);
    while let Some(chunk) = export.next_chunk().await.unwrap() {
        total += chunk.len();
        largest = largest.max(chunk.len());
        chunks += 1;
    }
    println!(
        "memory after the export: {:?} MiB (now, peak)",
        memory_mib()
    );
    println!(
        "export: 100,000 rows ({:.1} MiB in {chunks} chunks, largest {:.0} KiB) in {:.2} s",
        total as f64 / 1_048_576.0,
        largest as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
}
