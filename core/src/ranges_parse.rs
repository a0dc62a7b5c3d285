//! Parsing lever ranges (engine spec §2): the range forms (scalar, list, min/max/step,
//! manual, variations), their precedence and sources, the exact min/max/step expansion,
//! value checks and defaults. Every problem of every lever is collected, each on its
//! `ranges.<lever>` path.

use crate::error::FieldError;
use crate::levers::{Amort, Indexation, Lever, Ranges, Resolved, Source};
use crate::project_parse::{shown, Interval};
use serde_json::{Map, Value};

/// Most values one lever may have, whatever its form.
pub(crate) const MAX_VALUES: usize = 10_000;

/// The input alias of `senior_dscr`.
const DSCR_ALIAS: &str = "min_dscr_senior";

/// The keys a range object may hold.
const RANGE_KEYS: [&str; 5] = ["manual", "min", "max", "step", "variations"];

/// Value errors reported per lever before the rest are summarised.
const MAX_VALUE_ERRORS: usize = 5;

/// How one lever's values are typed, checked and defaulted.
struct Kind<T> {
    /// Converts and checks one given value; the message reads after the lever name.
    item: fn(&Value) -> Result<T, String>,
    /// Converts and checks one min/max/step value; `None` for non-numeric levers.
    stepped: Option<fn(f64) -> Result<T, String>>,
    /// The value when the lever is absent; `None` when the lever is required.
    default: Option<T>,
}

const COUPON: Interval = Interval::above(0.0, 0.25);
const DSCR: Interval = Interval::closed(1.0, 5.0);

fn number(v: &Value) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("must be a number, got {}", shown(v)))
}

fn whole(x: f64, lo: u32, hi: u32) -> Result<u32, String> {
    if x.fract() == 0.0 && x >= f64::from(lo) && x <= f64::from(hi) {
        Ok(x as u32)
    } else {
        Err(format!("must be an integer between {lo} and {hi}, got {x}"))
    }
}

fn tenor(x: f64) -> Result<u32, String> {
    whole(x, 1, 40)
}

fn zcis(x: f64) -> Result<u32, String> {
    whole(x, 0, 40)
}

fn coupon(x: f64) -> Result<f64, String> {
    COUPON.check(x)
}

fn dscr(x: f64) -> Result<f64, String> {
    DSCR.check(x)
}

fn amort(v: &Value) -> Result<Amort, String> {
    match v.as_str() {
        Some("sculpted") => Ok(Amort::Sculpted),
        Some("annuity") => Ok(Amort::Annuity),
        _ => Err(format!(
            "must be \"sculpted\" or \"annuity\", got {}",
            shown(v)
        )),
    }
}

fn indexation(v: &Value) -> Result<Indexation, String> {
    match v.as_str() {
        Some("flat") => Ok(Indexation::Flat),
        Some("CPI_capped") => Ok(Indexation::CpiCapped),
        _ => Err(format!(
            "must be \"flat\" or \"CPI_capped\", got {}",
            shown(v)
        )),
    }
}

fn boolean(v: &Value) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("must be true or false, got {}", shown(v)))
}

const TENOR: Kind<u32> = Kind {
    item: |v| number(v).and_then(tenor),
    stepped: Some(tenor),
    default: None,
};
const COUPON_KIND: Kind<f64> = Kind {
    item: |v| number(v).and_then(coupon),
    stepped: Some(coupon),
    default: None,
};
const DSCR_KIND: Kind<f64> = Kind {
    item: |v| number(v).and_then(dscr),
    stepped: Some(dscr),
    default: None,
};
const AMORT: Kind<Amort> = Kind {
    item: amort,
    stepped: None,
    default: Some(Amort::Sculpted),
};
const INDEXATION: Kind<Indexation> = Kind {
    item: indexation,
    stepped: None,
    default: Some(Indexation::Flat),
};
const ZCIS: Kind<u32> = Kind {
    item: |v| number(v).and_then(zcis),
    stepped: Some(zcis),
    default: Some(0),
};
const BOOL: Kind<bool> = Kind {
    item: boolean,
    stepped: None,
    default: Some(false),
};

/// A lever's range once its form is known.
enum Form<'a> {
    /// Given values (scalar, list, manual or variations) with their source.
    Items(Vec<&'a Value>, Source),
    /// `{"min", "max", "step"}`, checked: step > 0 and max ≥ min.
    Steps { min: f64, max: f64, step: f64 },
}

/// Expands min/max/step exactly as spec §2 says: u_i = min + i·step while
/// u_i ≤ max + 1e-9·max(1, |max|), each value rounded to 1e-10 (half away from zero).
pub(crate) fn expand(min: f64, max: f64, step: f64) -> Result<Vec<f64>, String> {
    let limit = max + 1e-9 * max.abs().max(1.0);
    let mut values = Vec::new();
    for i in 0u64.. {
        let u = min + (i as f64) * step;
        if u > limit {
            break;
        }
        if values.len() == MAX_VALUES {
            return Err(too_many());
        }
        values.push((u * 1e10).round() / 1e10);
    }
    Ok(values)
}

fn too_many() -> String {
    format!("has more than {MAX_VALUES} values")
}

/// A list form: non-empty.
fn list<'a>(items: &'a [Value], source: Source, what: &str) -> Result<Form<'a>, Vec<String>> {
    if items.is_empty() {
        return Err(vec![format!("{what} is empty")]);
    }
    Ok(Form::Items(items.iter().collect(), source))
}

/// Classifies a lever's range value by its form.
fn form(v: &Value, numeric: bool, hierarchy: bool) -> Result<Form<'_>, Vec<String>> {
    match v {
        Value::Array(items) => list(items, Source::List, "the list"),
        Value::Object(m) => object_form(m, numeric, hierarchy),
        _ => Ok(Form::Items(vec![v], Source::Scalar)),
    }
}

/// The problems with a range object's keys, whatever form it selects.
fn key_errors(m: &Map<String, Value>, numeric: bool, hierarchy: bool) -> Vec<String> {
    let mut errs: Vec<String> = m
        .keys()
        .filter(|k| !RANGE_KEYS.contains(&k.as_str()))
        .map(|k| format!("unknown key \"{k}\" in a range object (allowed: manual, min, max, step, variations)"))
        .collect();
    if !hierarchy {
        for k in ["manual", "variations"]
            .iter()
            .filter(|k| m.contains_key(**k))
        {
            errs.push(format!(
                "\"{k}\" is not accepted with the input hierarchy off (only scalar, list and \
                 min/max/step ranges)"
            ));
        }
    }
    let given: Vec<&str> = ["min", "max", "step"]
        .into_iter()
        .filter(|k| m.contains_key(*k))
        .collect();
    if !numeric && !given.is_empty() {
        errs.push("min/max/step is only for numeric levers".to_string());
    } else if !given.is_empty() && given.len() < 3 {
        let missing: Vec<&str> = ["min", "max", "step"]
            .into_iter()
            .filter(|k| !m.contains_key(*k))
            .collect();
        errs.push(format!(
            "min/max/step needs all of min, max and step; missing {}",
            missing.join(", ")
        ));
    }
    errs
}

/// Classifies a range object: manual > min/max/step > variations.
fn object_form(
    m: &Map<String, Value>,
    numeric: bool,
    hierarchy: bool,
) -> Result<Form<'_>, Vec<String>> {
    let errs = key_errors(m, numeric, hierarchy);
    if !errs.is_empty() {
        return Err(errs);
    }
    if let Some(v) = m.get("manual") {
        return manual(v);
    }
    if m.contains_key("min") {
        return steps(m);
    }
    match m.get("variations") {
        Some(Value::Array(items)) => list(items, Source::Variations, "variations"),
        Some(v) => Err(vec![format!("variations must be a list, got {}", shown(v))]),
        None => Err(vec![
            "the range object is empty (give manual, min/max/step or variations)".to_string(),
        ]),
    }
}

fn manual(v: &Value) -> Result<Form<'_>, Vec<String>> {
    match v {
        Value::Array(items) => list(items, Source::Manual, "manual"),
        Value::Object(_) => Err(vec![format!(
            "manual must be a value or a list, got {}",
            shown(v)
        )]),
        _ => Ok(Form::Items(vec![v], Source::Manual)),
    }
}

/// Reads and checks min, max and step (all three are present).
fn steps(m: &Map<String, Value>) -> Result<Form<'_>, Vec<String>> {
    let mut errs = Vec::new();
    let mut get = |k: &str| {
        let v = m.get(k).unwrap_or(&Value::Null);
        let x = v.as_f64();
        if x.is_none() {
            errs.push(format!("{k} must be a number, got {}", shown(v)));
        }
        x
    };
    let (min, max, step) = (get("min"), get("max"), get("step"));
    let (Some(min), Some(max), Some(step)) = (min, max, step) else {
        return Err(errs);
    };
    if step <= 0.0 {
        errs.push(format!("step must be > 0, got {step}"));
    }
    if max < min {
        errs.push(format!("max must be ≥ min ({min}), got {max}"));
    }
    if errs.is_empty() {
        Ok(Form::Steps { min, max, step })
    } else {
        Err(errs)
    }
}

/// A lever value's identity for de-duplication: values equal by `==` have equal keys and
/// different values different keys, so duplicates are found with a hash set in linear time
/// (a list of 10,000 distinct values and 240,000 repeats took 10× a plain list when
/// de-duplicated pairwise).
trait Distinct: Copy + PartialEq {
    /// The key.
    fn key(self) -> u64;
}

impl Distinct for f64 {
    /// The bit pattern, with −0 as +0 (they are `==`). Lever values are finite.
    fn key(self) -> u64 {
        if self == 0.0 {
            0.0f64.to_bits()
        } else {
            self.to_bits()
        }
    }
}

impl Distinct for u32 {
    fn key(self) -> u64 {
        u64::from(self)
    }
}

impl Distinct for bool {
    fn key(self) -> u64 {
        u64::from(self)
    }
}

impl Distinct for Amort {
    fn key(self) -> u64 {
        self as u64
    }
}

impl Distinct for Indexation {
    fn key(self) -> u64 {
        self as u64
    }
}

/// Converts a lever's raw values, keeping the first of duplicates.
fn typed<T: Distinct>(name: &str, raw: Vec<Result<T, String>>) -> Result<Vec<T>, Vec<String>> {
    let mut values: Vec<T> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut errs = Vec::new();
    for r in raw {
        match r {
            Ok(x) if seen.insert(x.key()) => values.push(x),
            Ok(_) => {}
            Err(m) => errs.push(format!("{name} {m}")),
        }
        if values.len() > MAX_VALUES {
            return Err(vec![too_many()]);
        }
    }
    if errs.is_empty() {
        return Ok(values);
    }
    if errs.len() > MAX_VALUE_ERRORS {
        let more = errs.len() - MAX_VALUE_ERRORS;
        errs.truncate(MAX_VALUE_ERRORS);
        errs.push(format!("and {more} more invalid values"));
    }
    Err(errs)
}

/// Resolves one given lever range.
fn values<T: Distinct>(
    name: &str,
    v: &Value,
    kind: &Kind<T>,
    hierarchy: bool,
) -> Result<Resolved<T>, Vec<String>> {
    let (raw, source) = match form(v, kind.stepped.is_some(), hierarchy)? {
        Form::Items(items, source) => (items.into_iter().map(kind.item).collect(), source),
        Form::Steps { min, max, step } => {
            let convert = kind
                .stepped
                .ok_or_else(|| vec!["min/max/step is only for numeric levers".to_string()])?;
            let xs = expand(min, max, step).map_err(|m| vec![m])?;
            (xs.into_iter().map(convert).collect(), Source::MinMax)
        }
    };
    Ok(Resolved {
        values: typed(name, raw)?,
        source,
    })
}

/// Resolves one lever: its given range, its default, or "is required".
fn resolve<T: Distinct>(
    lever: Lever,
    given: Option<&Value>,
    kind: &Kind<T>,
    hierarchy: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Resolved<T>> {
    let field = format!("ranges.{}", lever.name());
    let Some(v) = given else {
        if kind.default.is_none() {
            errors.push(FieldError::new(field, "is required"));
        }
        return kind.default.map(|d| Resolved {
            values: vec![d],
            source: Source::Default,
        });
    };
    match values(lever.name(), v, kind, hierarchy) {
        Ok(r) => Some(r),
        Err(msgs) => {
            errors.extend(msgs.into_iter().map(|m| FieldError::new(field.clone(), m)));
            None
        }
    }
}

/// What the input says about one lever.
enum Given<'a> {
    /// Absent or null.
    Absent,
    /// Given once.
    Once(&'a Value),
    /// Given under its name and its alias (already reported).
    Twice,
}

impl<'a> Given<'a> {
    fn value(&self) -> Option<&'a Value> {
        match self {
            Given::Once(v) => Some(v),
            _ => None,
        }
    }
}

fn given<'a>(obj: &'a Map<String, Value>, lever: Lever, errors: &mut Vec<FieldError>) -> Given<'a> {
    let get = |k: &str| obj.get(k).filter(|v| !v.is_null());
    let alias = if lever == Lever::SeniorDscr {
        get(DSCR_ALIAS)
    } else {
        None
    };
    match (get(lever.name()), alias) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                format!("ranges.{}", lever.name()),
                format!(
                    "is given twice, as {} and as its alias {DSCR_ALIAS}",
                    lever.name()
                ),
            ));
            Given::Twice
        }
        (Some(v), None) | (None, Some(v)) => Given::Once(v),
        (None, None) => Given::Absent,
    }
}

/// Resolves one lever unless it was given twice.
fn lever<T: Distinct>(
    obj: &Map<String, Value>,
    lever: Lever,
    kind: &Kind<T>,
    hierarchy: bool,
    errors: &mut Vec<FieldError>,
) -> Option<Resolved<T>> {
    match given(obj, lever, errors) {
        Given::Twice => None,
        g => resolve(lever, g.value(), kind, hierarchy, errors),
    }
}

fn unknown_levers(obj: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    for k in obj
        .keys()
        .filter(|k| Lever::parse(k).is_none() && *k != DSCR_ALIAS)
    {
        let names: Vec<&str> = Lever::ALL.iter().map(|l| l.name()).collect();
        errors.push(FieldError::new(
            format!("ranges.{k}"),
            format!("is not a known lever (levers: {})", names.join(", ")),
        ));
    }
}

/// Parses a `ranges` object (spec §2) into resolved levers; every problem is returned.
/// With `hierarchy` false, the `manual` and `variations` forms are refused.
pub(crate) fn parse_ranges(value: &Value, hierarchy: bool) -> Result<Ranges, Vec<FieldError>> {
    let Value::Object(obj) = value else {
        return Err(vec![FieldError::new(
            "ranges",
            format!(
                "must be an object mapping lever names to ranges, got {}",
                shown(value)
            ),
        )]);
    };
    let e = &mut Vec::new();
    let h = hierarchy;
    let senior_tenor = lever(obj, Lever::SeniorTenor, &TENOR, h, e);
    let senior_coupon = lever(obj, Lever::SeniorCoupon, &COUPON_KIND, h, e);
    let senior_dscr = lever(obj, Lever::SeniorDscr, &DSCR_KIND, h, e);
    let senior_amort = lever(obj, Lever::SeniorAmort, &AMORT, h, e);
    let indexation_mode = lever(obj, Lever::IndexationMode, &INDEXATION, h, e);
    let zcis_tenor_years = lever(obj, Lever::ZcisTenorYears, &ZCIS, h, e);
    let mezz_on = lever(obj, Lever::MezzOn, &BOOL, h, e);
    let wrap = lever(obj, Lever::Wrap, &BOOL, h, e);
    unknown_levers(obj, e);
    match (
        senior_tenor,
        senior_coupon,
        senior_dscr,
        senior_amort,
        indexation_mode,
        zcis_tenor_years,
        mezz_on,
        wrap,
    ) {
        (Some(a), Some(b), Some(c), Some(d), Some(f), Some(g), Some(i), Some(j))
            if e.is_empty() =>
        {
            Ok(Ranges {
                senior_tenor: a,
                senior_coupon: b,
                senior_dscr: c,
                senior_amort: d,
                indexation_mode: f,
                zcis_tenor_years: g,
                mezz_on: i,
                wrap: j,
            })
        }
        _ => Err(std::mem::take(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"senior_tenor": 10, "senior_coupon": 0.05, "senior_dscr": 1.3})
    }

    fn with(lever: &str, v: Value) -> Value {
        let mut r = base();
        r[lever] = v;
        r
    }

    fn ok(v: &Value) -> Ranges {
        parse_ranges(v, true).unwrap_or_else(|e| panic!("should parse: {e:?}"))
    }

    fn errors_with(v: &Value, hierarchy: bool) -> Vec<FieldError> {
        parse_ranges(v, hierarchy).expect_err("the ranges should be invalid")
    }

    /// Asserts some error is on `field` and its message contains every part of `says`.
    fn assert_err(errs: &[FieldError], field: &str, says: &[&str]) {
        let hit = errs
            .iter()
            .any(|e| e.field == field && says.iter().all(|s| e.message.contains(s)));
        assert!(hit, "no error on {field} saying {says:?} in {errs:?}");
    }

    /// Asserts the lever given as `v` is refused with exactly one error saying `says`.
    fn assert_refused(lever: &str, v: Value, says: &[&str]) {
        let errs = errors_with(&with(lever, v), true);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_err(&errs, &format!("ranges.{lever}"), says);
    }

    fn fixture_ranges(text: &str) -> Ranges {
        let doc: Value = serde_json::from_str(text).expect("fixture JSON");
        ok(&doc["ranges"])
    }

    #[test]
    fn london_fixture_resolves_with_sources() {
        let r = fixture_ranges(include_str!("../../fixtures/london-dc-alpha.json"));
        assert_eq!(r.cardinality(), 1920);
        assert_eq!(r.senior_tenor.values, [10, 12, 15, 20]);
        assert_eq!(r.senior_tenor.source, Source::List);
        assert_eq!(r.senior_coupon.source, Source::MinMax);
        let coupons = [
            0.04, 0.0425, 0.045, 0.0475, 0.05, 0.0525, 0.055, 0.0575, 0.06, 0.0625,
        ];
        assert_eq!(r.senior_coupon.values, coupons);
        assert_eq!(r.senior_dscr.values, [1.2, 1.25, 1.3, 1.35, 1.4, 1.45]);
        assert_eq!(r.senior_amort.values, [Amort::Sculpted]);
        assert_eq!(r.senior_amort.source, Source::Default);
        assert_eq!(
            r.indexation_mode.values,
            [Indexation::Flat, Indexation::CpiCapped]
        );
        assert_eq!(r.zcis_tenor_years.values, [3, 5, 7, 10]);
        assert_eq!(r.mezz_on.values, [false]);
        assert_eq!(r.mezz_on.source, Source::Default);
        assert_eq!(r.wrap.values, [false]);
        assert_eq!(r.wrap.source, Source::Default);
    }

    #[test]
    fn medium_and_large_fixtures_resolve() {
        let m = fixture_ranges(include_str!("../../fixtures/medium.json"));
        assert_eq!(m.cardinality(), 19_008);
        assert_eq!(m.senior_coupon.values.len(), 11);
        assert_eq!(m.senior_dscr.values.len(), 9);
        assert_eq!(m.senior_dscr.values.last(), Some(&1.6));
        let l = fixture_ranges(include_str!("../../fixtures/large.json"));
        assert_eq!(l.cardinality(), 205_632);
        assert_eq!(l.counts(), [9, 17, 21, 2, 2, 4, 2, 2]);
        assert_eq!(l.senior_dscr.values.first(), Some(&1.1));
        assert_eq!(l.senior_dscr.values.last(), Some(&1.6));
        assert_eq!(l.senior_dscr.values[1], 1.125);
        assert_eq!(l.senior_coupon.values.last(), Some(&0.07));
        assert_eq!(l.wrap.source, Source::List);
    }

    #[test]
    fn expansion_rounds_and_includes_the_end() {
        assert_eq!(0.1 + 2.0 * 0.1, 0.30000000000000004);
        assert_eq!(expand(0.1, 0.3, 0.1), Ok(vec![0.1, 0.2, 0.3]));
        let tenths = expand(0.0, 1.0, 0.1).expect("11 values");
        assert_eq!(tenths.len(), 11);
        assert_eq!(tenths[3], 0.3);
        assert_eq!(tenths[10], 1.0);
        assert_eq!(expand(1.0, 1.0, 0.5), Ok(vec![1.0]));
        assert_eq!(expand(1.0, 1.12, 0.05), Ok(vec![1.0, 1.05, 1.1]));
        assert_eq!(expand(1.15, 1.30, 0.05), Ok(vec![1.15, 1.2, 1.25, 1.3]));
    }

    #[test]
    fn expansion_end_tolerance_scales_with_max() {
        assert_eq!(expand(0.0, 1.0 - 5e-10, 0.5), Ok(vec![0.0, 0.5, 1.0]));
        assert_eq!(expand(0.0, 1.0 - 2e-9, 0.5), Ok(vec![0.0, 0.5]));
        assert_eq!(
            expand(0.0, 1000.0 - 5e-7, 500.0),
            Ok(vec![0.0, 500.0, 1000.0])
        );
        assert_eq!(expand(0.0, 1000.0 - 2e-6, 500.0), Ok(vec![0.0, 500.0]));
        assert_eq!(expand(-2.0, -1.0 - 5e-10, 0.5), Ok(vec![-2.0, -1.5, -1.0]));
    }

    #[test]
    fn expansion_multiplies_rather_than_accumulates() {
        // Repeated addition of 0.1 drifts above 1.0 before the 11th value; min + i·step
        // does not, so 1.0 is the last value either way, but the count must be 11.
        let v = expand(0.0, 1.0, 0.1).expect("ok");
        assert_eq!(v.len(), 11);
        let accumulated = (0..10).fold(0.0f64, |a, _| a + 0.1);
        assert_ne!(accumulated, 1.0);
        assert_eq!(0.0 + 10.0 * 0.1, 1.0);
    }

    #[test]
    fn min_max_step_as_a_range_gives_source_min_max() {
        // 1.1 + 3·0.1 = 1.4000000000000001: above max, kept by the tolerance, rounded.
        assert_eq!(1.1 + 3.0 * 0.1, 1.4000000000000001);
        let r = ok(&with(
            "senior_dscr",
            json!({"min": 1.1, "max": 1.4, "step": 0.1}),
        ));
        assert_eq!(r.senior_dscr.values, [1.1, 1.2, 1.3, 1.4]);
        assert_eq!(r.senior_dscr.source, Source::MinMax);
        let r = ok(&with(
            "senior_coupon",
            json!({"min": 0.01, "max": 0.03, "step": 0.01}),
        ));
        assert_eq!(r.senior_coupon.values, [0.01, 0.02, 0.03]);
    }

    #[test]
    fn sources_of_scalar_list_manual_variations() {
        let r = ok(&base());
        assert_eq!(r.senior_tenor.source, Source::Scalar);
        assert_eq!(r.senior_tenor.values, [10]);
        let r = ok(&with("senior_dscr", json!({"manual": 1.3})));
        assert_eq!(
            (r.senior_dscr.values.clone(), r.senior_dscr.source),
            (vec![1.3], Source::Manual)
        );
        let r = ok(&with("senior_dscr", json!({"manual": [1.3, 1.4]})));
        assert_eq!(r.senior_dscr.values, [1.3, 1.4]);
        assert_eq!(r.senior_dscr.source, Source::Manual);
        let r = ok(&with("senior_dscr", json!({"variations": [1.3, 1.2, 1.3]})));
        assert_eq!(r.senior_dscr.values, [1.3, 1.2]);
        assert_eq!(r.senior_dscr.source, Source::Variations);
        let r = ok(&with("wrap", json!(true)));
        assert_eq!(
            (r.wrap.values.clone(), r.wrap.source),
            (vec![true], Source::Scalar)
        );
        let r = ok(&with("senior_amort", json!({"manual": "annuity"})));
        assert_eq!(r.senior_amort.values, [Amort::Annuity]);
        let r = ok(&with(
            "indexation_mode",
            json!({"variations": ["CPI_capped", "flat"]}),
        ));
        assert_eq!(
            r.indexation_mode.values,
            [Indexation::CpiCapped, Indexation::Flat]
        );
    }

    #[test]
    fn precedence_is_manual_then_min_max_then_variations() {
        let r = ok(&with(
            "senior_dscr",
            json!({"manual": 1.3, "min": 1, "max": 2, "step": 0.5}),
        ));
        assert_eq!(r.senior_dscr.values, [1.3]);
        assert_eq!(r.senior_dscr.source, Source::Manual);
        let r = ok(&with(
            "senior_dscr",
            json!({"min": 1.2, "max": 1.3, "step": 0.05, "variations": [2.0]}),
        ));
        assert_eq!(r.senior_dscr.values, [1.2, 1.25, 1.3]);
        assert_eq!(r.senior_dscr.source, Source::MinMax);
        let r = ok(&with(
            "senior_dscr",
            json!({"manual": [1.5], "variations": [2.0]}),
        ));
        assert_eq!(r.senior_dscr.source, Source::Manual);
    }

    #[test]
    fn lists_keep_order_drop_duplicates_and_are_not_rounded() {
        let r = ok(&with("senior_tenor", json!([15, 10, 15, 10.0, 12])));
        assert_eq!(r.senior_tenor.values, [15, 10, 12]);
        let r = ok(&with(
            "senior_coupon",
            json!([0.0512345678901234, 0.04, 0.0512345678901234]),
        ));
        assert_eq!(r.senior_coupon.values, [0.0512345678901234, 0.04]);
        let r = ok(&with("mezz_on", json!([true, false, true])));
        assert_eq!(r.mezz_on.values, [true, false]);
    }

    /// L7 of the 2026-12-03 audit: 10,000 distinct values followed by a quarter of a
    /// million repeats were de-duplicated pairwise. The result is the same with the hash
    /// set: the first of each value, in order (the speed is in `benches/engine.rs`).
    #[test]
    fn long_lists_of_repeats_keep_the_first_of_each_value_in_order() {
        let mut items: Vec<Value> = (0..10_000)
            .map(|i| json!(0.2 - f64::from(i) * 1e-5))
            .collect();
        let last = items[9_999].clone();
        items.extend(std::iter::repeat_n(last, 240_000));
        items.push(json!(0.2));
        let r = ok(&with("senior_coupon", Value::Array(items.clone())));
        assert_eq!(r.senior_coupon.values.len(), 10_000);
        let expected: Vec<f64> = items[..10_000].iter().filter_map(Value::as_f64).collect();
        assert_eq!(r.senior_coupon.values, expected);
        let r = ok(&with(
            "senior_amort",
            json!(["annuity", "sculpted", "annuity"]),
        ));
        assert_eq!(r.senior_amort.values, [Amort::Annuity, Amort::Sculpted]);
        let r = ok(&with(
            "indexation_mode",
            json!(["CPI_capped", "flat", "CPI_capped"]),
        ));
        assert_eq!(
            r.indexation_mode.values,
            [Indexation::CpiCapped, Indexation::Flat]
        );
        // One value more than the limit is refused, however many repeats surround it.
        items.push(json!(0.24));
        let errs = errors_with(&with("senior_coupon", Value::Array(items)), true);
        assert_err(&errs, "ranges.senior_coupon", &["more than 10000 values"]);
    }

    #[test]
    fn integer_levers_accept_integral_numbers_only() {
        let r = ok(&with("senior_tenor", json!(10.0)));
        assert_eq!(r.senior_tenor.values, [10]);
        let r = ok(&with("zcis_tenor_years", json!([0.0, 5.0])));
        assert_eq!(r.zcis_tenor_years.values, [0, 5]);
        assert_refused(
            "senior_tenor",
            json!(10.5),
            &["senior_tenor", "integer", "10.5"],
        );
        assert_refused(
            "zcis_tenor_years",
            json!([5, 7.5]),
            &["zcis_tenor_years", "7.5"],
        );
    }

    #[test]
    fn integer_levers_expand_min_max_step() {
        let r = ok(&with(
            "senior_tenor",
            json!({"min": 10, "max": 20, "step": 5}),
        ));
        assert_eq!(r.senior_tenor.values, [10, 15, 20]);
        assert_eq!(r.senior_tenor.source, Source::MinMax);
        let r = ok(&with(
            "zcis_tenor_years",
            json!({"min": 0, "max": 10, "step": 5}),
        ));
        assert_eq!(r.zcis_tenor_years.values, [0, 5, 10]);
        assert_refused(
            "senior_tenor",
            json!({"min": 10, "max": 11, "step": 0.5}),
            &["integer", "10.5"],
        );
    }

    #[test]
    fn alias_for_senior_dscr() {
        let mut v = base();
        if let Value::Object(m) = &mut v {
            m.remove("senior_dscr");
        }
        v["min_dscr_senior"] = json!([1.3, 1.4]);
        let r = ok(&v);
        assert_eq!(r.senior_dscr.values, [1.3, 1.4]);
        assert_eq!(r.senior_dscr.source, Source::List);
        let both = with("min_dscr_senior", json!(1.4));
        let errs = errors_with(&both, true);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_err(&errs, "ranges.senior_dscr", &["twice", "min_dscr_senior"]);
        let aliased_bad = {
            let mut v = v.clone();
            v["min_dscr_senior"] = json!(0.5);
            v
        };
        assert_err(
            &errors_with(&aliased_bad, true),
            "ranges.senior_dscr",
            &["0.5"],
        );
    }

    #[test]
    fn non_object_ranges_is_an_error_on_ranges() {
        for v in [json!([1, 2]), json!("balanced"), json!(1)] {
            let errs = errors_with(&v, true);
            assert_eq!(errs.len(), 1);
            assert_err(&errs, "ranges", &["must be an object"]);
        }
    }

    #[test]
    fn unknown_levers_are_errors() {
        let errs = errors_with(&with("senior_tenour", json!(10)), true);
        assert_eq!(errs.len(), 1);
        assert_err(&errs, "ranges.senior_tenour", &["not a known lever"]);
    }

    #[test]
    fn required_levers_are_required_and_others_default() {
        let errs = errors_with(&json!({}), true);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "ranges.senior_tenor",
                "ranges.senior_coupon",
                "ranges.senior_dscr"
            ]
        );
        assert!(errs.iter().all(|e| e.message.contains("is required")));
        assert_err(
            &errors_with(&with("senior_coupon", Value::Null), true),
            "ranges.senior_coupon",
            &["is required"],
        );
        let r = ok(&with("zcis_tenor_years", Value::Null));
        assert_eq!(
            (r.zcis_tenor_years.values.clone(), r.zcis_tenor_years.source),
            (vec![0], Source::Default)
        );
        assert_eq!(r.indexation_mode.values, [Indexation::Flat]);
        assert_eq!(r.cardinality(), 1);
    }

    #[test]
    fn empty_lists_are_errors() {
        assert_refused("senior_tenor", json!([]), &["empty"]);
        assert_refused("senior_coupon", json!({"manual": []}), &["empty"]);
        assert_refused("senior_dscr", json!({"variations": []}), &["empty"]);
    }

    #[test]
    fn range_object_shape_errors() {
        assert_refused(
            "senior_dscr",
            json!({"min": 1.2, "max": 1.4, "step": 0.1, "stp": 0.1}),
            &["unknown key", "stp"],
        );
        assert_refused(
            "senior_dscr",
            json!({"min": 1.2, "max": 1.4}),
            &["missing step"],
        );
        assert_refused("senior_dscr", json!({"step": 0.1}), &["missing min, max"]);
        assert_refused(
            "senior_dscr",
            json!({"min": 1.2, "step": 0.1}),
            &["missing max"],
        );
        assert_refused("senior_dscr", json!({}), &["empty"]);
        assert_refused(
            "senior_dscr",
            json!({"manual": {"min": 1}}),
            &["manual must be"],
        );
        assert_refused(
            "senior_dscr",
            json!({"variations": 1.3}),
            &["variations must be a list"],
        );
        assert_refused(
            "senior_dscr",
            json!({"min": "1.2", "max": 1.4, "step": 0.1}),
            &["min must be a number"],
        );
        assert_refused(
            "senior_dscr",
            json!({"min": 1.2, "max": null, "step": 0.1}),
            &["max must be a number"],
        );
    }

    #[test]
    fn step_and_order_errors() {
        assert_refused(
            "senior_dscr",
            json!({"min": 1.2, "max": 1.4, "step": 0}),
            &["step must be > 0", "got 0"],
        );
        assert_refused(
            "senior_dscr",
            json!({"min": 1.2, "max": 1.4, "step": -0.1}),
            &["step must be > 0"],
        );
        assert_refused(
            "senior_dscr",
            json!({"min": 1.4, "max": 1.2, "step": 0.1}),
            &["max must be ≥ min", "1.2"],
        );
        let errs = errors_with(
            &with("senior_dscr", json!({"min": 1.4, "max": 1.2, "step": 0})),
            true,
        );
        assert_eq!(errs.len(), 2, "both problems are reported: {errs:?}");
    }

    #[test]
    fn at_most_ten_thousand_values_in_every_form() {
        let r = ok(&with(
            "senior_dscr",
            json!({"min": 1.0, "max": 1.9999, "step": 0.0001}),
        ));
        assert_eq!(r.senior_dscr.values.len(), 10_000);
        assert_refused(
            "senior_dscr",
            json!({"min": 1.0, "max": 2.0, "step": 0.0001}),
            &["more than 10000"],
        );
        assert_refused(
            "senior_dscr",
            json!({"min": 1.0, "max": 5.0, "step": 1e-12}),
            &["more than 10000"],
        );
        let many: Vec<f64> = (1..=10_001).map(|i| f64::from(i) * 1e-5).collect();
        assert_refused("senior_coupon", json!(many), &["more than 10000"]);
        assert_refused(
            "senior_coupon",
            json!({"manual": many}),
            &["more than 10000"],
        );
        assert_refused(
            "senior_coupon",
            json!({"variations": many}),
            &["more than 10000"],
        );
        let ok_many: Vec<f64> = (1..=10_000).map(|i| f64::from(i) * 1e-5).collect();
        assert_eq!(
            ok(&with("senior_coupon", json!(ok_many)))
                .senior_coupon
                .values
                .len(),
            10_000
        );
    }

    #[test]
    fn values_outside_their_range_name_lever_and_value() {
        let cases: &[(&str, Value, &[&str])] = &[
            (
                "senior_tenor",
                json!(0),
                &["senior_tenor", "between 1 and 40", "got 0"],
            ),
            ("senior_tenor", json!(41), &["got 41"]),
            (
                "senior_coupon",
                json!(0),
                &["senior_coupon", "> 0 and ≤ 0.25", "got 0"],
            ),
            ("senior_coupon", json!(0.26), &["got 0.26"]),
            (
                "senior_coupon",
                json!("0.05"),
                &["must be a number", "\"0.05\""],
            ),
            (
                "senior_dscr",
                json!(0.99),
                &["senior_dscr", "≥ 1 and ≤ 5", "got 0.99"],
            ),
            ("senior_dscr", json!([1.3, 5.01]), &["got 5.01"]),
            (
                "senior_amort",
                json!("Sculpted"),
                &["senior_amort", "\"Sculpted\""],
            ),
            (
                "senior_amort",
                json!(["sculpted", 1]),
                &["senior_amort", "got 1"],
            ),
            (
                "indexation_mode",
                json!("cpi_capped"),
                &["indexation_mode", "\"cpi_capped\""],
            ),
            (
                "zcis_tenor_years",
                json!(-1),
                &["zcis_tenor_years", "between 0 and 40", "got -1"],
            ),
            ("zcis_tenor_years", json!(41), &["got 41"]),
            (
                "mezz_on",
                json!("true"),
                &["mezz_on", "true or false", "\"true\""],
            ),
            ("wrap", json!([false, 1]), &["wrap", "got 1"]),
            ("senior_tenor", json!([[10]]), &["must be a number"]),
        ];
        for (lever, v, says) in cases {
            assert_refused(lever, v.clone(), says);
        }
    }

    #[test]
    fn expanded_values_are_range_checked() {
        assert_refused(
            "senior_coupon",
            json!({"min": 0.2, "max": 0.3, "step": 0.05}),
            &["got 0.3"],
        );
        let r = ok(&with(
            "senior_coupon",
            json!({"min": 0.15, "max": 0.25, "step": 0.05}),
        ));
        assert_eq!(r.senior_coupon.values, [0.15, 0.2, 0.25]);
    }

    #[test]
    fn min_max_step_is_refused_for_string_and_bool_levers() {
        for lever in ["senior_amort", "indexation_mode", "mezz_on", "wrap"] {
            assert_refused(
                lever,
                json!({"min": 0, "max": 1, "step": 1}),
                &["only for numeric levers"],
            );
        }
    }

    #[test]
    fn input_hierarchy_off_refuses_manual_and_variations() {
        let manual = with("senior_dscr", json!({"manual": 1.3}));
        let errs = errors_with(&manual, false);
        assert_eq!(errs.len(), 1);
        assert_err(
            &errs,
            "ranges.senior_dscr",
            &["\"manual\"", "input hierarchy"],
        );
        let variations = with("wrap", json!({"variations": [true]}));
        assert_err(
            &errors_with(&variations, false),
            "ranges.wrap",
            &["\"variations\""],
        );
        let both = with(
            "senior_dscr",
            json!({"min": 1.2, "max": 1.3, "step": 0.05, "variations": [1.5]}),
        );
        assert_err(
            &errors_with(&both, false),
            "ranges.senior_dscr",
            &["\"variations\""],
        );
        let plain = with("senior_dscr", json!({"min": 1.2, "max": 1.3, "step": 0.05}));
        assert!(parse_ranges(&plain, false).is_ok());
        let list = with("senior_dscr", json!([1.2, 1.3]));
        assert!(parse_ranges(&list, false).is_ok());
        assert!(parse_ranges(&manual, true).is_ok());
    }

    #[test]
    fn every_problem_of_every_lever_is_reported() {
        let v = json!({
            "senior_coupon": [0, 0.3],
            "senior_dscr": {"min": 1.2, "max": 1.4},
            "senior_amort": "bullet",
            "wrap": [],
            "colour": "red"
        });
        let errs = errors_with(&v, true);
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "ranges.senior_tenor",
                "ranges.senior_coupon",
                "ranges.senior_coupon",
                "ranges.senior_dscr",
                "ranges.senior_amort",
                "ranges.wrap",
                "ranges.colour",
            ]
        );
    }

    #[test]
    fn many_bad_values_are_summarised() {
        let errs = errors_with(
            &with("senior_tenor", json!([0, 41, 42, 43, 44, 45, 46, 47])),
            true,
        );
        assert_eq!(errs.len(), 6);
        assert_err(&errs, "ranges.senior_tenor", &["and 3 more invalid values"]);
    }
}
