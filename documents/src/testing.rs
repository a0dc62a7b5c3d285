//! Runs of the spec fixtures for the crate's tests.

use crate::export::Export;
use phase1_core::job::Job;
use phase1_core::request::{Options, Overrides, RunInput};
use phase1_core::ruleset::Ruleset;
use serde_json::Value;

/// The fixture `name` run in full, with a fixed finish time.
pub fn run(name: &str) -> (RunInput, Value) {
    let text = match name {
        "london-dc-alpha" => include_str!("../../fixtures/london-dc-alpha.json"),
        "medium" => include_str!("../../fixtures/medium.json"),
        "small" => include_str!("../../fixtures/small.json"),
        other => panic!("no fixture {other}"),
    };
    let request: Value = serde_json::from_str(text).unwrap();
    let rules = Ruleset::v1();
    let input =
        RunInput::parse(&request, &Overrides::default(), Options::default(), rules).unwrap();
    let job = Job::new(&input, rules);
    let mut doc = job.finish(job.judge_all(&|_| {}), 1);
    doc.provenance.started_at = Some("2026-12-01T09:00:00.000Z".into());
    doc.provenance.finished_at = Some("2026-12-01T09:00:01.500Z".into());
    (input, serde_json::to_value(doc).unwrap())
}

/// london-dc-alpha, run in full.
pub fn london_run() -> (RunInput, Value) {
    run("london-dc-alpha")
}

/// The export of london-dc-alpha's structure ranked `rank`.
pub fn london_export(rank: u64) -> Export {
    let (input, doc) = london_run();
    Export::build("run-0001-london", &doc, rank, &input, Ruleset::v1()).unwrap()
}

/// The export of medium's structure ranked `rank` (EU, repo target, mezzanine in the grid).
pub fn medium_export(rank: u64) -> Export {
    let (input, doc) = run("medium");
    Export::build("run-0002-medium", &doc, rank, &input, Ruleset::v1()).unwrap()
}

/// A structure with a 40-year monthly schedule: london-dc-alpha's project on a 40-year lease
/// from an AAA tenant, one permutation with a 40-year senior tenor, mezzanine and wrap on.
pub fn forty_year_export() -> Export {
    let mut request: Value =
        serde_json::from_str(include_str!("../../fixtures/london-dc-alpha.json")).unwrap();
    request["project"]["lease_years"] = 40.into();
    request["project"]["tenant_rating"] = "AAA".into();
    request["ranges"] = serde_json::json!({
        "senior_tenor": 40, "senior_coupon": 0.045, "senior_dscr": 1.3,
        "mezz_on": true, "wrap": true, "indexation_mode": "CPI_capped"
    });
    let rules = Ruleset::v1();
    let options = Options {
        enforce_gates: false,
        ..Options::default()
    };
    let input = RunInput::parse(&request, &Overrides::default(), options, rules).unwrap();
    let job = Job::new(&input, rules);
    let mut doc = job.finish(job.judge_all(&|_| {}), 1);
    doc.provenance.finished_at = Some("2026-12-01T09:00:01.500Z".into());
    let doc = serde_json::to_value(doc).unwrap();
    Export::build("run-0040-years", &doc, 1, &input, rules).unwrap()
}
