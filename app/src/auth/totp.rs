//! RFC 6238 time-based one-time passwords, over `totp-rs`: 30-second steps, 6 digits,
//! HMAC-SHA1 for users (what every authenticator app reads from an otpauth:// URI), one step
//! of tolerance either side. [`Totp::matching_step`] says which step a code belongs to, so the
//! caller can accept each step's code once per user.

use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

/// Seconds per step.
pub const STEP_S: u64 = 30;
/// Digits of a user's code.
pub const DIGITS: usize = 6;
/// Steps accepted either side of the current one.
pub const SKEW: u64 = 1;
/// Bytes of a new seed (160 bits, RFC 4226's recommendation).
pub const SEED_BYTES: usize = 20;
/// The issuer shown by authenticator apps.
pub const ISSUER: &str = "Phase-1";

/// The HMAC a generator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// HMAC-SHA1 (users' codes).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// A code generator for one seed.
pub struct Totp(TOTP);

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Totp({}, <seed redacted>)", self.0.account_name)
    }
}

/// A fresh random seed.
pub fn new_seed() -> Vec<u8> {
    super::random::bytes::<SEED_BYTES>().to_vec()
}

impl Totp {
    /// The generator of a user's codes: SHA-1, 6 digits, 30-second steps.
    pub fn for_user(seed: Vec<u8>, account: &str) -> Result<Totp, String> {
        Totp::new(Hash::Sha1, DIGITS, seed, account)
    }

    /// A generator with any hash and 6 to 8 digits (the seed must be at least 128 bits and
    /// the account name free of ':').
    pub fn new(hash: Hash, digits: usize, seed: Vec<u8>, account: &str) -> Result<Totp, String> {
        let algorithm = match hash {
            Hash::Sha1 => Algorithm::SHA1,
            Hash::Sha256 => Algorithm::SHA256,
            Hash::Sha512 => Algorithm::SHA512,
        };
        TOTP::new(
            algorithm,
            digits,
            SKEW as u8,
            STEP_S,
            seed,
            Some(ISSUER.to_string()),
            account.to_string(),
        )
        .map(Totp)
        .map_err(|e| e.to_string())
    }

    /// The code at `unix_s` (seconds since the epoch).
    pub fn code_at(&self, unix_s: u64) -> String {
        self.0.generate(unix_s)
    }

    /// The step (`unix_s / 30`) whose code `code` is, among the current step and one either
    /// side; None when it is none of them or not `digits` digits. Compares in constant time.
    pub fn matching_step(&self, code: &str, unix_s: u64) -> Option<u64> {
        let code = code.trim();
        if code.len() != self.0.digits || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = unix_s / STEP_S;
        let mut found = None;
        for step in now.saturating_sub(SKEW)..=now + SKEW {
            let expected = self.0.generate(step * STEP_S);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                found = found.or(Some(step));
            }
        }
        found
    }

    /// The otpauth:// provisioning URI an authenticator app scans.
    pub fn provisioning_uri(&self) -> String {
        self.0.get_url()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the seeds of each hash, as ASCII.
    const SEED_SHA1: &[u8] = b"12345678901234567890";
    const SEED_SHA256: &[u8] = b"12345678901234567890123456789012";
    const SEED_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// RFC 6238 Appendix B: time (s), then the 8-digit codes for SHA1, SHA256, SHA512.
    const VECTORS: [(u64, &str, &str, &str); 6] = [
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ];

    #[test]
    fn rfc_6238_appendix_b_all_18_vectors() {
        assert_eq!(SEED_SHA1.len(), 20);
        assert_eq!(SEED_SHA256.len(), 32);
        assert_eq!(SEED_SHA512.len(), 64);
        let generators = [
            Totp::new(Hash::Sha1, 8, SEED_SHA1.to_vec(), "rfc").expect("sha1"),
            Totp::new(Hash::Sha256, 8, SEED_SHA256.to_vec(), "rfc").expect("sha256"),
            Totp::new(Hash::Sha512, 8, SEED_SHA512.to_vec(), "rfc").expect("sha512"),
        ];
        let mut checked = 0;
        for (time, sha1, sha256, sha512) in VECTORS {
            for (generator, want) in generators.iter().zip([sha1, sha256, sha512]) {
                assert_eq!(generator.code_at(time), want, "{generator:?} at {time}");
                assert_eq!(
                    generator.matching_step(want, time),
                    Some(time / STEP_S),
                    "{want} at {time}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 18);
    }

    #[test]
    fn codes_match_one_step_either_side_and_no_further() {
        let t = Totp::for_user(SEED_SHA1.to_vec(), "ada@example.com").expect("valid");
        let now = 1_800_000_015;
        let step = now / STEP_S;
        for (offset, want) in [
            (-2i64, None),
            (-1, Some(step - 1)),
            (0, Some(step)),
            (1, Some(step + 1)),
            (2, None),
        ] {
            let at = (step as i64 + offset) as u64 * STEP_S;
            let code = t.code_at(at);
            let got = t.matching_step(&code, now);
            // A code of a far step can collide with a near one by chance (1 in 10^6 per
            // pair); the seed and time here are fixed, so the assertion is exact.
            assert_eq!(got, want, "offset {offset}");
        }
        assert_eq!(t.code_at(now).len(), 6);
        for bad in ["", "12345", "1234567", "12a456", "-12345"] {
            assert_eq!(t.matching_step(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn provisioning_uris_name_the_issuer_and_account() {
        let t = Totp::for_user(new_seed(), "ada@example.com").expect("valid");
        let uri = t.provisioning_uri();
        assert!(
            uri.starts_with("otpauth://totp/Phase-1:ada%40example.com?secret="),
            "{uri}"
        );
        assert!(uri.contains("&issuer=Phase-1"), "{uri}");
        assert!(!format!("{t:?}").contains("secret"));
        assert!(
            Totp::for_user(vec![1; 8], "a").is_err(),
            "a 64-bit seed is too short"
        );
        assert_ne!(new_seed(), new_seed());
    }
}
