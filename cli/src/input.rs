//! Reading requests and settings, and reporting failures as problem documents.

use phase1_core::error::{FieldError, InputError, Problem};
use phase1_core::request::{Options, Overrides, RunInput, DEFAULT_MAX_CARD};
use phase1_core::ruleset::Ruleset;

/// Why a command could not do its job: a problem document (boxed: it is large and rare).
pub struct Failure(Box<Problem>);

impl Failure {
    /// A failure that is no fault of the input (printing failed, say).
    pub fn internal(e: impl std::fmt::Display) -> Failure {
        Failure(Box::new(Problem::new(
            "INTERNAL",
            500,
            "Internal error",
            e.to_string(),
            Vec::new(),
        )))
    }

    /// Command-line arguments clap refused.
    pub fn arguments(kind: &str, message: String) -> Failure {
        let detail = message
            .lines()
            .next()
            .unwrap_or(kind)
            .trim_start_matches("error: ")
            .to_string();
        problem(
            "INVALID_ARGUMENTS",
            400,
            "The command line is invalid",
            "arguments",
            detail,
        )
    }

    /// A failure the app reported as a problem document.
    pub fn problem(p: Problem) -> Failure {
        Failure(Box::new(p))
    }

    /// Invalid configuration: every variable's problem.
    pub fn config(errors: &[phase1_app::config::ConfigError]) -> Failure {
        Failure(Box::new(Problem::new(
            "CONFIG_INVALID",
            500,
            "A setting is invalid",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            errors
                .iter()
                .map(|e| FieldError::new(e.variable, e.message.clone()))
                .collect(),
        )))
    }

    /// Prints the failure on stderr: a problem document with `json`, else readable text.
    pub fn report(&self, json: bool) {
        use std::io::Write;
        let p = &self.0;
        let text = if json {
            serde_json::to_string_pretty(p).unwrap_or_else(|_| format!("{}: {}", p.code, p.detail))
        } else {
            let mut text = format!("error: {} ({})", p.detail, p.code);
            for e in &p.errors {
                text += &format!("\n  {}: {}", e.field, e.message);
            }
            text
        };
        // Nothing more can be done when stderr itself is closed.
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Failure {
        Failure(Box::new(Problem::from(&e)))
    }
}

pub(crate) fn problem(
    code: &str,
    status: u16,
    title: &str,
    field: &str,
    message: String,
) -> Failure {
    Failure(Box::new(Problem::new(
        code,
        status,
        title,
        message.clone(),
        vec![FieldError::new(field, message)],
    )))
}

/// Reads and parses a fixture-shaped request file.
pub fn load_request(
    path: &str,
    overrides: &Overrides,
    options: Options,
    rules: &Ruleset,
) -> Result<RunInput, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        problem(
            "FILE_UNREADABLE",
            400,
            "The file cannot be read",
            "file",
            format!("{path}: {e}"),
        )
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        problem(
            "MALFORMED_JSON",
            400,
            "The file is not valid JSON",
            "file",
            format!("{path}: {e}"),
        )
    })?;
    Ok(RunInput::parse(&value, overrides, options, rules)?)
}

/// The guardrail: `PHASE1_MAX_CARD`, a positive integer, default 250,000.
pub fn guardrail() -> Result<u64, Failure> {
    match std::env::var("PHASE1_MAX_CARD") {
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_MAX_CARD),
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(config_error(format!(
                "must be a positive integer, got {v:?}"
            ))),
        },
        Err(e) => Err(config_error(e.to_string())),
    }
}

fn config_error(message: String) -> Failure {
    problem(
        "CONFIG_INVALID",
        500,
        "A setting is invalid",
        "PHASE1_MAX_CARD",
        message,
    )
}

/// A rayon pool with `threads` workers (default: one per core).
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Failure> {
    if threads == Some(0) {
        return Err(problem(
            "VALIDATION_FAILED",
            422,
            "The request is invalid",
            "threads",
            "must be at least 1".into(),
        ));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(Failure::internal)
}
