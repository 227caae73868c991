//! The Admin GraphQL schema subset: shop, products with variants, locations, orders with
//! fulfillment orders and fulfillments, webhook subscriptions. This module holds the schema,
//! the query root and what resolvers share; the object types are in `objects`, Relay
//! pagination in `paging`, the search syntax in `search`, the mutations in `mutations`.

use async_graphql::connection::Connection;
use async_graphql::{
    Context, CustomDirective, Directive, EmptySubscription, Enum, ErrorExtensions, ID, Object,
    Result, Schema, SimpleObject,
};

use super::api::ApiContext;
use super::model::{Shop, gid, parse_gid};
use super::mutations::MutationRoot;
use super::objects::{OrderObject, ProductObject, WebhookSubscriptionObject};
use super::paging::{page, page_with};
use super::search::{date_matches, parse_search};

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
        with_shop(ctx, |shop| {
            let items = shop
                .products
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
                .map(|p| (p.id, p.id, p))
                .collect();
            page_with(
                items,
                first,
                after,
                reverse.unwrap_or(false),
                |id| format!("{id:020}"),
                |p| ProductObject::new(shop, p),
            )
        })?
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
        with_shop(ctx, |shop| {
            let items = shop
                .orders
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
                    // Timestamps in microseconds, the precision of the cursor's value.
                    let key = match sort {
                        OrderSortKeys::UpdatedAt => i128::from(o.updated_at.timestamp_micros()),
                        OrderSortKeys::CreatedAt | OrderSortKeys::ProcessedAt => {
                            i128::from(o.created_at.timestamp_micros())
                        }
                        OrderSortKeys::Id | OrderSortKeys::OrderNumber => i128::from(o.id),
                    };
                    (key, o.id, o)
                })
                .collect();
            let value = |key: &i128| match sort {
                OrderSortKeys::Id | OrderSortKeys::OrderNumber => format!("{key:020}"),
                _ => i64::try_from(*key)
                    .ok()
                    .and_then(chrono::DateTime::from_timestamp_micros)
                    .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                    .unwrap_or_default(),
            };
            page_with(items, first, after, reverse.unwrap_or(false), value, |o| {
                OrderObject(o.clone())
            })
        })?
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
