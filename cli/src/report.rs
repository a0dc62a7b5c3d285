//! `phase1 report daily [--date D] [--json]`: the daily report of `GET
//! /api/phase1/reports/daily`, over the stores the environment names.

use crate::admin::{invalid, with_state};
use crate::input::Failure;
use crate::{emit, print_json};
use phase1_app::service::report::{self, Day};
use std::process::ExitCode;

/// Prints the report of `date` (default: today, UTC) as Markdown, or JSON with `json`.
pub fn daily(date: Option<&str>, json: bool) -> Result<ExitCode, Failure> {
    let day = match date {
        Some(d) => Day::parse(d).map_err(|m| invalid("date", m))?,
        None => Day::of_ms(phase1_app::clock::system().now_ms()),
    };
    let report = with_state(async move |state| Ok(report::daily(&state, day).await?))?;
    if json {
        print_json(&report.to_json())?;
    } else {
        emit(&report.to_markdown())?;
    }
    Ok(ExitCode::SUCCESS)
}
