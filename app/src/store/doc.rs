//! The document store: projects, runs and their results, users, versioned settings (the
//! flag set, the canary state), the append-only audit log, synthetic monitors, the alert
//! delivery queue.
//!
//! Implemented by MongoDB ([`super::mongo`]) and the embedded store ([`super::embedded`]).
//! Every method either does all it says or nothing, and fails only with a
//! [`StoreError`].

use super::error::StoreError;
use super::model::{
    AttemptOutcome, AuditRow, Delivery, DeliveryStats, MonitorConfig, MonitorResult, Page,
    ProjectRecord, RunRecord, UserRecord, Versioned,
};
use crate::clock::Millis;
use async_trait::async_trait;
use serde_json::Value;
use std::time::Duration;

/// How long alert deliveries are kept after they were queued.
pub const DELIVERY_RETENTION_MS: Millis = 30 * 86_400_000;

/// Key of the feature-flag set among the versioned settings.
pub const FLAGS_KEY: &str = "flags";
/// Key of the canary state among the versioned settings.
pub const CANARY_KEY: &str = "canary";

/// One index or TTL the store should have, and whether it does.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SchemaCheck {
    /// Where: collection or table.
    pub collection: String,
    /// What: index name or TTL.
    pub name: String,
    /// Present and as configured.
    pub ok: bool,
    /// What was found.
    pub details: String,
}

/// The document store.
#[async_trait]
pub trait DocStore: Send + Sync {
    /// "mongodb" or "embedded".
    fn backend(&self) -> &'static str;

    /// Round-trip time of a trivial command.
    async fn ping(&self) -> Result<Duration, StoreError>;

    /// Creates indexes and TTLs (idempotent). Returns what was created or changed.
    async fn migrate(&self) -> Result<Vec<String>, StoreError>;

    /// Reports whether every index and TTL is present and as configured.
    async fn check_schema(&self) -> Result<Vec<SchemaCheck>, StoreError>;

    /// Saves a new project.
    async fn save_project(&self, project: &ProjectRecord) -> Result<(), StoreError>;

    /// A project by id (None when absent or expired).
    async fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>, StoreError>;

    /// Projects, newest first; only `owner`'s when given.
    async fn list_projects(
        &self,
        owner: Option<&str>,
        page: Page,
    ) -> Result<Vec<ProjectRecord>, StoreError>;

    /// Deletes a project; false when there was none.
    async fn delete_project(&self, id: &str) -> Result<bool, StoreError>;

    /// Saves a new run (queued or running, without a result).
    async fn create_run(&self, run: &RunRecord) -> Result<(), StoreError>;

    /// A run by id.
    async fn get_run(&self, id: &str) -> Result<Option<RunRecord>, StoreError>;

    /// Runs, newest first; only `owner`'s when given.
    async fn list_runs(
        &self,
        owner: Option<&str>,
        page: Page,
    ) -> Result<Vec<RunRecord>, StoreError>;

    /// Claims the oldest run that is queued, or running with a lease that ran out before
    /// `now`, and has been claimed fewer than `max_attempts` times: it becomes running under
    /// `worker` until `now + lease_ms`, attempts + 1. Atomic: two workers never claim the
    /// same run.
    async fn claim_run(
        &self,
        worker: &str,
        now: Millis,
        lease_ms: i64,
        max_attempts: u32,
    ) -> Result<Option<RunRecord>, StoreError>;

    /// Fails every run still marked running whose lease ran out before `now` after
    /// `max_attempts` claims (its last worker died and no claim is left), with `error`.
    /// Returns how many.
    async fn fail_abandoned_runs(
        &self,
        now: Millis,
        max_attempts: u32,
        error: &Value,
    ) -> Result<u64, StoreError>;

    /// Records progress and extends the lease, if `worker` still holds the running run.
    async fn update_progress(
        &self,
        id: &str,
        worker: &str,
        progress_pct: f64,
        lease_until: Millis,
    ) -> Result<bool, StoreError>;

    /// Stores the result, then marks the run done — only if it is still active (and held by
    /// `worker`, when given). A reader sees either the finished run with its result, or the
    /// run as it was. False when the run was not active (cancelled, say).
    async fn finish_run(
        &self,
        id: &str,
        worker: Option<&str>,
        result: &Value,
        finished_at: Millis,
    ) -> Result<bool, StoreError>;

    /// Marks an active run failed with a problem document.
    async fn fail_run(
        &self,
        id: &str,
        error: &Value,
        finished_at: Millis,
    ) -> Result<bool, StoreError>;

    /// Cancels an active run; false when it was not active.
    async fn cancel_run(&self, id: &str, at: Millis) -> Result<bool, StoreError>;

    /// Deletes a run and its result; false when there was none.
    async fn delete_run(&self, id: &str) -> Result<bool, StoreError>;

    /// The result document of a done run.
    async fn get_result(&self, run_id: &str) -> Result<Option<Value>, StoreError>;

    /// The newest done run with this cache key, for the result cache.
    async fn find_cached_run(&self, cache_key: &str) -> Result<Option<RunRecord>, StoreError>;

    /// Creates a user; [`StoreError::Duplicate`] when the email is taken.
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError>;

    /// A user by (lower-cased) email.
    async fn get_user(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Every user, by email.
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// Replaces a user if its stored version is `expected`; the stored version becomes
    /// `expected + 1` whatever `user.version` says.
    async fn update_user_if_version(
        &self,
        user: &UserRecord,
        expected: u64,
    ) -> Result<(), StoreError>;

    /// A versioned setting.
    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned<Value>>, StoreError>;

    /// Writes a versioned setting if its version is `expected` (None: only if absent), in
    /// one atomic step. Returns the new version (1 for a new setting).
    async fn put_versioned_if(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &Value,
    ) -> Result<u64, StoreError>;

    /// Deletes a versioned setting; false when absent.
    async fn delete_versioned(&self, key: &str) -> Result<bool, StoreError>;

    /// Appends an audit row.
    async fn append_audit(&self, row: &AuditRow) -> Result<(), StoreError>;

    /// Audit rows, newest first.
    async fn list_audit(&self, page: Page) -> Result<Vec<AuditRow>, StoreError>;

    /// Creates or replaces a monitor configuration.
    async fn save_monitor(&self, monitor: &MonitorConfig) -> Result<(), StoreError>;

    /// A monitor configuration.
    async fn get_monitor(&self, id: &str) -> Result<Option<MonitorConfig>, StoreError>;

    /// Records a monitor observation.
    async fn record_monitor_result(&self, result: &MonitorResult) -> Result<(), StoreError>;

    /// A monitor's latest observations, newest first.
    async fn list_monitor_results(
        &self,
        monitor_id: &str,
        limit: u64,
    ) -> Result<Vec<MonitorResult>, StoreError>;

    /// Queues alert deliveries.
    async fn enqueue_deliveries(&self, deliveries: &[Delivery]) -> Result<(), StoreError>;

    /// Claims the pending delivery due first (`next_attempt_at` ≤ `now`, not held by a
    /// worker whose hold lasts past `now`): held by `worker` until `now + lease_ms`.
    /// Atomic: two workers never hold the same delivery.
    async fn claim_delivery(
        &self,
        worker: &str,
        now: Millis,
        lease_ms: i64,
    ) -> Result<Option<Delivery>, StoreError>;

    /// Records how `worker`'s attempt at delivery `id` ended (attempts + 1, hold released);
    /// false when the delivery is no longer held by that worker.
    async fn finish_delivery(
        &self,
        id: &str,
        worker: &str,
        now: Millis,
        outcome: &AttemptOutcome,
    ) -> Result<bool, StoreError>;

    /// The queue at a glance, over the deliveries kept (30 days).
    async fn delivery_stats(&self) -> Result<DeliveryStats, StoreError>;

    /// The feature-flag set.
    async fn get_flags(&self) -> Result<Option<Versioned<Value>>, StoreError> {
        self.get_versioned(FLAGS_KEY).await
    }

    /// Replaces the flag set if its version is `expected`; returns the new version.
    async fn bump_flags_if_version(&self, expected: u64, flags: &Value) -> Result<u64, StoreError> {
        self.put_versioned_if(FLAGS_KEY, Some(expected), flags)
            .await
    }

    /// The canary state.
    async fn get_canary(&self) -> Result<Option<Versioned<Value>>, StoreError> {
        self.get_versioned(CANARY_KEY).await
    }

    /// Replaces the canary state if its version is `expected`; returns the new version.
    async fn bump_canary_if_version(
        &self,
        expected: u64,
        state: &Value,
    ) -> Result<u64, StoreError> {
        self.put_versioned_if(CANARY_KEY, Some(expected), state)
            .await
    }
}
