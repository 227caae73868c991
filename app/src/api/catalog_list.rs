//! Server functions of the product list and of the channel price rules page: the list with
//! search, filters and keyset pages; bulk price and stock changes and deletion on a selection;
//! the price rule of each marketplace.
//!
//! Ids travel as strings (the browser bundle has no uuid crate); a malformed id is answered
//! exactly like an unknown one (404). Numbers the merchant types (percentages, amounts) are read
//! on the server in the language the page shows, which the forms send along: `1,500` is one and
//! a half in German and fifteen hundred in English, so guessing is not an option.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shopmarkets_types::{Currency, FieldError, Locale, Marketplace, Money, PriceRule};

use super::FieldProblem;

/// Products per page of the list.
pub const PAGE_SIZE: u64 = 50;

/// The stock filter of the list, as the URL carries it (`stock=in_stock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockChoice {
    InStock,
    OutOfStock,
}

impl StockChoice {
    pub const ALL: [StockChoice; 2] = [StockChoice::InStock, StockChoice::OutOfStock];

    pub fn code(self) -> &'static str {
        match self {
            StockChoice::InStock => "in_stock",
            StockChoice::OutOfStock => "out_of_stock",
        }
    }

    /// Reads a URL value; anything else (`all`, empty, unknown) means no filter.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code.trim())
    }
}

/// How a bulk price change is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceMode {
    /// By a percentage (`-10`, `12,5`).
    Percent,
    /// By an amount in the price's currency (`1,50`, `-2,00`).
    Amount,
}

impl PriceMode {
    pub const ALL: [PriceMode; 2] = [PriceMode::Percent, PriceMode::Amount];

    pub fn code(self) -> &'static str {
        match self {
            PriceMode::Percent => "percent",
            PriceMode::Amount => "amount",
        }
    }
}

/// How a bulk stock change is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockMode {
    /// On hand becomes the number (a count).
    Set,
    /// On hand moves by the number (received: +, written off: −).
    Adjust,
}

impl StockMode {
    pub const ALL: [StockMode; 2] = [StockMode::Set, StockMode::Adjust];

    pub fn code(self) -> &'static str {
        match self {
            StockMode::Set => "set",
            StockMode::Adjust => "adjust",
        }
    }
}

/// Why stock moves, as a merchant may choose it for a bulk change (the ledger's other reasons,
/// opening stock and import, are set by the system).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkStockReason {
    Received,
    Counted,
    Damaged,
    Returned,
    Correction,
}

impl BulkStockReason {
    pub const ALL: [BulkStockReason; 5] = [
        BulkStockReason::Received,
        BulkStockReason::Counted,
        BulkStockReason::Damaged,
        BulkStockReason::Returned,
        BulkStockReason::Correction,
    ];

    pub fn code(self) -> &'static str {
        match self {
            BulkStockReason::Received => "received",
            BulkStockReason::Counted => "counted",
            BulkStockReason::Damaged => "damaged",
            BulkStockReason::Returned => "returned",
            BulkStockReason::Correction => "correction",
        }
    }
}

#[cfg(feature = "ssr")]
impl From<BulkStockReason> for shopmarkets_core::catalog::StockReason {
    fn from(reason: BulkStockReason) -> Self {
        use shopmarkets_core::catalog::StockReason;
        match reason {
            BulkStockReason::Received => StockReason::Received,
            BulkStockReason::Counted => StockReason::Counted,
            BulkStockReason::Damaged => StockReason::Damaged,
            BulkStockReason::Returned => StockReason::Returned,
            BulkStockReason::Correction => StockReason::Correction,
        }
    }
}

/// One line of the product list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRowView {
    pub id: String,
    pub title: String,
    pub brand: Option<String>,
    pub category: Option<String>,
    pub variants: u32,
    /// Sum over the variants of on hand − reserved (never below zero per variant).
    pub available: i64,
    pub on_hand: i64,
    /// The lowest variant price; formatted in the browser, so a language switch re-formats it.
    pub lowest_price: Option<Money>,
    /// `YYYY-MM-DD` (UTC).
    pub updated_on: String,
}

/// A page of the product list and what the viewer may do with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductListView {
    pub rows: Vec<ProductRowView>,
    /// The `after` of the next page, if there is one.
    pub next: Option<String>,
    /// Select rows, bulk actions, new product, import.
    pub can_edit: bool,
    /// A search term or filter was given (for the empty-state text).
    pub filtered: bool,
    /// This is not the first page.
    pub paged: bool,
    /// The `after` of the URL could not be read (an old or edited link): this is the first page.
    pub cursor_reset: bool,
}

/// What a bulk action answers; access refusals (403/404) come as errors with their status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BulkAnswer {
    /// `products` products changed (those whose prices or stock stayed the same do not count),
    /// `variants` variants among them.
    Done { products: usize, variants: usize },
    /// Nothing was changed. A problem in field `sku:ABC-1` names the variant that stopped the
    /// action; `value`, `quantity` and `selection` are the form's own fields.
    Invalid(Vec<FieldProblem>),
    /// Someone else changed the selection meanwhile; nothing was changed.
    Conflict,
}

/// A marketplace's price rule as the page shows it (the identity rule when none is stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceRuleView {
    pub marketplace: Marketplace,
    pub rule: PriceRule,
    /// The stored rule's version, `None` when there is none; sent back when saving.
    pub version: Option<i64>,
}

/// Every marketplace's rule, in [`Marketplace::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceRulesView {
    pub rules: Vec<PriceRuleView>,
    pub can_edit: bool,
}

/// What saving a price rule answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PriceRuleAnswer {
    Saved(PriceRuleView),
    /// Problems in the fields `percent` and `add`.
    Invalid(Vec<FieldProblem>),
    /// Someone else saved this marketplace's rule since the page read it.
    Conflict,
}

/// Takes one leading sign (`-`, `+` or the minus sign U+2212); `true` for minus.
fn split_sign(input: &str) -> (bool, &str) {
    let value = input.trim();
    if let Some(rest) = value
        .strip_prefix('-')
        .or_else(|| value.strip_prefix('\u{2212}'))
    {
        (true, rest.trim_start())
    } else if let Some(rest) = value.strip_prefix('+') {
        (false, rest.trim_start())
    } else {
        (false, value)
    }
}

/// Reads a percentage as typed in the UI language (`15`, `-10`, `12,5` in German, `12.5` in
/// English, a `%` may follow) into basis points (1/100 %). At most two decimals.
pub fn parse_percent(input: &str, locale: Locale) -> Result<i32, FieldError> {
    let value = input.trim();
    let value = value.strip_suffix('%').unwrap_or(value).trim_end();
    let (negative, rest) = split_sign(value);
    if rest.is_empty() {
        return Err(if value.is_empty() {
            FieldError::Required
        } else {
            FieldError::InvalidAmount
        });
    }
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
    {
        return Err(FieldError::InvalidAmount);
    }
    // Hundredths of a percent are basis points, just as cents are hundredths of a euro.
    let hundredths = Money::parse(rest, Currency::Eur, locale)?.minor();
    let basis_points = i32::try_from(hundredths).map_err(|_| FieldError::AmountTooLarge)?;
    Ok(if negative {
        -basis_points
    } else {
        basis_points
    })
}

/// Reads a signed amount as typed in the UI language (`1,50`, `-2,00`, `+0,5`) into minor units.
pub fn parse_signed_amount(input: &str, locale: Locale) -> Result<i64, FieldError> {
    let (negative, rest) = split_sign(input);
    if rest.is_empty() {
        return Err(if input.trim().is_empty() {
            FieldError::Required
        } else {
            FieldError::InvalidAmount
        });
    }
    // Every supported currency has two decimals; the euro is only the parser's frame.
    let minor = Money::parse(rest, Currency::Eur, locale)?.minor();
    Ok(if negative { -minor } else { minor })
}

/// Reads a whole number of units, optionally signed (`12`, `+5`, `-3`).
pub fn parse_quantity(input: &str) -> Result<i64, FieldError> {
    let (negative, rest) = split_sign(input);
    if rest.is_empty() {
        return Err(if input.trim().is_empty() {
            FieldError::Required
        } else {
            FieldError::InvalidNumber
        });
    }
    if rest.len() > 12 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::InvalidNumber);
    }
    let n: i64 = rest.parse().map_err(|_| FieldError::InvalidNumber)?;
    Ok(if negative { -n } else { n })
}

/// Basis points as a merchant would type them: `15`, `-5,5`, `12,25` (German).
pub fn format_percent(basis_points: i32, locale: Locale) -> String {
    let sign = if basis_points < 0 { "-" } else { "" };
    let abs = basis_points.unsigned_abs();
    let (whole, fraction) = (abs / 100, abs % 100);
    let decimal = match locale {
        Locale::De => ',',
        Locale::En => '.',
    };
    match fraction {
        0 => format!("{sign}{whole}"),
        f if f % 10 == 0 => format!("{sign}{whole}{decimal}{}", f / 10),
        f => format!("{sign}{whole}{decimal}{f:02}"),
    }
}

/// Minor units as a merchant would type them: `0,50`, `-1,00` (German), `0.50` (English).
pub fn format_signed_amount(minor: i64, locale: Locale) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = i64::try_from(minor.unsigned_abs()).unwrap_or(Money::MAX_MINOR);
    match Money::new(abs, Currency::Eur) {
        Ok(money) => format!("{sign}{}", money.format_amount(locale)),
        Err(_) => minor.to_string(),
    }
}

/// Shared server-side helpers.
#[cfg(feature = "ssr")]
mod server {
    use leptos::prelude::ServerFnError;
    use shopmarkets_core::catalog::{BulkOutcome, CatalogError};
    use shopmarkets_types::Locale;
    use uuid::Uuid;

    use super::{BulkAnswer, FieldProblem};
    use crate::services::{access_error, internal_error, request_locale};

    /// Ids from the browser; a malformed one is "not found", like an unknown one.
    pub fn parse_ids(ids: &[String]) -> Result<Vec<Uuid>, ServerFnError> {
        ids.iter().map(|id| crate::services::parse_id(id)).collect()
    }

    /// The language the form was filled in: the one it says, else the request's.
    pub fn form_locale(locale: Option<Locale>) -> Locale {
        locale.unwrap_or_else(request_locale)
    }

    pub fn invalid(field: &str, error: shopmarkets_types::FieldError) -> BulkAnswer {
        BulkAnswer::Invalid(vec![FieldProblem {
            field: field.to_owned(),
            error,
        }])
    }

    /// A core answer as the page's: access refusals become 403/404 responses, the rest words.
    pub fn bulk_answer(
        result: Result<BulkOutcome, CatalogError>,
    ) -> Result<BulkAnswer, ServerFnError> {
        match result {
            Ok(outcome) => Ok(BulkAnswer::Done {
                products: outcome.products,
                variants: outcome.variants_changed,
            }),
            Err(CatalogError::Access(err)) => Err(access_error(err)),
            Err(CatalogError::Field { field, error }) => Ok(invalid(&field, error)),
            Err(CatalogError::Conflict { .. }) => Ok(BulkAnswer::Conflict),
            Err(CatalogError::Db(err)) => Err(internal_error(err)),
        }
    }

    /// A refusal of a read: only access problems are expected.
    pub fn read_error(err: CatalogError) -> ServerFnError {
        match err {
            CatalogError::Access(err) => access_error(err),
            other => internal_error(other),
        }
    }
}

/// A page of the current organization's products, newest change first: search (title, brand or
/// the start of a SKU), stock filter (`in_stock`, `out_of_stock`; anything else is all),
/// category (with everything below it) and the `after` cursor of the previous page.
#[server(endpoint = "product_list")]
pub async fn product_list(
    #[server(default)] q: Option<String>,
    #[server(default)] stock: Option<String>,
    #[server(default)] category: Option<String>,
    #[server(default)] after: Option<String>,
) -> Result<ProductListView, ServerFnError> {
    use shopmarkets_core::{
        access::Permission,
        catalog::{self, CatalogError, ProductQuery, StockFilter},
    };

    use self::server::read_error;
    use crate::services::{scope, services};

    let (_user, scope) = scope(Permission::ViewCatalog).await?;
    let services = services()?;
    let can_edit = scope.require(Permission::EditCatalog).is_ok();
    let given = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let search = given(q);
    let category = given(category);
    let stock = stock
        .as_deref()
        .and_then(StockChoice::from_code)
        .map(|choice| match choice {
            StockChoice::InStock => StockFilter::InStock,
            StockChoice::OutOfStock => StockFilter::OutOfStock,
        });
    let filtered = search.is_some() || category.is_some() || stock.is_some();
    let mut query = ProductQuery {
        search,
        stock,
        category,
        after: given(after),
        limit: PAGE_SIZE,
    };
    let paged = query.after.is_some();
    let (page, cursor_reset) = match catalog::list_products(&services.db, &scope, &query).await {
        Ok(page) => (page, false),
        Err(CatalogError::Field { field, .. }) if field == "after" => {
            query.after = None;
            let page = catalog::list_products(&services.db, &scope, &query)
                .await
                .map_err(read_error)?;
            (page, true)
        }
        Err(err) => return Err(read_error(err)),
    };

    Ok(ProductListView {
        rows: page
            .items
            .into_iter()
            .map(|row| ProductRowView {
                id: row.id.to_string(),
                lowest_price: row.lowest_price.and_then(|(minor, currency)| {
                    Currency::parse(&currency)
                        .and_then(|currency| Money::new(minor, currency))
                        .ok()
                }),
                updated_on: row.updated_at.format("%Y-%m-%d").to_string(),
                title: row.title,
                brand: row.brand,
                category: row.category,
                variants: row.variants,
                available: row.available,
                on_hand: row.on_hand,
            })
            .collect(),
        next: page.next,
        can_edit,
        filtered,
        paged: paged && !cursor_reset,
        cursor_reset,
    })
}

/// Changes the price of every variant of the selected products by a percentage (`value` like
/// `-10` or `12,5`) or an amount (`1,50`, `-2,00`), then rounds (always up to the ending;
/// `rounding` is a [`shopmarkets_types::Rounding::code`] such as `ending_99`).
/// All or nothing: a price that would go below zero stops the action at its SKU.
#[server(endpoint = "bulk_price")]
pub async fn bulk_price(
    #[server(default)] ids: Vec<String>,
    mode: PriceMode,
    value: String,
    rounding: String,
    #[server(default)] locale: Option<Locale>,
) -> Result<BulkAnswer, ServerFnError> {
    use shopmarkets_core::{access::Permission, catalog};
    use shopmarkets_types::{PriceChange, Rounding};

    use self::server::{bulk_answer, form_locale, invalid, parse_ids};
    use crate::services::{client_ip, scope, services};

    let (_user, scope) = scope(Permission::EditCatalog).await?;
    let services = services()?;
    let ids = parse_ids(&ids)?;
    let locale = form_locale(locale);
    let Some(rounding) = Rounding::from_code(&rounding) else {
        return Ok(invalid("rounding", FieldError::Required));
    };
    let (change, rule) = match mode {
        PriceMode::Percent => match parse_percent(&value, locale) {
            Ok(bp) => (
                PriceChange::Percent(bp),
                PriceRule {
                    percent_basis_points: bp,
                    ..PriceRule::IDENTITY
                },
            ),
            Err(error) => return Ok(invalid("value", error)),
        },
        PriceMode::Amount => match parse_signed_amount(&value, locale) {
            Ok(minor) => (
                PriceChange::Amount(minor),
                PriceRule {
                    add_minor: minor,
                    ..PriceRule::IDENTITY
                },
            ),
            Err(error) => return Ok(invalid("value", error)),
        },
    };
    // The rule's own limits (−99 % to +1000 %, ±10,000) belong to the value typed, not to the
    // first SKU the core would name.
    if let Err((_, error)) = rule.check() {
        return Ok(invalid("value", error));
    }
    bulk_answer(
        catalog::bulk_change_price(
            &services.db,
            &scope,
            &ids,
            change,
            rounding,
            services.clock.now(),
            client_ip(),
        )
        .await,
    )
}

/// Sets the on-hand stock of every variant of the selected products to `quantity`, or moves it
/// by `quantity` (`+5`, `-3`), through the ledger with the reason given.
#[server(endpoint = "bulk_stock")]
pub async fn bulk_stock(
    #[server(default)] ids: Vec<String>,
    mode: StockMode,
    quantity: String,
    reason: BulkStockReason,
) -> Result<BulkAnswer, ServerFnError> {
    use shopmarkets_core::{
        access::Permission,
        catalog::{self, StockChange},
    };

    use self::server::{bulk_answer, invalid, parse_ids};
    use crate::services::{client_ip, scope, services};

    let (_user, scope) = scope(Permission::EditCatalog).await?;
    let services = services()?;
    let ids = parse_ids(&ids)?;
    let quantity = match parse_quantity(&quantity) {
        Ok(quantity) => quantity,
        Err(error) => return Ok(invalid("quantity", error)),
    };
    let change = match mode {
        StockMode::Set => StockChange::Set(quantity),
        StockMode::Adjust => StockChange::Adjust(quantity),
    };
    bulk_answer(
        catalog::bulk_change_stock(
            &services.db,
            &scope,
            &ids,
            change,
            reason.into(),
            services.clock.now(),
            client_ip(),
        )
        .await,
    )
}

/// Deletes the selected products with their variants and stock ledgers.
#[server(endpoint = "bulk_delete")]
pub async fn bulk_delete(#[server(default)] ids: Vec<String>) -> Result<BulkAnswer, ServerFnError> {
    use shopmarkets_core::{access::Permission, catalog};

    use self::server::{bulk_answer, parse_ids};
    use crate::services::{client_ip, scope, services};

    let (_user, scope) = scope(Permission::EditCatalog).await?;
    let services = services()?;
    let ids = parse_ids(&ids)?;
    bulk_answer(
        catalog::bulk_delete(
            &services.db,
            &scope,
            &ids,
            services.clock.now(),
            client_ip(),
        )
        .await,
    )
}

/// The price rule of every marketplace (the identity rule where none is stored), and whether the
/// viewer may change them.
#[server(endpoint = "price_rules_overview")]
pub async fn price_rules_overview() -> Result<PriceRulesView, ServerFnError> {
    use shopmarkets_core::{access::Permission, catalog};

    use self::server::read_error;
    use crate::services::{scope, services};

    let (_user, scope) = scope(Permission::ViewCatalog).await?;
    let services = services()?;
    let can_edit = scope.require(Permission::EditCatalog).is_ok();
    let stored = catalog::price_rules(&services.db, &scope)
        .await
        .map_err(read_error)?;
    Ok(PriceRulesView {
        rules: Marketplace::ALL
            .into_iter()
            .map(|marketplace| {
                stored.iter().find(|s| s.marketplace == marketplace).map_or(
                    PriceRuleView {
                        marketplace,
                        rule: PriceRule::IDENTITY,
                        version: None,
                    },
                    |s| PriceRuleView {
                        marketplace,
                        rule: s.rule,
                        version: Some(s.version),
                    },
                )
            })
            .collect(),
        can_edit,
    })
}

/// Saves a marketplace's rule: `percent` (`15`, `-5,5`; empty is 0), `add` (`0,50`; empty is 0)
/// and the rounding (a [`shopmarkets_types::Rounding::code`]). `version` is the one the page read (empty when it saw no rule); someone
/// else's save in between is a [`PriceRuleAnswer::Conflict`]. Saving "0 %, 0, no rounding"
/// removes the rule.
#[server(endpoint = "save_price_rule")]
pub async fn save_price_rule(
    marketplace: Marketplace,
    #[server(default)] percent: String,
    #[server(default)] add: String,
    rounding: String,
    #[server(default)] version: String,
    #[server(default)] locale: Option<Locale>,
) -> Result<PriceRuleAnswer, ServerFnError> {
    use shopmarkets_core::{
        access::Permission,
        catalog::{self, CatalogError},
    };
    use shopmarkets_types::Rounding;

    use self::server::form_locale;
    use crate::services::{access_error, client_ip, internal_error, scope, services};

    let (_user, scope) = scope(Permission::EditCatalog).await?;
    let services = services()?;
    let locale = form_locale(locale);
    let expected_version = match version.trim() {
        "" => None,
        // A version the page cannot have read: the page is out of date.
        v => match v.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => return Ok(PriceRuleAnswer::Conflict),
        },
    };
    let mut problems = Vec::new();
    let rounding = Rounding::from_code(&rounding).unwrap_or_else(|| {
        problems.push(FieldProblem {
            field: "rounding".to_owned(),
            error: FieldError::Required,
        });
        Rounding::None
    });
    let mut read = |field: &str, input: &str, parse: &dyn Fn(&str) -> Result<i64, FieldError>| {
        if input.trim().is_empty() {
            return 0;
        }
        parse(input).unwrap_or_else(|error| {
            problems.push(FieldProblem {
                field: field.to_owned(),
                error,
            });
            0
        })
    };
    let percent = read("percent", &percent, &|v| {
        parse_percent(v, locale).map(i64::from)
    });
    let add_minor = read("add", &add, &|v| parse_signed_amount(v, locale));
    if !problems.is_empty() {
        return Ok(PriceRuleAnswer::Invalid(problems));
    }
    let rule = PriceRule {
        percent_basis_points: i32::try_from(percent).unwrap_or(i32::MAX),
        add_minor,
        rounding,
    };
    match catalog::set_price_rule(
        &services.db,
        &scope,
        marketplace,
        rule,
        expected_version,
        services.clock.now(),
        client_ip(),
    )
    .await
    {
        Ok(stored) => Ok(PriceRuleAnswer::Saved(PriceRuleView {
            marketplace,
            rule: stored.map_or(PriceRule::IDENTITY, |s| s.rule),
            version: stored.map(|s| s.version),
        })),
        Err(CatalogError::Access(err)) => Err(access_error(err)),
        Err(CatalogError::Field { field, error }) => {
            Ok(PriceRuleAnswer::Invalid(vec![FieldProblem {
                field,
                error,
            }]))
        }
        Err(CatalogError::Conflict { .. }) => Ok(PriceRuleAnswer::Conflict),
        Err(CatalogError::Db(err)) => Err(internal_error(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_are_read_in_the_ui_language() {
        assert_eq!(parse_percent("-10", Locale::De), Ok(-1000));
        assert_eq!(parse_percent("12,5", Locale::De), Ok(1250));
        assert_eq!(parse_percent("12.5", Locale::En), Ok(1250));
        assert_eq!(parse_percent(" +15 % ", Locale::De), Ok(1500));
        assert_eq!(parse_percent("\u{2212}5,55", Locale::De), Ok(-555));
        assert_eq!(parse_percent("", Locale::De), Err(FieldError::Required));
        assert_eq!(
            parse_percent("-", Locale::De),
            Err(FieldError::InvalidAmount)
        );
        assert_eq!(
            parse_percent("zehn", Locale::De),
            Err(FieldError::InvalidAmount)
        );
        assert_eq!(
            parse_percent("12 €", Locale::De),
            Err(FieldError::InvalidAmount)
        );
        assert_eq!(
            parse_percent("1,234", Locale::De),
            Err(FieldError::TooManyDecimals)
        );
        // A German decimal in an English page is refused, not read as thousands.
        assert!(parse_percent("12,5", Locale::En).is_err());
    }

    #[test]
    fn amounts_keep_their_sign() {
        assert_eq!(parse_signed_amount("1,50", Locale::De), Ok(150));
        assert_eq!(parse_signed_amount("-2,00", Locale::De), Ok(-200));
        assert_eq!(parse_signed_amount("-2.5", Locale::En), Ok(-250));
        assert_eq!(parse_signed_amount("0,5 €", Locale::De), Ok(50));
        assert_eq!(
            parse_signed_amount(" ", Locale::De),
            Err(FieldError::Required)
        );
        assert!(parse_signed_amount("1,50", Locale::En).is_err());
    }

    #[test]
    fn quantities_are_whole_numbers() {
        assert_eq!(parse_quantity("12"), Ok(12));
        assert_eq!(parse_quantity("+5"), Ok(5));
        assert_eq!(parse_quantity("-3"), Ok(-3));
        assert_eq!(parse_quantity("1,5"), Err(FieldError::InvalidNumber));
        assert_eq!(parse_quantity(""), Err(FieldError::Required));
    }

    #[test]
    fn formatting_reads_back() {
        for locale in Locale::ALL {
            for bp in [0, 1500, -550, 1225, -9900, 5] {
                assert_eq!(parse_percent(&format_percent(bp, locale), locale), Ok(bp));
            }
            for minor in [0, 50, -100, 123_456, -5] {
                assert_eq!(
                    parse_signed_amount(&format_signed_amount(minor, locale), locale),
                    Ok(minor)
                );
            }
        }
        assert_eq!(format_percent(-550, Locale::De), "-5,5");
        assert_eq!(format_signed_amount(50, Locale::De), "0,50");
    }
}
