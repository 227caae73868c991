//! Input rules and wire types shared by the server and the browser.
//!
//! Every user input is parsed into a typed value (`EmailAddress`, `Password`, …) with its
//! limits; the browser runs the same `parse` for instant feedback and the server runs it again
//! before anything is stored. A failed parse is a [`FieldError`], which says what is wrong in
//! German and English.

mod catalog;
mod field_error;
mod input;
mod locale;
mod pricing;

pub use catalog::{Currency, Gtin, GtinKind, Money, Sku};
pub use field_error::FieldError;
pub use input::{ApiKeyName, DisplayName, EmailAddress, OrganizationName, Password};
pub use locale::Locale;
pub use pricing::{
    MAX_PERCENT_BASIS_POINTS, MIN_PERCENT_BASIS_POINTS, Marketplace, PriceChange, PriceRule,
    Rounding,
};
