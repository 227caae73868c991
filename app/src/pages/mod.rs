//! One module per page.

pub mod dashboard;
pub mod dev_outbox;
pub mod not_found;
pub mod planned;
pub mod register;
pub mod verify_email;
