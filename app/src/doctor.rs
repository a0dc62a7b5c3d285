//! `phase1 doctor`: checks the configuration and each store — reachable, latency, indexes and
//! TTLs present, and a versioned write / read / conflicting-write round trip in a scratch
//! namespace that it cleans up — and names every failure.

use crate::clock::SharedClock;
use crate::config::{Config, ConfigError};
use crate::store::{DocStore, KvStore, StoreError, Stores};
use serde::Serialize;
use serde_json::json;
use std::time::{Duration, Instant};

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoctorCheck {
    /// What was checked: config, document store, key-value store.
    pub component: String,
    /// Which check.
    pub check: String,
    /// Passed.
    pub ok: bool,
    /// How long it took, when it talked to a store.
    pub latency_ms: Option<f64>,
    /// What was found.
    pub details: String,
}

/// The whole report; `ok` only when every check passed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoctorReport {
    /// Every check passed.
    pub ok: bool,
    /// Every check, in order.
    pub checks: Vec<DoctorCheck>,
}

fn check(
    component: &str,
    name: &str,
    ok: bool,
    latency: Option<Duration>,
    details: String,
) -> DoctorCheck {
    DoctorCheck {
        component: component.into(),
        check: name.into(),
        ok,
        latency_ms: latency.map(|d| d.as_secs_f64() * 1000.0),
        details,
    }
}

/// Runs every check.
pub async fn run(config: Result<Config, Vec<ConfigError>>, clock: SharedClock) -> DoctorReport {
    let mut checks = Vec::new();
    let config = match config {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                checks.push(check("config", e.variable, false, None, e.message));
            }
            return DoctorReport { ok: false, checks };
        }
    };
    let s = &config.stores;
    checks.push(check(
        "config",
        "environment",
        true,
        None,
        format!(
            "APP_ENV={}, document store {}, key-value store {}, retention {} days",
            config.env.as_str(),
            if s.mongodb_uri.is_some() {
                "mongodb"
            } else {
                "embedded"
            },
            if s.redis_url.is_some() {
                "redis"
            } else {
                "embedded"
            },
            s.retention_days
        ),
    ));
    let started = Instant::now();
    let stores = match Stores::open(s, clock).await {
        Ok(st) => st,
        Err(e) => {
            checks.push(check(
                "stores",
                "open",
                false,
                Some(started.elapsed()),
                e.to_string(),
            ));
            return DoctorReport { ok: false, checks };
        }
    };
    doc_checks(stores.doc.as_ref(), &mut checks).await;
    kv_checks(stores.kv.as_ref(), &mut checks).await;
    DoctorReport {
        ok: checks.iter().all(|c| c.ok),
        checks,
    }
}

/// Records the "reachable" check of a store's ping; false when it failed.
fn reachable(
    component: &str,
    ping: Result<Duration, StoreError>,
    out: &mut Vec<DoctorCheck>,
) -> bool {
    match ping {
        Ok(latency) => {
            out.push(check(
                component,
                "reachable",
                true,
                Some(latency),
                "answered a ping".into(),
            ));
            true
        }
        Err(e) => {
            out.push(check(component, "reachable", false, None, e.to_string()));
            false
        }
    }
}

async fn doc_checks(doc: &dyn DocStore, out: &mut Vec<DoctorCheck>) {
    let component = format!("document store ({})", doc.backend());
    if !reachable(&component, doc.ping().await, out) {
        return;
    }
    match doc.check_schema().await {
        Ok(schema) => {
            for s in schema {
                let details = if s.ok {
                    s.details
                } else {
                    format!("{} (run `phase1 migrate`)", s.details)
                };
                out.push(check(
                    &component,
                    &format!("{}.{}", s.collection, s.name),
                    s.ok,
                    None,
                    details,
                ));
            }
        }
        Err(e) => out.push(check(&component, "indexes", false, None, e.to_string())),
    }
    let started = Instant::now();
    let outcome = doc_round_trip(doc).await;
    out.push(check(
        &component,
        "versioned round trip",
        outcome.is_ok(),
        Some(started.elapsed()),
        outcome.unwrap_or_else(|e| e),
    ));
}

async fn doc_round_trip(doc: &dyn DocStore) -> Result<String, String> {
    let key = format!("doctor:{}", uuid::Uuid::new_v4().simple());
    let fail = |step: &str, e: StoreError| format!("{step}: {e}");
    let result = async {
        let v1 = doc
            .put_versioned_if(&key, None, &json!({"step": 1}))
            .await
            .map_err(|e| fail("write", e))?;
        let read = doc.get_versioned(&key).await.map_err(|e| fail("read", e))?;
        if read.as_ref().map(|r| (r.version, &r.value)) != Some((v1, &json!({"step": 1}))) {
            return Err(format!("read back {read:?} after writing version {v1}"));
        }
        match doc
            .put_versioned_if(&key, Some(v1 + 41), &json!({"step": 2}))
            .await
        {
            Err(StoreError::VersionConflict { .. }) => {}
            other => return Err(format!("a stale write was not refused: {other:?}")),
        }
        let v2 = doc
            .put_versioned_if(&key, Some(v1), &json!({"step": 2}))
            .await
            .map_err(|e| fail("update", e))?;
        Ok(format!(
            "wrote version {v1}, read it back, refused a stale write, updated to {v2}"
        ))
    }
    .await;
    let cleaned = doc.delete_versioned(&key).await;
    match (result, cleaned) {
        (Ok(msg), Ok(_)) => Ok(format!("{msg}, cleaned up")),
        (Ok(_), Err(e)) => Err(fail("clean-up", e)),
        (Err(e), _) => Err(e),
    }
}

async fn kv_checks(kv: &dyn KvStore, out: &mut Vec<DoctorCheck>) {
    let component = format!("key-value store ({})", kv.backend());
    if !reachable(&component, kv.ping().await, out) {
        return;
    }
    let started = Instant::now();
    let key = format!("doctor:{}", uuid::Uuid::new_v4().simple());
    let ttl = Duration::from_secs(5);
    let outcome: Result<String, String> = async {
        let first = kv.claim_idempotency(&key, "first", ttl).await.map_err(|e| format!("write: {e}"))?;
        if first.is_some() {
            return Err(format!("a fresh scratch key was already taken: {first:?}"));
        }
        match kv.claim_idempotency(&key, "second", ttl).await.map_err(|e| format!("conflicting write: {e}"))? {
            Some(v) if v == "first" => {}
            other => return Err(format!("a conflicting write was not refused: {other:?}")),
        }
        Ok(format!("wrote, refused a conflicting write, read the first value back; the scratch key expires in {} s", ttl.as_secs()))
    }
    .await;
    out.push(check(
        &component,
        "versioned round trip",
        outcome.is_ok(),
        Some(started.elapsed()),
        outcome.unwrap_or_else(|e| e),
    ));
}
