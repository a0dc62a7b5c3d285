//! The ruleset (engine spec §7) as data: one JSON file compiled into the binary, with a
//! version and a content hash, read through typed accessors.
//!
//! [`RawRuleset`] is the file as written (ratings as strings); [`validate`] runs the
//! integrity checks on it, and [`Ruleset::from_raw`] turns it into the typed [`Ruleset`] the
//! engine reads. Nothing else in the engine holds a threshold of its own.

use crate::hash::sha256_hex;
use crate::project::Country;
use crate::rating::{Bucket, Rating};
use crate::rules::RuleKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The bytes of ruleset v1.0, compiled in.
pub const V1_JSON: &str = include_str!("../ruleset/v1.0.json");

/// The tenant buckets, strongest first, as the tables are keyed.
pub const TENANT_BUCKETS: [Bucket; 7] = [
    Bucket::Aaa,
    Bucket::Aa,
    Bucket::A,
    Bucket::Bbb,
    Bucket::Bb,
    Bucket::B,
    Bucket::Nr,
];

/// The ruleset file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRuleset {
    /// Ruleset version, e.g. "v1.0".
    pub version: String,
    /// Bucket names, strongest first.
    pub tenant_buckets: Vec<String>,
    /// Senior DSCR floor by tenant bucket.
    pub dscr_floor: BTreeMap<String, f64>,
    /// DSCR floor adjustment by country.
    pub jurisdiction_adjust: BTreeMap<String, f64>,
    /// Maximum senior tenor by tenant bucket.
    pub max_tenor: BTreeMap<String, i64>,
    /// Advance factor band upper bound by tenant bucket.
    pub max_advance: BTreeMap<String, f64>,
    /// Cap on (senior + mezz) / market value.
    pub max_total_ltv: f64,
    /// Credit-wrap terms.
    pub wrap: RawWrap,
    /// Stress scenarios and the stressed DSCR minimum.
    pub stress: RawStress,
    /// Maximum senior WAL as a fraction of the senior tenor.
    pub wal_max_ratio: f64,
    /// Senior rating matrix by country, best row first.
    pub rating_matrix: BTreeMap<String, Vec<RawMatrixRow>>,
    /// Repo eligibility criteria by country.
    pub repo: BTreeMap<String, RawRepo>,
    /// Repo haircuts by rating band and WAL.
    pub repo_haircuts: RawHaircuts,
    /// Near-miss limit and bands.
    pub near_miss: RawNearMiss,
    /// Score parameters.
    pub score: RawScore,
}

/// Credit-wrap terms as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWrap {
    /// The insurer's rating.
    pub insurer_rating: String,
    /// DSCR floor relief when wrapped.
    pub dscr_relief: f64,
    /// Minimum unwrapped rating an insurer will wrap.
    pub min_underlying: String,
}

/// Stress terms as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStress {
    /// Scenarios in ruleset order.
    pub scenarios: Vec<RawScenario>,
    /// Minimum stressed DSCR.
    pub dscr_min: f64,
}

/// One stress scenario: each changes only what it names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Scenario key.
    pub name: String,
    /// CPI used for unhedged step-ups (default: the project's cpi_base).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpi: Option<f64>,
    /// Multiplier on opex_pct (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opex_multiplier: Option<f64>,
    /// Factor on rent (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rent_factor: Option<f64>,
}

/// One rating-matrix row as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatrixRow {
    /// Minimum senior DSCR.
    pub dscr: f64,
    /// Minimum tenant rating.
    pub tenant_min: String,
    /// Maximum senior LTV.
    pub max_ltv: f64,
    /// Maximum senior tenor.
    pub max_tenor: i64,
    /// The rating the row gives.
    pub rating: String,
}

/// Repo criteria as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepo {
    /// Minimum unwrapped rating.
    pub min_rating: String,
    /// Minimum senior DSCR.
    pub min_dscr: f64,
    /// Maximum senior LTV.
    pub max_ltv: f64,
    /// Maximum senior tenor.
    pub max_tenor: i64,
}

/// Haircut table as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHaircuts {
    /// WAL break points: haircut `i` applies when `wal ≤ wal_breaks[i]` (the last beyond).
    pub wal_breaks: Vec<f64>,
    /// Rating bands, best first.
    pub bands: Vec<RawHaircutBand>,
}

/// One haircut band as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHaircutBand {
    /// Best rating in the band.
    pub best: String,
    /// Worst rating in the band.
    pub worst: String,
    /// One haircut per WAL bucket.
    pub haircuts: Vec<f64>,
}

/// Near-miss terms as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNearMiss {
    /// How many near-misses a run keeps.
    pub limit: u32,
    /// Band per rule key (rules without a band have no near-miss band).
    pub bands: BTreeMap<String, f64>,
}

/// Score parameters as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScore {
    /// Maximum points per component.
    pub weights: RawWeights,
    /// Fraction of funding need at which the capital score is full.
    pub capital_full_at: f64,
    /// Stressed DSCR at which resilience starts scoring.
    pub resilience_from: f64,
    /// Stressed DSCR at which resilience is full.
    pub resilience_to: f64,
    /// Simplicity points lost per feature.
    pub simplicity_costs: RawSimplicity,
    /// Minimum score for a viable structure.
    pub viable_min: f64,
    /// Score per effective rating.
    pub rating_score: BTreeMap<String, f64>,
    /// Tier thresholds, best first.
    pub tiers: Vec<RawTier>,
}

/// Score weights as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeights {
    /// Capital component maximum.
    pub capital: f64,
    /// Resilience component maximum.
    pub resilience: f64,
    /// Rating component maximum.
    pub rating: f64,
    /// Simplicity component maximum.
    pub simplicity: f64,
}

/// Simplicity costs as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSimplicity {
    /// Cost of a mezzanine tranche.
    pub mezz: f64,
    /// Cost of a wrap.
    pub wrap: f64,
    /// Cost of an inflation hedge.
    pub hedge: f64,
}

/// One tier threshold as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTier {
    /// Tier name.
    pub tier: String,
    /// Minimum score.
    pub min: f64,
}

/// A stress scenario, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Scenario key (cpi_0, cpi_1_8, opex_plus_10, rent_minus_10).
    pub name: String,
    /// CPI for unhedged step-ups; None keeps the project's cpi_base.
    pub cpi: Option<f64>,
    /// Multiplier on opex_pct.
    pub opex_multiplier: f64,
    /// Factor on rent.
    pub rent_factor: f64,
}

/// A rating-matrix row, typed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatrixRow {
    /// Minimum senior DSCR.
    pub dscr: f64,
    /// Minimum tenant rating.
    pub tenant_min: Rating,
    /// Maximum senior LTV.
    pub max_ltv: f64,
    /// Maximum senior tenor.
    pub max_tenor: u32,
    /// The rating the row gives.
    pub rating: Rating,
}

/// Repo criteria, typed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepoCriteria {
    /// Minimum unwrapped rating.
    pub min_rating: Rating,
    /// Minimum senior DSCR.
    pub min_dscr: f64,
    /// Maximum senior LTV.
    pub max_ltv: f64,
    /// Maximum senior tenor.
    pub max_tenor: u32,
}

/// Wrap terms, typed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WrapTerms {
    /// The insurer's rating.
    pub insurer_rating: Rating,
    /// DSCR floor relief when wrapped.
    pub dscr_relief: f64,
    /// Minimum unwrapped rating an insurer will wrap.
    pub min_underlying: Rating,
}

/// Score parameters, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreParams {
    /// Capital component maximum.
    pub w_capital: f64,
    /// Resilience component maximum.
    pub w_resilience: f64,
    /// Rating component maximum.
    pub w_rating: f64,
    /// Simplicity component maximum.
    pub w_simplicity: f64,
    /// Fraction of funding need at which capital is full.
    pub capital_full_at: f64,
    /// Resilience scale start.
    pub resilience_from: f64,
    /// Resilience scale end.
    pub resilience_to: f64,
    /// Simplicity cost of mezzanine.
    pub cost_mezz: f64,
    /// Simplicity cost of a wrap.
    pub cost_wrap: f64,
    /// Simplicity cost of a hedge.
    pub cost_hedge: f64,
    /// Minimum score to be viable.
    pub viable_min: f64,
    /// Rating score by rating position (NR has none: 0).
    pub rating_score: [f64; 18],
    /// Tier thresholds, best first: Diamond, Platinum, Gold, Silver, Bronze.
    pub tier_min: [f64; 5],
}

/// The typed ruleset the engine reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Ruleset {
    version: String,
    hash: String,
    raw: RawRuleset,
    dscr_floor: [f64; 8],
    max_tenor: [u32; 8],
    max_advance: [f64; 8],
    jurisdiction: [f64; 3],
    max_total_ltv: f64,
    wrap: WrapTerms,
    scenarios: Vec<Scenario>,
    stress_dscr_min: f64,
    wal_max_ratio: f64,
    matrix: [Vec<MatrixRow>; 3],
    repo: [RepoCriteria; 3],
    wal_breaks: Vec<f64>,
    haircut_bands: Vec<(Rating, Rating, Vec<f64>)>,
    near_miss_limit: u32,
    bands: [Option<f64>; 9],
    score: ScoreParams,
}

/// The stress scenario keys the output documents carry, in their field order.
pub const STRESS_KEYS: [&str; 4] = ["cpi_0", "cpi_1_8", "opex_plus_10", "rent_minus_10"];

fn bucket_index(b: Bucket) -> usize {
    b as usize
}

fn country_index(c: Country) -> usize {
    match c {
        Country::UK => 0,
        Country::EU => 1,
        Country::US => 2,
    }
}

impl Ruleset {
    /// Ruleset v1.0, parsed once. The file is compiled in and checked by the tests, so a
    /// failure here is a build defect, not an input error.
    pub fn v1() -> &'static Ruleset {
        static V1: OnceLock<Ruleset> = OnceLock::new();
        V1.get_or_init(|| {
            Ruleset::parse(V1_JSON).unwrap_or_else(|e| panic!("compiled-in ruleset: {e}"))
        })
    }

    /// Parses ruleset JSON text; the hash is that of the exact bytes.
    pub fn parse(text: &str) -> Result<Ruleset, String> {
        let raw: RawRuleset = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ruleset::from_raw(raw, sha256_hex(text.as_bytes()))
    }

    /// Types a raw ruleset. Fails, naming the table, on a missing key or unknown rating.
    pub fn from_raw(raw: RawRuleset, hash: String) -> Result<Ruleset, String> {
        let rating = |s: &str, at: &str| {
            Rating::parse(s).ok_or_else(|| format!("{at}: unknown rating {s:?}"))
        };
        let by_bucket_f = |m: &BTreeMap<String, f64>, at: &str| -> Result<[f64; 8], String> {
            let mut out = [f64::NAN; 8];
            for b in TENANT_BUCKETS {
                out[bucket_index(b)] = *m
                    .get(b.as_str())
                    .ok_or_else(|| format!("{at}: no value for bucket {}", b.as_str()))?;
            }
            Ok(out)
        };
        let mut max_tenor = [0u32; 8];
        for b in TENANT_BUCKETS {
            let v = *raw
                .max_tenor
                .get(b.as_str())
                .ok_or_else(|| format!("max_tenor: no value for bucket {}", b.as_str()))?;
            max_tenor[bucket_index(b)] =
                u32::try_from(v).map_err(|_| format!("max_tenor.{}: negative", b.as_str()))?;
        }
        let mut jurisdiction = [0.0; 3];
        let mut matrix: [Vec<MatrixRow>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        let mut repo = [RepoCriteria {
            min_rating: Rating::Aaa,
            min_dscr: 0.0,
            max_ltv: 0.0,
            max_tenor: 0,
        }; 3];
        for c in Country::ALL {
            let i = country_index(c);
            jurisdiction[i] = *raw
                .jurisdiction_adjust
                .get(c.as_str())
                .ok_or_else(|| format!("jurisdiction_adjust: no value for {}", c.as_str()))?;
            let rows = raw
                .rating_matrix
                .get(c.as_str())
                .ok_or_else(|| format!("rating_matrix: no rows for {}", c.as_str()))?;
            for row in rows {
                matrix[i].push(MatrixRow {
                    dscr: row.dscr,
                    tenant_min: rating(&row.tenant_min, "rating_matrix")?,
                    max_ltv: row.max_ltv,
                    max_tenor: u32::try_from(row.max_tenor)
                        .map_err(|_| "rating_matrix: negative max_tenor".to_string())?,
                    rating: rating(&row.rating, "rating_matrix")?,
                });
            }
            let r = raw
                .repo
                .get(c.as_str())
                .ok_or_else(|| format!("repo: no criteria for {}", c.as_str()))?;
            repo[i] = RepoCriteria {
                min_rating: rating(&r.min_rating, "repo")?,
                min_dscr: r.min_dscr,
                max_ltv: r.max_ltv,
                max_tenor: u32::try_from(r.max_tenor)
                    .map_err(|_| "repo: negative max_tenor".to_string())?,
            };
        }
        let mut scenarios = Vec::new();
        for s in &raw.stress.scenarios {
            if !STRESS_KEYS.contains(&s.name.as_str()) {
                return Err(format!("stress: unknown scenario {:?}", s.name));
            }
            scenarios.push(Scenario {
                name: s.name.clone(),
                cpi: s.cpi,
                opex_multiplier: s.opex_multiplier.unwrap_or(1.0),
                rent_factor: s.rent_factor.unwrap_or(1.0),
            });
        }
        if scenarios.len() != STRESS_KEYS.len() {
            return Err(format!(
                "stress: expected the {} scenarios {:?}",
                STRESS_KEYS.len(),
                STRESS_KEYS
            ));
        }
        let mut haircut_bands = Vec::new();
        for b in &raw.repo_haircuts.bands {
            if b.haircuts.len() != raw.repo_haircuts.wal_breaks.len() + 1 {
                return Err("repo_haircuts: one haircut per WAL bucket".into());
            }
            haircut_bands.push((
                rating(&b.best, "repo_haircuts")?,
                rating(&b.worst, "repo_haircuts")?,
                b.haircuts.clone(),
            ));
        }
        let mut bands = [None; 9];
        for (k, v) in &raw.near_miss.bands {
            let key =
                RuleKey::parse(k).ok_or_else(|| format!("near_miss.bands: unknown rule {k:?}"))?;
            bands[key as usize] = Some(*v);
        }
        let s = &raw.score;
        let mut rating_score = [0.0; 18];
        for (k, v) in &s.rating_score {
            rating_score[rating(k, "score.rating_score")?.position()] = *v;
        }
        let mut tier_min = [0.0; 5];
        let names = ["Diamond", "Platinum", "Gold", "Silver", "Bronze"];
        if s.tiers.len() != names.len() {
            return Err("score.tiers: expected Diamond, Platinum, Gold, Silver, Bronze".into());
        }
        for (i, t) in s.tiers.iter().enumerate() {
            if t.tier != names[i] {
                return Err(format!("score.tiers[{i}]: expected {}", names[i]));
            }
            tier_min[i] = t.min;
        }
        let score = ScoreParams {
            w_capital: s.weights.capital,
            w_resilience: s.weights.resilience,
            w_rating: s.weights.rating,
            w_simplicity: s.weights.simplicity,
            capital_full_at: s.capital_full_at,
            resilience_from: s.resilience_from,
            resilience_to: s.resilience_to,
            cost_mezz: s.simplicity_costs.mezz,
            cost_wrap: s.simplicity_costs.wrap,
            cost_hedge: s.simplicity_costs.hedge,
            viable_min: s.viable_min,
            rating_score,
            tier_min,
        };
        Ok(Ruleset {
            version: raw.version.clone(),
            hash,
            dscr_floor: by_bucket_f(&raw.dscr_floor, "dscr_floor")?,
            max_tenor,
            max_advance: by_bucket_f(&raw.max_advance, "max_advance")?,
            jurisdiction,
            max_total_ltv: raw.max_total_ltv,
            wrap: WrapTerms {
                insurer_rating: rating(&raw.wrap.insurer_rating, "wrap")?,
                dscr_relief: raw.wrap.dscr_relief,
                min_underlying: rating(&raw.wrap.min_underlying, "wrap")?,
            },
            scenarios,
            stress_dscr_min: raw.stress.dscr_min,
            wal_max_ratio: raw.wal_max_ratio,
            matrix,
            repo,
            wal_breaks: raw.repo_haircuts.wal_breaks.clone(),
            haircut_bands,
            near_miss_limit: raw.near_miss.limit,
            bands,
            score,
            raw,
        })
    }

    /// Version string, e.g. "v1.0".
    pub fn version(&self) -> &str {
        &self.version
    }

    /// SHA-256 of the ruleset file, hex.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The tables as written in the file.
    pub fn raw(&self) -> &RawRuleset {
        &self.raw
    }

    /// Senior DSCR floor for a tenant bucket (before the jurisdiction adjustment).
    pub fn dscr_floor(&self, b: Bucket) -> f64 {
        self.dscr_floor[bucket_index(b)]
    }

    /// DSCR floor adjustment for a country.
    pub fn jurisdiction_adjust(&self, c: Country) -> f64 {
        self.jurisdiction[country_index(c)]
    }

    /// Maximum senior tenor for a tenant bucket.
    pub fn max_tenor(&self, b: Bucket) -> u32 {
        self.max_tenor[bucket_index(b)]
    }

    /// Maximum advance (fraction of market value) for a tenant bucket.
    pub fn max_advance(&self, b: Bucket) -> f64 {
        self.max_advance[bucket_index(b)]
    }

    /// Cap on total debt / market value.
    pub fn max_total_ltv(&self) -> f64 {
        self.max_total_ltv
    }

    /// Credit-wrap terms.
    pub fn wrap(&self) -> &WrapTerms {
        &self.wrap
    }

    /// Stress scenarios in ruleset order.
    pub fn scenarios(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// Minimum stressed DSCR.
    pub fn stress_dscr_min(&self) -> f64 {
        self.stress_dscr_min
    }

    /// Maximum WAL as a fraction of tenor.
    pub fn wal_max_ratio(&self) -> f64 {
        self.wal_max_ratio
    }

    /// The country's rating matrix, best row first.
    pub fn rating_matrix(&self, c: Country) -> &[MatrixRow] {
        &self.matrix[country_index(c)]
    }

    /// The country's repo criteria.
    pub fn repo(&self, c: Country) -> &RepoCriteria {
        &self.repo[country_index(c)]
    }

    /// Repo haircut for an unwrapped rating and senior WAL; None below the bands.
    pub fn haircut(&self, rating: Rating, wal: f64) -> Option<f64> {
        let (_, _, cuts) = self
            .haircut_bands
            .iter()
            .find(|(best, worst, _)| best.at_least(rating) && rating.at_least(*worst))?;
        let bucket = self
            .wal_breaks
            .iter()
            .position(|&b| crate::tol::le(wal, b))
            .unwrap_or(self.wal_breaks.len());
        Some(cuts[bucket])
    }

    /// How many near-misses a run keeps.
    pub fn near_miss_limit(&self) -> u32 {
        self.near_miss_limit
    }

    /// The near-miss band of a rule (None: the rule has no band).
    pub fn band(&self, key: RuleKey) -> Option<f64> {
        self.bands[key as usize]
    }

    /// Score parameters.
    pub fn score(&self) -> &ScoreParams {
        &self.score
    }
}

/// One integrity check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Check id.
    pub id: &'static str,
    /// Whether it passed.
    pub passed: bool,
    /// What was checked, or what is wrong.
    pub details: String,
}

/// The integrity check ids, in report order.
pub const CHECK_IDS: [&str; 6] = [
    "dscr_floors",
    "tenor_limits",
    "wal_bounds",
    "af_bands",
    "rating_matrices",
    "ratings_known",
];

fn bucket_series<T: Copy>(m: &BTreeMap<String, T>) -> Result<Vec<(String, T)>, String> {
    TENANT_BUCKETS
        .iter()
        .map(|b| {
            m.get(b.as_str())
                .map(|v| (b.as_str().to_string(), *v))
                .ok_or_else(|| format!("no value for bucket {}", b.as_str()))
        })
        .collect()
}

fn outcome(id: &'static str, problems: Vec<String>, ok: &str) -> Check {
    Check {
        id,
        passed: problems.is_empty(),
        details: if problems.is_empty() {
            ok.to_string()
        } else {
            problems.join("; ")
        },
    }
}

/// Runs the integrity checks named in `only` (all of [`CHECK_IDS`] when None), in
/// [`CHECK_IDS`] order. Unknown ids are ignored by this function; callers validate them.
pub fn validate(raw: &RawRuleset, only: Option<&[&str]>) -> Vec<Check> {
    let wanted = |id: &str| only.is_none_or(|o| o.contains(&id));
    let mut out = Vec::new();
    if wanted("dscr_floors") {
        let mut p = Vec::new();
        match bucket_series(&raw.dscr_floor) {
            Err(e) => p.push(e),
            Ok(s) => {
                for (b, v) in &s {
                    if v.is_nan() || *v <= 0.0 {
                        p.push(format!("{b}: floor {v} is not positive"));
                    }
                }
                for w in s.windows(2) {
                    if w[1].1 < w[0].1 {
                        p.push(format!(
                            "{} floor {} is below {} floor {}",
                            w[1].0, w[1].1, w[0].0, w[0].1
                        ));
                    }
                }
            }
        }
        out.push(outcome(
            "dscr_floors",
            p,
            "DSCR floors are positive and non-decreasing from AAA to NR",
        ));
    }
    if wanted("tenor_limits") {
        let mut p = Vec::new();
        match bucket_series(&raw.max_tenor) {
            Err(e) => p.push(e),
            Ok(s) => {
                for (b, v) in &s {
                    if *v <= 0 {
                        p.push(format!("{b}: tenor limit {v} is not positive"));
                    }
                }
                for w in s.windows(2) {
                    if w[1].1 > w[0].1 {
                        p.push(format!(
                            "{} limit {} is above {} limit {}",
                            w[1].0, w[1].1, w[0].0, w[0].1
                        ));
                    }
                }
            }
        }
        out.push(outcome(
            "tenor_limits",
            p,
            "tenor limits are positive and non-increasing from AAA to NR",
        ));
    }
    if wanted("wal_bounds") {
        let mut p = Vec::new();
        let r = raw.wal_max_ratio;
        if !(0.0..=1.0).contains(&r) || r == 0.0 {
            p.push(format!("wal_max_ratio {r} is outside (0, 1]"));
        }
        let breaks = &raw.repo_haircuts.wal_breaks;
        if breaks.iter().any(|b| b.is_nan() || *b <= 0.0) || breaks.windows(2).any(|w| w[1] <= w[0])
        {
            p.push(format!(
                "haircut WAL breaks {breaks:?} are not positive and increasing"
            ));
        }
        out.push(outcome(
            "wal_bounds",
            p,
            "WAL ratio is in (0, 1] and haircut WAL breaks increase",
        ));
    }
    if wanted("af_bands") {
        let mut p = Vec::new();
        match bucket_series(&raw.max_advance) {
            Err(e) => p.push(e),
            Ok(s) => {
                for (b, v) in &s {
                    if !(0.0..=1.0).contains(v) || *v == 0.0 {
                        p.push(format!("{b}: advance band {v} is outside (0, 1]"));
                    }
                }
                for w in s.windows(2) {
                    if w[1].1 > w[0].1 {
                        p.push(format!(
                            "{} band {} is above {} band {}",
                            w[1].0, w[1].1, w[0].0, w[0].1
                        ));
                    }
                }
            }
        }
        let t = raw.max_total_ltv;
        if !(0.0..=1.0).contains(&t) || t == 0.0 {
            p.push(format!("max_total_ltv {t} is outside (0, 1]"));
        }
        out.push(outcome(
            "af_bands",
            p,
            "advance bands are in (0, 1] and non-increasing from AAA to NR",
        ));
    }
    if wanted("rating_matrices") {
        let mut p = Vec::new();
        for c in Country::ALL {
            match raw.rating_matrix.get(c.as_str()) {
                None => p.push(format!("{}: no matrix", c.as_str())),
                Some(rows) if rows.is_empty() => p.push(format!("{}: empty matrix", c.as_str())),
                Some(rows) => {
                    for (i, w) in rows.windows(2).enumerate() {
                        let (a, b) = (Rating::parse(&w[0].rating), Rating::parse(&w[1].rating));
                        let worse_rating = matches!((a, b), (Some(a), Some(b)) if b < a);
                        if !worse_rating || w[1].dscr >= w[0].dscr {
                            p.push(format!(
                                "{}: row {} ({} at DSCR {}) is not below row {} ({} at DSCR {})",
                                c.as_str(),
                                i + 1,
                                w[1].rating,
                                w[1].dscr,
                                i,
                                w[0].rating,
                                w[0].dscr
                            ));
                        }
                    }
                }
            }
        }
        out.push(outcome(
            "rating_matrices",
            p,
            "every country's matrix is ordered best first",
        ));
    }
    if wanted("ratings_known") {
        let mut names: Vec<(String, &str)> = Vec::new();
        names.push(("wrap.insurer_rating".into(), &raw.wrap.insurer_rating));
        names.push(("wrap.min_underlying".into(), &raw.wrap.min_underlying));
        for (c, rows) in &raw.rating_matrix {
            for (i, r) in rows.iter().enumerate() {
                names.push((format!("rating_matrix.{c}[{i}].tenant_min"), &r.tenant_min));
                names.push((format!("rating_matrix.{c}[{i}].rating"), &r.rating));
            }
        }
        for (c, r) in &raw.repo {
            names.push((format!("repo.{c}.min_rating"), &r.min_rating));
        }
        for (i, b) in raw.repo_haircuts.bands.iter().enumerate() {
            names.push((format!("repo_haircuts.bands[{i}].best"), &b.best));
            names.push((format!("repo_haircuts.bands[{i}].worst"), &b.worst));
        }
        for k in raw.score.rating_score.keys() {
            names.push(("score.rating_score".into(), k));
        }
        let p = names
            .iter()
            .filter(|(_, r)| Rating::parse(r).is_none())
            .map(|(at, r)| format!("{at}: unknown rating {r:?}"))
            .collect();
        out.push(outcome(
            "ratings_known",
            p,
            "every rating named is on the scale",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawRuleset {
        serde_json::from_str(V1_JSON).expect("v1 parses")
    }

    #[test]
    fn v1_loads_with_version_and_hash() {
        let r = Ruleset::v1();
        assert_eq!(r.version(), "v1.0");
        assert_eq!(r.hash(), sha256_hex(V1_JSON.as_bytes()));
        assert_eq!(r.dscr_floor(Bucket::Bbb), 1.30);
        assert_eq!(r.max_tenor(Bucket::Aa), 22);
        assert_eq!(r.max_advance(Bucket::Nr), 0.50);
        assert_eq!(r.jurisdiction_adjust(Country::US), -0.05);
        assert_eq!(r.rating_matrix(Country::EU)[4].max_ltv, 0.73);
        assert_eq!(r.repo(Country::US).min_rating, Rating::A);
        assert_eq!(r.scenarios()[1].cpi, Some(0.018));
        assert_eq!(r.band(RuleKey::MaxWal), Some(1.0));
        assert_eq!(r.band(RuleKey::MezzDscrOrder), None);
        assert_eq!(r.score().rating_score[Rating::BbbMinus.position()], 77.0);
    }

    #[test]
    fn haircuts_follow_band_and_wal() {
        let r = Ruleset::v1();
        assert_eq!(r.haircut(Rating::Aaa, 1.0), Some(0.02));
        assert_eq!(r.haircut(Rating::AaMinus, 1.0 + 1e-6), Some(0.08));
        assert_eq!(r.haircut(Rating::A, 5.0), Some(0.12));
        assert_eq!(r.haircut(Rating::BbbMinus, 7.0), Some(0.24));
        assert_eq!(r.haircut(Rating::BbPlus, 3.0), None);
    }

    #[test]
    fn every_check_passes_on_v1() {
        let checks = validate(&raw(), None);
        assert_eq!(checks.iter().map(|c| c.id).collect::<Vec<_>>(), CHECK_IDS);
        assert!(checks.iter().all(|c| c.passed), "{checks:?}");
    }

    #[test]
    fn checks_catch_broken_tables() {
        let mut r = raw();
        r.dscr_floor.insert("BB".into(), 1.0);
        r.max_tenor.insert("NR".into(), 30);
        r.wal_max_ratio = 1.5;
        r.max_advance.insert("A".into(), 0.9);
        r.rating_matrix.get_mut("UK").unwrap().swap(0, 1);
        r.repo.get_mut("EU").unwrap().min_rating = "BBB*".into();
        let checks = validate(&r, None);
        assert!(checks.iter().all(|c| !c.passed), "{checks:?}");
        assert!(checks[5].details.contains("repo.EU.min_rating"));
    }

    #[test]
    fn checks_can_be_selected() {
        let checks = validate(&raw(), Some(&["af_bands", "dscr_floors"]));
        assert_eq!(
            checks.iter().map(|c| c.id).collect::<Vec<_>>(),
            ["dscr_floors", "af_bands"]
        );
    }

    #[test]
    fn unknown_ratings_are_refused_when_typing() {
        let mut r = raw();
        r.wrap.insurer_rating = "AA++".into();
        assert!(Ruleset::from_raw(r, String::new())
            .unwrap_err()
            .contains("AA++"));
    }
}
