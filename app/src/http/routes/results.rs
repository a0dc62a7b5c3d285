//! Reading a run's results: the top 20, one structure exported in full, the constraints.

use super::done_run;
use crate::http::auth::Session;
use crate::http::problem::ApiResult;
use crate::http::state::AppState;
use crate::service::documents;
use crate::service::runs::rfc3339;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

/// `?run_id`.
#[derive(Debug, Deserialize)]
pub struct RunQuery {
    /// The run (default: the caller's latest finished run).
    pub run_id: Option<String>,
}

/// `GET /api/phase1/securitisation/top20`.
pub async fn top20(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<RunQuery>,
) -> ApiResult<Json<Value>> {
    let (run, result) = done_run(&state, &session, q.run_id.as_deref()).await?;
    let top: Vec<Value> = result["top"]
        .as_array()
        .map(|t| t.iter().take(20).cloned().collect())
        .unwrap_or_default();
    Ok(Json(json!({
        "run_id": run.id,
        "top_20": top,
        "stats": result["stats"],
        "completed_at": run.finished_at.map(rfc3339),
    })))
}

/// `GET /api/phase1/securitisation/export/{rank}`: the structure with its monthly
/// schedules, per-scenario stress DSCRs, every rule result, rating, repo, the project and
/// provenance (`phase1_documents::Export`, the source of every term-sheet figure).
pub async fn export(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(rank): Path<u64>,
    Query(q): Query<RunQuery>,
) -> ApiResult<Json<Value>> {
    let (run, result) = done_run(&state, &session, q.run_id.as_deref()).await?;
    let export = documents::export(&state, &run, result, rank).await?;
    Ok(Json(export.to_json()))
}

/// `GET /api/phase1/constraints`.
pub async fn constraints(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<RunQuery>,
) -> ApiResult<Json<Value>> {
    let (run, result) = done_run(&state, &session, q.run_id.as_deref()).await?;
    Ok(Json(json!({
        "run_id": run.id,
        "evaluated": result["stats"]["evaluated"],
        "constraints": result["constraints"],
        "rule_failures_by_key": result["stats"]["rule_failures_by_key"],
        "binding_by_limit": result["stats"]["binding_by_limit"],
    })))
}
