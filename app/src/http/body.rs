//! JSON request bodies: parsed to a `serde_json::Value` (400 MALFORMED_JSON when that fails),
//! then validated field by field by the handler, so every problem is reported at once (422).

use super::problem::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

/// The maximum request body: 1 MiB.
pub const MAX_BODY: usize = 1 << 20;

/// A JSON object body.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<JsonObject, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
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

/// 413 PAYLOAD_TOO_LARGE.
pub fn too_large() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        "The body is too large",
        format!("request bodies are limited to {MAX_BODY} bytes"),
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
