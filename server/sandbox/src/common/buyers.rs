//! Buyers for test orders: fake, but shaped like real ones (German and EU names, streets with
//! house numbers, valid-looking postcodes, reserved example.* e-mail domains).

use rand::Rng;
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buyer {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub address: Address,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country_code: String,
}

impl Buyer {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

const FIRST: &[&str] = &[
    "Anna", "Lukas", "Marie", "Jonas", "Sophie", "Felix", "Lea", "Paul", "Hannah", "Elias", "Emma",
    "Noah", "Mila", "Ben", "Clara", "Jan", "Zoé", "Mateo", "Giulia", "Lars",
];
const LAST: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Dubois",
    "Rossi",
    "Jansen",
    "Nowak",
];
/// (street, postcode, city, country)
const PLACES: &[(&str, &str, &str, &str)] = &[
    ("Hauptstraße", "10115", "Berlin", "DE"),
    ("Bahnhofstraße", "80331", "München", "DE"),
    ("Lindenallee", "50667", "Köln", "DE"),
    ("Gartenweg", "20095", "Hamburg", "DE"),
    ("Schillerstraße", "60311", "Frankfurt am Main", "DE"),
    ("Goethestraße", "04109", "Leipzig", "DE"),
    ("Mariahilfer Straße", "1060", "Wien", "AT"),
    ("Rue de Rivoli", "75001", "Paris", "FR"),
    ("Via Roma", "00184", "Roma", "IT"),
    ("Keizersgracht", "1015", "Amsterdam", "NL"),
];

pub fn fake_buyer() -> Buyer {
    let mut rng = rand::rng();
    let first = *FIRST.choose(&mut rng).unwrap_or(&"Anna");
    let last = *LAST.choose(&mut rng).unwrap_or(&"Müller");
    let (street, postcode, city, country) = *PLACES.choose(&mut rng).unwrap_or(&PLACES[0]);
    let number: u16 = rng.random_range(1..=180);
    let line2 = rng
        .random_bool(0.25)
        .then(|| format!("{}. OG", rng.random_range(1..=5)));
    let ascii = |s: &str| {
        s.to_lowercase()
            .replace('ä', "ae")
            .replace('ö', "oe")
            .replace('ü', "ue")
            .replace('ß', "ss")
            .replace('é', "e")
    };
    Buyer {
        email: format!(
            "{}.{}{}@example.com",
            ascii(first),
            ascii(last),
            rng.random_range(1..=99)
        ),
        phone: format!("+49 151 {:08}", rng.random_range(0..100_000_000u32)),
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        address: Address {
            line1: format!("{street} {number}"),
            line2,
            postal_code: postcode.to_owned(),
            city: city.to_owned(),
            country_code: country.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buyers_look_real_and_use_reserved_domains() {
        for _ in 0..50 {
            let buyer = fake_buyer();
            assert!(buyer.email.ends_with("@example.com"));
            assert!(buyer.email.is_ascii());
            assert!(buyer.address.line1.chars().any(|c| c.is_ascii_digit()));
            assert_eq!(buyer.address.country_code.len(), 2);
        }
    }
}
