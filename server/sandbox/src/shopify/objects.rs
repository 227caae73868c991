//! The object types behind the query root: products with variants and options, orders with
//! line items, fulfillment orders and fulfillments, webhook subscriptions, money.

use async_graphql::connection::Connection;
use async_graphql::resolver_utils::EnumType;
use async_graphql::{ID, Object, Result, SimpleObject};

use super::graphql::{ProductStatus, WebhookSubscriptionFormat, WebhookSubscriptionTopic};
use super::model::{self, Order, Product, Shop, gid, iso};
use super::paging::page;

#[derive(SimpleObject, Clone)]
pub struct WebhookSubscriptionObject {
    id: ID,
    pub(super) topic: WebhookSubscriptionTopic,
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
