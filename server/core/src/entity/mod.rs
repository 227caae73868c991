//! Sea-orm entities: the table shapes, generated-style and free of behaviour.
//! Behaviour lives in the services that use them.

pub mod account_token;
pub mod api_key;
pub mod audit_event;
pub mod catalog_import;
pub mod channel_auth_state;
pub mod channel_connection;
pub mod channel_event;
pub mod email_outbox;
pub mod invitation;
pub mod login_throttle;
pub mod media_object;
pub mod membership;
pub mod notification;
pub mod organization;
pub mod price_rule;
pub mod product;
pub mod product_image;
pub mod recovery_code;
pub mod session;
pub mod stock_movement;
pub mod sync_outbox;
pub mod user;
pub mod variant;
