//! Documents: term sheets (PDF, XLSX, Markdown) by POST and by URL, and a run's top-N as
//! CSV. Parses the request, calls `service::documents`, answers the bytes with their media
//! type and an attachment file name.

use crate::http::auth::Session;
use crate::http::body::{unknown_keys, JsonObject};
use crate::http::problem::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::service::documents::{self, Document, DocumentError, Viewer};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use phase1_core::error::FieldError;
use phase1_documents::Format;
use serde_json::Value;

/// The fields of a term-sheet request.
pub const TERM_SHEET_FIELDS: &[&str] = &["run_id", "structure_rank", "format"];

impl From<DocumentError> for ApiError {
    fn from(e: DocumentError) -> ApiError {
        let detail = e.to_string();
        match e {
            DocumentError::NoRun(_) => ApiError::not_found(detail),
            DocumentError::NotFinished { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "RUN_NOT_FINISHED",
                "The run has not finished",
                detail,
            ),
            DocumentError::Rank(_) => {
                ApiError::not_found(detail.clone()).field("structure_rank", detail)
            }
            DocumentError::NotServedHere => ApiError::new(
                StatusCode::NOT_IMPLEMENTED,
                "NOT_SERVED_HERE",
                "Not served by this function",
                detail,
            ),
            DocumentError::Store(e) => e.into(),
            DocumentError::Internal(why) => ApiError::internal(why),
        }
    }
}

fn viewer(session: &Session) -> Viewer<'_> {
    Viewer {
        email: &session.email,
        admin: session.is_admin(),
    }
}

/// The document as an attachment.
fn attachment(doc: Document) -> Response {
    let mut res = (StatusCode::OK, doc.bytes).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(doc.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", doc.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    res
}

fn format_error(given: &str) -> FieldError {
    FieldError::new(
        "format",
        format!(
            "{given:?} is not a document format (formats: {})",
            Format::names()
        ),
    )
}

/// A rank as the API takes it: an integer ≥ 1.
fn rank_error() -> FieldError {
    FieldError::new("structure_rank", "must be an integer of at least 1")
}

/// `POST /api/phase1/documents/term-sheet`: `{run_id?, structure_rank = 1, format = "pdf"}`.
pub async fn term_sheet(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let mut errors = unknown_keys(&body, TERM_SHEET_FIELDS);
    let run_id = match body.get("run_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(FieldError::new("run_id", "must be a string"));
            None
        }
    };
    let rank = match body.get("structure_rank") {
        None | Some(Value::Null) => Some(1),
        Some(v) => match v.as_u64().or_else(|| integral(v)) {
            Some(r) if r >= 1 => Some(r),
            _ => {
                errors.push(rank_error());
                None
            }
        },
    };
    let format = match body.get("format") {
        None | Some(Value::Null) => Some(Format::Pdf),
        Some(Value::String(s)) => Format::parse(s).or_else(|| {
            errors.push(format_error(s));
            None
        }),
        Some(_) => {
            errors.push(FieldError::new(
                "format",
                format!("must be a string, one of: {}", Format::names()),
            ));
            None
        }
    };
    match (rank, format) {
        (Some(rank), Some(format)) if errors.is_empty() => {
            let doc =
                documents::term_sheet(&state, viewer(&session), run_id.as_deref(), rank, format)
                    .await?;
            Ok(attachment(doc))
        }
        _ => Err(ApiError::validation(errors)),
    }
}

/// An integral JSON float (`2.0`) as an integer, as the engine accepts integers.
fn integral(v: &Value) -> Option<u64> {
    v.as_f64()
        .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f <= u32::MAX as f64)
        .map(|f| f as u64)
}

/// `GET /api/phase1/runs/{run_id}/structures/{rank}/term-sheet.{pdf|xlsx|md}`.
pub async fn term_sheet_by_url(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((run_id, rank, document)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let Some(ext) = document.strip_prefix("term-sheet.") else {
        return Err(ApiError::not_found(format!(
            "no document {document:?}: documents are term-sheet.{{{}}}",
            Format::names().replace(", ", ",")
        )));
    };
    let mut errors = Vec::new();
    let rank = match rank.parse::<u64>() {
        Ok(r) if r >= 1 => Some(r),
        _ => {
            errors.push(rank_error());
            None
        }
    };
    let format = Format::parse(ext).or_else(|| {
        errors.push(format_error(ext));
        None
    });
    match (rank, format) {
        (Some(rank), Some(format)) => {
            let doc = documents::term_sheet(&state, viewer(&session), Some(&run_id), rank, format)
                .await?;
            Ok(attachment(doc))
        }
        _ => Err(ApiError::validation(errors)),
    }
}

/// `GET /api/phase1/runs/{run_id}/top.csv`.
pub async fn top_csv(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(run_id): Path<String>,
) -> ApiResult<Response> {
    Ok(attachment(
        documents::top_csv(&state, viewer(&session), &run_id).await?,
    ))
}
