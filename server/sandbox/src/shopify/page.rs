//! The install page and the listings table of the sandbox page, in English or German.

use axum::response::Html;

use super::auth::AuthorizeParams;
use super::model::State;
use crate::common::html::{Lang, escape, page};

pub fn consent(lang: Lang, base: &str, shop: &str, params: &AuthorizeParams) -> Html<String> {
    let scopes: String = params
        .scope
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("<li><code>{}</code></li>", escape(s)))
        .collect();
    let hidden = |name: &str, value: &str| {
        format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        )
    };
    let fields = [
        hidden("client_id", &params.client_id),
        hidden("scope", &params.scope),
        hidden("redirect_uri", &params.redirect_uri),
        hidden("state", &params.state),
        hidden("grant_options[]", &params.grant_options),
    ]
    .concat();
    let action = escape(&format!("{base}/{shop}/admin/oauth/authorize"));
    let body = format!(
        "<h1>{install} ShopMarkets?</h1>\
         <section class=\"card\"><p>{store}: <strong>{shop}</strong></p>\
         <p>{app}: <code>{client}</code></p>\
         <h2>{wants}</h2><ul>{scopes}</ul>\
         <form method=\"post\" action=\"{action}\">{fields}\
         <button type=\"submit\" name=\"decision\" value=\"install\">{install_button}</button> \
         <button type=\"submit\" name=\"decision\" value=\"cancel\" class=\"secondary\">{cancel}</button>\
         </form></section>",
        install = lang.t("Install", "Installieren:"),
        store = lang.t("Store", "Shop"),
        shop = escape(shop),
        app = lang.t("App (client ID)", "App (Client-ID)"),
        client = escape(&params.client_id),
        wants = lang.t(
            "This app will be able to:",
            "Diese App erhält folgende Berechtigungen:"
        ),
        scopes = if scopes.is_empty() {
            format!("<li>{}</li>", lang.t("no data access", "kein Datenzugriff"))
        } else {
            scopes
        },
        install_button = lang.t("Install app", "App installieren"),
        cancel = lang.t("Cancel", "Abbrechen"),
    );
    page(lang, "Shopify — install app", &body)
}

pub fn listings(state: &State, lang: Lang) -> String {
    let mut rows = String::new();
    for shop in state.shops.values() {
        for product in shop.products.values() {
            for variant in &product.variants {
                rows.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
                    escape(&shop.domain),
                    escape(&variant.sku),
                    escape(&if variant.title == "Default Title" {
                        product.title.clone()
                    } else {
                        format!("{} — {}", product.title, variant.title)
                    }),
                    escape(&variant.price),
                    escape(&shop.currency),
                    variant.available,
                    escape(&product.status),
                ));
            }
        }
    }
    if rows.is_empty() {
        return format!(
            "<p>{}</p>",
            lang.t(
                "No products yet. Connect the shop and sync products to see them here.",
                "Noch keine Produkte. Verbinden Sie den Shop und übertragen Sie Produkte, um sie hier zu sehen."
            )
        );
    }
    format!(
        "<table><thead><tr><th>{}</th><th>SKU</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>",
        lang.t("Shop", "Shop"),
        lang.t("Title", "Titel"),
        lang.t("Price", "Preis"),
        lang.t("Stock", "Bestand"),
        lang.t("Status", "Status"),
    )
}
