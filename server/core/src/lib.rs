//! The ShopMarkets domain: configuration, database access and (as the product grows) accounts,
//! catalog, channels and the sync engine.
//!
//! Nothing here knows about Leptos or HTTP routing; every service is usable from the server,
//! from workers and from tests against real SQLite and PostgreSQL.

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod catalog;
pub mod channels;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod entity;
pub mod jwt;
pub mod mail;
pub mod media;
pub mod notifications;
pub mod organizations;
pub mod rate_limit;
pub mod secret;
pub mod sessions;
pub mod system;

#[cfg(feature = "testing")]
pub mod testing;

pub use config::{AppEnv, Config, ConfigError};
pub use db::{Db, DbError};
pub use secret::Secret;
