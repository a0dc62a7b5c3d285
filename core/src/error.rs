//! Input errors: every problem with a request, each naming its field, reported at once.
//!
//! The engine never fails once its input has been parsed; everything that can go wrong is
//! found while parsing the project, the ranges and the run options, and is returned as an
//! [`InputError`] that front doors render as an RFC 9457 problem document.

use serde::Serialize;
use std::fmt;

/// One problem with one field. `field` follows the spec's paths: `project.<field>`,
/// `ranges.<lever>`, or a top-level name (`seed`, `topn`, `sample`, `objective`, `ranges`,
/// `preset`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Path of the offending field.
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The stable error codes the engine can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// One or more fields are invalid (HTTP 422).
    ValidationFailed,
    /// The grid is larger than the guardrail and no sample was asked for (HTTP 413).
    GridTooLarge,
}

impl ErrorCode {
    /// The code as written in problem documents.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ValidationFailed => "VALIDATION_FAILED",
            ErrorCode::GridTooLarge => "GRID_TOO_LARGE",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::ValidationFailed => 422,
            ErrorCode::GridTooLarge => 413,
        }
    }

    /// A short human title for the code.
    pub fn title(self) -> &'static str {
        match self {
            ErrorCode::ValidationFailed => "The request is invalid",
            ErrorCode::GridTooLarge => "The grid is larger than the guardrail",
        }
    }
}

/// A refused request: a code, a summary and every field problem found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputError {
    /// What kind of refusal this is.
    pub code: ErrorCode,
    /// One sentence for a person.
    pub detail: String,
    /// Every problem found, in input order.
    pub errors: Vec<FieldError>,
}

impl InputError {
    /// A validation failure listing `errors`.
    pub fn validation(errors: Vec<FieldError>) -> InputError {
        let detail = match errors.len() {
            1 => "1 field is invalid".to_string(),
            n => format!("{n} fields are invalid"),
        };
        InputError {
            code: ErrorCode::ValidationFailed,
            detail,
            errors,
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.detail)?;
        for e in &self.errors {
            write!(f, "\n  {}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

/// An RFC 9457 problem document, as the front doors print or send it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status that goes with it.
    pub status: u16,
    /// This occurrence, for a person.
    pub detail: String,
    /// Stable UPPER_SNAKE code.
    pub code: String,
    /// Every field problem.
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem with an explicit code and status.
    pub fn new(
        code: &str,
        status: u16,
        title: &str,
        detail: String,
        errors: Vec<FieldError>,
    ) -> Problem {
        Problem {
            kind: format!(
                "urn:phase1:problem:{}",
                code.to_ascii_lowercase().replace('_', "-")
            ),
            title: title.to_string(),
            status,
            detail,
            code: code.to_string(),
            errors,
        }
    }
}

impl From<&InputError> for Problem {
    fn from(e: &InputError) -> Problem {
        Problem::new(
            e.code.as_str(),
            e.code.http_status(),
            e.code.title(),
            e.detail.clone(),
            e.errors.clone(),
        )
    }
}
