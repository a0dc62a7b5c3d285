//! The canary as data: its phases, the thresholds that move it, and the judgement of one
//! set of measurements. Pure: the state, the measurements and the clock are handled by
//! [`crate::service::canary`].
//!
//! Readings of api.md taken here:
//! - rates are over the requests that count (a 5xx is an error, a 2xx/3xx a success, a 4xx
//!   neither), and the minimum request count is of those same requests;
//! - the rate criteria (error rate, success rate, p95) are judged only once the window holds
//!   the minimum request count, for rollback as for progress: a handful of requests is not a
//!   rate. The five-minute error count is judged at any volume;
//! - an automatic rollback switches the engine off for everyone, so it rests only on
//!   signals no single caller can manufacture: an error or latency breach counts only when
//!   it is spread over at least `rollback_min_users` distinct users (errors: users who got a
//!   5xx; latency: users with a request slower than `rollback_p95_ms`), and latency is the
//!   service's own (less the waits on the caller, without long-running checks). One user's
//!   failures still hold a canary back (progress needs their error rate and p95 too);
//! - memory is the instance's growth over its own start, sampled at the end of runs, and a
//!   breach is an alert to operators, never a rollback (a process's memory is shared by
//!   every caller, anonymous ones included);
//! - rollback criteria are judged in every phase but ROLLED_BACK (FULL too: a release that
//!   starts failing after reaching everyone is rolled back the same way); progress criteria
//!   only before FULL.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A canary phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Phase {
    /// Admins (and allowlists) only, 0 %.
    #[serde(rename = "ADMIN_ONLY")]
    AdminOnly,
    /// 1 % of users.
    #[serde(rename = "CANARY_1")]
    Canary1,
    /// 25 % of users.
    #[serde(rename = "CANARY_25")]
    Canary25,
    /// Everyone.
    #[serde(rename = "FULL")]
    Full,
    /// The controlled flags are disabled.
    #[serde(rename = "ROLLED_BACK")]
    RolledBack,
}

impl Phase {
    /// The progression, in order.
    pub const ORDER: [Phase; 4] = [
        Phase::AdminOnly,
        Phase::Canary1,
        Phase::Canary25,
        Phase::Full,
    ];

    /// The name of api.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::AdminOnly => "ADMIN_ONLY",
            Phase::Canary1 => "CANARY_1",
            Phase::Canary25 => "CANARY_25",
            Phase::Full => "FULL",
            Phase::RolledBack => "ROLLED_BACK",
        }
    }

    /// Parses a name of api.md.
    pub fn parse(s: &str) -> Option<Phase> {
        [Phase::RolledBack]
            .into_iter()
            .chain(Phase::ORDER)
            .find(|p| p.as_str() == s)
    }

    /// The phase whose percentage is `p` (0 is ADMIN_ONLY).
    pub fn from_percentage(p: u64) -> Option<Phase> {
        Phase::ORDER
            .into_iter()
            .find(|ph| u64::from(ph.percentage()) == p)
    }

    /// The rollout percentage it gives the flags it controls.
    pub fn percentage(self) -> u8 {
        match self {
            Phase::AdminOnly | Phase::RolledBack => 0,
            Phase::Canary1 => 1,
            Phase::Canary25 => 25,
            Phase::Full => 100,
        }
    }

    /// Whether the controlled flags are admin-only.
    pub fn admin_only(self) -> bool {
        self == Phase::AdminOnly
    }

    /// Whether the controlled flags are enabled (all phases but ROLLED_BACK).
    pub fn enabled(self) -> bool {
        self != Phase::RolledBack
    }

    /// The next phase of the progression (None after FULL and for ROLLED_BACK).
    pub fn next(self) -> Option<Phase> {
        let i = Phase::ORDER.iter().position(|p| *p == self)?;
        Phase::ORDER.get(i + 1).copied()
    }

    /// Where it stands in the progression (ROLLED_BACK before ADMIN_ONLY).
    fn rank(self) -> i32 {
        Phase::ORDER
            .iter()
            .position(|p| *p == self)
            .map_or(-1, |i| i as i32)
    }

    /// Whether moving from `self` to `to` widens exposure (and so needs a GO).
    pub fn widens_to(self, to: Phase) -> bool {
        to.rank() > self.rank()
    }
}

/// Progress and rollback thresholds (`PHASE1_CANARY_THRESHOLDS` overrides any of them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Minutes in the phase before progressing.
    pub min_minutes: f64,
    /// Requests in the window before rates are judged.
    pub min_requests: f64,
    /// Progress needs the error rate below this.
    pub max_error_rate: f64,
    /// Progress needs p95 below this (ms).
    pub max_p95_ms: f64,
    /// Progress needs the success rate above this.
    pub min_success_rate: f64,
    /// Rollback when the error rate is above this.
    pub rollback_error_rate: f64,
    /// Rollback when p95 is above this (ms).
    pub rollback_p95_ms: f64,
    /// Rollback when more errors than this in the last five minutes.
    pub rollback_errors_5m: f64,
    /// A rollback criterion counts only when at least this many distinct users are behind
    /// the breach.
    pub rollback_min_users: f64,
    /// Alert operators when an instance's memory grew more than this over its start (MiB).
    pub alert_memory_mb: f64,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            min_minutes: 60.0,
            min_requests: 100.0,
            max_error_rate: 0.01,
            max_p95_ms: 2000.0,
            min_success_rate: 0.98,
            rollback_error_rate: 0.05,
            rollback_p95_ms: 5000.0,
            rollback_errors_5m: 50.0,
            rollback_min_users: 3.0,
            alert_memory_mb: 512.0,
        }
    }
}

impl Thresholds {
    /// Parses `name=value,…` over the defaults (names as the fields; `rollback_memory_mb`,
    /// the name before memory became an alert, is read as `alert_memory_mb`).
    pub fn parse(spec: &str) -> Result<Thresholds, String> {
        let mut t = Thresholds::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not name=value"))?;
            let v: f64 = value
                .trim()
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{name}: {value:?} is not a non-negative number"))?;
            let slot = match name.trim() {
                "min_minutes" => &mut t.min_minutes,
                "min_requests" => &mut t.min_requests,
                "max_error_rate" => &mut t.max_error_rate,
                "max_p95_ms" => &mut t.max_p95_ms,
                "min_success_rate" => &mut t.min_success_rate,
                "rollback_error_rate" => &mut t.rollback_error_rate,
                "rollback_p95_ms" => &mut t.rollback_p95_ms,
                "rollback_errors_5m" => &mut t.rollback_errors_5m,
                "rollback_min_users" => &mut t.rollback_min_users,
                "alert_memory_mb" | "rollback_memory_mb" => &mut t.alert_memory_mb,
                other => return Err(format!("{other:?} is not a canary threshold")),
            };
            *slot = v;
        }
        Ok(t)
    }
}

/// What was measured over the canary window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Measured {
    /// Minutes since the phase began.
    pub minutes_in_phase: f64,
    /// Successes (2xx/3xx) in the window.
    pub successes: f64,
    /// Errors (5xx) in the window.
    pub errors: f64,
    /// 95th percentile response time in the window (ms).
    pub p95_ms: Option<f64>,
    /// Largest growth of an instance's resident memory over its start, at the end of a run
    /// in the window (MiB).
    pub memory_mb: Option<f64>,
    /// Errors in the last five minutes.
    pub errors_5m: f64,
    /// Distinct users who got an error in the window.
    pub error_users: f64,
    /// Distinct users who got an error in the last five minutes.
    pub error_users_5m: f64,
    /// Distinct users with a request slower than the rollback latency in the window.
    pub slow_users: f64,
}

impl Measured {
    /// Requests that count: errors and successes.
    pub fn requests(&self) -> f64 {
        self.errors + self.successes
    }

    fn rate(&self, n: f64) -> Option<f64> {
        (self.requests() > 0.0).then(|| n / self.requests())
    }
}

/// GO, HOLD or ROLLBACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Decision {
    /// Every progress criterion is met.
    Go,
    /// Stay in the phase.
    Hold,
    /// A rollback threshold is crossed.
    Rollback,
}

/// One criterion: what was measured against what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Criterion {
    /// Its name.
    pub name: &'static str,
    /// `progress` or `rollback`.
    pub kind: &'static str,
    /// The measured value (None: nothing to measure yet).
    pub value: Option<f64>,
    /// The comparison, e.g. `< 0.01`.
    pub threshold: String,
    /// For progress: met; for rollback and alert: breached (a rollback criterion only with
    /// the minimum number of users behind it).
    pub met: bool,
    /// Whether it was judged (rate criteria wait for the minimum request count).
    pub judged: bool,
    /// For rollback criteria: the distinct users behind the measured breach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<f64>,
}

/// A decision with everything it rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    /// The decision.
    pub decision: Decision,
    /// Every criterion.
    pub criteria: Vec<Criterion>,
    /// Why, in words.
    pub reasons: Vec<String>,
    /// The measurements.
    pub measured: Measured,
}

impl Judgement {
    /// Whether every progress criterion is met.
    pub fn criteria_met(&self) -> bool {
        self.criteria
            .iter()
            .filter(|c| c.kind == "progress")
            .all(|c| c.met)
            && !self.criteria.is_empty()
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!(self)
    }
}

/// Judges `m` for a canary in `phase`.
pub fn judge(phase: Phase, m: &Measured, t: &Thresholds) -> Judgement {
    let enough = m.requests() >= t.min_requests;
    let error_rate = m.rate(m.errors);
    let success_rate = m.rate(m.successes);
    let mut criteria = Vec::new();
    // Breaches too narrow to roll back: said, not acted on.
    let mut narrow = Vec::new();
    let mut rollback = |name, value: Option<f64>, limit: f64, judged: bool, unit: &str, users| {
        let breached = judged && value.is_some_and(|v| v > limit);
        let met = breached && users >= t.rollback_min_users;
        if breached && !met {
            narrow.push(format!(
                "not rolled back: {name} is {:.4} (> {limit}{unit}) across {users} user(s), \
                 needs at least {}",
                value.unwrap_or_default(),
                t.rollback_min_users
            ));
        }
        criteria.push(Criterion {
            name,
            kind: "rollback",
            value,
            threshold: format!("> {limit}{unit}"),
            met,
            judged,
            users: Some(users),
        });
    };
    if phase != Phase::RolledBack {
        rollback(
            "error_rate",
            error_rate,
            t.rollback_error_rate,
            enough,
            "",
            m.error_users,
        );
        rollback(
            "p95_ms",
            m.p95_ms,
            t.rollback_p95_ms,
            enough,
            " ms",
            m.slow_users,
        );
        rollback(
            "errors_5m",
            Some(m.errors_5m),
            t.rollback_errors_5m,
            true,
            "",
            m.error_users_5m,
        );
        criteria.push(Criterion {
            name: "memory_mb",
            kind: "alert",
            value: m.memory_mb,
            threshold: format!("> {} MiB", t.alert_memory_mb),
            met: m.memory_mb.is_some_and(|v| v > t.alert_memory_mb),
            judged: true,
            users: None,
        });
    }
    let mut progress = |name, value: Option<f64>, threshold: String, met: bool, judged: bool| {
        criteria.push(Criterion {
            name,
            kind: "progress",
            value,
            threshold,
            met: judged && met,
            judged,
            users: None,
        });
    };
    if phase.next().is_some() {
        let mins = m.minutes_in_phase;
        progress(
            "minutes_in_phase",
            Some(mins),
            format!(">= {}", t.min_minutes),
            mins >= t.min_minutes,
            true,
        );
        progress(
            "requests",
            Some(m.requests()),
            format!(">= {}", t.min_requests),
            enough,
            true,
        );
        let below = |v: Option<f64>, l: f64| v.is_some_and(|v| v < l);
        progress(
            "error_rate",
            error_rate,
            format!("< {}", t.max_error_rate),
            below(error_rate, t.max_error_rate),
            enough,
        );
        progress(
            "p95_ms",
            m.p95_ms,
            format!("< {} ms", t.max_p95_ms),
            below(m.p95_ms, t.max_p95_ms),
            enough,
        );
        let above = success_rate.is_some_and(|v| v > t.min_success_rate);
        progress(
            "success_rate",
            success_rate,
            format!("> {}", t.min_success_rate),
            above,
            enough,
        );
    }
    let describe = |c: &Criterion| match c.value {
        Some(v) => format!("{} is {v:.4} (needs {})", c.name, c.threshold),
        None => format!("{} is not measured yet (needs {})", c.name, c.threshold),
    };
    let breached: Vec<String> = criteria
        .iter()
        .filter(|c| c.kind == "rollback" && c.met)
        .map(|c| format!("rollback: {}", describe(c)))
        .collect();
    let mut noted = narrow;
    noted.extend(
        criteria
            .iter()
            .filter(|c| c.kind == "alert" && c.met)
            .map(|c| format!("alert: {}", describe(c))),
    );
    let (decision, reasons) = if !breached.is_empty() {
        (Decision::Rollback, breached)
    } else if phase == Phase::RolledBack {
        (
            Decision::Hold,
            vec![
                "the canary is rolled back: start again with canary/update or rollout/execute"
                    .into(),
            ],
        )
    } else if phase == Phase::Full {
        (Decision::Hold, vec!["FULL is the last phase".into()])
    } else {
        let unmet: Vec<String> = criteria
            .iter()
            .filter(|c| c.kind == "progress" && !c.met)
            .map(|c| {
                if c.judged {
                    describe(c)
                } else {
                    format!("{} waits for {} requests", c.name, t.min_requests)
                }
            })
            .collect();
        if unmet.is_empty() {
            (Decision::Go, vec!["every progress criterion is met".into()])
        } else {
            (Decision::Hold, unmet)
        }
    };
    let mut reasons = reasons;
    if decision != Decision::Rollback {
        reasons.extend(noted);
    }
    Judgement {
        decision,
        criteria,
        reasons,
        measured: *m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Measured {
        Measured {
            minutes_in_phase: 61.0,
            successes: 200.0,
            errors: 0.0,
            p95_ms: Some(120.0),
            memory_mb: Some(80.0),
            errors_5m: 0.0,
            error_users: 0.0,
            error_users_5m: 0.0,
            slow_users: 0.0,
        }
    }

    /// Breaches behind enough distinct users.
    fn spread(m: Measured) -> Measured {
        Measured {
            error_users: 3.0,
            error_users_5m: 3.0,
            slow_users: 3.0,
            ..m
        }
    }

    #[test]
    fn phases_parse_and_set_the_flags_as_the_spec_shows() {
        for p in Phase::ORDER.into_iter().chain([Phase::RolledBack]) {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
            assert_eq!(json!(p), json!(p.as_str()));
        }
        assert_eq!(Phase::parse("canary_1"), None);
        assert_eq!(Phase::from_percentage(25), Some(Phase::Canary25));
        assert_eq!(Phase::from_percentage(0), Some(Phase::AdminOnly));
        assert_eq!(Phase::from_percentage(50), None);
        assert!(Phase::AdminOnly.admin_only() && Phase::AdminOnly.enabled());
        assert_eq!(Phase::Canary1.percentage(), 1);
        assert!(!Phase::RolledBack.enabled());
        assert_eq!(Phase::Canary25.next(), Some(Phase::Full));
        assert_eq!(Phase::Full.next(), None);
        assert!(Phase::RolledBack.widens_to(Phase::AdminOnly));
        assert!(!Phase::Full.widens_to(Phase::Canary1));
    }

    #[test]
    fn a_healthy_canary_goes_only_after_the_minimum_runtime() {
        let t = Thresholds::default();
        assert_eq!(judge(Phase::Canary1, &healthy(), &t).decision, Decision::Go);
        let young = Measured {
            minutes_in_phase: 59.0,
            ..healthy()
        };
        let j = judge(Phase::Canary1, &young, &t);
        assert_eq!(j.decision, Decision::Hold);
        assert!(
            j.reasons[0].starts_with("minutes_in_phase"),
            "{:?}",
            j.reasons
        );
        assert!(!j.criteria_met());
    }

    #[test]
    fn too_few_requests_hold_and_do_not_judge_rates() {
        let t = Thresholds::default();
        let m = Measured {
            successes: 5.0,
            errors: 5.0,
            ..healthy()
        };
        let j = judge(Phase::Canary25, &m, &t);
        assert_eq!(j.decision, Decision::Hold, "{:?}", j.reasons);
        assert!(j
            .reasons
            .iter()
            .any(|r| r.contains("waits for 100 requests")));
    }

    #[test]
    fn each_rollback_threshold_rolls_back() {
        let t = Thresholds::default();
        let cases = [
            Measured {
                successes: 180.0,
                errors: 20.0,
                ..healthy()
            },
            Measured {
                p95_ms: Some(5001.0),
                ..healthy()
            },
            Measured {
                errors_5m: 51.0,
                errors: 51.0,
                successes: 5000.0,
                ..healthy()
            },
        ]
        .map(spread);
        for (i, m) in cases.iter().enumerate() {
            let j = judge(Phase::Canary1, m, &t);
            assert_eq!(j.decision, Decision::Rollback, "case {i}: {:?}", j.reasons);
            assert_eq!(j.reasons.len(), 1, "case {i}: {:?}", j.reasons);
        }
        let at_limit = spread(Measured {
            successes: 190.0,
            errors: 10.0,
            ..healthy()
        });
        assert_eq!(
            judge(Phase::Canary1, &at_limit, &t).decision,
            Decision::Hold
        );
        assert_eq!(
            judge(Phase::Full, &cases[0], &t).decision,
            Decision::Rollback
        );
        assert_eq!(
            judge(Phase::RolledBack, &cases[0], &t).decision,
            Decision::Hold
        );
    }

    /// H1 of the 2026-12-03 audit: one analyst's self-inflicted latency (p95 26 s) and
    /// anonymous memory pressure (646 MiB) each rolled the canary back for everyone.
    #[test]
    fn one_user_cannot_roll_back_and_memory_only_alerts() {
        let t = Thresholds::default();
        let one_user = [
            Measured {
                p95_ms: Some(26_468.7),
                slow_users: 1.0,
                ..healthy()
            },
            Measured {
                successes: 100.0,
                errors: 100.0,
                errors_5m: 100.0,
                error_users: 1.0,
                error_users_5m: 1.0,
                ..healthy()
            },
            Measured {
                p95_ms: Some(9_000.0),
                slow_users: 2.0,
                errors: 60.0,
                errors_5m: 60.0,
                error_users: 2.0,
                error_users_5m: 2.0,
                ..healthy()
            },
        ];
        for (i, m) in one_user.iter().enumerate() {
            for phase in [Phase::Canary1, Phase::Full] {
                let j = judge(phase, m, &t);
                assert_ne!(j.decision, Decision::Rollback, "case {i}: {:?}", j.reasons);
                assert!(
                    j.reasons.iter().any(|r| r.starts_with("not rolled back")),
                    "case {i}: {:?}",
                    j.reasons
                );
            }
            assert_ne!(
                judge(Phase::Canary1, m, &t).decision,
                Decision::Go,
                "one user's breach still holds the canary back"
            );
        }
        let mut configured = t;
        configured.rollback_min_users = 1.0;
        assert_eq!(
            judge(Phase::Full, &one_user[0], &configured).decision,
            Decision::Rollback,
            "the minimum is configuration"
        );

        let bloated = Measured {
            memory_mb: Some(646.2),
            ..healthy()
        };
        let j = judge(Phase::Canary1, &bloated, &t);
        assert_eq!(j.decision, Decision::Go, "{:?}", j.reasons);
        assert!(j.reasons.iter().any(|r| r.starts_with("alert: memory_mb")));
        let memory = j.criteria.iter().find(|c| c.name == "memory_mb").unwrap();
        assert_eq!((memory.kind, memory.met), ("alert", true));
        assert_eq!(judge(Phase::Full, &bloated, &t).decision, Decision::Hold);
    }

    #[test]
    fn thresholds_are_configuration() {
        let t = Thresholds::parse("min_minutes=5, rollback_p95_ms=100").unwrap();
        assert_eq!(t.min_minutes, 5.0);
        assert_eq!(t.rollback_p95_ms, 100.0);
        assert_eq!(t.min_requests, 100.0);
        let t = Thresholds::parse("rollback_min_users=1,rollback_memory_mb=300").unwrap();
        assert_eq!((t.rollback_min_users, t.alert_memory_mb), (1.0, 300.0));
        assert!(Thresholds::parse("colour=1")
            .unwrap_err()
            .contains("colour"));
        assert!(Thresholds::parse("min_minutes=-1").is_err());
        assert!(Thresholds::parse("min_minutes").is_err());
    }
}
