//! The records the stores keep. Field names are the stored names in every backend.

use crate::clock::Millis;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A saved project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectRecord {
    /// Project id.
    pub id: String,
    /// Owner's (lower-cased) email.
    pub owner: String,
    /// Creation time; retention counts from here.
    pub created_at: Millis,
    /// The validated project as JSON.
    pub project: Value,
    /// Its derived preview.
    pub derived: Value,
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds its lease.
    Running,
    /// Finished; its result is stored.
    Done,
    /// Failed; `error` says why.
    Failed,
    /// Cancelled by its owner.
    Cancelled,
}

impl RunStatus {
    /// The status as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the run can still change (queued or running).
    pub fn is_active(self) -> bool {
        matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

/// A run: its request, status and bookkeeping. Its result document is stored apart and
/// becomes visible only together with status `done`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run id.
    pub id: String,
    /// Owner's email.
    pub owner: String,
    /// The stored project it ran, if any.
    pub project_id: Option<String>,
    /// Status.
    pub status: RunStatus,
    /// 0..=100.
    pub progress_pct: f64,
    /// Grid size.
    pub cardinality: u64,
    /// When it was accepted.
    pub created_at: Millis,
    /// When it ended (done, failed or cancelled).
    pub finished_at: Option<Millis>,
    /// The request as accepted.
    pub request: Value,
    /// Hash of everything that determines the result, for the result cache.
    pub cache_key: Option<String>,
    /// How many times a worker has claimed it.
    pub attempts: u32,
    /// The worker holding the lease.
    pub worker: Option<String>,
    /// When the lease runs out.
    pub lease_until: Option<Millis>,
    /// The problem document of a failed run.
    pub error: Option<Value>,
}

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Operates the service and manages users.
    Admin,
    /// Runs structures on their own projects.
    Analyst,
}

impl Role {
    /// The role as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
        }
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Lower-cased email, unique.
    pub email: String,
    /// Role.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// The TOTP secret, encrypted at rest.
    pub totp_secret: String,
    /// Disabled users cannot sign in.
    pub disabled: bool,
    /// Creation time.
    pub created_at: Millis,
    /// Last successful sign-in.
    pub last_login_at: Option<Millis>,
    /// Optimistic-concurrency version, starting at 1.
    pub version: u64,
}

/// A value with the version that guards it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versioned<T> {
    /// Version, starting at 1, bumped by every write.
    pub version: u64,
    /// The value.
    pub value: T,
}

/// One audit-log row (append-only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Row id.
    pub audit_id: String,
    /// Who did it (email, "ops-token", "system").
    pub actor: String,
    /// When.
    pub when: Millis,
    /// What kind of event (e.g. "flags.update", "ip.block").
    pub action: String,
    /// The route that caused it.
    pub route: String,
    /// The request id.
    pub request_id: String,
    /// State before.
    pub old: Value,
    /// State after.
    pub new: Value,
    /// Version before, when versioned.
    pub version_before: Option<u64>,
    /// Version after, when versioned.
    pub version_after: Option<u64>,
    /// For a versioned write: whether it was conditional (If-Match sent) or applied to
    /// whatever version was current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditional: Option<bool>,
}

/// A synthetic monitor's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorConfig {
    /// Monitor id.
    pub id: String,
    /// Seconds between runs.
    pub interval_s: u64,
    /// Actions to run (validate, derived, cardinality, run).
    pub actions: Vec<String>,
    /// Alert thresholds as given.
    pub alert_threshold: Value,
    /// Last change.
    pub updated_at: Millis,
}

/// One synthetic monitor observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorResult {
    /// Result id.
    pub id: String,
    /// The monitor.
    pub monitor_id: String,
    /// When it ran.
    pub at: Millis,
    /// The action.
    pub action: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// How long it took.
    pub latency_ms: f64,
    /// What went wrong.
    pub error: Option<String>,
}

/// A page of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: u64,
}

impl Default for Page {
    fn default() -> Page {
        Page {
            offset: 0,
            limit: 50,
        }
    }
}

/// What a refresh-token rotation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token was the family's current one; the family now holds the next
    /// (or has ended, when no next was given).
    Rotated {
        /// The family's user.
        user: String,
    },
    /// The presented token was an old one: the whole family is now revoked.
    Reused {
        /// The family's user.
        user: String,
    },
    /// No such family (expired or revoked), or a token the family never issued: nothing
    /// changed.
    Unknown,
}

/// When repeated sign-in failures lock an account: `threshold` failures within
/// `window_ms` of the first lock it for `lock_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockPolicy {
    /// Failures that lock the account…
    pub threshold: u64,
    /// …within this time from the first of them.
    pub window_ms: i64,
    /// How long the lock lasts.
    pub lock_ms: i64,
}

/// An account's state after a sign-in failure was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountLock {
    /// Failures in the current window (0 once they locked the account).
    pub failures: u64,
    /// When the lock ends, if the account is locked.
    pub locked_until: Option<Millis>,
    /// Whether this failure locked it.
    pub newly_locked: bool,
}

/// A rate-limit check for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimit<'a> {
    /// Client IP.
    pub ip: &'a str,
    /// Route class (auth, users, run, api, flags).
    pub class: &'a str,
    /// Requests allowed per window.
    pub limit: u64,
    /// How many requests this one counts as (1 for most; a consistency check counts each of
    /// its runs).
    pub cost: u64,
    /// Window length.
    pub window_ms: i64,
    /// Violations that trigger a block…
    pub violations_to_block: u64,
    /// …within this period.
    pub violation_period_ms: i64,
    /// How long a block lasts.
    pub block_ms: i64,
}

/// The outcome of a rate-limit check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateDecision {
    /// Allowed; `remaining` more in this window, which resets at `reset_at`.
    Allowed {
        /// Requests left in the window.
        remaining: u64,
        /// End of the window.
        reset_at: Millis,
    },
    /// Refused (429); a violation was recorded. `blocked` when it was the violation that
    /// blocked the IP.
    Limited {
        /// End of the window.
        reset_at: Millis,
        /// This violation blocked the IP.
        blocked: bool,
    },
    /// The IP is blocked until `until` (403 IP_BLOCKED).
    Blocked {
        /// End of the block.
        until: Millis,
    },
}

/// Where an alert delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (at `next_attempt_at`).
    Pending,
    /// The webhook answered 2xx.
    Delivered,
    /// Given up after the last attempt (the dead-letter state).
    Dead,
}

/// One alert for one webhook, queued for delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Delivery id (also sent as `X-Phase1-Delivery`, for the receiver's de-duplication).
    pub id: String,
    /// The alert it carries (one alert has a delivery per webhook).
    pub alert_id: String,
    /// What raised it: `synthetic.alert`, `canary.rollback`, `rollback.emergency`,
    /// `ip.block`, `rollout.executed`.
    pub kind: String,
    /// The webhook, as the digest of its URL (URLs carry secrets and are never stored).
    pub target: String,
    /// The JSON body to send.
    pub payload: Value,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: Millis,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Millis,
    /// The worker holding it while an attempt is under way.
    pub worker: Option<String>,
    /// When that worker's hold runs out.
    pub lease_until: Option<Millis>,
    /// When it was delivered.
    pub delivered_at: Option<Millis>,
    /// The last attempt's failure.
    pub last_error: Option<String>,
    /// When the last attempt ended.
    pub updated_at: Option<Millis>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    /// Delivered.
    Delivered,
    /// Failed; try again at `next_at`.
    Retry {
        /// The next attempt.
        next_at: Millis,
        /// What went wrong.
        error: String,
    },
    /// Failed for the last time: dead-lettered.
    Dead {
        /// What went wrong.
        error: String,
    },
}

/// The delivery queue at a glance.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct DeliveryStats {
    /// Deliveries waiting (the queue depth).
    pub pending: u64,
    /// Deliveries made.
    pub delivered: u64,
    /// Deliveries given up (dead-lettered).
    pub dead: u64,
    /// When the oldest pending delivery was queued.
    pub oldest_pending_at: Option<Millis>,
    /// The most recent failure: when, and what.
    pub last_error: Option<(Millis, String)>,
}

/// Applies an attempt's outcome to a held delivery: attempts + 1, the hold released, and
/// the new status (every backend records an attempt the same way).
pub fn apply_outcome(d: &mut Delivery, now: Millis, outcome: &AttemptOutcome) {
    d.attempts += 1;
    d.worker = None;
    d.lease_until = None;
    d.updated_at = Some(now);
    match outcome {
        AttemptOutcome::Delivered => {
            d.status = DeliveryStatus::Delivered;
            d.delivered_at = Some(now);
        }
        AttemptOutcome::Retry { next_at, error } => {
            d.next_attempt_at = *next_at;
            d.last_error = Some(error.clone());
        }
        AttemptOutcome::Dead { error } => {
            d.status = DeliveryStatus::Dead;
            d.last_error = Some(error.clone());
        }
    }
}

/// The statistics of a set of deliveries.
pub fn stats_of(rows: &[Delivery]) -> DeliveryStats {
    let count = |s: DeliveryStatus| rows.iter().filter(|d| d.status == s).count() as u64;
    DeliveryStats {
        pending: count(DeliveryStatus::Pending),
        delivered: count(DeliveryStatus::Delivered),
        dead: count(DeliveryStatus::Dead),
        oldest_pending_at: rows
            .iter()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .map(|d| d.created_at)
            .min(),
        last_error: rows
            .iter()
            .filter_map(|d| Some((d.updated_at?, d.last_error.clone()?)))
            .max_by_key(|(at, _)| *at),
    }
}
