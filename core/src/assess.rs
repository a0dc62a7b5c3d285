//! Rating, repo eligibility (engine spec §5), score and tier (§6) of a sized structure.

use crate::levers::LeverSet;
use crate::project::Country;
use crate::rating::Rating;
use crate::ruleset::Ruleset;
use crate::tol::{ge, le};
use serde::Serialize;

/// Senior rating from the country's matrix: the first row (best first) whose every
/// criterion holds; CCC when none does.
pub fn unwrapped_rating(
    rules: &Ruleset,
    country: Country,
    tenant: Rating,
    min_dscr: f64,
    ltv: f64,
    tenor: u32,
) -> Rating {
    rules
        .rating_matrix(country)
        .iter()
        .find(|row| {
            ge(min_dscr, row.dscr)
                && tenant.at_least(row.tenant_min)
                && le(ltv, row.max_ltv)
                && tenor <= row.max_tenor
        })
        .map_or(Rating::Ccc, |row| row.rating)
}

/// A repo criterion that can fail, in the spec's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RepoFailure {
    /// Unwrapped rating below the minimum.
    RepoMinRating,
    /// Senior min DSCR below the minimum.
    RepoMinDscr,
    /// Senior LTV above the maximum.
    RepoMaxLtv,
    /// Senior tenor above the maximum.
    RepoMaxTenor,
}

impl RepoFailure {
    /// The criteria in spec order.
    pub const ALL: [RepoFailure; 4] = [
        RepoFailure::RepoMinRating,
        RepoFailure::RepoMinDscr,
        RepoFailure::RepoMaxLtv,
        RepoFailure::RepoMaxTenor,
    ];
}

/// A set of failed repo criteria, listed in spec order. Copy, so the hot path never
/// allocates for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RepoFailures(u8);

impl RepoFailures {
    /// Adds a failure.
    pub fn push(&mut self, f: RepoFailure) {
        self.0 |= 1 << f as u8;
    }

    /// The failures in spec order.
    pub fn iter(self) -> impl Iterator<Item = RepoFailure> {
        RepoFailure::ALL
            .into_iter()
            .filter(move |f| self.0 & (1 << *f as u8) != 0)
    }

    /// The first failure in spec order.
    pub fn first(self) -> Option<RepoFailure> {
        self.iter().next()
    }

    /// How many criteria failed.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether none failed.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl Serialize for RepoFailures {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Repo eligibility of a sized senior.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Repo {
    /// Eligible for central-bank repo.
    pub eligible: bool,
    /// Haircut fraction when eligible.
    pub haircut: Option<f64>,
    /// Senior · (1 − haircut) when eligible.
    pub value: Option<f64>,
    /// Failed criteria, in spec order.
    pub failures: RepoFailures,
}

/// Judges repo eligibility on the unwrapped rating (a guarantee may not be its basis).
/// Should every criterion hold for a rating outside the haircut table, the structure is
/// treated as failing REPO_MIN_RATING (no haircut can be applied).
#[allow(clippy::too_many_arguments)]
pub fn repo(
    rules: &Ruleset,
    country: Country,
    unwrapped: Rating,
    min_dscr: f64,
    ltv: f64,
    tenor: u32,
    wal: f64,
    senior: f64,
) -> Repo {
    let c = rules.repo(country);
    let mut failures = RepoFailures::default();
    if !unwrapped.at_least(c.min_rating) {
        failures.push(RepoFailure::RepoMinRating);
    }
    if !ge(min_dscr, c.min_dscr) {
        failures.push(RepoFailure::RepoMinDscr);
    }
    if !le(ltv, c.max_ltv) {
        failures.push(RepoFailure::RepoMaxLtv);
    }
    if tenor > c.max_tenor {
        failures.push(RepoFailure::RepoMaxTenor);
    }
    let haircut = if failures.is_empty() {
        rules.haircut(unwrapped, wal)
    } else {
        None
    };
    match haircut {
        Some(h) => Repo {
            eligible: true,
            haircut: Some(h),
            value: Some(senior * (1.0 - h)),
            failures,
        },
        None => {
            if failures.is_empty() {
                failures.push(RepoFailure::RepoMinRating);
            }
            Repo {
                eligible: false,
                haircut: None,
                value: None,
                failures,
            }
        }
    }
}

/// The four score components and their total.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Score {
    /// Day-one value against funding need.
    pub capital: f64,
    /// Stressed DSCR headroom.
    pub resilience: f64,
    /// Effective rating.
    pub rating: f64,
    /// Fewer moving parts.
    pub simplicity: f64,
    /// The sum.
    pub total: f64,
}

/// Scores a structure (each component clamped to [0, its maximum]).
pub fn score(
    rules: &Ruleset,
    project_funding_need: f64,
    day_one_total: f64,
    min_stress_dscr: f64,
    effective: Rating,
    levers: &LeverSet,
) -> Score {
    let (mezz_on, wrap, hedged) = (levers.mezz_on, levers.wrap, levers.zcis_tenor_years > 0);
    let p = rules.score();
    let capital = (p.w_capital
        * (day_one_total / (p.capital_full_at * project_funding_need)).min(1.0))
    .clamp(0.0, p.w_capital);
    let resilience = p.w_resilience
        * ((min_stress_dscr - p.resilience_from) / (p.resilience_to - p.resilience_from))
            .clamp(0.0, 1.0);
    let rating = (p.w_rating * p.rating_score[effective.position()] / 100.0).clamp(0.0, p.w_rating);
    let costs = p.cost_mezz * f64::from(u8::from(mezz_on))
        + p.cost_wrap * f64::from(u8::from(wrap))
        + p.cost_hedge * f64::from(u8::from(hedged));
    let simplicity = (p.w_simplicity - costs).clamp(0.0, p.w_simplicity);
    Score {
        capital,
        resilience,
        rating,
        simplicity,
        total: capital + resilience + rating + simplicity,
    }
}

/// Viability tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Tier {
    /// Score ≥ 95.
    Diamond,
    /// Score ≥ 85.
    Platinum,
    /// Score ≥ 70.
    Gold,
    /// Score ≥ 55.
    Silver,
    /// Score ≥ 40.
    Bronze,
    /// A rule failed, or the score is below 40.
    #[serde(rename = "Not Viable")]
    NotViable,
}

impl Tier {
    /// The viable tiers, best first.
    pub const VIABLE: [Tier; 5] = [
        Tier::Diamond,
        Tier::Platinum,
        Tier::Gold,
        Tier::Silver,
        Tier::Bronze,
    ];

    /// The tier's name as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Diamond => "Diamond",
            Tier::Platinum => "Platinum",
            Tier::Gold => "Gold",
            Tier::Silver => "Silver",
            Tier::Bronze => "Bronze",
            Tier::NotViable => "Not Viable",
        }
    }

    /// The tier of a score, given whether any rule failed.
    pub fn of(rules: &Ruleset, total: f64, failed_any: bool) -> Tier {
        if failed_any {
            return Tier::NotViable;
        }
        let mins = rules.score().tier_min;
        Tier::VIABLE
            .iter()
            .zip(mins.iter())
            .find(|(_, &m)| ge(total, m))
            .map_or(Tier::NotViable, |(t, _)| *t)
    }
}

/// Whether a score is viable (≥ the ruleset's minimum, with tolerance).
pub fn score_viable(rules: &Ruleset, total: f64) -> bool {
    ge(total, rules.score().viable_min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_picks_the_first_row_that_holds() {
        let r = Ruleset::v1();
        // UK row 2 (AA) needs DSCR 1.80, tenant A+, LTV 0.55, tenor 25.
        assert_eq!(
            unwrapped_rating(r, Country::UK, Rating::Aa, 1.85, 0.55, 20),
            Rating::Aa
        );
        assert_eq!(
            unwrapped_rating(r, Country::UK, Rating::Aa, 2.0, 0.5, 25),
            Rating::Aaa
        );
        assert_eq!(
            unwrapped_rating(r, Country::UK, Rating::Aa, 2.0 - 5e-10, 0.5, 25),
            Rating::Aaa
        );
        assert_eq!(
            unwrapped_rating(r, Country::UK, Rating::A, 2.0, 0.5, 25),
            Rating::A
        );
        assert_eq!(
            unwrapped_rating(r, Country::UK, Rating::Aa, 1.30, 0.70, 15),
            Rating::BbPlus
        );
        assert_eq!(
            unwrapped_rating(r, Country::UK, Rating::Aa, 1.05, 0.5, 10),
            Rating::Ccc
        );
        assert_eq!(
            unwrapped_rating(r, Country::UK, Rating::Nr, 3.0, 0.1, 5),
            Rating::Ccc
        );
    }

    #[test]
    fn repo_lists_failures_in_order_and_haircuts_when_eligible() {
        let r = Ruleset::v1();
        let ok = repo(r, Country::UK, Rating::A, 1.5, 0.6, 15, 6.0, 100.0);
        assert!(ok.eligible);
        assert_eq!(ok.haircut, Some(0.24));
        assert!((ok.value.unwrap() - 76.0).abs() < 1e-12);
        let bad = repo(r, Country::UK, Rating::Bbb, 1.3, 0.8, 31, 6.0, 100.0);
        assert!(!bad.eligible);
        assert_eq!(bad.haircut, None);
        use RepoFailure::*;
        assert_eq!(
            bad.failures.iter().collect::<Vec<_>>(),
            vec![RepoMinRating, RepoMinDscr, RepoMaxLtv, RepoMaxTenor]
        );
        assert_eq!(bad.failures.len(), 4);
    }

    fn levers(mezz_on: bool, wrap: bool, zcis_tenor_years: u32) -> LeverSet {
        LeverSet {
            senior_tenor: 10,
            senior_coupon: 0.05,
            senior_dscr: 1.3,
            senior_amort: crate::levers::Amort::Sculpted,
            indexation_mode: crate::levers::Indexation::Flat,
            zcis_tenor_years,
            mezz_on,
            wrap,
        }
    }

    #[test]
    fn score_components_are_clamped() {
        let r = Ruleset::v1();
        let s = score(r, 100.0, 90.0, 1.6, Rating::Aaa, &levers(false, false, 0));
        assert_eq!(
            (s.capital, s.resilience, s.rating, s.simplicity),
            (40.0, 30.0, 20.0, 10.0)
        );
        assert_eq!(s.total, 100.0);
        let s = score(r, 100.0, 40.0, 1.2, Rating::Bbb, &levers(true, true, 5));
        assert!((s.capital - 20.0).abs() < 1e-12);
        assert!((s.resilience - 15.0).abs() < 1e-12);
        assert!((s.rating - 16.0).abs() < 1e-12);
        assert_eq!(s.simplicity, 2.0);
        let s = score(r, 100.0, 40.0, 0.9, Rating::Ccc, &levers(false, false, 0));
        assert_eq!(s.resilience, 0.0);
        assert_eq!(s.rating, 8.0);
    }

    #[test]
    fn tiers_follow_thresholds() {
        let r = Ruleset::v1();
        assert_eq!(Tier::of(r, 95.0 - 5e-10, false), Tier::Diamond);
        assert_eq!(Tier::of(r, 94.9, false), Tier::Platinum);
        assert_eq!(Tier::of(r, 70.0, false), Tier::Gold);
        assert_eq!(Tier::of(r, 55.0, false), Tier::Silver);
        assert_eq!(Tier::of(r, 40.0, false), Tier::Bronze);
        assert_eq!(Tier::of(r, 39.99, false), Tier::NotViable);
        assert_eq!(Tier::of(r, 99.0, true), Tier::NotViable);
    }
}
