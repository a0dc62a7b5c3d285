//! Near-miss hints are advice that works: applying a hint whose effect the spec makes certain
//! clears the rule it is about, and every hint names the lever's current value as `from`.

use phase1_core::job::{self, Job};
use phase1_core::request::{Options, Overrides, RunInput};
use phase1_core::ruleset::Ruleset;
use serde_json::{json, Value};

fn parse(doc: &Value) -> RunInput {
    RunInput::parse(
        doc,
        &Overrides::default(),
        Options::default(),
        Ruleset::v1(),
    )
    .expect("valid")
}

/// The rule's result after moving one lever of a structure to the hinted value.
fn rule_after_hint(
    fixture: &Value,
    levers: &Value,
    lever: &str,
    to: &Value,
    rule: &str,
) -> Option<Value> {
    let mut doc = fixture.clone();
    doc.as_object_mut().expect("object").remove("preset");
    let mut ranges = json!({});
    for (k, v) in levers.as_object().expect("levers") {
        ranges[k] = json!([if k == lever { to.clone() } else { v.clone() }]);
    }
    doc["ranges"] = ranges;
    let input = parse(&doc);
    let out = serde_json::to_value(Job::new(&input, Ruleset::v1()).evaluate(0).expect("one"))
        .expect("json");
    out["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["rule"] == rule)
        .cloned()
}

fn check_fixture(text: &str) -> usize {
    let fixture: Value = serde_json::from_str(text).expect("json");
    let input = parse(&fixture);
    let run = serde_json::to_value(job::run(&input, Ruleset::v1(), &|_| {})).expect("json");
    let mut checked = 0;
    for nm in run["near_misses"].as_array().expect("near-misses") {
        let Some(hint) = nm["hint"].as_object() else {
            continue;
        };
        let levers = &nm["structure"]["levers"];
        let lever = hint["lever"].as_str().expect("lever");
        assert_eq!(
            &levers[lever], &hint["from"],
            "from is the current value: {nm}"
        );
        assert_ne!(&hint["from"], &hint["to"], "a hint moves the lever: {nm}");
        let rule = nm["rule"].as_str().expect("rule");
        let certain = matches!(
            (rule, lever),
            ("TENOR_CAP", _)
                | ("MIN_DSCR_SENIOR", _)
                | ("ZCIS_TENOR", _)
                | ("MAX_WAL", "senior_tenor")
        );
        let after = rule_after_hint(&fixture, levers, lever, &hint["to"], rule);
        if rule == "WRAP_ELIGIBILITY" {
            assert!(after.is_none(), "without a wrap the rule does not apply");
            checked += 1;
        } else if certain {
            let after = after.expect("rule still applies");
            assert_eq!(
                after["passed"], true,
                "hint {hint:?} does not clear {rule}: {after}"
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn hints_clear_their_rules_on_the_fixtures() {
    let checked = check_fixture(include_str!("../../fixtures/medium.json"))
        + check_fixture(include_str!("../../fixtures/large.json"))
        + check_fixture(include_str!("../../fixtures/small.json"));
    assert!(
        checked > 0,
        "the fixtures hold near-misses with certain hints"
    );
}

#[test]
fn hints_on_a_project_built_to_miss() {
    // A BBB tenant in the EU: floor 1.35, tenor cap 18; a 20y tenor, DSCR 1.30 and an 18y hedge
    // each miss by a little.
    let doc = json!({
        "project": {"title": "Misses", "country": "EU", "currency": "EUR", "gross_it_load_mw": 20,
            "pue": 1.2, "lease_years": 25, "tenant_rating": "BBB", "gross_monthly_rent": 2400000,
            "opex_pct": 0.2, "capex_cost_per_mw": 9000000, "min_coverage": 0.3},
        "ranges": {"senior_tenor": [15, 20], "senior_coupon": 0.05, "senior_dscr": [1.30, 1.40],
            "zcis_tenor_years": [10, 18]}
    });
    let run = serde_json::to_value(job::run(&parse(&doc), Ruleset::v1(), &|_| {})).expect("json");
    let mut rules: Vec<(String, Value)> = run["near_misses"]
        .as_array()
        .expect("near-misses")
        .iter()
        .map(|n| {
            (
                n["rule"].as_str().unwrap_or("").to_string(),
                n["hint"].clone(),
            )
        })
        .collect();
    rules.sort_by(|a, b| a.0.cmp(&b.0));
    rules.dedup_by(|a, b| a.0 == b.0);
    let find = |r: &str| rules.iter().find(|(k, _)| k == r).map(|(_, h)| h.clone());
    assert_eq!(
        find("TENOR_CAP"),
        Some(json!({"lever": "senior_tenor", "from": 20, "to": 18}))
    );
    assert_eq!(
        find("MIN_DSCR_SENIOR"),
        Some(json!({"lever": "senior_dscr", "from": 1.30, "to": 1.35}))
    );
    assert_eq!(
        find("ZCIS_TENOR").map(|h| h["to"].clone()),
        Some(json!(15)),
        "an 18y hedge on a 15y tenor is cut to 15y"
    );
}
