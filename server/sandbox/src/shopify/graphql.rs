//! The Admin GraphQL schema subset: shop, products with variants, locations, orders with
//! fulfillment orders and fulfillments, webhook subscriptions. Relay connections
//! (`edges { cursor node }`, `nodes`, `pageInfo`) with `first`/`after` (at most 250), cursors
//! shaped like Shopify's (base64 of `{"last_id":…,"last_value":…}`).

use async_graphql::connection::{Connection, Edge};
use async_graphql::resolver_utils::EnumType;
use async_graphql::{
    Context, CustomDirective, Directive, EmptySubscription, Enum, ErrorExtensions, ID, Object,
    OutputType, Result, Schema, SimpleObject,
};
use base64::Engine;

use super::api::ApiContext;
use super::model::{self, Order, Product, Shop, gid, iso, parse_gid};
use super::mutations::MutationRoot;

pub type AdminSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

struct Idempotent;

impl CustomDirective for Idempotent {}

/// `@idempotent(key: String!)`: the mutation reads the key itself (see
/// `inventorySetQuantities`).
#[Directive(location = "Field")]
fn idempotent(key: String) -> impl CustomDirective {
    let _ = key;
    Idempotent
}

pub fn schema() -> AdminSchema {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .directive(idempotent)
        .limit_depth(32)
        .finish()
}

pub fn api<'a>(ctx: &'a Context<'_>) -> &'a ApiContext {
    ctx.data_unchecked::<ApiContext>()
}

/// A GraphQL error with Shopify's `extensions.code`.
pub fn error(message: impl Into<String>, code: &str) -> async_graphql::Error {
    let code = code.to_owned();
    async_graphql::Error::new(message).extend_with(move |_, e| e.set("code", code.clone()))
}

/// Runs `f` with the call's shop.
pub fn with_shop<T>(ctx: &Context<'_>, f: impl FnOnce(&Shop) -> T) -> Result<T> {
    let api = api(ctx);
    let state = api.sandbox.lock();
    let shop = state
        .shops
        .get(&api.shop)
        .ok_or_else(|| error("Shop not found", "NOT_FOUND"))?;
    Ok(f(shop))
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, serde::Serialize)]
pub enum ProductStatus {
    Active,
    Archived,
    Draft,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum OrderSortKeys {
    CreatedAt,
    Id,
    OrderNumber,
    ProcessedAt,
    UpdatedAt,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WebhookSubscriptionTopic {
    OrdersCreate,
    OrdersUpdated,
    OrdersPaid,
    OrdersFulfilled,
    OrdersCancelled,
    ProductsCreate,
    ProductsUpdate,
    ProductsDelete,
    InventoryLevelsUpdate,
    InventoryItemsUpdate,
    AppUninstalled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum WebhookSubscriptionFormat {
    Json,
    Xml,
}

/// One page of a sorted list. `items` carry (sort value, id, node).
pub fn page<T: OutputType>(
    mut items: Vec<(String, u64, T)>,
    first: Option<i32>,
    after: Option<String>,
    reverse: bool,
) -> Result<Connection<String, T>> {
    let first = match first {
        None => {
            return Err(error(
                "you must provide one of first or last",
                "BAD_REQUEST",
            ));
        }
        Some(n) if !(0..=250).contains(&n) => {
            return Err(error(
                "The maximum number of items per page (first) is 250",
                "BAD_REQUEST",
            ));
        }
        Some(n) => usize::try_from(n).unwrap_or(0),
    };
    items.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    if reverse {
        items.reverse();
    }
    let start = match after {
        None => 0,
        Some(cursor) => {
            let (value, id) = decode_cursor(&cursor).ok_or_else(|| {
                error("Invalid cursor for current pagination sort.", "BAD_REQUEST")
            })?;
            items
                .iter()
                .position(|(v, i, _)| {
                    let key = (v.as_str(), *i);
                    if reverse {
                        key < (value.as_str(), id)
                    } else {
                        key > (value.as_str(), id)
                    }
                })
                .unwrap_or(items.len())
        }
    };
    let total = items.len();
    let has_next = total > start + first;
    let mut connection = Connection::new(start > 0, has_next);
    connection.edges.extend(
        items
            .into_iter()
            .skip(start)
            .take(first)
            .map(|(value, id, node)| Edge::new(encode_cursor(&value, id), node)),
    );
    Ok(connection)
}

fn encode_cursor(value: &str, id: u64) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(serde_json::json!({ "last_id": id, "last_value": value }).to_string())
}

fn decode_cursor(cursor: &str) -> Option<(String, u64)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let id = value.get("last_id")?.as_u64()?;
    let last = match value.get("last_value")? {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some((last, id))
}

/// One term of Shopify's search syntax: `updated_at:>='2025-01-01T00:00:00Z'`.
#[derive(Debug, PartialEq)]
pub struct Term {
    pub field: String,
    pub op: String,
    pub value: String,
}

/// The subset of the search syntax the sandbox understands: space- or `AND`-separated
/// `field:value` terms with an optional comparison (`<`, `<=`, `>`, `>=`), values optionally
/// in single or double quotes. Other words are ignored.
pub fn parse_search(query: &str) -> Vec<Term> {
    let mut terms = Vec::new();
    let mut rest = query.trim();
    while !rest.is_empty() {
        let (token, tail) = next_token(rest);
        rest = tail.trim_start();
        let Some((field, value)) = token.split_once(':') else {
            continue;
        };
        let (op, value) = ["<=", ">=", "<", ">", "="]
            .iter()
            .find_map(|op| value.strip_prefix(op).map(|v| (*op, v)))
            .unwrap_or(("=", value));
        let value = value.trim_matches(|c| c == '\'' || c == '"');
        terms.push(Term {
            field: field.to_lowercase(),
            op: op.to_owned(),
            value: value.to_owned(),
        });
    }
    terms
}

fn next_token(text: &str) -> (&str, &str) {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => return (&text[..i], &text[i..]),
            _ => {}
        }
    }
    (text, "")
}

/// Compares a timestamp against a search value (a date or a date-time).
pub fn date_matches(at: chrono::DateTime<chrono::Utc>, term: &Term) -> bool {
    let parsed = chrono::DateTime::parse_from_rfc3339(&term.value)
        .map(|d| d.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(&term.value, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        });
    let Some(value) = parsed else {
        return false;
    };
    match term.op.as_str() {
        "<" => at < value,
        "<=" => at <= value,
        ">" => at > value,
        ">=" => at >= value,
        _ => at == value,
    }
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    async fn shop(&self, ctx: &Context<'_>) -> Result<ShopObject> {
        with_shop(ctx, |shop| ShopObject {
            id: ID(gid("Shop", shop.location_id)),
            name: shop.name.clone(),
            myshopify_domain: shop.domain.clone(),
            currency_code: shop.currency.clone(),
        })
    }

    async fn product(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ProductObject>> {
        let Some(id) = parse_gid("Product", &id) else {
            return Ok(None);
        };
        with_shop(ctx, |shop| {
            shop.products.get(&id).map(|p| ProductObject::new(shop, p))
        })
    }

    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        reverse: Option<bool>,
        query: Option<String>,
    ) -> Result<Connection<String, ProductObject>> {
        let terms = parse_search(query.as_deref().unwrap_or(""));
        let items = with_shop(ctx, |shop| {
            shop.products
                .values()
                .filter(|p| {
                    terms.iter().all(|t| match t.field.as_str() {
                        "sku" => p.variants.iter().any(|v| v.sku == t.value),
                        "title" => p.title.to_lowercase().contains(&t.value.to_lowercase()),
                        "status" => p.status.eq_ignore_ascii_case(&t.value),
                        "updated_at" => date_matches(p.updated_at, t),
                        "created_at" => date_matches(p.created_at, t),
                        _ => true,
                    })
                })
                .map(|p| (format!("{:020}", p.id), p.id, ProductObject::new(shop, p)))
                .collect()
        })?;
        page(items, first, after, reverse.unwrap_or(false))
    }

    async fn location(&self, ctx: &Context<'_>, id: Option<ID>) -> Result<Option<LocationObject>> {
        with_shop(ctx, |shop| {
            let wanted = id.as_deref().map(|id| parse_gid("Location", id));
            match wanted {
                Some(Some(id)) if id != shop.location_id => None,
                Some(None) => None,
                _ => Some(LocationObject::of(shop)),
            }
        })
    }

    async fn locations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, LocationObject>> {
        let items = with_shop(ctx, |shop| {
            vec![(
                format!("{:020}", shop.location_id),
                shop.location_id,
                LocationObject::of(shop),
            )]
        })?;
        page(items, first, after, false)
    }

    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<OrderObject>> {
        let Some(id) = parse_gid("Order", &id) else {
            return Ok(None);
        };
        with_shop(ctx, |shop| {
            shop.orders.get(&id).map(|o| OrderObject(o.clone()))
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        sort_key: Option<OrderSortKeys>,
        reverse: Option<bool>,
        query: Option<String>,
    ) -> Result<Connection<String, OrderObject>> {
        let terms = parse_search(query.as_deref().unwrap_or(""));
        let sort = sort_key.unwrap_or(OrderSortKeys::Id);
        let items = with_shop(ctx, |shop| {
            shop.orders
                .values()
                .filter(|o| {
                    terms.iter().all(|t| match t.field.as_str() {
                        "updated_at" => date_matches(o.updated_at, t),
                        "created_at" | "processed_at" => date_matches(o.created_at, t),
                        "name" => o.name.trim_start_matches('#') == t.value.trim_start_matches('#'),
                        "email" => o.email.eq_ignore_ascii_case(&t.value),
                        "fulfillment_status" => {
                            let status = if o.fulfillment_status == "FULFILLED" {
                                "shipped"
                            } else {
                                "unshipped"
                            };
                            t.value.eq_ignore_ascii_case(status)
                                || t.value.eq_ignore_ascii_case(&o.fulfillment_status)
                        }
                        _ => true,
                    })
                })
                .map(|o| {
                    let value = match sort {
                        OrderSortKeys::UpdatedAt => o
                            .updated_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        OrderSortKeys::CreatedAt | OrderSortKeys::ProcessedAt => o
                            .created_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                        OrderSortKeys::Id | OrderSortKeys::OrderNumber => format!("{:020}", o.id),
                    };
                    (value, o.id, OrderObject(o.clone()))
                })
                .collect()
        })?;
        page(items, first, after, reverse.unwrap_or(false))
    }

    async fn webhook_subscriptions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        topics: Option<Vec<WebhookSubscriptionTopic>>,
    ) -> Result<Connection<String, WebhookSubscriptionObject>> {
        let items = with_shop(ctx, |shop| {
            shop.webhooks
                .values()
                .map(WebhookSubscriptionObject::of)
                .filter(|w| topics.as_ref().is_none_or(|t| t.contains(&w.topic)))
                .map(|w| (format!("{:020}", w.numeric_id), w.numeric_id, w))
                .collect()
        })?;
        page(items, first, after, false)
    }
}

#[derive(SimpleObject)]
pub struct ShopObject {
    id: ID,
    name: String,
    myshopify_domain: String,
    currency_code: String,
}

#[derive(SimpleObject, Clone)]
pub struct LocationObject {
    id: ID,
    name: String,
    is_active: bool,
}

impl LocationObject {
    fn of(shop: &Shop) -> Self {
        Self {
            id: ID(gid("Location", shop.location_id)),
            name: "Shop location".into(),
            is_active: true,
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct WebhookSubscriptionObject {
    id: ID,
    topic: WebhookSubscriptionTopic,
    format: WebhookSubscriptionFormat,
    uri: String,
    /// Deprecated at Shopify in favour of `uri`, still answered.
    callback_url: String,
    api_version: ApiVersion,
    created_at: String,
    #[graphql(skip)]
    pub numeric_id: u64,
}

#[derive(SimpleObject, Clone)]
pub struct ApiVersion {
    handle: String,
}

impl WebhookSubscriptionObject {
    pub fn of(w: &model::Webhook) -> Self {
        Self {
            id: ID(gid("WebhookSubscription", w.id)),
            topic: topic_from_name(&w.topic).unwrap_or(WebhookSubscriptionTopic::OrdersCreate),
            format: if w.format == "XML" {
                WebhookSubscriptionFormat::Xml
            } else {
                WebhookSubscriptionFormat::Json
            },
            uri: w.uri.clone(),
            callback_url: w.uri.clone(),
            api_version: ApiVersion {
                handle: w.api_version.clone(),
            },
            created_at: iso(w.created_at),
            numeric_id: w.id,
        }
    }
}

pub fn topic_name(topic: WebhookSubscriptionTopic) -> String {
    WebhookSubscriptionTopic::items()
        .iter()
        .find(|i| i.value == topic)
        .map_or_else(String::new, |i| i.name.to_owned())
}

fn topic_from_name(name: &str) -> Option<WebhookSubscriptionTopic> {
    WebhookSubscriptionTopic::items()
        .iter()
        .find(|i| i.name == name)
        .map(|i| i.value)
}

#[derive(SimpleObject, Clone)]
pub struct MoneyV2 {
    amount: String,
    currency_code: String,
}

#[derive(SimpleObject, Clone)]
pub struct MoneyBag {
    shop_money: MoneyV2,
    presentment_money: MoneyV2,
}

pub fn money_bag(amount: String, currency: &str) -> MoneyBag {
    let money = MoneyV2 {
        amount,
        currency_code: currency.to_owned(),
    };
    MoneyBag {
        shop_money: money.clone(),
        presentment_money: money,
    }
}

#[derive(Clone)]
pub struct ProductObject {
    product: Product,
    currency: String,
}

impl ProductObject {
    pub fn new(shop: &Shop, product: &Product) -> Self {
        Self {
            product: product.clone(),
            currency: shop.currency.clone(),
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct ProductOptionObject {
    id: ID,
    name: String,
    position: i32,
    values: Vec<String>,
    option_values: Vec<OptionValueObject>,
}

#[derive(SimpleObject, Clone)]
pub struct OptionValueObject {
    name: String,
}

#[derive(SimpleObject, Clone)]
pub struct SelectedOption {
    name: String,
    value: String,
}

#[derive(SimpleObject, Clone)]
pub struct InventoryItemObject {
    id: ID,
    sku: String,
    tracked: bool,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "ProductVariant")]
pub struct VariantObject {
    id: ID,
    sku: String,
    title: String,
    price: String,
    compare_at_price: Option<String>,
    inventory_quantity: i64,
    inventory_item: InventoryItemObject,
    selected_options: Vec<SelectedOption>,
    created_at: String,
    updated_at: String,
}

impl VariantObject {
    pub fn of(v: &model::Variant) -> Self {
        Self {
            id: ID(gid("ProductVariant", v.id)),
            sku: v.sku.clone(),
            title: v.title.clone(),
            price: v.price.clone(),
            compare_at_price: v.compare_at_price.clone(),
            inventory_quantity: v.available,
            inventory_item: InventoryItemObject {
                id: ID(gid("InventoryItem", v.inventory_item_id)),
                sku: v.sku.clone(),
                tracked: true,
            },
            selected_options: v
                .options
                .iter()
                .map(|(name, value)| SelectedOption {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
            created_at: iso(v.created_at),
            updated_at: iso(v.updated_at),
        }
    }
}

#[Object(name = "Product")]
impl ProductObject {
    async fn id(&self) -> ID {
        ID(gid("Product", self.product.id))
    }
    async fn title(&self) -> &str {
        &self.product.title
    }
    async fn handle(&self) -> &str {
        &self.product.handle
    }
    async fn description_html(&self) -> &str {
        &self.product.description_html
    }
    async fn vendor(&self) -> &str {
        &self.product.vendor
    }
    async fn product_type(&self) -> &str {
        &self.product.product_type
    }
    async fn status(&self) -> ProductStatus {
        match self.product.status.as_str() {
            "ARCHIVED" => ProductStatus::Archived,
            "DRAFT" => ProductStatus::Draft,
            _ => ProductStatus::Active,
        }
    }
    async fn created_at(&self) -> String {
        iso(self.product.created_at)
    }
    async fn updated_at(&self) -> String {
        iso(self.product.updated_at)
    }
    async fn total_inventory(&self) -> i64 {
        self.product.variants.iter().map(|v| v.available).sum()
    }
    async fn options(&self, first: Option<i32>) -> Vec<ProductOptionObject> {
        let limit = usize::try_from(first.unwrap_or(250)).unwrap_or(0);
        self.product
            .options
            .iter()
            .take(limit)
            .enumerate()
            .map(|(i, o)| ProductOptionObject {
                id: ID(gid("ProductOption", o.id)),
                name: o.name.clone(),
                position: i32::try_from(i + 1).unwrap_or(i32::MAX),
                values: o.values.clone(),
                option_values: o
                    .values
                    .iter()
                    .map(|v| OptionValueObject { name: v.clone() })
                    .collect(),
            })
            .collect()
    }
    async fn price_range_v2(&self) -> PriceRange {
        let prices: Vec<i64> = self
            .product
            .variants
            .iter()
            .map(|v| model::cents(&v.price))
            .collect();
        let min = prices.iter().copied().min().unwrap_or(0);
        let max = prices.iter().copied().max().unwrap_or(0);
        PriceRange {
            min_variant_price: MoneyV2 {
                amount: model::money(min),
                currency_code: self.currency.clone(),
            },
            max_variant_price: MoneyV2 {
                amount: model::money(max),
                currency_code: self.currency.clone(),
            },
        }
    }
    async fn variants(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, VariantObject>> {
        let items = self
            .product
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{i:06}"), v.id, VariantObject::of(v)))
            .collect();
        page(items, first, after, false)
    }
}

#[derive(SimpleObject, Clone)]
pub struct PriceRange {
    min_variant_price: MoneyV2,
    max_variant_price: MoneyV2,
}

pub struct OrderObject(pub Order);

#[derive(SimpleObject, Clone)]
#[graphql(name = "MailingAddress")]
pub struct AddressObject {
    first_name: String,
    last_name: String,
    name: String,
    address1: String,
    address2: Option<String>,
    city: String,
    zip: String,
    country_code_v2: String,
    phone: String,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "LineItem")]
pub struct LineItemObject {
    id: ID,
    sku: String,
    title: String,
    name: String,
    variant_title: Option<String>,
    quantity: i32,
    current_quantity: i32,
    original_unit_price_set: MoneyBag,
}

fn line_item(order: &Order, id: u64) -> Option<LineItemObject> {
    order
        .line_items
        .iter()
        .find(|l| l.id == id)
        .map(|l| LineItemObject {
            id: ID(gid("LineItem", l.id)),
            sku: l.sku.clone(),
            title: l.title.clone(),
            name: if l.variant_title.is_empty() {
                l.title.clone()
            } else {
                format!("{} - {}", l.title, l.variant_title)
            },
            variant_title: (!l.variant_title.is_empty()).then(|| l.variant_title.clone()),
            quantity: i32::try_from(l.quantity).unwrap_or(i32::MAX),
            current_quantity: i32::try_from(l.quantity).unwrap_or(i32::MAX),
            original_unit_price_set: money_bag(l.price.clone(), &order.currency),
        })
}

#[derive(SimpleObject, Clone)]
pub struct FulfillmentOrderLineItemObject {
    id: ID,
    total_quantity: i32,
    remaining_quantity: i32,
    line_item: LineItemObject,
}

#[derive(Clone)]
pub struct FulfillmentOrderObject {
    id: u64,
    status: String,
    items: Vec<FulfillmentOrderLineItemObject>,
}

#[Object(name = "FulfillmentOrder")]
impl FulfillmentOrderObject {
    async fn id(&self) -> ID {
        ID(gid("FulfillmentOrder", self.id))
    }
    async fn status(&self) -> &str {
        &self.status
    }
    async fn line_items(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, FulfillmentOrderLineItemObject>> {
        let items = self
            .items
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("{i:06}"), i as u64, l.clone()))
            .collect();
        page(items, first, after, false)
    }
}

#[derive(SimpleObject, Clone)]
pub struct TrackingInfo {
    company: Option<String>,
    number: Option<String>,
    url: Option<String>,
}

#[derive(Clone)]
pub struct FulfillmentObject(pub model::Fulfillment);

#[Object(name = "Fulfillment")]
impl FulfillmentObject {
    async fn id(&self) -> ID {
        ID(gid("Fulfillment", self.0.id))
    }
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn created_at(&self) -> String {
        iso(self.0.created_at)
    }
    async fn tracking_info(&self, first: Option<i32>) -> Vec<TrackingInfo> {
        let f = &self.0;
        if first == Some(0)
            || (f.tracking_number.is_none()
                && f.tracking_company.is_none()
                && f.tracking_url.is_none())
        {
            return Vec::new();
        }
        vec![TrackingInfo {
            company: f.tracking_company.clone(),
            number: f.tracking_number.clone(),
            url: f.tracking_url.clone(),
        }]
    }
}

#[Object(name = "Order")]
impl OrderObject {
    async fn id(&self) -> ID {
        ID(gid("Order", self.0.id))
    }
    async fn legacy_resource_id(&self) -> String {
        self.0.id.to_string()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn created_at(&self) -> String {
        iso(self.0.created_at)
    }
    async fn updated_at(&self) -> String {
        iso(self.0.updated_at)
    }
    async fn processed_at(&self) -> String {
        iso(self.0.created_at)
    }
    async fn currency_code(&self) -> &str {
        &self.0.currency
    }
    async fn test(&self) -> bool {
        true
    }
    async fn display_financial_status(&self) -> &str {
        &self.0.financial_status
    }
    async fn display_fulfillment_status(&self) -> &str {
        &self.0.fulfillment_status
    }
    async fn total_price_set(&self) -> MoneyBag {
        money_bag(model::money(self.0.total_cents()), &self.0.currency)
    }
    async fn subtotal_price_set(&self) -> MoneyBag {
        money_bag(model::money(self.0.total_cents()), &self.0.currency)
    }
    async fn shipping_address(&self) -> AddressObject {
        let b = &self.0.buyer;
        AddressObject {
            first_name: b.first_name.clone(),
            last_name: b.last_name.clone(),
            name: b.full_name(),
            address1: b.address.line1.clone(),
            address2: b.address.line2.clone(),
            city: b.address.city.clone(),
            zip: b.address.postal_code.clone(),
            country_code_v2: b.address.country_code.clone(),
            phone: b.phone.clone(),
        }
    }
    async fn line_items(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, LineItemObject>> {
        let items = self
            .0
            .line_items
            .iter()
            .enumerate()
            .filter_map(|(i, l)| line_item(&self.0, l.id).map(|o| (format!("{i:06}"), l.id, o)))
            .collect();
        page(items, first, after, false)
    }
    async fn fulfillment_orders(
        &self,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, FulfillmentOrderObject>> {
        let items = self
            .0
            .fulfillment_orders
            .iter()
            .map(|fo| {
                let object = FulfillmentOrderObject {
                    id: fo.id,
                    status: fo.status.clone(),
                    items: fo
                        .line_items
                        .iter()
                        .filter_map(|l| {
                            line_item(&self.0, l.line_item_id).map(|li| {
                                FulfillmentOrderLineItemObject {
                                    id: ID(gid("FulfillmentOrderLineItem", l.id)),
                                    total_quantity: i32::try_from(l.total_quantity)
                                        .unwrap_or(i32::MAX),
                                    remaining_quantity: i32::try_from(l.remaining_quantity)
                                        .unwrap_or(i32::MAX),
                                    line_item: li,
                                }
                            })
                        })
                        .collect(),
                };
                (format!("{:020}", fo.id), fo.id, object)
            })
            .collect();
        page(items, first, after, false)
    }
    async fn fulfillments(&self, first: Option<i32>) -> Vec<FulfillmentObject> {
        let limit = usize::try_from(first.unwrap_or(250)).unwrap_or(0);
        self.0
            .fulfillments
            .iter()
            .take(limit)
            .cloned()
            .map(FulfillmentObject)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_parse() {
        assert_eq!(
            parse_search("updated_at:>='2025-01-01T00:00:00Z' status:open"),
            vec![
                Term {
                    field: "updated_at".into(),
                    op: ">=".into(),
                    value: "2025-01-01T00:00:00Z".into()
                },
                Term {
                    field: "status".into(),
                    op: "=".into(),
                    value: "open".into()
                },
            ]
        );
    }
}
