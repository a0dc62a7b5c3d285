//! Shard calls between instances: the HMAC signature over timestamp and body, its check,
//! and the fan-out client with retries.

use crate::clock::Millis;
use hmac::{Hmac, Mac};
use phase1_core::request::Options;
use phase1_core::run::Partial;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Header carrying the signing time (milliseconds since the epoch).
pub const TIMESTAMP_HEADER: &str = "x-phase1-timestamp";
/// Header carrying hex(HMAC-SHA256(key, timestamp "." body)).
pub const SIGNATURE_HEADER: &str = "x-phase1-signature";
/// Oldest signature accepted.
pub const MAX_AGE_MS: i64 = 60_000;
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

fn mac(key: &[u8], timestamp: Millis, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The signature of `body` at `timestamp`.
pub fn sign(key: &[u8], timestamp: Millis, body: &[u8]) -> String {
    hex::encode(mac(key, timestamp, body).finalize().into_bytes())
}

/// Why a shard call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No key configured, or a header missing or malformed.
    Missing,
    /// Older than [`MAX_AGE_MS`] (or too far in the future).
    Stale,
    /// The signature does not match.
    Invalid,
}

/// Checks a shard call's signature (constant time) and age.
pub fn verify(
    key: Option<&[u8]>,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: Millis,
) -> Result<(), SignatureError> {
    let (Some(key), Some(ts), Some(sig)) = (key, timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    let ts: Millis = ts.parse().map_err(|_| SignatureError::Missing)?;
    if (now - ts).abs() > MAX_AGE_MS {
        return Err(SignatureError::Stale);
    }
    let sig = hex::decode(sig).map_err(|_| SignatureError::Invalid)?;
    mac(key, ts, body)
        .verify_slice(&sig)
        .map_err(|_| SignatureError::Invalid)
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
        let sent = client
            .post(format!("{base_url}{SHARD_PATH}"))
            .header(TIMESTAMP_HEADER, ts.to_string())
            .header(SIGNATURE_HEADER, sign(key, ts, &body))
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

    #[test]
    fn signatures_verify_and_refuse_tampering_and_age() {
        let key = b"internal-key-for-tests";
        let sig = sign(key, 1_000_000, b"{\"a\":1}");
        assert_eq!(
            verify(
                Some(key),
                Some("1000000"),
                Some(&sig),
                b"{\"a\":1}",
                1_030_000
            ),
            Ok(())
        );
        assert_eq!(
            verify(
                Some(key),
                Some("1000000"),
                Some(&sig),
                b"{\"a\":2}",
                1_030_000
            ),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(
                Some(b"other"),
                Some("1000000"),
                Some(&sig),
                b"{\"a\":1}",
                1_030_000
            ),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(
                Some(key),
                Some("1000000"),
                Some(&sig),
                b"{\"a\":1}",
                1_060_001
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(None, Some("1000000"), Some(&sig), b"{\"a\":1}", 1_000_000),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(Some(key), None, Some(&sig), b"{\"a\":1}", 1_000_000),
            Err(SignatureError::Missing)
        );
    }
}
