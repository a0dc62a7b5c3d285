//! Projects: validate, save, list, get, delete. Analysts see only their own.

use super::PageQuery;
use crate::http::auth::Session;
use crate::http::body::{unknown_keys, JsonObject};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::service::runs::rfc3339;
use crate::store::model::ProjectRecord;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use phase1_core::project::Project;
use serde_json::{json, Map, Value};

/// Parses `{project}` into the project and its derived preview.
fn parse(state: &AppState, body: &Map<String, Value>) -> ApiResult<(Value, Value)> {
    let mut errors = unknown_keys(body, &["project"]);
    let raw = body.get("project").cloned().unwrap_or(Value::Null);
    match Project::parse(&raw) {
        Ok(p) if errors.is_empty() => {
            let derived = serde_json::to_value(p.derive(state.rules))
                .map_err(|e| ApiError::internal(e.to_string()))?;
            Ok((raw, derived))
        }
        Ok(_) => Err(ApiError::validation(errors)),
        Err(e) => {
            errors.extend(e);
            Err(ApiError::validation(errors))
        }
    }
}

/// `POST /api/phase1/projects/validate`: a valid project is also kept as the caller's draft
/// (24 hours), the project of requests that name none.
pub async fn validate(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let (project, derived) = parse(&state, &body)?;
    state
        .stores
        .kv
        .put_draft(&session.email, &project, crate::service::runs::DRAFT_TTL)
        .await?;
    Ok(Json(json!({"valid": true, "derived": derived})))
}

/// `POST /api/phase1/projects`.
pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    JsonObject(body): JsonObject,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let (project, derived) = parse(&state, &body)?;
    let record = ProjectRecord {
        id: uuid::Uuid::new_v4().to_string(),
        owner: session.email.clone(),
        created_at: state.clock.now_ms(),
        project,
        derived: derived.clone(),
    };
    state.stores.doc.save_project(&record).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"project_id": record.id, "derived": derived})),
    ))
}

fn render(p: &ProjectRecord) -> Value {
    json!({
        "project_id": p.id,
        "owner": p.owner,
        "title": p.project["title"],
        "created_at": rfc3339(p.created_at),
        "project": p.project,
        "derived": p.derived,
    })
}

/// `GET /api/phase1/projects`.
pub async fn list(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    let page = q.page();
    let rows = state
        .stores
        .doc
        .list_projects(session.owner_filter(), page)
        .await?;
    Ok(Json(json!({
        "projects": rows.iter().map(render).collect::<Vec<_>>(),
        "offset": page.offset,
        "limit": page.limit,
    })))
}

async fn visible(state: &AppState, session: &Session, id: &str) -> ApiResult<ProjectRecord> {
    match state.stores.doc.get_project(id).await? {
        Some(p) if session.may_see(&p.owner) => Ok(p),
        _ => Err(ApiError::not_found(format!("no project {id:?}"))),
    }
}

/// `GET /api/phase1/projects/{id}`.
pub async fn get(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(render(&visible(&state, &session, &id).await?)))
}

/// `DELETE /api/phase1/projects/{id}`.
pub async fn remove(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    visible(&state, &session, &id).await?;
    state.stores.doc.delete_project(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
