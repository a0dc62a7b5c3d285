//! Presets, applying a preset to a saved project, and cardinality reports.

use crate::http::auth::Session;
use crate::http::body::{unknown_keys, JsonObject};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::service::flags::Evaluated;
use crate::service::runs::{self, shard_ranges, CurrentProject, ProjectSource};
use axum::extract::State;
use axum::{Extension, Json};
use phase1_core::error::FieldError;
use phase1_core::levers::{Lever, Ranges};
use phase1_core::presets;
use phase1_core::project::Project;
use serde_json::{json, Value};

/// `GET /api/phase1/permutations/presets`.
pub async fn presets() -> Json<Value> {
    Json(presets::all_presets_json())
}

/// Resolved ranges in input form (lists), ready to post back to `/run`.
pub fn ranges_json(r: &Ranges) -> Value {
    let v = serde_json::to_value(r).unwrap_or_default();
    let mut out = serde_json::Map::new();
    for lever in Lever::ALL {
        out.insert(lever.name().into(), v[lever.name()]["values"].clone());
    }
    Value::Object(out)
}

/// `POST /api/phase1/permutations/apply-preset` `{project_id, preset}`; without a project id,
/// the caller's current project (draft, else the newest saved).
pub async fn apply_preset(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let mut errors = unknown_keys(&body, &["project_id", "preset"]);
    let id = match body.get("project_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.as_str()),
        Some(_) => {
            errors.push(FieldError::new("project_id", "must be a string"));
            None
        }
    };
    let name = body.get("preset").and_then(Value::as_str);
    if name.is_none() {
        errors.push(FieldError::new(
            "preset",
            format!("is required: one of {}", presets::PRESET_NAMES.join(", ")),
        ));
    }
    let (Some(name), true) = (name, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let (project_id, project, source) = match id {
        Some(id) => match state.stores.doc.get_project(id).await? {
            Some(p) if session.may_see(&p.owner) => {
                (Some(p.id), p.project, ProjectSource::ProjectId)
            }
            _ => return Err(ApiError::not_found(format!("no project {id:?}"))),
        },
        None => match runs::current_project(&state, &session.email).await? {
            Some(CurrentProject::Draft(p)) => (None, p, ProjectSource::Draft),
            Some(CurrentProject::Saved(p)) => (Some(p.id), p.project, ProjectSource::LatestProject),
            None => return Err(ApiError::validation(vec![runs::no_current_project()])),
        },
    };
    let project = Project::parse(&project).map_err(ApiError::validation)?;
    let ranges = presets::resolve_preset(name, project.derive(state.rules).tenor_cap)
        .map_err(|e| ApiError::validation(vec![e]))?;
    Ok(Json(json!({
        "project_id": project_id,
        "project_source": source.as_str(),
        "preset": name,
        "ranges": ranges_json(&ranges),
        "cardinality": ranges.cardinality(),
    })))
}

/// `POST /api/phase1/permutations/cardinality` `{project_id | project | fixture, ranges | preset}`.
pub async fn cardinality(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Extension(flags): Extension<Evaluated>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let allowed = [
        "project_id",
        "project",
        "fixture",
        "ranges",
        "preset",
        "sample",
    ];
    let p = runs::prepare(&state, &session, &body, &flags, &allowed).await?;
    let r = &p.input.ranges;
    let levers: Vec<Value> = Lever::ALL
        .iter()
        .zip(r.counts())
        .zip(r.sources())
        .map(|((l, count), source)| json!({"name": l.name(), "count": count, "source": source}))
        .collect();
    let card = r.cardinality();
    let guardrail = state.config.engine.max_card;
    let evaluated = p.input.sample.unwrap_or(card).min(card);
    Ok(Json(json!({
        "cardinality": card,
        "levers": levers,
        "guardrail": guardrail,
        "over_guardrail": card > guardrail,
        "shards": shard_ranges(evaluated, state.config.engine.shard_size).len(),
        "project_source": p.project_source.as_str(),
    })))
}
