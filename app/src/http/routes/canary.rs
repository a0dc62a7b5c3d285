//! Canary routes: status (public, with ETag), versioned updates, evaluation and its cron
//! twin, rollout plans and their execution, the two emergency rollback routes, and the full
//! status with go/no-go.

use super::flags::{if_match, with_etag};
use super::origin;
use crate::canary::{Decision, Phase};
use crate::http::auth::Session;
use crate::http::body::JsonObject;
use crate::http::client_ip::ClientIp;
use crate::http::problem::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::service::{canary, flags, metrics};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use phase1_core::error::FieldError;
use serde_json::{json, Map, Value};

/// `GET /api/phase1/canary/status`: phase, percentage, since, last decision; ETag = the
/// canary's version.
pub async fn status(State(state): State<AppState>) -> ApiResult<Response> {
    let (version, body) = canary::status(&state).await?;
    Ok(with_etag(version, body))
}

fn only(body: &Map<String, Value>, known: &[&str]) -> Vec<FieldError> {
    body.keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| FieldError::new(k, "is not a field of this request"))
        .collect()
}

/// A phase from `field` (a name) or `percentage` (0, 1, 25 or 100).
fn phase_of(body: &Map<String, Value>, field: &str, errors: &mut Vec<FieldError>) -> Option<Phase> {
    match (body.get(field), body.get("percentage")) {
        (Some(p), _) => {
            let parsed = p.as_str().and_then(Phase::parse);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    field,
                    "must be ADMIN_ONLY, CANARY_1, CANARY_25, FULL or ROLLED_BACK",
                ));
            }
            parsed
        }
        (None, Some(p)) => {
            let parsed = p.as_u64().and_then(Phase::from_percentage);
            if parsed.is_none() {
                errors.push(FieldError::new(
                    "percentage",
                    "must be a phase's percentage: 0 (ADMIN_ONLY), 1, 25 or 100",
                ));
            }
            parsed
        }
        (None, None) => {
            errors.push(FieldError::new(
                field,
                "a phase or a percentage is required",
            ));
            None
        }
    }
}

fn reason(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> String {
    match body.get("reason") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 500 => s.trim().to_string(),
        None => String::new(),
        Some(_) => {
            errors.push(FieldError::new(
                "reason",
                "must be text of 1 to 500 characters",
            ));
            String::new()
        }
    }
}

/// `POST /api/phase1/canary/update`: `{phase or percentage, reason}`, If-Match optional.
pub async fn update(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let expected = if_match(&headers)?;
    let mut errors = only(&body, &["phase", "percentage", "reason"]);
    let phase = phase_of(&body, "phase", &mut errors);
    let why = reason(&body, &mut errors);
    let Some(phase) = phase.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let origin = origin("/api/phase1/canary/update", ip);
    let precondition = (expected, expected.is_some());
    let version = canary::enter(&state, &origin, &session.email, precondition, phase, &why).await?;
    let (_, status) = canary::status(&state).await?;
    Ok(Json(json!({"version": version, "canary": status})))
}

/// `POST /api/phase1/canary/evaluate` and `GET|POST /api/phase1/canary/tick`.
pub async fn evaluate(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    ip: Option<Extension<ClientIp>>,
    uri: axum::http::Uri,
) -> ApiResult<Json<Value>> {
    let route = if uri.path().ends_with("/tick") {
        "/api/phase1/canary/tick"
    } else {
        "/api/phase1/canary/evaluate"
    };
    Ok(Json(
        canary::evaluate(&state, &origin(route, ip), &session.email).await?,
    ))
}

/// `{target, admin_only, eta}` of the rollout routes (`eta`: free text, echoed).
fn rollout_body(body: &Map<String, Value>) -> ApiResult<(Phase, bool, Option<String>)> {
    let mut errors = only(body, &["target", "admin_only", "eta"]);
    let eta = match body.get("eta") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 100 => {
            Some(s.trim().to_string())
        }
        Some(_) => {
            errors.push(FieldError::new(
                "eta",
                "must be text of 1 to 100 characters (e.g. 2026-12-04T09:00Z)",
            ));
            None
        }
    };
    let target = phase_of(body, "target", &mut errors);
    let admin_only = match body.get("admin_only") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new("admin_only", "must be true or false"));
            false
        }
    };
    if target == Some(Phase::RolledBack) {
        errors.push(FieldError::new(
            "target",
            "ROLLED_BACK is not a rollout target: use the rollback routes",
        ));
    }
    match target {
        Some(t) if errors.is_empty() => Ok((t, admin_only, eta)),
        _ => Err(ApiError::validation(errors)),
    }
}

/// `POST /api/admin/rollout/plan`: the steps from the current phase to the target, the
/// criteria each needs, and how the live measurements stand.
pub async fn plan(
    State(state): State<AppState>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let (target, admin_only, eta) = rollout_body(&body)?;
    let (version, c, judgement) = canary::judgement(&state).await?;
    let t = state.config.canary;
    let steps = canary::plan(c.phase, target, admin_only);
    Ok(Json(json!({
        "current": c.phase,
        "version": version,
        "target": target,
        "eta": eta,
        "steps": steps,
        "criteria": {
            "progress": {
                "min_minutes_in_phase": t.min_minutes,
                "min_requests": t.min_requests,
                "error_rate_below": t.max_error_rate,
                "p95_ms_below": t.max_p95_ms,
                "success_rate_above": t.min_success_rate,
            },
            "rollback": {
                "error_rate_above": t.rollback_error_rate,
                "p95_ms_above": t.rollback_p95_ms,
                "errors_in_5_minutes_above": t.rollback_errors_5m,
                "min_distinct_users": t.rollback_min_users,
            },
            "alert": {
                "memory_growth_mb_above": t.alert_memory_mb,
            },
        },
        "now": judgement.to_json(),
    })))
}

/// `POST /api/admin/rollout/execute`: enters the plan's next step when it may (a step that
/// widens exposure needs GO), else 409 with the reasons. If-Match (the canary's version) is
/// optional: without it the step is still taken only from the state it was judged on, judged
/// again if the canary changed meanwhile.
pub async fn execute(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let expected = if_match(&headers)?;
    let (target, admin_only, eta) = rollout_body(&body)?;
    let origin = origin("/api/admin/rollout/execute", ip);
    let mut attempts = 0;
    loop {
        let (version, c, judgement) = canary::judgement(&state).await?;
        if let Some(e) = expected.filter(|e| *e != version) {
            return Err(crate::store::StoreError::VersionConflict {
                expected: Some(e),
                found: Some(version),
            }
            .into());
        }
        let steps = canary::plan(c.phase, target, admin_only);
        let Some(step) = steps.first() else {
            return Err(refused(
                format!("the canary is already at {}", target.as_str()),
                &[],
            ));
        };
        if step.needs_go && judgement.decision != Decision::Go {
            return Err(refused(
                format!(
                    "{} → {} needs GO; the decision is {:?}",
                    c.phase.as_str(),
                    step.phase.as_str(),
                    judgement.decision
                ),
                &judgement.reasons,
            )
            .with_extension("decision", json!(judgement.decision))
            .with_extension("criteria", json!(judgement.criteria)));
        }
        let why = format!("rollout to {}", target.as_str());
        let precondition = (Some(version), expected.is_some());
        match canary::enter(
            &state,
            &origin,
            &session.email,
            precondition,
            step.phase,
            &why,
        )
        .await
        {
            Err(crate::store::StoreError::VersionConflict { .. })
                if expected.is_none() && attempts < 5 =>
            {
                attempts += 1;
            }
            Ok(version) => {
                crate::service::notifications::raise(
                    &state,
                    crate::service::notifications::Alert {
                        kind: "rollout.executed",
                        severity: "warning",
                        summary: format!(
                            "rollout step: {} → {} ({} %)",
                            c.phase.as_str(),
                            step.phase.as_str(),
                            step.percentage
                        ),
                        details: json!({"from": c.phase, "to": step.phase, "target": target,
                                        "version": version, "eta": eta,
                                        "actor": session.email}),
                    },
                )
                .await;
                return Ok(Json(json!({
                    "entered": step.phase,
                    "version": version,
                    "remaining": &steps[1..],
                    "decision": judgement.decision,
                    "reasons": judgement.reasons,
                    "eta": eta,
                })));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn refused(detail: String, reasons: &[String]) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "ROLLOUT_REFUSED",
        "Rollout refused",
        detail,
    )
    .with_extension("reasons", json!(reasons))
}

/// `POST /api/admin/flags/rollback` and `POST /api/phase1/rollback`: no body, or `{reason,
/// target_percentage: 0}`; never If-Match (an emergency must not race).
pub async fn rollback(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    ip: Option<Extension<ClientIp>>,
    uri: axum::http::Uri,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let mut errors = only(&body, &["reason", "target_percentage"]);
    match body.get("target_percentage") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_f64() == Some(0.0) => {}
        Some(_) => errors.push(FieldError::new(
            "target_percentage",
            "must be 0: a rollback takes every Phase-1 flag off and the canary to 0 %",
        )),
    }
    let mut why = reason(&body, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    if why.is_empty() {
        why = "emergency rollback".into();
    }
    let route = crate::http::route_for("POST", uri.path()).map_or("rollback", |r| r.path);
    Ok(Json(
        canary::rollback_all(&state, &origin(route, ip), &session.email, &why).await?,
    ))
}

/// `GET /api/phase1/status/full`: canary, flags version, metrics summary, go/no-go, stores.
pub async fn full(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let (version, c, j) = canary::judgement(&state).await?;
    let canary_status = canary::describe(&state, version, &c).await?;
    let flags_version = flags::load(state.stores.doc.as_ref()).await?.version;
    let summary = metrics::summary(&state, 60).await?;
    let action = match j.decision {
        Decision::Rollback => "roll back: POST /api/phase1/canary/evaluate does it".to_string(),
        Decision::Go => match c.phase.next() {
            Some(n) => format!(
                "advance to {} with POST /api/admin/rollout/execute",
                n.as_str()
            ),
            None => "none".into(),
        },
        Decision::Hold => "hold: keep measuring".into(),
    };
    let (doc, kv) = tokio::join!(state.stores.doc.ping(), state.stores.kv.ping());
    let store = |name: &str, r: Result<std::time::Duration, crate::store::StoreError>| match r {
        Ok(d) => json!({"backend": name, "ok": true, "latency_ms": d.as_secs_f64() * 1000.0}),
        Err(e) => json!({"backend": name, "ok": false, "error": e.to_string()}),
    };
    Ok(Json(json!({
        "canary": canary_status,
        "flags_version": flags_version,
        "metrics": summary,
        "go_no_go": {
            "criteria_met": j.criteria_met(),
            "decision": j.decision,
            "reasons": j.reasons,
            "action": action,
            "criteria": j.criteria,
        },
        "stores": {
            "document": store(state.stores.doc.backend(), doc),
            "key_value": store(state.stores.kv.backend(), kv),
        },
    })))
}
