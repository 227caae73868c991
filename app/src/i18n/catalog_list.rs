//! Texts of the product list (search, filters, pages, bulk actions) and of the channel price
//! rules page.

pub struct CatalogListTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub loading: &'static str,
    pub new_product: &'static str,
    pub import_csv: &'static str,
    pub export_semicolon: &'static str,
    pub export_comma: &'static str,
    pub price_rules_link: &'static str,
    // Search and filters.
    pub filters_label: &'static str,
    pub search_label: &'static str,
    pub search_placeholder: &'static str,
    pub stock_label: &'static str,
    pub stock_all: &'static str,
    pub stock_in: &'static str,
    pub stock_out: &'static str,
    pub category_label: &'static str,
    pub category_placeholder: &'static str,
    pub filter_submit: &'static str,
    pub filter_reset: &'static str,
    // The table.
    pub select_all: &'static str,
    pub select_row: &'static str,
    pub column_title: &'static str,
    pub column_brand: &'static str,
    pub column_category: &'static str,
    pub column_variants: &'static str,
    pub column_stock: &'static str,
    pub column_price: &'static str,
    pub column_updated: &'static str,
    pub stock_cell_hint: &'static str,
    pub empty_catalog: &'static str,
    pub nothing_matches: &'static str,
    pub no_more: &'static str,
    pub pages_label: &'static str,
    pub next_page: &'static str,
    pub first_page: &'static str,
    pub cursor_reset: &'static str,
    // Bulk actions.
    pub bulk_heading: &'static str,
    pub bulk_needs_script: &'static str,
    pub select_hint: &'static str,
    /// "3 selected"
    pub selected: fn(usize) -> String,
    pub clear_selection: &'static str,
    pub price_heading: &'static str,
    pub price_mode_label: &'static str,
    pub price_mode_percent: &'static str,
    pub price_mode_amount: &'static str,
    pub price_value_label: &'static str,
    pub price_value_hint: &'static str,
    pub rounding_label: &'static str,
    pub rounding_none: &'static str,
    pub rounding_99: &'static str,
    pub rounding_95: &'static str,
    pub rounding_90: &'static str,
    pub rounding_whole: &'static str,
    pub price_submit: &'static str,
    pub stock_heading: &'static str,
    pub stock_mode_label: &'static str,
    pub stock_mode_set: &'static str,
    pub stock_mode_adjust: &'static str,
    pub quantity_label: &'static str,
    pub quantity_hint: &'static str,
    pub reason_label: &'static str,
    pub reason_received: &'static str,
    pub reason_counted: &'static str,
    pub reason_damaged: &'static str,
    pub reason_returned: &'static str,
    pub reason_correction: &'static str,
    pub stock_submit: &'static str,
    pub delete_heading: &'static str,
    pub delete_start: &'static str,
    /// "3 products will be deleted …"
    pub delete_question: fn(usize) -> String,
    /// "Delete 3 products"
    pub delete_confirm: fn(usize) -> String,
    pub cancel: &'static str,
    // Bulk answers.
    /// "Prices of 3 products changed."
    pub price_done: fn(usize) -> String,
    pub stock_done: fn(usize) -> String,
    pub delete_done: fn(usize) -> String,
    /// "Nothing was changed: for SKU {sku}: {message}"
    pub stopped_at_sku: fn(&str, &str) -> String,
    /// "Nothing was changed: {message}"
    pub nothing_changed: fn(&str) -> String,
    pub select_first: &'static str,
    pub bulk_conflict: &'static str,
    pub bulk_forbidden: &'static str,
    pub bulk_not_found: &'static str,
    // The price rules page.
    pub rules_title: &'static str,
    pub rules_intro: &'static str,
    pub rules_explanation: &'static str,
    pub rules_read_only: &'static str,
    pub rules_loading: &'static str,
    pub rule_percent: &'static str,
    pub rule_percent_hint: &'static str,
    pub rule_add: &'static str,
    pub rule_add_hint: &'static str,
    pub rule_rounding: &'static str,
    pub rule_example: &'static str,
    pub rule_no_rule: &'static str,
    pub rule_save: &'static str,
    pub rule_saved: &'static str,
    pub rule_conflict: &'static str,
    pub back_to_products: &'static str,
}

fn de_products(n: usize) -> String {
    if n == 1 {
        "1 Produkt".to_owned()
    } else {
        format!("{n} Produkte")
    }
}

fn de_products_dative(n: usize) -> String {
    if n == 1 {
        "1 Produkt".to_owned()
    } else {
        format!("{n} Produkten")
    }
}

fn en_products(n: usize) -> String {
    if n == 1 {
        "1 product".to_owned()
    } else {
        format!("{n} products")
    }
}

pub static DE: CatalogListTexts = CatalogListTexts {
    title: "Produkte",
    intro: "Ihr zentraler Katalog: suchen, filtern und mehrere Produkte auf einmal ändern.",
    loading: "Wird geladen …",
    new_product: "Neues Produkt",
    import_csv: "CSV importieren",
    export_semicolon: "CSV exportieren (Semikolon, für Excel)",
    export_comma: "CSV exportieren (Komma)",
    price_rules_link: "Kanalpreise",
    filters_label: "Produkte suchen und filtern",
    search_label: "Suche",
    search_placeholder: "Titel, Marke oder SKU-Anfang",
    stock_label: "Bestand",
    stock_all: "Alle",
    stock_in: "Verfügbar",
    stock_out: "Nicht verfügbar",
    category_label: "Kategorie",
    category_placeholder: "z. B. Küche",
    filter_submit: "Suchen",
    filter_reset: "Filter zurücksetzen",
    select_all: "Alle Produkte dieser Seite auswählen",
    select_row: "Auswählen:",
    column_title: "Titel",
    column_brand: "Marke",
    column_category: "Kategorie",
    column_variants: "Varianten",
    column_stock: "Verfügbar / Lager",
    column_price: "Ab-Preis",
    column_updated: "Geändert (UTC)",
    stock_cell_hint: "verfügbar von Lagerbestand",
    empty_catalog: "Noch keine Produkte. Legen Sie das erste an oder importieren Sie eine CSV-Datei.",
    nothing_matches: "Keine Produkte passen zu Suche und Filtern.",
    no_more: "Keine weiteren Produkte.",
    pages_label: "Seiten",
    next_page: "Nächste Seite",
    first_page: "Erste Seite",
    cursor_reset: "Dieser Seitenlink ist nicht mehr gültig; Sie sehen die erste Seite.",
    bulk_heading: "Ausgewählte Produkte ändern",
    bulk_needs_script: "Für Massenänderungen braucht diese Seite JavaScript. Einzelne Produkte können Sie weiterhin über ihren Titel öffnen und bearbeiten.",
    select_hint: "Wählen Sie Produkte in der Liste aus, um sie gemeinsam zu ändern.",
    selected: |n| format!("{n} ausgewählt"),
    clear_selection: "Auswahl aufheben",
    price_heading: "Preise",
    price_mode_label: "Ändern",
    price_mode_percent: "um Prozent",
    price_mode_amount: "um Betrag",
    price_value_label: "Wert",
    price_value_hint: "Prozent z. B. -10 oder 12,5; Betrag z. B. 1,50 oder -2,00.",
    rounding_label: "Rundung",
    rounding_none: "Nicht runden",
    rounding_99: "Auf ,99 aufrunden",
    rounding_95: "Auf ,95 aufrunden",
    rounding_90: "Auf ,90 aufrunden",
    rounding_whole: "Auf ganze Beträge aufrunden",
    price_submit: "Preise ändern",
    stock_heading: "Bestand",
    stock_mode_label: "Art",
    stock_mode_set: "Setzen auf",
    stock_mode_adjust: "Ändern um ±",
    quantity_label: "Menge",
    quantity_hint: "Gilt für jede Variante. Ändern: z. B. 5 oder -3.",
    reason_label: "Grund",
    reason_received: "Wareneingang",
    reason_counted: "Inventur",
    reason_damaged: "Beschädigt",
    reason_returned: "Retoure",
    reason_correction: "Korrektur",
    stock_submit: "Bestand ändern",
    delete_heading: "Löschen",
    delete_start: "Ausgewählte löschen …",
    delete_question: |n| {
        format!(
            "{} mit allen Varianten und Bestandsbuchungen werden gelöscht; die Kanäle erfahren es bei der nächsten Synchronisation. Das lässt sich nicht rückgängig machen.",
            de_products(n)
        )
    },
    delete_confirm: |n| format!("{} endgültig löschen", de_products(n)),
    cancel: "Abbrechen",
    price_done: |n| match n {
        0 => "Keine Preise geändert: Alle Preise blieben gleich.".to_owned(),
        n => format!("Die Preise von {} wurden geändert.", de_products_dative(n)),
    },
    stock_done: |n| match n {
        0 => "Kein Bestand geändert: Alle Bestände blieben gleich.".to_owned(),
        n => format!("Der Bestand von {} wurde geändert.", de_products_dative(n)),
    },
    delete_done: |n| {
        if n == 1 {
            "1 Produkt wurde gelöscht.".to_owned()
        } else {
            format!("{n} Produkte wurden gelöscht.")
        }
    },
    stopped_at_sku: |sku, message| format!("Es wurde nichts geändert: Bei SKU {sku}: {message}"),
    nothing_changed: |message| format!("Es wurde nichts geändert: {message}"),
    select_first: "Bitte wählen Sie zuerst Produkte aus.",
    bulk_conflict: "Jemand anderes hat diese Produkte gerade geändert; es wurde nichts geändert. Die Liste ist neu geladen – bitte prüfen und erneut versuchen.",
    bulk_forbidden: "Ihre Rolle erlaubt nur das Ansehen des Katalogs; es wurde nichts geändert.",
    bulk_not_found: "Mindestens eines der ausgewählten Produkte gibt es nicht mehr; es wurde nichts geändert. Die Liste ist neu geladen.",
    rules_title: "Kanalpreise",
    rules_intro: "Pro Marktplatz eine Regel: Katalogpreis plus Prozent plus fester Betrag, dann gerundet. So decken Sie höhere Gebühren ab, ohne Preise doppelt zu pflegen.",
    rules_explanation: "Die Regeln werden angewendet, wenn Preise an den Marktplatz übertragen werden; Ihre Katalogpreise bleiben unverändert. Gerundet wird immer nach oben, damit die Rundung nie Ihre Marge schmälert.",
    rules_read_only: "Ihre Rolle erlaubt nur das Ansehen der Regeln.",
    rules_loading: "Wird geladen …",
    rule_percent: "Aufschlag in %",
    rule_percent_hint: "z. B. 15 oder -5,5",
    rule_add: "Fester Betrag",
    rule_add_hint: "z. B. 0,50 (nach dem Prozentaufschlag)",
    rule_rounding: "Rundung",
    rule_example: "Beispiel:",
    rule_no_rule: "Keine Regel: Der Katalogpreis wird übertragen.",
    rule_save: "Speichern",
    rule_saved: "Gespeichert.",
    rule_conflict: "Diese Regel wurde inzwischen von jemand anderem geändert; der aktuelle Stand ist neu geladen. Bitte prüfen und erneut speichern.",
    back_to_products: "Zu den Produkten",
};

pub static EN: CatalogListTexts = CatalogListTexts {
    title: "Products",
    intro: "Your central catalog: search, filter and change several products at once.",
    loading: "Loading …",
    new_product: "New product",
    import_csv: "Import CSV",
    export_semicolon: "Export CSV (semicolon, for Excel)",
    export_comma: "Export CSV (comma)",
    price_rules_link: "Channel prices",
    filters_label: "Search and filter products",
    search_label: "Search",
    search_placeholder: "Title, brand or start of a SKU",
    stock_label: "Stock",
    stock_all: "All",
    stock_in: "In stock",
    stock_out: "Out of stock",
    category_label: "Category",
    category_placeholder: "e.g. Kitchen",
    filter_submit: "Search",
    filter_reset: "Reset filters",
    select_all: "Select all products on this page",
    select_row: "Select:",
    column_title: "Title",
    column_brand: "Brand",
    column_category: "Category",
    column_variants: "Variants",
    column_stock: "Available / on hand",
    column_price: "From",
    column_updated: "Changed (UTC)",
    stock_cell_hint: "available of on hand",
    empty_catalog: "No products yet. Create the first one or import a CSV file.",
    nothing_matches: "No products match the search and filters.",
    no_more: "No more products.",
    pages_label: "Pages",
    next_page: "Next page",
    first_page: "First page",
    cursor_reset: "This page link is no longer valid; you are seeing the first page.",
    bulk_heading: "Change selected products",
    bulk_needs_script: "Bulk changes need JavaScript on this page. You can still open and edit single products by their title.",
    select_hint: "Select products in the list to change them together.",
    selected: |n| format!("{n} selected"),
    clear_selection: "Clear selection",
    price_heading: "Prices",
    price_mode_label: "Change",
    price_mode_percent: "by percent",
    price_mode_amount: "by amount",
    price_value_label: "Value",
    price_value_hint: "Percent e.g. -10 or 12.5; amount e.g. 1.50 or -2.00.",
    rounding_label: "Rounding",
    rounding_none: "Do not round",
    rounding_99: "Round up to .99",
    rounding_95: "Round up to .95",
    rounding_90: "Round up to .90",
    rounding_whole: "Round up to whole amounts",
    price_submit: "Change prices",
    stock_heading: "Stock",
    stock_mode_label: "Kind",
    stock_mode_set: "Set to",
    stock_mode_adjust: "Change by ±",
    quantity_label: "Quantity",
    quantity_hint: "Applies to every variant. Change: e.g. 5 or -3.",
    reason_label: "Reason",
    reason_received: "Received",
    reason_counted: "Stock count",
    reason_damaged: "Damaged",
    reason_returned: "Returned",
    reason_correction: "Correction",
    stock_submit: "Change stock",
    delete_heading: "Delete",
    delete_start: "Delete selected …",
    delete_question: |n| {
        format!(
            "{} will be deleted with all variants and stock movements; the channels learn of it with the next sync. This cannot be undone.",
            en_products(n)
        )
    },
    delete_confirm: |n| format!("Delete {} for good", en_products(n)),
    cancel: "Cancel",
    price_done: |n| match n {
        0 => "No prices changed: every price stayed the same.".to_owned(),
        n => format!("Prices of {} changed.", en_products(n)),
    },
    stock_done: |n| match n {
        0 => "No stock changed: every quantity stayed the same.".to_owned(),
        n => format!("Stock of {} changed.", en_products(n)),
    },
    delete_done: |n| format!("{} deleted.", en_products(n)),
    stopped_at_sku: |sku, message| format!("Nothing was changed: for SKU {sku}: {message}"),
    nothing_changed: |message| format!("Nothing was changed: {message}"),
    select_first: "Please select products first.",
    bulk_conflict: "Someone else changed these products just now; nothing was changed. The list has been reloaded – please check and try again.",
    bulk_forbidden: "Your role may only view the catalog; nothing was changed.",
    bulk_not_found: "At least one of the selected products no longer exists; nothing was changed. The list has been reloaded.",
    rules_title: "Channel prices",
    rules_intro: "One rule per marketplace: catalog price plus a percentage plus a fixed amount, then rounded. This covers higher fees without keeping prices twice.",
    rules_explanation: "Rules are applied when prices are sent to the marketplace; your catalog prices stay as they are. Rounding always goes up, so it never eats into your margin.",
    rules_read_only: "Your role may only view the rules.",
    rules_loading: "Loading …",
    rule_percent: "Markup in %",
    rule_percent_hint: "e.g. 15 or -5.5",
    rule_add: "Fixed amount",
    rule_add_hint: "e.g. 0.50 (after the percentage)",
    rule_rounding: "Rounding",
    rule_example: "Example:",
    rule_no_rule: "No rule: the catalog price is sent.",
    rule_save: "Save",
    rule_saved: "Saved.",
    rule_conflict: "Someone else changed this rule meanwhile; the current one has been reloaded. Please check and save again.",
    back_to_products: "Back to products",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_worded_in_both_languages() {
        assert_eq!(
            (DE.price_done)(1),
            "Die Preise von 1 Produkt wurden geändert."
        );
        assert_eq!(
            (DE.price_done)(3),
            "Die Preise von 3 Produkten wurden geändert."
        );
        assert_eq!((EN.price_done)(3), "Prices of 3 products changed.");
        assert_eq!((EN.delete_done)(1), "1 product deleted.");
        assert_eq!(
            (EN.stopped_at_sku)("TS-1", "The amount must not be negative."),
            "Nothing was changed: for SKU TS-1: The amount must not be negative."
        );
    }
}
