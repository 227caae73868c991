//! Demo data for development: fills an organization with a realistic catalog — a few hundred
//! products in several categories, with size/colour/format variants, valid EANs, prices
//! ending in .99/.95, stock levels from sold-out to plenty, and a generated image per product —
//! so the UI and the sync work can be tried at once. Refused in production by the callers.
//!
//! The catalog is generated from a seed (the same seed gives the same catalog) and written
//! through the catalog's own functions, so the ledger, outbox and audit log look exactly as
//! if a merchant had typed it.

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use shopmarkets_types::{Currency, Gtin, Money, Sku};

use crate::{
    access::Scope,
    catalog::{
        self, Attribute, AttributeValue, CatalogError, Condition, Dimensions, NewProduct,
        NewVariant, ProductContent,
    },
    db::Db,
    media::{self, MediaError, MediaStore},
};

/// The side of a generated product image (pixels).
const IMAGE_SIDE: u32 = 640;

/// What a product line looks like: its category, nouns, option axes and price band.
struct Line {
    category: &'static str,
    nouns: &'static [&'static str],
    options: &'static [(&'static str, &'static [&'static str])],
    price_euros: (i64, i64),
    weight_grams: (i32, i32),
    material: &'static [&'static str],
    sku: &'static str,
}

const LINES: &[Line] = &[
    Line {
        category: "Mode > T-Shirts",
        nouns: &["T-Shirt", "Longsleeve", "Polo-Shirt", "Tanktop"],
        options: &[
            ("Größe", &["S", "M", "L", "XL"]),
            ("Farbe", &["Weiß", "Schwarz", "Navy", "Salbei"]),
        ],
        price_euros: (15, 39),
        weight_grams: (150, 260),
        material: &["Bio-Baumwolle", "Baumwolle/Leinen", "Merino"],
        sku: "TS",
    },
    Line {
        category: "Küche > Tassen",
        nouns: &["Kaffeebecher", "Teetasse", "Espressotasse", "Henkelbecher"],
        options: &[(
            "Farbe",
            &["Sand", "Anthrazit", "Salbei", "Terrakotta", "Creme"],
        )],
        price_euros: (9, 24),
        weight_grams: (180, 420),
        material: &["Steinzeug", "Porzellan", "Emaille"],
        sku: "TA",
    },
    Line {
        category: "Wohnen > Kissen",
        nouns: &["Kissenhülle", "Zierkissen", "Sitzkissen"],
        options: &[
            ("Größe", &["40×40 cm", "50×50 cm"]),
            ("Farbe", &["Senf", "Petrol", "Natur"]),
        ],
        price_euros: (19, 49),
        weight_grams: (200, 600),
        material: &["Leinen", "Samt", "Baumwolle"],
        sku: "KI",
    },
    Line {
        category: "Büro > Notizbücher",
        nouns: &["Notizbuch", "Skizzenbuch", "Bullet Journal"],
        options: &[
            ("Format", &["A5", "A4"]),
            ("Lineatur", &["liniert", "kariert", "blanko", "gepunktet"]),
        ],
        price_euros: (8, 22),
        weight_grams: (250, 700),
        material: &["Recyclingpapier", "Leinenbezug"],
        sku: "NB",
    },
    Line {
        category: "Sport > Trinkflaschen",
        nouns: &["Trinkflasche", "Thermosflasche", "Sportflasche"],
        options: &[("Volumen", &["0,5 l", "0,75 l", "1 l"])],
        price_euros: (14, 39),
        weight_grams: (220, 520),
        material: &["Edelstahl", "Tritan"],
        sku: "TF",
    },
    Line {
        category: "Garten > Pflanztöpfe",
        nouns: &["Pflanztopf", "Übertopf", "Balkonkasten"],
        options: &[],
        price_euros: (12, 79),
        weight_grams: (400, 4000),
        material: &["Terrakotta", "Beton", "Keramik"],
        sku: "PT",
    },
];

const BRANDS: &[&str] = &[
    "Nordhaus",
    "Lindgrün",
    "Alpenwerk",
    "Fjordlicht",
    "Brauner & Söhne",
    "Küstenkind",
];
const ADJECTIVES: &[&str] = &[
    "Classic", "Basic", "Premium", "Nordic", "Vintage", "Urban", "Natur", "Hygge",
];

/// Summary of what was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoOutcome {
    pub products: usize,
    pub variants: usize,
    pub images: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Media(#[from] MediaError),
}

/// A valid EAN-13 in the GS1 range "200–299" (for in-store use), so demo numbers can never
/// be mistaken for real products.
fn demo_ean(rng: &mut StdRng) -> Gtin {
    let body: String = std::iter::once('2')
        .chain((0..11).map(|_| char::from(b'0' + rng.random_range(0..10u8))))
        .collect();
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    let check = (10 - sum % 10) % 10;
    Gtin::parse(&format!("{body}{check}")).expect("a computed check digit is valid")
}

/// A price in the band, ending in .99 or .95 like real shelf prices.
fn shelf_price(rng: &mut StdRng, (low, high): (i64, i64)) -> Money {
    let euros = rng.random_range(low..=high);
    let cents = *[99, 95, 90].choose(rng).unwrap_or(&99);
    Money::new(euros * 100 + cents - 100, Currency::Eur).expect("demo prices are in range")
}

/// Creates `count` demo products in the scope's organization, generated from `seed`. Products
/// whose SKUs exist already are skipped, so running it twice with the same seed adds nothing.
/// With a media store, every product gets a generated image (a product-like shape in the
/// product's colour), processed like an upload — derivatives, quota and all.
pub async fn fill_catalog(
    db: &Db,
    store: Option<&MediaStore>,
    scope: &Scope,
    count: usize,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<DemoOutcome, DemoError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut outcome = DemoOutcome::default();
    for n in 0..count {
        let product = demo_product(&mut rng, n);
        let variants = product.variants.len();
        let colour = [
            rng.random_range(60..230u8),
            rng.random_range(60..230u8),
            rng.random_range(60..230u8),
        ];
        match catalog::create_product(db, scope, product, now, None).await {
            Ok(created) => {
                outcome.products += 1;
                outcome.variants += variants;
                if let Some(store) = store {
                    let png = demo_image(n % LINES.len(), colour);
                    media::attach_image(db, store, scope, created.product.id, None, png, now, None)
                        .await?;
                    outcome.images += 1;
                }
            }
            // Already there from an earlier run with this seed.
            Err(CatalogError::Field {
                error: shopmarkets_types::FieldError::AlreadyExists,
                ..
            }) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(outcome)
}

/// A simple product picture: a soft background, the product line's silhouette (shirt, mug,
/// cushion, notebook, bottle, pot) in the product's colour, and a shadow. PNG-encoded.
pub fn demo_image(line: usize, [r, g, b]: [u8; 3]) -> Vec<u8> {
    let side = IMAGE_SIDE as f32;
    let image = image::RgbImage::from_fn(IMAGE_SIDE, IMAGE_SIDE, |x, y| {
        let (fx, fy) = (x as f32 / side - 0.5, y as f32 / side - 0.5);
        let inside = match line {
            // Shirt: body and sleeves.
            0 => {
                (fx.abs() < 0.2 && fy > -0.25 && fy < 0.35)
                    || (fx.abs() < 0.35 && fy > -0.25 && fy < -0.05)
            }
            // Mug: body and handle ring.
            1 => {
                (fx.abs() < 0.2 && fy.abs() < 0.25)
                    || ((fx - 0.25).powi(2) + fy.powi(2)).sqrt() < 0.12
                        && ((fx - 0.25).powi(2) + fy.powi(2)).sqrt() > 0.07
            }
            // Cushion: a rounded square.
            2 => fx.abs().powi(4) + fy.abs().powi(4) < 0.3_f32.powi(4),
            // Notebook: a tall rectangle with a spine.
            3 => (fx.abs() < 0.22 && fy.abs() < 0.3) && !(fx > -0.18 && fx < -0.16),
            // Bottle: neck and body.
            4 => {
                (fx.abs() < 0.06 && fy > -0.38 && fy < -0.2)
                    || (fx.abs() < 0.13 && fy.abs() < 0.3 && fy > -0.2)
            }
            // Pot: a trapezoid.
            _ => fy > -0.2 && fy < 0.3 && fx.abs() < 0.3 - (fy + 0.2) * 0.2,
        };
        let shadow = ((fx.powi(2) / 0.09) + ((fy - 0.4).powi(2) / 0.002)) < 1.0;
        if inside {
            let shade = 1.0 - (fx + fy) * 0.25;
            image::Rgb([
                (f32::from(r) * shade).clamp(0.0, 255.0) as u8,
                (f32::from(g) * shade).clamp(0.0, 255.0) as u8,
                (f32::from(b) * shade).clamp(0.0, 255.0) as u8,
            ])
        } else if shadow {
            image::Rgb([214, 210, 204])
        } else {
            let light = 246 - (fy * 12.0) as i32;
            let light = light.clamp(0, 255) as u8;
            image::Rgb([light, light, light.saturating_sub(4)])
        }
    });
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encoding a generated image in memory does not fail");
    png
}

/// The `n`th demo product.
pub fn demo_product(rng: &mut StdRng, n: usize) -> NewProduct {
    let line = &LINES[n % LINES.len()];
    let brand = *BRANDS.choose(rng).unwrap_or(&BRANDS[0]);
    let noun = *line.nouns.choose(rng).unwrap_or(&line.nouns[0]);
    let adjective = *ADJECTIVES.choose(rng).unwrap_or(&ADJECTIVES[0]);
    let material = *line.material.choose(rng).unwrap_or(&line.material[0]);
    let title = format!("{noun} „{adjective}“ aus {material}");
    let base_price = shelf_price(rng, line.price_euros);
    let weight = rng.random_range(line.weight_grams.0..=line.weight_grams.1);
    let dishwasher_safe = rng.random_bool(0.7);

    // Every combination of the line's options (or one default variant).
    let mut combinations: Vec<Vec<String>> = vec![vec![]];
    for (_, values) in line.options {
        combinations = combinations
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push((*v).to_owned());
                    next
                })
            })
            .collect();
    }
    let variants = combinations
        .into_iter()
        .enumerate()
        .map(|(i, option_values)| {
            // Larger sizes cost a little more; some variants are sold out, most are stocked.
            let surcharge = if i > 0 && rng.random_bool(0.3) {
                200
            } else {
                0
            };
            let on_hand = match rng.random_range(0..10) {
                0 => 0,
                1 => rng.random_range(1..4),
                _ => rng.random_range(5..120),
            };
            NewVariant {
                sku: Sku::parse(&format!("DEMO-{}-{:04}-{:02}", line.sku, n, i))
                    .expect("demo SKUs are valid"),
                gtin: Some(demo_ean(rng)),
                option_values,
                price: Money::new(base_price.minor() + surcharge, Currency::Eur)
                    .expect("demo prices are in range"),
                on_hand,
            }
        })
        .collect();

    NewProduct {
        content: ProductContent {
            title,
            brand: Some(brand.to_owned()),
            description_html: format!(
                "<p>{noun} von <strong>{brand}</strong> aus {material}.</p>\
                 <ul><li>Langlebig und pflegeleicht</li><li>Entworfen in Deutschland</li>\
                 <li>Versand in recycelter Verpackung</li></ul>"
            ),
            category: Some(line.category.to_owned()),
            condition: Condition::New,
            weight_grams: Some(weight),
            dimensions: Dimensions {
                length_mm: Some(rng.random_range(80..400)),
                width_mm: Some(rng.random_range(60..300)),
                height_mm: Some(rng.random_range(20..300)),
            },
            attributes: std::iter::once(Attribute {
                name: "Material".to_owned(),
                value: AttributeValue::Text(material.to_owned()),
            })
            .chain(line.category.starts_with("Küche").then(|| Attribute {
                name: "Spülmaschinenfest".to_owned(),
                value: AttributeValue::Boolean(dishwasher_safe),
            }))
            .collect(),
        },
        option_names: line
            .options
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect(),
        variants,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_images_are_pngs_of_the_expected_size() {
        for line in 0..LINES.len() {
            let png = demo_image(line, [200, 80, 40]);
            let decoded = image::load_from_memory(&png).unwrap();
            assert_eq!(
                (decoded.width(), decoded.height()),
                (IMAGE_SIDE, IMAGE_SIDE)
            );
        }
    }

    #[test]
    fn demo_products_are_valid_and_reproducible() {
        let mut a = StdRng::seed_from_u64(7);
        let mut b = StdRng::seed_from_u64(7);
        for n in 0..LINES.len() * 2 {
            let first = demo_product(&mut a, n);
            let second = demo_product(&mut b, n);
            assert_eq!(first.content.title, second.content.title);
            assert!(!first.variants.is_empty());
            assert_eq!(
                first.variants.len() > 1,
                !first.option_names.is_empty(),
                "options exactly when there are several variants"
            );
            for v in &first.variants {
                assert_eq!(v.option_values.len(), first.option_names.len());
                assert!(v.gtin.as_ref().is_some_and(|g| g.as_str().starts_with('2')));
            }
        }
    }
}
