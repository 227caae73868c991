//! The listings table of the sandbox page.

use crate::common::html::{Lang, escape};

use super::Ebay;

pub fn listings(ebay: &Ebay, lang: Lang) -> String {
    let state = ebay.state();
    if state.items.is_empty() {
        return format!(
            "<p>{}</p>",
            lang.t(
                "No inventory items yet. Create one with PUT /sell/inventory/v1/inventory_item/{sku}.",
                "Noch keine Artikel. Legen Sie einen mit PUT /sell/inventory/v1/inventory_item/{sku} an."
            )
        );
    }
    let rows: String = state
        .items
        .values()
        .map(|item| {
            let offer = state
                .offers
                .values()
                .filter(|o| o.sku == item.sku)
                .max_by_key(|o| o.listing_id.is_some());
            let (price, status) = match offer {
                Some(o) => {
                    let (value, currency) = o.price();
                    let status = if o.listing_id.is_some() {
                        lang.t("Published", "Veröffentlicht")
                    } else {
                        lang.t("Unpublished offer", "Unveröffentlichtes Angebot")
                    };
                    (format!("{value} {currency}"), status)
                }
                None => (String::new(), lang.t("No offer", "Kein Angebot")),
            };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&item.sku),
                escape(item.title()),
                escape(&price),
                item.quantity(),
                escape(status)
            )
        })
        .collect();
    format!(
        "<table><thead><tr><th>SKU</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>",
        lang.t("Title", "Titel"),
        lang.t("Price", "Preis"),
        lang.t("Stock", "Bestand"),
        lang.t("Status", "Status"),
    )
}
