//! JSON request bodies: parsed to a `serde_json::Value` (400 MALFORMED_JSON when that fails),
//! then validated field by field by the handler, so every problem is reported at once (422).
//!
//! Bodies are at most [`MAX_BODY`]; routes that read theirs before the caller is authorised
//! take less (the route table's `body_limit`): [`SIGN_IN_BODY`] for sign-in,
//! [`KEYS_FIRST_BODY`] for the flag writes that check their keys first.

use super::problem::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

/// The maximum request body: 1 MiB.
pub const MAX_BODY: usize = 1 << 20;
/// The maximum body of the sign-in routes, read from anyone: 4 KiB (a password is at most
/// 1 KiB).
pub const SIGN_IN_BODY: usize = 4 << 10;
/// The maximum body of the flag writes, whose keys are checked before authorisation: 64 KiB.
pub const KEYS_FIRST_BODY: usize = 64 << 10;

/// A JSON object body.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<JsonObject, ApiError> {
        // Reading the body waits on the client (a slow sender slows only itself).
        let limit = super::route_for(req.method().as_str(), req.uri().path())
            .map_or(MAX_BODY, |r| r.body_limit);
        let bytes = crate::waits::timed(Bytes::from_request(req, state))
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    too_large_for(limit)
                } else {
                    ApiError::malformed(e.body_text())
                }
            })?;
        if bytes.is_empty() {
            return Ok(JsonObject(Map::new()));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(JsonObject(m)),
            Ok(_) => Err(ApiError::validation(vec![
                phase1_core::error::FieldError::new("body", "must be a JSON object"),
            ])),
            Err(e) => Err(ApiError::malformed(format!(
                "line {} column {}: {e}",
                e.line(),
                e.column()
            ))),
        }
    }
}

/// 413 PAYLOAD_TOO_LARGE for the general limit.
pub fn too_large() -> ApiError {
    too_large_for(MAX_BODY)
}

/// 413 PAYLOAD_TOO_LARGE for a route that takes at most `limit` bytes.
pub fn too_large_for(limit: usize) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        "The body is too large",
        format!("request bodies are limited to {limit} bytes here"),
    )
}

/// Rejects keys of `body` outside `allowed`, naming each.
pub fn unknown_keys(
    body: &Map<String, Value>,
    allowed: &[&str],
) -> Vec<phase1_core::error::FieldError> {
    body.keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| {
            phase1_core::error::FieldError::new(
                k.clone(),
                format!("is not a known field (fields: {})", allowed.join(", ")),
            )
        })
        .collect()
}

/// The string field `name` of `body`; when it is missing or not a string, None and the
/// problem added to `errors`.
pub fn required_string(
    body: &Map<String, Value>,
    name: &str,
    errors: &mut Vec<phase1_core::error::FieldError>,
) -> Option<String> {
    match body.get(name) {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) => {
            errors.push(phase1_core::error::FieldError::new(name, "is required"));
            None
        }
        Some(_) => {
            errors.push(phase1_core::error::FieldError::new(
                name,
                "must be a string",
            ));
            None
        }
    }
}
