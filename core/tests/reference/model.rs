//! A deliberately naive reference model of engine.md, read literally, month by month.
//!
//! Nothing here shares code with the engine's kernel: only the public input types
//! (`RunInput`, `Project`, `Ranges`, `LeverSet`), the rating scale and the ruleset's data
//! accessors are used. Every formula is written from the spec text; comments cite it.

use phase1_core::levers::{Amort, Indexation, LeverSet, Ranges};
use phase1_core::project::{Project, Rent};
use phase1_core::rating::Rating;
use phase1_core::request::RunInput;
use phase1_core::rules::RuleKey;
use phase1_core::ruleset::Ruleset;

// ---------------------------------------------------------------------------------------
// Conventions: thresholds with an absolute tolerance of 1e-9, accurate sums.
// ---------------------------------------------------------------------------------------

/// Conventions: every threshold comparison uses an absolute tolerance of 1e-9.
pub const EPS: f64 = 1e-9;

/// "x ≥ a" holds when x ≥ a − 1e-9.
pub fn ge(x: f64, a: f64) -> bool {
    x >= a - EPS
}

/// "x ≤ a" holds when x ≤ a + 1e-9.
pub fn le(x: f64, a: f64) -> bool {
    x <= a + EPS
}

/// "x < a" holds when x < a − 1e-9.
pub fn lt(x: f64, a: f64) -> bool {
    x < a - EPS
}

/// Neumaier-compensated sum (Conventions: prefer compensated summation over months).
pub fn sum<I: IntoIterator<Item = f64>>(items: I) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for x in items {
        let t = s + x;
        if s.abs() >= x.abs() {
            c += (s - t) + x;
        } else {
            c += (x - t) + s;
        }
        s = t;
    }
    s + c
}

/// A running Neumaier-compensated sum: balances are B_t = B_0 − Σ_{s≤t} principal_s, a
/// sum over months (Conventions: compensated summation).
#[derive(Debug, Clone, Copy)]
pub struct Running {
    s: f64,
    c: f64,
}

impl Running {
    pub fn new(x: f64) -> Running {
        Running { s: x, c: 0.0 }
    }

    pub fn add(&mut self, x: f64) {
        let t = self.s + x;
        if self.s.abs() >= x.abs() {
            self.c += (self.s - t) + x;
        } else {
            self.c += (x - t) + self.s;
        }
        self.s = t;
    }

    pub fn value(&self) -> f64 {
        self.s + self.c
    }
}

/// (1 + r)^(−t) with powi (Conventions: discount with powi, not a running product).
fn disc(r: f64, t: usize) -> f64 {
    (1.0 + r).powi(-(t as i32))
}

fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

/// Conventions: a ≥ b on the rating scale (AAA best).
pub fn at_least(a: Rating, b: Rating) -> bool {
    a.position() <= b.position()
}

/// Lease year of month t: y(t) = ceil(t/12).
fn lease_year(t: usize) -> usize {
    t.div_ceil(12)
}

// ---------------------------------------------------------------------------------------
// §1 derived values
// ---------------------------------------------------------------------------------------

/// The derived preview of §1, computed here from the project fields.
#[derive(Debug, Clone)]
pub struct Derived {
    pub r0: f64,
    pub market_value: f64,
    pub funding_need: f64,
    pub tenor_cap: u32,
    pub dscr_floor: f64,
    pub max_advance: f64,
}

impl Derived {
    pub fn of(p: &Project, rules: &Ruleset) -> Derived {
        let net_mw = p.gross_it_load_mw / p.pue;
        let r0 = match p.rent {
            Rent::GrossMonthlyRent(r) => r,
            Rent::RentPerKwhMonth(r) => net_mw * 1000.0 * 730.0 * r,
        };
        let capex = p.capex_cost_per_mw * p.gross_it_load_mw + p.land_fees_total;
        let market_value = p.capex_market_per_mw * p.gross_it_load_mw + p.land_fees_total;
        let fees = (p.arranger_fee_pct + p.legal_fee_pct + p.rating_fee_pct) * capex;
        let bucket = p.tenant_rating.bucket();
        Derived {
            r0,
            market_value,
            funding_need: capex + fees,
            tenor_cap: (p.lease_years - 2).min(rules.max_tenor(bucket)),
            dscr_floor: rules.dscr_floor(bucket) + rules.jurisdiction_adjust(p.country),
            max_advance: rules.max_advance(bucket),
        }
    }
}

/// §2: permutation index → lever values (mixed radix, canonical order, last fastest).
pub fn decode(ranges: &Ranges, index: u64) -> LeverSet {
    let counts = [
        ranges.senior_tenor.values.len(),
        ranges.senior_coupon.values.len(),
        ranges.senior_dscr.values.len(),
        ranges.senior_amort.values.len(),
        ranges.indexation_mode.values.len(),
        ranges.zcis_tenor_years.values.len(),
        ranges.mezz_on.values.len(),
        ranges.wrap.values.len(),
    ];
    let mut d = [0usize; 8];
    let mut rest = index as usize;
    for i in (0..8).rev() {
        d[i] = rest % counts[i];
        rest /= counts[i];
    }
    LeverSet {
        senior_tenor: ranges.senior_tenor.values[d[0]],
        senior_coupon: ranges.senior_coupon.values[d[1]],
        senior_dscr: ranges.senior_dscr.values[d[2]],
        senior_amort: ranges.senior_amort.values[d[3]],
        indexation_mode: ranges.indexation_mode.values[d[4]],
        zcis_tenor_years: ranges.zcis_tenor_years.values[d[5]],
        mezz_on: ranges.mezz_on.values[d[6]],
        wrap: ranges.wrap.values[d[7]],
    }
}

pub fn cardinality(ranges: &Ranges) -> u64 {
    (ranges.senior_tenor.values.len()
        * ranges.senior_coupon.values.len()
        * ranges.senior_dscr.values.len()
        * ranges.senior_amort.values.len()
        * ranges.indexation_mode.values.len()
        * ranges.zcis_tenor_years.values.len()
        * ranges.mezz_on.values.len()
        * ranges.wrap.values.len()) as u64
}

// ---------------------------------------------------------------------------------------
// §3 cash flows
// ---------------------------------------------------------------------------------------

/// A scenario of §3: CPI for unhedged step-ups, rent factor, opex multiplier.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub cpi: f64,
    pub rent_factor: f64,
    pub opex_mult: f64,
}

/// `base` then the four stresses in ruleset order (§3, §7).
pub fn scenarios(p: &Project, rules: &Ruleset) -> (Scenario, Vec<Scenario>) {
    let base = Scenario {
        name: "base".into(),
        cpi: p.cpi_base,
        rent_factor: 1.0,
        opex_mult: 1.0,
    };
    let stresses = rules
        .scenarios()
        .iter()
        .map(|s| Scenario {
            name: s.name.clone(),
            cpi: s.cpi.unwrap_or(p.cpi_base),
            rent_factor: s.rent_factor,
            opex_mult: s.opex_multiplier,
        })
        .collect();
    (base, stresses)
}

/// §3: CFADS c_t for t = 1..12·L (index 0 is month 1).
pub fn cfads(p: &Project, dv: &Derived, lv: &LeverSet, s: &Scenario) -> Vec<f64> {
    let l = p.lease_years as usize;
    let z = lv.zcis_tenor_years as usize;
    let keep = 1.0 - (p.opex_pct * s.opex_mult).min(0.99);
    (1..=12 * l)
        .map(|t| {
            let rent = match lv.indexation_mode {
                Indexation::Flat => dv.r0 * s.rent_factor,
                Indexation::CpiCapped => {
                    // Π_{y=2..y(t)} (1 + g_y); the step-up at the start of year y is hedged
                    // when y − 1 ≤ Z.
                    let mut f = 1.0;
                    for y in 2..=lease_year(t) {
                        let h = if y - 1 <= z { p.zcis_rate } else { s.cpi };
                        f *= 1.0 + clamp(h, p.cpi_floor, p.cpi_cap);
                    }
                    dv.r0 * s.rent_factor * f
                }
            };
            rent * keep
        })
        .collect()
}

/// §3 sidecar: (gross, net); only for flat indexation with Z > 0.
pub fn sidecar(p: &Project, dv: &Derived, lv: &LeverSet) -> (f64, f64) {
    let z = lv.zcis_tenor_years as usize;
    if lv.indexation_mode != Indexation::Flat || z == 0 {
        return (0.0, 0.0);
    }
    let zp = (z + 1).min(p.lease_years as usize);
    let g = clamp(p.zcis_rate, p.cpi_floor, p.cpi_cap);
    let d = p.sidecar_discount_rate / 12.0;
    let gross = sum((1..=12 * zp).map(|t| {
        let mut x = dv.r0;
        for _y in 2..=lease_year(t) {
            x *= 1.0 + g;
        }
        let e = (x - dv.r0) * (1.0 - p.opex_pct);
        e * disc(d, t)
    }));
    (gross, gross * (1.0 - p.sidecar_haircut_pct))
}

// ---------------------------------------------------------------------------------------
// §4 sizing
// ---------------------------------------------------------------------------------------

/// One month of the schedule (§4, §10).
#[derive(Debug, Clone)]
pub struct Row {
    pub cfads: f64,
    pub ds: f64,
    pub interest: f64,
    pub wrap_fee: f64,
    pub principal: f64,
    pub balance: f64,
    /// (ds, interest, principal, balance) with mezz_on.
    pub mezz: Option<[f64; 4]>,
}

#[derive(Debug, Clone)]
pub struct Mezz {
    pub amount: f64,
    pub wal: Option<f64>,
    pub min_dscr_combined: f64,
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub eligible: bool,
    pub haircut: Option<f64>,
    pub value: Option<f64>,
    /// Failed criteria with their shortfalls, in §5 order.
    pub failures: Vec<(&'static str, f64)>,
}

#[derive(Debug, Clone)]
pub struct Score {
    pub capital: f64,
    pub resilience: f64,
    pub rating: f64,
    pub simplicity: f64,
    pub total: f64,
}

/// A sized permutation (§4, §5, score of §6).
#[derive(Debug, Clone)]
pub struct Sized {
    /// K, the uncapped senior capacity (kept for inspection; D_eff = D · K / Senior).
    #[allow(dead_code)]
    pub k: f64,
    pub senior: f64,
    pub binding: &'static str,
    pub min_dscr: f64,
    pub avg_dscr: f64,
    pub wal: f64,
    pub llcr: f64,
    pub ltv: f64,
    pub mezz: Option<Mezz>,
    pub sidecar_gross: f64,
    pub sidecar_net: f64,
    pub debt: f64,
    pub equity: f64,
    pub coverage: f64,
    pub day_one_total: f64,
    /// (name, stress DSCR) in ruleset order.
    pub stress: Vec<(String, f64)>,
    pub min_stress: f64,
    pub worst: String,
    pub unwrapped: Rating,
    pub effective: Rating,
    pub repo: Repo,
    pub score: Score,
    pub rows: Vec<Row>,
}

/// §4: sizes a permutation (only called with senior_tenor ≤ lease_years).
pub fn size(p: &Project, dv: &Derived, lv: &LeverSet, rules: &Ruleset) -> Sized {
    let n = 12 * lv.senior_tenor as usize;
    let (base, stresses) = scenarios(p, rules);
    let c_all = cfads(p, dv, lv, &base);
    let c = &c_all[..n];
    let d = lv.senior_dscr;
    let premium = if lv.wrap {
        p.wrap_premium_bps / 10_000.0
    } else {
        0.0
    };
    // Effective senior rate r = (coupon + wrap premium) / 12.
    let r = (lv.senior_coupon + premium) / 12.0;

    // Senior capacity K and the unscaled debt service.
    let (k, ds0): (f64, Vec<f64>) = match lv.senior_amort {
        Amort::Sculpted => {
            let ds: Vec<f64> = c.iter().map(|ct| ct / d).collect();
            let k = sum(ds.iter().enumerate().map(|(i, x)| x * disc(r, i + 1)));
            (k, ds)
        }
        Amort::Annuity => {
            let pmt = c.iter().map(|ct| ct / d).fold(f64::INFINITY, f64::min);
            let k = if r == 0.0 {
                pmt * n as f64
            } else {
                pmt * (1.0 - (1.0 + r).powi(-(n as i32))) / r
            };
            (k, vec![pmt; n])
        }
    };

    // Caps and the binding limit (ties resolve DSCR, ADVANCE, FUNDING).
    let advance_cap = dv.max_advance * dv.market_value;
    let funding_cap = dv.funding_need;
    let senior = k.min(advance_cap).min(funding_cap);
    let binding = if senior == k {
        "DSCR"
    } else if advance_cap <= funding_cap {
        "ADVANCE"
    } else {
        "FUNDING"
    };
    let s = senior / k;
    let ds: Vec<f64> = ds0.iter().map(|x| x * s).collect();

    // Senior schedule: B_0 = Senior, interest and wrap fee on B_{t−1}.
    let mut rows = Vec::with_capacity(n);
    let mut bal = Running::new(senior);
    for t in 0..n {
        let b = bal.value();
        let interest = b * lv.senior_coupon / 12.0;
        let wrap_fee = b * premium / 12.0;
        let principal = ds[t] - interest - wrap_fee;
        bal.add(-principal);
        let b = bal.value();
        rows.push(Row {
            cfads: c[t],
            ds: ds[t],
            interest,
            wrap_fee,
            principal,
            balance: b,
            mezz: None,
        });
    }

    // Senior metrics.
    let ratios: Vec<f64> = (0..n).map(|t| c[t] / ds[t]).collect();
    let min_dscr = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let avg_dscr = sum(ratios.iter().copied()) / n as f64;
    let wal = sum((0..n).map(|t| ((t + 1) as f64 / 12.0) * rows[t].principal / senior));
    let llcr = sum((0..n).map(|t| c[t] * disc(r, t + 1))) / senior;
    let ltv = senior / dv.market_value;

    // Mezzanine, sculpted to the residual.
    let mezz = if lv.mezz_on {
        Some(mezzanine(p, dv, c, &ds, senior, rules, &mut rows))
    } else {
        None
    };
    let mezz_amount = mezz.as_ref().map_or(0.0, |m| m.amount);

    // Totals.
    let (sidecar_gross, sidecar_net) = sidecar(p, dv, lv);
    let debt = senior + mezz_amount;
    let equity = dv.funding_need - debt;
    let coverage = debt / dv.funding_need;
    let day_one_total = debt + sidecar_net;

    // Stress, debt service held as sized.
    let stress: Vec<(String, f64)> = stresses
        .iter()
        .map(|sc| {
            let cs = cfads(p, dv, lv, sc);
            let m = (0..n).map(|t| cs[t] / ds[t]).fold(f64::INFINITY, f64::min);
            (sc.name.clone(), m)
        })
        .collect();
    let min_stress = stress.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
    let worst = stress
        .iter()
        .find(|x| x.1 <= min_stress + EPS)
        .map(|x| x.0.clone())
        .unwrap();

    // §5 rating and repo.
    let unwrapped = senior_rating(p, lv, min_dscr, ltv, rules);
    let effective = if lv.wrap {
        let ins = rules.wrap().insurer_rating;
        if at_least(unwrapped, ins) {
            unwrapped
        } else {
            ins
        }
    } else {
        unwrapped
    };
    let repo = repo(p, lv, unwrapped, min_dscr, ltv, wal, senior, rules);

    let score = score(p, lv, dv, day_one_total, min_stress, effective, rules);

    Sized {
        k,
        senior,
        binding,
        min_dscr,
        avg_dscr,
        wal,
        llcr,
        ltv,
        mezz,
        sidecar_gross,
        sidecar_net,
        debt,
        equity,
        coverage,
        day_one_total,
        stress,
        min_stress,
        worst,
        unwrapped,
        effective,
        repo,
        score,
        rows,
    }
}

/// §4 mezzanine: sculpted to the residual, scaled to the caps, with its own schedule.
fn mezzanine(
    p: &Project,
    dv: &Derived,
    c: &[f64],
    ds: &[f64],
    senior: f64,
    rules: &Ruleset,
    rows: &mut [Row],
) -> Mezz {
    let n = c.len();
    let raw: Vec<f64> = (0..n)
        .map(|t| (c[t] / p.mezz_dscr - ds[t]).max(0.0))
        .collect();
    let rm = p.mezz_coupon / 12.0;
    let km = sum(raw.iter().enumerate().map(|(i, x)| x * disc(rm, i + 1)));
    let amount = km
        .min(dv.funding_need - senior)
        .min(rules.max_total_ltv() * dv.market_value - senior)
        .max(0.0);
    let scale = if km == 0.0 { 0.0 } else { amount / km };
    let mut bal = Running::new(amount);
    let mut wal_terms = Vec::with_capacity(n);
    let mut combined = f64::INFINITY;
    for t in 0..n {
        let dsm = raw[t] * scale;
        let interest = bal.value() * rm;
        let principal = dsm - interest;
        bal.add(-principal);
        rows[t].mezz = Some([dsm, interest, principal, bal.value()]);
        wal_terms.push(((t + 1) as f64 / 12.0) * principal / amount);
        combined = combined.min(c[t] / (ds[t] + dsm));
    }
    Mezz {
        amount,
        wal: if amount == 0.0 {
            None
        } else {
            Some(sum(wal_terms))
        },
        min_dscr_combined: combined,
    }
}

/// §5: the first matrix row whose four conditions hold, else CCC.
fn senior_rating(p: &Project, lv: &LeverSet, min_dscr: f64, ltv: f64, rules: &Ruleset) -> Rating {
    rules
        .rating_matrix(p.country)
        .iter()
        .find(|row| {
            ge(min_dscr, row.dscr)
                && at_least(p.tenant_rating, row.tenant_min)
                && le(ltv, row.max_ltv)
                && lv.senior_tenor <= row.max_tenor
        })
        .map_or(Rating::Ccc, |row| row.rating)
}

/// §5 repo eligibility on the unwrapped rating; haircut from the band table.
#[allow(clippy::too_many_arguments)]
fn repo(
    p: &Project,
    lv: &LeverSet,
    unwrapped: Rating,
    min_dscr: f64,
    ltv: f64,
    wal: f64,
    senior: f64,
    rules: &Ruleset,
) -> Repo {
    let c = rules.repo(p.country);
    let mut failures = Vec::new();
    if !at_least(unwrapped, c.min_rating) {
        let notches = (unwrapped.position() - c.min_rating.position()) as f64;
        failures.push(("REPO_MIN_RATING", notches));
    }
    if !ge(min_dscr, c.min_dscr) {
        failures.push(("REPO_MIN_DSCR", c.min_dscr - min_dscr));
    }
    if !le(ltv, c.max_ltv) {
        failures.push(("REPO_MAX_LTV", ltv - c.max_ltv));
    }
    if lv.senior_tenor > c.max_tenor {
        failures.push((
            "REPO_MAX_TENOR",
            lv.senior_tenor as f64 - c.max_tenor as f64,
        ));
    }
    if !failures.is_empty() {
        return Repo {
            eligible: false,
            haircut: None,
            value: None,
            failures,
        };
    }
    let haircut = haircut(unwrapped, wal, rules).expect("eligible ratings have a haircut band");
    Repo {
        eligible: true,
        haircut: Some(haircut),
        value: Some(senior * (1.0 - haircut)),
        failures,
    }
}

/// §7 haircut table read from the ruleset data: band by rating, bucket by wal (≤ breaks).
fn haircut(rating: Rating, wal: f64, rules: &Ruleset) -> Option<f64> {
    let table = &rules.raw().repo_haircuts;
    let band = table.bands.iter().find(|b| {
        let best = Rating::parse(&b.best).unwrap();
        let worst = Rating::parse(&b.worst).unwrap();
        at_least(rating, worst) && at_least(best, rating)
    })?;
    let i = table
        .wal_breaks
        .iter()
        .position(|&brk| le(wal, brk))
        .unwrap_or(table.wal_breaks.len());
    Some(band.haircuts[i])
}

/// §6 score, each part clamped to [0, its maximum].
fn score(
    p: &Project,
    lv: &LeverSet,
    dv: &Derived,
    day_one_total: f64,
    min_stress: f64,
    effective: Rating,
    rules: &Ruleset,
) -> Score {
    let sp = rules.score();
    let capital = clamp(
        sp.w_capital * (day_one_total / (sp.capital_full_at * dv.funding_need)).min(1.0),
        0.0,
        sp.w_capital,
    );
    let resilience = sp.w_resilience
        * clamp(
            (min_stress - sp.resilience_from) / (sp.resilience_to - sp.resilience_from),
            0.0,
            1.0,
        );
    let rating = sp.w_rating * sp.rating_score[effective.position()] / 100.0;
    let simplicity = (sp.w_simplicity
        - if lv.mezz_on { sp.cost_mezz } else { 0.0 }
        - if lv.wrap { sp.cost_wrap } else { 0.0 }
        - if lv.zcis_tenor_years > 0 {
            sp.cost_hedge
        } else {
            0.0
        })
    .max(0.0);
    let _ = p;
    Score {
        capital,
        resilience,
        rating,
        simplicity,
        total: capital + resilience + rating + simplicity,
    }
}

// ---------------------------------------------------------------------------------------
// §6 gates, tiers, near-misses
// ---------------------------------------------------------------------------------------

/// One rule's result, with whether a failure of it qualifies as a near-miss.
#[derive(Debug, Clone)]
pub struct RuleResult {
    pub key: RuleKey,
    pub passed: bool,
    pub shortfall: f64,
    /// Failing within the band (and the rule's special conditions).
    pub within_band: bool,
    /// REPO_ELIGIBILITY: the one failed criterion, when exactly one fails.
    pub repo_failure: Option<&'static str>,
}

fn rule(key: RuleKey, passed: bool, shortfall: f64, rules: &Ruleset) -> RuleResult {
    let shortfall = if passed { 0.0 } else { shortfall };
    let within_band = !passed && rules.band(key).is_some_and(|b| le(shortfall, b));
    RuleResult {
        key,
        passed,
        shortfall,
        within_band,
        repo_failure: None,
    }
}

/// Gate A (§6), before sizing.
pub fn gate_a(p: &Project, dv: &Derived, lv: &LeverSet, rules: &Ruleset) -> Vec<RuleResult> {
    let t = lv.senior_tenor;
    let d = lv.senior_dscr;
    let mut out = Vec::new();
    // TENOR_CAP: near-miss only when senior_tenor ≤ lease_years.
    let mut tc = rule(
        RuleKey::TenorCap,
        t <= dv.tenor_cap,
        t as f64 - dv.tenor_cap as f64,
        rules,
    );
    tc.within_band &= t <= p.lease_years;
    out.push(tc);
    // MIN_DSCR_SENIOR against the wrap-relieved floor.
    let floor = dv.dscr_floor
        - if lv.wrap {
            rules.wrap().dscr_relief
        } else {
            0.0
        };
    out.push(rule(RuleKey::MinDscrSenior, ge(d, floor), floor - d, rules));
    // MEZZ_DSCR_ORDER (mezz_on only): mezz_dscr < D, strict; no near-miss.
    if lv.mezz_on {
        let mut m = rule(
            RuleKey::MezzDscrOrder,
            lt(p.mezz_dscr, d),
            (p.mezz_dscr - d).max(0.0),
            rules,
        );
        m.within_band = false;
        out.push(m);
    }
    // ZCIS_TENOR.
    out.push(rule(
        RuleKey::ZcisTenor,
        lv.zcis_tenor_years <= t,
        lv.zcis_tenor_years as f64 - t as f64,
        rules,
    ));
    out
}

/// Gate B (§6), after sizing.
/// `repo_rules` off (§11): REPO_ELIGIBILITY is skipped.
pub fn gate_b(
    p: &Project,
    lv: &LeverSet,
    s: &Sized,
    rules: &Ruleset,
    repo_rules: bool,
) -> Vec<RuleResult> {
    let mut out = Vec::new();
    out.push(rule(
        RuleKey::MinCoverage,
        ge(s.coverage, p.min_coverage),
        p.min_coverage - s.coverage,
        rules,
    ));
    let smin = rules.stress_dscr_min();
    out.push(rule(
        RuleKey::StressDscr,
        ge(s.min_stress, smin),
        smin - s.min_stress,
        rules,
    ));
    let wal_max = rules.wal_max_ratio() * lv.senior_tenor as f64;
    out.push(rule(
        RuleKey::MaxWal,
        le(s.wal, wal_max),
        s.wal - wal_max,
        rules,
    ));
    if lv.wrap {
        let min_u = rules.wrap().min_underlying;
        let notches = s.unwrapped.position() as f64 - min_u.position() as f64;
        out.push(rule(
            RuleKey::WrapEligibility,
            at_least(s.unwrapped, min_u),
            notches,
            rules,
        ));
    }
    if p.repo_target && repo_rules {
        let f = &s.repo.failures;
        let mut r = rule(
            RuleKey::RepoEligibility,
            s.repo.eligible,
            f.first().map_or(0.0, |x| x.1),
            rules,
        );
        // No band beyond "exactly one criterion fails".
        r.within_band = f.len() == 1;
        r.repo_failure = if f.len() == 1 { Some(f[0].0) } else { None };
        out.push(r);
    }
    out
}

/// §6 tier of a structure that passed every rule.
pub fn tier_of(score: f64, rules: &Ruleset) -> &'static str {
    let names = ["Diamond", "Platinum", "Gold", "Silver", "Bronze"];
    let mins = rules.score().tier_min;
    for (name, min) in names.iter().zip(mins) {
        if ge(score, min) {
            return name;
        }
    }
    "Not Viable"
}

/// One permutation judged in full, as `evaluate` would (sized even when Gate A fails).
#[derive(Debug, Clone)]
pub struct Eval {
    pub index: u64,
    pub levers: LeverSet,
    pub sized: Option<Sized>,
    pub rules: Vec<RuleResult>,
    pub gate_a_failed: bool,
    pub gate_b_failed: bool,
    /// None when tiering is off (§11).
    pub tier: Option<&'static str>,
    /// (rule, shortfall) when a near-miss.
    pub near_miss: Option<(RuleKey, f64)>,
    /// The failed rule keys, in advisory mode only (§11).
    pub failed_rules: Option<Vec<RuleKey>>,
    /// False when the repo rules are off (§11): `repo` is null.
    pub repo_shown: bool,
}

impl Eval {
    pub fn score_ok(&self, rules: &Ruleset) -> bool {
        self.sized
            .as_ref()
            .is_some_and(|s| ge(s.score.total, rules.score().viable_min))
    }
}

/// Judges permutation `index` of `input` literally per §3–§6, under the options of §11.
pub fn evaluate(input: &RunInput, dv: &Derived, rules: &Ruleset, index: u64) -> Eval {
    let p = &input.project;
    let opts = input.options;
    let lv = decode(&input.ranges, index);
    let mut results = gate_a(p, dv, &lv, rules);
    let gate_a_failed = results.iter().any(|r| !r.passed);
    // Only permutations with senior_tenor ≤ lease_years are ever sized (§3, §10).
    let sized = (lv.senior_tenor <= p.lease_years).then(|| size(p, dv, &lv, rules));
    let mut gate_b_failed = false;
    if let Some(s) = &sized {
        let b = gate_b(p, &lv, s, rules, opts.repo_rules);
        gate_b_failed = b.iter().any(|r| !r.passed);
        results.extend(b);
    }
    let score_ok = sized
        .as_ref()
        .is_some_and(|s| ge(s.score.total, rules.score().viable_min));
    let failed: Vec<&RuleResult> = results.iter().filter(|r| !r.passed).collect();
    // Tier: Not Viable if any rule failed or score < 40 — in advisory mode the tier
    // ignores failures (score only); null when tiering is off.
    let counts_failures = opts.enforce_gates && !failed.is_empty();
    let tier = opts.tiering.then(|| {
        if counts_failures || !score_ok {
            "Not Viable"
        } else {
            tier_of(sized.as_ref().unwrap().score.total, rules)
        }
    });
    // Near-miss: the only failed rule over both gates, within its band, score ≥ 40; none
    // in advisory mode.
    let near_miss = (opts.enforce_gates && failed.len() == 1 && failed[0].within_band && score_ok)
        .then(|| (failed[0].key, failed[0].shortfall));
    let failed_rules = (!opts.enforce_gates).then(|| failed.iter().map(|r| r.key).collect());
    Eval {
        index,
        levers: lv,
        sized,
        rules: results,
        gate_a_failed,
        gate_b_failed,
        tier,
        near_miss,
        failed_rules,
        repo_shown: opts.repo_rules,
    }
}
