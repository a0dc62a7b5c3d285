//! The ruleset and its integrity checks.

use crate::http::body::{unknown_keys, JsonObject};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::state::AppState;
use axum::extract::State;
use axum::Json;
use phase1_core::error::FieldError;
use phase1_core::ruleset::{self, CHECK_IDS};
use serde_json::{json, Value};

/// `GET /api/phase1/rules`.
pub async fn get(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "version": state.rules.version(),
        "hash": state.rules.hash(),
        "tables": state.rules.raw(),
    }))
}

/// `POST /api/phase1/rules/validate` `{ruleset: "v1.0", checks?: [..]}`.
pub async fn validate(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let mut errors = unknown_keys(&body, &["ruleset", "checks"]);
    match body.get("ruleset") {
        None | Some(Value::Null) => {}
        Some(Value::String(v)) if v == state.rules.version() => {}
        Some(other) => errors.push(FieldError::new(
            "ruleset",
            format!(
                "unknown ruleset {other}; the only one is {}",
                state.rules.version()
            ),
        )),
    }
    let mut wanted: Vec<&str> = Vec::new();
    match body.get("checks") {
        None | Some(Value::Null) => wanted.extend(CHECK_IDS),
        Some(Value::Array(items)) => {
            for item in items {
                match item
                    .as_str()
                    .and_then(|s| CHECK_IDS.iter().find(|c| **c == s))
                {
                    Some(id) => wanted.push(id),
                    None => errors.push(FieldError::new(
                        "checks",
                        format!("unknown check {item}; checks: {}", CHECK_IDS.join(", ")),
                    )),
                }
            }
        }
        Some(_) => errors.push(FieldError::new("checks", "must be a list of check ids")),
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let checks = ruleset::validate(state.rules.raw(), Some(&wanted));
    Ok(Json(json!({
        "ruleset": {"version": state.rules.version(), "hash": state.rules.hash()},
        "passed": checks.iter().all(|c| c.passed),
        "checks": checks,
    })))
}
