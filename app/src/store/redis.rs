//! The Redis key-value store ([`RedisStore`]): Redis locally and in CI, Upstash in
//! production (`rediss://`, TLS through rustls with the webpki roots).
//!
//! # Connections
//!
//! One [`ConnectionManager`] per process, URL and tokio runtime, kept in a process-global
//! cache and created lazily by the first operation: [`RedisStore::connect`] only parses the
//! URL, so it succeeds while the server is down (a bad URL is refused at once), and the
//! first operation that cannot reach the server returns [`StoreError::Unavailable`]. A
//! production process has one runtime, hence one manager per URL; the runtime is part of
//! the cache key because a manager's I/O tasks live on the runtime that created it (tests
//! run one runtime per test), and a runtime's managers leave the cache when it shuts down.
//!
//! The manager times out connection attempts after `connect_timeout` and replies after
//! `op_timeout`, and retries a failed reconnect once (after about 1–2 s), so a dead server
//! fails fast; every operation is also bounded by `op_timeout` as a whole
//! ([`with_timeout`]). An operation that finds its connection dropped (an idle connection
//! closed by the server, a frozen serverless instance) is sent once more on the new
//! connection. Errors never carry the URL's password.
//!
//! # Time
//!
//! Decisions about expiry use the app's clock (`now` passed to the scripts as an argument)
//! and absolute `expires_at` timestamps stored in the values, exactly as the embedded store
//! does; Redis TTLs (`PX`, set to the logical TTL, at least 1 ms) only clean up.
//!
//! # Key layout
//!
//! Every key starts with the per-environment `key_prefix` (`P` below).
//!
//! | key | type | contents |
//! |---|---|---|
//! | `P rf:{family}` | hash | refresh family: `user`, `current` (token hash), `expires_at` |
//! | `P ru:{user}` | set | the user's refresh family ids |
//! | `P sr:{user}` | hash | sessions revoked: `at`, `expires_at` |
//! | `P rt:{jti}` | string | revoked access-token id: `expires_at` |
//! | `P once:{scope}:{id}` | string | single-use mark: `expires_at` |
//! | `P att:{scope}:{id}` | hash | attempt counter: `count`, `expires_at` |
//! | `P rl:{class}:{ip}:{window_start}` | string | fixed-window request counter |
//! | `P viol:{ip}` | sorted set | rate-limit violations, scored by time |
//! | `P block:{ip}` | string | IP block: `until` |
//! | `P m:{minute}` | hash | metrics of one minute: `s:{series}` → sum (maximum for a `max:` series), `expires_at` |
//! | `P canary` | string | when the canary window began |
//! | `P idem:{key}` | hash | idempotency claim: `value`, `expires_at` |
//! | `P rc:{name}` | list | recent entries, newest first, each a JSON string |
//! | `P rcx:{name}` | string | the recent list's logical expiry: `expires_at` |
//!
//! # Scripts
//!
//! One Lua script per multi-step operation, atomic by construction: `create_family`,
//! `rotate`, `revoke_family`, `revoke_user`, `use_once`, `count_attempt`, `rate_limit`,
//! `unblock`, `add_metrics`, `claim`, `push_recent`. Single-command operations
//! (`revoke_token`, the reads, `set_canary_window`) are plain commands; `read_metrics` is
//! a pipeline and `recent` an atomic one (`MULTI`: the list with its expiry). The family
//! scripts reach a user's set (`rotate`, `revoke_family`) or a user's families
//! (`revoke_user`) through keys built from the prefix inside the script: fine on a single
//! Redis server or Upstash, not on Redis Cluster.
//!
//! # Slow calls
//!
//! Every operation reports its duration, under the trait method's name, to
//! [`super::slow`] (through [`with_timeout`]).

use super::error::{with_timeout, StoreError};
use super::kv::{KvStore, MetricBuckets};
use super::model::{AccountLock, LockPolicy, RateDecision, RateLimit, Rotation};
use super::StoreSettings;
use crate::clock::{Millis, SharedClock};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ErrorKind, FromRedisValue, RedisError, RedisResult, Script};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// The store's name in errors.
const STORE: &str = "redis";

/// How many times the connection manager retries a failed (re)connect before giving up
/// (the next operation tries again).
const RECONNECT_RETRIES: usize = 1;

/// Longest backoff between reconnect attempts, in milliseconds.
const RECONNECT_MAX_DELAY_MS: u64 = 500;

/// Longest housekeeping TTL set on a key (about 2,000 years; Redis refuses overflowing ones).
const MAX_PX: i64 = 1 << 46;

/// Minute buckets fetched per pipeline by `read_metrics`.
const METRICS_BATCH: i64 = 512;

/// Keys fetched per SCAN step by `clear_prefix`.
const SCAN_COUNT: usize = 500;

/// The key-value store on Redis. Cheap to share; every instance with the same URL (in one
/// runtime) uses the same connection.
pub struct RedisStore {
    url: String,
    client: Client,
    secrets: Vec<String>,
    prefix: String,
    config: ConnectionManagerConfig,
    op_timeout: Duration,
    clock: SharedClock,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Opens the Redis store at `url` (`redis://` or `rediss://`). Only parses the URL: the
    /// connection is made lazily by the first operation and shared with every store of the
    /// same URL, so this succeeds while the server is down and fails only on a bad URL.
    pub async fn connect(
        url: &str,
        settings: &StoreSettings,
        clock: SharedClock,
    ) -> Result<RedisStore, StoreError> {
        let mut secrets: Vec<String> = url_password(url).into_iter().collect();
        let client = Client::open(url).map_err(|e| {
            StoreError::unavailable(STORE, redact(&format!("bad REDIS_URL: {e}"), &secrets))
        })?;
        if let Some(p) = &client.get_connection_info().redis.password {
            if !p.is_empty() {
                secrets.push(p.clone());
            }
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(settings.connect_timeout)
            .set_response_timeout(settings.op_timeout)
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_factor(2)
            .set_max_delay(RECONNECT_MAX_DELAY_MS);
        Ok(RedisStore {
            url: url.to_string(),
            client,
            secrets,
            prefix: settings.key_prefix.clone(),
            config,
            op_timeout: settings.op_timeout,
            clock,
        })
    }

    /// The prefix of every key of this store.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Deletes every key under this store's prefix (tests); returns how many were deleted.
    pub async fn clear_prefix(&self) -> Result<u64, StoreError> {
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let mut cursor: u64 = 0;
        let mut deleted: u64 = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, keys): (u64, Vec<Vec<u8>>) = self.query("clear_prefix", &scan).await?;
            if !keys.is_empty() {
                let mut del = redis::cmd("DEL");
                del.arg(&keys);
                let n: u64 = self.query("clear_prefix", &del).await?;
                deleted += n;
            }
            if next == 0 {
                return Ok(deleted);
            }
            cursor = next;
        }
    }

    /// A key under the prefix: `prefix` + the parts joined by `:`.
    fn key(&self, parts: &[&str]) -> String {
        let mut k = self.prefix.clone();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                k.push(':');
            }
            k.push_str(p);
        }
        k
    }

    /// The store error for a Redis error, its reason never carrying the URL's password:
    /// corrupt when a stored value has the wrong type or shape, else unavailable.
    fn fail(&self, e: &RedisError) -> StoreError {
        let reason = redact(&e.to_string(), &self.secrets);
        if e.kind() == ErrorKind::TypeError || e.code() == Some("WRONGTYPE") {
            StoreError::corrupt(STORE, reason)
        } else {
            StoreError::unavailable(STORE, reason)
        }
    }

    /// The shared connection manager of this URL in the current runtime, connecting if
    /// there is none yet.
    async fn manager(&self) -> Result<ConnectionManager, StoreError> {
        let handle =
            tokio::runtime::Handle::try_current().map_err(|e| StoreError::unavailable(STORE, e))?;
        let slot = slot_for(&self.url, &handle);
        slot.get_or_try_init(|| {
            ConnectionManager::new_with_config(self.client.clone(), self.config.clone())
        })
        .await
        .cloned()
        .map_err(|e| self.fail(&e))
    }

    /// Runs `send` on the shared connection under the operation timeout, reporting its
    /// duration as operation `op` (the trait method); sends it once more when the
    /// connection turned out to be dropped.
    async fn run<T, F, Fut>(&self, op: &'static str, send: F) -> Result<T, StoreError>
    where
        F: Fn(ConnectionManager) -> Fut + Send + Sync,
        Fut: Future<Output = RedisResult<T>> + Send,
        T: Send,
    {
        with_timeout(STORE, op, self.op_timeout, async {
            let conn = self.manager().await?;
            match send(conn.clone()).await {
                Ok(v) => Ok(v),
                Err(e) if e.is_connection_dropped() => send(conn).await.map_err(|e| self.fail(&e)),
                Err(e) => Err(self.fail(&e)),
            }
        })
        .await
    }

    /// Runs one command as operation `op`.
    async fn query<T: FromRedisValue + Send>(
        &self,
        op: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<T, StoreError> {
        self.run(op, |mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    /// Runs one script with its keys and arguments as operation `op`.
    async fn eval<T: FromRedisValue + Send>(
        &self,
        op: &'static str,
        script: &Script,
        keys: &[&str],
        args: &[String],
    ) -> Result<T, StoreError> {
        self.run(op, |mut c| async move {
            let mut inv = script.prepare_invoke();
            for k in keys {
                inv.key(*k);
            }
            for a in args {
                inv.arg(a.as_str());
            }
            inv.invoke_async(&mut c).await
        })
        .await
    }

    /// Reads a stored timestamp and returns it when it lies after `now` (operation `op`).
    async fn get_after(
        &self,
        op: &'static str,
        key: &str,
        now: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(key);
        let v: Option<String> = self.query(op, &cmd).await?;
        Ok(parse_ms(key, v.as_deref())?.filter(|t| *t > now))
    }
}

#[async_trait]
impl KvStore for RedisStore {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<Duration, StoreError> {
        let start = Instant::now();
        let _: String = self.query("ping", &redis::cmd("PING")).await?;
        Ok(start.elapsed())
    }

    async fn create_refresh_family(
        &self,
        family: &str,
        user: &str,
        token_hash: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let (expires_at, px) = expiry(now, ttl);
        let fk = self.key(&["rf", family]);
        let uk = self.key(&["ru", user]);
        let args = [
            user.to_string(),
            token_hash.to_string(),
            expires_at.to_string(),
            px.to_string(),
            family.to_string(),
            self.prefix.clone(),
        ];
        let _: i64 = self
            .eval(
                "create_refresh_family",
                &SCRIPTS.create_family,
                &[&fk, &uk],
                &args,
            )
            .await?;
        Ok(())
    }

    async fn rotate_refresh(
        &self,
        family: &str,
        presented_hash: &str,
        next_hash: Option<&str>,
        ttl: Duration,
    ) -> Result<Rotation, StoreError> {
        let now = self.clock.now_ms();
        let (expires_at, px) = expiry(now, ttl);
        let fk = self.key(&["rf", family]);
        let args = [
            now.to_string(),
            presented_hash.to_string(),
            next_hash.unwrap_or_default().to_string(),
            expires_at.to_string(),
            px.to_string(),
            self.prefix.clone(),
            family.to_string(),
        ];
        let (outcome, user): (String, String) = self
            .eval("rotate_refresh", &SCRIPTS.rotate, &[&fk], &args)
            .await?;
        match outcome.as_str() {
            "rotated" => Ok(Rotation::Rotated { user }),
            "reused" => Ok(Rotation::Reused { user }),
            "unknown" => Ok(Rotation::Unknown),
            other => Err(StoreError::corrupt(
                STORE,
                format!("rotate script answered {other:?}"),
            )),
        }
    }

    async fn revoke_family(&self, family: &str) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let fk = self.key(&["rf", family]);
        let args = [now.to_string(), self.prefix.clone(), family.to_string()];
        let n: i64 = self
            .eval("revoke_family", &SCRIPTS.revoke_family, &[&fk], &args)
            .await?;
        Ok(n == 1)
    }

    async fn revoke_user_sessions(
        &self,
        user: &str,
        at: Millis,
        ttl: Duration,
    ) -> Result<u64, StoreError> {
        let now = self.clock.now_ms();
        let (expires_at, px) = expiry(now, ttl);
        let uk = self.key(&["ru", user]);
        let sk = self.key(&["sr", user]);
        let args = [
            now.to_string(),
            self.prefix.clone(),
            user.to_string(),
            at.to_string(),
            expires_at.to_string(),
            px.to_string(),
        ];
        let n: u64 = self
            .eval(
                "revoke_user_sessions",
                &SCRIPTS.revoke_user,
                &[&uk, &sk],
                &args,
            )
            .await?;
        Ok(n)
    }

    async fn sessions_revoked_at(&self, user: &str) -> Result<Option<Millis>, StoreError> {
        let now = self.clock.now_ms();
        let sk = self.key(&["sr", user]);
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(&sk).arg("at").arg("expires_at");
        let (at, expires_at): (Option<String>, Option<String>) =
            self.query("sessions_revoked_at", &cmd).await?;
        let at = parse_ms(&sk, at.as_deref())?;
        let expires_at = parse_ms(&sk, expires_at.as_deref())?;
        Ok(match (at, expires_at) {
            (Some(at), Some(e)) if e > now => Some(at),
            _ => None,
        })
    }

    async fn revoke_token(&self, jti: &str, ttl: Duration) -> Result<(), StoreError> {
        let (expires_at, px) = expiry(self.clock.now_ms(), ttl);
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(&["rt", jti]))
            .arg(expires_at)
            .arg("PX")
            .arg(px);
        let _: String = self.query("revoke_token", &cmd).await?;
        Ok(())
    }

    async fn is_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        Ok(self
            .get_after("is_token_revoked", &self.key(&["rt", jti]), now)
            .await?
            .is_some())
    }

    async fn use_once(&self, scope: &str, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let (expires_at, px) = expiry(now, ttl.max(Duration::from_millis(1)));
        let k = self.key(&["once", scope, id]);
        let args = [now.to_string(), expires_at.to_string(), px.to_string()];
        let n: i64 = self
            .eval("use_once", &SCRIPTS.use_once, &[&k], &args)
            .await?;
        Ok(n == 1)
    }

    async fn count_attempt(&self, scope: &str, id: &str, ttl: Duration) -> Result<u64, StoreError> {
        let now = self.clock.now_ms();
        let (expires_at, px) = expiry(now, ttl.max(Duration::from_millis(1)));
        let k = self.key(&["att", scope, id]);
        let args = [now.to_string(), expires_at.to_string(), px.to_string()];
        self.eval("count_attempt", &SCRIPTS.count_attempt, &[&k], &args)
            .await
    }

    async fn record_signin_failure(
        &self,
        account: &str,
        policy: &LockPolicy,
        now: Millis,
    ) -> Result<AccountLock, StoreError> {
        let k = self.key(&["acct", account]);
        let window = policy.window_ms.max(1);
        let lock = policy.lock_ms.max(1);
        let args = [
            now.to_string(),
            policy.threshold.max(1).to_string(),
            now.saturating_add(window).to_string(),
            now.saturating_add(lock).to_string(),
            px(window.max(lock)).to_string(),
        ];
        let (failures, until, newly): (u64, String, i64) = self
            .eval(
                "record_signin_failure",
                &SCRIPTS.signin_failure,
                &[&k],
                &args,
            )
            .await?;
        Ok(AccountLock {
            failures,
            locked_until: parse_ms(&k, Some(until.as_str()).filter(|u| !u.is_empty()))?,
            newly_locked: newly == 1,
        })
    }

    async fn account_locked_until(
        &self,
        account: &str,
        now: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        let k = self.key(&["acct", account]);
        let mut cmd = redis::cmd("HGET");
        cmd.arg(&k).arg("locked_until");
        let until: Option<String> = self.query("account_locked_until", &cmd).await?;
        Ok(parse_ms(&k, until.as_deref())?.filter(|u| *u > now))
    }

    async fn clear_signin_failures(&self, account: &str) -> Result<bool, StoreError> {
        let k = self.key(&["acct", account]);
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&k);
        let n: i64 = self.query("clear_signin_failures", &cmd).await?;
        Ok(n > 0)
    }

    async fn rate_limit(
        &self,
        check: &RateLimit<'_>,
        now: Millis,
    ) -> Result<RateDecision, StoreError> {
        let window_ms = check.window_ms.max(1);
        let window_start = now.saturating_sub(now.rem_euclid(window_ms));
        let reset_at = window_start.saturating_add(window_ms);
        let block = self.key(&["block", check.ip]);
        let viol = self.key(&["viol", check.ip]);
        let counter = self.key(&["rl", check.class, check.ip, &window_start.to_string()]);
        let args = [
            now.to_string(),
            check.limit.to_string(),
            px(window_ms).to_string(),
            now.saturating_sub(check.violation_period_ms).to_string(),
            check.violations_to_block.to_string(),
            now.saturating_add(check.block_ms).to_string(),
            px(check.block_ms).to_string(),
            format!("{}:{window_start}:", check.class),
            px(check.violation_period_ms).to_string(),
            check.cost.max(1).to_string(),
        ];
        let (outcome, value): (String, String) = self
            .eval(
                "rate_limit",
                &SCRIPTS.rate_limit,
                &[&block, &viol, &counter],
                &args,
            )
            .await?;
        match outcome.as_str() {
            "blocked" => match parse_ms(&block, Some(&value))? {
                Some(until) => Ok(RateDecision::Blocked { until }),
                None => Err(StoreError::corrupt(STORE, format!("{block}: no value"))),
            },
            "allowed" => {
                let count: u64 = value.parse().map_err(|_| {
                    StoreError::corrupt(STORE, format!("{counter}: count {value:?}"))
                })?;
                Ok(RateDecision::Allowed {
                    remaining: check.limit.saturating_sub(count),
                    reset_at,
                })
            }
            "limited" => Ok(RateDecision::Limited {
                reset_at,
                blocked: false,
            }),
            "limited_blocked" => Ok(RateDecision::Limited {
                reset_at,
                blocked: true,
            }),
            other => Err(StoreError::corrupt(
                STORE,
                format!("rate_limit script answered {other:?}"),
            )),
        }
    }

    async fn blocked_until(&self, ip: &str, now: Millis) -> Result<Option<Millis>, StoreError> {
        self.get_after("blocked_until", &self.key(&["block", ip]), now)
            .await
    }

    async fn unblock(&self, ip: &str) -> Result<bool, StoreError> {
        let now = self.clock.now_ms();
        let block = self.key(&["block", ip]);
        let viol = self.key(&["viol", ip]);
        let n: i64 = self
            .eval(
                "unblock",
                &SCRIPTS.unblock,
                &[&block, &viol],
                &[now.to_string()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn add_metrics(
        &self,
        minute: i64,
        samples: &[(&str, f64)],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let (expires_at, px) = expiry(now, ttl);
        let k = self.key(&["m", &minute.to_string()]);
        let mut args = Vec::with_capacity(3 + 2 * samples.len());
        args.extend([now.to_string(), expires_at.to_string(), px.to_string()]);
        // NaN and infinities are not added: they would poison the sum for good.
        for (series, value) in samples.iter().filter(|(_, v)| v.is_finite()) {
            args.push((*series).to_string());
            args.push(value.to_string());
        }
        let _: i64 = self
            .eval("add_metrics", &SCRIPTS.add_metrics, &[&k], &args)
            .await?;
        Ok(())
    }

    async fn read_metrics(&self, from: i64, to: i64) -> Result<MetricBuckets, StoreError> {
        let now = self.clock.now_ms();
        let mut out = MetricBuckets::new();
        let mut start = from;
        while start <= to {
            let end = start.saturating_add(METRICS_BATCH - 1).min(to);
            let mut pipe = redis::pipe();
            for minute in start..=end {
                pipe.cmd("HGETALL")
                    .arg(self.key(&["m", &minute.to_string()]));
            }
            let pipe = &pipe;
            let rows: Vec<HashMap<String, String>> = self
                .run("read_metrics", |mut c| async move {
                    pipe.query_async(&mut c).await
                })
                .await?;
            for (minute, row) in (start..=end).zip(rows) {
                if let Some(bucket) = metric_bucket(minute, row, now)? {
                    out.insert(minute, bucket);
                }
            }
            if end == i64::MAX {
                break;
            }
            start = end + 1;
        }
        Ok(out)
    }

    async fn set_canary_window(&self, since: Millis) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(&["canary"])).arg(since);
        let _: String = self.query("set_canary_window", &cmd).await?;
        Ok(())
    }

    async fn canary_window(&self) -> Result<Option<Millis>, StoreError> {
        let k = self.key(&["canary"]);
        let mut cmd = redis::cmd("GET");
        cmd.arg(&k);
        let v: Option<String> = self.query("canary_window", &cmd).await?;
        parse_ms(&k, v.as_deref())
    }

    async fn push_recent(
        &self,
        name: &str,
        entry: &serde_json::Value,
        keep: u64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let (expires_at, px) = expiry(now, ttl);
        let list = self.key(&["rc", name]);
        let until = self.key(&["rcx", name]);
        let args = [
            now.to_string(),
            entry.to_string(),
            keep.min(i64::MAX as u64).to_string(),
            last_index(keep).to_string(),
            expires_at.to_string(),
            px.to_string(),
        ];
        let _: i64 = self
            .eval("push_recent", &SCRIPTS.push_recent, &[&list, &until], &args)
            .await?;
        Ok(())
    }

    async fn recent(&self, name: &str, n: u64) -> Result<Vec<serde_json::Value>, StoreError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let now = self.clock.now_ms();
        let list = self.key(&["rc", name]);
        let until = self.key(&["rcx", name]);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("GET")
            .arg(&until)
            .cmd("LRANGE")
            .arg(&list)
            .arg(0)
            .arg(last_index(n));
        let pipe = &pipe;
        let (expires_at, entries): (Option<String>, Vec<String>) = self
            .run(
                "recent",
                |mut c| async move { pipe.query_async(&mut c).await },
            )
            .await?;
        match parse_ms(&until, expires_at.as_deref())? {
            Some(e) if e > now => {}
            _ => return Ok(Vec::new()),
        }
        entries
            .iter()
            .map(|e| {
                serde_json::from_str(e)
                    .map_err(|err| StoreError::corrupt(STORE, format!("{list}: {err}")))
            })
            .collect()
    }

    async fn put_draft(
        &self,
        owner: &str,
        draft: &serde_json::Value,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (expires_at, px) = expiry(self.clock.now_ms(), ttl.max(Duration::from_millis(1)));
        let entry = serde_json::json!({"expires_at": expires_at, "draft": draft});
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(&["draft", owner]))
            .arg(entry.to_string())
            .arg("PX")
            .arg(px);
        let _: String = self.query("put_draft", &cmd).await?;
        Ok(())
    }

    async fn get_draft(&self, owner: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let k = self.key(&["draft", owner]);
        let mut cmd = redis::cmd("GET");
        cmd.arg(&k);
        let v: Option<String> = self.query("get_draft", &cmd).await?;
        let Some(v) = v else { return Ok(None) };
        let mut entry: serde_json::Value = serde_json::from_str(&v)
            .map_err(|err| StoreError::corrupt(STORE, format!("{k}: {err}")))?;
        let live = entry["expires_at"]
            .as_i64()
            .is_some_and(|e| e > self.clock.now_ms());
        Ok(live.then(|| entry["draft"].take()))
    }

    async fn claim_idempotency(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError> {
        let now = self.clock.now_ms();
        let (expires_at, px) = expiry(now, ttl.max(Duration::from_millis(1)));
        let k = self.key(&["idem", key]);
        let args = [
            now.to_string(),
            value.to_string(),
            expires_at.to_string(),
            px.to_string(),
        ];
        self.eval("claim_idempotency", &SCRIPTS.claim, &[&k], &args)
            .await
    }
}

/// The scripts, one per multi-step operation. Times and TTLs arrive as decimal strings;
/// comparisons convert them with `tonumber` (exact below 2^53 ms).
struct Scripts {
    create_family: Script,
    rotate: Script,
    revoke_family: Script,
    revoke_user: Script,
    use_once: Script,
    count_attempt: Script,
    signin_failure: Script,
    rate_limit: Script,
    unblock: Script,
    add_metrics: Script,
    claim: Script,
    push_recent: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    // KEYS: family, user set. ARGV: user, hash, expires_at, px, family id, prefix.
    // A family id reused for another user leaves that user's set.
    create_family: Script::new(
        r"
local old = redis.call('HGET', KEYS[1], 'user')
if old and old ~= ARGV[1] then
  redis.call('SREM', ARGV[6] .. 'ru:' .. old, ARGV[5])
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'current', ARGV[2], 'expires_at', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[5])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return 1
",
    ),
    // KEYS: family. ARGV: now, presented, next ('' ends the family), expires_at, px,
    // prefix, family id. A rotated token's hash stays in the family as `old:<hash>` until
    // that token would have expired: presenting it again is reuse and revokes the family;
    // a hash the family never issued (a forged token naming the family) changes nothing.
    rotate: Script::new(
        r"
local now = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'user', 'current', 'expires_at')
local e = f[3] and tonumber(f[3])
if not f[1] or not e or e <= now then
  return {'unknown', ''}
end
local set = ARGV[6] .. 'ru:' .. f[1]
if f[2] == ARGV[2] then
  if ARGV[3] == '' then
    redis.call('DEL', KEYS[1])
    redis.call('SREM', set, ARGV[7])
    return {'rotated', f[1]}
  end
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields - 1, 2 do
    if string.sub(fields[i], 1, 4) == 'old:' and tonumber(fields[i + 1]) <= now then
      redis.call('HDEL', KEYS[1], fields[i])
    end
  end
  redis.call('HSET', KEYS[1], 'current', ARGV[3], 'expires_at', ARGV[4], 'old:' .. ARGV[2], f[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  if redis.call('PTTL', set) < tonumber(ARGV[5]) then
    redis.call('PEXPIRE', set, ARGV[5])
  end
  return {'rotated', f[1]}
end
local issued = redis.call('HGET', KEYS[1], 'old:' .. ARGV[2])
if not issued or tonumber(issued) <= now then
  return {'unknown', ''}
end
redis.call('DEL', KEYS[1])
redis.call('SREM', set, ARGV[7])
return {'reused', f[1]}
",
    ),
    // KEYS: family. ARGV: now, prefix, family id.
    revoke_family: Script::new(
        r"
local f = redis.call('HMGET', KEYS[1], 'user', 'expires_at')
if not f[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[2] .. 'ru:' .. f[1], ARGV[3])
local e = f[2] and tonumber(f[2])
if e and e > tonumber(ARGV[1]) then
  return 1
end
return 0
",
    ),
    // KEYS: user set, sessions-revoked hash. ARGV: now, prefix, user, at, expires_at, px.
    revoke_user: Script::new(
        r"
local now = tonumber(ARGV[1])
local n = 0
for _, fam in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = ARGV[2] .. 'rf:' .. fam
  local f = redis.call('HMGET', k, 'user', 'expires_at')
  if f[1] == ARGV[3] then
    local e = f[2] and tonumber(f[2])
    if e and e > now then
      n = n + 1
    end
    redis.call('DEL', k)
  end
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'at', ARGV[4], 'expires_at', ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return n
",
    ),
    // KEYS: mark. ARGV: now, expires_at, px.
    use_once: Script::new(
        r"
local v = redis.call('GET', KEYS[1])
local e = v and tonumber(v)
if e and e > tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
",
    ),
    // KEYS: counter. ARGV: now, expires_at, px.
    count_attempt: Script::new(
        r"
local v = redis.call('HGET', KEYS[1], 'expires_at')
local e = v and tonumber(v)
if e and e > tonumber(ARGV[1]) then
  return redis.call('HINCRBY', KEYS[1], 'count', 1)
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'count', 1, 'expires_at', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
",
    ),
    // KEYS: account. ARGV: now, threshold, window ends, lock ends, px. Fields: count,
    // window_until, locked_until. Returns {failures, locked_until or '', newly locked}.
    signin_failure: Script::new(
        r"
local now = tonumber(ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'count', 'window_until', 'locked_until')
local locked = f[3] and tonumber(f[3])
if locked and locked > now then
  return {tonumber(f[1] or '0'), f[3], 0}
end
local w = f[2] and tonumber(f[2])
local count
if w and w > now then
  count = redis.call('HINCRBY', KEYS[1], 'count', 1)
else
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'count', 1, 'window_until', ARGV[3])
  count = 1
end
if count >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'count', 0, 'window_until', 0, 'locked_until', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {0, ARGV[4], 1}
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {count, '', 0}
",
    ),
    // KEYS: block, violations, window counter.
    // ARGV: now, limit, window px, violation cutoff (dropped at or below), violations to
    // block, block until, block px, violation member prefix, violations px, cost.
    rate_limit: Script::new(
        r"
local now = tonumber(ARGV[1])
local b = redis.call('GET', KEYS[1])
local until_ = b and tonumber(b)
if until_ and until_ > now then
  return {'blocked', b}
end
local count = redis.call('INCRBY', KEYS[3], ARGV[10])
if redis.call('PTTL', KEYS[3]) < 0 then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
if count <= tonumber(ARGV[2]) then
  return {'allowed', tostring(count)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[8] .. tostring(count))
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
  redis.call('SET', KEYS[1], ARGV[6], 'PX', ARGV[7])
  redis.call('DEL', KEYS[2])
  return {'limited_blocked', ''}
end
redis.call('PEXPIRE', KEYS[2], ARGV[9])
return {'limited', ''}
",
    ),
    // KEYS: block, violations. ARGV: now.
    unblock: Script::new(
        r"
local b = redis.call('GET', KEYS[1])
local until_ = b and tonumber(b)
redis.call('DEL', KEYS[1], KEYS[2])
if until_ and until_ > tonumber(ARGV[1]) then
  return 1
end
return 0
",
    ),
    // KEYS: bucket. ARGV: now, expires_at, px, then series and value pairs. A bucket
    // lives until the latest `now + ttl` of its writes; an expired one starts again empty.
    // A `max:` series keeps the largest value written, every other series the sum. Values
    // are Lua doubles written with 17 significant digits: exactly the f64 sums of the
    // embedded store (HINCRBYFLOAT adds in long double and would differ in the last bits).
    add_metrics: Script::new(
        r"
local now = tonumber(ARGV[1])
local expires_at = tonumber(ARGV[2])
local v = redis.call('HGET', KEYS[1], 'expires_at')
local e = v and tonumber(v)
if not e or e <= now then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'expires_at', ARGV[2])
elseif expires_at > e then
  redis.call('HSET', KEYS[1], 'expires_at', ARGV[2])
end
for i = 4, #ARGV - 1, 2 do
  local field = 's:' .. ARGV[i]
  local x = tonumber(ARGV[i + 1])
  local old = redis.call('HGET', KEYS[1], field)
  local new
  if string.sub(ARGV[i], 1, 4) == 'max:' then
    if old and tonumber(old) >= x then
      new = nil
    else
      new = x
    end
  else
    new = tonumber(old or '0') + x
  end
  if new then
    redis.call('HSET', KEYS[1], field, string.format('%.17g', new))
  end
end
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
",
    ),
    // KEYS: claim. ARGV: now, value, expires_at, px.
    claim: Script::new(
        r"
local f = redis.call('HMGET', KEYS[1], 'value', 'expires_at')
local e = f[2] and tonumber(f[2])
if f[1] and e and e > tonumber(ARGV[1]) then
  return f[1]
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'value', ARGV[2], 'expires_at', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return false
",
    ),
    // KEYS: list, its expiry. ARGV: now, entry, keep, last index kept (keep - 1),
    // expires_at, px. A list whose logical expiry has passed starts again empty.
    push_recent: Script::new(
        r"
local v = redis.call('GET', KEYS[2])
local e = v and tonumber(v)
if not e or e <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
end
if tonumber(ARGV[3]) < 1 then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 0
end
redis.call('LPUSH', KEYS[1], ARGV[2])
redis.call('LTRIM', KEYS[1], 0, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[6])
return redis.call('LLEN', KEYS[1])
",
    ),
});

/// A connection slot: filled by the first operation that connects.
type Slot = Arc<OnceCell<ConnectionManager>>;

/// The cache key: URL and the runtime whose tasks drive the connection.
type SlotKey = (String, tokio::runtime::Id);

/// The process-global connection cache.
fn slots() -> MutexGuard<'static, HashMap<SlotKey, Slot>> {
    static SLOTS: OnceLock<Mutex<HashMap<SlotKey, Slot>>> = OnceLock::new();
    SLOTS
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes a slot from the cache when dropped: held by a task of the slot's runtime, so
/// the slot goes when the runtime shuts down.
struct Evict(SlotKey);

impl Drop for Evict {
    fn drop(&mut self) {
        let removed = slots().remove(&self.0);
        drop(removed);
    }
}

/// The slot of `url` in the runtime of `handle`, created (empty) when missing.
fn slot_for(url: &str, handle: &tokio::runtime::Handle) -> Slot {
    let key: SlotKey = (url.to_string(), handle.id());
    let created = {
        let mut map = slots();
        if let Some(slot) = map.get(&key) {
            return slot.clone();
        }
        let slot = Slot::default();
        map.insert(key.clone(), slot.clone());
        slot
    };
    // Outside the lock: on a runtime that is shutting down the task is dropped at once,
    // and its guard takes the lock.
    let evict = Evict(key);
    handle.spawn(async move {
        let _evict = evict;
        std::future::pending::<()>().await
    });
    created
}

/// The absolute expiry `ttl` after `now`, and the housekeeping TTL in ms (at least 1).
fn expiry(now: Millis, ttl: Duration) -> (Millis, i64) {
    let ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    (now.saturating_add(ms), px(ms))
}

/// The index of the last of the first `n` (at least 1) list elements, for LRANGE and LTRIM.
fn last_index(n: u64) -> i64 {
    i64::try_from(n.saturating_sub(1)).unwrap_or(i64::MAX)
}

/// A housekeeping TTL in milliseconds: at least 1, at most [`MAX_PX`].
fn px(ms: i64) -> i64 {
    ms.clamp(1, MAX_PX)
}

/// A metric bucket as read by HGETALL (`expires_at` and `s:{series}` fields): its sums,
/// or None when it is missing or expired at `now`.
fn metric_bucket(
    minute: i64,
    mut row: HashMap<String, String>,
    now: Millis,
) -> Result<Option<BTreeMap<String, f64>>, StoreError> {
    let what = format!("metric bucket of minute {minute}");
    match parse_ms(&what, row.remove("expires_at").as_deref())? {
        Some(e) if e > now => {}
        _ => return Ok(None),
    }
    let mut bucket = BTreeMap::new();
    for (field, value) in row {
        let Some(series) = field.strip_prefix("s:") else {
            continue;
        };
        let v: f64 = value
            .parse()
            .map_err(|_| StoreError::corrupt(STORE, format!("{what}: {series} = {value:?}")))?;
        bucket.insert(series.to_string(), v);
    }
    Ok(Some(bucket))
}

/// Parses a stored timestamp.
fn parse_ms(key: &str, v: Option<&str>) -> Result<Option<Millis>, StoreError> {
    match v {
        None => Ok(None),
        Some(s) => s
            .parse::<Millis>()
            .map(Some)
            .map_err(|_| StoreError::corrupt(STORE, format!("{key}: not a timestamp: {s:?}"))),
    }
}

/// The password in a `redis://user:password@host` URL, as written (percent-encoded).
fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then(|| password.to_string())
}

/// `text` with every secret replaced by `***`.
fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |t, s| t.replace(s.as_str(), "***"))
}

/// `s` with the SCAN glob characters escaped.
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::store::slow::seen;
    use serde_json::json;

    const MIN: Duration = Duration::from_secs(60);

    /// A store on `REDIS_URL` with its own key prefix, on a manual clock at real now.
    async fn store() -> (Arc<RedisStore>, Arc<ManualClock>) {
        let url = std::env::var("REDIS_URL").unwrap_or_else(|_| {
            panic!("REDIS_URL is not set: these tests need a Redis server, e.g. REDIS_URL=redis://127.0.0.1:6390")
        });
        let settings = StoreSettings {
            key_prefix: format!("phase1:test:{}:", uuid::Uuid::new_v4().simple()),
            connect_timeout: Duration::from_secs(2),
            op_timeout: Duration::from_secs(5),
            ..StoreSettings::default()
        };
        let clock = ManualClock::new(crate::clock::system().now_ms());
        let shared: SharedClock = clock.clone();
        let store = RedisStore::connect(&url, &settings, shared)
            .await
            .expect("REDIS_URL parses");
        (Arc::new(store), clock)
    }

    async fn finish(store: &RedisStore) {
        store.clear_prefix().await.expect("clear prefix");
        assert_eq!(store.clear_prefix().await.expect("clear prefix"), 0);
    }

    #[tokio::test]
    async fn refresh_families_rotate_detect_reuse_and_expire() {
        let (s, clock) = store().await;
        assert!(s.ping().await.is_ok());
        s.create_refresh_family("f1", "alice", "h1", MIN)
            .await
            .unwrap();
        let rotated = s.rotate_refresh("f1", "h1", Some("h2"), MIN).await.unwrap();
        assert_eq!(
            rotated,
            Rotation::Rotated {
                user: "alice".into()
            }
        );
        // The old token again: the family is revoked.
        let reused = s.rotate_refresh("f1", "h1", Some("h3"), MIN).await.unwrap();
        assert_eq!(
            reused,
            Rotation::Reused {
                user: "alice".into()
            }
        );
        assert_eq!(
            s.rotate_refresh("f1", "h2", Some("h3"), MIN).await.unwrap(),
            Rotation::Unknown
        );
        assert!(!s.revoke_family("f1").await.unwrap());

        // Rotation extends the family's life; expiry is by the clock.
        s.create_refresh_family("f2", "alice", "a", MIN)
            .await
            .unwrap();
        clock.advance(50_000);
        assert!(matches!(
            s.rotate_refresh("f2", "a", Some("b"), MIN).await.unwrap(),
            Rotation::Rotated { .. }
        ));
        clock.advance(50_000);
        assert!(matches!(
            s.rotate_refresh("f2", "b", Some("c"), MIN).await.unwrap(),
            Rotation::Rotated { .. }
        ));
        clock.advance(60_000);
        assert_eq!(
            s.rotate_refresh("f2", "c", Some("d"), MIN).await.unwrap(),
            Rotation::Unknown
        );
        assert!(!s.revoke_family("f2").await.unwrap());

        s.create_refresh_family("f3", "bob", "x", MIN)
            .await
            .unwrap();
        assert!(s.revoke_family("f3").await.unwrap());
        assert!(!s.revoke_family("f3").await.unwrap());
        assert_eq!(
            s.rotate_refresh("f3", "x", Some("y"), MIN).await.unwrap(),
            Rotation::Unknown
        );
        finish(&s).await;
    }

    #[tokio::test]
    async fn revoking_a_users_sessions_revokes_every_live_family() {
        let (s, clock) = store().await;
        for f in ["a", "b", "c"] {
            s.create_refresh_family(f, "carol", "h", MIN).await.unwrap();
        }
        s.create_refresh_family("d", "dave", "h", MIN)
            .await
            .unwrap();
        s.create_refresh_family("old", "carol", "h", Duration::from_secs(1))
            .await
            .unwrap();
        assert!(s.revoke_family("c").await.unwrap());
        clock.advance(2_000);
        let now = clock.now_ms();
        assert_eq!(s.sessions_revoked_at("carol").await.unwrap(), None);
        assert_eq!(s.revoke_user_sessions("carol", now, MIN).await.unwrap(), 2);
        assert_eq!(s.sessions_revoked_at("carol").await.unwrap(), Some(now));
        assert_eq!(
            s.rotate_refresh("a", "h", Some("i"), MIN).await.unwrap(),
            Rotation::Unknown
        );
        assert!(matches!(
            s.rotate_refresh("d", "h", Some("i"), MIN).await.unwrap(),
            Rotation::Rotated { .. }
        ));
        assert_eq!(s.revoke_user_sessions("carol", now, MIN).await.unwrap(), 0);
        clock.advance(60_000);
        assert_eq!(s.sessions_revoked_at("carol").await.unwrap(), None);
        finish(&s).await;
    }

    #[tokio::test]
    async fn tokens_marks_and_attempts_expire_by_the_clock() {
        let (s, clock) = store().await;
        assert!(!s.is_token_revoked("j1").await.unwrap());
        s.revoke_token("j1", MIN).await.unwrap();
        assert!(s.is_token_revoked("j1").await.unwrap());
        clock.advance(59_999);
        assert!(s.is_token_revoked("j1").await.unwrap());
        clock.advance(1);
        assert!(!s.is_token_revoked("j1").await.unwrap());

        assert!(s.use_once("totp", "alice:123456", MIN).await.unwrap());
        assert!(!s.use_once("totp", "alice:123456", MIN).await.unwrap());
        assert!(s.use_once("totp", "alice:654321", MIN).await.unwrap());
        assert!(s.use_once("other", "alice:123456", MIN).await.unwrap());
        clock.advance(60_000);
        assert!(s.use_once("totp", "alice:123456", MIN).await.unwrap());
        assert!(!s.use_once("totp", "alice:123456", MIN).await.unwrap());

        // A zero TTL still lasts 1 ms, as in the embedded store.
        assert!(s.use_once("zero", "1", Duration::ZERO).await.unwrap());
        assert!(!s.use_once("zero", "1", Duration::ZERO).await.unwrap());
        assert_eq!(
            s.count_attempt("zero", "1", Duration::ZERO).await.unwrap(),
            1
        );
        assert_eq!(
            s.count_attempt("zero", "1", Duration::ZERO).await.unwrap(),
            2
        );

        for n in 1..=3 {
            assert_eq!(s.count_attempt("mfa", "t1", MIN).await.unwrap(), n);
        }
        clock.advance(59_999);
        assert_eq!(s.count_attempt("mfa", "t1", MIN).await.unwrap(), 4);
        clock.advance(1);
        assert_eq!(s.count_attempt("mfa", "t1", MIN).await.unwrap(), 1);
        assert_eq!(s.count_attempt("mfa", "t2", MIN).await.unwrap(), 1);
        finish(&s).await;
    }

    fn check(limit: u64) -> RateLimit<'static> {
        RateLimit {
            ip: "2001:db8::1",
            class: "auth",
            limit,
            cost: 1,
            window_ms: 60_000,
            violations_to_block: 3,
            violation_period_ms: 600_000,
            block_ms: 86_400_000,
        }
    }

    #[tokio::test]
    async fn rate_limit_counts_windows_and_blocks_on_the_third_violation() {
        let (s, clock) = store().await;
        let c = check(2);
        let base = clock.now_ms();
        let t0 = base - base % 60_000 + 10_000; // 10 s into a minute
        let reset_at = t0 - 10_000 + 60_000;
        assert_eq!(
            s.rate_limit(&c, t0).await.unwrap(),
            RateDecision::Allowed {
                remaining: 1,
                reset_at
            }
        );
        assert_eq!(
            s.rate_limit(&c, t0 + 1).await.unwrap(),
            RateDecision::Allowed {
                remaining: 0,
                reset_at
            }
        );
        assert_eq!(
            s.rate_limit(&c, t0 + 2).await.unwrap(),
            RateDecision::Limited {
                reset_at,
                blocked: false
            }
        );
        // Another class has its own window; violations are per IP.
        let other = RateLimit {
            class: "api",
            ..c.clone()
        };
        assert!(matches!(
            s.rate_limit(&other, t0 + 3).await.unwrap(),
            RateDecision::Allowed { remaining: 1, .. }
        ));
        // Next window: counts restart; the second violation does not block yet.
        let t1 = t0 + 60_000;
        let reset1 = reset_at + 60_000;
        for _ in 0..2 {
            assert!(matches!(
                s.rate_limit(&c, t1).await.unwrap(),
                RateDecision::Allowed { .. }
            ));
        }
        assert_eq!(
            s.rate_limit(&c, t1).await.unwrap(),
            RateDecision::Limited {
                reset_at: reset1,
                blocked: false
            }
        );
        assert_eq!(s.blocked_until(c.ip, t1).await.unwrap(), None);
        assert_eq!(
            s.rate_limit(&c, t1 + 1).await.unwrap(),
            RateDecision::Limited {
                reset_at: reset1,
                blocked: true
            }
        );
        let until = t1 + 1 + 86_400_000;
        assert_eq!(
            s.rate_limit(&c, t1 + 2).await.unwrap(),
            RateDecision::Blocked { until }
        );
        assert_eq!(s.blocked_until(c.ip, t1 + 2).await.unwrap(), Some(until));
        assert_eq!(s.blocked_until(c.ip, until).await.unwrap(), None);
        assert_eq!(s.blocked_until("192.0.2.9", t1).await.unwrap(), None);
        // The store's clock stands before `until`: the block is in force.
        assert!(s.unblock(c.ip).await.unwrap());
        assert!(!s.unblock(c.ip).await.unwrap());
        assert_eq!(s.blocked_until(c.ip, t1 + 2).await.unwrap(), None);
        finish(&s).await;
    }

    #[tokio::test]
    async fn violations_older_than_the_period_are_forgotten() {
        let (s, _clock) = store().await;
        let c = RateLimit {
            violation_period_ms: 120_000,
            ..check(0)
        };
        let t0 = 1_793_491_200_000;
        let limited = |blocked| RateDecision::Limited {
            reset_at: 0,
            blocked,
        };
        let strip = |d: RateDecision| match d {
            RateDecision::Limited { blocked, .. } => limited(blocked),
            other => other,
        };
        assert_eq!(strip(s.rate_limit(&c, t0).await.unwrap()), limited(false));
        assert_eq!(
            strip(s.rate_limit(&c, t0 + 60_000).await.unwrap()),
            limited(false)
        );
        // The first violation is exactly one period old: dropped.
        assert_eq!(
            strip(s.rate_limit(&c, t0 + 120_000).await.unwrap()),
            limited(false)
        );
        assert_eq!(
            strip(s.rate_limit(&c, t0 + 120_001).await.unwrap()),
            limited(true)
        );
        finish(&s).await;
    }

    #[tokio::test]
    async fn metrics_canary_and_idempotency() {
        let (s, clock) = store().await;
        s.add_metrics(100, &[("req", 1.0), ("ms", 12.5)], MIN * 60)
            .await
            .unwrap();
        s.add_metrics(
            100,
            &[("req", 2.0), ("ms", 0.25), ("bad", f64::NAN)],
            MIN * 60,
        )
        .await
        .unwrap();
        s.add_metrics(102, &[("req", 1.0)], MIN * 60).await.unwrap();
        s.add_metrics(103, &[], MIN * 60).await.unwrap();
        let m = s.read_metrics(99, 103).await.unwrap();
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), vec![100, 102, 103]);
        assert_eq!(m[&100]["req"], 3.0);
        assert_eq!(m[&100]["ms"], 12.75);
        assert!(!m[&100].contains_key("bad"));
        assert_eq!(m[&102]["req"], 1.0);
        assert!(m[&103].is_empty(), "an empty write still makes a bucket");
        assert!(s.read_metrics(101, 101).await.unwrap().is_empty());
        assert!(s.read_metrics(103, 99).await.unwrap().is_empty());
        assert_eq!(s.read_metrics(0, 2_000).await.unwrap().len(), 3);

        // Sums are f64 sums, bit for bit.
        let xs = [0.1, 0.2, 1e-9, 123_456.789, -3.3, 1e15, 0.7];
        for x in xs {
            s.add_metrics(200, &[("f", x)], MIN).await.unwrap();
        }
        let expected = xs.iter().fold(0.0, |a, x| a + x);
        assert_eq!(s.read_metrics(200, 200).await.unwrap()[&200]["f"], expected);

        // Buckets expire by the clock; a later write extends the bucket's life; a write
        // after expiry starts from zero.
        clock.advance(30_000);
        s.add_metrics(102, &[("req", 1.0)], MIN * 60).await.unwrap();
        clock.advance(3_600_000 - 30_000);
        let m = s.read_metrics(99, 200).await.unwrap();
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), vec![102]);
        assert_eq!(m[&102]["req"], 2.0);
        clock.advance(30_000);
        assert!(s.read_metrics(99, 200).await.unwrap().is_empty());
        s.add_metrics(100, &[("req", 5.0)], MIN).await.unwrap();
        assert_eq!(s.read_metrics(100, 100).await.unwrap()[&100]["req"], 5.0);
        assert_eq!(s.read_metrics(100, 100).await.unwrap()[&100].len(), 1);

        assert_eq!(s.canary_window().await.unwrap(), None);
        s.set_canary_window(1_234).await.unwrap();
        s.set_canary_window(5_678).await.unwrap();
        assert_eq!(s.canary_window().await.unwrap(), Some(5_678));

        assert_eq!(s.claim_idempotency("k", "run1", MIN).await.unwrap(), None);
        assert_eq!(
            s.claim_idempotency("k", "run2", MIN).await.unwrap(),
            Some("run1".into())
        );
        clock.advance(60_000);
        assert_eq!(s.claim_idempotency("k", "run3", MIN).await.unwrap(), None);
        assert_eq!(
            s.claim_idempotency("k", "run4", MIN).await.unwrap(),
            Some("run3".into())
        );
        finish(&s).await;
    }

    #[tokio::test]
    async fn every_operation_reports_its_name_as_a_possibly_slow_call() {
        let (s, _clock) = store().await;
        let _ = seen::take();
        s.ping().await.unwrap();
        s.create_refresh_family("f", "u", "h", MIN).await.unwrap();
        s.rotate_refresh("f", "h", Some("i"), MIN).await.unwrap();
        s.revoke_family("f").await.unwrap();
        s.revoke_user_sessions("u", 1, MIN).await.unwrap();
        s.sessions_revoked_at("u").await.unwrap();
        s.revoke_token("j", MIN).await.unwrap();
        s.is_token_revoked("j").await.unwrap();
        s.use_once("totp", "1", MIN).await.unwrap();
        s.count_attempt("mfa", "t", MIN).await.unwrap();
        s.rate_limit(&check(5), 1_000).await.unwrap();
        s.blocked_until("192.0.2.1", 1_000).await.unwrap();
        s.unblock("192.0.2.1").await.unwrap();
        s.add_metrics(1, &[("req", 1.0)], MIN).await.unwrap();
        s.read_metrics(1, 1).await.unwrap();
        s.set_canary_window(1).await.unwrap();
        s.canary_window().await.unwrap();
        s.claim_idempotency("k", "v", MIN).await.unwrap();
        s.push_recent("r", &json!(1), 5, MIN).await.unwrap();
        s.recent("r", 5).await.unwrap();
        let ops = [
            "ping",
            "create_refresh_family",
            "rotate_refresh",
            "revoke_family",
            "revoke_user_sessions",
            "sessions_revoked_at",
            "revoke_token",
            "is_token_revoked",
            "use_once",
            "count_attempt",
            "rate_limit",
            "blocked_until",
            "unblock",
            "add_metrics",
            "read_metrics",
            "set_canary_window",
            "canary_window",
            "claim_idempotency",
            "push_recent",
            "recent",
        ];
        assert_eq!(seen::names(), ops.map(|op| ("redis", op)));
        finish(&s).await;
        assert!(seen::names()
            .iter()
            .all(|c| *c == ("redis", "clear_prefix")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_counts_and_limits_are_exact() {
        let (s, _clock) = store().await;
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.count_attempt("login", "eve", MIN).await
            }));
        }
        let mut counts = Vec::new();
        for t in tasks {
            counts.push(t.await.unwrap().unwrap());
        }
        counts.sort_unstable();
        assert_eq!(counts, (1..=200).collect::<Vec<u64>>());

        let now = 1_793_491_200_000;
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let s = s.clone();
            tasks.push(tokio::spawn(
                async move { s.rate_limit(&check(50), now).await },
            ));
        }
        let (mut allowed, mut limited, mut blocking, mut blocked) = (Vec::new(), 0, 0, 0);
        for t in tasks {
            match t.await.unwrap().unwrap() {
                RateDecision::Allowed { remaining, .. } => allowed.push(remaining),
                RateDecision::Limited { blocked: false, .. } => limited += 1,
                RateDecision::Limited { blocked: true, .. } => blocking += 1,
                RateDecision::Blocked { .. } => blocked += 1,
            }
        }
        allowed.sort_unstable();
        assert_eq!(allowed, (0..50).collect::<Vec<u64>>());
        assert_eq!((limited, blocking, blocked), (2, 1, 147));
        finish(&s).await;
    }

    #[tokio::test]
    async fn every_key_is_under_the_prefix_and_clear_prefix_removes_only_those() {
        let (s, _clock) = store().await;
        let (other, _) = store().await;
        let marker = uuid::Uuid::new_v4().simple().to_string();
        s.create_refresh_family(&marker, &marker, "h", MIN)
            .await
            .unwrap();
        s.revoke_user_sessions(&marker, 1, MIN).await.unwrap();
        s.revoke_token(&marker, MIN).await.unwrap();
        s.use_once(&marker, "1", MIN).await.unwrap();
        s.count_attempt(&marker, "1", MIN).await.unwrap();
        let c = RateLimit {
            ip: &marker,
            class: &marker,
            ..check(0)
        };
        s.rate_limit(&c, 1_000).await.unwrap();
        s.claim_idempotency(&marker, "v", MIN).await.unwrap();
        s.push_recent(&marker, &json!(1), 5, MIN).await.unwrap();
        other.use_once("x", &marker, MIN).await.unwrap();

        let mut keys: Vec<String> = Vec::new();
        let mut cursor = 0u64;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(format!("*{marker}*"))
                .arg("COUNT")
                .arg(1_000);
            let (next, batch): (u64, Vec<String>) = s.query("scan", &scan).await.unwrap();
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let (mine, theirs): (Vec<_>, Vec<_>) = keys.iter().partition(|k| k.starts_with(s.prefix()));
        // sr, rt, once, att, rl, viol, idem, rc, rcx (the family and the user's set were
        // revoked).
        assert_eq!(mine.len(), 9, "{keys:?}");
        assert_eq!(theirs.len(), 1, "{keys:?}");
        assert!(theirs[0].starts_with(other.prefix()));

        assert_eq!(s.clear_prefix().await.unwrap(), 9);
        assert!(other.use_once("y", "1", MIN).await.unwrap());
        assert!(!other.use_once("x", &marker, MIN).await.unwrap());
        finish(&other).await;
    }

    #[tokio::test]
    async fn one_manager_per_url_and_runtime() {
        let (a, _) = store().await;
        let (b, _) = store().await;
        a.ping().await.unwrap();
        b.ping().await.unwrap();
        let handle = tokio::runtime::Handle::current();
        let sa = slot_for(&a.url, &handle);
        let sb = slot_for(&b.url, &handle);
        assert!(Arc::ptr_eq(&sa, &sb));
        assert!(sa.initialized());
    }

    #[tokio::test]
    async fn a_value_of_the_wrong_type_is_corrupt() {
        let (s, _) = store().await;
        let mut set = redis::cmd("SET");
        set.arg(s.key(&["att", "x", "y"])).arg("not a hash");
        let _: String = s.query("set", &set).await.unwrap();
        let err = s.count_attempt("x", "y", MIN).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        let mut set = redis::cmd("SET");
        set.arg(s.key(&["rt", "j"])).arg("soon");
        let _: String = s.query("set", &set).await.unwrap();
        let err = s.is_token_revoked("j").await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        finish(&s).await;
    }

    #[test]
    fn a_runtimes_connections_leave_the_cache_with_it() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (id, url) = rt.block_on(async {
            let (s, _) = store().await;
            s.ping().await.unwrap();
            (tokio::runtime::Handle::current().id(), s.url.clone())
        });
        assert!(slots().contains_key(&(url.clone(), id)));
        drop(rt);
        assert!(!slots().contains_key(&(url, id)));
    }

    #[tokio::test]
    async fn a_dropped_connection_is_sent_again_on_a_new_one() {
        let (s, _) = store().await;
        let mut c = s.manager().await.unwrap();
        for round in 0..3 {
            let id: i64 = redis::cmd("CLIENT")
                .arg("ID")
                .query_async(&mut c)
                .await
                .unwrap();
            let mut other = s.client.get_multiplexed_async_connection().await.unwrap();
            let killed: i64 = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("ID")
                .arg(id)
                .query_async(&mut other)
                .await
                .unwrap();
            assert_eq!(killed, 1);
            assert_eq!(s.count_attempt("x", "y", MIN).await.unwrap(), round + 1);
        }
        finish(&s).await;
    }

    #[tokio::test]
    async fn a_dead_server_fails_fast_without_leaking_the_password() {
        let settings = StoreSettings {
            connect_timeout: Duration::from_millis(500),
            op_timeout: Duration::from_secs(5),
            ..StoreSettings::default()
        };
        let url = "redis://user:s3cr%40t-pw@127.0.0.1:1/0";
        let s = RedisStore::connect(url, &settings, crate::clock::system())
            .await
            .expect("connect is lazy");
        let start = Instant::now();
        let err = s.use_once("a", "b", MIN).await.unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        match &err {
            StoreError::Unavailable { store, reason } => {
                assert_eq!(*store, "redis");
                assert!(!reason.contains("s3cr"), "{reason}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!format!("{err} {s:?}").contains("s3cr"));
        // Still unavailable on the next call, not stuck.
        assert!(s.ping().await.is_err());

        let bad = RedisStore::connect("nope://:hunter2@x", &settings, crate::clock::system())
            .await
            .unwrap_err();
        assert!(!bad.to_string().contains("hunter2"), "{bad}");
    }

    #[test]
    fn helpers() {
        assert_eq!(
            url_password("rediss://default:pw@host:6379"),
            Some("pw".into())
        );
        assert_eq!(url_password("redis://:pw@host"), Some("pw".into()));
        assert_eq!(url_password("redis://host:6379/0"), None);
        assert_eq!(url_password("redis://user@host"), None);
        assert_eq!(redact("a pw b", &["pw".into()]), "a *** b");
        assert_eq!(glob_escape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
        assert_eq!(expiry(10, Duration::ZERO), (10, 1));
        assert_eq!(expiry(10, Duration::MAX), (i64::MAX, MAX_PX));
    }
}
