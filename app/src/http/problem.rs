//! RFC 9457 problem documents for every error, with the request id of the request that
//! failed.

use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use phase1_core::error::{FieldError, InputError, Problem};
use serde::Serialize;

tokio::task_local! {
    /// The id of the request being served, set by the request-id middleware.
    pub static REQUEST_ID: String;
}

/// The current request's id ("" outside a request).
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_default()
}

/// An error answer: status, stable code, and every field problem.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable UPPER_SNAKE code.
    pub code: &'static str,
    /// Short summary of the problem type.
    pub title: &'static str,
    /// This occurrence.
    pub detail: String,
    /// Field problems.
    pub errors: Vec<FieldError>,
    /// Extra headers (Retry-After, Allow, …).
    pub headers: Vec<(&'static str, String)>,
    /// Extension members of the problem document (RFC 9457 §3.2), e.g. `invalid_keys`.
    pub extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

/// The JSON body of a problem.
#[derive(Serialize)]
struct Body<'a> {
    #[serde(flatten)]
    problem: Problem,
    request_id: &'a str,
    #[serde(flatten)]
    extensions: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    /// An error with no field problems.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            headers: Vec::new(),
            extensions: None,
        }
    }

    /// Adds an extension member to the problem document.
    pub fn with_extension(mut self, name: &str, value: serde_json::Value) -> ApiError {
        self.extensions
            .get_or_insert_with(Default::default)
            .insert(name.to_string(), value);
        self
    }

    /// Adds a field problem.
    pub fn field(mut self, field: &str, message: impl Into<String>) -> ApiError {
        self.errors.push(FieldError::new(field, message));
        self
    }

    /// 404 NOT_FOUND.
    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "Not found", what)
    }

    /// 400 MALFORMED_JSON.
    pub fn malformed(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "MALFORMED_JSON",
            "The body is not valid JSON",
            detail,
        )
    }

    /// 422 VALIDATION_FAILED with the given field problems.
    pub fn validation(errors: Vec<FieldError>) -> ApiError {
        ApiError::from(InputError::validation(errors))
    }

    /// 401 AUTH_REQUIRED.
    pub fn auth_required() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "AUTH_REQUIRED",
            "Authentication required",
            "sign in, or send a valid token",
        )
    }

    /// 403 FEATURE_DISABLED naming the flag that is off for the caller.
    pub fn feature_disabled(flag: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "FEATURE_DISABLED",
            "Feature disabled",
            format!("feature flag {flag} is off"),
        )
        .field("flag", flag)
    }

    /// 403 FORBIDDEN.
    pub fn forbidden(detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", "Forbidden", detail)
    }

    /// 500 INTERNAL.
    pub fn internal(detail: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "Internal error",
            detail,
        )
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> ApiError {
        let status =
            StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
        ApiError {
            status,
            code: e.code.as_str(),
            title: e.code.title(),
            detail: e.detail,
            errors: e.errors,
            headers: Vec::new(),
            extensions: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match &e {
            StoreError::Unavailable { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "STORE_UNAVAILABLE",
                "A store is unavailable",
                e.to_string(),
            )
            .with_header("retry-after", "5"),
            StoreError::VersionConflict { .. } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "VERSION_CONFLICT",
                "Version conflict",
                e.to_string(),
            ),
            StoreError::Duplicate { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "CONFLICT",
                "Already exists",
                e.to_string(),
            ),
            StoreError::Corrupt { .. } => ApiError::internal(e.to_string()),
        }
    }
}

impl ApiError {
    /// Adds a response header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }
}

impl ApiError {
    /// The problem document as JSON (for storing a failed run's error).
    pub fn to_problem_json(&self) -> serde_json::Value {
        let problem = Problem::new(
            self.code,
            self.status.as_u16(),
            self.title,
            self.detail.clone(),
            self.errors.clone(),
        );
        serde_json::to_value(problem).unwrap_or_default()
    }
}

/// The code and detail of an error response, carried on the response for the envelope's
/// recent-errors list (the body is not read again).
#[derive(Debug, Clone)]
pub struct ProblemSummary {
    /// The stable code.
    pub code: &'static str,
    /// The detail.
    pub detail: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = current_request_id();
        let summary = ProblemSummary {
            code: self.code,
            detail: self.detail.clone(),
        };
        let problem = Problem::new(
            self.code,
            self.status.as_u16(),
            self.title,
            self.detail,
            self.errors,
        );
        let body = serde_json::to_vec(&Body {
            problem,
            request_id: &request_id,
            extensions: self.extensions.map(|b| *b).unwrap_or_default(),
        })
        .unwrap_or_default();
        let mut res = (self.status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(name, v);
            }
        }
        res.extensions_mut().insert(summary);
        res
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
