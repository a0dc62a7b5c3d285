//! # Phase-1 core: the structuring engine
//!
//! Pure, synchronous and deterministic: no I/O, no clock, no environment. It takes a
//! validated project, resolved lever ranges, options and a seed, and returns results.
//!
//! Modules, in the order data flows through them:
//! - [`request`], [`project`], [`levers`], [`presets`]: parse input into types that cannot
//!   be invalid ([`error`] holds the field errors).
//! - [`ruleset`]: the versioned ruleset, compiled in as data, with its integrity checks.
//! - [`rating`], [`tol`], [`hash`]: the rating scale, threshold tolerance, stable hashes.
//! - [`rules`]: rule keys and gates.

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
