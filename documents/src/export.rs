//! The export of one ranked structure of a finished run: the structure as ranked, and the
//! same permutation evaluated in full (monthly schedule, stress, every rule, rating, repo),
//! with the project, its derived preview and the run's provenance. It is the body of
//! `GET /api/phase1/securitisation/export/{rank}` and the one source of every term-sheet
//! figure, so the documents and the JSON cannot disagree.

use phase1_core::assess::{self, Repo};
use phase1_core::document::EvaluateDocument;
use phase1_core::job::Job;
use phase1_core::project::{Country, Derived, Project, Rent};
use phase1_core::request::RunInput;
use phase1_core::ruleset::Ruleset;
use serde_json::{json, Value};
use std::fmt;

/// Why a structure cannot be exported.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportError {
    /// The rank is not in the run's top-N (`available` structures are ranked).
    RankOutOfRange {
        /// The rank asked for.
        rank: u64,
        /// How many structures the run ranks.
        available: usize,
    },
    /// The stored run document lacks something every finished run has.
    Corrupt(String),
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExportError::RankOutOfRange { rank, available: 0 } => {
                write!(
                    f,
                    "rank {rank} is not in the run's top: the run ranks no structure"
                )
            }
            ExportError::RankOutOfRange { rank, available } => write!(
                f,
                "rank {rank} is not in the run's top: ranks 1 to {available} are"
            ),
            ExportError::Corrupt(why) => write!(f, "stored run document: {why}"),
        }
    }
}

impl std::error::Error for ExportError {}

/// One ranked structure of a finished run, in full.
#[derive(Debug, Clone)]
pub struct Export {
    /// The run's id.
    pub run_id: String,
    /// The structure's rank (1-based).
    pub rank: u32,
    /// The structure as ranked in the run document (`top[rank − 1]`).
    pub structure: Value,
    /// The same permutation evaluated in full.
    pub evaluation: EvaluateDocument,
    /// The validated project.
    pub project: Project,
    /// Its derived preview.
    pub derived: Derived,
    /// The run's provenance, as stored.
    pub provenance: Value,
    /// Repo eligibility of the senior notes in each country (UK, EU, US): the project's own
    /// country as the engine judged it, the others judged by the same rule on the same
    /// figures; `None` when the run did not assess repo (repo rules off).
    pub repo_by_country: Option<[(Country, Repo); 3]>,
}

impl Export {
    /// Exports the structure ranked `rank` of `run` (a finished run document), whose inputs
    /// are `input`. Evaluates the permutation again: the engine is deterministic, so its
    /// figures are the run's.
    pub fn build(
        run_id: &str,
        run: &Value,
        rank: u64,
        input: &RunInput,
        rules: &Ruleset,
    ) -> Result<Export, ExportError> {
        let top = run["top"]
            .as_array()
            .ok_or_else(|| ExportError::Corrupt("no top list".into()))?;
        let structure = usize::try_from(rank)
            .ok()
            .and_then(|r| r.checked_sub(1))
            .and_then(|i| top.get(i))
            .ok_or(ExportError::RankOutOfRange {
                rank,
                available: top.len(),
            })?;
        let index = structure["index"]
            .as_u64()
            .ok_or_else(|| ExportError::Corrupt(format!("structure {rank} has no index")))?;
        let evaluation = Job::new(input, rules)
            .evaluate(index)
            .map_err(|e| ExportError::Corrupt(format!("evaluating index {index}: {e:?}")))?;
        if evaluation.structure.senior.is_none() {
            return Err(ExportError::Corrupt(format!(
                "ranked index {index} cannot be sized"
            )));
        }
        let repo_by_country = repo_by_country(&evaluation, &input.project, rules);
        Ok(Export {
            repo_by_country,
            run_id: run_id.to_string(),
            rank: rank as u32,
            structure: structure.clone(),
            evaluation,
            project: input.project.clone(),
            derived: input.project.derive(rules),
            provenance: run["provenance"].clone(),
        })
    }

    /// The export document (`securitisation/export/{rank}`).
    pub fn to_json(&self) -> Value {
        let e = &self.evaluation;
        json!({
            "run_id": self.run_id,
            "rank": self.rank,
            "structure": self.structure,
            "stress": e.structure.stress,
            "rating": e.structure.rating,
            "repo": e.structure.repo,
            "rules": e.rules,
            "near_miss": e.near_miss,
            "schedule": e.schedule,
            "project": project_json(&self.project),
            "derived": self.derived,
            "provenance": self.provenance,
            "repo_by_country": self.repo_by_country.map(|all| {
                all.iter()
                    .map(|(country, r)| {
                        (
                            format!("{country:?}"),
                            json!({
                                "eligible": r.eligible,
                                "haircut": r.haircut,
                                "value": r.value,
                                "failures": r.failures,
                            }),
                        )
                    })
                    .collect::<serde_json::Map<_, _>>()
            }),
        })
    }
}

/// Repo eligibility of a sized structure's senior notes in every country.
fn repo_by_country(
    e: &EvaluateDocument,
    project: &Project,
    rules: &Ruleset,
) -> Option<[(Country, Repo); 3]> {
    let s = &e.structure;
    let (own, senior, rating) = (s.repo.as_ref()?, s.senior.as_ref()?, s.rating.as_ref()?);
    Some(Country::ALL.map(|country| {
        let repo = if country == project.country {
            Repo {
                eligible: own.eligible,
                haircut: own.haircut,
                value: own.value,
                failures: own.failures,
            }
        } else {
            assess::repo(
                rules,
                country,
                rating.unwrapped,
                senior.min_dscr,
                senior.ltv,
                s.levers.senior_tenor,
                senior.wal,
                senior.amount,
            )
        };
        (country, repo)
    }))
}

/// The project as the API takes it: every field by its input name, defaults applied.
pub fn project_json(p: &Project) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    if let Some(map) = v.as_object_mut() {
        map.remove("rent");
        let (key, value) = match p.rent {
            Rent::GrossMonthlyRent(r) => ("gross_monthly_rent", r),
            Rent::RentPerKwhMonth(r) => ("rent_per_kwh_month", r),
        };
        map.insert(key.into(), json!(value));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::london_run;

    #[test]
    fn exports_the_ranked_structure_with_its_evaluation() {
        let (input, run) = london_run();
        let export = Export::build("r-1", &run, 1, &input, Ruleset::v1()).unwrap();
        let doc = export.to_json();
        assert_eq!(doc["structure"], run["top"][0]);
        assert_eq!(doc["rank"], 1);
        let months = 12 * doc["structure"]["levers"]["senior_tenor"].as_u64().unwrap();
        assert_eq!(doc["schedule"].as_array().unwrap().len() as u64, months);
        assert_eq!(doc["project"]["title"], "London DC Alpha");
        assert_eq!(doc["project"]["gross_monthly_rent"], 2_500_000.0);
        assert!(doc["project"].get("rent").is_none());
        assert_eq!(doc["derived"], run["derived"]);
        // The evaluation's structure is the ranked one (rank aside).
        let mut evaluated = serde_json::to_value(&export.evaluation.structure).unwrap();
        evaluated["rank"] = doc["structure"]["rank"].clone();
        assert_eq!(evaluated, doc["structure"]);
    }

    #[test]
    fn repo_is_judged_in_every_country_on_the_same_figures() {
        let (input, run) = london_run();
        let export = Export::build("r-1", &run, 1, &input, Ruleset::v1()).unwrap();
        let doc = export.to_json();
        let by_country = doc["repo_by_country"].as_object().unwrap();
        assert_eq!(
            by_country.keys().collect::<Vec<_>>(),
            ["UK", "EU", "US"],
            "every country, in the ruleset's order"
        );
        // The project's own country is the engine's judgement, as ranked.
        let own = &by_country["UK"];
        let ranked = &run["top"][0]["repo"];
        for key in ["eligible", "haircut", "value", "failures"] {
            assert_eq!(own[key], ranked[key], "{key}");
        }
        // The others: the same rule on the same note.
        let s = &run["top"][0];
        let rating =
            phase1_core::rating::Rating::parse(doc["rating"]["unwrapped"].as_str().unwrap())
                .unwrap();
        for country in [Country::EU, Country::US] {
            let want = assess::repo(
                Ruleset::v1(),
                country,
                rating,
                s["senior"]["min_dscr"].as_f64().unwrap(),
                s["senior"]["ltv"].as_f64().unwrap(),
                s["levers"]["senior_tenor"].as_u64().unwrap() as u32,
                s["senior"]["wal"].as_f64().unwrap(),
                s["senior"]["amount"].as_f64().unwrap(),
            );
            let got = &by_country[&format!("{country:?}")];
            assert_eq!(got["eligible"], want.eligible, "{country:?}");
            assert_eq!(
                got["haircut"],
                serde_json::json!(want.haircut),
                "{country:?}"
            );
        }
    }

    #[test]
    fn a_rank_outside_the_top_is_named() {
        let (input, run) = london_run();
        let n = run["top"].as_array().unwrap().len();
        for rank in [0, n as u64 + 1] {
            let err = Export::build("r-1", &run, rank, &input, Ruleset::v1()).unwrap_err();
            assert_eq!(err, ExportError::RankOutOfRange { rank, available: n });
            assert!(err.to_string().contains(&format!("ranks 1 to {n}")));
        }
    }
}
