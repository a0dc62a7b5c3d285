//! Metrics: counters and histograms of api.md, written where the work happens into the
//! key-value store's one-minute buckets, so every instance adds to the same sums.
//!
//! Each observation goes to two buckets in one concurrent pair of atomic calls: its minute
//! (for windows: the canary, the dashboard) and the lifetime bucket [`TOTALS`] (for the
//! Prometheus exposition, whose counters must never go down as minutes expire).
//!
//! A series is stored under its Prometheus name with labels, e.g.
//! `request_count_total{route="/api/phase1/run",method="POST",status="200"}`. Histograms are
//! stored per bucket, not cumulatively (`response_time_ms_bucket{le="250"}` counts the
//! observations in (100, 250]), plus `_sum` and `_count`; the exposition makes them
//! cumulative. A series named `max:…` keeps the largest value added (memory).
//!
//! Quantiles are estimated from the buckets by linear interpolation within the bucket that
//! holds the rank (as Prometheus' `histogram_quantile` does); the canary thresholds (2,000
//! and 5,000 ms) are bucket bounds, so its decisions do not depend on the interpolation.

use crate::clock::Millis;
use crate::http::state::AppState;
use crate::store::{MetricBuckets, StoreError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// The bucket that holds lifetime totals.
pub const TOTALS: i64 = 0;
/// How long minute buckets are kept.
pub const MINUTE_TTL: Duration = Duration::from_secs(26 * 3600);
/// How long the lifetime bucket is kept after its last change.
pub const TOTALS_TTL: Duration = Duration::from_secs(400 * 24 * 3600);
/// A day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// How long a day bucket (the daily report's figures) is kept after its last change.
pub const DAY_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// The bucket that holds the sums of the UTC day `epoch_day` (days since 1970-01-01):
/// negative, below [`TOTALS`], so no minute window ever reads it.
pub fn day_bucket(epoch_day: i64) -> i64 {
    -epoch_day - 1
}

/// Sums by series, over one or more buckets.
pub type Sums = BTreeMap<String, f64>;

/// A histogram: its name and upper bucket bounds (the last bucket is `+Inf`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Histogram {
    /// Family name.
    pub name: &'static str,
    /// One line on what it measures.
    pub help: &'static str,
    /// Upper bounds, increasing.
    pub bounds: &'static [f64],
}

const MS_BOUNDS: &[f64] = &[
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0, 2500.0, 5000.0, 10000.0, 30000.0,
];

/// Response time of every request.
pub const RESPONSE_TIME_MS: Histogram = Histogram {
    name: "response_time_ms",
    help: "Response time of every request, in milliseconds",
    bounds: MS_BOUNDS,
};
/// Response time of business routes served to non-admin users (what the canary measures).
pub const BUSINESS_TIME_MS: Histogram = Histogram {
    name: "business_response_time_ms",
    help: "Response time of Phase-1 business routes served to non-admin users, in milliseconds",
    bounds: MS_BOUNDS,
};
/// Engine time of a run.
pub const RUN_MS: Histogram = Histogram {
    name: "run_ms",
    help: "Engine time of a run, in milliseconds",
    bounds: MS_BOUNDS,
};
/// Run time divided by permutations evaluated.
pub const PERMUTATION_US: Histogram = Histogram {
    name: "permutation_us",
    help: "Run time per evaluated permutation, in microseconds",
    bounds: &[
        0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 1000.0,
    ],
};
/// Resident memory of the serving process.
pub const MEMORY_MB: Histogram = Histogram {
    name: "memory_usage_mb",
    help: "Resident memory of the serving process at the end of a run, in MiB",
    bounds: &[32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0],
};

/// Every histogram.
pub const HISTOGRAMS: [Histogram; 5] = [
    RESPONSE_TIME_MS,
    BUSINESS_TIME_MS,
    RUN_MS,
    PERMUTATION_US,
    MEMORY_MB,
];

/// Every counter family: name and help.
pub const COUNTERS: [(&str, &str); 24] = [
    ("request_count_total", "Requests, by route, method and status"),
    ("error_count_total", "Responses with a 5xx status, by route"),
    ("business_requests_total", "Business requests of non-admin users, by outcome (success: 2xx/3xx, error: 5xx, other: 4xx)"),
    ("security_blocks_total", "IP addresses blocked"),
    ("rate_limit_hits_total", "Requests refused with 429, by route class"),
    ("result_cache_hits_total", "Runs answered from the result cache"),
    ("result_cache_misses_total", "Runs not found in the result cache"),
    ("runs_total", "Runs executed by the engine"),
    ("permutations_processed_total", "Permutations evaluated by the engine"),
    ("gate_a_pruned_count", "Permutations that failed a Gate A rule"),
    ("gate_b_pruned_count", "Permutations that passed Gate A and failed a Gate B rule"),
    ("rule_failures_by_key", "Rule failures, by rule key"),
    ("near_miss_captures", "Near-misses found"),
    ("viability_tier_assignments", "Viable structures, by tier"),
    ("repo_eligibility_checks", "Structures checked for repo eligibility"),
    ("synthetic_checks_total", "Synthetic monitor actions, by action and outcome"),
    ("synthetic_alerts_total", "Synthetic monitor alerts raised"),
    ("canary_rollbacks_total", "Automatic and manual rollbacks"),
    ("canary_alerts_total", "Canary alerts raised to operators, by criterion"),
    ("store_slow_calls_total", "Store calls over PHASE1_SLOW_MS, by store"),
    ("problems_total", "Problem answers (4xx and 5xx), by code and status"),
    ("runs_by_feature_total", "Runs executed by the engine, by engine feature flag in force"),
    ("audit_events_total", "Security and administrative events, by action"),
    ("alert_deliveries_total", "Alert delivery attempts, by outcome (delivered, retry, dead)"),
];

/// Observations to add, built up and then written with [`add`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    /// Series for the minute buckets and the lifetime totals.
    all: Vec<(String, f64)>,
    /// Series for the minute buckets only: per-user marks the canary counts distinct users
    /// with, which the lifetime totals (and the exposition) have no use for.
    window: Vec<(String, f64)>,
}

impl Samples {
    /// No observations yet.
    pub fn new() -> Samples {
        Samples::default()
    }

    /// Adds `v` to the counter `name` with `labels`.
    pub fn count(&mut self, name: &str, labels: &[(&str, &str)], v: f64) -> &mut Samples {
        self.all.push((series(name, labels), v));
        self
    }

    /// Adds `v` to the series `name` with `labels` in the minute bucket only.
    pub fn count_in_window(&mut self, name: &str, labels: &[(&str, &str)], v: f64) -> &mut Samples {
        self.window.push((series(name, labels), v));
        self
    }

    /// Records one observation of `h`.
    pub fn observe(&mut self, h: Histogram, v: f64) -> &mut Samples {
        let le = h
            .bounds
            .iter()
            .find(|b| v <= **b)
            .map_or_else(|| "+Inf".to_string(), |b| bound_label(*b));
        self.all
            .push((series(&format!("{}_bucket", h.name), &[("le", &le)]), 1.0));
        self.all.push((format!("{}_sum", h.name), v));
        self.all.push((format!("{}_count", h.name), 1.0));
        self
    }

    /// Keeps the largest value of the gauge `name`.
    pub fn max(&mut self, name: &str, v: f64) -> &mut Samples {
        self.all.push((format!("max:{name}"), v));
        self
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty() && self.window.is_empty()
    }

    /// The series and values for the minute bucket: all of them.
    pub fn as_pairs(&self) -> Vec<(&str, f64)> {
        self.all
            .iter()
            .chain(&self.window)
            .map(|(k, v)| (k.as_str(), *v))
            .collect()
    }

    /// The series and values for the lifetime totals.
    fn lifetime_pairs(&self) -> Vec<(&str, f64)> {
        self.all.iter().map(|(k, v)| (k.as_str(), *v)).collect()
    }
}

fn bound_label(b: f64) -> String {
    format!("{b}")
}

/// `name{k="v",…}` (just `name` without labels).
pub fn series(name: &str, labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return name.to_string();
    }
    let mut s = format!("{name}{{");
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{k}=\"{v}\"");
    }
    s.push('}');
    s
}

/// Epoch minute of `ms`.
pub fn minute(ms: Millis) -> i64 {
    ms.div_euclid(60_000)
}

/// Writes `samples` to the current minute, the lifetime totals and the current day.
pub async fn add(state: &AppState, samples: &Samples) -> Result<(), StoreError> {
    if samples.is_empty() {
        return Ok(());
    }
    let (pairs, lifetime) = (samples.as_pairs(), samples.lifetime_pairs());
    let kv = state.stores.kv.as_ref();
    let now_ms = state.clock.now_ms();
    let now = minute(now_ms);
    if lifetime.is_empty() {
        return kv.add_metrics(now, &pairs, MINUTE_TTL).await;
    }
    let today = day_bucket(now_ms.div_euclid(DAY_MS));
    let (a, b, c) = tokio::join!(
        kv.add_metrics(now, &pairs, MINUTE_TTL),
        kv.add_metrics(TOTALS, &lifetime, TOTALS_TTL),
        kv.add_metrics(today, &lifetime, DAY_TTL)
    );
    a.and(b).and(c)
}

/// The sums of the UTC day `epoch_day` (empty once its bucket has expired).
pub async fn day(state: &AppState, epoch_day: i64) -> Result<Sums, StoreError> {
    let bucket = day_bucket(epoch_day);
    Ok(merge(&state.stores.kv.read_metrics(bucket, bucket).await?))
}

/// [`add`], logging instead of failing: metrics never fail the work they measure.
pub async fn add_or_log(state: &AppState, samples: &Samples) {
    if let Err(e) = add(state, samples).await {
        tracing::warn!(target: "phase1::metrics", error = %e, "metrics not recorded");
    }
}

/// Adds one to a counter without labels.
pub async fn bump(state: &AppState, name: &str) {
    let mut s = Samples::new();
    s.count(name, &[], 1.0);
    add_or_log(state, &s).await;
}

/// The methods that get a series of their own; any other token is counted as `other`.
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// The metric label of a request method: one of [`METHODS`], or `other`. A client chooses
/// the method token freely (`QWERTY /zz` is a valid request line), so it is never a label
/// as sent: each distinct token would be a new series kept for 400 days.
pub fn method_label(method: &str) -> &'static str {
    METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

/// Series of the minute buckets marking, per user (as the hash of [`crate::logging`]), a
/// business request answered with a 5xx: the canary counts the distinct users behind errors.
pub const ERROR_USERS: &str = "business_error_users";
/// Series of the minute buckets marking, per user, a business request slower than the
/// canary's rollback latency: the canary counts the distinct users behind slowness.
pub const SLOW_USERS: &str = "business_slow_users";

/// A business request — a Phase-1 route served to a signed-in user who is not an admin —
/// as the canary measures it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Business<'a> {
    /// The caller, as a hash.
    pub user: &'a str,
    /// The latency the service is answerable for: the response time less the waits on the
    /// caller ([`crate::waits`]); None for a route that runs long by design.
    pub latency_ms: Option<f64>,
    /// Latency above this marks the user as slowed (the canary's rollback p95).
    pub slow_ms: f64,
}

/// The observations of one request. `route` is a pattern of the route table (or
/// `unmatched`), never a raw path, and `method` is mapped by [`method_label`], so the
/// series a client can create are bounded. `business` when it was a business request
/// (the canary's measurement).
pub fn request_samples(
    route: &str,
    method: &str,
    status: u16,
    duration_ms: f64,
    business: Option<Business<'_>>,
) -> Samples {
    let mut s = Samples::new();
    let code = status.to_string();
    s.count(
        "request_count_total",
        &[
            ("route", route),
            ("method", method_label(method)),
            ("status", &code),
        ],
        1.0,
    )
    .observe(RESPONSE_TIME_MS, duration_ms);
    if status >= 500 {
        s.count("error_count_total", &[("route", route)], 1.0);
    }
    if let Some(b) = business {
        let outcome = match status {
            500.. => "error",
            200..=399 => "success",
            _ => "other",
        };
        s.count("business_requests_total", &[("outcome", outcome)], 1.0);
        if status >= 500 {
            s.count_in_window(ERROR_USERS, &[("user", b.user)], 1.0);
        }
        if let Some(latency) = b.latency_ms {
            s.observe(BUSINESS_TIME_MS, latency);
            if latency > b.slow_ms {
                s.count_in_window(SLOW_USERS, &[("user", b.user)], 1.0);
            }
        }
    }
    s
}

/// The observations of one run, from its statistics; `repo_rules` when the run checked
/// repo eligibility (every structure that passed both gates is checked). Memory is sampled
/// here, at the end of a run, and nowhere else: the resident set, and its growth over
/// `baseline_mb` (this instance's resident set when it started), which the canary judges.
pub fn run_samples(
    stats: &phase1_core::document::Stats,
    features: &[String],
    repo_rules: bool,
    baseline_mb: Option<f64>,
) -> Samples {
    let mut s = Samples::new();
    let stats_json = serde_json::to_value(stats).unwrap_or(Value::Null);
    for f in features {
        s.count("runs_by_feature_total", &[("feature", f)], 1.0);
    }
    s.count("runs_total", &[], 1.0)
        .count("permutations_processed_total", &[], stats.evaluated as f64)
        .count("gate_a_pruned_count", &[], stats.gate_a_pruned as f64)
        .count("gate_b_pruned_count", &[], stats.gate_b_pruned as f64)
        .count("near_miss_captures", &[], stats.near_misses as f64);
    if repo_rules {
        let assessed = stats.evaluated - stats.gate_a_pruned - stats.gate_b_pruned;
        s.count("repo_eligibility_checks", &[], assessed as f64);
    }
    for (key, n) in object_counts(&stats_json["rule_failures_by_key"]) {
        s.count("rule_failures_by_key", &[("key", &key)], n);
    }
    for (tier, n) in object_counts(&stats_json["tier_counts"]) {
        s.count("viability_tier_assignments", &[("tier", &tier)], n);
    }
    if let Some(ms) = stats.duration_ms {
        s.observe(RUN_MS, ms);
        if stats.evaluated > 0 {
            s.observe(PERMUTATION_US, ms * 1000.0 / stats.evaluated as f64);
        }
    }
    if let Some(mb) = memory_mb() {
        s.observe(MEMORY_MB, mb).max("memory_usage_mb", mb);
        if let Some(base) = baseline_mb {
            s.max(MEMORY_GROWTH, (mb - base).max(0.0));
        }
    }
    s
}

/// The gauge of the largest growth of an instance's resident memory over its start, seen
/// at the end of a run (MiB).
pub const MEMORY_GROWTH: &str = "memory_growth_mb";

/// The number of distinct series of family `name` in `sums` (distinct users, for the
/// per-user marks).
pub fn distinct(sums: &Sums, name: &str) -> f64 {
    sums.iter()
        .filter(|(k, v)| **v > 0.0 && k.split_once('{').is_some_and(|(f, _)| f == name))
        .count() as f64
}

fn object_counts(v: &Value) -> Vec<(String, f64)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, n)| n.as_f64().filter(|n| *n > 0.0).map(|n| (k.clone(), n)))
                .collect()
        })
        .unwrap_or_default()
}

/// Resident memory of this process in MiB (Linux `/proc/self/status`; None elsewhere).
pub fn memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

/// Sums over the minute buckets `from..=to` (epoch minutes); `max:` series keep the maximum.
pub async fn window(state: &AppState, from: i64, to: i64) -> Result<Sums, StoreError> {
    Ok(merge(&state.stores.kv.read_metrics(from.max(1), to).await?))
}

/// The lifetime totals.
pub async fn totals(state: &AppState) -> Result<Sums, StoreError> {
    Ok(merge(&state.stores.kv.read_metrics(TOTALS, TOTALS).await?))
}

/// Merges buckets: sums, and maxima for `max:` series.
pub fn merge(buckets: &MetricBuckets) -> Sums {
    let mut out = Sums::new();
    for bucket in buckets.values() {
        for (k, v) in bucket {
            let e = out.entry(k.clone()).or_insert(if k.starts_with("max:") {
                f64::NEG_INFINITY
            } else {
                0.0
            });
            if k.starts_with("max:") {
                *e = e.max(*v);
            } else {
                *e += v;
            }
        }
    }
    out
}

/// The sum of every series of family `name` whose labels include all of `labels`.
pub fn family_sum(sums: &Sums, name: &str, labels: &[(&str, &str)]) -> f64 {
    sums.iter()
        .filter(|(k, _)| {
            let (family, rest) = k.split_once('{').unwrap_or((k.as_str(), ""));
            family == name
                && labels
                    .iter()
                    .all(|(lk, lv)| rest.contains(&format!("{lk}=\"{lv}\"")))
        })
        .map(|(_, v)| v)
        .sum()
}

/// Observations of `h` in `sums`.
pub fn histogram_count(sums: &Sums, h: Histogram) -> f64 {
    sums.get(&format!("{}_count", h.name))
        .copied()
        .unwrap_or(0.0)
}

/// The `q` quantile (0..=1) of `h` over `sums`; None without observations. Linear within
/// the bucket holding the rank; the `+Inf` bucket answers its lower bound.
pub fn quantile(sums: &Sums, h: Histogram, q: f64) -> Option<f64> {
    let counts: Vec<f64> = h
        .bounds
        .iter()
        .map(|b| bound_label(*b))
        .chain(std::iter::once("+Inf".to_string()))
        .map(|le| {
            sums.get(&series(&format!("{}_bucket", h.name), &[("le", &le)]))
                .copied()
                .unwrap_or(0.0)
        })
        .collect();
    let total: f64 = counts.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut seen = 0.0;
    for (i, c) in counts.iter().enumerate() {
        if *c > 0.0 && seen + c >= rank {
            let lower = if i == 0 { 0.0 } else { h.bounds[i - 1] };
            let Some(upper) = h.bounds.get(i) else {
                return Some(lower);
            };
            return Some(lower + (upper - lower) * ((rank - seen) / c).clamp(0.0, 1.0));
        }
        seen += c;
    }
    h.bounds.last().copied()
}

/// The lifetime totals in the Prometheus text exposition format (version 0.0.4).
pub fn prometheus(totals: &Sums) -> String {
    let mut out = String::new();
    for (name, help) in COUNTERS {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        let mut any = false;
        for (k, v) in totals {
            if k.split_once('{').map_or(k.as_str(), |(f, _)| f) == name {
                let _ = writeln!(out, "{k} {v}");
                any = true;
            }
        }
        if !any {
            let _ = writeln!(out, "{name} 0");
        }
    }
    for h in HISTOGRAMS {
        let _ = writeln!(out, "# HELP {0} {1}\n# TYPE {0} histogram", h.name, h.help);
        let mut cumulative = 0.0;
        let les = h.bounds.iter().map(|b| bound_label(*b));
        for le in les.chain(std::iter::once("+Inf".to_string())) {
            let key = series(&format!("{}_bucket", h.name), &[("le", &le)]);
            cumulative += totals.get(&key).copied().unwrap_or(0.0);
            let _ = writeln!(out, "{key} {cumulative}");
        }
        let sum = totals
            .get(&format!("{}_sum", h.name))
            .copied()
            .unwrap_or(0.0);
        let _ = writeln!(out, "{}_sum {sum}\n{}_count {cumulative}", h.name, h.name);
    }
    let max = totals.get("max:memory_usage_mb").copied().unwrap_or(0.0);
    let _ = writeln!(
        out,
        "# HELP memory_usage_mb_max Largest resident memory seen, in MiB\n\
         # TYPE memory_usage_mb_max gauge\nmemory_usage_mb_max {max}"
    );
    out
}

/// The `store_ready` gauges of the exposition: 1 when the store answered a ping, else 0.
pub fn readiness(document: bool, key_value: bool) -> String {
    format!(
        "# HELP store_ready Whether the store answered a ping at this scrape (1) or not (0)\n\
         # TYPE store_ready gauge\n\
         store_ready{{store=\"document\"}} {}\nstore_ready{{store=\"key_value\"}} {}\n",
        u8::from(document),
        u8::from(key_value)
    )
}

/// `samples` as one bucket would hold them (sums, and maxima for `max:` series).
#[cfg(test)]
pub(crate) fn sums_of(samples: &Samples) -> Sums {
    let mut bucket: BTreeMap<String, f64> = BTreeMap::new();
    for (k, v) in samples.as_pairs() {
        let e = bucket
            .entry(k.to_string())
            .or_insert(if k.starts_with("max:") {
                f64::NEG_INFINITY
            } else {
                0.0
            });
        if k.starts_with("max:") {
            *e = e.max(v);
        } else {
            *e += v;
        }
    }
    merge(&MetricBuckets::from([(1, bucket)]))
}

/// The dashboard tiles over the last `minutes` minutes.
pub async fn summary(state: &AppState, minutes: i64) -> Result<Value, StoreError> {
    let now = minute(state.clock.now_ms());
    let w = window(state, now - minutes + 1, now).await?;
    let requests = family_sum(&w, "request_count_total", &[]);
    let errors = family_sum(&w, "error_count_total", &[]);
    let evaluated = family_sum(&w, "permutations_processed_total", &[]);
    let gate_a = family_sum(&w, "gate_a_pruned_count", &[]);
    let gate_b = family_sum(&w, "gate_b_pruned_count", &[]);
    let run_ms = w.get("run_ms_sum").copied().unwrap_or(0.0);
    let ratio = |a: f64, b: f64| if b > 0.0 { Some(a / b) } else { None };
    Ok(json!({
        "window_minutes": minutes,
        "throughput": {
            "requests": requests,
            "requests_per_minute": requests / minutes as f64,
            "runs": family_sum(&w, "runs_total", &[]),
            "permutations": evaluated,
            "permutations_per_sec": ratio(evaluated, run_ms / 1000.0),
        },
        "performance": {
            "p50_ms": quantile(&w, RESPONSE_TIME_MS, 0.5),
            "p95_ms": quantile(&w, RESPONSE_TIME_MS, 0.95),
            "run_p50_ms": quantile(&w, RUN_MS, 0.5),
            "run_p95_ms": quantile(&w, RUN_MS, 0.95),
            "permutation_us_p50": quantile(&w, PERMUTATION_US, 0.5),
        },
        "errors": {
            "count": errors,
            "error_rate": ratio(errors, requests),
            "rate_limited": family_sum(&w, "rate_limit_hits_total", &[]),
            "blocks": family_sum(&w, "security_blocks_total", &[]),
        },
        "pruning": {
            "evaluated": evaluated,
            "gate_a_pruned": gate_a,
            "gate_b_pruned": gate_b,
            "efficiency": ratio(gate_a + gate_b, evaluated),
        },
        "memory": {
            "current_mb": memory_mb(),
            "max_mb": w.get("max:memory_usage_mb"),
            "p95_mb": quantile(&w, MEMORY_MB, 0.95),
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums(s: &Samples) -> Sums {
        sums_of(s)
    }

    #[test]
    fn a_request_counts_by_route_and_status_and_feeds_the_business_series() {
        let business = Business {
            user: "u1",
            latency_ms: Some(120.0),
            slow_ms: 5000.0,
        };
        let s = request_samples("/api/phase1/run", "POST", 503, 150.0, Some(business));
        let m = sums(&s);
        assert_eq!(
            m[r#"request_count_total{route="/api/phase1/run",method="POST",status="503"}"#],
            1.0
        );
        assert_eq!(m[r#"error_count_total{route="/api/phase1/run"}"#], 1.0);
        assert_eq!(m[r#"business_requests_total{outcome="error"}"#], 1.0);
        assert_eq!(m[r#"response_time_ms_bucket{le="250"}"#], 1.0);
        assert_eq!(
            m["business_response_time_ms_sum"], 120.0,
            "the business latency is the one the service answers for"
        );
        assert_eq!(distinct(&m, ERROR_USERS), 1.0);
        assert_eq!(distinct(&m, SLOW_USERS), 0.0);
        assert!(
            s.lifetime_pairs()
                .iter()
                .all(|(k, _)| !k.starts_with(ERROR_USERS)),
            "per-user marks stay out of the lifetime totals"
        );
        let admin = sums(&request_samples("/api/phase1/run", "POST", 200, 1.0, None));
        assert_eq!(family_sum(&admin, "business_requests_total", &[]), 0.0);
        assert_eq!(family_sum(&admin, "error_count_total", &[]), 0.0);
        // A long-running check counts its outcome but not its latency; a slow request
        // marks its user.
        let check = Business {
            latency_ms: None,
            ..business
        };
        let m = sums(&request_samples("/x", "POST", 200, 9000.0, Some(check)));
        assert_eq!(m[r#"business_requests_total{outcome="success"}"#], 1.0);
        assert_eq!(histogram_count(&m, BUSINESS_TIME_MS), 0.0);
        let slow = Business {
            latency_ms: Some(6000.0),
            ..business
        };
        let m = sums(&request_samples("/x", "GET", 200, 6000.0, Some(slow)));
        assert_eq!(distinct(&m, SLOW_USERS), 1.0);
        assert!(
            !m.keys().any(|k| k.starts_with("max:memory")),
            "requests do not sample memory"
        );
    }

    #[test]
    fn methods_outside_the_fixed_set_share_one_label() {
        for m in METHODS {
            assert_eq!(method_label(m), m);
        }
        for m in ["QWERTY", "get", "PROPFIND", "CONNECT", "TRACE", ""] {
            assert_eq!(method_label(m), "other", "{m}");
        }
        let s = sums(&request_samples("unmatched", "QWERTY", 404, 1.0, None));
        assert_eq!(
            s[r#"request_count_total{route="unmatched",method="other",status="404"}"#],
            1.0
        );
    }

    #[test]
    fn quantiles_interpolate_within_the_bucket() {
        let mut s = Samples::new();
        for _ in 0..90 {
            s.observe(RESPONSE_TIME_MS, 40.0); // (25, 50]
        }
        for _ in 0..10 {
            s.observe(RESPONSE_TIME_MS, 3000.0); // (2500, 5000]
        }
        let m = sums(&s);
        let p50 = quantile(&m, RESPONSE_TIME_MS, 0.5).unwrap();
        assert!(p50 > 25.0 && p50 <= 50.0, "{p50}");
        let p95 = quantile(&m, RESPONSE_TIME_MS, 0.95).unwrap();
        assert!(p95 > 2500.0 && p95 <= 5000.0, "{p95}");
        assert_eq!(quantile(&Sums::new(), RESPONSE_TIME_MS, 0.95), None);
        let mut slow = Samples::new();
        slow.observe(RESPONSE_TIME_MS, 99_999.0);
        assert_eq!(
            quantile(&sums(&slow), RESPONSE_TIME_MS, 0.95),
            Some(30000.0)
        );
    }

    #[test]
    fn the_exposition_is_cumulative_and_names_every_family() {
        let mut s = request_samples("/healthz", "GET", 200, 7.0, None);
        s.count("rule_failures_by_key", &[("key", "dscr_floor")], 4.0);
        let text = prometheus(&sums(&s));
        assert!(text.contains("# TYPE request_count_total counter"));
        assert!(
            text.contains(r#"request_count_total{route="/healthz",method="GET",status="200"} 1"#)
        );
        assert!(text.contains(r#"rule_failures_by_key{key="dscr_floor"} 4"#));
        assert!(text.contains("security_blocks_total 0"));
        assert!(text.contains(r#"response_time_ms_bucket{le="5"} 0"#));
        assert!(text.contains(r#"response_time_ms_bucket{le="10"} 1"#));
        assert!(text.contains(r#"response_time_ms_bucket{le="+Inf"} 1"#));
        assert!(text.contains("response_time_ms_count 1"));
        assert!(text.contains("# TYPE permutation_us histogram"));
    }

    #[test]
    fn maxima_merge_as_maxima() {
        let mut b = MetricBuckets::new();
        b.insert(
            1,
            BTreeMap::from([("max:m".to_string(), 3.0), ("c".to_string(), 1.0)]),
        );
        b.insert(
            2,
            BTreeMap::from([("max:m".to_string(), 9.0), ("c".to_string(), 2.0)]),
        );
        b.insert(3, BTreeMap::from([("max:m".to_string(), 5.0)]));
        let m = merge(&b);
        assert_eq!(m["max:m"], 9.0);
        assert_eq!(m["c"], 3.0);
    }

    #[test]
    fn readiness_is_one_gauge_per_store() {
        let text = readiness(true, false);
        assert!(text.contains("# TYPE store_ready gauge\n"));
        assert!(text.contains("store_ready{store=\"document\"} 1\n"));
        assert!(text.contains("store_ready{store=\"key_value\"} 0\n"));
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(series("x", &[("a", "q\"b\\")]), r#"x{a="q\"b\\"}"#);
        assert_eq!(series("x", &[]), "x");
    }
}
