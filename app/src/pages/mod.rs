//! One module per page.

pub mod accept_invitation;
pub mod account;
pub mod api_keys;
pub mod audit;
pub mod catalog_import;
pub mod connections;
pub mod dashboard;
pub mod dev_outbox;
pub mod login;
pub mod members;
pub mod not_found;
pub mod password_reset;
pub mod planned;
pub mod price_rules;
pub mod product_editor;
pub mod products;
pub mod register;
pub mod verify_email;
