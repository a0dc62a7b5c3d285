//! The key-value store: sessions and refresh-token families, revoked token ids, single-use
//! codes and attempt counters, rate-limit and IP-block state, per-minute metric buckets, the
//! canary window, idempotency keys, bounded lists of recent entries. Everything in it
//! expires.
//!
//! Implemented by Redis ([`super::redis`], one Lua script per multi-step operation) and
//! the embedded store ([`super::embedded`], one transaction per operation). Time-based
//! decisions use the `now` the caller passes (the app's injectable clock); expiry of keys
//! is housekeeping.

use super::error::StoreError;
use super::model::{AccountLock, LockPolicy, RateDecision, RateLimit, Rotation};
use crate::clock::Millis;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::time::Duration;

/// Per-minute metric buckets: minute (epoch minutes) → series → value (the sum, or the
/// maximum for a `max:` series).
pub type MetricBuckets = BTreeMap<i64, BTreeMap<String, f64>>;

/// The key-value store.
#[async_trait]
pub trait KvStore: Send + Sync {
    /// "redis" or "embedded".
    fn backend(&self) -> &'static str;

    /// Round-trip time of a trivial command.
    async fn ping(&self) -> Result<Duration, StoreError>;

    /// Starts a refresh-token family for `user` whose current token hashes to `token_hash`.
    async fn create_refresh_family(
        &self,
        family: &str,
        user: &str,
        token_hash: &str,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// Rotates a family from `presented_hash` to `next_hash`, atomically, or ends the family
    /// when `next_hash` is None (a logout that holds only the refresh token). Presenting a
    /// token the family issued and rotated away (until that token's own expiry) revokes the
    /// whole family ([`Rotation::Reused`]); a hash the family never issued changes nothing
    /// ([`Rotation::Unknown`]), so knowing a family's id is not enough to end it.
    async fn rotate_refresh(
        &self,
        family: &str,
        presented_hash: &str,
        next_hash: Option<&str>,
        ttl: Duration,
    ) -> Result<Rotation, StoreError>;

    /// Revokes one family; false when it did not exist.
    async fn revoke_family(&self, family: &str) -> Result<bool, StoreError>;

    /// Revokes every family of `user` and records `at` as the time before which the user's
    /// access tokens are no longer valid. Returns the number of families revoked.
    async fn revoke_user_sessions(
        &self,
        user: &str,
        at: Millis,
        ttl: Duration,
    ) -> Result<u64, StoreError>;

    /// When `user`'s sessions were last revoked (tokens issued before are invalid).
    async fn sessions_revoked_at(&self, user: &str) -> Result<Option<Millis>, StoreError>;

    /// Revokes one access-token id until it would have expired anyway.
    async fn revoke_token(&self, jti: &str, ttl: Duration) -> Result<(), StoreError>;

    /// Whether an access-token id is revoked.
    async fn is_token_revoked(&self, jti: &str) -> Result<bool, StoreError>;

    /// Marks `id` used within `scope` (a TOTP code, a one-time token): true the first time,
    /// false on every later call until `ttl` passes. Atomic (SET NX).
    async fn use_once(&self, scope: &str, id: &str, ttl: Duration) -> Result<bool, StoreError>;

    /// Counts one more attempt on `id` within `scope`, the count expiring `ttl` after the
    /// first; returns the new count. Atomic.
    async fn count_attempt(&self, scope: &str, id: &str, ttl: Duration) -> Result<u64, StoreError>;

    /// Counts one failed sign-in (a wrong password or TOTP code) against `account`, from
    /// whatever address: at `policy.threshold` failures within `policy.window_ms` of the
    /// first, the account is locked for `policy.lock_ms` and its count starts again. A
    /// failure while locked is not counted. Atomic.
    async fn record_signin_failure(
        &self,
        account: &str,
        policy: &LockPolicy,
        now: Millis,
    ) -> Result<AccountLock, StoreError>;

    /// When `account`'s lock ends, if it is locked at `now`.
    async fn account_locked_until(
        &self,
        account: &str,
        now: Millis,
    ) -> Result<Option<Millis>, StoreError>;

    /// Lifts `account`'s lock and forgets its failures; false when it had neither.
    async fn clear_signin_failures(&self, account: &str) -> Result<bool, StoreError>;

    /// Checks and counts one request against a fixed-window rate limit, records a violation
    /// when refused, and blocks the IP on the violation that reaches the threshold within
    /// the period. One atomic step.
    async fn rate_limit(
        &self,
        check: &RateLimit<'_>,
        now: Millis,
    ) -> Result<RateDecision, StoreError>;

    /// When the IP's block ends, if it is blocked at `now`.
    async fn blocked_until(&self, ip: &str, now: Millis) -> Result<Option<Millis>, StoreError>;

    /// Lifts a block (and forgets the IP's violations); false when it was not blocked.
    async fn unblock(&self, ip: &str) -> Result<bool, StoreError>;

    /// Adds samples to the bucket of `minute` (epoch minutes): each series' value is added
    /// to its running sum, except that a series whose name starts with `max:` (a gauge, such
    /// as `max:mem`) keeps the maximum of the values added instead. Values that are not
    /// finite are ignored. Atomic per call; buckets expire after `ttl`.
    async fn add_metrics(
        &self,
        minute: i64,
        samples: &[(&str, f64)],
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// The buckets of minutes `from..=to` that exist.
    async fn read_metrics(&self, from: i64, to: i64) -> Result<MetricBuckets, StoreError>;

    /// Records when the current canary window began.
    async fn set_canary_window(&self, since: Millis) -> Result<(), StoreError>;

    /// When the current canary window began.
    async fn canary_window(&self) -> Result<Option<Millis>, StoreError>;

    /// Prepends `entry` to the list `name`, keeping only the newest `keep` entries; the list
    /// expires `ttl` after its last push. Atomic.
    async fn push_recent(
        &self,
        name: &str,
        entry: &serde_json::Value,
        keep: u64,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// The newest `n` entries of the list `name`, newest first (empty when absent).
    async fn recent(&self, name: &str, n: u64) -> Result<Vec<serde_json::Value>, StoreError>;

    /// Keeps `draft` (a user's last valid project) for `owner` until `ttl` from now,
    /// replacing any earlier one.
    async fn put_draft(
        &self,
        owner: &str,
        draft: &serde_json::Value,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// `owner`'s draft, None when there is none or it has expired.
    async fn get_draft(&self, owner: &str) -> Result<Option<serde_json::Value>, StoreError>;

    /// Claims an idempotency key for `value` (a run id): None when this call claimed it,
    /// else the value stored by the call that did. Atomic (SET NX GET).
    async fn claim_idempotency(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError>;
}
