//! Public routes: probes, version, route list, OpenAPI.

use crate::http::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use std::time::Instant;

/// `GET /healthz`: liveness, touching nothing.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn components(state: &AppState) -> (bool, Value) {
    let doc = state.stores.doc.ping().await;
    let kv = state.stores.kv.ping().await;
    let checks = phase1_core::ruleset::validate(state.rules.raw(), None);
    let rules_ok = checks.iter().all(|c| c.passed);
    let store = |backend: &str, r: &Result<std::time::Duration, crate::store::StoreError>| match r {
        Ok(d) => {
            json!({"status": "ok", "backend": backend, "latency_ms": d.as_secs_f64() * 1000.0})
        }
        Err(e) => json!({"status": "unavailable", "backend": backend, "error": e.to_string()}),
    };
    let ok = doc.is_ok() && kv.is_ok() && rules_ok;
    (
        ok,
        json!({
            "document_store": store(state.stores.doc.backend(), &doc),
            "key_value_store": store(state.stores.kv.backend(), &kv),
            "ruleset": {
                "status": if rules_ok { "ok" } else { "invalid" },
                "version": state.rules.version(),
                "hash": state.rules.hash(),
            },
        }),
    )
}

/// `GET /readyz`: 200 when both stores and the ruleset are usable, else 503.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let started = Instant::now();
    let (ok, parts) = components(&state).await;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": if ok { "ready" } else { "not_ready" },
            "components": parts,
            "latency_ms": started.elapsed().as_secs_f64() * 1000.0,
        })),
    )
}

/// `GET /api/phase1/health`.
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let (ok, parts) = components(&state).await;
    let flag_version = state
        .stores
        .doc
        .get_flags()
        .await
        .ok()
        .flatten()
        .map(|f| f.version);
    Json(json!({
        "status": if ok { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "ruleset_version": state.rules.version(),
        "flag_version": flag_version,
        "components": parts,
    }))
}

/// `GET /api/phase1/version`.
pub async fn version(State(state): State<AppState>) -> Json<Value> {
    let b = &state.config.build;
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "engine_version": phase1_core::ENGINE_VERSION,
        "commit_sha": b.commit_sha,
        "build_id": b.build_id,
        "build_time": b.build_time,
        "ruleset_version": state.rules.version(),
        "ruleset_hash": state.rules.hash(),
    }))
}

/// `GET /api/phase1/route-list`: generated from the router's own table.
pub async fn route_list() -> Json<Value> {
    let routes = crate::http::specs();
    Json(json!({"count": routes.len(), "routes": routes}))
}

/// `GET /api/phase1/openapi.json`.
pub async fn openapi() -> Json<Value> {
    Json(crate::http::openapi::document())
}
