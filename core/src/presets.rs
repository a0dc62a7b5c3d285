//! The structuring presets (engine spec §8), as data: each is a `ranges` object written in
//! input form, resolved through the same parser as a request's ranges. Senior tenors above
//! the project's tenor_cap are dropped; none left is an error.

use crate::error::FieldError;
use crate::levers::Ranges;
use crate::ranges_parse::parse_ranges;
use serde_json::{json, Map, Value};

/// The preset names, in the order the spec lists them.
pub const PRESET_NAMES: [&str; 3] = ["repo_first", "balanced", "value_max"];

/// The preset `name` as input-form ranges JSON exactly as spec §8 writes it (levers it does
/// not name are absent), or `None` for an unknown name.
pub fn preset_ranges_json(name: &str) -> Option<Value> {
    let v = match name {
        "repo_first" => json!({
            "senior_dscr": {"min": 1.40, "max": 1.60, "step": 0.05},
            "senior_coupon": {"min": 0.03, "max": 0.05, "step": 0.0025},
            "senior_tenor": [7, 10, 12, 15],
            "senior_amort": ["sculpted", "annuity"],
            "zcis_tenor_years": [0, 5, 10]
        }),
        "balanced" => json!({
            "senior_dscr": {"min": 1.25, "max": 1.40, "step": 0.05},
            "senior_coupon": {"min": 0.04, "max": 0.06, "step": 0.0025},
            "senior_tenor": [10, 12, 15, 20],
            "indexation_mode": ["flat", "CPI_capped"],
            "zcis_tenor_years": [0, 5, 10],
            "mezz_on": [false, true]
        }),
        "value_max" => json!({
            "senior_dscr": {"min": 1.15, "max": 1.30, "step": 0.05},
            "senior_coupon": {"min": 0.05, "max": 0.07, "step": 0.0025},
            "senior_tenor": [10, 12, 15, 20],
            "indexation_mode": ["CPI_capped"],
            "zcis_tenor_years": [5, 10],
            "mezz_on": [true],
            "wrap": [false, true]
        }),
        _ => return None,
    };
    Some(v)
}

/// Every preset as `{name: ranges}` (the `phase1 presets --json` document).
pub fn all_presets_json() -> Value {
    let map: Map<String, Value> = PRESET_NAMES
        .iter()
        .filter_map(|n| preset_ranges_json(n).map(|r| (n.to_string(), r)))
        .collect();
    Value::Object(map)
}

/// Resolves preset `name` for a project whose tenor_cap is `tenor_cap`: its ranges, with
/// senior tenors above the cap dropped. An unknown name, or no tenor left, is an error on
/// `preset`.
pub fn resolve_preset(name: &str, tenor_cap: u32) -> Result<Ranges, FieldError> {
    let json = preset_ranges_json(name).ok_or_else(|| {
        FieldError::new(
            "preset",
            format!(
                "unknown preset \"{name}\"; valid presets are {}",
                PRESET_NAMES.join(", ")
            ),
        )
    })?;
    let mut ranges = parse_ranges(&json, true).map_err(|errs| {
        let msgs: Vec<String> = errs
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        FieldError::new(
            "preset",
            format!("preset \"{name}\" is malformed: {}", msgs.join("; ")),
        )
    })?;
    let all = ranges.senior_tenor.values.clone();
    ranges.senior_tenor.values.retain(|&t| t <= tenor_cap);
    if ranges.senior_tenor.values.is_empty() {
        let listed: Vec<String> = all.iter().map(u32::to_string).collect();
        return Err(FieldError::new(
            "preset",
            format!(
                "preset \"{name}\" has no senior_tenor at or below the project's tenor_cap of \
                 {tenor_cap} (its tenors are {})",
                listed.join(", ")
            ),
        ));
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::levers::{Amort, Indexation, Source};
    use serde_json::json;

    #[test]
    fn names_are_in_spec_order_and_all_resolve() {
        assert_eq!(PRESET_NAMES, ["repo_first", "balanced", "value_max"]);
        for name in PRESET_NAMES {
            assert!(resolve_preset(name, 40).is_ok(), "{name}");
        }
    }

    #[test]
    fn preset_json_is_written_as_the_spec_writes_it() {
        let r = preset_ranges_json("repo_first").expect("known");
        assert_eq!(
            r["senior_dscr"],
            json!({"min": 1.40, "max": 1.60, "step": 0.05})
        );
        assert_eq!(r["senior_tenor"], json!([7, 10, 12, 15]));
        assert!(r.get("indexation_mode").is_none());
        let v = preset_ranges_json("value_max").expect("known");
        assert_eq!(v["mezz_on"], json!([true]));
        assert_eq!(v["wrap"], json!([false, true]));
        assert!(preset_ranges_json("Balanced").is_none());
    }

    #[test]
    fn all_presets_json_maps_every_name() {
        let all = all_presets_json();
        let obj = all.as_object().expect("an object");
        assert_eq!(obj.len(), 3);
        for name in PRESET_NAMES {
            assert_eq!(all[name], preset_ranges_json(name).expect("known"));
        }
    }

    #[test]
    fn presets_resolve_to_the_spec_values() {
        let r = resolve_preset("repo_first", 40).expect("ok");
        assert_eq!(r.senior_dscr.values, [1.4, 1.45, 1.5, 1.55, 1.6]);
        assert_eq!(r.senior_dscr.source, Source::MinMax);
        assert_eq!(r.senior_coupon.values.len(), 9);
        assert_eq!(r.senior_coupon.values.last(), Some(&0.05));
        assert_eq!(r.senior_amort.values, [Amort::Sculpted, Amort::Annuity]);
        assert_eq!(r.indexation_mode.source, Source::Default);
        assert_eq!(r.cardinality(), 4 * 9 * 5 * 2 * 3);
        let v = resolve_preset("value_max", 40).expect("ok");
        assert_eq!(v.senior_dscr.values, [1.15, 1.2, 1.25, 1.3]);
        assert_eq!(v.indexation_mode.values, [Indexation::CpiCapped]);
        assert_eq!(v.senior_coupon.values.len(), 9);
        assert_eq!(v.cardinality(), 4 * 9 * 4 * 2 * 2);
    }

    #[test]
    fn small_fixture_keeps_tenors_up_to_its_cap() {
        let r = resolve_preset("balanced", 13).expect("ok");
        assert_eq!(r.senior_tenor.values, [10, 12]);
        assert_eq!(r.senior_tenor.source, Source::List);
        assert_eq!(r.senior_dscr.values, [1.25, 1.3, 1.35, 1.4]);
        assert_eq!(r.cardinality(), 864);
        let at_cap = resolve_preset("balanced", 12).expect("ok");
        assert_eq!(at_cap.senior_tenor.values, [10, 12]);
    }

    #[test]
    fn no_tenor_left_is_an_error_on_preset() {
        let e = resolve_preset("balanced", 9).expect_err("nothing at or below 9");
        assert_eq!(e.field, "preset");
        assert!(e.message.contains("tenor_cap of 9"), "{}", e.message);
        assert!(resolve_preset("repo_first", 7).is_ok());
    }

    #[test]
    fn unknown_preset_lists_the_valid_names() {
        let e = resolve_preset("aggressive", 20).expect_err("unknown");
        assert_eq!(e.field, "preset");
        assert!(e.message.contains("\"aggressive\""));
        assert!(e.message.contains("repo_first, balanced, value_max"));
    }
}
