//! A run request as the front doors give it (fixture-shaped JSON: project, ranges or preset,
//! seed, topn, objective, sample), parsed into a [`RunInput`] the engine can run as is.

use crate::error::{ErrorCode, FieldError, InputError};
use crate::levers::Ranges;
use crate::project::Project;
use crate::ruleset::Ruleset;
use serde::{Deserialize, Serialize};

/// Default seed of a run.
pub const DEFAULT_SEED: u64 = 424242;
/// Default number of ranked structures returned.
pub const DEFAULT_TOPN: u32 = 20;
/// Default guardrail on the grid size (`PHASE1_MAX_CARD`).
pub const DEFAULT_MAX_CARD: u64 = 250_000;

/// What the ranking orders by first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Score desc, then day-one value desc, then min stress DSCR desc, then index asc.
    #[default]
    Score,
    /// Day-one value desc, then score desc, then min stress DSCR desc, then index asc.
    DayOneValue,
}

impl Objective {
    /// Parses `score` or `day_one_value`.
    pub fn parse(s: &str) -> Option<Objective> {
        match s {
            "score" => Some(Objective::Score),
            "day_one_value" => Some(Objective::DayOneValue),
            _ => None,
        }
    }

    /// The objective as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Objective::Score => "score",
            Objective::DayOneValue => "day_one_value",
        }
    }
}

/// Engine options (spec §11), all on by default; each maps to a feature flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Options {
    /// Gates exclude failing structures (off: advisory).
    pub enforce_gates: bool,
    /// Repo eligibility is evaluated and REPO_ELIGIBILITY applies.
    pub repo_rules: bool,
    /// Tiers are assigned.
    pub tiering: bool,
    /// `manual` and `variations` range forms are accepted.
    pub input_hierarchy: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            enforce_gates: true,
            repo_rules: true,
            tiering: true,
            input_hierarchy: true,
        }
    }
}

/// Values given outside the request body (command-line flags) that override it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overrides {
    /// `--seed`
    pub seed: Option<u64>,
    /// `--top`
    pub topn: Option<u32>,
    /// `--objective`
    pub objective: Option<Objective>,
    /// `--sample`
    pub sample: Option<u64>,
}

/// A fully parsed run request.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInput {
    /// The validated project.
    pub project: Project,
    /// The resolved lever ranges.
    pub ranges: Ranges,
    /// The preset the ranges came from, if any.
    pub preset: Option<String>,
    /// Seed for sampling and permutation ids.
    pub seed: u64,
    /// How many ranked structures to return, 1..=100.
    pub topn: u32,
    /// Ranking objective.
    pub objective: Objective,
    /// Number of permutations to sample, when asked for.
    pub sample: Option<u64>,
    /// Engine options.
    pub options: Options,
}

impl RunInput {
    /// Parses a fixture-shaped request. Every problem in the project, the ranges and the
    /// top-level fields is reported at once. The guardrail is not checked here: see
    /// [`RunInput::check_guardrail`].
    pub fn parse(
        value: &serde_json::Value,
        overrides: &Overrides,
        options: Options,
        rules: &Ruleset,
    ) -> Result<RunInput, InputError> {
        crate::request_parse::parse_request(value, overrides, options, rules)
    }

    /// Refuses a grid above `guardrail` unless a sample is asked for (GRID_TOO_LARGE), and a
    /// sample above min(guardrail, cardinality) (VALIDATION_FAILED on `sample`).
    pub fn check_guardrail(&self, guardrail: u64) -> Result<(), InputError> {
        let card = self.ranges.cardinality();
        match self.sample {
            None if card > guardrail => Err(InputError {
                code: ErrorCode::GridTooLarge,
                detail: format!(
                    "the grid has {card} permutations, above the guardrail of {guardrail}; \
                     narrow the ranges or ask for a sample"
                ),
                errors: vec![FieldError::new(
                    "ranges",
                    format!("cardinality {card} exceeds the guardrail {guardrail}"),
                )],
            }),
            Some(k) if k < 1 || k > guardrail.min(card) => {
                Err(InputError::validation(vec![FieldError::new(
                    "sample",
                    format!(
                        "must be between 1 and {} (the smaller of the guardrail {guardrail} and \
                         the cardinality {card}), got {k}",
                        guardrail.min(card)
                    ),
                )]))
            }
            _ => Ok(()),
        }
    }
}
