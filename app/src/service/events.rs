//! Recent operational events shared by every instance, in the key-value store's bounded
//! lists: error responses (`logs/errors`) and slow store calls (`admin/metrics/slow-queries`).
//! Also the bookkeeping the envelope does after every response.

use crate::http::problem::ProblemSummary;
use crate::http::state::AppState;
use crate::service::metrics::{self, Samples};
use crate::store::StoreError;
use serde_json::{json, Value};
use std::time::Duration;

/// The list of recent error events.
pub const ERRORS: &str = "errors";
/// The list of recent slow store calls.
pub const SLOW: &str = "slow";
/// Entries kept per list.
pub const KEEP: u64 = 200;
/// How long a list outlives its last entry.
pub const TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Records an error event: one entry in the recent-errors list and one ERROR log line.
pub async fn error(state: &AppState, mut event: Value) {
    if let Value::Object(m) = &mut event {
        m.insert(
            "at".into(),
            json!(crate::service::runs::rfc3339(state.clock.now_ms())),
        );
    }
    tracing::error!(target: "phase1::events", event = %event, "error event");
    if let Err(e) = state.stores.kv.push_recent(ERRORS, &event, KEEP, TTL).await {
        tracing::warn!(target: "phase1::events", error = %e, "error event not stored");
    }
}

/// The newest `n` entries of `list`.
pub async fn recent(state: &AppState, list: &str, n: u64) -> Result<Vec<Value>, StoreError> {
    state.stores.kv.recent(list, n).await
}

/// After every response: its metrics, an error event for a 5xx, and the store calls this
/// process saw over the slow threshold since the last response.
///
/// When the key-value store does not take the metrics, the lists are not tried either (each
/// attempt would wait for the store's timeout; an error event is still logged), and the first
/// failed push of a slow call ends the pushing: a push that fails is itself a slow call, so
/// pushing on would refill the list the next response drains while the store is down.
pub async fn after_request(
    state: &AppState,
    mut samples: Samples,
    status: u16,
    request_id: &str,
    route: &str,
    method: &str,
    problem: Option<ProblemSummary>,
) {
    let slow = crate::store::slow::drain();
    for call in &slow {
        samples.count("store_slow_calls_total", &[("store", call.store)], 1.0);
    }
    let stored = match metrics::add(state, &samples).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(target: "phase1::metrics", error = %e, "metrics not recorded");
            false
        }
    };
    if status >= 500 {
        let (code, detail) = problem.map_or((None, None), |p| (Some(p.code), Some(p.detail)));
        let event = json!({
            "kind": "response",
            "request_id": request_id,
            "route": route,
            "method": method,
            "status": status,
            "code": code,
            "detail": detail,
        });
        if stored {
            error(state, event).await;
        } else {
            tracing::error!(target: "phase1::events", event = %event, "error event (not stored: the key-value store is down)");
        }
    }
    if !stored {
        return;
    }
    for call in slow {
        let entry = json!({
            "at": crate::service::runs::rfc3339(state.clock.now_ms()),
            "store": call.store,
            "op": call.op,
            "ms": call.ms,
            "request_id": request_id,
        });
        if let Err(e) = state.stores.kv.push_recent(SLOW, &entry, KEEP, TTL).await {
            tracing::warn!(target: "phase1::events", error = %e, "slow calls not stored");
            break;
        }
    }
}
