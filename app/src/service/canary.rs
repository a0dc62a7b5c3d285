//! The canary: its versioned state in the document store, the flags it controls, its
//! measurements (business traffic of non-admin users, from the shared metric buckets) and
//! its decisions, including the automatic rollback and the emergency rollback of every
//! flag.
//!
//! A phase change writes the canary state first (its version is the precondition, so of two
//! racing changes exactly one wins) and then the controlled flags; evaluation re-applies the
//! phase to the flags if a change stopped in between, so the two converge.

use crate::canary::{judge, Decision, Judgement, Measured, Phase};
use crate::clock::Millis;
use crate::flags::FLAGS;
use crate::http::state::AppState;
use crate::service::audit::{self, Event, Origin};
use crate::service::flags;
use crate::service::metrics::{self, BUSINESS_TIME_MS};
use crate::store::doc::CANARY_KEY;
use crate::store::{DocStore, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Key of the last decision among the versioned settings (apart from the canary state, so
/// a cron tick does not move the ETag an operator holds).
pub const DECISION_KEY: &str = "canary_decision";
/// Measurements look back at most this far.
pub const WINDOW_MINUTES: i64 = 60;

/// The stored canary state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CanaryState {
    /// The phase.
    pub phase: Phase,
    /// Its percentage.
    pub percentage: u8,
    /// When it began.
    pub since: Millis,
    /// The flags it controls.
    pub controls: Vec<String>,
    /// Why it changed.
    pub reason: String,
    /// Who changed it.
    pub changed_by: String,
}

impl CanaryState {
    /// The initial state of api.md: FULL, controlling every flag but phase1_core.
    pub fn initial(now: Millis) -> CanaryState {
        CanaryState {
            phase: Phase::Full,
            percentage: 100,
            since: now,
            controls: default_controls(),
            reason: "initial state".into(),
            changed_by: "migrate".into(),
        }
    }
}

/// Every flag but phase1_core.
pub fn default_controls() -> Vec<String> {
    FLAGS
        .iter()
        .filter(|f| **f != "phase1_core")
        .map(|f| f.to_string())
        .collect()
}

/// The state and its version (0 when none is stored).
pub async fn load(state: &AppState) -> Result<(u64, CanaryState), StoreError> {
    match state.stores.doc.get_canary().await? {
        Some(v) => {
            let parsed = serde_json::from_value(v.value)
                .map_err(|e| StoreError::corrupt("canary", e.to_string()))?;
            Ok((v.version, parsed))
        }
        None => Ok((0, CanaryState::initial(state.clock.now_ms()))),
    }
}

/// Writes the initial state (version 1) when none is stored; true when it wrote it.
pub async fn seed(doc: &dyn DocStore, now: Millis) -> Result<bool, StoreError> {
    if doc.get_canary().await?.is_some() {
        return Ok(false);
    }
    let value = json!(CanaryState::initial(now));
    match doc.put_versioned_if(CANARY_KEY, None, &value).await {
        Ok(_) => Ok(true),
        Err(StoreError::VersionConflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `canary/status`: phase, percentage, since, version, controls, last decision (what and
/// when only: the measured latency and memory are for operators).
pub async fn status(state: &AppState) -> Result<(u64, Value), StoreError> {
    let (version, c) = load(state).await?;
    Ok((version, describe(state, version, &c).await?))
}

/// The status document of an already loaded state (its last decision is read here).
pub async fn describe(
    state: &AppState,
    version: u64,
    c: &CanaryState,
) -> Result<Value, StoreError> {
    // The last decision as the public may see it: what was decided and when, not the
    // measurements it rested on (those are in canary/evaluate and status/full, for ops).
    let last = state
        .stores
        .doc
        .get_versioned(DECISION_KEY)
        .await?
        .map(|v| {
            json!({
                "decision": v.value["decision"],
                "phase": v.value["phase"],
                "at": v.value["at"],
                "rolled_back": v.value["rolled_back"].as_bool().unwrap_or(false),
            })
        });
    Ok(json!({
        "phase": c.phase,
        "percentage": c.percentage,
        "since": crate::service::runs::rfc3339(c.since),
        "version": version,
        "controls": c.controls,
        "reason": c.reason,
        "changed_by": c.changed_by,
        "last_decision": last,
    }))
}

/// Enters `phase`: the canary state if its version is `expected` (None: whatever it is,
/// retried on a concurrent change), then the controlled flags. `conditional` says, for the
/// audit row, whether the caller sent If-Match. Returns the new canary version.
pub async fn enter(
    state: &AppState,
    origin: &Origin,
    actor: &str,
    (expected, conditional): (Option<u64>, bool),
    phase: Phase,
    reason: &str,
) -> Result<u64, StoreError> {
    let mut attempts = 0;
    let (before, after, version) = loop {
        let (version, current) = load(state).await?;
        if let Some(e) = expected {
            if e != version {
                return Err(StoreError::VersionConflict {
                    expected: Some(e),
                    found: Some(version),
                });
            }
        }
        let next = CanaryState {
            phase,
            percentage: phase.percentage(),
            since: state.clock.now_ms(),
            controls: current.controls.clone(),
            reason: reason.to_string(),
            changed_by: actor.to_string(),
        };
        let cas = (version > 0).then_some(version);
        match state
            .stores
            .doc
            .put_versioned_if(CANARY_KEY, cas, &json!(next))
            .await
        {
            Ok(v) => break (current, next, v),
            Err(StoreError::VersionConflict { .. }) if expected.is_none() && attempts < 20 => {
                attempts += 1;
            }
            Err(e) => return Err(e),
        }
    };
    apply_flags(state, origin, actor, &after).await?;
    let action = if phase == Phase::RolledBack {
        "canary.rollback"
    } else {
        "canary.update"
    };
    let event = Event::new(action, actor)
        .change(json!(before), json!(after))
        .versions(version.saturating_sub(1), version)
        .conditional(conditional);
    audit::record(state, origin, event).await;
    tracing::info!(
        target: "phase1::canary",
        phase = phase.as_str(),
        version,
        reason,
        "canary phase"
    );
    Ok(version)
}

/// Sets the controlled flags as `c.phase` shows, if they are not already.
async fn apply_flags(
    state: &AppState,
    origin: &Origin,
    actor: &str,
    c: &CanaryState,
) -> Result<(), StoreError> {
    let mut attempts = 0;
    loop {
        let current = flags::load(state.stores.doc.as_ref()).await?;
        let mut changes = std::collections::BTreeMap::new();
        for name in &c.controls {
            let Some(f) = current.set.get(name) else {
                continue;
            };
            let want = (
                c.phase.enabled(),
                c.phase.admin_only(),
                c.phase.percentage(),
            );
            if (f.enabled, f.admin_only, f.rollout_percentage) != want {
                changes.insert(
                    name.clone(),
                    crate::flags::FlagChange {
                        enabled: Some(want.0),
                        admin_only: Some(want.1),
                        rollout_percentage: Some(want.2),
                        ..Default::default()
                    },
                );
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        match flags::update(
            state,
            origin,
            actor,
            "flags.canary",
            Some(current.version),
            &changes,
        )
        .await
        {
            Err(StoreError::VersionConflict { .. }) if attempts < 20 => attempts += 1,
            other => return other.map(|_| ()),
        }
    }
}

/// Measures the canary window: since the phase began, at most the last 60 minutes.
pub async fn measure(state: &AppState, c: &CanaryState) -> Result<Measured, StoreError> {
    let now = state.clock.now_ms();
    let to = metrics::minute(now);
    let from = metrics::minute(c.since.max(now - WINDOW_MINUTES * 60_000));
    let buckets = state.stores.kv.read_metrics(from.max(1), to).await?;
    let w = metrics::merge(&buckets);
    let last5 = metrics::merge(
        &buckets
            .range(to - 4..)
            .map(|(m, b)| (*m, b.clone()))
            .collect(),
    );
    let outcome = |sums: &metrics::Sums, o: &str| {
        metrics::family_sum(sums, "business_requests_total", &[("outcome", o)])
    };
    Ok(Measured {
        minutes_in_phase: (now - c.since) as f64 / 60_000.0,
        successes: outcome(&w, "success"),
        errors: outcome(&w, "error"),
        p95_ms: metrics::quantile(&w, BUSINESS_TIME_MS, 0.95),
        memory_mb: w.get(&format!("max:{}", metrics::MEMORY_GROWTH)).copied(),
        errors_5m: outcome(&last5, "error"),
        error_users: metrics::distinct(&w, metrics::ERROR_USERS),
        error_users_5m: metrics::distinct(&last5, metrics::ERROR_USERS),
        slow_users: metrics::distinct(&w, metrics::SLOW_USERS),
    })
}

/// Judges the live measurements without acting on them (status/full, rollout/plan).
pub async fn judgement(state: &AppState) -> Result<(u64, CanaryState, Judgement), StoreError> {
    let (version, c) = load(state).await?;
    let m = measure(state, &c).await?;
    let j = judge(c.phase, &m, &state.config.canary);
    Ok((version, c, j))
}

/// `canary/evaluate` and `canary/tick`: judges, rolls back automatically on a crossed
/// threshold, and records the decision.
pub async fn evaluate(state: &AppState, origin: &Origin, actor: &str) -> Result<Value, StoreError> {
    let (_, c, j) = judgement(state).await?;
    let mut out = j.to_json();
    out["phase"] = json!(c.phase);
    let alerts: Vec<&str> = j
        .criteria
        .iter()
        .filter(|c| c.kind == "alert" && c.met)
        .map(|c| c.name)
        .collect();
    out["alerts"] = json!(alerts);
    raise_new_alerts(state, origin, &j, &alerts).await;
    if j.decision == Decision::Rollback {
        // The state's reason is public (canary/status): it names the criteria, not what
        // was measured; the measurements are in the decision and the audit row.
        let names: Vec<&str> = j
            .criteria
            .iter()
            .filter(|c| c.kind == "rollback" && c.met)
            .map(|c| c.name)
            .collect();
        let reason = format!("automatic rollback: {} breached", names.join(", "));
        let version = enter(
            state,
            origin,
            actor,
            (None, false),
            Phase::RolledBack,
            &reason,
        )
        .await?;
        let mut s = metrics::Samples::new();
        s.count("canary_rollbacks_total", &[("trigger", "automatic")], 1.0);
        metrics::add_or_log(state, &s).await;
        crate::service::events::error(
            state,
            json!({"kind": "canary.rollback", "from": c.phase, "reasons": j.reasons}),
        )
        .await;
        crate::service::notifications::raise(
            state,
            crate::service::notifications::Alert {
                kind: "canary.rollback",
                severity: "page",
                summary: format!(
                    "the canary rolled back from {} by itself: every Phase-1 feature is off",
                    c.phase.as_str()
                ),
                details: json!({"from": c.phase, "reasons": j.reasons, "version": version}),
            },
        )
        .await;
        out["rolled_back"] = json!(true);
        out["version"] = json!(version);
    } else {
        apply_flags(state, origin, actor, &c).await?;
    }
    record_decision(state, &out).await;
    Ok(out)
}

/// Raises an operator alert for each alert criterion breached now but not at the last
/// evaluation (an alert is raised once per crossing, not every five minutes): an audit row,
/// an error event, an ERROR log line, and `canary_alerts_total`.
async fn raise_new_alerts(state: &AppState, origin: &Origin, j: &Judgement, alerts: &[&str]) {
    if alerts.is_empty() {
        return;
    }
    let before: Vec<String> = match state.stores.doc.get_versioned(DECISION_KEY).await {
        Ok(v) => v
            .and_then(|v| serde_json::from_value(v.value["alerts"].clone()).ok())
            .unwrap_or_default(),
        Err(e) => {
            tracing::warn!(target: "phase1::canary", error = %e, "last decision not read");
            Vec::new()
        }
    };
    for name in alerts.iter().filter(|a| !before.iter().any(|b| b == *a)) {
        let Some(c) = j.criteria.iter().find(|c| c.name == *name) else {
            continue;
        };
        let facts = json!({"criterion": c.name, "value": c.value, "threshold": c.threshold});
        audit::record(
            state,
            origin,
            Event::new("canary.alert", "system").change(Value::Null, facts.clone()),
        )
        .await;
        crate::service::events::error(state, json!({"kind": "canary.alert", "alert": facts})).await;
        let mut s = metrics::Samples::new();
        s.count("canary_alerts_total", &[("criterion", c.name)], 1.0);
        metrics::add_or_log(state, &s).await;
    }
}

async fn record_decision(state: &AppState, judgement: &Value) {
    let mut value = judgement.clone();
    value["at"] = json!(crate::service::runs::rfc3339(state.clock.now_ms()));
    let doc = state.stores.doc.as_ref();
    let written = match doc.get_versioned(DECISION_KEY).await {
        Ok(current) => doc
            .put_versioned_if(DECISION_KEY, current.map(|c| c.version), &value)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        tracing::warn!(target: "phase1::canary", error = %e, "canary decision not recorded");
    }
}

/// The emergency rollback: every Phase-1 flag off, the canary ROLLED_BACK at 0 %, an audit
/// row; the time to recovery is measured until the flags read back off.
pub async fn rollback_all(
    state: &AppState,
    origin: &Origin,
    actor: &str,
    reason: &str,
) -> Result<Value, StoreError> {
    let started = std::time::Instant::now();
    let applied = flags::disable_all(state, origin, actor, reason).await?;
    let canary_version = enter(
        state,
        origin,
        actor,
        (None, false),
        Phase::RolledBack,
        reason,
    )
    .await?;
    let check = flags::load(state.stores.doc.as_ref()).await?;
    let all_off = check.set.iter().all(|(_, f)| !f.enabled);
    let time_to_recovery_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut s = metrics::Samples::new();
    s.count("canary_rollbacks_total", &[("trigger", "manual")], 1.0);
    metrics::add_or_log(state, &s).await;
    tracing::warn!(
        target: "phase1::canary",
        time_to_recovery_ms,
        flag_version = check.version,
        "every Phase-1 flag rolled back"
    );
    crate::service::notifications::raise(
        state,
        crate::service::notifications::Alert {
            kind: "rollback.emergency",
            severity: "page",
            summary: format!("emergency rollback: every Phase-1 feature is off ({reason})"),
            details: json!({"actor": actor, "reason": reason, "route": origin.route,
                            "time_to_recovery_ms": time_to_recovery_ms}),
        },
    )
    .await;
    Ok(json!({
        "rolled_back": all_off,
        "version": check.version,
        "flags_version": applied.version,
        "canary_version": canary_version,
        "audit_id": applied.audit_id,
        "time_to_recovery_ms": time_to_recovery_ms,
    }))
}

/// One step of a rollout plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The phase entered.
    pub phase: Phase,
    /// Its percentage.
    pub percentage: u8,
    /// Whether the controlled flags are admin-only in it.
    pub admin_only: bool,
    /// Whether entering it needs a GO (it widens exposure).
    pub needs_go: bool,
}

/// The phases from `current` to `target`: onward when the target is ahead, else a fresh
/// rollout from ADMIN_ONLY (with `admin_only`) or CANARY_1. Empty when already there.
pub fn plan(current: Phase, target: Phase, admin_only: bool) -> Vec<Step> {
    let step = |p: Phase, from: Phase| Step {
        phase: p,
        percentage: p.percentage(),
        admin_only: p.admin_only(),
        needs_go: from.widens_to(p) && from != Phase::RolledBack && from != Phase::Full,
    };
    if current == target || target == Phase::RolledBack {
        return Vec::new();
    }
    let ahead = current != Phase::RolledBack && current.widens_to(target);
    let start = if ahead {
        current.next()
    } else if admin_only {
        Some(Phase::AdminOnly)
    } else {
        Some(Phase::Canary1)
    };
    let Some(start) = start else {
        return Vec::new();
    };
    let start = if start.widens_to(target) || start == target {
        start
    } else {
        target
    };
    let mut steps = Vec::new();
    let mut from = if ahead { current } else { Phase::RolledBack };
    let mut p = start;
    loop {
        steps.push(step(p, from));
        if p == target {
            break;
        }
        from = p;
        match p.next() {
            Some(n) => p = n,
            None => break,
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phases(steps: &[Step]) -> Vec<Phase> {
        steps.iter().map(|s| s.phase).collect()
    }

    #[test]
    fn plans_go_onward_or_start_afresh() {
        use Phase::*;
        let p = plan(AdminOnly, Full, true);
        assert_eq!(phases(&p), vec![Canary1, Canary25, Full]);
        assert!(p.iter().all(|s| s.needs_go));
        let p = plan(RolledBack, Canary25, true);
        assert_eq!(phases(&p), vec![AdminOnly, Canary1, Canary25]);
        assert!(!p[0].needs_go && p[1].needs_go);
        assert_eq!(phases(&plan(Full, Canary1, false)), vec![Canary1]);
        assert!(!plan(Full, Canary1, false)[0].needs_go);
        assert_eq!(phases(&plan(Full, Full, false)), Vec::<Phase>::new());
        assert_eq!(
            phases(&plan(Canary25, Canary1, true)),
            vec![AdminOnly, Canary1]
        );
        assert_eq!(phases(&plan(Canary1, AdminOnly, false)), vec![AdminOnly]);
    }
}
