//! Parsing a project object (engine spec §1): every field's type, its exact range (no
//! tolerance) and its default. Every violation is collected and reported at once, each on
//! its `project.<field>` path.
//!
//! The small helpers shared with the range and request parsers ([`shown`], [`integer`],
//! [`Interval`]) live here too.

use crate::error::FieldError;
use crate::project::{Country, Currency, Project, Rent};
use crate::rating::Rating;
use serde_json::{Map, Value};

/// Every field a project object may hold, in the order of spec §1.
const FIELDS: [&str; 27] = [
    "title",
    "country",
    "currency",
    "gross_it_load_mw",
    "pue",
    "lease_years",
    "tenant_rating",
    "gross_monthly_rent",
    "rent_per_kwh_month",
    "opex_pct",
    "capex_cost_per_mw",
    "capex_market_per_mw",
    "land_fees_total",
    "arranger_fee_pct",
    "legal_fee_pct",
    "rating_fee_pct",
    "cpi_base",
    "cpi_floor",
    "cpi_cap",
    "zcis_rate",
    "sidecar_haircut_pct",
    "sidecar_discount_rate",
    "wrap_premium_bps",
    "mezz_dscr",
    "mezz_coupon",
    "min_coverage",
    "repo_target",
];

/// Longest title accepted, in characters.
const TITLE_MAX_CHARS: usize = 200;

/// A JSON value as shown in a message (its JSON text, shortened when long).
pub(crate) fn shown(v: &Value) -> String {
    const MAX: usize = 60;
    let text = v.to_string();
    if text.chars().count() <= MAX {
        return text;
    }
    let head: String = text.chars().take(MAX - 1).collect();
    format!("{head}…")
}

/// The value as an integer when it is an integral number (25 or 25.0); `None` for any
/// other value. Integral numbers beyond the i128 range saturate (so range checks reject
/// them).
pub(crate) fn integer(v: &Value) -> Option<i128> {
    let Value::Number(n) = v else {
        return None;
    };
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0).then_some(f as i128)
}

/// A numeric range with open or closed ends; an infinite upper end means "no upper bound".
#[derive(Debug, Clone, Copy)]
pub(crate) struct Interval {
    lo: f64,
    lo_open: bool,
    hi: f64,
    hi_open: bool,
}

impl Interval {
    /// lo ≤ x ≤ hi
    pub(crate) const fn closed(lo: f64, hi: f64) -> Interval {
        Interval {
            lo,
            lo_open: false,
            hi,
            hi_open: false,
        }
    }

    /// lo < x ≤ hi
    pub(crate) const fn above(lo: f64, hi: f64) -> Interval {
        Interval {
            lo,
            lo_open: true,
            hi,
            hi_open: false,
        }
    }

    /// lo ≤ x < hi
    pub(crate) const fn below(lo: f64, hi: f64) -> Interval {
        Interval {
            lo,
            lo_open: false,
            hi,
            hi_open: true,
        }
    }

    /// Whether `x` lies in the range (exact comparison, no tolerance).
    pub(crate) fn contains(&self, x: f64) -> bool {
        let lo_ok = if self.lo_open {
            x > self.lo
        } else {
            x >= self.lo
        };
        let hi_ok = if self.hi_open {
            x < self.hi
        } else {
            x <= self.hi
        };
        lo_ok && hi_ok
    }

    /// The range for a message, e.g. "> 0 and ≤ 2000".
    pub(crate) fn describe(&self) -> String {
        let lo = format!("{} {}", if self.lo_open { ">" } else { "≥" }, self.lo);
        if self.hi.is_infinite() {
            return lo;
        }
        let hi = format!("{} {}", if self.hi_open { "<" } else { "≤" }, self.hi);
        format!("{lo} and {hi}")
    }

    /// Checks `x`: `Err("must be … , got x")` when outside.
    pub(crate) fn check(&self, x: f64) -> Result<f64, String> {
        if self.contains(x) {
            Ok(x)
        } else {
            Err(format!("must be {}, got {x}", self.describe()))
        }
    }
}

const POSITIVE: Interval = Interval::above(0.0, f64::INFINITY);
const NON_NEGATIVE: Interval = Interval::closed(0.0, f64::INFINITY);
const FEE_PCT: Interval = Interval::closed(0.0, 0.1);
const CPI_RATE: Interval = Interval::closed(-0.05, 0.20);
const CPI_BOUND: Interval = Interval::closed(0.0, 0.20);
const FRACTION: Interval = Interval::closed(0.0, 1.0);

/// Reads fields of one project object, collecting every error.
struct Reader<'a> {
    obj: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Reader<'a> {
    /// The field's value; `None` when absent or null.
    fn value(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).filter(|v| !v.is_null())
    }

    fn fail(&mut self, name: &str, message: String) {
        self.errors
            .push(FieldError::new(format!("project.{name}"), message));
    }

    /// The value of a required field, recording "is required" when absent or null.
    fn required(&mut self, name: &str) -> Option<&'a Value> {
        let v = self.value(name);
        if v.is_none() {
            self.fail(name, "is required".to_string());
        }
        v
    }

    /// Checks a present value is a number within `range`.
    fn number(&mut self, name: &str, v: &Value, range: Interval) -> Option<f64> {
        let Some(x) = v.as_f64() else {
            self.fail(name, format!("must be a number, got {}", shown(v)));
            return None;
        };
        match range.check(x) {
            Ok(x) => Some(x),
            Err(m) => {
                self.fail(name, m);
                None
            }
        }
    }

    fn required_number(&mut self, name: &str, range: Interval) -> Option<f64> {
        let v = self.required(name)?;
        self.number(name, v, range)
    }

    fn optional_number(&mut self, name: &str, range: Interval, default: f64) -> Option<f64> {
        match self.value(name) {
            None => Some(default),
            Some(v) => self.number(name, v, range),
        }
    }

    fn required_string(&mut self, name: &str) -> Option<&'a str> {
        let v = self.required(name)?;
        let s = v.as_str();
        if s.is_none() {
            self.fail(name, format!("must be a string, got {}", shown(v)));
        }
        s
    }

    /// A required string that must be one of a fixed set of values.
    fn choice<T>(&mut self, name: &str, parse: fn(&str) -> Option<T>, allowed: &str) -> Option<T> {
        let s = self.required_string(name)?;
        let t = parse(s);
        if t.is_none() {
            self.fail(
                name,
                format!("must be one of {allowed} (case-sensitive), got \"{s}\""),
            );
        }
        t
    }

    fn title(&mut self) -> Option<String> {
        let s = self.required_string("title")?;
        let n = s.chars().count();
        if (1..=TITLE_MAX_CHARS).contains(&n) {
            return Some(s.to_string());
        }
        self.fail(
            "title",
            format!("must be 1 to {TITLE_MAX_CHARS} characters long, got {n} characters"),
        );
        None
    }

    fn lease_years(&mut self) -> Option<u32> {
        let v = self.required("lease_years")?;
        let n = integer(v).filter(|n| (5..=40).contains(n));
        if n.is_none() {
            let kind = if v.is_number() {
                "an integer between 5 and 40"
            } else {
                "an integer"
            };
            self.fail("lease_years", format!("must be {kind}, got {}", shown(v)));
        }
        n.and_then(|n| u32::try_from(n).ok())
    }

    fn tenant_rating(&mut self) -> Option<Rating> {
        let s = self.required_string("tenant_rating")?;
        match Rating::parse(s) {
            Some(Rating::Ccc) => {
                self.fail(
                    "tenant_rating",
                    "must not be CCC (a tenant must rate B- or better, or NR)".into(),
                );
                None
            }
            Some(r) => Some(r),
            None => {
                self.fail(
                    "tenant_rating",
                    format!("must be a rating AAA … B- or NR (case-sensitive), got \"{s}\""),
                );
                None
            }
        }
    }

    /// Exactly one of the two rent fields, each checked > 0.
    fn rent(&mut self) -> Option<Rent> {
        let gross = self.value("gross_monthly_rent");
        let kwh = self.value("rent_per_kwh_month");
        match (gross, kwh) {
            (Some(v), None) => self
                .number("gross_monthly_rent", v, POSITIVE)
                .map(Rent::GrossMonthlyRent),
            (None, Some(v)) => self
                .number("rent_per_kwh_month", v, POSITIVE)
                .map(Rent::RentPerKwhMonth),
            (None, None) => {
                self.fail("gross_monthly_rent", one_rent_message("neither was given"));
                None
            }
            (Some(_), Some(_)) => {
                self.fail("gross_monthly_rent", one_rent_message("both were given"));
                None
            }
        }
    }

    fn repo_target(&mut self) -> Option<bool> {
        let v = match self.value("repo_target") {
            None => return Some(false),
            Some(v) => v,
        };
        let b = v.as_bool();
        if b.is_none() {
            self.fail(
                "repo_target",
                format!("must be a boolean, got {}", shown(v)),
            );
        }
        b
    }

    fn unknown_fields(&mut self) {
        let unknown: Vec<String> = self
            .obj
            .keys()
            .filter(|k| !FIELDS.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            self.fail(&k, "is not a known project field".into());
        }
    }
}

fn one_rent_message(what: &str) -> String {
    format!("exactly one of gross_monthly_rent and rent_per_kwh_month is required; {what}")
}

fn parse_country(s: &str) -> Option<Country> {
    Country::ALL.iter().copied().find(|c| c.as_str() == s)
}

fn parse_currency(s: &str) -> Option<Currency> {
    match s {
        "GBP" => Some(Currency::GBP),
        "EUR" => Some(Currency::EUR),
        "USD" => Some(Currency::USD),
        _ => None,
    }
}

/// The fields whose checks involve more than one field, done once both are valid.
fn cross_checks(
    r: &mut Reader,
    country: Option<Country>,
    currency: Option<Currency>,
    cpi: (Option<f64>, Option<f64>),
) {
    if let (Some(country), Some(currency)) = (country, currency) {
        if country.currency() != currency {
            r.fail(
                "currency",
                format!(
                    "must be {:?} for country {} (UK–GBP, EU–EUR, US–USD), got {currency:?}",
                    country.currency(),
                    country.as_str()
                ),
            );
        }
    }
    if let (Some(floor), Some(cap)) = cpi {
        if floor > cap {
            r.fail(
                "cpi_floor",
                format!("must be ≤ cpi_cap ({cap}), got {floor}"),
            );
        }
    }
}

/// Parses a project object (spec §1), applying defaults; every violation is returned.
pub(crate) fn parse_project(value: &Value) -> Result<Project, Vec<FieldError>> {
    let Value::Object(obj) = value else {
        return Err(vec![FieldError::new(
            "project",
            format!("must be an object, got {}", shown(value)),
        )]);
    };
    let mut r = Reader {
        obj,
        errors: Vec::new(),
    };
    let title = r.title();
    let country = r.choice("country", parse_country, "UK, EU, US");
    let currency = r.choice("currency", parse_currency, "GBP, EUR, USD");
    let gross_it_load_mw = r.required_number("gross_it_load_mw", Interval::above(0.0, 2000.0));
    let pue = r.required_number("pue", Interval::closed(1.0, 3.0));
    let lease_years = r.lease_years();
    let tenant_rating = r.tenant_rating();
    let rent = r.rent();
    let opex_pct = r.required_number("opex_pct", Interval::below(0.0, 0.9));
    let capex_cost_per_mw = r.required_number("capex_cost_per_mw", POSITIVE);
    let capex_market_per_mw = match r.value("capex_market_per_mw") {
        None => capex_cost_per_mw,
        Some(v) => r.number("capex_market_per_mw", v, POSITIVE),
    };
    let land_fees_total = r.optional_number("land_fees_total", NON_NEGATIVE, 0.0);
    let arranger_fee_pct = r.optional_number("arranger_fee_pct", FEE_PCT, 0.0125);
    let legal_fee_pct = r.optional_number("legal_fee_pct", FEE_PCT, 0.0025);
    let rating_fee_pct = r.optional_number("rating_fee_pct", FEE_PCT, 0.0015);
    let cpi_base = r.optional_number("cpi_base", CPI_RATE, 0.025);
    let cpi_floor = r.optional_number("cpi_floor", CPI_BOUND, 0.0);
    let cpi_cap = r.optional_number("cpi_cap", CPI_BOUND, 0.04);
    let zcis_rate = r.optional_number("zcis_rate", CPI_RATE, 0.024);
    let sidecar_haircut_pct = r.optional_number("sidecar_haircut_pct", FRACTION, 0.15);
    let sidecar_discount_rate =
        r.optional_number("sidecar_discount_rate", Interval::closed(0.0, 0.30), 0.05);
    let wrap_premium_bps =
        r.optional_number("wrap_premium_bps", Interval::closed(0.0, 500.0), 25.0);
    let mezz_dscr = r.optional_number("mezz_dscr", Interval::closed(1.0, 5.0), 1.10);
    let mezz_coupon = r.optional_number("mezz_coupon", Interval::closed(0.0, 0.30), 0.09);
    let min_coverage = r.optional_number("min_coverage", FRACTION, 0.50);
    let repo_target = r.repo_target();
    cross_checks(&mut r, country, currency, (cpi_floor, cpi_cap));
    r.unknown_fields();
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    // No error was recorded, so every field holds a value; the fallbacks are never used.
    Ok(Project {
        title: title.unwrap_or_default(),
        country: country.unwrap_or(Country::UK),
        currency: currency.unwrap_or(Currency::GBP),
        gross_it_load_mw: gross_it_load_mw.unwrap_or(f64::NAN),
        pue: pue.unwrap_or(f64::NAN),
        lease_years: lease_years.unwrap_or(0),
        tenant_rating: tenant_rating.unwrap_or(Rating::Nr),
        rent: rent.unwrap_or(Rent::GrossMonthlyRent(f64::NAN)),
        opex_pct: opex_pct.unwrap_or(f64::NAN),
        capex_cost_per_mw: capex_cost_per_mw.unwrap_or(f64::NAN),
        capex_market_per_mw: capex_market_per_mw.unwrap_or(f64::NAN),
        land_fees_total: land_fees_total.unwrap_or(f64::NAN),
        arranger_fee_pct: arranger_fee_pct.unwrap_or(f64::NAN),
        legal_fee_pct: legal_fee_pct.unwrap_or(f64::NAN),
        rating_fee_pct: rating_fee_pct.unwrap_or(f64::NAN),
        cpi_base: cpi_base.unwrap_or(f64::NAN),
        cpi_floor: cpi_floor.unwrap_or(f64::NAN),
        cpi_cap: cpi_cap.unwrap_or(f64::NAN),
        zcis_rate: zcis_rate.unwrap_or(f64::NAN),
        sidecar_haircut_pct: sidecar_haircut_pct.unwrap_or(f64::NAN),
        sidecar_discount_rate: sidecar_discount_rate.unwrap_or(f64::NAN),
        wrap_premium_bps: wrap_premium_bps.unwrap_or(f64::NAN),
        mezz_dscr: mezz_dscr.unwrap_or(f64::NAN),
        mezz_coupon: mezz_coupon.unwrap_or(f64::NAN),
        min_coverage: min_coverage.unwrap_or(f64::NAN),
        repo_target: repo_target.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "title": "London DC Alpha",
            "country": "UK",
            "currency": "GBP",
            "gross_it_load_mw": 75,
            "pue": 1.25,
            "lease_years": 25,
            "tenant_rating": "AA",
            "gross_monthly_rent": 2500000,
            "opex_pct": 0.22,
            "capex_cost_per_mw": 5400000,
            "land_fees_total": 3500000
        })
    }

    fn with(field: &str, v: Value) -> Value {
        let mut p = base();
        p[field] = v;
        p
    }

    fn without(field: &str) -> Value {
        let mut p = base();
        if let Value::Object(m) = &mut p {
            m.remove(field);
        }
        p
    }

    fn errors(v: &Value) -> Vec<FieldError> {
        parse_project(v).expect_err("the project should be invalid")
    }

    /// Asserts exactly one error, on `field`, whose message contains every part of `says`.
    fn assert_one(v: &Value, field: &str, says: &[&str]) {
        let errs = errors(v);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].field, field, "{errs:?}");
        for s in says {
            assert!(
                errs[0].message.contains(s),
                "{:?} lacks {s:?}",
                errs[0].message
            );
        }
    }

    fn fixture_project(text: &str) -> Project {
        let doc: Value = serde_json::from_str(text).expect("fixture JSON");
        parse_project(&doc["project"]).expect("fixture project is valid")
    }

    #[test]
    fn london_fixture_parses_with_defaults() {
        let p = fixture_project(include_str!("../../fixtures/london-dc-alpha.json"));
        assert_eq!(p.title, "London DC Alpha");
        assert_eq!(p.country, Country::UK);
        assert_eq!(p.currency, Currency::GBP);
        assert_eq!(p.lease_years, 25);
        assert_eq!(p.tenant_rating, Rating::Aa);
        assert_eq!(p.rent, Rent::GrossMonthlyRent(2_500_000.0));
        assert_eq!(p.capex_market_per_mw, 5_400_000.0);
        assert_eq!(p.arranger_fee_pct, 0.0125);
        assert_eq!(p.legal_fee_pct, 0.0025);
        assert_eq!(p.rating_fee_pct, 0.0015);
        assert_eq!(p.cpi_base, 0.025);
        assert_eq!((p.cpi_floor, p.cpi_cap), (0.0, 0.04));
        assert_eq!(p.zcis_rate, 0.024);
        assert_eq!(p.sidecar_haircut_pct, 0.15);
        assert_eq!(p.sidecar_discount_rate, 0.05);
        assert_eq!(p.wrap_premium_bps, 25.0);
        assert_eq!(p.mezz_dscr, 1.10);
        assert_eq!(p.mezz_coupon, 0.09);
        assert_eq!(p.min_coverage, 0.50);
        assert!(!p.repo_target);
    }

    #[test]
    fn every_fixture_project_parses() {
        let small = fixture_project(include_str!("../../fixtures/small.json"));
        assert_eq!(small.rent, Rent::RentPerKwhMonth(0.12));
        assert_eq!(small.tenant_rating, Rating::A);
        let medium = fixture_project(include_str!("../../fixtures/medium.json"));
        assert_eq!(medium.capex_market_per_mw, 8_500_000.0);
        assert_eq!(medium.country, Country::EU);
        assert!(medium.repo_target);
        let large = fixture_project(include_str!("../../fixtures/large.json"));
        assert_eq!(large.currency, Currency::USD);
        assert_eq!(large.tenant_rating, Rating::Aaa);
    }

    #[test]
    fn null_optional_fields_take_their_defaults() {
        let p = parse_project(&with("cpi_cap", Value::Null)).expect("valid");
        assert_eq!(p.cpi_cap, 0.04);
        let p = parse_project(&with("capex_market_per_mw", Value::Null)).expect("valid");
        assert_eq!(p.capex_market_per_mw, 5_400_000.0);
        let p = parse_project(&with("repo_target", Value::Null)).expect("valid");
        assert!(!p.repo_target);
        let p = parse_project(&with("land_fees_total", Value::Null)).expect("valid");
        assert_eq!(p.land_fees_total, 0.0);
    }

    #[test]
    fn explicit_optional_fields_are_kept() {
        let mut v = base();
        v["capex_market_per_mw"] = json!(6e6);
        v["repo_target"] = json!(true);
        v["cpi_floor"] = json!(0.01);
        v["cpi_cap"] = json!(0.01);
        v["opex_pct"] = json!(0);
        let p = parse_project(&v).expect("valid");
        assert_eq!(p.capex_market_per_mw, 6e6);
        assert!(p.repo_target);
        assert_eq!((p.cpi_floor, p.cpi_cap), (0.01, 0.01));
        assert_eq!(p.opex_pct, 0.0);
    }

    #[test]
    fn non_object_is_an_error_on_project() {
        for v in [json!([1]), json!("x"), json!(3), Value::Null] {
            assert_one(&v, "project", &["must be an object"]);
        }
    }

    #[test]
    fn unknown_fields_are_errors() {
        assert_one(
            &with("colour", json!("red")),
            "project.colour",
            &["not a known"],
        );
    }

    #[test]
    fn required_fields_are_required() {
        for f in [
            "title",
            "country",
            "currency",
            "gross_it_load_mw",
            "pue",
            "lease_years",
            "tenant_rating",
            "opex_pct",
            "capex_cost_per_mw",
        ] {
            let errs = errors(&without(f));
            let path = format!("project.{f}");
            assert!(errs
                .iter()
                .any(|e| e.field == path && e.message.contains("is required")));
            let errs = errors(&with(f, Value::Null));
            assert!(errs
                .iter()
                .any(|e| e.field == path && e.message.contains("is required")));
        }
    }

    #[test]
    fn out_of_range_numbers_name_the_range_and_the_value() {
        let cases: &[(&str, Value, &[&str])] = &[
            ("gross_it_load_mw", json!(-5), &["> 0 and ≤ 2000", "got -5"]),
            ("gross_it_load_mw", json!(0), &["> 0", "got 0"]),
            ("gross_it_load_mw", json!(2000.5), &["≤ 2000", "got 2000.5"]),
            ("pue", json!(0.99), &["≥ 1 and ≤ 3", "got 0.99"]),
            ("pue", json!(3.01), &["got 3.01"]),
            ("gross_monthly_rent", json!(0), &["> 0", "got 0"]),
            ("opex_pct", json!(0.9), &["≥ 0 and < 0.9", "got 0.9"]),
            ("opex_pct", json!(-0.01), &["got -0.01"]),
            ("capex_cost_per_mw", json!(0), &["> 0", "got 0"]),
            ("capex_market_per_mw", json!(-1), &["> 0", "got -1"]),
            ("land_fees_total", json!(-1), &["≥ 0", "got -1"]),
            (
                "arranger_fee_pct",
                json!(0.11),
                &["≥ 0 and ≤ 0.1", "got 0.11"],
            ),
            ("legal_fee_pct", json!(-0.001), &["≤ 0.1", "got -0.001"]),
            ("rating_fee_pct", json!(0.2), &["got 0.2"]),
            (
                "cpi_base",
                json!(-0.06),
                &["≥ -0.05 and ≤ 0.2", "got -0.06"],
            ),
            ("cpi_base", json!(0.21), &["got 0.21"]),
            ("cpi_floor", json!(-0.01), &["≥ 0 and ≤ 0.2", "got -0.01"]),
            ("cpi_cap", json!(0.25), &["≥ 0 and ≤ 0.2", "got 0.25"]),
            ("zcis_rate", json!(0.3), &["≥ -0.05 and ≤ 0.2", "got 0.3"]),
            (
                "sidecar_haircut_pct",
                json!(1.5),
                &["≥ 0 and ≤ 1", "got 1.5"],
            ),
            ("sidecar_discount_rate", json!(0.31), &["≤ 0.3", "got 0.31"]),
            (
                "wrap_premium_bps",
                json!(501),
                &["≥ 0 and ≤ 500", "got 501"],
            ),
            ("mezz_dscr", json!(0.9), &["≥ 1 and ≤ 5", "got 0.9"]),
            ("mezz_coupon", json!(0.35), &["≥ 0 and ≤ 0.3", "got 0.35"]),
            ("min_coverage", json!(1.01), &["≥ 0 and ≤ 1", "got 1.01"]),
        ];
        for (field, v, says) in cases {
            assert_one(&with(field, v.clone()), &format!("project.{field}"), says);
        }
    }

    #[test]
    fn range_ends_are_exact() {
        for (field, v) in [
            ("gross_it_load_mw", json!(2000)),
            ("pue", json!(1.0)),
            ("pue", json!(3)),
            ("arranger_fee_pct", json!(0.1)),
            ("cpi_base", json!(-0.05)),
            ("zcis_rate", json!(0.2)),
            ("sidecar_haircut_pct", json!(1)),
            ("wrap_premium_bps", json!(500)),
            ("mezz_dscr", json!(5)),
            ("min_coverage", json!(0)),
            ("lease_years", json!(5)),
            ("lease_years", json!(40)),
        ] {
            assert!(parse_project(&with(field, v)).is_ok(), "{field}");
        }
    }

    #[test]
    fn wrong_types_name_the_expected_type() {
        let cases: &[(&str, Value, &str)] = &[
            ("title", json!(5), "must be a string"),
            ("country", json!(true), "must be a string"),
            ("currency", json!(["GBP"]), "must be a string"),
            ("tenant_rating", json!(1), "must be a string"),
            ("pue", json!("1.2"), "must be a number"),
            ("gross_monthly_rent", json!("big"), "must be a number"),
            ("capex_market_per_mw", json!({}), "must be a number"),
            ("cpi_cap", json!(false), "must be a number"),
            ("lease_years", json!("25"), "must be an integer"),
            ("repo_target", json!("yes"), "must be a boolean"),
            ("repo_target", json!(1), "must be a boolean"),
        ];
        for (field, v, says) in cases {
            assert_one(
                &with(field, v.clone()),
                &format!("project.{field}"),
                &[says],
            );
        }
    }

    #[test]
    fn lease_years_accepts_integral_numbers_only() {
        let p = parse_project(&with("lease_years", json!(25.0))).expect("25.0 is integral");
        assert_eq!(p.lease_years, 25);
        assert_one(
            &with("lease_years", json!(25.5)),
            "project.lease_years",
            &["integer", "25.5"],
        );
        assert_one(
            &with("lease_years", json!(4)),
            "project.lease_years",
            &["5 and 40", "got 4"],
        );
        assert_one(
            &with("lease_years", json!(41)),
            "project.lease_years",
            &["got 41"],
        );
        assert_one(
            &with("lease_years", json!(-3)),
            "project.lease_years",
            &["got -3"],
        );
        assert_one(
            &with("lease_years", json!(1e300)),
            "project.lease_years",
            &["5 and 40"],
        );
    }

    #[test]
    fn enums_are_case_sensitive() {
        assert_one(
            &with("country", json!("uk")),
            "project.country",
            &["UK, EU, US", "\"uk\""],
        );
        assert_one(
            &with("currency", json!("gbp")),
            "project.currency",
            &["GBP, EUR, USD", "\"gbp\""],
        );
        assert_one(
            &with("tenant_rating", json!("aa")),
            "project.tenant_rating",
            &["rating", "\"aa\""],
        );
        assert_one(
            &with("tenant_rating", json!("XYZ")),
            "project.tenant_rating",
            &["\"XYZ\""],
        );
    }

    #[test]
    fn tenant_may_not_be_ccc_but_may_be_nr_or_b_minus() {
        assert_one(
            &with("tenant_rating", json!("CCC")),
            "project.tenant_rating",
            &["CCC"],
        );
        assert!(parse_project(&with("tenant_rating", json!("NR"))).is_ok());
        assert!(parse_project(&with("tenant_rating", json!("B-"))).is_ok());
    }

    #[test]
    fn title_length_counts_characters() {
        assert_one(
            &with("title", json!("")),
            "project.title",
            &["1 to 200", "got 0"],
        );
        let long = "x".repeat(201);
        assert_one(&with("title", json!(long)), "project.title", &["got 201"]);
        let wide = "é".repeat(200); // 400 bytes, 200 characters
        assert!(parse_project(&with("title", json!(wide))).is_ok());
    }

    #[test]
    fn exactly_one_rent_field() {
        let neither = without("gross_monthly_rent");
        assert_one(
            &neither,
            "project.gross_monthly_rent",
            &["exactly one", "neither"],
        );
        let both = with("rent_per_kwh_month", json!(0.1));
        assert_one(
            &both,
            "project.gross_monthly_rent",
            &["exactly one", "both"],
        );
        let mut kwh = without("gross_monthly_rent");
        kwh["rent_per_kwh_month"] = json!(-0.1);
        assert_one(&kwh, "project.rent_per_kwh_month", &["> 0", "got -0.1"]);
        let mut null_gross = with("gross_monthly_rent", Value::Null);
        null_gross["rent_per_kwh_month"] = json!(0.1);
        let p = parse_project(&null_gross).expect("null rent means absent");
        assert_eq!(p.rent, Rent::RentPerKwhMonth(0.1));
    }

    #[test]
    fn currency_must_pair_with_country() {
        for (country, currency) in [("UK", "EUR"), ("EU", "USD"), ("US", "GBP")] {
            let mut v = with("country", json!(country));
            v["currency"] = json!(currency);
            assert_one(&v, "project.currency", &[country, currency]);
        }
        let mut v = with("country", json!("US"));
        v["currency"] = json!("USD");
        assert!(parse_project(&v).is_ok());
    }

    #[test]
    fn cpi_floor_above_cap_is_reported_on_the_floor() {
        let mut v = with("cpi_floor", json!(0.05));
        v["cpi_cap"] = json!(0.03);
        assert_one(&v, "project.cpi_floor", &["cpi_cap", "0.05"]);
        // The default cap (0.04) applies too.
        assert_one(
            &with("cpi_floor", json!(0.045)),
            "project.cpi_floor",
            &["0.045"],
        );
    }

    #[test]
    fn every_violation_is_reported_at_once() {
        let v = json!({
            "title": "",
            "country": "FR",
            "currency": "GBP",
            "gross_it_load_mw": -5,
            "pue": 1.2,
            "lease_years": 25.5,
            "tenant_rating": "CCC",
            "opex_pct": 0.95,
            "capex_cost_per_mw": 1,
            "cpi_floor": 0.1,
            "cpi_cap": 0.05,
            "repo_target": "no",
            "bogus": 1
        });
        let fields: Vec<String> = errors(&v).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "project.title",
                "project.country",
                "project.gross_it_load_mw",
                "project.lease_years",
                "project.tenant_rating",
                "project.gross_monthly_rent",
                "project.opex_pct",
                "project.repo_target",
                "project.cpi_floor",
                "project.bogus",
            ]
        );
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = json!("y".repeat(500));
        let errs = errors(&with("pue", long));
        assert!(errs[0].message.chars().count() < 120);
        assert!(errs[0].message.ends_with('…'));
    }

    #[test]
    fn integer_helper_accepts_integral_numbers() {
        assert_eq!(integer(&json!(10)), Some(10));
        assert_eq!(integer(&json!(10.0)), Some(10));
        assert_eq!(integer(&json!(-2)), Some(-2));
        assert_eq!(integer(&json!(u64::MAX)), Some(i128::from(u64::MAX)));
        assert_eq!(integer(&json!(10.5)), None);
        assert_eq!(integer(&json!("10")), None);
    }
}
