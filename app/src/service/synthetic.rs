//! Synthetic monitors: a stored configuration (`admin/synthetic/start`) and a run
//! (`synthetic/run`, the cron's target) that sends each configured action through the whole
//! application in-process — the router, the guard, the flags, the handler, the engine —
//! measures it, records the outcome, and raises an alert when the run's error rate or p95
//! crosses the configured threshold.
//!
//! An alert is raised once per crossing: the open alert is a versioned setting, so of two
//! instances running the monitor at once exactly one opens it, and it closes when a run is
//! back under the thresholds. Raising it writes an audit row, an ERROR log line, an entry in
//! the alerts list and one `synthetic_alerts_total`.

use crate::http::auth::Synthetic;
use crate::http::state::AppState;
use crate::service::audit::{self, Event, Origin};
use crate::service::metrics;
use crate::store::model::{MonitorConfig, MonitorResult};
use crate::store::StoreError;
use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{json, Map, Value};
use tower::ServiceExt;

/// The one monitor's id.
pub const MONITOR: &str = "default";
/// The actions a monitor can run.
pub const ACTIONS: [&str; 4] = ["validate", "derived", "cardinality", "run"];
/// Key of the open alert among the versioned settings.
pub const ALERT_KEY: &str = "synthetic_alert";
/// The list of raised alerts.
pub const ALERTS: &str = "alerts";

/// Parses the body of `admin/synthetic/start` into a configuration; every problem named.
pub fn parse_config(
    body: &Map<String, Value>,
    now: i64,
) -> Result<MonitorConfig, Vec<(String, String)>> {
    let mut problems = Vec::new();
    for k in body.keys() {
        if !["interval", "actions", "alert_threshold"].contains(&k.as_str()) {
            problems.push((k.clone(), "is not a field of a monitor".into()));
        }
    }
    let interval_s = match body.get("interval") {
        None => Some(300),
        Some(Value::Number(n)) => n.as_u64().filter(|s| (60..=86_400).contains(s)),
        Some(Value::String(s)) => humantime::parse_duration(s)
            .ok()
            .map(|d| d.as_secs())
            .filter(|s| (60..=86_400).contains(s)),
        Some(_) => None,
    };
    if interval_s.is_none() {
        problems.push((
            "interval".into(),
            "must be seconds (60 to 86400) or a duration such as \"5m\"".into(),
        ));
    }
    let mut actions = Vec::new();
    match body.get("actions") {
        None => actions = ACTIONS.iter().map(|a| a.to_string()).collect(),
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, a) in items.iter().enumerate() {
                match a.as_str().filter(|a| ACTIONS.contains(a)) {
                    Some(a) if !actions.iter().any(|x| x == a) => actions.push(a.to_string()),
                    Some(_) => problems.push((format!("actions[{i}]"), "is repeated".into())),
                    None => problems.push((
                        format!("actions[{i}]"),
                        format!("must be one of {}", ACTIONS.join(", ")),
                    )),
                }
            }
        }
        Some(_) => problems.push(("actions".into(), "must be a non-empty list".into())),
    }
    let mut threshold = Map::new();
    match body.get("alert_threshold") {
        None => {}
        Some(Value::Object(t)) => {
            for (k, v) in t {
                let ok = match k.as_str() {
                    "error_rate" => v.as_f64().filter(|r| (0.0..=1.0).contains(r)),
                    "p95_ms" => v.as_f64().filter(|ms| *ms >= 0.0),
                    _ => {
                        problems
                            .push((format!("alert_threshold.{k}"), "is not a threshold".into()));
                        continue;
                    }
                };
                match ok {
                    Some(x) => {
                        threshold.insert(k.clone(), json!(x));
                    }
                    None => problems.push((
                        format!("alert_threshold.{k}"),
                        if k == "error_rate" {
                            "must be a number from 0 to 1".into()
                        } else {
                            "must be a non-negative number".into()
                        },
                    )),
                }
            }
        }
        Some(_) => problems.push((
            "alert_threshold".into(),
            "must be {error_rate, p95_ms}".into(),
        )),
    }
    threshold.entry("error_rate").or_insert(json!(0.0));
    threshold.entry("p95_ms").or_insert(json!(5000.0));
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(MonitorConfig {
        id: MONITOR.into(),
        interval_s: interval_s.unwrap_or(300),
        actions,
        alert_threshold: Value::Object(threshold),
        updated_at: now,
    })
}

/// Stores the configuration, with an audit row.
pub async fn start(
    state: &AppState,
    origin: &Origin,
    actor: &str,
    config: &MonitorConfig,
) -> Result<(), StoreError> {
    let old = state.stores.doc.get_monitor(MONITOR).await?;
    state.stores.doc.save_monitor(config).await?;
    let event = Event::new("synthetic.start", actor).change(json!(old), json!(config));
    audit::record(state, origin, event).await;
    Ok(())
}

/// The request of one action.
fn request(action: &str) -> (Method, &'static str, Value) {
    let fixture = crate::service::fixtures::get("small").unwrap_or(Value::Null);
    let project = json!({"project": fixture["project"].clone()});
    match action {
        "validate" | "derived" => (Method::POST, "/api/phase1/projects/validate", project),
        "cardinality" => (
            Method::POST,
            "/api/phase1/permutations/cardinality",
            json!({"fixture": "small"}),
        ),
        _ => (
            Method::POST,
            "/api/phase1/run",
            json!({"fixture": "small", "topn": 3}),
        ),
    }
}

/// Whether an action's answer is what it should be.
fn check(action: &str, status: u16, body: &Value) -> Result<(), String> {
    if !(200..300).contains(&status) {
        let code = body["code"].as_str().unwrap_or("");
        return Err(format!("status {status} {code}"));
    }
    let ok = match action {
        "validate" => body["valid"] == json!(true),
        "derived" => body["derived"].is_object(),
        "cardinality" => body["cardinality"].as_u64().is_some_and(|c| c > 0),
        _ => body["status"] == json!("done") && body["top"].is_array(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected answer to {action}"))
    }
}

/// Sends one action through `app` (the application's router) and measures it.
async fn act(app: &axum::Router, action: &str) -> (bool, f64, Option<String>) {
    let (method, path, body) = request(action);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default();
    req.extensions_mut().insert(Synthetic);
    let started = std::time::Instant::now();
    let outcome = match app.clone().oneshot(req).await {
        Ok(res) => {
            let status = res.status().as_u16();
            let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
                .await
                .unwrap_or_default();
            let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            check(action, status, &value)
        }
        Err(e) => Err(e.to_string()),
    };
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(()) => (true, ms, None),
        Err(e) => (false, ms, Some(e)),
    }
}

/// The nearest-rank `q` quantile of `values`.
pub fn nearest_rank(values: &[f64], q: f64) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return None;
    }
    let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
    Some(v[rank - 1])
}

/// `synthetic/run`: runs the configured actions, records each, and raises or closes the
/// alert. Without a configuration it reports so and does nothing.
pub async fn run(state: &AppState, origin: &Origin) -> Result<Value, StoreError> {
    let Some(config) = state.stores.doc.get_monitor(MONITOR).await? else {
        return Ok(
            json!({"ran": false, "reason": "no monitor is configured (admin/synthetic/start)"}),
        );
    };
    let mut results = Vec::new();
    let mut samples = metrics::Samples::new();
    let app = crate::http::router(state.clone());
    for action in &config.actions {
        let (ok, latency_ms, error) = act(&app, action).await;
        let result = MonitorResult {
            id: uuid::Uuid::new_v4().to_string(),
            monitor_id: MONITOR.into(),
            at: state.clock.now_ms(),
            action: action.clone(),
            ok,
            latency_ms,
            error,
        };
        state.stores.doc.record_monitor_result(&result).await?;
        let outcome = if ok { "ok" } else { "failed" };
        samples.count(
            "synthetic_checks_total",
            &[("action", action), ("outcome", outcome)],
            1.0,
        );
        results.push(result);
    }
    let latencies: Vec<f64> = results.iter().map(|r| r.latency_ms).collect();
    let failed = results.iter().filter(|r| !r.ok).count() as f64;
    let error_rate = failed / results.len().max(1) as f64;
    let p95_ms = nearest_rank(&latencies, 0.95).unwrap_or(0.0);
    let max_rate = config.alert_threshold["error_rate"].as_f64().unwrap_or(0.0);
    let max_p95 = config.alert_threshold["p95_ms"]
        .as_f64()
        .unwrap_or(f64::INFINITY);
    let mut reasons = Vec::new();
    if error_rate > max_rate {
        reasons.push(format!("error rate {error_rate:.3} > {max_rate}"));
    }
    if p95_ms > max_p95 {
        reasons.push(format!("p95 {p95_ms:.1} ms > {max_p95} ms"));
    }
    let crossed = !reasons.is_empty();
    let alert = transition(state, origin, crossed, &reasons, error_rate, p95_ms).await?;
    if alert.is_some() {
        samples.count("synthetic_alerts_total", &[], 1.0);
    }
    metrics::add_or_log(state, &samples).await;
    Ok(json!({
        "ran": true,
        "results": results,
        "error_rate": error_rate,
        "p95_ms": p95_ms,
        "threshold": config.alert_threshold,
        "crossed": crossed,
        "reasons": reasons,
        "alert": alert,
    }))
}

/// Opens the alert on a crossing (once), closes it when back under. Returns the alert it
/// raised, if it raised one.
async fn transition(
    state: &AppState,
    origin: &Origin,
    crossed: bool,
    reasons: &[String],
    error_rate: f64,
    p95_ms: f64,
) -> Result<Option<Value>, StoreError> {
    let doc = state.stores.doc.as_ref();
    let current = doc.get_versioned(ALERT_KEY).await?;
    let open = current
        .as_ref()
        .is_some_and(|c| c.value["open"] == json!(true));
    if crossed == open {
        return Ok(None);
    }
    let now = crate::service::runs::rfc3339(state.clock.now_ms());
    let value = json!({"open": crossed, "at": now, "reasons": reasons,
        "error_rate": error_rate, "p95_ms": p95_ms});
    match doc
        .put_versioned_if(ALERT_KEY, current.map(|c| c.version), &value)
        .await
    {
        Ok(_) => {}
        // Another instance made the same transition first.
        Err(StoreError::VersionConflict { .. }) => return Ok(None),
        Err(e) => return Err(e),
    }
    if !crossed {
        tracing::info!(target: "phase1::synthetic", "synthetic monitor back under its thresholds");
        return Ok(None);
    }
    let event = Event::new("synthetic.alert", "synthetic").change(Value::Null, value.clone());
    let audit_id = audit::record(state, origin, event).await;
    let mut alert = value;
    alert["audit_id"] = json!(audit_id);
    tracing::error!(
        target: "phase1::synthetic",
        reasons = %reasons.join("; "),
        audit_id = %audit_id,
        "synthetic monitor alert"
    );
    state
        .stores
        .kv
        .push_recent(ALERTS, &alert, 100, crate::service::events::TTL)
        .await?;
    crate::service::notifications::raise(
        state,
        crate::service::notifications::Alert {
            kind: "synthetic.alert",
            severity: "page",
            summary: format!(
                "synthetic monitor over its thresholds: {}",
                reasons.join("; ")
            ),
            details: alert.clone(),
        },
    )
    .await;
    Ok(Some(alert))
}

/// `admin/synthetic/status`: the configuration, recent results, the open alert and the
/// alerts raised.
pub async fn status(state: &AppState) -> Result<Value, StoreError> {
    let doc = state.stores.doc.as_ref();
    let config = doc.get_monitor(MONITOR).await?;
    let results = doc.list_monitor_results(MONITOR, 50).await?;
    let open = doc.get_versioned(ALERT_KEY).await?.map(|v| v.value);
    let alerts = state.stores.kv.recent(ALERTS, 50).await?;
    Ok(json!({
        "config": config,
        "results": results,
        "alert": open,
        "alerts": alerts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_parse_with_every_problem_named() {
        let body = json!({"interval": "5m", "actions": ["validate", "run"],
            "alert_threshold": {"error_rate": 0.2, "p95_ms": 900}});
        let c = parse_config(body.as_object().unwrap(), 7).unwrap();
        assert_eq!(c.interval_s, 300);
        assert_eq!(c.actions, vec!["validate", "run"]);
        assert_eq!(c.alert_threshold["p95_ms"], json!(900.0));
        let bad = json!({"interval": 5, "actions": ["validate", "dance", "validate"],
            "alert_threshold": {"error_rate": 2, "colour": 1}, "extra": true});
        let problems = parse_config(bad.as_object().unwrap(), 7).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "extra",
                "interval",
                "actions[1]",
                "actions[2]",
                "alert_threshold.error_rate",
                "alert_threshold.colour",
            ]
        );
    }

    #[test]
    fn nearest_rank_quantiles() {
        assert_eq!(nearest_rank(&[], 0.95), None);
        assert_eq!(nearest_rank(&[3.0], 0.95), Some(3.0));
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(nearest_rank(&v, 0.95), Some(95.0));
        assert_eq!(nearest_rank(&[4.0, 1.0, 3.0, 2.0], 0.5), Some(2.0));
    }
}
