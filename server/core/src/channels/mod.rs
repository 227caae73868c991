//! The marketplaces: how ShopMarkets reaches them. Endpoints come from
//! [`crate::config::ChannelsConfig`] (the real marketplaces in production, the local sandboxes
//! in development and tests); every adapter makes its calls through [`http::client`].

pub mod http;
