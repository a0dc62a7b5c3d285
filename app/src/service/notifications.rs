//! Operator alerts and their delivery (the notification queue).
//!
//! An alert — a synthetic threshold crossing, an automatic or emergency rollback, an IP
//! block, an executed rollout step — is logged and queued in the document store, one
//! delivery per webhook of `PHASE1_ALERT_WEBHOOKS`. The worker (the background task of
//! `phase1 serve`, the worker cron on Vercel and Lambda) delivers what is due: a POST of
//! Slack-compatible JSON (`text`, plus the alert in `phase1`), signed with HMAC-SHA256 under
//! `PHASE1_ALERT_SECRET` over `"<timestamp>.<body>"`:
//!
//! ```text
//! X-Phase1-Delivery: <delivery id>            (the same on every retry: de-duplicate on it)
//! X-Phase1-Timestamp: <unix seconds>
//! X-Phase1-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//! ```
//!
//! A 2xx answer delivers it. Anything else is retried after the backoff
//! (`PHASE1_ALERT_BACKOFF_MS`, doubling after each failure, at most an hour); the eighth
//! failure dead-letters it. Deliveries are kept 30 days. Webhook URLs carry credentials, so
//! they are stored and reported only as a digest ([`target_of`]) and their host.

use crate::config::Webhook;
use crate::http::state::AppState;
use crate::store::model::{AttemptOutcome, Delivery, DeliveryStats, DeliveryStatus};
use crate::store::StoreError;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Attempts before a delivery is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 8;
/// The longest wait between two attempts.
pub const MAX_BACKOFF_MS: i64 = 3_600_000;
/// How long a worker holds a delivery while it tries it.
const HOLD_MS: i64 = 60_000;
/// The limit of one attempt.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Deliveries one call of [`deliver_due`] tries at most (the rest wait for the next call).
const BATCH: u32 = 100;

/// An alert for the operators. Its summary is logged, so it names no person (an actor goes
/// in `details`, which only the webhooks receive).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// What raised it: `synthetic.alert`, `canary.rollback`, `rollback.emergency`,
    /// `ip.block`, `rollout.executed`.
    pub kind: &'static str,
    /// `page` (act now) or `warning`.
    pub severity: &'static str,
    /// One line for a human.
    pub summary: String,
    /// The facts behind it.
    pub details: Value,
}

/// The digest a webhook is stored under: `sha256:` and 16 hex digits of its URL's SHA-256.
pub fn target_of(w: &Webhook) -> String {
    let digest = Sha256::digest(w.0.as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..16])
}

/// The wait after the `attempts`-th failed attempt: `base`, doubling after each failure,
/// at most [`MAX_BACKOFF_MS`].
pub fn backoff_ms(base: u64, attempts: u32) -> i64 {
    let base = i64::try_from(base).unwrap_or(MAX_BACKOFF_MS);
    let doublings = attempts.saturating_sub(1).min(30);
    base.saturating_mul(1_i64 << doublings).min(MAX_BACKOFF_MS)
}

/// `sha256=<hex>` of HMAC-SHA256(`secret`, `timestamp.body`).
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The body of an alert's deliveries.
fn payload(state: &AppState, alert_id: &str, alert: &Alert) -> Value {
    let env = state.config.env.as_str();
    json!({
        "text": format!("[Phase-1 {env}] {}: {}", alert.severity, alert.summary),
        "phase1": {
            "alert_id": alert_id,
            "kind": alert.kind,
            "severity": alert.severity,
            "summary": alert.summary,
            "details": alert.details,
            "at": super::runs::rfc3339(state.clock.now_ms()),
            "env": env,
            "commit": state.config.build.commit_sha,
        },
    })
}

/// Raises `alert`: a log line, and a delivery per configured webhook, queued (the local
/// worker is woken to send it). Never fails the work that raised it: a store error is
/// logged.
pub async fn raise(state: &AppState, alert: Alert) {
    let alert_id = uuid::Uuid::new_v4().to_string();
    let hooks = &state.config.alerts.webhooks;
    tracing::warn!(
        target: "phase1::alert",
        alert_id = %alert_id,
        kind = alert.kind,
        severity = alert.severity,
        summary = %alert.summary,
        webhooks = hooks.len(),
        "operator alert"
    );
    if hooks.is_empty() {
        return;
    }
    let now = state.clock.now_ms();
    let body = payload(state, &alert_id, &alert);
    let deliveries: Vec<Delivery> = hooks
        .iter()
        .map(|w| Delivery {
            id: uuid::Uuid::new_v4().to_string(),
            alert_id: alert_id.clone(),
            kind: alert.kind.to_string(),
            target: target_of(w),
            payload: body.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            created_at: now,
            next_attempt_at: now,
            worker: None,
            lease_until: None,
            delivered_at: None,
            last_error: None,
            updated_at: None,
        })
        .collect();
    match state.stores.doc.enqueue_deliveries(&deliveries).await {
        Ok(()) => state.wake.notify_one(),
        Err(e) => tracing::error!(
            target: "phase1::alert",
            alert_id = %alert_id,
            error = %e,
            "alert not queued"
        ),
    }
}

/// One attempt: Ok on a 2xx answer, else what went wrong (never the URL).
async fn attempt(state: &AppState, hook: &Webhook, d: &Delivery) -> Result<(), String> {
    let secret = state
        .config
        .alerts
        .secret
        .as_ref()
        .ok_or("PHASE1_ALERT_SECRET is not set")?;
    let body = serde_json::to_vec(&d.payload).map_err(|e| e.to_string())?;
    let ts = state.clock.now_ms().div_euclid(1000);
    let sent = state
        .http
        .post(&hook.0)
        .timeout(ATTEMPT_TIMEOUT)
        .header("content-type", "application/json")
        .header("x-phase1-delivery", &d.id)
        .header("x-phase1-timestamp", ts.to_string())
        .header("x-phase1-signature", signature(&secret.0, ts, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("{} did not answer: {}", hook.host(), e.without_url()))?;
    let status = sent.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{} answered HTTP {}", hook.host(), status.as_u16()))
    }
}

/// Delivers what is due, one attempt each; returns how many attempts were made.
pub async fn deliver_due(state: &AppState) -> Result<u64, StoreError> {
    let doc = &state.stores.doc;
    let mut made = 0;
    for _ in 0..BATCH {
        let now = state.clock.now_ms();
        let Some(d) = doc.claim_delivery(&state.worker_id, now, HOLD_MS).await? else {
            break;
        };
        let hook = state
            .config
            .alerts
            .webhooks
            .iter()
            .find(|w| target_of(w) == d.target);
        let result = match hook {
            Some(h) => attempt(state, h, &d).await,
            None => Err("the webhook is no longer configured".to_string()),
        };
        let now = state.clock.now_ms();
        let outcome = match result {
            Ok(()) => AttemptOutcome::Delivered,
            Err(error) if hook.is_none() || d.attempts + 1 >= MAX_ATTEMPTS => {
                AttemptOutcome::Dead { error }
            }
            Err(error) => AttemptOutcome::Retry {
                next_at: now + backoff_ms(state.config.alerts.backoff_ms, d.attempts + 1),
                error,
            },
        };
        let label = match &outcome {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Retry { .. } => "retry",
            AttemptOutcome::Dead { error } => {
                tracing::error!(
                    target: "phase1::alert",
                    delivery_id = %d.id,
                    alert_id = %d.alert_id,
                    error = %error,
                    "alert delivery dead-lettered"
                );
                "dead"
            }
        };
        doc.finish_delivery(&d.id, &state.worker_id, now, &outcome)
            .await?;
        let mut s = super::metrics::Samples::new();
        s.count("alert_deliveries_total", &[("outcome", label)], 1.0);
        super::metrics::add_or_log(state, &s).await;
        made += 1;
    }
    Ok(made)
}

/// The queue for `GET /api/notifications/status`: depth, delivered and failed counts, the
/// oldest pending delivery's age, the last error, and the webhooks (as hosts).
pub async fn status(state: &AppState) -> Result<Value, StoreError> {
    let DeliveryStats {
        pending,
        delivered,
        dead,
        oldest_pending_at,
        last_error,
    } = state.stores.doc.delivery_stats().await?;
    let now = state.clock.now_ms();
    Ok(json!({
        "queue_depth": pending,
        "delivered": delivered,
        "failed": dead,
        "oldest_pending_age_s": oldest_pending_at.map(|at| (now - at).max(0) as f64 / 1000.0),
        "last_error": last_error.map(|(at, error)| json!({
            "at": super::runs::rfc3339(at),
            "error": error,
        })),
        "webhooks": state
            .config
            .alerts
            .webhooks
            .iter()
            .map(|w| json!({"host": w.host(), "target": target_of(w)}))
            .collect::<Vec<_>>(),
        "max_attempts": MAX_ATTEMPTS,
        "retention_days": 30,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_the_base_up_to_an_hour() {
        let waits: Vec<i64> = (1..=8).map(|n| backoff_ms(30_000, n)).collect();
        assert_eq!(
            waits,
            [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000]
        );
        assert_eq!(backoff_ms(50, 1), 50);
        assert_eq!(backoff_ms(u64::MAX, 40), MAX_BACKOFF_MS);
    }

    #[test]
    fn signatures_are_hmac_sha256_of_the_timestamp_and_body() {
        // Computed independently (Python's hmac module).
        assert_eq!(
            signature(b"Jefe", 1_700_000_000, br#"{"a":1}"#),
            "sha256=fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a"
        );
        assert_ne!(
            signature(b"Jefe", 1_700_000_001, br#"{"a":1}"#),
            signature(b"Jefe", 1_700_000_000, br#"{"a":1}"#)
        );
    }

    #[test]
    fn targets_are_digests_that_hide_the_url() {
        let w = Webhook("https://hooks.example.net/services/T0/B0/tok3n".into());
        let t = target_of(&w);
        assert!(t.starts_with("sha256:") && t.len() == 23, "{t}");
        assert!(!t.contains("tok3n"));
        assert_ne!(
            t,
            target_of(&Webhook(
                "https://hooks.example.net/services/T0/B0/other".into()
            ))
        );
    }
}
