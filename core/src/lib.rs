//! # Phase-1 core: the structuring engine
//!
//! Pure, synchronous and deterministic: no I/O, no clock, no environment. It takes a
//! validated project, resolved lever ranges, options and a seed, and returns results.
//!
//! Modules, in the order data flows through them:
//! - Input: [`request`], [`project`], [`levers`], [`presets`] parse a request into types that
//!   cannot be invalid; [`error`] holds the field errors and the problem document.
//! - Rules: [`ruleset`] (compiled-in data with typed accessors and integrity checks),
//!   [`rating`], [`rules`] (rule keys), [`tol`] (the 1e-9 tolerance and rounding).
//! - Money: [`finance`] (period-generic sizing and schedules), [`cashflow`] (CFADS and the
//!   sidecar by lease year), [`discount`] (per-year discount tables).
//! - Judging one permutation: [`kernel`] (per-request [`kernel::Context`] and sizing),
//!   [`assess`] (rating, repo, score, tier), [`gates`], [`hints`], [`engine`].
//! - Running a grid: [`run`] (plan, ranking, mergeable partials), [`job`] (the entry points
//!   front doors call), [`document`] (the output documents), [`hash`] (stable ids).

#![deny(missing_docs)]

pub mod assess;
pub mod cashflow;
pub mod discount;
pub mod document;
pub mod engine;
pub mod error;
pub mod finance;
pub mod gates;
pub mod hash;
pub mod hints;
pub mod job;
pub mod kernel;
pub mod levers;
pub mod presets;
pub mod project;
mod project_parse;
mod ranges_parse;
pub mod rating;
pub mod request;
mod request_parse;
pub mod rules;
pub mod ruleset;
pub mod run;
pub mod tol;

/// The engine version recorded in every run's provenance.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
