//! The daily report: one UTC day of the shared metrics — requests, error rate, mean and p95
//! response time, peak memory, security events —, the use of each Phase-1 feature, the day's
//! problem answers grouped by code, and the canary's progression checklist with the answer to
//! "ready for the next phase?".
//!
//! The day's figures come from the day buckets of [`metrics`] (kept [`metrics::DAY_TTL`]);
//! the canary's checklist is its judgement now, whatever day is asked for (the canary has no
//! history of judgements, only its last decision).

use super::canary;
use super::metrics::{self, family_sum, Sums};
use crate::canary::Decision;
use crate::http::state::AppState;
use crate::store::StoreError;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A UTC calendar day, parsed from `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    /// Days since 1970-01-01.
    epoch_day: i64,
}

impl Day {
    /// The day of `ms` (epoch milliseconds).
    pub fn of_ms(ms: i64) -> Day {
        Day {
            epoch_day: ms.div_euclid(metrics::DAY_MS),
        }
    }

    /// Parses `YYYY-MM-DD` (a real date of years 1970–9999; the calendar is humantime's).
    pub fn parse(s: &str) -> Result<Day, String> {
        let bad = || format!("{s:?} is not a date written YYYY-MM-DD");
        if s.len() != 10 {
            return Err(bad());
        }
        let at = humantime::parse_rfc3339(&format!("{s}T00:00:00Z")).map_err(|_| bad())?;
        let ms = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| bad())?
            .as_millis();
        Ok(Day::of_ms(i64::try_from(ms).map_err(|_| bad())?))
    }

    /// Days since 1970-01-01.
    pub fn epoch_day(self) -> i64 {
        self.epoch_day
    }

    /// The first millisecond of the day.
    pub fn start_ms(self) -> i64 {
        self.epoch_day * metrics::DAY_MS
    }

    /// `YYYY-MM-DD`.
    pub fn to_iso(self) -> String {
        super::runs::rfc3339(self.start_ms())[..10].to_string()
    }
}

/// The audit actions that are security events.
pub const SECURITY_EVENTS: [&str; 6] = [
    "login.failure",
    "mfa.failure",
    "account.lock",
    "refresh.reuse",
    "ip.block",
    "ip.unblock",
];

/// The day's totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Requests answered.
    pub requests: f64,
    /// Of those, answered with a 5xx.
    pub errors: f64,
    /// errors ÷ requests (None without requests).
    pub error_rate: Option<f64>,
    /// Mean response time, ms.
    pub mean_ms: Option<f64>,
    /// 95th percentile of the response time, ms (interpolated within its bucket).
    pub p95_ms: Option<f64>,
    /// The largest resident memory seen at the end of a run, MiB.
    pub peak_memory_mb: Option<f64>,
    /// Security events: the audit's (sign-in failures, lock-outs, refresh-token reuse, IP
    /// blocks and unblocks) and the rate limiter's refusals, by kind.
    pub security_events: BTreeMap<String, f64>,
}

/// How much each Phase-1 feature was used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureUse {
    /// Runs executed by the engine.
    pub runs: f64,
    /// Runs by engine feature flag in force.
    pub runs_by_feature: BTreeMap<String, f64>,
    /// Structures checked for repo eligibility.
    pub repo_checks: f64,
    /// Viable structures by tier.
    pub tier_assignments: BTreeMap<String, f64>,
    /// Near-misses found.
    pub near_miss_captures: f64,
    /// Runs answered from the result cache.
    pub cached_runs: f64,
}

/// Problem answers of one code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorGroup {
    /// The problem's code.
    pub code: String,
    /// Its HTTP status.
    pub status: String,
    /// How many.
    pub count: f64,
}

/// One criterion of the canary's progression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Its name.
    pub criterion: String,
    /// What it needs.
    pub threshold: String,
    /// What was measured (None: nothing yet).
    pub value: Option<f64>,
    /// Whether it is met.
    pub met: bool,
}

/// The canary, as it stands when the report is made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CanaryPart {
    /// The phase.
    pub phase: String,
    /// The phase that would follow (None at FULL or ROLLED_BACK).
    pub next_phase: Option<String>,
    /// The progression criteria.
    pub checklist: Vec<Check>,
    /// Its decision: GO, HOLD or ROLLBACK.
    pub decision: Decision,
    /// Whether the canary may move to the next phase.
    pub ready_for_next_phase: bool,
    /// Why (or why not).
    pub reasons: Vec<String>,
}

/// The daily report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The day, `YYYY-MM-DD` (UTC).
    pub date: String,
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The day's totals.
    pub totals: Totals,
    /// Feature use.
    pub features: FeatureUse,
    /// Problem answers by code, most frequent first.
    pub errors: Vec<ErrorGroup>,
    /// The canary.
    pub canary: CanaryPart,
}

/// Each label value of `name` with its sum (`label` is the label's key).
fn by_label(sums: &Sums, name: &str, label: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for (k, v) in sums {
        let Some((family, rest)) = k.split_once('{') else {
            continue;
        };
        if family != name {
            continue;
        }
        if let Some(value) = label_value(rest, label) {
            *out.entry(value).or_insert(0.0) += v;
        }
    }
    out
}

/// The value of `label` in a series' label text `k="v",…}`.
fn label_value(rest: &str, label: &str) -> Option<String> {
    let start = rest.find(&format!("{label}=\""))? + label.len() + 2;
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].to_string())
}

/// The figures of one day's metric sums.
pub fn figures(day: &Sums) -> (Totals, FeatureUse, Vec<ErrorGroup>) {
    let requests = family_sum(day, "request_count_total", &[]);
    let errors = family_sum(day, "error_count_total", &[]);
    let count = day
        .get(&format!("{}_count", metrics::RESPONSE_TIME_MS.name))
        .copied()
        .unwrap_or(0.0);
    let sum = day
        .get(&format!("{}_sum", metrics::RESPONSE_TIME_MS.name))
        .copied()
        .unwrap_or(0.0);
    let mut security: BTreeMap<String, f64> = by_label(day, "audit_events_total", "action")
        .into_iter()
        .filter(|(a, _)| SECURITY_EVENTS.contains(&a.as_str()))
        .collect();
    let refusals = family_sum(day, "rate_limit_hits_total", &[]);
    if refusals > 0.0 {
        security.insert("rate_limit.refusal".into(), refusals);
    }
    let totals = Totals {
        requests,
        errors,
        error_rate: (requests > 0.0).then(|| errors / requests),
        mean_ms: (count > 0.0).then(|| sum / count),
        p95_ms: metrics::quantile(day, metrics::RESPONSE_TIME_MS, 0.95),
        peak_memory_mb: day.get("max:memory_usage_mb").copied(),
        security_events: security,
    };
    let features = FeatureUse {
        runs: family_sum(day, "runs_total", &[]),
        runs_by_feature: by_label(day, "runs_by_feature_total", "feature"),
        repo_checks: family_sum(day, "repo_eligibility_checks", &[]),
        tier_assignments: by_label(day, "viability_tier_assignments", "tier"),
        near_miss_captures: family_sum(day, "near_miss_captures", &[]),
        cached_runs: family_sum(day, "result_cache_hits_total", &[]),
    };
    let mut groups: BTreeMap<(String, String), f64> = BTreeMap::new();
    for (k, v) in day {
        let Some(("problems_total", rest)) = k.split_once('{') else {
            continue;
        };
        let code = label_value(rest, "code").unwrap_or_default();
        let status = label_value(rest, "status").unwrap_or_default();
        *groups.entry((code, status)).or_insert(0.0) += v;
    }
    let mut errors: Vec<ErrorGroup> = groups
        .into_iter()
        .map(|((code, status), count)| ErrorGroup {
            code,
            status,
            count,
        })
        .collect();
    errors.sort_by(|a, b| b.count.total_cmp(&a.count).then(a.code.cmp(&b.code)));
    (totals, features, errors)
}

/// The report of `day`.
pub async fn daily(state: &AppState, day: Day) -> Result<Report, StoreError> {
    let sums = metrics::day(state, day.epoch_day()).await?;
    let (totals, features, errors) = figures(&sums);
    let (_, c, judgement) = canary::judgement(state).await?;
    let next = c.phase.next();
    let checklist = judgement
        .criteria
        .iter()
        .filter(|k| k.kind == "progress")
        .map(|k| Check {
            criterion: k.name.to_string(),
            threshold: k.threshold.clone(),
            value: k.value,
            met: k.met,
        })
        .collect();
    let ready = judgement.decision == Decision::Go && next.is_some();
    let reasons = judgement.reasons.clone();
    Ok(Report {
        date: day.to_iso(),
        generated_at: super::runs::rfc3339(state.clock.now_ms()),
        totals,
        features,
        errors,
        canary: CanaryPart {
            phase: c.phase.as_str().to_string(),
            next_phase: next.map(|p| p.as_str().to_string()),
            checklist,
            decision: judgement.decision,
            ready_for_next_phase: ready,
            reasons,
        },
    })
}

impl Report {
    /// As JSON.
    pub fn to_json(&self) -> Value {
        json!(self)
    }

    /// As Markdown, for a chat message or an e-mail.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let num = |v: Option<f64>, unit: &str| match v {
            Some(v) => format!("{v:.1}{unit}"),
            None => "n/a".to_string(),
        };
        let t = &self.totals;
        let _ = writeln!(md, "# Phase-1 daily report, {}\n", self.date);
        let _ = writeln!(md, "Generated {} (UTC).\n", self.generated_at);
        let _ = writeln!(md, "## Totals\n\n| measure | value |\n|---|---|");
        let _ = writeln!(md, "| requests | {} |", t.requests);
        let _ = writeln!(md, "| errors (5xx) | {} |", t.errors);
        let _ = writeln!(
            md,
            "| error rate | {} |",
            num(t.error_rate.map(|r| r * 100.0), " %")
        );
        let _ = writeln!(md, "| mean response time | {} |", num(t.mean_ms, " ms"));
        let _ = writeln!(md, "| p95 response time | {} |", num(t.p95_ms, " ms"));
        let _ = writeln!(md, "| peak memory | {} |", num(t.peak_memory_mb, " MiB"));
        let security: f64 = t.security_events.values().sum();
        let _ = writeln!(md, "| security events | {security} |\n");
        if !t.security_events.is_empty() {
            let _ = writeln!(md, "| security event | count |\n|---|---|");
            for (k, v) in &t.security_events {
                let _ = writeln!(md, "| {k} | {v} |");
            }
            md.push('\n');
        }
        let f = &self.features;
        let _ = writeln!(md, "## Feature use\n\n| feature | use |\n|---|---|");
        let _ = writeln!(md, "| runs | {} |", f.runs);
        for (k, v) in &f.runs_by_feature {
            let _ = writeln!(md, "| runs with {k} | {v} |");
        }
        let _ = writeln!(md, "| runs answered from the cache | {} |", f.cached_runs);
        let _ = writeln!(md, "| repo eligibility checks | {} |", f.repo_checks);
        for (k, v) in &f.tier_assignments {
            let _ = writeln!(md, "| tier {k} | {v} |");
        }
        let _ = writeln!(md, "| near-miss captures | {} |\n", f.near_miss_captures);
        let _ = writeln!(md, "## Errors by code\n");
        if self.errors.is_empty() {
            let _ = writeln!(md, "None.\n");
        } else {
            let _ = writeln!(md, "| code | status | count |\n|---|---|---|");
            for e in &self.errors {
                let _ = writeln!(md, "| {} | {} | {} |", e.code, e.status, e.count);
            }
            md.push('\n');
        }
        let c = &self.canary;
        let _ = writeln!(
            md,
            "## Canary\n\nPhase {}{}; decision {:?}.\n",
            c.phase,
            c.next_phase
                .as_deref()
                .map_or(String::new(), |n| format!(" (next: {n})")),
            c.decision
        );
        let _ = writeln!(
            md,
            "| criterion | needs | measured | met |\n|---|---|---|---|"
        );
        for k in &c.checklist {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                k.criterion,
                k.threshold,
                k.value.map_or("n/a".to_string(), |v| format!("{v:.4}")),
                if k.met { "yes" } else { "no" }
            );
        }
        let _ = writeln!(
            md,
            "\n**Ready for the next phase: {}.**\n",
            if c.ready_for_next_phase { "yes" } else { "no" }
        );
        for r in &c.reasons {
            let _ = writeln!(md, "- {r}");
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_and_print_as_the_calendar_has_them() {
        for (s, n) in [
            ("1970-01-01", 0),
            ("2000-02-29", 11_016),
            ("2026-12-03", 20_790),
        ] {
            let d = Day::parse(s).expect(s);
            assert_eq!(d.epoch_day(), n, "{s}");
            assert_eq!(d.to_iso(), s);
        }
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026-01-32",
            "x",
            "1969-12-31",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Day::of_ms(Day::parse("2026-12-03").expect("day").start_ms() + 86_399_999).to_iso(),
            "2026-12-03"
        );
    }

    #[test]
    fn figures_sum_the_days_series() {
        let mut s = metrics::Samples::new();
        for (status, ms) in [(200, 40.0), (200, 60.0), (503, 3000.0), (404, 10.0)] {
            let one = metrics::request_samples("/api/phase1/run", "POST", status, ms, None);
            for (k, v) in one.as_pairs() {
                s.count(k, &[], v);
            }
        }
        s.count(
            "problems_total",
            &[("code", "NOT_FOUND"), ("status", "404")],
            1.0,
        )
        .count(
            "problems_total",
            &[("code", "STORE_UNAVAILABLE"), ("status", "503")],
            1.0,
        )
        .count(
            "problems_total",
            &[("code", "NOT_FOUND"), ("status", "404")],
            1.0,
        )
        .count("audit_events_total", &[("action", "login.failure")], 3.0)
        .count("audit_events_total", &[("action", "flags.update")], 1.0)
        .count("rate_limit_hits_total", &[("class", "auth")], 2.0)
        .count("runs_by_feature_total", &[("feature", "gates_ab")], 2.0)
        .count("viability_tier_assignments", &[("tier", "Gold")], 5.0)
        .count("runs_total", &[], 2.0)
        .max("memory_usage_mb", 80.0)
        .max("memory_usage_mb", 120.0);
        let sums = metrics::sums_of(&s);
        let (t, f, e) = figures(&sums);
        assert_eq!((t.requests, t.errors), (4.0, 1.0));
        assert_eq!(t.error_rate, Some(0.25));
        assert_eq!(t.mean_ms, Some((40.0 + 60.0 + 3000.0 + 10.0) / 4.0));
        assert_eq!(t.peak_memory_mb, Some(120.0));
        assert_eq!(
            t.security_events,
            BTreeMap::from([
                ("login.failure".to_string(), 3.0),
                ("rate_limit.refusal".to_string(), 2.0)
            ])
        );
        assert_eq!(f.runs, 2.0);
        assert_eq!(f.runs_by_feature["gates_ab"], 2.0);
        assert_eq!(f.tier_assignments["Gold"], 5.0);
        assert_eq!(
            e[0],
            ErrorGroup {
                code: "NOT_FOUND".into(),
                status: "404".into(),
                count: 2.0
            }
        );
        assert_eq!(e.len(), 2);
    }
}
