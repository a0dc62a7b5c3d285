//! The export of one ranked structure of a finished run: the structure as ranked, and the
//! same permutation evaluated in full (monthly schedule, stress, every rule, rating, repo),
//! with the project, its derived preview and the run's provenance. It is the body of
//! `GET /api/phase1/securitisation/export/{rank}` and the one source of every term-sheet
//! figure, so the documents and the JSON cannot disagree.

use phase1_core::document::EvaluateDocument;
use phase1_core::job::Job;
use phase1_core::project::{Derived, Project, Rent};
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
        Ok(Export {
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
        })
    }
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
