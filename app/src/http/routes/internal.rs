//! Internal routes: the signed shard route and the run worker's cron route.

use crate::http::body::{self, MAX_BODY};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::service::shards::{self, ShardRequest, SignatureError};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::Json;
use phase1_core::job::Job;
use phase1_core::request::{Overrides, RunInput};
use serde_json::{json, Value};

/// `POST /api/phase1/internal/shard`: judges positions `start..end` of a request for another
/// instance. Only calls signed with `PHASE1_INTERNAL_KEY` in the last 60 s (and at most 5 s
/// ahead) are served, each signature once: its headers are checked before the body is read,
/// the MAC once it is, and then its nonce is marked used.
pub async fn shard(State(state): State<AppState>, req: Request) -> ApiResult<Json<Value>> {
    let refused = |e: SignatureError| {
        let detail = match e {
            SignatureError::Missing => "a signed shard call is required",
            SignatureError::Stale => {
                "the shard call's signature is older than 60 s or more than 5 s ahead"
            }
            SignatureError::Invalid => "the shard call's signature does not match",
            SignatureError::Replayed => "the shard call's signature was already used",
        };
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SIGNATURE",
            "Invalid signature",
            detail,
        )
    };
    let (parts, body) = req.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let key = state.config.engine.internal_key.as_deref();
    let signed = shards::Signed::parse(
        key,
        header(shards::TIMESTAMP_HEADER),
        header(shards::NONCE_HEADER),
        header(shards::SIGNATURE_HEADER),
        state.clock.now_ms(),
    )
    .map_err(refused)?;
    let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|e| {
        if e.into_inner().is::<http_body_util::LengthLimitError>() {
            body::too_large()
        } else {
            ApiError::malformed("the body could not be read")
        }
    })?;
    signed.verify(&body).map_err(refused)?;
    if !state
        .stores
        .kv
        .use_once("shard-nonce", signed.nonce, shards::NONCE_TTL)
        .await?
    {
        return Err(refused(SignatureError::Replayed));
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
/// worker died; then delivers the alerts that are due.
pub async fn worker(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let ran = crate::service::worker::drain(&state).await?;
    let deliveries = crate::service::notifications::deliver_due(&state).await?;
    Ok(Json(json!({"ran": ran, "alert_attempts": deliveries})))
}
