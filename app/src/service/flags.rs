//! The stored flag set: one version for the whole set in the document store, read per
//! request (many instances share it; nothing is cached in memory), written only by
//! versioned, audited changes.
//!
//! The model and its evaluation are [`crate::flags`]; this module loads and stores it,
//! gates routes and selects engine options (api.md: gates_ab → enforce_gates,
//! repo_eligibility_rules → repo_rules, viability_tiering → tiering,
//! input_hierarchy_processor → input_hierarchy).

use crate::flags::{evaluate, Caller, Decision, FlagChange, FlagSet, FLAGS};
use crate::http::state::AppState;
use crate::service::audit::{self, Event, Origin};
use crate::store::{DocStore, StoreError};
use phase1_core::request::Options;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The flag set and its version (0 when nothing is stored yet).
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// The set's version.
    pub version: u64,
    /// The flags.
    pub set: FlagSet,
}

impl Stored {
    /// `{version, flags}`.
    pub fn to_json(&self) -> Value {
        json!({"version": self.version, "flags": self.set.to_value()})
    }
}

/// Reads the flag set (the initial state, version 0, when none is stored).
pub async fn load(doc: &dyn DocStore) -> Result<Stored, StoreError> {
    Ok(match doc.get_flags().await? {
        Some(v) => Stored {
            version: v.version,
            set: FlagSet::from_stored(&v.value),
        },
        None => Stored {
            version: 0,
            set: FlagSet::initial(),
        },
    })
}

/// Writes the initial state of api.md (version 1) when no flag set is stored; true when it
/// wrote it. Safe to run from many instances at once.
pub async fn seed(doc: &dyn DocStore) -> Result<bool, StoreError> {
    if doc.get_flags().await?.is_some() {
        return Ok(false);
    }
    match doc
        .put_versioned_if(
            crate::store::doc::FLAGS_KEY,
            None,
            &FlagSet::initial().to_value(),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(StoreError::VersionConflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The flags as they evaluate for one caller.
#[derive(Debug, Clone)]
pub struct Evaluated {
    stored: Stored,
    caller: Caller,
}

impl Evaluated {
    /// Loads the flag set for `caller`.
    pub async fn load(doc: &dyn DocStore, caller: Caller) -> Result<Evaluated, StoreError> {
        Ok(Evaluated {
            stored: load(doc).await?,
            caller,
        })
    }

    /// The set's version.
    pub fn version(&self) -> u64 {
        self.stored.version
    }

    /// The decision for `flag` (off for an unknown name).
    pub fn decision(&self, flag: &str) -> Option<Decision> {
        self.stored
            .set
            .get(flag)
            .map(|f| evaluate(flag, f, &self.caller))
    }

    /// Whether `flag` is on.
    pub fn on(&self, flag: &str) -> bool {
        self.decision(flag).is_some_and(|d| d.on)
    }

    /// Every flag: on or off.
    pub fn all(&self) -> Map<String, Value> {
        FLAGS
            .iter()
            .map(|f| (f.to_string(), json!(self.on(f))))
            .collect()
    }

    /// Every flag with its reason.
    pub fn explained(&self) -> Map<String, Value> {
        FLAGS
            .iter()
            .filter_map(|f| self.decision(f).map(|d| (f.to_string(), d.to_json())))
            .collect()
    }

    /// The engine options these flags select (engine spec §11).
    pub fn options(&self) -> Options {
        Options {
            enforce_gates: self.on("gates_ab"),
            repo_rules: self.on("repo_eligibility_rules"),
            tiering: self.on("viability_tiering"),
            input_hierarchy: self.on("input_hierarchy_processor"),
        }
    }
}

/// What a change did.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The new version.
    pub version: u64,
    /// The flags changed.
    pub applied: Vec<String>,
    /// The audit row.
    pub audit_id: String,
}

/// Applies `changes` in one versioned write, with one audit row holding the changed flags
/// before and after: to version `expected` when given (else 412), or to whatever version is
/// current (retried on a concurrent change; the audit row says `conditional: false`).
pub async fn update(
    state: &AppState,
    origin: &Origin,
    actor: &str,
    action: &'static str,
    expected: Option<u64>,
    changes: &BTreeMap<String, FlagChange>,
) -> Result<Applied, StoreError> {
    let mut attempts = 0;
    loop {
        let current = load(state.stores.doc.as_ref()).await?;
        if let Some(e) = expected.filter(|e| *e != current.version) {
            return Err(StoreError::VersionConflict {
                expected: Some(e),
                found: Some(current.version),
            });
        }
        let mut next = current.set.clone();
        for (name, change) in changes {
            if let Some(f) = next.get_mut(name) {
                change.apply(f);
            }
        }
        let names: Vec<String> = changes.keys().cloned().collect();
        let note = Note {
            extra: Value::Null,
            conditional: Some(expected.is_some()),
        };
        match write(state, origin, actor, action, &current, next, names, note).await {
            Err(StoreError::VersionConflict { .. }) if expected.is_none() && attempts < 20 => {
                attempts += 1;
            }
            other => return other,
        }
    }
}

/// What an audit row of a flag write adds: details merged into `new`, and whether the write
/// was conditional.
struct Note {
    extra: Value,
    conditional: Option<bool>,
}

/// Turns every Phase-1 flag off without a version precondition (an emergency must not
/// race): retried on a concurrent change until it lands.
pub async fn disable_all(
    state: &AppState,
    origin: &Origin,
    actor: &str,
    reason: &str,
) -> Result<Applied, StoreError> {
    let mut attempts = 0;
    loop {
        let current = load(state.stores.doc.as_ref()).await?;
        let mut next = current.set.clone();
        for f in FLAGS {
            if let Some(flag) = next.get_mut(f) {
                flag.enabled = false;
            }
        }
        let names = FLAGS.iter().map(|f| f.to_string()).collect();
        let note = Note {
            extra: json!({"reason": reason}),
            conditional: None,
        };
        match write(
            state,
            origin,
            actor,
            "flags.rollback",
            &current,
            next,
            names,
            note,
        )
        .await
        {
            Err(StoreError::VersionConflict { .. }) if attempts < 20 => attempts += 1,
            other => return other,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn write(
    state: &AppState,
    origin: &Origin,
    actor: &str,
    action: &'static str,
    current: &Stored,
    next: FlagSet,
    names: Vec<String>,
    note: Note,
) -> Result<Applied, StoreError> {
    let expected = (current.version > 0).then_some(current.version);
    let version = state
        .stores
        .doc
        .put_versioned_if(crate::store::doc::FLAGS_KEY, expected, &next.to_value())
        .await?;
    let pick = |set: &FlagSet| -> Value {
        names
            .iter()
            .filter_map(|n| set.get(n).map(|f| (n.clone(), json!(f))))
            .collect::<Map<String, Value>>()
            .into()
    };
    let mut new = pick(&next);
    if let (Value::Object(m), Value::Object(extra)) = (&mut new, note.extra) {
        m.extend(extra);
    }
    let mut event = Event::new(action, actor)
        .change(pick(&current.set), new)
        .versions(current.version, version);
    if let Some(c) = note.conditional {
        event = event.conditional(c);
    }
    let audit_id = audit::record(state, origin, event).await;
    Ok(Applied {
        version,
        applied: names,
        audit_id,
    })
}
