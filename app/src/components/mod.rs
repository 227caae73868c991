//! Building blocks shared by the pages.

pub mod field;
pub mod language_switch;
pub mod layout;
pub mod product_images;
pub mod session;
pub mod two_factor;
