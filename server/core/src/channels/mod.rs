//! The marketplaces: how ShopMarkets reaches them and what it holds to do so.
//!
//! - [`channel::Channel`]: the one trait for what a marketplace can do; one module per
//!   marketplace implements it.
//! - [`connections`]: connecting, checking, refreshing and disconnecting accounts, with the
//!   credentials encrypted at rest ([`credentials`]).
//! - [`http::client`]: the one HTTP client for marketplace calls.
//!
//! Endpoints come from [`crate::config::ChannelsConfig`]: the real marketplaces in
//! production, the local sandboxes (`shopmarkets-sandbox`) in development and tests.

pub mod amazon;
pub mod channel;
pub mod connections;
pub mod credentials;
pub mod ebay;
pub mod etsy;
pub mod http;
pub mod kaufland;
mod oauth;
pub mod registry;
pub mod shopify;
pub mod woocommerce;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use channel::{Channel, ChannelEnv, ChannelError};
pub use registry::Channels;
use shopmarkets_types::Marketplace;

/// Every adapter there is.
fn adapters() -> BTreeMap<Marketplace, Arc<dyn Channel>> {
    let all: [Arc<dyn Channel>; 6] = [
        Arc::new(shopify::Shopify),
        Arc::new(woocommerce::WooCommerce),
        Arc::new(amazon::Amazon),
        Arc::new(ebay::Ebay::default()),
        Arc::new(kaufland::Kaufland),
        Arc::new(etsy::Etsy),
    ];
    all.into_iter().map(|c| (c.marketplace(), c)).collect()
}
