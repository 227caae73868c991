//! TOTP second factors (RFC 6238): SHA-1, 6 digits, 30-second steps, one step of skew either
//! way, 160-bit secrets from the operating system's CSPRNG.
//!
//! `totp-rs` checks codes but does not stop a code from being used twice; [`verify`] takes the
//! last accepted time step and refuses any code at or before it. The caller stores the
//! returned step atomically (`UPDATE … WHERE last_step < $step`), so two concurrent logins
//! with one code cannot both pass.

use totp_rs::{Algorithm, Builder, Totp};

use crate::secret::Secret;

const DIGITS: u8 = 6;
const STEP_SECONDS: u64 = 30;
const SKEW_STEPS: u16 = 1;
const SECRET_BYTES: usize = 20;

/// A user's TOTP secret. Never logged; shown once (as base32 and QR code) at enrolment.
#[derive(Clone)]
pub struct TotpSecret(Secret<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

/// Why a code was refused. Deliberately coarse: the user only learns "wrong code".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("the code is not valid")]
    Invalid,
    #[error("the code was already used")]
    Replayed,
}

impl TotpSecret {
    /// A new random 160-bit secret.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        Self(Secret::new(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(Secret::new(bytes))
    }

    /// The raw bytes, for encrypted storage.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose()
    }

    /// The secret in base32, for typing into an authenticator app by hand.
    pub fn to_base32(&self) -> String {
        totp_rs::Secret::from(self.0.expose().clone()).to_base32()
    }

    fn totp(&self, account: &str) -> Totp {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(SKEW_STEPS)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.0.expose().clone())
            .with_account_name(account.replace(':', ""))
            .with_issuer(Some("ShopMarkets"))
            .build_noncompliant()
    }

    /// The `otpauth://` URI an authenticator app scans. `totp-rs` leaves out parameters that
    /// equal the defaults of the Key URI format; some apps guess wrong when one is missing, so
    /// algorithm, digits and period are always spelled out.
    pub fn otpauth_uri(&self, account: &str) -> String {
        match self.totp(account).to_url() {
            Ok(uri) => format!("{uri}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"),
            Err(_) => String::new(),
        }
    }

    /// The code for a moment, as the user's app would show it.
    pub fn code_at(&self, unix_seconds: u64) -> String {
        self.totp("").generate(unix_seconds).to_string()
    }
}

/// Checks a code at `unix_seconds`. Returns the time step the code belongs to, which the
/// caller must store as the new `last_step`.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_seconds: u64,
    last_step: Option<u64>,
) -> Result<u64, TotpError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::Invalid);
    }
    let step = secret
        .totp("")
        .check(&code, unix_seconds)
        .ok_or(TotpError::Invalid)?;
    match last_step {
        Some(last) if step <= last => Err(TotpError::Replayed),
        _ => Ok(step),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: 8 digits, T0 = 0, 30-second steps.
    const VECTORS: [(u64, &str, &str, &str); 6] = [
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ];

    fn rfc_totp(algorithm: Algorithm, seed: &[u8]) -> Totp {
        Builder::new()
            .with_algorithm(algorithm)
            .with_digits(8)
            .with_step_duration(30)
            .with_secret(seed.to_vec())
            .build_noncompliant()
    }

    #[test]
    fn rfc_6238_appendix_b_vectors() {
        let sha1 = rfc_totp(Algorithm::SHA1, b"12345678901234567890");
        let sha256 = rfc_totp(Algorithm::SHA256, b"12345678901234567890123456789012");
        let sha512 = rfc_totp(
            Algorithm::SHA512,
            b"1234567890123456789012345678901234567890123456789012345678901234",
        );
        for (time, expect_sha1, expect_sha256, expect_sha512) in VECTORS {
            assert_eq!(
                sha1.generate(time).to_string(),
                expect_sha1,
                "SHA1 at {time}"
            );
            assert_eq!(
                sha256.generate(time).to_string(),
                expect_sha256,
                "SHA256 at {time}"
            );
            assert_eq!(
                sha512.generate(time).to_string(),
                expect_sha512,
                "SHA512 at {time}"
            );
        }
    }

    #[test]
    fn our_codes_are_the_rfc_codes_cut_to_six_digits() {
        // The 6-digit code is the 8-digit value mod 10^6 (RFC 4226 dynamic truncation).
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec());
        for (time, expect_sha1, _, _) in VECTORS {
            assert_eq!(secret.code_at(time), expect_sha1[2..], "at {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_000;
        let code = secret.code_at(now);
        assert_eq!(verify(&secret, &code, now, None), Ok(now / 30));
        assert!(verify(&secret, &code, now + 30, None).is_ok());
        assert!(verify(&secret, &code, now - 30, None).is_ok());
        assert_eq!(
            verify(&secret, &code, now + 90, None),
            Err(TotpError::Invalid)
        );
        assert_eq!(
            verify(
                &secret,
                &format!(" {} {} ", &code[..3], &code[3..]),
                now,
                None
            ),
            Ok(now / 30)
        );
    }

    #[test]
    fn a_used_code_and_older_ones_are_refused() {
        let secret = TotpSecret::generate();
        let now = 1_800_000_000;
        let step = verify(&secret, &secret.code_at(now), now, None).unwrap();
        assert_eq!(
            verify(&secret, &secret.code_at(now), now, Some(step)),
            Err(TotpError::Replayed)
        );
        assert_eq!(
            verify(&secret, &secret.code_at(now - 30), now, Some(step)),
            Err(TotpError::Replayed)
        );
        assert!(verify(&secret, &secret.code_at(now + 30), now + 30, Some(step)).is_ok());
    }

    #[test]
    fn malformed_codes_are_invalid_not_errors() {
        let secret = TotpSecret::generate();
        for bad in ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦", "12 34 5x"] {
            assert_eq!(
                verify(&secret, bad, 1_800_000_000, None),
                Err(TotpError::Invalid),
                "{bad}"
            );
        }
    }

    #[test]
    fn secrets_are_160_bits_random_and_never_printed() {
        let a = TotpSecret::generate();
        assert_eq!(a.expose_bytes().len(), 20);
        assert_ne!(a.expose_bytes(), TotpSecret::generate().expose_bytes());
        assert_eq!(a.to_base32().len(), 32);
        assert!(!format!("{a:?}").contains(&a.to_base32()));
        let uri = a.otpauth_uri("erika@example.com");
        assert!(
            uri.starts_with("otpauth://totp/ShopMarkets:erika%40example.com?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={}", a.to_base32())));
        assert!(
            uri.ends_with("&issuer=ShopMarkets&algorithm=SHA1&digits=6&period=30"),
            "{uri}"
        );
    }
}
