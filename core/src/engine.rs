//! Judging one permutation end to end: Gate A, sizing, Gate B, score, classification and
//! near-miss candidacy (engine spec §6 and §11).

use crate::assess::{score_viable, Tier};
use crate::gates::Verdict;
use crate::kernel::{Context, Sized};
use crate::levers::{Digits, LeverSet};
use crate::rules::{Gate, RuleKey};

/// Where a permutation lands in the run statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Failed a Gate A rule.
    GateA,
    /// Passed Gate A, failed a Gate B rule.
    GateB,
    /// Passed every rule, scored below the viable minimum.
    NotViableScore,
    /// Passed every rule and scored enough.
    Viable,
}

/// Everything decided about one permutation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judgement {
    /// Permutation index.
    pub index: u64,
    /// Positions into the lever lists.
    pub digits: Digits,
    /// Lever values.
    pub levers: LeverSet,
    /// Rule results (Gate B only when sized).
    pub verdict: Verdict,
    /// Metrics, when the permutation was sized.
    pub sized: Option<Sized>,
    /// Statistics class.
    pub class: Class,
    /// Whether its Gate B results and binding limit count in the statistics (it passed
    /// Gate A).
    pub counts_gate_b: bool,
    /// The rule it is a near-miss on.
    pub near_miss: Option<RuleKey>,
    /// Whether it competes for the top.
    pub ranked: bool,
}

impl Judgement {
    /// The tier shown for the permutation (None when tiering is off).
    pub fn tier(&self, ctx: &Context) -> Option<Tier> {
        if !ctx.options.tiering {
            return None;
        }
        let failed = ctx.options.enforce_gates && !self.verdict.failures().is_empty();
        Some(match &self.sized {
            Some(s) => Tier::of(ctx.rules, s.score.total, failed),
            None => Tier::NotViable,
        })
    }
}

impl Context<'_> {
    /// Judges the permutation at `index`. With `always_size`, a sizable permutation is
    /// sized even when Gate A fails it (as `phase1 evaluate` does).
    pub fn judge(&self, index: u64, always_size: bool) -> Judgement {
        let digits = self.ranges.digits(index);
        let levers = self.ranges.lever_set(digits);
        let mut verdict = Verdict::gate_a(self, &levers);
        let gate_a_failures = verdict.failed(Gate::A).count();
        let passed_a = gate_a_failures == 0;
        let enforce = self.options.enforce_gates;
        let candidate =
            enforce && gate_a_failures == 1 && verdict.near_miss_rule(self, &levers).is_some();
        let size = self.sizable(&levers) && (passed_a || candidate || !enforce || always_size);
        let sized = size.then(|| {
            let s = self.size(&levers, digits);
            verdict.gate_b(self, &levers, &s);
            s
        });
        let failed_b = verdict.failed(Gate::B).next().is_some();
        let viable_score = sized.is_some_and(|s| score_viable(self.rules, s.score.total));
        let class = if !passed_a {
            Class::GateA
        } else if failed_b {
            Class::GateB
        } else if !viable_score {
            Class::NotViableScore
        } else {
            Class::Viable
        };
        let near_miss = if enforce && viable_score {
            verdict.near_miss_rule(self, &levers)
        } else {
            None
        };
        Judgement {
            index,
            digits,
            levers,
            verdict,
            sized,
            class,
            counts_gate_b: passed_a,
            near_miss,
            ranked: if enforce {
                class == Class::Viable
            } else {
                sized.is_some()
            },
        }
    }
}
