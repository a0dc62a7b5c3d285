//! Internal routes: the signed shard route and the run worker's cron route.

use crate::http::problem::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::service::shards::{self, ShardRequest, SignatureError};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use phase1_core::job::Job;
use phase1_core::request::{Overrides, RunInput};
use serde_json::{json, Value};

/// `POST /api/phase1/internal/shard`: judges positions `start..end` of a request for another
/// instance. Only calls signed with `PHASE1_INTERNAL_KEY` in the last 60 s are served.
pub async fn shard(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let key = state.config.engine.internal_key.as_deref();
    if let Err(e) = shards::verify(
        key,
        header(shards::TIMESTAMP_HEADER),
        header(shards::SIGNATURE_HEADER),
        &body,
        state.clock.now_ms(),
    ) {
        let detail = match e {
            SignatureError::Missing => "a signed shard call is required",
            SignatureError::Stale => "the shard call's signature is older than 60 s",
            SignatureError::Invalid => "the shard call's signature does not match",
        };
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SIGNATURE",
            "Invalid signature",
            detail,
        ));
    }
    let req: ShardRequest =
        serde_json::from_slice(&body).map_err(|e| ApiError::malformed(e.to_string()))?;
    let input = RunInput::parse(
        &req.request,
        &Overrides::default(),
        req.options,
        state.rules,
    )?;
    let partial = tokio::task::spawn_blocking(move || {
        let job = Job::new(&input, phase1_core::ruleset::Ruleset::v1());
        job.judge(req.start..req.end, &|_| {})
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(
        serde_json::to_value(partial).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}

/// `GET|POST /api/phase1/internal/worker`: claims and runs queued runs, and runs whose
/// worker died.
pub async fn worker(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let ran = crate::service::worker::drain(&state).await?;
    Ok(Json(json!({"ran": ran})))
}
