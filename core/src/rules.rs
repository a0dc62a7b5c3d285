//! Rule keys and per-rule results (engine spec §6).

use serde::Serialize;

/// The nine rule keys, in the order the spec names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuleKey {
    /// Gate A: senior_tenor ≤ tenor_cap.
    TenorCap = 0,
    /// Gate A: senior DSCR ≥ the (wrap-relieved) floor.
    MinDscrSenior = 1,
    /// Gate A (mezz only): mezz_dscr < senior DSCR.
    MezzDscrOrder = 2,
    /// Gate A: hedge tenor ≤ senior tenor.
    ZcisTenor = 3,
    /// Gate B: coverage ≥ min_coverage.
    MinCoverage = 4,
    /// Gate B: min stressed DSCR ≥ stress_dscr_min.
    StressDscr = 5,
    /// Gate B: wal ≤ wal_max_ratio · tenor.
    MaxWal = 6,
    /// Gate B (wrap only): unwrapped rating ≥ wrap_min_underlying.
    WrapEligibility = 7,
    /// Gate B (repo_target only): repo eligible.
    RepoEligibility = 8,
}

impl RuleKey {
    /// All keys in spec order.
    pub const ALL: [RuleKey; 9] = [
        RuleKey::TenorCap,
        RuleKey::MinDscrSenior,
        RuleKey::MezzDscrOrder,
        RuleKey::ZcisTenor,
        RuleKey::MinCoverage,
        RuleKey::StressDscr,
        RuleKey::MaxWal,
        RuleKey::WrapEligibility,
        RuleKey::RepoEligibility,
    ];

    /// The key as written.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKey::TenorCap => "TENOR_CAP",
            RuleKey::MinDscrSenior => "MIN_DSCR_SENIOR",
            RuleKey::MezzDscrOrder => "MEZZ_DSCR_ORDER",
            RuleKey::ZcisTenor => "ZCIS_TENOR",
            RuleKey::MinCoverage => "MIN_COVERAGE",
            RuleKey::StressDscr => "STRESS_DSCR",
            RuleKey::MaxWal => "MAX_WAL",
            RuleKey::WrapEligibility => "WRAP_ELIGIBILITY",
            RuleKey::RepoEligibility => "REPO_ELIGIBILITY",
        }
    }

    /// Parses a key as written.
    pub fn parse(s: &str) -> Option<RuleKey> {
        RuleKey::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// "A" for the pre-sizing rules, "B" for the rest.
    pub fn gate(self) -> Gate {
        if (self as usize) < 4 {
            Gate::A
        } else {
            Gate::B
        }
    }
}

/// The gate a rule belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Gate {
    /// Before sizing.
    A,
    /// After sizing.
    B,
}
