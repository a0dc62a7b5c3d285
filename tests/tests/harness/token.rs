//! Access tokens as the app's sign-in would issue them: HS256 under `SECRET_KEY`, with
//! `sub`, `role`, `jti`, `sid` (the session), `exp`, `iat` (seconds), `iat_ms` and
//! `mfa: true`. Minted here for tests that need a caller but not the sign-in itself.

use super::SECRET_KEY;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .expect("the clock is after 1970")
}

/// The claims of a valid 15-minute access token for `email` with `role`.
pub fn claims(email: &str, role: &str) -> Value {
    let now = now_secs();
    json!({
        "sub": email,
        "role": role,
        "jti": uuid::Uuid::new_v4().to_string(),
        "sid": uuid::Uuid::new_v4().simple().to_string(),
        "exp": now + 900,
        "iat": now,
        "iat_ms": now * 1000,
        "mfa": true,
    })
}

/// `claims` signed with HS256 under `key`.
pub fn sign(claims: &Value, key: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .expect("an HS256 token encodes")
}

/// A valid access token for `email` with `role` ("admin" or "analyst").
pub fn access_token(email: &str, role: &str) -> String {
    sign(&claims(email, role), SECRET_KEY)
}

/// A token for a fresh analyst (a unique email), with that email.
pub fn new_analyst() -> (String, String) {
    let email = format!("analyst-{}@example.com", uuid::Uuid::new_v4().simple());
    let token = access_token(&email, "analyst");
    (email, token)
}
