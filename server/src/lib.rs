//! The ShopMarkets server: command line, HTTP router and start-up.
//!
//! Page rendering and server functions come from `shopmarkets-app`, the domain from
//! `shopmarkets-core`; this crate wires them to axum and adds what is not a page: health,
//! metrics, security headers, request ids and error responses.

pub mod cli;
pub mod http;
pub mod sandbox;
pub mod serve;
pub mod telemetry;
