//! Gate A (before sizing) and Gate B (after sizing) rules, and near-miss eligibility
//! (engine spec §6).

use crate::assess::{RepoFailure, RepoFailures};
use crate::kernel::{Context, Sized};
use crate::levers::LeverSet;
use crate::rules::{Gate, RuleKey};
use crate::tol::{ge, le, lt, EPS};

/// One rule's result.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RuleOutcome {
    /// The rule was evaluated for this permutation.
    pub evaluated: bool,
    /// It held.
    pub passed: bool,
    /// How far it fails, in the rule's unit (0 when it passes).
    pub shortfall: f64,
}

/// Every rule's result for one permutation, indexed by [`RuleKey`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Verdict {
    /// Results by rule key.
    pub rules: [RuleOutcome; 9],
    /// Failed repo criteria, when REPO_ELIGIBILITY was evaluated and failed.
    pub repo_failures: RepoFailures,
}

impl Verdict {
    fn set(&mut self, key: RuleKey, passed: bool, shortfall: f64) {
        self.rules[key as usize] = RuleOutcome {
            evaluated: true,
            passed,
            shortfall: if passed { 0.0 } else { shortfall.max(0.0) },
        };
    }

    /// Evaluates the Gate A rules.
    pub fn gate_a(ctx: &Context, lv: &LeverSet) -> Verdict {
        let mut v = Verdict::default();
        let cap = ctx.derived.tenor_cap;
        v.set(
            RuleKey::TenorCap,
            lv.senior_tenor <= cap,
            f64::from(lv.senior_tenor) - f64::from(cap),
        );
        let floor = dscr_floor(ctx, lv);
        v.set(
            RuleKey::MinDscrSenior,
            ge(lv.senior_dscr, floor),
            floor - lv.senior_dscr,
        );
        if lv.mezz_on {
            let m = ctx.project.mezz_dscr;
            v.set(
                RuleKey::MezzDscrOrder,
                lt(m, lv.senior_dscr),
                m - lv.senior_dscr,
            );
        }
        v.set(
            RuleKey::ZcisTenor,
            lv.zcis_tenor_years <= lv.senior_tenor,
            f64::from(lv.zcis_tenor_years) - f64::from(lv.senior_tenor),
        );
        v
    }

    /// Evaluates the Gate B rules on a sized permutation.
    pub fn gate_b(&mut self, ctx: &Context, lv: &LeverSet, s: &Sized) {
        let rules = ctx.rules;
        let min_cov = ctx.project.min_coverage;
        self.set(
            RuleKey::MinCoverage,
            ge(s.coverage, min_cov),
            min_cov - s.coverage,
        );
        let smin = rules.stress_dscr_min();
        self.set(
            RuleKey::StressDscr,
            ge(s.min_stress, smin),
            smin - s.min_stress,
        );
        let wal_max = rules.wal_max_ratio() * f64::from(lv.senior_tenor);
        self.set(RuleKey::MaxWal, le(s.wal, wal_max), s.wal - wal_max);
        if lv.wrap {
            let min = rules.wrap().min_underlying;
            self.set(
                RuleKey::WrapEligibility,
                s.unwrapped.at_least(min),
                f64::from(s.unwrapped.notches_below(min)),
            );
        }
        if ctx.project.repo_target {
            if let Some(repo) = &s.repo {
                let c = rules.repo(ctx.project.country);
                let shortfall = match repo.failures.first() {
                    None => 0.0,
                    Some(RepoFailure::RepoMinRating) => {
                        f64::from(s.unwrapped.notches_below(c.min_rating))
                    }
                    Some(RepoFailure::RepoMinDscr) => c.min_dscr - s.min_dscr,
                    Some(RepoFailure::RepoMaxLtv) => s.ltv - c.max_ltv,
                    Some(RepoFailure::RepoMaxTenor) => {
                        f64::from(lv.senior_tenor) - f64::from(c.max_tenor)
                    }
                };
                self.set(RuleKey::RepoEligibility, repo.eligible, shortfall);
                self.repo_failures = repo.failures;
            }
        }
    }

    /// Failed rules of a gate.
    pub fn failed(&self, gate: Gate) -> impl Iterator<Item = RuleKey> + '_ {
        RuleKey::ALL
            .into_iter()
            .filter(move |k| k.gate() == gate && self.failed_rule(*k))
    }

    /// Whether a rule was evaluated and failed.
    pub fn failed_rule(&self, key: RuleKey) -> bool {
        let r = self.rules[key as usize];
        r.evaluated && !r.passed
    }

    /// Every failed rule, in spec order.
    pub fn failures(&self) -> Vec<RuleKey> {
        RuleKey::ALL
            .into_iter()
            .filter(|k| self.failed_rule(*k))
            .collect()
    }

    /// The rule a near-miss would be about: the only failed rule (over both gates), failing
    /// within its band, under its own conditions. The score condition is the caller's.
    pub fn near_miss_rule(&self, ctx: &Context, lv: &LeverSet) -> Option<RuleKey> {
        let mut failed = RuleKey::ALL.into_iter().filter(|k| self.failed_rule(*k));
        let key = failed.next()?;
        if failed.next().is_some() {
            return None;
        }
        let shortfall = self.rules[key as usize].shortfall;
        let ok = match key {
            RuleKey::TenorCap => lv.senior_tenor <= ctx.project.lease_years,
            RuleKey::RepoEligibility => self.repo_failures.len() == 1,
            _ => true,
        };
        let in_band = match key {
            RuleKey::RepoEligibility => true,
            _ => ctx
                .rules
                .band(key)
                .is_some_and(|band| shortfall <= band + EPS),
        };
        (ok && in_band).then_some(key)
    }
}

/// The senior DSCR floor after wrap relief: dscr_floor − (wrap ? relief : 0).
pub fn dscr_floor(ctx: &Context, lv: &LeverSet) -> f64 {
    ctx.derived.dscr_floor
        - if lv.wrap {
            ctx.rules.wrap().dscr_relief
        } else {
            0.0
        }
}
