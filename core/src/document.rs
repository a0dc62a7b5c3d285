//! The output documents of engine spec §10, with exactly its field names.

use crate::assess::{RepoFailures, Tier};
use crate::engine::Judgement;
use crate::hash::IdHasher;
use crate::hints::Hint;
use crate::kernel::{Binding, Context};
use crate::levers::{LeverSet, Ranges};
use crate::project::Derived;
use crate::rating::Rating;
use crate::request::{Objective, Options};
use crate::rules::{Gate, RuleKey};
use crate::ruleset::STRESS_KEYS;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// Ruleset identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RulesetRef {
    /// Version, e.g. "v1.0".
    pub version: String,
    /// Content hash.
    pub hash: String,
}

/// Where a run's result came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provenance {
    /// Engine version.
    pub engine_version: String,
    /// Ruleset version and hash.
    pub ruleset: RulesetRef,
    /// Seed.
    pub seed: u64,
    /// Ranking objective.
    pub objective: Objective,
    /// Requested top-N.
    pub topn: u32,
    /// Hash of the resolved ranges.
    pub range_signature: String,
    /// Hash of the validated project.
    pub project_hash: String,
    /// Engine options in force.
    pub options: Options,
    /// How many shards the run was split into.
    pub shards: u32,
    /// Whether the document came from a result cache.
    pub cached: bool,
    /// Start time, RFC 3339 UTC (filled by the caller).
    pub started_at: Option<String>,
    /// End time, RFC 3339 UTC (filled by the caller).
    pub finished_at: Option<String>,
}

/// Counts per viable tier; empty when tiering is off.
#[derive(Debug, Clone, PartialEq)]
pub struct TierCounts(pub Option<[u64; 5]>);

impl Serialize for TierCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let counts = self.0.unwrap_or_default();
        let n = if self.0.is_some() { 5 } else { 0 };
        let mut m = s.serialize_map(Some(n))?;
        if self.0.is_some() {
            for (t, c) in Tier::VIABLE.iter().zip(counts) {
                m.serialize_entry(t.as_str(), &c)?;
            }
        }
        m.end()
    }
}

/// Failures by rule key, all nine keys listed.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCounts(pub [u64; 9]);

impl Serialize for RuleCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(9))?;
        for (k, c) in RuleKey::ALL.iter().zip(self.0) {
            m.serialize_entry(k.as_str(), &c)?;
        }
        m.end()
    }
}

/// Counts by binding limit, all three listed.
#[derive(Debug, Clone, PartialEq)]
pub struct BindingCounts(pub [u64; 3]);

impl Serialize for BindingCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        for (k, c) in Binding::ALL.iter().zip(self.0) {
            m.serialize_entry(k.as_str(), &c)?;
        }
        m.end()
    }
}

/// Run statistics (engine spec §6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    /// Grid size.
    pub cardinality: u64,
    /// Permutations judged.
    pub evaluated: u64,
    /// Failed a Gate A rule.
    pub gate_a_pruned: u64,
    /// Passed Gate A, failed a Gate B rule.
    pub gate_b_pruned: u64,
    /// Passed every rule, score below the minimum.
    pub not_viable_score: u64,
    /// Viable.
    pub viable: u64,
    /// Viable structures per tier.
    pub tier_counts: TierCounts,
    /// Near-misses found, before the limit.
    pub near_misses: u64,
    /// Rule failures by key.
    pub rule_failures_by_key: RuleCounts,
    /// Binding limits over permutations that passed Gate A.
    pub binding_by_limit: BindingCounts,
    /// Engine time in milliseconds (filled by the caller).
    pub duration_ms: Option<f64>,
    /// evaluated / engine seconds (filled by the caller).
    pub permutations_per_sec: Option<f64>,
}

/// The senior tranche.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeniorDoc {
    /// Amount.
    pub amount: f64,
    /// Minimum DSCR.
    pub min_dscr: f64,
    /// Average DSCR.
    pub avg_dscr: f64,
    /// WAL in years.
    pub wal: f64,
    /// LLCR.
    pub llcr: f64,
    /// LTV.
    pub ltv: f64,
    /// Binding limit.
    pub binding: Binding,
}

/// The mezzanine tranche.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MezzDoc {
    /// Amount.
    pub amount: f64,
    /// WAL in years; null when the amount is 0.
    pub wal: Option<f64>,
    /// min CFADS / total service.
    pub min_dscr_combined: f64,
}

/// The sidecar sale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SidecarDoc {
    /// Gross PV.
    pub gross: f64,
    /// Net of haircut.
    pub net: f64,
}

/// Cash raised at close.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayOneDoc {
    /// Debt.
    pub core: f64,
    /// Sidecar net.
    pub sidecar: f64,
    /// Both.
    pub total: f64,
}

/// Stressed senior DSCRs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StressDoc {
    /// CPI 0 %.
    pub cpi_0: f64,
    /// CPI 1.8 %.
    pub cpi_1_8: f64,
    /// Opex +10 %.
    pub opex_plus_10: f64,
    /// Rent −10 %.
    pub rent_minus_10: f64,
    /// The lowest.
    pub min: f64,
    /// The first scenario at the lowest.
    pub worst: String,
}

/// Ratings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatingDoc {
    /// Before the wrap.
    pub unwrapped: Rating,
    /// After the wrap.
    pub effective: Rating,
}

/// Repo eligibility.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepoDoc {
    /// Eligible.
    pub eligible: bool,
    /// Haircut when eligible.
    pub haircut: Option<f64>,
    /// Repo value when eligible.
    pub value: Option<f64>,
    /// Failed criteria.
    pub failures: RepoFailures,
}

/// Score components.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreDoc {
    /// Capital.
    pub capital: f64,
    /// Resilience.
    pub resilience: f64,
    /// Rating.
    pub rating: f64,
    /// Simplicity.
    pub simplicity: f64,
    /// Total.
    pub total: f64,
}

/// A structure object (engine spec §10). Sized fields are null only in `evaluate` of a
/// permutation whose tenor outlives the lease.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StructureDoc {
    /// 1-based rank, in `top` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<u32>,
    /// Permutation index.
    pub index: u64,
    /// Stable id.
    pub permutation_id: String,
    /// The eight lever values.
    pub levers: LeverSet,
    /// Senior tranche.
    pub senior: Option<SeniorDoc>,
    /// Mezzanine (null when mezz_on is false).
    pub mezz: Option<MezzDoc>,
    /// Sidecar.
    pub sidecar: Option<SidecarDoc>,
    /// Day-one value.
    pub day_one_value: Option<DayOneDoc>,
    /// Senior + mezz.
    pub debt: Option<f64>,
    /// Funding need − debt.
    pub equity: Option<f64>,
    /// Debt / funding need.
    pub coverage: Option<f64>,
    /// Stress results.
    pub stress: Option<StressDoc>,
    /// Ratings.
    pub rating: Option<RatingDoc>,
    /// Repo (null when the repo rules are off).
    pub repo: Option<RepoDoc>,
    /// Score.
    pub score: Option<ScoreDoc>,
    /// Tier (null when tiering is off).
    pub tier: Option<Tier>,
    /// Failed rules, in advisory mode only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_rules: Option<Vec<RuleKey>>,
}

/// A near-miss's own fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearMissCore {
    /// Permutation index.
    pub index: u64,
    /// Stable id.
    pub permutation_id: String,
    /// The one rule it fails.
    pub rule: RuleKey,
    /// By how much.
    pub shortfall: f64,
    /// The suggested lever move.
    pub hint: Option<Hint>,
    /// What to change and why.
    pub message: String,
}

/// A near-miss in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearMissDoc {
    /// Its fields.
    #[serde(flatten)]
    pub core: NearMissCore,
    /// The structure as sized.
    pub structure: StructureDoc,
}

/// One row of the constraint ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConstraintDoc {
    /// Rule key or binding limit.
    pub key: &'static str,
    /// Count.
    pub count: u64,
    /// count / evaluated.
    pub share: f64,
}

/// A run document (engine spec §10).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDocument {
    /// Provenance.
    pub provenance: Provenance,
    /// The derived preview.
    pub derived: Derived,
    /// Resolved levers with their sources.
    pub levers: Ranges,
    /// Statistics.
    pub stats: Stats,
    /// Ranked structures.
    pub top: Vec<StructureDoc>,
    /// Near-misses, best first.
    pub near_misses: Vec<NearMissDoc>,
    /// Rule failures and binding limits, ranked.
    pub constraints: Vec<ConstraintDoc>,
}

/// One rule's result in `evaluate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleDoc {
    /// Key.
    pub rule: RuleKey,
    /// Gate.
    pub gate: Gate,
    /// Held.
    pub passed: bool,
    /// How far it fails.
    pub shortfall: f64,
    /// The first failed repo criterion (REPO_ELIGIBILITY only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo_failure: Option<crate::assess::RepoFailure>,
}

/// One month of the schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleRow {
    /// Month.
    pub t: u32,
    /// CFADS.
    pub cfads: f64,
    /// Senior debt service.
    pub senior_ds: f64,
    /// Senior interest.
    pub senior_interest: f64,
    /// Senior wrap fee.
    pub senior_wrap_fee: f64,
    /// Senior principal.
    pub senior_principal: f64,
    /// Senior closing balance.
    pub senior_balance: f64,
    /// Mezz debt service.
    pub mezz_ds: Option<f64>,
    /// Mezz interest.
    pub mezz_interest: Option<f64>,
    /// Mezz principal.
    pub mezz_principal: Option<f64>,
    /// Mezz closing balance.
    pub mezz_balance: Option<f64>,
}

/// The `evaluate` document: one permutation in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluateDocument {
    /// The structure's fields.
    #[serde(flatten)]
    pub structure: StructureDoc,
    /// Every applicable rule's result.
    pub rules: Vec<RuleDoc>,
    /// The near-miss, if it is one.
    pub near_miss: Option<NearMissCore>,
    /// Monthly schedule.
    pub schedule: Vec<ScheduleRow>,
}

/// Builds a structure object from a judgement.
pub fn structure(ctx: &Context, ids: &IdHasher, j: &Judgement) -> StructureDoc {
    let order: Vec<usize> = STRESS_KEYS
        .iter()
        .map(|k| {
            ctx.rules
                .scenarios()
                .iter()
                .position(|s| s.name == *k)
                .unwrap_or(0)
        })
        .collect();
    let s = j.sized.as_ref();
    StructureDoc {
        rank: None,
        index: j.index,
        permutation_id: ids.id(j.index),
        levers: j.levers,
        senior: s.map(|s| SeniorDoc {
            amount: s.senior,
            min_dscr: s.min_dscr,
            avg_dscr: s.avg_dscr,
            wal: s.wal,
            llcr: s.llcr,
            ltv: s.ltv,
            binding: s.binding,
        }),
        mezz: s.and_then(|s| {
            s.mezz.map(|m| MezzDoc {
                amount: m.amount,
                wal: m.wal,
                min_dscr_combined: m.min_dscr_combined,
            })
        }),
        sidecar: s.map(|s| SidecarDoc {
            gross: s.sidecar.gross,
            net: s.sidecar.net,
        }),
        day_one_value: s.map(|s| DayOneDoc {
            core: s.debt,
            sidecar: s.sidecar.net,
            total: s.day_one_total,
        }),
        debt: s.map(|s| s.debt),
        equity: s.map(|s| s.equity),
        coverage: s.map(|s| s.coverage),
        stress: s.map(|s| StressDoc {
            cpi_0: s.stress[order[0]],
            cpi_1_8: s.stress[order[1]],
            opex_plus_10: s.stress[order[2]],
            rent_minus_10: s.stress[order[3]],
            min: s.min_stress,
            worst: ctx.rules.scenarios()[s.worst].name.clone(),
        }),
        rating: s.map(|s| RatingDoc {
            unwrapped: s.unwrapped,
            effective: s.effective,
        }),
        repo: s.and_then(|s| {
            s.repo.map(|r| RepoDoc {
                eligible: r.eligible,
                haircut: r.haircut,
                value: r.value,
                failures: r.failures,
            })
        }),
        score: s.map(|s| ScoreDoc {
            capital: s.score.capital,
            resilience: s.score.resilience,
            rating: s.score.rating,
            simplicity: s.score.simplicity,
            total: s.score.total,
        }),
        tier: j.tier(ctx),
        failed_rules: (!ctx.options.enforce_gates).then(|| j.verdict.failures()),
    }
}

/// Builds a near-miss's own fields; None when the judgement is no near-miss.
pub fn near_miss(ctx: &Context, ids: &IdHasher, j: &Judgement) -> Option<NearMissCore> {
    let key = j.near_miss?;
    let sized = j.sized.as_ref()?;
    let (hint, message) = crate::hints::advise(ctx, &j.levers, j.digits, sized, &j.verdict, key);
    Some(NearMissCore {
        index: j.index,
        permutation_id: ids.id(j.index),
        rule: key,
        shortfall: j.verdict.rules[key as usize].shortfall,
        hint,
        message,
    })
}

/// The constraint ranking: nine rule keys then three binding limits, by count descending,
/// ties in that listed order.
pub fn constraints(stats: &Stats) -> Vec<ConstraintDoc> {
    let share = |c: u64| {
        if stats.evaluated == 0 {
            0.0
        } else {
            c as f64 / stats.evaluated as f64
        }
    };
    let mut rows: Vec<ConstraintDoc> = RuleKey::ALL
        .iter()
        .zip(stats.rule_failures_by_key.0)
        .map(|(k, c)| (k.as_str(), c))
        .chain(
            Binding::ALL
                .iter()
                .zip(stats.binding_by_limit.0)
                .map(|(b, c)| (b.as_str(), c)),
        )
        .map(|(key, count)| ConstraintDoc {
            key,
            count,
            share: share(count),
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.count));
    rows
}
