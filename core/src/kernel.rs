//! Sizing one permutation (engine spec §3–§5): the hot path of every run.
//!
//! [`Context`] precomputes, once per request, everything that depends on only a few levers:
//! CFADS profiles per (indexation, hedge tenor), discount tables per (coupon, wrap), the
//! mezzanine table and the sidecar per hedge tenor. [`Context::size`] then sizes a
//! permutation with sums over at most 40 lease years, never over the grid.

use crate::assess::{self, Repo, Score};
use crate::cashflow::{sidecar, Profile, Sidecar};
use crate::discount::YearTable;
use crate::finance::Sum;
use crate::levers::{Amort, Digits, Indexation, LeverSet, Ranges};
use crate::project::{Derived, Project};
use crate::rating::Rating;
use crate::request::Options;
use crate::ruleset::Ruleset;
use serde::Serialize;

/// The longest lease, hence the longest senior tenor, in years.
pub const MAX_YEARS: usize = 40;

/// Which cap set the senior amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Binding {
    /// The DSCR capacity K.
    Dscr = 0,
    /// max_advance · market_value.
    Advance = 1,
    /// The funding need.
    Funding = 2,
}

impl Binding {
    /// All limits in report order.
    pub const ALL: [Binding; 3] = [Binding::Dscr, Binding::Advance, Binding::Funding];

    /// The limit as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Dscr => "DSCR",
            Binding::Advance => "ADVANCE",
            Binding::Funding => "FUNDING",
        }
    }
}

/// A sized mezzanine tranche.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mezz {
    /// Amount raised.
    pub amount: f64,
    /// WAL in years (None when the amount is 0).
    pub wal: Option<f64>,
    /// min over t of CFADS / (senior + mezz service).
    pub min_dscr_combined: f64,
}

/// Every metric of a sized permutation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sized {
    /// Uncapped DSCR capacity K.
    pub capacity: f64,
    /// Senior amount.
    pub senior: f64,
    /// Which cap bound.
    pub binding: Binding,
    /// min CFADS / senior service.
    pub min_dscr: f64,
    /// mean CFADS / senior service.
    pub avg_dscr: f64,
    /// Senior WAL in years.
    pub wal: f64,
    /// Loan-life coverage ratio.
    pub llcr: f64,
    /// Senior / market value.
    pub ltv: f64,
    /// The mezzanine, when mezz_on.
    pub mezz: Option<Mezz>,
    /// The sidecar sale.
    pub sidecar: Sidecar,
    /// Senior + mezz.
    pub debt: f64,
    /// Funding need − debt.
    pub equity: f64,
    /// Debt / funding need.
    pub coverage: f64,
    /// Debt + sidecar net.
    pub day_one_total: f64,
    /// Stressed min DSCR per ruleset scenario, in ruleset order.
    pub stress: [f64; 4],
    /// The lowest stressed DSCR.
    pub min_stress: f64,
    /// Position (ruleset order) of the worst scenario.
    pub worst: usize,
    /// Rating before any wrap.
    pub unwrapped: Rating,
    /// Rating after the wrap.
    pub effective: Rating,
    /// Repo eligibility (None when the repo rules are off).
    pub repo: Option<Repo>,
    /// Score.
    pub score: Score,
}

/// Senior and mezzanine debt service per lease year, as sized (scaled).
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    /// Senior service per month, by lease year.
    pub senior: Vec<f64>,
    /// Mezzanine service per month, by lease year (None without mezz).
    pub mezz: Option<Vec<f64>>,
}

/// Everything about one request that does not depend on the permutation.
#[derive(Debug)]
pub struct Context<'a> {
    /// The project.
    pub project: &'a Project,
    /// The ruleset.
    pub rules: &'a Ruleset,
    /// The lever ranges.
    pub ranges: &'a Ranges,
    /// Engine options.
    pub options: Options,
    /// The derived preview.
    pub derived: Derived,
    profiles: Vec<Profile>,
    profile_of: Vec<usize>,
    rates: Vec<Option<YearTable>>,
    mezz_table: YearTable,
    sidecars: Vec<Sidecar>,
}

impl<'a> Context<'a> {
    /// Precomputes the per-request tables.
    pub fn new(
        project: &'a Project,
        ranges: &'a Ranges,
        options: Options,
        rules: &'a Ruleset,
    ) -> Context<'a> {
        let years = project.lease_years;
        let nz = ranges.zcis_tenor_years.values.len();
        let mut profiles = Vec::new();
        let mut profile_of = Vec::new();
        let mut sidecars = Vec::new();
        let mut flat: Option<usize> = None;
        for &mode in &ranges.indexation_mode.values {
            for &z in &ranges.zcis_tenor_years.values {
                // Flat CFADS do not depend on the hedge tenor: one profile serves them all.
                let id = match (mode, flat) {
                    (Indexation::Flat, Some(id)) => id,
                    _ => {
                        profiles.push(Profile::new(project, rules, mode, z));
                        profiles.len() - 1
                    }
                };
                if mode == Indexation::Flat {
                    flat = Some(id);
                }
                profile_of.push(id);
                sidecars.push(sidecar(project, mode, z));
            }
        }
        debug_assert_eq!(profile_of.len(), nz * ranges.indexation_mode.values.len());
        let wrap_rate = project.wrap_premium_bps / 10_000.0;
        let mut rates = Vec::new();
        for &c in &ranges.senior_coupon.values {
            for w in [false, true] {
                rates.push(
                    ranges
                        .wrap
                        .values
                        .contains(&w)
                        .then(|| YearTable::new(senior_rate(c, w, wrap_rate), years)),
                );
            }
        }
        Context {
            project,
            rules,
            ranges,
            options,
            derived: project.derive(rules),
            profiles,
            profile_of,
            rates,
            mezz_table: YearTable::new(project.mezz_coupon / 12.0, years),
            sidecars,
        }
    }

    fn combo(&self, d: Digits) -> usize {
        d.0[4] as usize * self.ranges.zcis_tenor_years.values.len() + d.0[5] as usize
    }

    /// The CFADS profile of a permutation.
    pub fn profile(&self, d: Digits) -> &Profile {
        &self.profiles[self.profile_of[self.combo(d)]]
    }

    fn rate_table(&self, d: Digits, wrap: bool) -> &YearTable {
        match &self.rates[d.0[1] as usize * 2 + usize::from(wrap)] {
            Some(t) => t,
            None => unreachable!("rate tables exist for every wrap value in the ranges"),
        }
    }

    /// Whether the permutation can be sized (the debt never outlives the lease).
    pub fn sizable(&self, lv: &LeverSet) -> bool {
        lv.senior_tenor <= self.project.lease_years
    }

    /// Unscaled senior service per month by lease year, and the capacity K it supports.
    fn senior_service(&self, lv: &LeverSet, d: Digits, ds: &mut [f64; MAX_YEARS]) -> f64 {
        let n = lv.senior_tenor as usize;
        let c = &self.profile(d).base[..n];
        match lv.senior_amort {
            Amort::Sculpted => {
                for (o, &cy) in ds.iter_mut().zip(c) {
                    *o = cy / lv.senior_dscr;
                }
            }
            Amort::Annuity => {
                let p = c.iter().fold(f64::INFINITY, |m, &x| m.min(x)) / lv.senior_dscr;
                ds[..n].fill(p);
            }
        }
        let pv = &self.rate_table(d, lv.wrap).pv;
        dot(&ds[..n], &pv[..n])
    }

    /// The uncapped capacity K of a permutation (any tenor up to the lease).
    pub fn capacity(&self, lv: &LeverSet, d: Digits) -> f64 {
        let mut ds = [0.0; MAX_YEARS];
        self.senior_service(lv, d, &mut ds)
    }

    /// Senior WAL in years at the permutation's levers (it does not depend on the DSCR or
    /// on the scale of the debt).
    pub fn senior_wal(&self, lv: &LeverSet, d: Digits) -> f64 {
        let mut ds = [0.0; MAX_YEARS];
        let k = self.senior_service(lv, d, &mut ds);
        let n = lv.senior_tenor as usize;
        dot(&ds[..n], &self.rate_table(d, lv.wrap).ann[..n]) / k / 12.0
    }

    /// Sizes a permutation. The caller guarantees [`Context::sizable`].
    pub fn size(&self, lv: &LeverSet, d: Digits) -> Sized {
        self.size_into(lv, d, None)
    }

    /// Sizes a permutation and returns its service by lease year, scaled as sized.
    pub fn size_with_service(&self, lv: &LeverSet, d: Digits) -> (Sized, Service) {
        let mut service = Service {
            senior: Vec::new(),
            mezz: None,
        };
        let sized = self.size_into(lv, d, Some(&mut service));
        (sized, service)
    }

    fn size_into(&self, lv: &LeverSet, d: Digits, service: Option<&mut Service>) -> Sized {
        let p = self.project;
        let dv = &self.derived;
        let n = lv.senior_tenor as usize;
        let profile = self.profile(d);
        let c = &profile.base[..n];
        let table = self.rate_table(d, lv.wrap);

        let mut ds = [0.0; MAX_YEARS];
        let k = self.senior_service(lv, d, &mut ds);
        let advance_cap = dv.max_advance * dv.market_value;
        let senior = k.min(advance_cap).min(dv.funding_need);
        let binding = if senior == k {
            Binding::Dscr
        } else if advance_cap <= dv.funding_need {
            Binding::Advance
        } else {
            Binding::Funding
        };
        let scale = senior / k;
        let wal = dot(&ds[..n], &table.ann[..n]) / k / 12.0;
        for x in &mut ds[..n] {
            *x *= scale;
        }
        let ds = &ds[..n];

        let mut min_dscr = f64::INFINITY;
        let mut sum_dscr = Sum::default();
        for (&cy, &s) in c.iter().zip(ds) {
            let r = cy / s;
            min_dscr = min_dscr.min(r);
            sum_dscr.add(r);
        }
        let avg_dscr = sum_dscr.value() / n as f64;
        let llcr = dot(c, &table.pv[..n]) / senior;
        let ltv = senior / dv.market_value;

        let mut mezz_ds = [0.0; MAX_YEARS];
        let mezz = lv.mezz_on.then(|| {
            let m = &mut mezz_ds[..n];
            for ((o, &cy), &s) in m.iter_mut().zip(c).zip(ds) {
                *o = (cy / p.mezz_dscr - s).max(0.0);
            }
            let km = dot(m, &self.mezz_table.pv[..n]);
            let amount = km
                .min(dv.funding_need - senior)
                .min(self.rules.max_total_ltv() * dv.market_value - senior)
                .max(0.0);
            let q = if km > 0.0 { amount / km } else { 0.0 };
            let wal = (amount > 0.0).then(|| dot(m, &self.mezz_table.ann[..n]) / km / 12.0);
            for x in m.iter_mut() {
                *x *= q;
            }
            let min_dscr_combined = c
                .iter()
                .zip(ds)
                .zip(m.iter())
                .fold(f64::INFINITY, |acc, ((&cy, &s), &sm)| {
                    acc.min(cy / (s + sm))
                });
            Mezz {
                amount,
                wal,
                min_dscr_combined,
            }
        });

        let mut stress = [f64::INFINITY; 4];
        for (out, cs) in stress.iter_mut().zip(&profile.stress) {
            *out = cs[..n]
                .iter()
                .zip(ds)
                .fold(f64::INFINITY, |acc, (&x, &s)| acc.min(x / s));
        }
        let min_stress = stress.iter().fold(f64::INFINITY, |m, &x| m.min(x));
        let worst = stress
            .iter()
            .position(|&x| x <= min_stress + crate::tol::EPS)
            .unwrap_or(0);

        let sidecar = self.sidecars[self.combo(d)];
        let debt = senior + mezz.map_or(0.0, |m| m.amount);
        let day_one_total = debt + sidecar.net;

        let unwrapped = assess::unwrapped_rating(
            self.rules,
            p.country,
            p.tenant_rating,
            min_dscr,
            ltv,
            lv.senior_tenor,
        );
        let effective = if lv.wrap {
            unwrapped.best(self.rules.wrap().insurer_rating)
        } else {
            unwrapped
        };
        let repo = self.options.repo_rules.then(|| {
            assess::repo(
                self.rules,
                p.country,
                unwrapped,
                min_dscr,
                ltv,
                lv.senior_tenor,
                wal,
                senior,
            )
        });
        let score = assess::score(
            self.rules,
            dv.funding_need,
            day_one_total,
            min_stress,
            effective,
            lv,
        );
        if let Some(out) = service {
            out.senior = ds.to_vec();
            out.mezz = lv.mezz_on.then(|| mezz_ds[..n].to_vec());
        }
        Sized {
            capacity: k,
            senior,
            binding,
            min_dscr,
            avg_dscr,
            wal,
            llcr,
            ltv,
            mezz,
            sidecar,
            debt,
            equity: dv.funding_need - debt,
            coverage: debt / dv.funding_need,
            day_one_total,
            stress,
            min_stress,
            worst,
            unwrapped,
            effective,
            repo,
            score,
        }
    }
}

/// Effective senior rate per month: (coupon + wrap premium when wrapped) / 12.
pub fn senior_rate(coupon: f64, wrap: bool, wrap_rate: f64) -> f64 {
    (coupon + if wrap { wrap_rate } else { 0.0 }) / 12.0
}

/// Compensated dot product.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut s = Sum::default();
    for (x, y) in a.iter().zip(b) {
        s.add(x * y);
    }
    s.value()
}
