//! The product editor, image uploads and CSV files over HTTP through the whole router, signed
//! in with a session: saving whole products with every problem at its field, conflicts,
//! another organization's ids (404), uploads refused by content, the streamed export and an
//! import job run to its end.

mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use common::{Browser, TestApp, body_text, on_shared_runtime};
use serde_json::{Value, json};
use shopmarkets_core::testing::confirmed_user;

const PASSWORD: &str = "correct horse battery staple 42";
const BOUNDARY: &str = "----shopmarkets-test-boundary";

fn form(title: &str, variants: Value) -> Value {
    json!({
        "title": title,
        "brand": "Nordhaus",
        "description_html": "<p>Weich</p><script>x()</script>",
        "category": "Mode > T-Shirts",
        "condition": "new",
        "weight_grams": "180",
        "length_mm": "",
        "width_mm": "",
        "height_mm": "",
        "attributes": [{ "name": "Material", "kind": "text", "value": "Baumwolle" }],
        "option_names": ["Größe"],
        "variants": variants,
    })
}

fn new_variant(size: &str, sku: &str, price: &str, on_hand: &str) -> Value {
    json!({
        "id": null, "option_values": [size], "sku": sku, "gtin": "",
        "price": price, "currency": "EUR", "on_hand": on_hand,
    })
}

/// Creates a product through the editor's server function; returns its editor view.
async fn create(browser: &mut Browser<'_>, title: &str) -> Value {
    let (status, answer) = browser
        .call_json(
            "save_product",
            &json!({
                "id": null,
                "version": 0,
                "form": form(title, json!([
                    new_variant("S", &format!("{title}-S"), "19,90", "4"),
                    new_variant("M", &format!("{title}-M"), "19,90", "0"),
                ])),
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = answer["Saved"]["id"].as_str().expect("saved").to_owned();
    let (status, view) = browser.call("product_editor", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    view
}

fn multipart(field: &str, file_name: &str, content: &[u8]) -> Body {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Body::from(body)
}

fn upload(uri: &str, field: &str, file_name: &str, content: &[u8], json: bool) -> Request<Body> {
    let mut request = Request::post(uri).header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={BOUNDARY}"),
    );
    if json {
        request = request.header(header::ACCEPT, "application/json");
    }
    request.body(multipart(field, file_name, content)).unwrap()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb([200, 90, 40]));
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

#[test]
fn the_editor_saves_whole_products_and_reports_every_problem_at_its_field() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let mut alice = app.signed_in("alice@example.com", PASSWORD).await;
        // The editor renders on the server, empty and with a product.
        let (status, html) = alice.page("/products/new").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"variants-grid\""), "{html}");
        let view = create(&mut alice, "Shirt").await;
        let id = view["id"].as_str().unwrap().to_owned();
        let (status, html) = alice.page(&format!("/products/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Shirt-S"), "{html}");
        assert_eq!(view["form"]["description_html"], "<p>Weich</p>");
        assert_eq!(view["form"]["variants"][0]["price"], "19,90");
        assert_eq!(view["stock"][0]["on_hand"], 4);
        assert_eq!(view["can_edit"], true);

        // Several problems at once, each at its field; nothing saved.
        let mut broken = view["form"].clone();
        broken["variants"][0]["sku"] = json!("mit Leerzeichen");
        broken["variants"][1]["gtin"] = json!("4006381333932");
        broken["variants"][1]["price"] = json!("zwölf");
        broken["weight_grams"] = json!("schwer");
        let (status, answer) = alice
            .call_json(
                "save_product",
                &json!({ "id": id, "version": view["version"], "form": broken }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let fields: Vec<&str> = answer["Invalid"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            [
                "weight_grams",
                "variants.0.sku",
                "variants.1.gtin",
                "variants.1.price"
            ],
            "{answer}"
        );

        // A real change in German notation saves; the stale version then conflicts.
        let mut changed = view["form"].clone();
        changed["variants"][0]["price"] = json!("24,90");
        let (_, answer) = alice
            .call_json(
                "save_product",
                &json!({ "id": id, "version": view["version"], "form": changed }),
            )
            .await;
        assert_eq!(answer["Saved"]["changed"], true, "{answer}");
        let (_, answer) = alice
            .call_json(
                "save_product",
                &json!({ "id": id, "version": view["version"], "form": view["form"] }),
            )
            .await;
        assert!(answer.get("Conflict").is_some(), "{answer}");
        let (_, reread) = alice.call("product_editor", &[("id", &id)]).await;
        assert_eq!(reread["form"]["variants"][0]["price"], "24,90");

        // Stock moves through the ledger with a reason.
        let variant = reread["stock"][0]["id"].as_str().unwrap().to_owned();
        let (_, answer) = alice
            .call(
                "adjust_variant_stock",
                &[
                    ("variant_id", &variant),
                    ("delta", "-5"),
                    ("reason", "damaged"),
                    ("note", ""),
                ],
            )
            .await;
        assert_eq!(answer["Invalid"][0]["field"], "delta", "{answer}");
        let (_, answer) = alice
            .call(
                "adjust_variant_stock",
                &[
                    ("variant_id", &variant),
                    ("delta", "+6"),
                    ("reason", "received"),
                    ("note", "Lieferung 12"),
                ],
            )
            .await;
        assert_eq!(answer["Adjusted"]["on_hand"], 10, "{answer}");
        let (_, movements) = alice
            .call("variant_movements", &[("variant_id", &variant)])
            .await;
        assert_eq!(movements[0]["reason"], "received");
        assert_eq!(movements[0]["note"], "Lieferung 12");
    });
}

#[test]
fn another_organizations_product_is_not_found_everywhere() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        confirmed_user(&app.db, "bob@example.com", PASSWORD).await;
        let mut alice = app.signed_in("alice@example.com", PASSWORD).await;
        let mut bob = app.signed_in("bob@example.com", PASSWORD).await;
        let view = create(&mut alice, "Becher").await;
        let id = view["id"].as_str().unwrap().to_owned();
        let variant = view["stock"][0]["id"].as_str().unwrap().to_owned();

        let (status, _) = bob.call("product_editor", &[("id", &id)]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = bob
            .call_json(
                "save_product",
                &json!({ "id": id, "version": view["version"], "form": view["form"] }),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = bob
            .call(
                "adjust_variant_stock",
                &[
                    ("variant_id", &variant),
                    ("delta", "5"),
                    ("reason", "received"),
                    ("note", ""),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = bob.call("delete_product", &[("id", &id)]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = bob.call("product_images", &[("product_id", &id)]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let response = bob
            .send(upload(
                &format!("/products/{id}/images/upload"),
                "file",
                "a.png",
                &png(10, 10),
                true,
            ))
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let (status, _) = bob.call("product_editor", &[("id", "not-a-uuid")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Alice's product is untouched.
        let (_, reread) = alice.call("product_editor", &[("id", &id)]).await;
        assert_eq!(reread["version"], view["version"]);
        assert_eq!(reread["stock"][0]["on_hand"], 4);
        let (status, _) = alice.call("delete_product", &[("id", &id)]).await;
        assert_eq!(status, StatusCode::OK);
    });
}

#[test]
fn images_are_uploaded_by_content_and_served_immutable() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let mut alice = app.signed_in("alice@example.com", PASSWORD).await;
        let view = create(&mut alice, "Kissen").await;
        let id = view["id"].as_str().unwrap().to_owned();
        let uri = format!("/products/{id}/images/upload");

        // A PNG named .jpg is taken as the PNG it is.
        let response = alice
            .send(upload(&uri, "file", "foto.jpg", &png(1200, 900), true))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = serde_json::from_str(&body_text(response).await).unwrap();
        assert_eq!(answer[0]["result"], "added", "{answer}");

        // A PHP script named .png is refused, and says why.
        let response = alice
            .send(upload(
                &uri,
                "file",
                "shell.png",
                b"<?php system($_GET['c']); ?>",
                true,
            ))
            .await;
        let answer: Value = serde_json::from_str(&body_text(response).await).unwrap();
        assert_eq!(
            answer[0],
            json!({ "result": "refused", "file": "shell.png", "code": "unsupported_type" })
        );

        // Without script the form post comes back to the editor.
        let response = alice
            .send(upload(&uri, "files", "zwei.png", &png(300, 300), false))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()[header::LOCATION],
            format!("/products/{id}#images").as_str()
        );

        let (_, images) = alice.call("product_images", &[("product_id", &id)]).await;
        assert_eq!(images["images"].as_array().unwrap().len(), 2, "{images}");
        assert_eq!(images["images"][0]["width"], 1200);
        let large = images["images"][0]["large"].as_str().unwrap().to_owned();
        assert!(large.starts_with("/media/"), "{large}");

        // Served without a session, cacheable forever, never sniffed.
        let response = app.send(common::get(&large)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");

        // Reorder and remove through the server functions.
        let first = images["images"][0]["id"].as_str().unwrap().to_owned();
        let second = images["images"][1]["id"].as_str().unwrap().to_owned();
        let (_, answer) = alice
            .call(
                "reorder_images",
                &[
                    ("product_id", &id),
                    ("ordered[0]", &second),
                    ("ordered[1]", &first),
                ],
            )
            .await;
        assert_eq!(answer, json!("Done"));
        let (_, answer) = alice.call("remove_image", &[("image_id", &first)]).await;
        assert_eq!(answer, json!("Done"));
        let (_, images) = alice.call("product_images", &[("product_id", &id)]).await;
        assert_eq!(images["images"][0]["id"], second.as_str());
        assert_eq!(images["images"].as_array().unwrap().len(), 1);
    });
}

#[test]
fn the_catalog_goes_out_as_csv_and_comes_back_in_as_an_import_job() {
    on_shared_runtime(async {
        let app = TestApp::new().await;
        confirmed_user(&app.db, "alice@example.com", PASSWORD).await;
        let response = app.send(common::get("/products/export.csv")).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

        let mut alice = app.signed_in("alice@example.com", PASSWORD).await;
        create(&mut alice, "Flasche").await;
        let response = alice
            .send(
                Request::get("/products/export.csv")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .starts_with("attachment; filename=\"produkte-")
        );
        let csv = body_text(response).await;
        assert!(csv.starts_with('\u{feff}'), "a BOM for Excel with ;");
        assert!(csv.contains("Flasche-S"), "{csv}");

        // A file with a new product (German headers, `;`, decimal comma).
        let file = "\u{feff}handle;Titel;sku;Preis;Bestand\nbecher;Becher Nordic;BE-1;12,50;7\n";
        let response = alice
            .send(upload(
                "/products/import/upload",
                "file",
                "neu.csv",
                file.as_bytes(),
                false,
            ))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = response.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        let job = location
            .strip_prefix("/products/import?job=")
            .expect("the import page")
            .to_owned();
        let mut state = Value::Null;
        for _ in 0..100 {
            let (_, view) = alice.call("import_job", &[("id", &job)]).await;
            state = view;
            if state["state"] != "validating" && state["state"] != "applying" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(state["state"], "done", "{state}");
        assert_eq!(state["created_products"], 1);

        // The import page renders the job on the server.
        let (status, html) = alice.page(&location).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("neu.csv"), "{html}");
    });
}
