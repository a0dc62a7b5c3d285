//! Shard calls between instances: the HMAC signature over timestamp, nonce and body, its
//! check, and the fan-out client with retries.
//!
//! A signature is good once: the nonce under the MAC is marked used in the key-value store
//! (by the route, after the MAC checks) for as long as the signature could still be
//! accepted, so a captured call cannot be replayed. A call may be at most 60 s old and at
//! most 5 s ahead of the receiver's clock (skew between instances, nothing more).

use crate::clock::Millis;
use hmac::{Hmac, Mac};
use phase1_core::request::Options;
use phase1_core::run::Partial;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Header carrying the signing time (milliseconds since the epoch).
pub const TIMESTAMP_HEADER: &str = "x-phase1-timestamp";
/// Header carrying the call's nonce: 32 hex digits, random per attempt.
pub const NONCE_HEADER: &str = "x-phase1-nonce";
/// Header carrying hex(HMAC-SHA256(key, timestamp "." nonce "." body)).
pub const SIGNATURE_HEADER: &str = "x-phase1-signature";
/// Oldest signature accepted.
pub const MAX_AGE_MS: i64 = 60_000;
/// How far ahead of the receiver's clock a signature may be.
pub const MAX_SKEW_MS: i64 = 5_000;
/// How long a nonce is remembered: longer than any signature that carries it is accepted.
pub const NONCE_TTL: std::time::Duration = std::time::Duration::from_millis(2 * MAX_AGE_MS as u64);
/// The shard route's path.
pub const SHARD_PATH: &str = "/api/phase1/internal/shard";
/// Attempts per shard before the run fails.
pub const ATTEMPTS: u32 = 3;

/// What a shard is asked to judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRequest {
    /// The fixture-shaped request document.
    pub request: serde_json::Value,
    /// Engine options in force for the caller.
    pub options: Options,
    /// First position (inclusive).
    pub start: u64,
    /// Last position (exclusive).
    pub end: u64,
}

fn mac(key: &[u8], timestamp: Millis, nonce: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(nonce.as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// A fresh nonce: 16 random bytes as 32 hex digits.
pub fn nonce() -> String {
    hex::encode(crate::auth::random::bytes::<16>())
}

/// The signature of `body` at `timestamp` with `nonce`.
pub fn sign(key: &[u8], timestamp: Millis, nonce: &str, body: &[u8]) -> String {
    hex::encode(mac(key, timestamp, nonce, body).finalize().into_bytes())
}

/// Why a shard call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No key configured, or a header missing or malformed.
    Missing,
    /// Older than [`MAX_AGE_MS`], or more than [`MAX_SKEW_MS`] in the future.
    Stale,
    /// The signature does not match.
    Invalid,
    /// The nonce was used before: a replay.
    Replayed,
}

/// A shard call's signing headers, checked for shape and age before its body is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<'a> {
    key: &'a [u8],
    timestamp: Millis,
    /// The nonce, to be marked used once the MAC checks.
    pub nonce: &'a str,
    signature: Vec<u8>,
}

impl<'a> Signed<'a> {
    /// Reads the headers: a key must be configured, every header present and well formed,
    /// and the timestamp within [now − 60 s, now + 5 s].
    pub fn parse(
        key: Option<&'a [u8]>,
        timestamp: Option<&str>,
        nonce: Option<&'a str>,
        signature: Option<&str>,
        now: Millis,
    ) -> Result<Signed<'a>, SignatureError> {
        let (Some(key), Some(ts), Some(nonce), Some(sig)) = (key, timestamp, nonce, signature)
        else {
            return Err(SignatureError::Missing);
        };
        let timestamp: Millis = ts.parse().map_err(|_| SignatureError::Missing)?;
        let nonce_ok = nonce.len() == 32 && nonce.bytes().all(|b| b.is_ascii_hexdigit());
        if !nonce_ok {
            return Err(SignatureError::Missing);
        }
        let age = now.saturating_sub(timestamp);
        if !(-MAX_SKEW_MS..=MAX_AGE_MS).contains(&age) {
            return Err(SignatureError::Stale);
        }
        let signature = hex::decode(sig).map_err(|_| SignatureError::Invalid)?;
        Ok(Signed {
            key,
            timestamp,
            nonce,
            signature,
        })
    }

    /// Checks the MAC over the body (constant time).
    pub fn verify(&self, body: &[u8]) -> Result<(), SignatureError> {
        mac(self.key, self.timestamp, self.nonce, body)
            .verify_slice(&self.signature)
            .map_err(|_| SignatureError::Invalid)
    }
}

/// Sends one shard to `base_url`, retrying up to [`ATTEMPTS`] times.
pub async fn call(
    client: &reqwest::Client,
    base_url: &str,
    key: &[u8],
    now: impl Fn() -> Millis,
    shard: &ShardRequest,
) -> Result<Partial, String> {
    let body = serde_json::to_vec(shard).map_err(|e| e.to_string())?;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let ts = now();
        let nonce = nonce();
        let sent = client
            .post(format!("{base_url}{SHARD_PATH}"))
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(NONCE_HEADER, &nonce)
            .header(SIGNATURE_HEADER, sign(key, ts, &nonce, &body))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => match r.json::<Partial>().await {
                Ok(p) => return Ok(p),
                Err(e) => last = format!("attempt {attempt}: unreadable answer: {e}"),
            },
            Ok(r) => last = format!("attempt {attempt}: HTTP {}", r.status()),
            Err(e) => last = format!("attempt {attempt}: {e}"),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(std::time::Duration::from_millis(100 * u64::from(attempt))).await;
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"internal-key-for-tests";
    const NONCE: &str = "0123456789abcdef0123456789abcdef";
    const BODY: &[u8] = b"{\"a\":1}";

    fn check(
        key: Option<&[u8]>,
        ts: &str,
        nonce: &str,
        sig: &str,
        body: &[u8],
        now: Millis,
    ) -> Result<(), SignatureError> {
        Signed::parse(key, Some(ts), Some(nonce), Some(sig), now)?.verify(body)
    }

    #[test]
    fn signatures_verify_and_refuse_tampering_and_age() {
        let sig = sign(KEY, 1_000_000, NONCE, BODY);
        assert_eq!(
            check(Some(KEY), "1000000", NONCE, &sig, BODY, 1_030_000),
            Ok(())
        );
        assert_eq!(
            check(Some(KEY), "1000000", NONCE, &sig, b"{\"a\":2}", 1_030_000),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            check(Some(b"other"), "1000000", NONCE, &sig, BODY, 1_030_000),
            Err(SignatureError::Invalid)
        );
        let other_nonce = "fedcba9876543210fedcba9876543210";
        assert_eq!(
            check(Some(KEY), "1000000", other_nonce, &sig, BODY, 1_030_000),
            Err(SignatureError::Invalid),
            "the nonce is under the MAC"
        );
        assert_eq!(
            check(Some(KEY), "1000000", NONCE, &sig, BODY, 1_060_001),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check(None, "1000000", NONCE, &sig, BODY, 1_000_000),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            Signed::parse(Some(KEY), None, Some(NONCE), Some(&sig), 1_000_000),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            check(Some(KEY), "1000000", "short", &sig, BODY, 1_000_000),
            Err(SignatureError::Missing)
        );
    }

    /// L3 of the 2026-12-03 audit: a call dated 59 s ahead was accepted.
    #[test]
    fn only_a_few_seconds_of_future_skew_are_allowed() {
        let now = 1_000_000;
        for (ahead, ok) in [
            (0, true),
            (MAX_SKEW_MS, true),
            (MAX_SKEW_MS + 1, false),
            (59_000, false),
        ] {
            let ts = now + ahead;
            let sig = sign(KEY, ts, NONCE, BODY);
            let got = check(Some(KEY), &ts.to_string(), NONCE, &sig, BODY, now);
            assert_eq!(got.is_ok(), ok, "{ahead} ms ahead: {got:?}");
        }
        assert!(NONCE_TTL.as_millis() > (MAX_AGE_MS + MAX_SKEW_MS) as u128);
    }

    #[test]
    fn nonces_are_fresh_hex() {
        let (a, b) = (nonce(), nonce());
        assert_ne!(a, b);
        assert!(a.len() == 32 && a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
