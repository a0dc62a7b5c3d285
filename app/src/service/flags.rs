//! Feature flags as they gate routes and engine options. The flag set lives in the document
//! store (one version for the set); when none is stored every flag is on.
//!
//! Evaluation here covers `enabled` and `admin_only`; allowlists and percentage rollout join
//! with the flag routes.

use crate::http::auth::Session;
use crate::store::{DocStore, StoreError};
use phase1_core::request::Options;
use serde_json::Value;

/// Every Phase-1 flag.
pub const FLAGS: [&str; 7] = [
    "phase1_core",
    "reverse_dscr_engine",
    "gates_ab",
    "docs_exports",
    "input_hierarchy_processor",
    "repo_eligibility_rules",
    "viability_tiering",
];

/// The flags as they evaluate for one caller.
#[derive(Debug, Clone)]
pub struct Evaluated(Value);

impl Evaluated {
    /// Loads the flag set.
    pub async fn load(doc: &dyn DocStore) -> Result<Evaluated, StoreError> {
        Ok(Evaluated(
            doc.get_flags()
                .await?
                .map(|v| v.value)
                .unwrap_or(Value::Null),
        ))
    }

    /// Whether `flag` is on for `session` (on when the set does not mention it).
    pub fn on(&self, flag: &str, session: Option<&Session>) -> bool {
        let f = &self.0[flag];
        if f.is_null() {
            return true;
        }
        let enabled = f
            .as_bool()
            .or_else(|| f["enabled"].as_bool())
            .unwrap_or(true);
        let admin_only = f["admin_only"].as_bool().unwrap_or(false);
        enabled && (!admin_only || session.is_some_and(Session::is_admin))
    }

    /// The engine options these flags select (engine spec §11).
    pub fn options(&self, session: Option<&Session>) -> Options {
        Options {
            enforce_gates: self.on("gates_ab", session),
            repo_rules: self.on("repo_eligibility_rules", session),
            tiering: self.on("viability_tiering", session),
            input_hierarchy: self.on("input_hierarchy_processor", session),
        }
    }
}
