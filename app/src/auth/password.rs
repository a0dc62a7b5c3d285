//! Passwords: the policy a new password must meet, and argon2id hashing (the `argon2` crate's
//! defaults: argon2id v19, 19 MiB, 2 passes, 1 lane — OWASP's recommendation), stored as PHC
//! strings. Hashing is slow on purpose: call these from a blocking task.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::LazyLock;

/// Shortest password accepted.
pub const MIN_CHARS: usize = 12;
/// Longest password accepted (bounds the hashing work an attacker can ask for).
pub const MAX_BYTES: usize = 1024;

/// A password that meets the policy. Never printed.
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

impl NewPassword {
    /// Checks the policy: at least 12 characters, at most 1024 bytes, not only whitespace,
    /// and at least 5 distinct characters.
    pub fn parse(raw: &str) -> Result<NewPassword, String> {
        let distinct = raw.chars().collect::<std::collections::BTreeSet<_>>().len();
        if raw.chars().count() < MIN_CHARS {
            Err(format!("must be at least {MIN_CHARS} characters"))
        } else if raw.len() > MAX_BYTES {
            Err(format!("must be at most {MAX_BYTES} bytes"))
        } else if raw.trim().is_empty() {
            Err("must not be only whitespace".into())
        } else if distinct < 5 {
            Err("must use at least 5 different characters".into())
        } else {
            Ok(NewPassword(raw.to_string()))
        }
    }

    /// The argon2id PHC string of this password, with a fresh random salt.
    pub fn hash(&self) -> Result<String, String> {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| format!("argon2: {e}"))
    }
}

/// Whether `password` matches the PHC string `stored` (false when `stored` is not a valid
/// hash). Constant-time in the comparison, as argon2 verifies.
pub fn verify(password: &str, stored: &str) -> bool {
    if password.len() > MAX_BYTES {
        return false;
    }
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// The hash that unknown emails are checked against, so that a login for an unknown user
/// costs the same argon2 work as one for a real user (and is always refused: the hashed
/// password is random and never leaves this process).
static DECOY: LazyLock<Option<String>> = LazyLock::new(|| {
    let random = super::random::token::<32>();
    NewPassword(random).hash().ok()
});

/// Spends the work of one verification and returns false: for unknown or disabled users.
pub fn verify_decoy(password: &str) -> bool {
    if let Some(stored) = DECOY.as_deref() {
        std::hint::black_box(verify(password, stored));
    }
    false
}

/// Computes the decoy hash now, so that the first unknown login costs no more than others.
pub fn warm_up() {
    LazyLock::force(&DECOY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let p = NewPassword::parse("correct horse battery").expect("valid");
        let a = p.hash().expect("hash");
        let b = p.hash().expect("hash");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("correct horse battery", "not-a-hash"));
    }

    #[test]
    fn the_decoy_never_matches() {
        assert!(!verify_decoy("anything at all"));
        assert!(!verify_decoy(""));
    }

    #[test]
    fn the_policy_says_what_is_wrong() {
        assert!(NewPassword::parse("short").unwrap_err().contains("12"));
        assert!(NewPassword::parse("            ")
            .unwrap_err()
            .contains("whitespace"));
        assert!(NewPassword::parse("aaaaaaaaaaaaaaaa")
            .unwrap_err()
            .contains("different"));
        assert!(NewPassword::parse(&"ab1!x".repeat(300))
            .unwrap_err()
            .contains("1024"));
        assert!(format!(
            "{:?}",
            NewPassword::parse("a long enough secret").expect("ok")
        )
        .contains("redacted"));
    }
}
