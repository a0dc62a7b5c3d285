//! Access tokens as the app's sign-in would issue them: HS256 under `SECRET_KEY`, with
//! `sub`, `role`, `jti`, `exp`, `iat` (seconds) and `mfa: true`.

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
    // `iat` one second back: the app refuses tokens issued at or before a session cut-off,
    // which a token minted in the very second of a cut-off would otherwise hit.
    json!({
        "sub": email,
        "role": role,
        "jti": uuid::Uuid::new_v4().to_string(),
        "exp": now + 900,
        "iat": now - 1,
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
