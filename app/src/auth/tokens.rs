//! Tokens: access tokens and MFA tokens (HS256 JWTs, `jsonwebtoken`), refresh tokens
//! (opaque, stored hashed).
//!
//! - An **access token** lives 15 minutes: `sub` (email), `role`, `jti` (its id, for
//!   revocation), `sid` (its refresh family, so logout ends both), `iat`/`exp` (seconds),
//!   `iat_ms` (issue time in milliseconds, compared with session cut-offs) and `mfa: true`.
//!   It is signed with `SECRET_KEY`; only HS256 is accepted.
//! - An **MFA token** (after a correct password, 5 minutes) is signed with a key derived
//!   from `SECRET_KEY` for that purpose alone, so it can never pass as an access token.
//! - A **refresh token** is `<family id>.<signing key id>.<32 random bytes>`; only its
//!   HMAC under `SECRET_KEY` is stored, and a token of another key is refused.
//!
//! Time checks use the caller's clock (the app's injectable one), never the system's.

use crate::clock::Millis;
use crate::store::model::Role;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Lifetime of an access token.
pub const ACCESS_TTL_MS: i64 = 15 * 60_000;
/// Lifetime of an MFA token.
pub const MFA_TTL_MS: i64 = 5 * 60_000;
/// Lifetime of a refresh token (each rotation starts it again).
pub const REFRESH_TTL_MS: i64 = 24 * 3_600_000;
/// How far in the future an `iat` may lie (clock skew between instances).
const MAX_SKEW_MS: i64 = 60_000;

/// Why a token was refused. Every variant is answered with the same 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT, a wrong signature, another algorithm, or missing claims.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Past its expiry.
    #[error("expired")]
    Expired,
    /// `nbf` or `iat` in the future.
    #[error("not yet valid")]
    NotYetValid,
    /// `mfa` is not true.
    #[error("MFA not completed")]
    MfaMissing,
    /// Not an MFA token.
    #[error("not an MFA token")]
    WrongPurpose,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user's email.
    pub sub: String,
    /// The user's role.
    pub role: Role,
    /// Token id.
    pub jti: String,
    /// The refresh family (session) it belongs to.
    pub sid: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Issued at, milliseconds since the epoch.
    pub iat_ms: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Not before, seconds since the epoch (never set by us; honoured when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// MFA was completed.
    pub mfa: bool,
}

impl AccessClaims {
    /// Expiry in milliseconds.
    pub fn exp_ms(&self) -> Millis {
        self.exp.saturating_mul(1000)
    }
}

/// The claims of an MFA token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MfaClaims {
    /// The user's email.
    pub sub: String,
    /// Token id (attempts are counted per id).
    pub jti: String,
    /// Issued at, seconds.
    pub iat: i64,
    /// Expiry, seconds.
    pub exp: i64,
    /// Always "mfa".
    pub purpose: String,
}

fn validation() -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.leeway = 0;
    v.set_required_spec_claims(&["exp", "sub"]);
    v
}

fn sign<T: Serialize>(claims: &T, key: &[u8]) -> String {
    // HS256 encoding of serialisable claims cannot fail.
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
    .unwrap_or_default()
}

fn decode<T: serde::de::DeserializeOwned>(token: &str, key: &[u8]) -> Result<T, TokenError> {
    jsonwebtoken::decode::<T>(token, &DecodingKey::from_secret(key), &validation())
        .map(|d| d.claims)
        .map_err(|e| TokenError::Invalid(e.to_string()))
}

fn check_times(exp: i64, nbf: Option<i64>, iat_ms: Millis, now: Millis) -> Result<(), TokenError> {
    if exp.saturating_mul(1000) <= now {
        return Err(TokenError::Expired);
    }
    if nbf.is_some_and(|n| n.saturating_mul(1000) > now) || iat_ms > now + MAX_SKEW_MS {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

/// A new access token for `email` in session `sid`, issued at `now`.
pub fn issue_access(email: &str, role: Role, sid: &str, now: Millis) -> AccessClaims {
    AccessClaims {
        sub: email.to_string(),
        role,
        jti: uuid::Uuid::new_v4().to_string(),
        sid: sid.to_string(),
        iat: now.div_euclid(1000),
        iat_ms: now,
        exp: (now + ACCESS_TTL_MS).div_euclid(1000),
        nbf: None,
        mfa: true,
    }
}

/// The signed form of access claims.
pub fn encode_access(key: &[u8], claims: &AccessClaims) -> String {
    sign(claims, key)
}

/// Verifies an access token's signature (HS256 only), times and `mfa` claim at `now`.
/// Revocation is the caller's check.
pub fn verify_access(key: &[u8], token: &str, now: Millis) -> Result<AccessClaims, TokenError> {
    let c: AccessClaims = decode(token, key)?;
    check_times(c.exp, c.nbf, c.iat_ms, now)?;
    if !c.mfa {
        return Err(TokenError::MfaMissing);
    }
    Ok(c)
}

/// The key MFA tokens are signed with: HMAC-SHA256(SECRET_KEY, purpose label).
fn mfa_key(secret: &[u8]) -> Vec<u8> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"phase1/mfa-token/v1");
    mac.finalize().into_bytes().to_vec()
}

/// A new MFA token for `email`, issued at `now`; returns the token and its claims.
pub fn issue_mfa(secret: &[u8], email: &str, now: Millis) -> (String, MfaClaims) {
    let claims = MfaClaims {
        sub: email.to_string(),
        jti: uuid::Uuid::new_v4().to_string(),
        iat: now.div_euclid(1000),
        exp: (now + MFA_TTL_MS).div_euclid(1000),
        purpose: "mfa".into(),
    };
    (sign(&claims, &mfa_key(secret)), claims)
}

/// Verifies an MFA token at `now`.
pub fn verify_mfa(secret: &[u8], token: &str, now: Millis) -> Result<MfaClaims, TokenError> {
    let c: MfaClaims = decode(token, &mfa_key(secret))?;
    if c.purpose != "mfa" {
        return Err(TokenError::WrongPurpose);
    }
    check_times(c.exp, None, c.iat.saturating_mul(1000), now)?;
    Ok(c)
}

/// An opaque refresh token: `<family id>.<signing key id>.<secret>`. The key id says which
/// `SECRET_KEY` issued it, so that a changed key ends every session; the stored form is an
/// HMAC under that key.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RefreshToken({}.<redacted>)", self.family())
    }
}

/// The public id of a signing key: 8 hex digits of SHA-256("phase1-signing-key" ‖ key).
fn signing_key_id(key: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"phase1-signing-key")
        .chain_update(key)
        .finalize();
    hex::encode(&digest[..4])
}

impl RefreshToken {
    /// The first token of a new family, under `key`.
    pub fn new_family(key: &[u8]) -> RefreshToken {
        RefreshToken::next_in(&uuid::Uuid::new_v4().simple().to_string(), key)
    }

    /// A new token in `family`, under `key`.
    pub fn next_in(family: &str, key: &[u8]) -> RefreshToken {
        RefreshToken(format!(
            "{family}.{}.{}",
            signing_key_id(key),
            super::random::token::<32>()
        ))
    }

    /// A presented token, if it has the shape of one.
    pub fn parse(raw: &str) -> Option<RefreshToken> {
        let raw = raw.trim();
        let mut parts = raw.split('.');
        let (Some(family), Some(kid), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let hex_of = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        let secret_ok = secret.len() == 43
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (hex_of(family, 32) && hex_of(kid, 8) && secret_ok).then(|| RefreshToken(raw.to_string()))
    }

    /// The family id.
    pub fn family(&self) -> &str {
        self.0.split('.').next().unwrap_or("")
    }

    /// Whether `key` issued it (false after `SECRET_KEY` changed).
    pub fn issued_under(&self, key: &[u8]) -> bool {
        self.0.split('.').nth(1) == Some(signing_key_id(key).as_str())
    }

    /// The stored form: HMAC-SHA256 under the signing key, hex.
    pub fn hash(&self, key: &[u8]) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(self.0.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The token itself (for the cookie).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests;
