//! Channel prices: a merchant keeps one price per variant and lets each marketplace's price
//! follow from it by a rule (Amazon's fees are higher: +15 %, rounded to .99). The rule is
//! pure arithmetic on integer minor units, shared by the server (which stores rules and the
//! sync engine, which applies them when it pushes prices) and the browser (which previews the
//! result while the merchant types).

use serde::{Deserialize, Serialize};

use crate::{FieldError, Money};

/// The marketplaces ShopMarkets sells on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Marketplace {
    Shopify,
    WooCommerce,
    Amazon,
    Ebay,
    Kaufland,
    Etsy,
}

impl Marketplace {
    pub const ALL: [Marketplace; 6] = [
        Self::Shopify,
        Self::WooCommerce,
        Self::Amazon,
        Self::Ebay,
        Self::Kaufland,
        Self::Etsy,
    ];

    /// The stable code stored in the database and used in URLs.
    pub fn code(self) -> &'static str {
        match self {
            Self::Shopify => "shopify",
            Self::WooCommerce => "woo_commerce",
            Self::Amazon => "amazon",
            Self::Ebay => "ebay",
            Self::Kaufland => "kaufland",
            Self::Etsy => "etsy",
        }
    }

    /// The marketplace's own name (the same in every language).
    pub fn name(self) -> &'static str {
        match self {
            Self::Shopify => "Shopify",
            Self::WooCommerce => "WooCommerce",
            Self::Amazon => "Amazon",
            Self::Ebay => "eBay",
            Self::Kaufland => "Kaufland",
            Self::Etsy => "Etsy",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == code)
    }
}

/// How a computed price is rounded. Rounding always goes up to the next price with the
/// ending, never down: a rule exists to cover fees, and rounding must not eat the margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Keep the exact result (to the cent).
    None,
    /// Up to the next price ending in .99 (12.34 → 12.99).
    #[serde(rename = "ending_99")]
    Ending99,
    /// Up to the next price ending in .95.
    #[serde(rename = "ending_95")]
    Ending95,
    /// Up to the next price ending in .90.
    #[serde(rename = "ending_90")]
    Ending90,
    /// Up to the next whole amount (12.34 → 13.00).
    Whole,
}

impl Rounding {
    pub const ALL: [Rounding; 5] = [
        Self::None,
        Self::Ending99,
        Self::Ending95,
        Self::Ending90,
        Self::Whole,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Ending99 => "ending_99",
            Self::Ending95 => "ending_95",
            Self::Ending90 => "ending_90",
            Self::Whole => "whole",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The cents a rounded price ends in, if the rounding has an ending.
    fn ending(self) -> Option<i64> {
        match self {
            Self::None => None,
            Self::Ending99 => Some(99),
            Self::Ending95 => Some(95),
            Self::Ending90 => Some(90),
            Self::Whole => Some(0),
        }
    }

    /// Rounds an amount in minor units (two decimals) up to the ending.
    fn apply(self, minor: i64) -> i64 {
        let Some(ending) = self.ending() else {
            return minor;
        };
        let whole = minor.div_euclid(100);
        let candidate = whole * 100 + ending;
        if candidate >= minor {
            candidate
        } else {
            candidate + 100
        }
    }
}

/// Percent changes are given in basis points (1/100 %): +15 % is 1500, −10 % is −1000.
pub const MAX_PERCENT_BASIS_POINTS: i32 = 100_000;
pub const MIN_PERCENT_BASIS_POINTS: i32 = -9_900;

/// A channel's price rule: base price × (1 + percent) + fixed amount, then rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceRule {
    pub percent_basis_points: i32,
    /// Added after the percentage, in the variant's currency's minor units (may be negative).
    pub add_minor: i64,
    pub rounding: Rounding,
}

impl PriceRule {
    /// The rule that changes nothing.
    pub const IDENTITY: PriceRule = PriceRule {
        percent_basis_points: 0,
        add_minor: 0,
        rounding: Rounding::None,
    };

    /// Checks the rule's own limits (−99 % to +1000 %, at most ±10,000 added).
    pub fn check(&self) -> Result<(), (&'static str, FieldError)> {
        if !(MIN_PERCENT_BASIS_POINTS..=MAX_PERCENT_BASIS_POINTS)
            .contains(&self.percent_basis_points)
        {
            return Err((
                "percent",
                FieldError::OutOfRange {
                    min: i64::from(MIN_PERCENT_BASIS_POINTS / 100),
                    max: i64::from(MAX_PERCENT_BASIS_POINTS / 100),
                },
            ));
        }
        if self.add_minor.abs() > 1_000_000 {
            return Err((
                "add",
                FieldError::OutOfRange {
                    min: -10_000,
                    max: 10_000,
                },
            ));
        }
        Ok(())
    }

    /// The channel price for a base price. Percentages round half away from zero to the cent;
    /// a result below zero is refused rather than clamped, as is one above the price limit.
    pub fn apply(&self, base: Money) -> Result<Money, FieldError> {
        let scaled = i128::from(base.minor()) * i128::from(10_000 + self.percent_basis_points);
        let percent_applied = (scaled + 5_000 * scaled.signum()) / 10_000;
        let added = percent_applied + i128::from(self.add_minor);
        if added < 0 {
            return Err(FieldError::NegativeAmount);
        }
        let added = i64::try_from(added).map_err(|_| FieldError::AmountTooLarge)?;
        Money::new(self.rounding.apply(added), base.currency())
    }
}

/// A bulk price change on selected variants: by percent or by an amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum PriceChange {
    /// Basis points, as in [`PriceRule`].
    Percent(i32),
    /// Minor units added (negative: lowered).
    Amount(i64),
}

impl PriceChange {
    /// The new price, or why there is none (below zero, above the limit).
    pub fn apply(self, price: Money, rounding: Rounding) -> Result<Money, FieldError> {
        let rule = match self {
            Self::Percent(bp) => PriceRule {
                percent_basis_points: bp,
                add_minor: 0,
                rounding,
            },
            Self::Amount(minor) => PriceRule {
                percent_basis_points: 0,
                add_minor: minor,
                rounding,
            },
        };
        rule.check().map_err(|(_, err)| err)?;
        rule.apply(price)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Currency;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::Eur).unwrap()
    }

    fn rule(percent_basis_points: i32, add_minor: i64, rounding: Rounding) -> PriceRule {
        PriceRule {
            percent_basis_points,
            add_minor,
            rounding,
        }
    }

    #[test]
    fn identity_keeps_the_price() {
        assert_eq!(PriceRule::IDENTITY.apply(eur(1999)), Ok(eur(1999)));
    }

    #[test]
    fn percent_rounds_half_away_from_zero_to_the_cent() {
        // 10.05 × 1.15 = 11.5575 → 11.56
        assert_eq!(
            rule(1500, 0, Rounding::None).apply(eur(1005)),
            Ok(eur(1156))
        );
        // 0.05 × 0.5 = 0.025 → 0.03
        assert_eq!(rule(-5000, 0, Rounding::None).apply(eur(5)), Ok(eur(3)));
    }

    #[test]
    fn fixed_amount_is_added_after_the_percentage() {
        // 20.00 × 1.10 + 0.50 = 22.50
        assert_eq!(
            rule(1000, 50, Rounding::None).apply(eur(2000)),
            Ok(eur(2250))
        );
    }

    #[test]
    fn rounding_goes_up_to_the_ending() {
        assert_eq!(
            rule(0, 0, Rounding::Ending99).apply(eur(1234)),
            Ok(eur(1299))
        );
        assert_eq!(
            rule(0, 0, Rounding::Ending99).apply(eur(1299)),
            Ok(eur(1299))
        );
        assert_eq!(
            rule(0, 0, Rounding::Ending95).apply(eur(1296)),
            Ok(eur(1395))
        );
        assert_eq!(
            rule(0, 0, Rounding::Ending90).apply(eur(1200)),
            Ok(eur(1290))
        );
        assert_eq!(rule(0, 0, Rounding::Whole).apply(eur(1201)), Ok(eur(1300)));
        assert_eq!(rule(0, 0, Rounding::Whole).apply(eur(1300)), Ok(eur(1300)));
        // Amazon: +15 %, .99 → 19.99 × 1.15 = 22.9885 → 22.99 → 22.99
        assert_eq!(
            rule(1500, 0, Rounding::Ending99).apply(eur(1999)),
            Ok(eur(2299))
        );
    }

    #[test]
    fn a_result_below_zero_or_above_the_limit_is_refused() {
        assert_eq!(
            rule(0, -500, Rounding::None).apply(eur(400)),
            Err(FieldError::NegativeAmount)
        );
        assert_eq!(
            rule(100_000, 0, Rounding::None).apply(eur(999_999_999)),
            Err(FieldError::AmountTooLarge)
        );
    }

    #[test]
    fn rule_limits_are_checked() {
        assert!(rule(-9_900, 0, Rounding::None).check().is_ok());
        assert_eq!(
            rule(-10_000, 0, Rounding::None).check().unwrap_err().0,
            "percent"
        );
        assert_eq!(
            rule(0, 1_000_001, Rounding::None).check().unwrap_err().0,
            "add"
        );
    }

    #[test]
    fn bulk_changes_by_percent_or_amount() {
        assert_eq!(
            PriceChange::Percent(-1000).apply(eur(2000), Rounding::None),
            Ok(eur(1800))
        );
        assert_eq!(
            PriceChange::Amount(-250).apply(eur(2000), Rounding::Ending99),
            Ok(eur(1799))
        );
        assert_eq!(
            PriceChange::Amount(-2500).apply(eur(2000), Rounding::None),
            Err(FieldError::NegativeAmount)
        );
    }

    #[test]
    fn serde_names_are_the_codes() {
        for r in Rounding::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.code());
        }
        for m in Marketplace::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), m.code());
        }
    }

    #[test]
    fn codes_round_trip() {
        for m in Marketplace::ALL {
            assert_eq!(Marketplace::from_code(m.code()), Some(m));
        }
        for r in Rounding::ALL {
            assert_eq!(Rounding::from_code(r.code()), Some(r));
        }
    }
}
