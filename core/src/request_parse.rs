//! Parsing a fixture-shaped run request: `{project, ranges | preset, seed, topn, objective,
//! sample}`. Every problem — project first, then ranges or preset, then the top-level
//! fields — is reported in one [`InputError`]. Command-line overrides replace the
//! document's values, which are then not read.

use crate::error::{FieldError, InputError};
use crate::levers::Ranges;
use crate::presets::{resolve_preset, PRESET_NAMES};
use crate::project::Project;
use crate::project_parse::{integer, shown};
use crate::ranges_parse::parse_ranges;
use crate::request::{Objective, Options, Overrides, RunInput, DEFAULT_SEED, DEFAULT_TOPN};
use crate::ruleset::Ruleset;
use serde_json::{Map, Value};

/// The keys a request document may hold.
const KEYS: [&str; 7] = [
    "project",
    "ranges",
    "preset",
    "seed",
    "topn",
    "objective",
    "sample",
];

/// A top-level field's value; `None` when absent or null.
fn field<'a>(doc: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    doc.get(name).filter(|v| !v.is_null())
}

fn project(doc: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Project> {
    let Some(v) = field(doc, "project") else {
        errors.push(FieldError::new("project", "is required"));
        return None;
    };
    Project::parse(v).map_err(|e| errors.extend(e)).ok()
}

/// The ranges, given directly or through a preset, and the preset's name.
fn grid(
    doc: &Map<String, Value>,
    tenor_cap: Option<u32>,
    hierarchy: bool,
    errors: &mut Vec<FieldError>,
) -> Option<(Ranges, Option<String>)> {
    match (field(doc, "ranges"), field(doc, "preset")) {
        (Some(r), None) => parse_ranges(r, hierarchy)
            .map_err(|e| errors.extend(e))
            .ok()
            .map(|r| (r, None)),
        (None, Some(p)) => preset(p, tenor_cap, errors).map(|(r, n)| (r, Some(n))),
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                "ranges",
                "give either ranges or preset, not both",
            ));
            None
        }
        (None, None) => {
            errors.push(FieldError::new(
                "ranges",
                "one of ranges or preset is required",
            ));
            None
        }
    }
}

/// Resolves a preset by name. Without a valid project (no tenor_cap) only the name is
/// checked.
fn preset(
    v: &Value,
    tenor_cap: Option<u32>,
    errors: &mut Vec<FieldError>,
) -> Option<(Ranges, String)> {
    let Some(name) = v.as_str() else {
        errors.push(FieldError::new(
            "preset",
            format!(
                "must be a string naming a preset ({}), got {}",
                PRESET_NAMES.join(", "),
                shown(v)
            ),
        ));
        return None;
    };
    match resolve_preset(name, tenor_cap.unwrap_or(u32::MAX)) {
        Ok(r) => Some((r, name.to_string())),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// An optional integer field within `lo..=hi`; `None` when absent or invalid (recorded).
fn bounded_integer(
    doc: &Map<String, Value>,
    name: &str,
    lo: u64,
    hi: u64,
    errors: &mut Vec<FieldError>,
) -> Option<u64> {
    let v = field(doc, name)?;
    let n = integer(v).filter(|n| (i128::from(lo)..=i128::from(hi)).contains(n));
    if n.is_none() {
        let range = if hi == u64::MAX {
            format!("≥ {lo}")
        } else {
            format!("between {lo} and {hi}")
        };
        errors.push(FieldError::new(
            name,
            format!("must be an integer {range}, got {}", shown(v)),
        ));
    }
    n.and_then(|n| u64::try_from(n).ok())
}

fn objective(doc: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Objective> {
    let v = field(doc, "objective")?;
    let o = v.as_str().and_then(Objective::parse);
    if o.is_none() {
        errors.push(FieldError::new(
            "objective",
            format!("must be \"score\" or \"day_one_value\", got {}", shown(v)),
        ));
    }
    o
}

fn unknown_keys(doc: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    for k in doc.keys().filter(|k| !KEYS.contains(&k.as_str())) {
        errors.push(FieldError::new(
            k.clone(),
            format!("is not a known request field (fields: {})", KEYS.join(", ")),
        ));
    }
}

/// An override (command-line flag) within `lo..=hi`; out of range is recorded.
fn checked_override(
    name: &str,
    n: u64,
    lo: u64,
    hi: u64,
    errors: &mut Vec<FieldError>,
) -> Option<u64> {
    if (lo..=hi).contains(&n) {
        return Some(n);
    }
    let range = if hi == u64::MAX {
        format!("≥ {lo}")
    } else {
        format!("between {lo} and {hi}")
    };
    errors.push(FieldError::new(
        name,
        format!("must be an integer {range}, got {n}"),
    ));
    None
}

/// The run settings: seed, topn, objective, sample (overrides first).
struct Settings {
    seed: u64,
    topn: u32,
    objective: Objective,
    sample: Option<u64>,
}

fn settings(doc: &Map<String, Value>, ov: &Overrides, errors: &mut Vec<FieldError>) -> Settings {
    let seed = ov
        .seed
        .or_else(|| bounded_integer(doc, "seed", 0, u64::MAX, errors));
    let topn = match ov.topn {
        Some(n) => checked_override("topn", u64::from(n), 1, 100, errors).map(|_| n),
        None => bounded_integer(doc, "topn", 1, 100, errors).and_then(|n| u32::try_from(n).ok()),
    };
    let objective = ov.objective.or_else(|| objective(doc, errors));
    let sample = match ov.sample {
        Some(k) => checked_override("sample", k, 1, u64::MAX, errors),
        None => bounded_integer(doc, "sample", 1, u64::MAX, errors),
    };
    Settings {
        seed: seed.unwrap_or(DEFAULT_SEED),
        topn: topn.unwrap_or(DEFAULT_TOPN),
        objective: objective.unwrap_or_default(),
        sample,
    }
}

/// Parses a request document with `overrides` applied; every problem is reported at once.
pub(crate) fn parse_request(
    value: &Value,
    overrides: &Overrides,
    options: Options,
    rules: &Ruleset,
) -> Result<RunInput, InputError> {
    let Value::Object(doc) = value else {
        return Err(InputError::validation(vec![FieldError::new(
            "request",
            format!("must be an object, got {}", shown(value)),
        )]));
    };
    let mut errors = Vec::new();
    let project = project(doc, &mut errors);
    let tenor_cap = project.as_ref().map(|p| p.derive(rules).tenor_cap);
    let grid = grid(doc, tenor_cap, options.input_hierarchy, &mut errors);
    let s = settings(doc, overrides, &mut errors);
    unknown_keys(doc, &mut errors);
    match (project, grid) {
        (Some(project), Some((ranges, preset))) if errors.is_empty() => Ok(RunInput {
            project,
            ranges,
            preset,
            seed: s.seed,
            topn: s.topn,
            objective: s.objective,
            sample: s.sample,
            options,
        }),
        _ => Err(InputError::validation(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::levers::Source;
    use serde_json::json;

    fn parse(v: &Value) -> Result<RunInput, InputError> {
        parse_request(v, &Overrides::default(), Options::default(), Ruleset::v1())
    }

    fn fixture(text: &str) -> Value {
        serde_json::from_str(text).expect("fixture JSON")
    }

    fn london() -> Value {
        fixture(include_str!("../../fixtures/london-dc-alpha.json"))
    }

    fn small() -> Value {
        fixture(include_str!("../../fixtures/small.json"))
    }

    fn fields(v: &Value) -> Vec<String> {
        let e = parse(v).expect_err("the request should be invalid");
        e.errors.into_iter().map(|e| e.field).collect()
    }

    /// Asserts exactly one error, on `field`, whose message contains `says`.
    fn assert_one(v: &Value, field: &str, says: &str) {
        let e = parse(v).expect_err("the request should be invalid");
        assert_eq!(e.errors.len(), 1, "{e}");
        assert_eq!(e.errors[0].field, field, "{e}");
        assert!(e.errors[0].message.contains(says), "{e}");
    }

    #[test]
    fn every_fixture_parses() {
        let l = parse(&london()).expect("london");
        assert_eq!(l.ranges.cardinality(), 1920);
        assert_eq!(l.preset, None);
        assert_eq!(
            (l.seed, l.topn, l.objective, l.sample),
            (424242, 20, Objective::Score, None)
        );
        assert_eq!(l.options, Options::default());
        let s = parse(&small()).expect("small");
        assert_eq!(s.preset.as_deref(), Some("balanced"));
        assert_eq!(s.ranges.senior_tenor.values, [10, 12]);
        assert_eq!(s.ranges.cardinality(), 864);
        let m = parse(&fixture(include_str!("../../fixtures/medium.json"))).expect("medium");
        assert_eq!(m.ranges.cardinality(), 19_008);
        let g = parse(&fixture(include_str!("../../fixtures/large.json"))).expect("large");
        assert_eq!(g.ranges.cardinality(), 205_632);
    }

    #[test]
    fn absent_settings_take_defaults() {
        let mut v = london();
        for k in ["seed", "topn"] {
            v.as_object_mut().expect("object").remove(k);
        }
        v["objective"] = Value::Null;
        let r = parse(&v).expect("ok");
        assert_eq!(
            (r.seed, r.topn, r.objective),
            (DEFAULT_SEED, DEFAULT_TOPN, Objective::Score)
        );
    }

    #[test]
    fn explicit_settings_are_kept() {
        let mut v = london();
        v["seed"] = json!(7.0);
        v["topn"] = json!(100);
        v["objective"] = json!("day_one_value");
        v["sample"] = json!(1_000_000);
        let r = parse(&v).expect("ok");
        assert_eq!(
            (r.seed, r.topn, r.objective),
            (7, 100, Objective::DayOneValue)
        );
        assert_eq!(
            r.sample,
            Some(1_000_000),
            "the sample's upper bound is checked later"
        );
        v["seed"] = json!(u64::MAX);
        assert_eq!(parse(&v).expect("ok").seed, u64::MAX);
    }

    #[test]
    fn overrides_replace_the_document_and_skip_its_checks() {
        let mut v = london();
        v["seed"] = json!(-1);
        v["topn"] = json!(0);
        v["objective"] = json!("nope");
        v["sample"] = json!(0);
        let ov = Overrides {
            seed: Some(1),
            topn: Some(5),
            objective: Some(Objective::DayOneValue),
            sample: Some(10),
        };
        let r = parse_request(&v, &ov, Options::default(), Ruleset::v1()).expect("ok");
        assert_eq!(
            (r.seed, r.topn, r.objective, r.sample),
            (1, 5, Objective::DayOneValue, Some(10))
        );
    }

    #[test]
    fn overrides_out_of_range_are_errors() {
        let ov = Overrides {
            topn: Some(101),
            sample: Some(0),
            ..Overrides::default()
        };
        let e = parse_request(&london(), &ov, Options::default(), Ruleset::v1()).expect_err("bad");
        let fields: Vec<&str> = e.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["topn", "sample"]);
        assert!(e.errors[0].message.contains("between 1 and 100"));
    }

    #[test]
    fn options_pass_through_and_gate_the_input_hierarchy() {
        let mut v = london();
        v["ranges"]["senior_dscr"] = json!({"manual": 1.3});
        let off = Options {
            input_hierarchy: false,
            ..Options::default()
        };
        let e = parse_request(&v, &Overrides::default(), off, Ruleset::v1()).expect_err("off");
        assert_eq!(e.errors[0].field, "ranges.senior_dscr");
        let on = Options {
            tiering: false,
            ..Options::default()
        };
        let r = parse_request(&v, &Overrides::default(), on, Ruleset::v1()).expect("on");
        assert_eq!(r.ranges.senior_dscr.source, Source::Manual);
        assert_eq!(r.options, on);
    }

    #[test]
    fn non_object_request_is_an_error() {
        let e = parse(&json!([1])).expect_err("not an object");
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.errors[0].field, "request");
    }

    #[test]
    fn unknown_top_level_keys_are_errors() {
        let mut v = london();
        v["topN"] = json!(5);
        assert_one(&v, "topN", "not a known request field");
    }

    #[test]
    fn project_is_required() {
        let mut v = london();
        v.as_object_mut().expect("object").remove("project");
        assert_one(&v, "project", "is required");
        let mut v = london();
        v["project"] = json!("London");
        assert_one(&v, "project", "must be an object");
    }

    #[test]
    fn exactly_one_of_ranges_and_preset() {
        let mut both = london();
        both["preset"] = json!("balanced");
        assert_one(&both, "ranges", "not both");
        let mut neither = london();
        neither.as_object_mut().expect("object").remove("ranges");
        assert_one(&neither, "ranges", "is required");
        let mut bad = london();
        bad["ranges"] = json!([1]);
        assert_one(&bad, "ranges", "must be an object");
    }

    #[test]
    fn preset_errors() {
        let mut v = small();
        v["preset"] = json!("aggressive");
        assert_one(&v, "preset", "repo_first, balanced, value_max");
        v["preset"] = json!(3);
        assert_one(&v, "preset", "must be a string");
        let mut short = small();
        short["project"]["lease_years"] = json!(10); // tenor_cap 8: no balanced tenor left
        assert_one(&short, "preset", "tenor_cap of 8");
    }

    #[test]
    fn unknown_preset_is_reported_even_with_an_invalid_project() {
        let mut v = small();
        v["preset"] = json!("aggressive");
        v["project"]["pue"] = json!(9);
        assert_eq!(fields(&v), ["project.pue", "preset"]);
        v["preset"] = json!("balanced");
        assert_eq!(fields(&v), ["project.pue"]);
    }

    #[test]
    fn top_level_field_errors() {
        let cases: &[(&str, Value, &str)] = &[
            ("seed", json!(-1), "integer ≥ 0"),
            ("seed", json!(1.5), "got 1.5"),
            ("seed", json!("42"), "integer"),
            ("topn", json!(0), "between 1 and 100"),
            ("topn", json!(101), "got 101"),
            ("topn", json!(2.5), "got 2.5"),
            (
                "objective",
                json!("Score"),
                "\"score\" or \"day_one_value\"",
            ),
            ("objective", json!(1), "got 1"),
            ("sample", json!(0), "integer ≥ 1"),
            ("sample", json!(-3), "got -3"),
            ("sample", json!(true), "got true"),
        ];
        for (field, bad, says) in cases {
            let mut v = london();
            v[*field] = bad.clone();
            assert_one(&v, field, says);
        }
    }

    #[test]
    fn every_error_is_collected_project_first() {
        let mut v = london();
        v["project"]["pue"] = json!(0.5);
        v["project"]["country"] = json!("FR");
        v["ranges"]["senior_tenor"] = json!([]);
        v["seed"] = json!(-1);
        v["topn"] = json!(0);
        v["extra"] = json!(1);
        assert_eq!(
            fields(&v),
            [
                "project.country",
                "project.pue",
                "ranges.senior_tenor",
                "seed",
                "topn",
                "extra"
            ]
        );
        let e = parse(&v).expect_err("invalid");
        assert_eq!(e.detail, "6 fields are invalid");
    }
}
