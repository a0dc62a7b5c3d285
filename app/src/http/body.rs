//! JSON request bodies: parsed to a `serde_json::Value` (400 MALFORMED_JSON when that fails),
//! then validated field by field by the handler, so every problem is reported at once (422).
//!
//! Bodies are at most [`MAX_BODY`]; routes that read theirs before the caller is authorised
//! take less (the route table's `body_limit`): [`SIGN_IN_BODY`] for sign-in,
//! [`KEYS_FIRST_BODY`] for the flag writes that check their keys first.
//!
//! The body is read as JSON whatever its Content-Type says (`curl -d '{…}'` sends a form
//! type). The sign-in routes also take HTML-form encoding ([`FormOrJson`]), for curl's
//! `-d "email=…" --data-urlencode "password=…"`.

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

/// A JSON object body or, when the Content-Type is `application/x-www-form-urlencoded` and
/// the body is not JSON, its form fields as strings (a field given twice is refused).
pub struct FormOrJson(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for FormOrJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<FormOrJson, ApiError> {
        let form = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        let bytes = read(req, state).await?;
        match (parse_json(&bytes), form) {
            (Err(_), true) => form_fields(&bytes).map(FormOrJson),
            (parsed, _) => parsed.map(FormOrJson),
        }
    }
}

/// The fields of an HTML-form body.
fn form_fields(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let mut fields = Map::new();
    let mut twice = Vec::new();
    for (k, v) in form_urlencoded::parse(bytes) {
        if fields
            .insert(k.to_string(), Value::String(v.into_owned()))
            .is_some()
        {
            twice.push(phase1_core::error::FieldError::new(
                k.as_ref(),
                "is given more than once",
            ));
        }
    }
    if twice.is_empty() {
        Ok(fields)
    } else {
        Err(ApiError::validation(twice))
    }
}

/// The body's bytes, within the route's limit.
async fn read<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    // Reading the body waits on the client (a slow sender slows only itself).
    let limit = super::route_for(req.method().as_str(), req.uri().path())
        .map_or(MAX_BODY, |r| r.body_limit);
    crate::waits::timed(Bytes::from_request(req, state))
        .await
        .map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                too_large_for(limit)
            } else {
                ApiError::malformed(e.body_text())
            }
        })
}

/// A JSON object (an empty body is an empty object).
fn parse_json(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
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

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<JsonObject, ApiError> {
        let bytes = read(req, state).await?;
        parse_json(&bytes).map(JsonObject)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_strings_and_a_repeated_field_is_refused() {
        let f = form_fields(b"email=Kim%40x.io&password=a+b%26c&code=012345").expect("form");
        assert_eq!(f["email"], "Kim@x.io");
        assert_eq!(f["password"], "a b&c");
        assert_eq!(f["code"], "012345");
        let e = form_fields(b"code=1&code=2").expect_err("twice");
        assert_eq!(e.to_problem_json()["errors"][0]["field"], "code");
    }

    #[test]
    fn json_bodies_are_objects_and_an_empty_body_is_an_empty_object() {
        assert!(parse_json(b"").expect("empty").is_empty());
        assert_eq!(parse_json(br#"{"a":1}"#).expect("object")["a"], 1);
        assert_eq!(
            parse_json(b"[1]").expect_err("array").to_problem_json()["status"],
            422
        );
        assert_eq!(
            parse_json(b"email=x").expect_err("form").to_problem_json()["code"],
            "MALFORMED_JSON"
        );
    }
}
