//! What a product says about itself: title, brand, description, category, condition, weight,
//! dimensions and typed attributes — checked here, once, for the editor, the CSV import and the
//! API alike.

use serde::{Deserialize, Serialize};
use shopmarkets_types::FieldError;

use super::{CatalogError, description};

/// The state a product is sold in (marketplaces ask for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    New,
    Refurbished,
    UsedLikeNew,
    UsedGood,
    UsedAcceptable,
}

impl Condition {
    pub fn code(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Refurbished => "refurbished",
            Self::UsedLikeNew => "used_like_new",
            Self::UsedGood => "used_good",
            Self::UsedAcceptable => "used_acceptable",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::New,
            Self::Refurbished,
            Self::UsedLikeNew,
            Self::UsedGood,
            Self::UsedAcceptable,
        ]
        .into_iter()
        .find(|c| c.code() == code)
    }
}

/// The content of a product, as the editor saves it (already parsed where a type exists).
#[derive(Debug, Clone)]
pub struct ProductContent {
    pub title: String,
    pub brand: Option<String>,
    /// Merchant HTML; cleaned before it is stored.
    pub description_html: String,
    pub category: Option<String>,
    pub condition: Condition,
    pub weight_grams: Option<i32>,
    pub dimensions: Dimensions,
    pub attributes: Vec<Attribute>,
}

/// Package dimensions in millimetres; marketplaces compute shipping from them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimensions {
    pub length_mm: Option<i32>,
    pub width_mm: Option<i32>,
    pub height_mm: Option<i32>,
}

/// A typed key/value a product carries beyond the fixed fields (material, volume, age rating):
/// channels map them onto their own attribute schemes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub name: String,
    pub value: AttributeValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeValue {
    Text(String),
    Number(f64),
    Boolean(bool),
}

/// At most this many attributes per product.
pub const MAX_ATTRIBUTES: usize = 50;
/// The largest weight (grams) and dimension (millimetres) the catalog accepts.
pub const MAX_WEIGHT_GRAMS: i32 = 1_000_000;
pub const MAX_DIMENSION_MM: i32 = 100_000;

impl Attribute {
    /// The stored form: a JSON array, in the merchant's order.
    pub fn to_json(attributes: &[Attribute]) -> String {
        serde_json::to_string(attributes).unwrap_or_else(|_| "[]".to_owned())
    }

    /// Reads the stored form; anything unreadable counts as no attributes.
    pub fn from_json(stored: &str) -> Vec<Attribute> {
        serde_json::from_str(stored).unwrap_or_default()
    }
}

pub(super) fn check_text(
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<String, CatalogError> {
    let value = value.trim();
    if value.is_empty() && required {
        return Err(CatalogError::field(field, FieldError::Required));
    }
    if value.chars().count() > max {
        return Err(CatalogError::field(field, FieldError::TooLong { max }));
    }
    if value.chars().any(char::is_control) {
        return Err(CatalogError::field(field, FieldError::ControlCharacters));
    }
    Ok(value.to_owned())
}

pub(super) fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, CatalogError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => check_text(field, v, max, true).map(Some),
        None => Ok(None),
    }
}

/// The content as stored: checked lengths, cleaned HTML and its text.
pub(super) struct CheckedContent {
    pub(super) title: String,
    pub(super) search_text: String,
    pub(super) brand: Option<String>,
    pub(super) description_html: String,
    pub(super) description_text: String,
    pub(super) category: Option<String>,
    pub(super) condition: &'static str,
    pub(super) weight_grams: Option<i32>,
    pub(super) dimensions: Dimensions,
    pub(super) attributes: String,
}

pub(super) fn check_content(content: &ProductContent) -> Result<CheckedContent, CatalogError> {
    let description_html = description::sanitize(&content.description_html);
    if description_html.chars().count() > description::MAX_DESCRIPTION_CHARS {
        return Err(CatalogError::field(
            "description",
            FieldError::TooLong {
                max: description::MAX_DESCRIPTION_CHARS,
            },
        ));
    }
    check_measure("weight_grams", content.weight_grams, MAX_WEIGHT_GRAMS)?;
    let Dimensions {
        length_mm,
        width_mm,
        height_mm,
    } = content.dimensions;
    check_measure("length_mm", length_mm, MAX_DIMENSION_MM)?;
    check_measure("width_mm", width_mm, MAX_DIMENSION_MM)?;
    check_measure("height_mm", height_mm, MAX_DIMENSION_MM)?;
    let attributes = check_attributes(&content.attributes)?;
    let title = check_text("title", &content.title, 200, true)?;
    let brand = optional_text("brand", content.brand.as_deref(), 120)?;
    Ok(CheckedContent {
        search_text: search_text(&title, brand.as_deref()),
        title,
        brand,
        description_text: description::plain_text(&description_html),
        description_html,
        category: optional_text("category", content.category.as_deref(), 200)?,
        condition: content.condition.code(),
        weight_grams: content.weight_grams,
        dimensions: content.dimensions,
        attributes: Attribute::to_json(&attributes),
    })
}

/// What the list searches: title and brand, lower-cased with Unicode rules.
pub(super) fn search_text(title: &str, brand: Option<&str>) -> String {
    match brand {
        Some(brand) => format!("{} {}", title.to_lowercase(), brand.to_lowercase()),
        None => title.to_lowercase(),
    }
}

fn check_measure(field: &str, value: Option<i32>, max: i32) -> Result<(), CatalogError> {
    match value {
        Some(v) if !(0..=max).contains(&v) => Err(CatalogError::field(
            field,
            FieldError::OutOfRange {
                min: 0,
                max: i64::from(max),
            },
        )),
        _ => Ok(()),
    }
}

fn check_attributes(attributes: &[Attribute]) -> Result<Vec<Attribute>, CatalogError> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(CatalogError::field(
            "attributes",
            FieldError::TooLong {
                max: MAX_ATTRIBUTES,
            },
        ));
    }
    let mut seen = std::collections::HashSet::new();
    attributes
        .iter()
        .enumerate()
        .map(|(i, attribute)| {
            let name = check_text(&format!("attributes.{i}.name"), &attribute.name, 60, true)?;
            if !seen.insert(name.to_lowercase()) {
                return Err(CatalogError::field(
                    format!("attributes.{i}.name"),
                    FieldError::AlreadyExists,
                ));
            }
            let value = match &attribute.value {
                AttributeValue::Text(text) => AttributeValue::Text(check_text(
                    &format!("attributes.{i}.value"),
                    text,
                    500,
                    true,
                )?),
                AttributeValue::Number(n) if !n.is_finite() || n.abs() > 1e12 => {
                    return Err(CatalogError::field(
                        format!("attributes.{i}.value"),
                        FieldError::InvalidAmount,
                    ));
                }
                other => other.clone(),
            };
            Ok(Attribute { name, value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> ProductContent {
        ProductContent {
            title: "Becher".to_owned(),
            brand: None,
            description_html: String::new(),
            category: None,
            condition: Condition::New,
            weight_grams: Some(300),
            dimensions: Dimensions {
                length_mm: Some(120),
                width_mm: Some(90),
                height_mm: Some(100),
            },
            attributes: vec![Attribute {
                name: " Material ".to_owned(),
                value: AttributeValue::Text("Steingut".to_owned()),
            }],
        }
    }

    fn field_of(result: Result<CheckedContent, CatalogError>) -> String {
        match result {
            Err(CatalogError::Field { field, .. }) => field,
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn attributes_are_trimmed_and_stored_in_order() {
        let checked = check_content(&content()).unwrap();
        let stored = Attribute::from_json(&checked.attributes);
        assert_eq!(stored[0].name, "Material");
        assert_eq!(stored[0].value, AttributeValue::Text("Steingut".to_owned()));
    }

    #[test]
    fn duplicate_attribute_names_are_refused_case_insensitively() {
        let mut c = content();
        c.attributes.push(Attribute {
            name: "material".to_owned(),
            value: AttributeValue::Boolean(true),
        });
        assert_eq!(field_of(check_content(&c)), "attributes.1.name");
    }

    #[test]
    fn measures_must_be_within_range() {
        let mut c = content();
        c.dimensions.width_mm = Some(-1);
        assert_eq!(field_of(check_content(&c)), "width_mm");
        let mut c = content();
        c.weight_grams = Some(MAX_WEIGHT_GRAMS + 1);
        assert_eq!(field_of(check_content(&c)), "weight_grams");
        let mut c = content();
        c.attributes[0].value = AttributeValue::Number(f64::NAN);
        assert_eq!(field_of(check_content(&c)), "attributes.0.value");
    }
}
