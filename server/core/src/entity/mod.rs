//! Sea-orm entities: the table shapes, generated-style and free of behaviour.
//! Behaviour lives in the services that use them.

pub mod account_token;
pub mod audit_event;
pub mod email_outbox;
pub mod membership;
pub mod organization;
pub mod user;
