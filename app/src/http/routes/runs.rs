//! Runs: start one (sync, or queued with 202), list, read, cancel or delete, and the
//! consistency check.

use super::{visible_run, PageQuery};
use crate::http::auth::Session;
use crate::http::body::JsonObject;
use crate::http::client_ip::ClientIp;
use crate::http::limit::{self, Counted};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::service::flags::Evaluated;
use crate::service::runs::{self, rfc3339, Plan, Prepared, Stop, RUN_FIELDS};
use crate::store::model::{RunRecord, RunStatus};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phase1_core::error::FieldError;
use serde_json::{json, Value};
use std::time::Duration;

const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

fn queued(run_id: &str) -> Response {
    let mut res = (
        StatusCode::ACCEPTED,
        Json(json!({"run_id": run_id, "status": "queued"})),
    )
        .into_response();
    if let Ok(v) = format!("/api/phase1/runs/{run_id}").parse() {
        res.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    res
}

/// The answer for an existing run: its document when done, else its state with 202.
async fn answer_existing(state: &AppState, run: &RunRecord) -> ApiResult<Response> {
    match run.status {
        RunStatus::Done => {
            let result = state
                .stores
                .doc
                .get_result(&run.id)
                .await?
                .unwrap_or_default();
            Ok(Json(runs::with_run_id(result, &run.id)).into_response())
        }
        RunStatus::Queued | RunStatus::Running => Ok(queued(&run.id)),
        RunStatus::Failed => Ok(replay_problem(run)),
        RunStatus::Cancelled => Err(Stop::Cancelled.into()),
    }
}

/// A failed run's stored problem, answered again with its own status and this request's
/// id: a repeated Idempotency-Key returns the first result, not a 200.
fn replay_problem(run: &RunRecord) -> Response {
    let mut problem = run
        .error
        .clone()
        .unwrap_or_else(|| ApiError::internal("the run failed").to_problem_json());
    let status = problem["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    problem["request_id"] = json!(crate::http::problem::current_request_id());
    let mut res = (status, Json(problem)).into_response();
    res.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/problem+json"),
    );
    res
}

/// `POST /api/phase1/run`.
pub async fn run(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(flags): Extension<Evaluated>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let p = runs::prepare(&state, &session, &body, &flags, &RUN_FIELDS).await?;
    p.input.check_guardrail(state.config.engine.max_card)?;
    let idempotency = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(key) = &idempotency {
        if key.is_empty() || key.len() > 200 {
            return Err(ApiError::validation(vec![FieldError::new(
                "Idempotency-Key",
                "must be 1 to 200 characters",
            )]));
        }
    }
    let kv_key = idempotency.map(|k| format!("{}:{k}", session.email));
    let run_id = uuid::Uuid::new_v4().to_string();
    if let Some(key) = &kv_key {
        if let Some(existing) = state
            .stores
            .kv
            .claim_idempotency(key, &run_id, IDEMPOTENCY_TTL)
            .await?
        {
            let run = visible_run(&state, &session, &existing).await?;
            return answer_existing(&state, &run).await;
        }
    }
    let positions = p
        .input
        .sample
        .unwrap_or_else(|| p.input.ranges.cardinality());
    let queue = p.wants_async || runs::exceeds_budget(&state, positions);

    // The result cache: an identical earlier run answers at once.
    let cached = match state.stores.doc.find_cached_run(&p.cache_key).await? {
        Some(c) => state.stores.doc.get_result(&c.id).await?,
        None => None,
    };
    crate::service::metrics::bump(
        &state,
        if cached.is_some() {
            "result_cache_hits_total"
        } else {
            "result_cache_misses_total"
        },
    )
    .await;
    if let Some(mut result) = cached {
        result["provenance"]["cached"] = json!(true);
        runs::with_request_provenance(&mut result, &p);
        let mut record = runs::record(&state, &session, &p, RunStatus::Queued);
        record.id = run_id;
        state.stores.doc.create_run(&record).await?;
        state
            .stores
            .doc
            .finish_run(&record.id, None, &result, state.clock.now_ms())
            .await?;
        return Ok(Json(runs::with_run_id(result, &record.id)).into_response());
    }

    // A synchronous run waits for the caller's engine slot before it is recorded as
    // running (its lease starts once it can run).
    let _slot = if queue {
        None
    } else {
        Some(state.engine_slots.acquire(&session.email).await)
    };
    let mut record = runs::record(
        &state,
        &session,
        &p,
        if queue {
            RunStatus::Queued
        } else {
            RunStatus::Running
        },
    );
    record.id = run_id;
    state.stores.doc.create_run(&record).await?;
    if queue {
        state.wake.notify_one();
        let bg = state.clone();
        (state.spawn)(Box::pin(async move {
            let _ = crate::service::worker::drain(&bg).await;
        }));
        return Ok(queued(&record.id));
    }
    run_sync(&state, &p, &record).await
}

async fn run_sync(state: &AppState, p: &Prepared, record: &RunRecord) -> ApiResult<Response> {
    let plan = Plan {
        shard_size: state.config.engine.shard_size,
        threads: None,
        remote: true,
    };
    let doc_store = &state.stores.doc;
    let outcome = runs::execute(state, Some(&record.id), p, plan, |pct| {
        let (id, worker, until) = (
            record.id.clone(),
            state.worker_id.clone(),
            state.clock.now_ms() + runs::lease_ms(state),
        );
        async move {
            doc_store
                .update_progress(&id, &worker, pct, until)
                .await
                .unwrap_or(false)
        }
    })
    .await;
    let now = state.clock.now_ms();
    match outcome {
        Ok(doc) => {
            let value = runs::stored_document(state, p, &doc)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            if !doc_store
                .finish_run(&record.id, Some(&state.worker_id), &value, now)
                .await?
            {
                return Err(Stop::Cancelled.into());
            }
            Ok(Json(runs::with_run_id(value, &record.id)).into_response())
        }
        Err(stop) => {
            let err = ApiError::from(stop);
            doc_store
                .fail_run(&record.id, &err.to_problem_json(), now)
                .await?;
            Err(err)
        }
    }
}

fn status_doc(run: &RunRecord, result: Option<Value>) -> Value {
    let mut v = json!({
        "run_id": run.id,
        "status": run.status,
        "progress_pct": run.progress_pct,
        "project_id": run.project_id,
        "cardinality": run.cardinality,
        "created_at": rfc3339(run.created_at),
        "finished_at": run.finished_at.map(rfc3339),
    });
    if let Some(r) = result {
        v["result"] = r;
    }
    if let Some(e) = &run.error {
        v["error"] = e.clone();
    }
    v
}

/// `GET /api/phase1/runs`.
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    let page = q.page();
    let rows = state
        .stores
        .doc
        .list_runs(session.owner_filter(), page)
        .await?;
    let runs: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "run_id": r.id,
                "status": r.status,
                "project_id": r.project_id,
                "cardinality": r.cardinality,
                "created_at": rfc3339(r.created_at),
                "finished_at": r.finished_at.map(rfc3339),
            })
        })
        .collect();
    Ok(Json(
        json!({"runs": runs, "offset": page.offset, "limit": page.limit}),
    ))
}

/// `GET /api/phase1/runs/{run_id}`.
pub async fn get(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let run = visible_run(&state, &session, &id).await?;
    let result = if run.status == RunStatus::Done {
        state.stores.doc.get_result(&run.id).await?
    } else {
        None
    };
    Ok(Json(status_doc(&run, result)))
}

/// `DELETE /api/phase1/runs/{run_id}`: cancels an active run (202), deletes a finished one
/// (204).
pub async fn remove(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let run = visible_run(&state, &session, &id).await?;
    if run.status.is_active()
        && state
            .stores
            .doc
            .cancel_run(&id, state.clock.now_ms())
            .await?
    {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"run_id": id, "status": "cancelled"})),
        )
            .into_response());
    }
    state.stores.doc.delete_run(&id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The comparable items of the consistency check.
const COMPARE: [&str; 3] = ["top_20", "prune_stats", "stress_dscr"];

fn item_hash(doc: &Value, item: &str) -> String {
    let top: Vec<Value> = doc["top"]
        .as_array()
        .map(|t| t.iter().take(20).cloned().collect())
        .unwrap_or_default();
    let value = match item {
        "top_20" => json!(top),
        "prune_stats" => {
            let mut s = doc["stats"].clone();
            if let Value::Object(m) = &mut s {
                m.remove("duration_ms");
                m.remove("permutations_per_sec");
            }
            s
        }
        _ => json!(top.iter().map(|s| s["stress"].clone()).collect::<Vec<_>>()),
    };
    phase1_core::hash::sha256_hex(value.to_string().as_bytes())
}

/// The inputs of the caller's latest run (project, ranges or preset, seed, top-N,
/// objective, sample) under the fields of `body`: what a consistency check that names no
/// inputs re-runs.
async fn latest_inputs(
    state: &AppState,
    session: &Session,
    body: serde_json::Map<String, Value>,
) -> ApiResult<serde_json::Map<String, Value>> {
    let newest = crate::store::model::Page {
        offset: 0,
        limit: 1,
    };
    let runs = state
        .stores
        .doc
        .list_runs(Some(&session.email), newest)
        .await?;
    let Some(Value::Object(mut inputs)) = runs
        .into_iter()
        .next()
        .map(|r| r.request["request"].clone())
    else {
        return Err(ApiError::validation(vec![FieldError::new(
            "project",
            "no inputs given and no earlier run to re-run: send project, project_id or \
             fixture, with ranges or preset",
        )]));
    };
    inputs.extend(body.into_iter().filter(|(_, v)| !v.is_null()));
    Ok(inputs)
}

/// `POST /api/phase1/validate/consistency`: runs a request `runs` times under different
/// thread counts and shard splits, bypassing the cache, and compares.
pub async fn consistency(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(flags): Extension<Evaluated>,
    counted: Option<Extension<Counted>>,
    ip: Option<Extension<ClientIp>>,
    JsonObject(mut body): JsonObject,
) -> ApiResult<Json<Value>> {
    let mut errors = Vec::new();
    let inputs = ["project_id", "project", "fixture", "ranges", "preset"];
    if inputs
        .iter()
        .all(|k| body.get(*k).is_none_or(Value::is_null))
    {
        body = latest_inputs(&state, &session, body).await?;
    }
    let n = match body.remove("runs") {
        None | Some(Value::Null) => 3,
        Some(v) => match v.as_u64() {
            Some(n) if (2..=10).contains(&n) => n,
            _ => {
                errors.push(FieldError::new("runs", "must be an integer from 2 to 10"));
                3
            }
        },
    };
    let compare: Vec<String> = match body.remove("compare") {
        None | Some(Value::Null) => COMPARE.iter().map(|s| s.to_string()).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| match i.as_str().filter(|s| COMPARE.contains(s)) {
                Some(s) => Some(s.to_string()),
                None => {
                    errors.push(FieldError::new(
                        "compare",
                        format!("unknown item {i}; items: {}", COMPARE.join(", ")),
                    ));
                    None
                }
            })
            .collect(),
        Some(_) => {
            errors.push(FieldError::new("compare", "must be a list"));
            Vec::new()
        }
    };
    let allowed = [
        "project_id",
        "project",
        "fixture",
        "ranges",
        "preset",
        "seed",
        "topn",
        "objective",
        "sample",
    ];
    let p = runs::prepare(&state, &session, &body, &flags, &allowed).await;
    let p = match (p, errors.is_empty()) {
        (Ok(p), true) => p,
        (Ok(_), false) => return Err(ApiError::validation(errors)),
        (Err(mut e), _) => {
            e.errors.splice(0..0, errors);
            return Err(e);
        }
    };
    p.input.check_guardrail(state.config.engine.max_card)?;
    // Each of the n runs counts as a run (the limiter counted the request as one).
    limit::charge(
        &state,
        counted.map(|Extension(c)| c),
        ip.map(|Extension(ClientIp(ip))| ip),
        "/api/phase1/validate/consistency",
        n - 1,
    )
    .await?;
    let positions = p
        .input
        .sample
        .unwrap_or_else(|| p.input.ranges.cardinality())
        .max(1);
    let _slot = state.engine_slots.acquire(&session.email).await;
    let mut hashes: serde_json::Map<String, Value> =
        compare.iter().map(|c| (c.clone(), json!([]))).collect();
    let mut runs_done = Vec::new();
    for i in 0..n {
        let splits = [1u64, 3, 7, 2, 5][i as usize % 5];
        let threads = [Some(1), Some(2), None][i as usize % 3];
        let plan = Plan {
            shard_size: positions.div_ceil(splits),
            threads,
            remote: false,
        };
        let doc = runs::execute(&state, None, &p, plan, |_| async { true })
            .await
            .map_err(ApiError::from)?;
        let value = serde_json::to_value(&doc).map_err(|e| ApiError::internal(e.to_string()))?;
        for c in &compare {
            if let Some(Value::Array(list)) = hashes.get_mut(c) {
                list.push(json!(item_hash(&value, c)));
            }
        }
        runs_done.push(json!({"threads": threads, "shards": doc.provenance.shards}));
    }
    let consistent = hashes.values().all(|v| {
        v.as_array()
            .is_some_and(|l| l.windows(2).all(|w| w[0] == w[1]))
    });
    Ok(Json(
        json!({"consistent": consistent, "runs": runs_done, "items": hashes}),
    ))
}
