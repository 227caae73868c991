//! `wc/v3/products`, its variations and the batch endpoints
//! (`WC_REST_Products_Controller`, `WC_REST_Product_Variations_Controller`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::model::{Product, RestError, Store};
use super::rest::{Reply, Request, no_route, page_params, paginate};

/// `woocommerce_rest_batch_items_limit`.
const BATCH_LIMIT: usize = 100;

fn invalid_id(variation: bool) -> RestError {
    let code = if variation {
        "woocommerce_rest_product_variation_invalid_id"
    } else {
        "woocommerce_rest_product_invalid_id"
    };
    RestError::new(404, code, "Invalid ID.")
}

fn parse_id(segment: &str) -> Option<u64> {
    if segment.bytes().all(|b| b.is_ascii_digit()) {
        segment.parse().ok()
    } else {
        None
    }
}

fn is_edit(method: &str) -> bool {
    matches!(method, "PUT" | "PATCH" | "POST")
}

pub(super) fn dispatch(
    store: &mut Store,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Result<Reply, RestError> {
    let method = request.method.as_str();
    match request.segments.get(3..).unwrap_or_default() {
        [] => match method {
            "GET" => {
                request.require(false, false)?;
                list(store, request)
            }
            "POST" => {
                request.require(false, false)?;
                let product = create(store, None, &request.body, now)?;
                let body = product_json(store, product, None);
                Ok(with_hook(
                    store,
                    Reply::created(body.clone()),
                    "product.created",
                    body,
                ))
            }
            _ => Err(no_route()),
        },
        ["batch"] if is_edit(method) => {
            request.require(false, true)?;
            batch(store, None, &request.body, now)
        }
        [id] => {
            let id = parse_id(id).ok_or_else(no_route)?;
            item(store, None, id, request, now)
        }
        [parent, "variations", rest @ ..] => {
            let parent = parse_id(parent).ok_or_else(no_route)?;
            match (rest, method) {
                ([], "GET") => {
                    request.require(false, false)?;
                    if !store.products.contains_key(&parent) {
                        return Err(invalid_id(false));
                    }
                    list_variations(store, parent, request)
                }
                ([], "POST") => {
                    request.require(false, false)?;
                    let id = create(store, Some(parent), &request.body, now)?;
                    let body = product_json(store, id, Some(parent));
                    Ok(with_hook(
                        store,
                        Reply::created(body.clone()),
                        "product.created",
                        body,
                    ))
                }
                (["batch"], m) if is_edit(m) => {
                    request.require(false, true)?;
                    batch(store, Some(parent), &request.body, now)
                }
                ([vid], _) => {
                    let vid = parse_id(vid).ok_or_else(no_route)?;
                    item(store, Some(parent), vid, request, now)
                }
                _ => Err(no_route()),
            }
        }
        _ => Err(no_route()),
    }
}

fn with_hook(store: &Store, mut reply: Reply, topic: &'static str, payload: Value) -> Reply {
    let hooks = store.active_hooks(topic);
    if !hooks.is_empty() {
        reply.notify.push((hooks, topic, payload));
    }
    reply
}

fn product_json(store: &Store, id: u64, parent: Option<u64>) -> Value {
    let found = match parent {
        None => store.products.get(&id),
        Some(_) => store.variations.get(&id),
    };
    found.map_or(Value::Null, |p| p.to_json(store))
}

fn duplicate_sku(sku: &str, existing: u64) -> RestError {
    let mut error = RestError::new(400, "product_invalid_sku", "Invalid or duplicated SKU.");
    error.data.insert("resource_id".into(), json!(existing));
    error
        .data
        .insert("unique_sku".into(), json!(format!("{sku}-1")));
    error
}

fn check_sku(store: &Store, body: &Map<String, Value>, id: u64) -> Result<(), RestError> {
    if let Some(Value::String(sku)) = body.get("sku")
        && store.sku_taken(sku, id)
    {
        let existing = store
            .products
            .values()
            .chain(store.variations.values())
            .find(|p| &p.sku == sku)
            .map_or(0, |p| p.id);
        return Err(duplicate_sku(sku, existing));
    }
    Ok(())
}

fn create(
    store: &mut Store,
    parent: Option<u64>,
    body: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<u64, RestError> {
    if let Some(parent) = parent
        && !store.products.contains_key(&parent)
    {
        return Err(invalid_id(false));
    }
    check_sku(store, body, 0)?;
    let mut product = Product::new(0, parent.unwrap_or(0), now);
    product.apply(body, now)?;
    let id = store.next_post();
    product.id = id;
    match parent {
        None => store.products.insert(id, product),
        Some(_) => store.variations.insert(id, product),
    };
    Ok(id)
}

fn update(
    store: &mut Store,
    parent: Option<u64>,
    id: u64,
    body: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<(), RestError> {
    let exists = match parent {
        None => store.products.contains_key(&id),
        Some(p) => store.variations.get(&id).is_some_and(|v| v.parent_id == p),
    };
    if !exists {
        return Err(invalid_id(parent.is_some()));
    }
    check_sku(store, body, id)?;
    let map = if parent.is_some() {
        &mut store.variations
    } else {
        &mut store.products
    };
    let product = map
        .get_mut(&id)
        .ok_or_else(|| invalid_id(parent.is_some()))?;
    // Validate on a copy, so a bad field leaves the product as it was.
    let mut updated = product.clone();
    updated.apply(body, now)?;
    *product = updated;
    Ok(())
}

fn delete(
    store: &mut Store,
    parent: Option<u64>,
    id: u64,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Value, RestError> {
    let before = product_json(store, id, parent);
    if before.is_null() || parent.is_some_and(|p| before["parent_id"] != json!(p)) {
        return Err(invalid_id(parent.is_some()));
    }
    if parent.is_some() {
        if !force {
            return Err(RestError::new(
                501,
                "woocommerce_rest_trash_not_supported",
                "The product_variation does not support trashing.",
            ));
        }
        store.variations.remove(&id);
        return Ok(before);
    }
    if force {
        store.products.remove(&id);
        store.variations.retain(|_, v| v.parent_id != id);
        return Ok(before);
    }
    let product = store
        .products
        .get_mut(&id)
        .ok_or_else(|| invalid_id(false))?;
    if product.status == "trash" {
        return Err(RestError::new(
            410,
            "woocommerce_rest_already_trashed",
            "The product has already been deleted.",
        ));
    }
    product.status = "trash".into();
    product.date_modified = now;
    Ok(product_json(store, id, None))
}

fn item(
    store: &mut Store,
    parent: Option<u64>,
    id: u64,
    request: &Request<'_>,
    now: DateTime<Utc>,
) -> Result<Reply, RestError> {
    match request.method.as_str() {
        "GET" => {
            request.require(true, false)?;
            let body = product_json(store, id, parent);
            if body.is_null() || parent.is_some_and(|p| body["parent_id"] != json!(p)) {
                return Err(invalid_id(parent.is_some()));
            }
            Ok(Reply::ok(body))
        }
        "PUT" | "PATCH" | "POST" => {
            request.require(true, false)?;
            update(store, parent, id, &request.body, now)?;
            let body = product_json(store, id, parent);
            Ok(with_hook(
                store,
                Reply::ok(body.clone()),
                "product.updated",
                body,
            ))
        }
        "DELETE" => {
            request.require(true, false)?;
            let force = matches!(request.param("force"), Some("true" | "1"));
            Ok(Reply::ok(delete(store, parent, id, force, now)?))
        }
        _ => Err(no_route()),
    }
}

fn sort_and_page(
    mut items: Vec<&Product>,
    store: &Store,
    request: &Request<'_>,
) -> Result<Reply, RestError> {
    let (page, per_page) = page_params(request)?;
    let orderby = request.param("orderby").unwrap_or("date");
    match orderby {
        "id" => items.sort_by_key(|p| p.id),
        "title" => items.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id))),
        "modified" => items.sort_by_key(|p| (p.date_modified, p.id)),
        "date" => items.sort_by_key(|p| (p.date_created, p.id)),
        _ => {
            return Err(RestError::invalid_param(
                "orderby",
                "orderby is not one of date, id, include, title, slug, price, popularity, rating, menu_order, modified, and comment_count.",
            ));
        }
    }
    if request.param("order").unwrap_or("desc") != "asc" {
        items.reverse();
    }
    let total = items.len();
    let body: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|p| p.to_json(store))
        .collect();
    let mut reply = Reply::ok(Value::Array(body));
    reply.headers = paginate(request, total, per_page, page);
    Ok(reply)
}

fn list(store: &Store, request: &Request<'_>) -> Result<Reply, RestError> {
    let skus: Option<Vec<&str>> = request
        .param("sku")
        .map(|s| s.split(',').map(str::trim).collect());
    let status = request.param("status").unwrap_or("any");
    let kind = request.param("type");
    let search = request.param("search").map(str::to_lowercase);
    let items: Vec<&Product> = store
        .products
        .values()
        .filter(|p| skus.as_ref().is_none_or(|s| s.contains(&p.sku.as_str())))
        .filter(|p| {
            if status == "any" {
                p.status != "trash"
            } else {
                p.status == status
            }
        })
        .filter(|p| kind.is_none_or(|k| p.kind == k))
        .filter(|p| {
            search
                .as_ref()
                .is_none_or(|s| p.name.to_lowercase().contains(s))
        })
        .collect();
    sort_and_page(items, store, request)
}

fn list_variations(store: &Store, parent: u64, request: &Request<'_>) -> Result<Reply, RestError> {
    let sku = request.param("sku");
    let items: Vec<&Product> = store
        .variations
        .values()
        .filter(|v| v.parent_id == parent && sku.is_none_or(|s| v.sku == s))
        .collect();
    sort_and_page(items, store, request)
}

fn item_error(id: u64, error: &RestError) -> Value {
    json!({ "id": id, "error": error.to_json() })
}

/// `WC_REST_Controller::batch_items`: creates, updates, deletes; errors per item.
fn batch(
    store: &mut Store,
    parent: Option<u64>,
    body: &Map<String, Value>,
    now: DateTime<Utc>,
) -> Result<Reply, RestError> {
    let part = |name: &str| {
        body.get(name)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (creates, updates, deletes) = (part("create"), part("update"), part("delete"));
    let count = creates.len() + updates.len() + deletes.len();
    if count > BATCH_LIMIT {
        return Err(RestError::new(
            413,
            "woocommerce_rest_request_entity_too_large",
            format!("Unable to accept more than {BATCH_LIMIT} items for this request."),
        ));
    }
    let mut out = Map::new();
    let mut notify = Vec::new();
    if !creates.is_empty() {
        let mut done = Vec::new();
        for item in &creates {
            let empty = Map::new();
            let fields = item.as_object().unwrap_or(&empty);
            match create(store, parent, fields, now) {
                Ok(id) => {
                    let json = product_json(store, id, parent);
                    notify.push(("product.created", json.clone()));
                    done.push(json);
                }
                Err(error) => done.push(item_error(0, &error)),
            }
        }
        out.insert("create".into(), Value::Array(done));
    }
    if !updates.is_empty() {
        let mut done = Vec::new();
        for item in &updates {
            let empty = Map::new();
            let fields = item.as_object().unwrap_or(&empty);
            let id = fields.get("id").and_then(Value::as_u64).unwrap_or(0);
            match update(store, parent, id, fields, now) {
                Ok(()) => {
                    let json = product_json(store, id, parent);
                    notify.push(("product.updated", json.clone()));
                    done.push(json);
                }
                Err(error) => done.push(item_error(id, &error)),
            }
        }
        out.insert("update".into(), Value::Array(done));
    }
    if !deletes.is_empty() {
        let mut done = Vec::new();
        for item in &deletes {
            let id = item
                .as_u64()
                .or_else(|| item.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0);
            match delete(store, parent, id, true, now) {
                Ok(json) => done.push(json),
                Err(error) => done.push(item_error(id, &error)),
            }
        }
        out.insert("delete".into(), Value::Array(done));
    }
    let mut reply = Reply::ok(Value::Object(out));
    for (topic, payload) in notify {
        reply = with_hook(store, reply, topic, payload);
    }
    Ok(reply)
}
