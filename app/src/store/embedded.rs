//! The embedded store: both traits over one local redb file, for `phase1 serve` on a
//! laptop with nothing installed.
//!
//! Why redb (not SQLite): it is pure Rust (no C toolchain, no second copy of a C library in
//! the build), a single file with ACID transactions, MVCC readers and one serialised writer,
//! and crash-safe commits — exactly the guarantees the traits promise — with a small API.
//! Queries here are scans over small tables, which a local store can afford.
//!
//! Every operation is one redb transaction run on tokio's blocking pool, so multi-step
//! operations (token rotation, rate limits, claims, finishing a run with its result) are
//! atomic. Records and key-value entries are JSON; a list of recent entries
//! ([`KvStore::push_recent`]) is one JSON array, newest first, in the `recent` table under
//! the list's name. Expiry is decided by the injected clock: expired records are invisible
//! on read, and a sweep deletes them at open and every ten minutes while the store is
//! alive.
//!
//! Every operation reports its duration, under the trait method's name, to
//! [`super::slow`].

use super::doc::{DocStore, SchemaCheck, DELIVERY_RETENTION_MS};
use super::error::StoreError;
use super::kv::{KvStore, MetricBuckets};
use super::model::{
    apply_outcome, stats_of, AccountLock, AttemptOutcome, AuditRow, Delivery, DeliveryStats,
    DeliveryStatus, LockPolicy, MonitorConfig, MonitorResult, Page, ProjectRecord, RateDecision,
    RateLimit, Rotation, RunRecord, RunStatus, UserRecord, Versioned,
};
use super::StoreSettings;
use crate::clock::{Millis, SharedClock};
use async_trait::async_trait;
use redb::{Database, ReadableTable, TableDefinition, TableHandle};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

type Table = TableDefinition<'static, &'static str, &'static [u8]>;

const PROJECTS: Table = TableDefinition::new("projects");
const RUNS: Table = TableDefinition::new("runs");
const RESULTS: Table = TableDefinition::new("results");
const USERS: Table = TableDefinition::new("users");
const SETTINGS: Table = TableDefinition::new("settings");
const AUDIT: Table = TableDefinition::new("audit");
const MONITORS: Table = TableDefinition::new("monitors");
const MONITOR_RESULTS: Table = TableDefinition::new("monitor_results");
const KV: Table = TableDefinition::new("kv");
const RECENT: Table = TableDefinition::new("recent");
const DELIVERIES: Table = TableDefinition::new("deliveries");

const TABLES: [Table; 11] = [
    PROJECTS,
    RUNS,
    RESULTS,
    USERS,
    SETTINGS,
    AUDIT,
    MONITORS,
    MONITOR_RESULTS,
    KV,
    RECENT,
    DELIVERIES,
];

/// How often the background sweep deletes expired records.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

const STORE: &str = "embedded";

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::unavailable(STORE, e)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt(STORE, e))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::corrupt(STORE, e))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A stored result document with the creation time of its run.
#[derive(Serialize, Deserialize)]
struct StoredResult {
    created_at: Millis,
    document: Value,
}

/// A key-value entry with its logical expiry.
#[derive(Serialize, Deserialize)]
struct Entry {
    until: Millis,
    value: Value,
}

/// Makes `path` private to its owner before the database opens it: a directory it creates
/// is 0700, and the file is created 0600, or narrowed to 0600 when it exists (it holds
/// password hashes, sealed TOTP seeds and the audit log). Directories that already exist are
/// left as they are: they may be shared ones, such as a temporary directory.
fn private_file(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder
                .create(dir)
                .map_err(|e| unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(path)
        .map_err(|e| unavailable(format!("cannot open {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| unavailable(format!("cannot make {} private: {e}", path.display())))?;
    }
    drop(file);
    Ok(())
}

/// Both stores over one redb file.
pub struct Embedded {
    db: Arc<Database>,
    clock: SharedClock,
    path: PathBuf,
    retention_ms: i64,
    audit_retention_ms: i64,
    op_timeout: Duration,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("path", &self.path)
            .finish()
    }
}

/// Table access inside a transaction, for the helpers below.
trait Tables {
    fn get_json<T: DeserializeOwned>(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<T>, StoreError>;
    fn all_json<T: DeserializeOwned>(&self, table: Table) -> Result<Vec<T>, StoreError>;
}

impl Tables for redb::ReadTransaction {
    fn get_json<T: DeserializeOwned>(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let t = match self.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        match t.get(key).map_err(unavailable)? {
            Some(v) => decode(v.value()).map(Some),
            None => Ok(None),
        }
    }

    fn all_json<T: DeserializeOwned>(&self, table: Table) -> Result<Vec<T>, StoreError> {
        let t = match self.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(unavailable(e)),
        };
        let mut out = Vec::new();
        for row in t.iter().map_err(unavailable)? {
            let (_, v) = row.map_err(unavailable)?;
            out.push(decode(v.value())?);
        }
        Ok(out)
    }
}

impl Tables for redb::WriteTransaction {
    fn get_json<T: DeserializeOwned>(
        &self,
        table: Table,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let t = self.open_table(table).map_err(unavailable)?;
        let found = t.get(key).map_err(unavailable)?;
        match found {
            Some(v) => decode(v.value()).map(Some),
            None => Ok(None),
        }
    }

    fn all_json<T: DeserializeOwned>(&self, table: Table) -> Result<Vec<T>, StoreError> {
        let t = self.open_table(table).map_err(unavailable)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(unavailable)? {
            let (_, v) = row.map_err(unavailable)?;
            out.push(decode(v.value())?);
        }
        Ok(out)
    }
}

fn put_json<T: Serialize>(
    tx: &redb::WriteTransaction,
    table: Table,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    let bytes = encode(value)?;
    let mut t = tx.open_table(table).map_err(unavailable)?;
    t.insert(key, bytes.as_slice()).map_err(unavailable)?;
    Ok(())
}

fn remove(tx: &redb::WriteTransaction, table: Table, key: &str) -> Result<bool, StoreError> {
    let mut t = tx.open_table(table).map_err(unavailable)?;
    let existed = t.remove(key).map_err(unavailable)?.is_some();
    Ok(existed)
}

/// Reads an unexpired key-value entry.
fn kv_get(
    tx: &redb::WriteTransaction,
    key: &str,
    now: Millis,
) -> Result<Option<Value>, StoreError> {
    Ok(tx
        .get_json::<Entry>(KV, key)?
        .filter(|e| e.until > now)
        .map(|e| e.value))
}

fn kv_put(
    tx: &redb::WriteTransaction,
    key: &str,
    value: Value,
    until: Millis,
) -> Result<(), StoreError> {
    put_json(tx, KV, key, &Entry { until, value })
}

fn page<T>(mut rows: Vec<T>, page: Page) -> Vec<T> {
    let start = usize::try_from(page.offset)
        .unwrap_or(usize::MAX)
        .min(rows.len());
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    rows.drain(..start);
    rows.truncate(limit);
    rows
}

impl Embedded {
    /// Opens (creating if needed) the file of `settings.embedded_path`.
    pub async fn open(
        settings: &StoreSettings,
        clock: SharedClock,
    ) -> Result<Embedded, StoreError> {
        Embedded::open_at(&settings.embedded_path, settings, clock).await
    }

    /// Opens (creating if needed) the store at `path`.
    pub async fn open_at(
        path: &Path,
        settings: &StoreSettings,
        clock: SharedClock,
    ) -> Result<Embedded, StoreError> {
        let path = path.to_path_buf();
        let p = path.clone();
        let db = tokio::task::spawn_blocking(move || {
            private_file(&p)?;
            Database::create(&p).map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => unavailable(format!(
                    "{} is already open in another process",
                    p.display()
                )),
                e => unavailable(format!("{}: {e}", p.display())),
            })
        })
        .await
        .map_err(unavailable)??;
        let store = Embedded {
            db: Arc::new(db),
            clock,
            path,
            retention_ms: settings.retention_ms(),
            audit_retention_ms: settings.audit_retention_ms(),
            op_timeout: settings.op_timeout,
        };
        store.migrate().await?;
        store.sweep().await?;
        store.start_sweeper();
        Ok(store)
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn start_sweeper(&self) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let db: Weak<Database> = Arc::downgrade(&self.db);
        let clock = self.clock.clone();
        let (retention, audit) = (self.retention_ms, self.audit_retention_ms);
        handle.spawn(async move {
            loop {
                tokio::time::sleep(SWEEP_EVERY).await;
                let Some(db) = db.upgrade() else { return };
                let now = clock.now_ms();
                let _ =
                    tokio::task::spawn_blocking(move || sweep_db(&db, now, retention, audit)).await;
            }
        });
    }

    /// Deletes every expired record and entry now; returns how many.
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        let now = self.clock.now_ms();
        let (retention, audit) = (self.retention_ms, self.audit_retention_ms);
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || sweep_db(&db, now, retention, audit))
            .await
            .map_err(unavailable)?
    }

    /// Runs `f` in a read transaction under the operation timeout, as operation `op`.
    async fn read<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        let job = tokio::task::spawn_blocking(move || {
            let tx = db.begin_read().map_err(unavailable)?;
            f(&tx)
        });
        super::error::with_timeout(STORE, op, self.op_timeout, async {
            job.await.map_err(unavailable)?
        })
        .await
    }

    /// Runs `f` in a write transaction under the operation timeout, as operation `op`.
    async fn write<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        let job = tokio::task::spawn_blocking(move || {
            let tx = db.begin_write().map_err(unavailable)?;
            let out = f(&tx)?;
            tx.commit().map_err(unavailable)?;
            Ok(out)
        });
        super::error::with_timeout(STORE, op, self.op_timeout, async {
            job.await.map_err(unavailable)?
        })
        .await
    }

    fn fresh(&self, created_at: Millis, now: Millis) -> bool {
        created_at + self.retention_ms > now
    }
}

fn sweep_db(
    db: &Database,
    now: Millis,
    retention: i64,
    audit_retention: i64,
) -> Result<u64, StoreError> {
    let tx = db.begin_write().map_err(unavailable)?;
    let mut removed = 0u64;
    {
        let expired = |table: Table,
                       tx: &redb::WriteTransaction,
                       stale: &dyn Fn(&[u8]) -> bool|
         -> Result<u64, StoreError> {
            let mut t = tx.open_table(table).map_err(unavailable)?;
            let mut keys = Vec::new();
            for row in t.iter().map_err(unavailable)? {
                let (k, v) = row.map_err(unavailable)?;
                if stale(v.value()) {
                    keys.push(k.value().to_string());
                }
            }
            for k in &keys {
                t.remove(k.as_str()).map_err(unavailable)?;
            }
            Ok(keys.len() as u64)
        };
        let created_before = |limit: Millis| {
            move |b: &[u8]| {
                serde_json::from_slice::<Value>(b)
                    .ok()
                    .and_then(|v| v["created_at"].as_i64())
                    .is_some_and(|c| c < limit)
            }
        };
        removed += expired(PROJECTS, &tx, &created_before(now - retention))?;
        removed += expired(RUNS, &tx, &created_before(now - retention))?;
        removed += expired(RESULTS, &tx, &created_before(now - retention))?;
        removed += expired(MONITOR_RESULTS, &tx, &|b| {
            serde_json::from_slice::<Value>(b)
                .ok()
                .and_then(|v| v["at"].as_i64())
                .is_some_and(|at| at < now - retention)
        })?;
        removed += expired(AUDIT, &tx, &|b| {
            serde_json::from_slice::<Value>(b)
                .ok()
                .and_then(|v| v["when"].as_i64())
                .is_some_and(|w| w < now - audit_retention)
        })?;
        removed += expired(
            DELIVERIES,
            &tx,
            &created_before(now - DELIVERY_RETENTION_MS),
        )?;
        removed += expired(KV, &tx, &|b| {
            serde_json::from_slice::<Entry>(b).is_ok_and(|e| e.until <= now)
        })?;
        removed += expired(RECENT, &tx, &|b| {
            serde_json::from_slice::<Entry>(b).is_ok_and(|e| e.until <= now)
        })?;
    }
    tx.commit().map_err(unavailable)?;
    Ok(removed)
}

#[async_trait]
impl DocStore for Embedded {
    fn backend(&self) -> &'static str {
        STORE
    }

    async fn ping(&self) -> Result<Duration, StoreError> {
        let start = Instant::now();
        self.read("ping", |tx| {
            tx.get_json::<Value>(SETTINGS, "ping").map(|_| ())
        })
        .await?;
        Ok(start.elapsed())
    }

    async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        self.write("migrate", |tx| {
            let existing: Vec<String> = tx
                .list_tables()
                .map_err(unavailable)?
                .map(|t| t.name().to_string())
                .collect();
            let mut created = Vec::new();
            for t in TABLES {
                if !existing.iter().any(|e| e == t.name()) {
                    tx.open_table(t).map_err(unavailable)?;
                    created.push(format!("created table {}", t.name()));
                }
            }
            Ok(created)
        })
        .await
    }

    async fn check_schema(&self) -> Result<Vec<SchemaCheck>, StoreError> {
        let (retention, audit) = (
            self.retention_ms / 86_400_000,
            self.audit_retention_ms / 86_400_000,
        );
        self.read("check_schema", move |tx| {
            let existing: Vec<String> = tx
                .list_tables()
                .map_err(unavailable)?
                .map(|t| t.name().to_string())
                .collect();
            let mut checks: Vec<SchemaCheck> = TABLES
                .iter()
                .map(|t| {
                    let ok = existing.iter().any(|e| e == t.name());
                    SchemaCheck {
                        collection: t.name().to_string(),
                        name: "table".into(),
                        ok,
                        details: if ok {
                            "present".into()
                        } else {
                            "missing".into()
                        },
                    }
                })
                .collect();
            for (table, days) in [
                ("projects", retention),
                ("runs", retention),
                ("results", retention),
                ("monitor_results", retention),
                ("audit", audit),
            ] {
                checks.push(SchemaCheck {
                    collection: table.into(),
                    name: "ttl".into(),
                    ok: true,
                    details: format!(
                        "expire after {days} days, honoured on read, swept every {} s",
                        SWEEP_EVERY.as_secs()
                    ),
                });
            }
            Ok(checks)
        })
        .await
    }

    async fn save_project(&self, project: &ProjectRecord) -> Result<(), StoreError> {
        let p = project.clone();
        self.write("save_project", move |tx| {
            if tx.get_json::<Value>(PROJECTS, &p.id)?.is_some() {
                return Err(StoreError::Duplicate {
                    what: format!("project {}", p.id),
                });
            }
            put_json(tx, PROJECTS, &p.id, &p)
        })
        .await
    }

    async fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>, StoreError> {
        let id = id.to_string();
        let now = self.clock.now_ms();
        let p: Option<ProjectRecord> = self
            .read("get_project", move |tx| tx.get_json(PROJECTS, &id))
            .await?;
        Ok(p.filter(|p| self.fresh(p.created_at, now)))
    }

    async fn list_projects(
        &self,
        owner: Option<&str>,
        pg: Page,
    ) -> Result<Vec<ProjectRecord>, StoreError> {
        let now = self.clock.now_ms();
        let mut rows: Vec<ProjectRecord> = self
            .read("list_projects", |tx| tx.all_json(PROJECTS))
            .await?;
        rows.retain(|p| self.fresh(p.created_at, now) && owner.is_none_or(|o| p.owner == o));
        rows.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(page(rows, pg))
    }

    async fn delete_project(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        let now = self.clock.now_ms();
        let retention = self.retention_ms;
        self.write("delete_project", move |tx| {
            let found: Option<ProjectRecord> = tx.get_json(PROJECTS, &id)?;
            remove(tx, PROJECTS, &id)?;
            Ok(found.is_some_and(|p| p.created_at + retention > now))
        })
        .await
    }

    async fn create_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        let r = run.clone();
        self.write("create_run", move |tx| {
            if tx.get_json::<Value>(RUNS, &r.id)?.is_some() {
                return Err(StoreError::Duplicate {
                    what: format!("run {}", r.id),
                });
            }
            put_json(tx, RUNS, &r.id, &r)
        })
        .await
    }

    async fn get_run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        let id = id.to_string();
        let now = self.clock.now_ms();
        let r: Option<RunRecord> = self
            .read("get_run", move |tx| tx.get_json(RUNS, &id))
            .await?;
        Ok(r.filter(|r| self.fresh(r.created_at, now)))
    }

    async fn list_runs(&self, owner: Option<&str>, pg: Page) -> Result<Vec<RunRecord>, StoreError> {
        let now = self.clock.now_ms();
        let mut rows: Vec<RunRecord> = self.read("list_runs", |tx| tx.all_json(RUNS)).await?;
        rows.retain(|r| self.fresh(r.created_at, now) && owner.is_none_or(|o| r.owner == o));
        rows.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(page(rows, pg))
    }

    async fn claim_run(
        &self,
        worker: &str,
        now: Millis,
        lease_ms: i64,
        max_attempts: u32,
    ) -> Result<Option<RunRecord>, StoreError> {
        let worker = worker.to_string();
        let retention = self.retention_ms;
        self.write("claim_run", move |tx| {
            let mut runs: Vec<RunRecord> = tx.all_json(RUNS)?;
            runs.retain(|r| {
                r.created_at + retention > now
                    && r.attempts < max_attempts
                    && (r.status == RunStatus::Queued
                        || (r.status == RunStatus::Running
                            && r.lease_until.is_some_and(|l| l < now)))
            });
            let Some(mut run) = runs.into_iter().min_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| a.id.cmp(&b.id))
            }) else {
                return Ok(None);
            };
            run.status = RunStatus::Running;
            run.worker = Some(worker);
            run.lease_until = Some(now + lease_ms);
            run.attempts += 1;
            put_json(tx, RUNS, &run.id, &run)?;
            Ok(Some(run))
        })
        .await
    }

    async fn update_progress(
        &self,
        id: &str,
        worker: &str,
        progress_pct: f64,
        lease_until: Millis,
    ) -> Result<bool, StoreError> {
        let (id, worker) = (id.to_string(), worker.to_string());
        self.write("update_progress", move |tx| {
            let Some(mut run) = tx.get_json::<RunRecord>(RUNS, &id)? else {
                return Ok(false);
            };
            if run.status != RunStatus::Running || run.worker.as_deref() != Some(worker.as_str()) {
                return Ok(false);
            }
            run.progress_pct = progress_pct;
            run.lease_until = Some(lease_until);
            put_json(tx, RUNS, &id, &run)?;
            Ok(true)
        })
        .await
    }

    async fn finish_run(
        &self,
        id: &str,
        worker: Option<&str>,
        result: &Value,
        finished_at: Millis,
    ) -> Result<bool, StoreError> {
        let (id, worker, result) = (id.to_string(), worker.map(str::to_string), result.clone());
        self.write("finish_run", move |tx| {
            let Some(mut run) = tx.get_json::<RunRecord>(RUNS, &id)? else {
                return Ok(false);
            };
            let held = worker
                .as_deref()
                .is_none_or(|w| run.worker.as_deref() == Some(w));
            if !run.status.is_active() || !held {
                return Ok(false);
            }
            put_json(
                tx,
                RESULTS,
                &id,
                &StoredResult {
                    created_at: run.created_at,
                    document: result,
                },
            )?;
            run.status = RunStatus::Done;
            run.progress_pct = 100.0;
            run.finished_at = Some(finished_at);
            run.lease_until = None;
            put_json(tx, RUNS, &id, &run)?;
            Ok(true)
        })
        .await
    }

    async fn fail_run(
        &self,
        id: &str,
        error: &Value,
        finished_at: Millis,
    ) -> Result<bool, StoreError> {
        let (id, error) = (id.to_string(), error.clone());
        self.write("fail_run", move |tx| {
            let Some(mut run) = tx.get_json::<RunRecord>(RUNS, &id)? else {
                return Ok(false);
            };
            if !run.status.is_active() {
                return Ok(false);
            }
            run.status = RunStatus::Failed;
            run.error = Some(error);
            run.finished_at = Some(finished_at);
            run.lease_until = None;
            put_json(tx, RUNS, &id, &run)?;
            Ok(true)
        })
        .await
    }

    async fn fail_abandoned_runs(
        &self,
        now: Millis,
        max_attempts: u32,
        error: &Value,
    ) -> Result<u64, StoreError> {
        let error = error.clone();
        self.write("fail_abandoned_runs", move |tx| {
            let runs: Vec<RunRecord> = tx.all_json(RUNS)?;
            let mut failed = 0;
            for mut run in runs {
                let abandoned = run.status == RunStatus::Running
                    && run.lease_until.is_some_and(|l| l < now)
                    && run.attempts >= max_attempts;
                if abandoned {
                    run.status = RunStatus::Failed;
                    run.error = Some(error.clone());
                    run.finished_at = Some(now);
                    run.lease_until = None;
                    put_json(tx, RUNS, &run.id.clone(), &run)?;
                    failed += 1;
                }
            }
            Ok(failed)
        })
        .await
    }

    async fn cancel_run(&self, id: &str, at: Millis) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.write("cancel_run", move |tx| {
            let Some(mut run) = tx.get_json::<RunRecord>(RUNS, &id)? else {
                return Ok(false);
            };
            if !run.status.is_active() {
                return Ok(false);
            }
            run.status = RunStatus::Cancelled;
            run.finished_at = Some(at);
            run.lease_until = None;
            put_json(tx, RUNS, &id, &run)?;
            Ok(true)
        })
        .await
    }

    async fn delete_run(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.write("delete_run", move |tx| {
            remove(tx, RESULTS, &id)?;
            remove(tx, RUNS, &id)
        })
        .await
    }

    async fn get_result(&self, run_id: &str) -> Result<Option<Value>, StoreError> {
        let id = run_id.to_string();
        let now = self.clock.now_ms();
        let retention = self.retention_ms;
        self.read("get_result", move |tx| {
            let run: Option<RunRecord> = tx.get_json(RUNS, &id)?;
            if !run.is_some_and(|r| r.status == RunStatus::Done && r.created_at + retention > now) {
                return Ok(None);
            }
            Ok(tx
                .get_json::<StoredResult>(RESULTS, &id)?
                .map(|r| r.document))
        })
        .await
    }

    async fn find_cached_run(&self, cache_key: &str) -> Result<Option<RunRecord>, StoreError> {
        let now = self.clock.now_ms();
        let runs: Vec<RunRecord> = self.read("find_cached_run", |tx| tx.all_json(RUNS)).await?;
        Ok(runs
            .into_iter()
            .filter(|r| {
                r.status == RunStatus::Done
                    && r.cache_key.as_deref() == Some(cache_key)
                    && self.fresh(r.created_at, now)
            })
            .max_by(|a, b| {
                a.created_at
                    .cmp(&b.created_at)
                    .then_with(|| a.id.cmp(&b.id))
            }))
    }

    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let u = user.clone();
        self.write("create_user", move |tx| {
            if tx.get_json::<Value>(USERS, &u.email)?.is_some() {
                return Err(StoreError::Duplicate {
                    what: format!("user {}", u.email),
                });
            }
            put_json(tx, USERS, &u.email, &u)
        })
        .await
    }

    async fn get_user(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let email = email.to_string();
        self.read("get_user", move |tx| tx.get_json(USERS, &email))
            .await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut users: Vec<UserRecord> = self.read("list_users", |tx| tx.all_json(USERS)).await?;
        users.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(users)
    }

    async fn update_user_if_version(
        &self,
        user: &UserRecord,
        expected: u64,
    ) -> Result<(), StoreError> {
        let mut u = user.clone();
        self.write("update_user_if_version", move |tx| {
            let found = tx
                .get_json::<UserRecord>(USERS, &u.email)?
                .map(|s| s.version);
            if found != Some(expected) {
                return Err(StoreError::VersionConflict {
                    expected: Some(expected),
                    found,
                });
            }
            u.version = expected + 1;
            put_json(tx, USERS, &u.email, &u)
        })
        .await
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned<Value>>, StoreError> {
        let key = key.to_string();
        self.read("get_versioned", move |tx| tx.get_json(SETTINGS, &key))
            .await
    }

    async fn put_versioned_if(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &Value,
    ) -> Result<u64, StoreError> {
        let (key, value) = (key.to_string(), value.clone());
        self.write("put_versioned_if", move |tx| {
            let found = tx
                .get_json::<Versioned<Value>>(SETTINGS, &key)?
                .map(|v| v.version);
            if found != expected {
                return Err(StoreError::VersionConflict { expected, found });
            }
            let version = expected.map_or(1, |e| e + 1);
            put_json(tx, SETTINGS, &key, &Versioned { version, value })?;
            Ok(version)
        })
        .await
    }

    async fn delete_versioned(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_string();
        self.write("delete_versioned", move |tx| remove(tx, SETTINGS, &key))
            .await
    }

    async fn append_audit(&self, row: &AuditRow) -> Result<(), StoreError> {
        let r = row.clone();
        self.write("append_audit", move |tx| {
            if tx.get_json::<Value>(AUDIT, &r.audit_id)?.is_some() {
                return Err(StoreError::Duplicate {
                    what: format!("audit row {}", r.audit_id),
                });
            }
            put_json(tx, AUDIT, &r.audit_id, &r)
        })
        .await
    }

    async fn list_audit(&self, pg: Page) -> Result<Vec<AuditRow>, StoreError> {
        let now = self.clock.now_ms();
        let mut rows: Vec<AuditRow> = self.read("list_audit", |tx| tx.all_json(AUDIT)).await?;
        rows.retain(|r| r.when + self.audit_retention_ms > now);
        rows.sort_by(|a, b| {
            b.when
                .cmp(&a.when)
                .then_with(|| b.audit_id.cmp(&a.audit_id))
        });
        Ok(page(rows, pg))
    }

    async fn save_monitor(&self, monitor: &MonitorConfig) -> Result<(), StoreError> {
        let m = monitor.clone();
        self.write("save_monitor", move |tx| put_json(tx, MONITORS, &m.id, &m))
            .await
    }

    async fn get_monitor(&self, id: &str) -> Result<Option<MonitorConfig>, StoreError> {
        let id = id.to_string();
        self.read("get_monitor", move |tx| tx.get_json(MONITORS, &id))
            .await
    }

    async fn record_monitor_result(&self, result: &MonitorResult) -> Result<(), StoreError> {
        let r = result.clone();
        self.write("record_monitor_result", move |tx| {
            put_json(tx, MONITOR_RESULTS, &r.id, &r)
        })
        .await
    }

    async fn list_monitor_results(
        &self,
        monitor_id: &str,
        limit: u64,
    ) -> Result<Vec<MonitorResult>, StoreError> {
        let now = self.clock.now_ms();
        let mut rows: Vec<MonitorResult> = self
            .read("list_monitor_results", |tx| tx.all_json(MONITOR_RESULTS))
            .await?;
        rows.retain(|r| r.monitor_id == monitor_id && self.fresh(r.at, now));
        rows.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        Ok(page(rows, Page { offset: 0, limit }))
    }

    async fn enqueue_deliveries(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        let list = deliveries.to_vec();
        self.write("enqueue_deliveries", move |tx| {
            for d in &list {
                if tx.get_json::<Delivery>(DELIVERIES, &d.id)?.is_some() {
                    return Err(StoreError::Duplicate {
                        what: format!("delivery {}", d.id),
                    });
                }
                put_json(tx, DELIVERIES, &d.id, d)?;
            }
            Ok(())
        })
        .await
    }

    async fn claim_delivery(
        &self,
        worker: &str,
        now: Millis,
        lease_ms: i64,
    ) -> Result<Option<Delivery>, StoreError> {
        let worker = worker.to_string();
        self.write("claim_delivery", move |tx| {
            let mut due: Vec<Delivery> = tx.all_json(DELIVERIES)?;
            due.retain(|d| {
                d.created_at + DELIVERY_RETENTION_MS > now
                    && d.status == DeliveryStatus::Pending
                    && d.next_attempt_at <= now
                    && d.lease_until.is_none_or(|l| l < now)
            });
            let Some(mut d) = due.into_iter().min_by(|a, b| {
                a.next_attempt_at
                    .cmp(&b.next_attempt_at)
                    .then_with(|| a.id.cmp(&b.id))
            }) else {
                return Ok(None);
            };
            d.worker = Some(worker);
            d.lease_until = Some(now + lease_ms);
            put_json(tx, DELIVERIES, &d.id, &d)?;
            Ok(Some(d))
        })
        .await
    }

    async fn finish_delivery(
        &self,
        id: &str,
        worker: &str,
        now: Millis,
        outcome: &AttemptOutcome,
    ) -> Result<bool, StoreError> {
        let (id, worker, outcome) = (id.to_string(), worker.to_string(), outcome.clone());
        self.write("finish_delivery", move |tx| {
            let Some(mut d) = tx.get_json::<Delivery>(DELIVERIES, &id)? else {
                return Ok(false);
            };
            if d.status != DeliveryStatus::Pending || d.worker.as_deref() != Some(&worker) {
                return Ok(false);
            }
            apply_outcome(&mut d, now, &outcome);
            put_json(tx, DELIVERIES, &d.id, &d)?;
            Ok(true)
        })
        .await
    }

    async fn delivery_stats(&self) -> Result<DeliveryStats, StoreError> {
        let now = self.clock.now_ms();
        let mut rows: Vec<Delivery> = self
            .read("delivery_stats", |tx| tx.all_json(DELIVERIES))
            .await?;
        rows.retain(|d| d.created_at + DELIVERY_RETENTION_MS > now);
        Ok(stats_of(&rows))
    }
}

#[async_trait]
impl KvStore for Embedded {
    fn backend(&self) -> &'static str {
        STORE
    }

    async fn ping(&self) -> Result<Duration, StoreError> {
        DocStore::ping(self).await
    }

    async fn create_refresh_family(
        &self,
        family: &str,
        user: &str,
        token_hash: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (family, user, hash) = (family.to_string(), user.to_string(), token_hash.to_string());
        let now = self.clock.now_ms();
        let until = now + ms(ttl);
        self.write("create_refresh_family", move |tx| {
            kv_put(
                tx,
                &format!("rf:{family}"),
                json!({"user": user, "current": hash}),
                until,
            )?;
            let key = format!("uf:{user}");
            let mut families: Vec<String> = kv_get(tx, &key, now)?
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            let keep_until = tx
                .get_json::<Entry>(KV, &key)?
                .map_or(until, |e| e.until.max(until));
            if !families.contains(&family) {
                families.push(family);
            }
            kv_put(tx, &key, json!(families), keep_until)
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        family: &str,
        presented_hash: &str,
        next_hash: Option<&str>,
        ttl: Duration,
    ) -> Result<Rotation, StoreError> {
        let key = format!("rf:{family}");
        let (presented, next) = (presented_hash.to_string(), next_hash.map(str::to_string));
        let now = self.clock.now_ms();
        let until = now + ms(ttl);
        self.write("rotate_refresh", move |tx| {
            let Some(current) = tx.get_json::<Entry>(KV, &key)?.filter(|e| e.until > now) else {
                return Ok(Rotation::Unknown);
            };
            let f = current.value;
            let user = f["user"].as_str().unwrap_or_default().to_string();
            // Rotated tokens' hashes, each kept until that token would have expired.
            let mut old: serde_json::Map<String, Value> =
                f["old"].as_object().cloned().unwrap_or_default();
            old.retain(|_, exp| exp.as_i64().is_some_and(|e| e > now));
            if f["current"].as_str() == Some(presented.as_str()) {
                let Some(next) = next else {
                    remove(tx, KV, &key)?;
                    return Ok(Rotation::Rotated { user });
                };
                old.insert(presented, json!(current.until));
                kv_put(
                    tx,
                    &key,
                    json!({"user": user, "current": next, "old": old}),
                    until,
                )?;
                // The user's family list lives as long as the longest-lived family.
                let list_key = format!("uf:{user}");
                if let Some(list) = tx
                    .get_json::<Entry>(KV, &list_key)?
                    .filter(|e| e.until > now)
                {
                    kv_put(tx, &list_key, list.value, list.until.max(until))?;
                }
                Ok(Rotation::Rotated { user })
            } else if old.contains_key(&presented) {
                remove(tx, KV, &key)?;
                Ok(Rotation::Reused { user })
            } else {
                Ok(Rotation::Unknown)
            }
        })
        .await
    }

    async fn revoke_family(&self, family: &str) -> Result<bool, StoreError> {
        let key = format!("rf:{family}");
        let now = self.clock.now_ms();
        self.write("revoke_family", move |tx| {
            let live = kv_get(tx, &key, now)?.is_some();
            remove(tx, KV, &key)?;
            Ok(live)
        })
        .await
    }

    async fn revoke_user_sessions(
        &self,
        user: &str,
        at: Millis,
        ttl: Duration,
    ) -> Result<u64, StoreError> {
        let user = user.to_string();
        let now = self.clock.now_ms();
        let until = now + ms(ttl);
        self.write("revoke_user_sessions", move |tx| {
            let key = format!("uf:{user}");
            let families: Vec<String> = kv_get(tx, &key, now)?
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            let mut revoked = 0;
            for f in families {
                let fk = format!("rf:{f}");
                if kv_get(tx, &fk, now)?.is_some() {
                    revoked += 1;
                }
                remove(tx, KV, &fk)?;
            }
            remove(tx, KV, &key)?;
            kv_put(tx, &format!("ur:{user}"), json!(at), until)?;
            Ok(revoked)
        })
        .await
    }

    async fn sessions_revoked_at(&self, user: &str) -> Result<Option<Millis>, StoreError> {
        let key = format!("ur:{user}");
        let now = self.clock.now_ms();
        self.write("sessions_revoked_at", move |tx| {
            Ok(kv_get(tx, &key, now)?.and_then(|v| v.as_i64()))
        })
        .await
    }

    async fn revoke_token(&self, jti: &str, ttl: Duration) -> Result<(), StoreError> {
        let key = format!("jti:{jti}");
        let until = self.clock.now_ms() + ms(ttl);
        self.write("revoke_token", move |tx| {
            kv_put(tx, &key, json!(true), until)
        })
        .await
    }

    async fn is_token_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let key = format!("jti:{jti}");
        let now = self.clock.now_ms();
        self.write("is_token_revoked", move |tx| {
            Ok(kv_get(tx, &key, now)?.is_some())
        })
        .await
    }

    async fn use_once(&self, scope: &str, id: &str, ttl: Duration) -> Result<bool, StoreError> {
        let key = format!("once:{scope}:{id}");
        let now = self.clock.now_ms();
        let until = now + ms(ttl).max(1);
        self.write("use_once", move |tx| {
            if kv_get(tx, &key, now)?.is_some() {
                return Ok(false);
            }
            kv_put(tx, &key, json!(true), until)?;
            Ok(true)
        })
        .await
    }

    async fn count_attempt(&self, scope: &str, id: &str, ttl: Duration) -> Result<u64, StoreError> {
        let key = format!("att:{scope}:{id}");
        let now = self.clock.now_ms();
        let ttl = ms(ttl).max(1);
        self.write("count_attempt", move |tx| {
            let live = tx.get_json::<Entry>(KV, &key)?.filter(|e| e.until > now);
            let (count, until) = match live {
                Some(e) => (e.value.as_u64().unwrap_or(0) + 1, e.until),
                None => (1, now + ttl),
            };
            kv_put(tx, &key, json!(count), until)?;
            Ok(count)
        })
        .await
    }

    async fn record_signin_failure(
        &self,
        account: &str,
        policy: &LockPolicy,
        now: Millis,
    ) -> Result<AccountLock, StoreError> {
        let key = format!("acct:{account}");
        let p = *policy;
        self.write("record_signin_failure", move |tx| {
            let f = kv_get(tx, &key, now)?.unwrap_or(Value::Null);
            let field = |name: &str| f[name].as_i64().unwrap_or(0);
            let locked_until = field("locked_until");
            if locked_until > now {
                return Ok(AccountLock {
                    failures: f["count"].as_u64().unwrap_or(0),
                    locked_until: Some(locked_until),
                    newly_locked: false,
                });
            }
            let (count, window_until) = if field("window_until") > now {
                (f["count"].as_u64().unwrap_or(0) + 1, field("window_until"))
            } else {
                (1, now.saturating_add(p.window_ms.max(1)))
            };
            if count >= p.threshold.max(1) {
                let until = now.saturating_add(p.lock_ms.max(1));
                kv_put(tx, &key, json!({"count": 0, "locked_until": until}), until)?;
                return Ok(AccountLock {
                    failures: 0,
                    locked_until: Some(until),
                    newly_locked: true,
                });
            }
            kv_put(
                tx,
                &key,
                json!({"count": count, "window_until": window_until}),
                window_until,
            )?;
            Ok(AccountLock {
                failures: count,
                locked_until: None,
                newly_locked: false,
            })
        })
        .await
    }

    async fn account_locked_until(
        &self,
        account: &str,
        now: Millis,
    ) -> Result<Option<Millis>, StoreError> {
        let key = format!("acct:{account}");
        self.write("account_locked_until", move |tx| {
            Ok(kv_get(tx, &key, now)?
                .and_then(|v| v["locked_until"].as_i64())
                .filter(|until| *until > now))
        })
        .await
    }

    async fn clear_signin_failures(&self, account: &str) -> Result<bool, StoreError> {
        let key = format!("acct:{account}");
        let now = self.clock.now_ms();
        self.write("clear_signin_failures", move |tx| {
            let live = kv_get(tx, &key, now)?.is_some();
            remove(tx, KV, &key)?;
            Ok(live)
        })
        .await
    }

    async fn rate_limit(
        &self,
        check: &RateLimit<'_>,
        now: Millis,
    ) -> Result<RateDecision, StoreError> {
        let ip = check.ip.to_string();
        let class = check.class.to_string();
        let c = RateLimit {
            ip: "",
            class: "",
            ..check.clone()
        };
        self.write("rate_limit", move |tx| {
            let block_key = format!("blk:{ip}");
            if let Some(until) = kv_get(tx, &block_key, now)?.and_then(|v| v.as_i64()) {
                if until > now {
                    return Ok(RateDecision::Blocked { until });
                }
            }
            let window = c.window_ms.max(1);
            let start = now - now.rem_euclid(window);
            let reset_at = start + window;
            let key = format!("rl:{class}:{ip}:{start}");
            let count = kv_get(tx, &key, now)?
                .and_then(|v| v.as_u64())
                .unwrap_or(0)
                .saturating_add(c.cost.max(1));
            kv_put(tx, &key, json!(count), start + 2 * window)?;
            if count <= c.limit {
                return Ok(RateDecision::Allowed {
                    remaining: c.limit - count,
                    reset_at,
                });
            }
            let vio_key = format!("vio:{ip}");
            let mut seen: Vec<i64> = kv_get(tx, &vio_key, now)?
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            seen.retain(|&t| t > now - c.violation_period_ms);
            seen.push(now);
            if seen.len() as u64 >= c.violations_to_block {
                remove(tx, KV, &vio_key)?;
                kv_put(tx, &block_key, json!(now + c.block_ms), now + c.block_ms)?;
                return Ok(RateDecision::Limited {
                    reset_at,
                    blocked: true,
                });
            }
            kv_put(tx, &vio_key, json!(seen), now + c.violation_period_ms)?;
            Ok(RateDecision::Limited {
                reset_at,
                blocked: false,
            })
        })
        .await
    }

    async fn blocked_until(&self, ip: &str, now: Millis) -> Result<Option<Millis>, StoreError> {
        let key = format!("blk:{ip}");
        self.write("blocked_until", move |tx| {
            Ok(kv_get(tx, &key, now)?
                .and_then(|v| v.as_i64())
                .filter(|&until| until > now))
        })
        .await
    }

    async fn unblock(&self, ip: &str) -> Result<bool, StoreError> {
        let ip = ip.to_string();
        let now = self.clock.now_ms();
        self.write("unblock", move |tx| {
            let key = format!("blk:{ip}");
            let live = kv_get(tx, &key, now)?
                .and_then(|v| v.as_i64())
                .is_some_and(|until| until > now);
            remove(tx, KV, &key)?;
            remove(tx, KV, &format!("vio:{ip}"))?;
            Ok(live)
        })
        .await
    }

    async fn add_metrics(
        &self,
        minute: i64,
        samples: &[(&str, f64)],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let samples: Vec<(String, f64)> =
            samples.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let now = self.clock.now_ms();
        let until = now + ms(ttl);
        self.write("add_metrics", move |tx| {
            let key = format!("m:{minute}");
            let live = tx.get_json::<Entry>(KV, &key)?.filter(|e| e.until > now);
            let keep = live.as_ref().map_or(until, |e| e.until.max(until));
            let mut sums: std::collections::BTreeMap<String, f64> = live
                .and_then(|e| serde_json::from_value(e.value).ok())
                .unwrap_or_default();
            // NaN and infinities are not added: they would poison the value for good.
            for (k, v) in samples.into_iter().filter(|(_, v)| v.is_finite()) {
                if k.starts_with("max:") {
                    sums.entry(k).and_modify(|m| *m = m.max(v)).or_insert(v);
                } else {
                    *sums.entry(k).or_insert(0.0) += v;
                }
            }
            kv_put(tx, &key, json!(sums), keep)
        })
        .await
    }

    async fn read_metrics(&self, from: i64, to: i64) -> Result<MetricBuckets, StoreError> {
        let now = self.clock.now_ms();
        self.read("read_metrics", move |tx| {
            let t = match tx.open_table(KV) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(MetricBuckets::new()),
                Err(e) => return Err(unavailable(e)),
            };
            let mut out = MetricBuckets::new();
            for row in t.range("m:".."m;").map_err(unavailable)? {
                let (k, v) = row.map_err(unavailable)?;
                let Some(minute) = k
                    .value()
                    .strip_prefix("m:")
                    .and_then(|m| m.parse::<i64>().ok())
                else {
                    continue;
                };
                if minute < from || minute > to {
                    continue;
                }
                let e: Entry = decode(v.value())?;
                if e.until > now {
                    out.insert(
                        minute,
                        serde_json::from_value(e.value)
                            .map_err(|e| StoreError::corrupt(STORE, e))?,
                    );
                }
            }
            Ok(out)
        })
        .await
    }

    async fn set_canary_window(&self, since: Millis) -> Result<(), StoreError> {
        self.write("set_canary_window", move |tx| {
            kv_put(tx, "canary:window", json!(since), Millis::MAX)
        })
        .await
    }

    async fn canary_window(&self) -> Result<Option<Millis>, StoreError> {
        let now = self.clock.now_ms();
        self.write("canary_window", move |tx| {
            Ok(kv_get(tx, "canary:window", now)?.and_then(|v| v.as_i64()))
        })
        .await
    }

    async fn push_recent(
        &self,
        name: &str,
        entry: &Value,
        keep: u64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (name, entry) = (name.to_string(), entry.clone());
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        let now = self.clock.now_ms();
        let until = now.saturating_add(ms(ttl));
        self.write("push_recent", move |tx| {
            if keep == 0 {
                remove(tx, RECENT, &name)?;
                return Ok(());
            }
            let mut entries: Vec<Value> = match tx
                .get_json::<Entry>(RECENT, &name)?
                .filter(|e| e.until > now)
            {
                Some(e) => serde_json::from_value(e.value)
                    .map_err(|e| StoreError::corrupt(STORE, format!("recent {name}: {e}")))?,
                None => Vec::new(),
            };
            entries.insert(0, entry);
            entries.truncate(keep);
            put_json(
                tx,
                RECENT,
                &name,
                &Entry {
                    until,
                    value: Value::Array(entries),
                },
            )
        })
        .await
    }

    async fn recent(&self, name: &str, n: u64) -> Result<Vec<Value>, StoreError> {
        let name = name.to_string();
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let now = self.clock.now_ms();
        self.read("recent", move |tx| {
            let Some(e) = tx
                .get_json::<Entry>(RECENT, &name)?
                .filter(|e| e.until > now)
            else {
                return Ok(Vec::new());
            };
            let mut entries: Vec<Value> = serde_json::from_value(e.value)
                .map_err(|e| StoreError::corrupt(STORE, format!("recent {name}: {e}")))?;
            entries.truncate(n);
            Ok(entries)
        })
        .await
    }

    async fn put_draft(&self, owner: &str, draft: &Value, ttl: Duration) -> Result<(), StoreError> {
        let key = format!("draft:{owner}");
        let draft = draft.clone();
        let until = self.clock.now_ms() + ms(ttl).max(1);
        self.write("put_draft", move |tx| kv_put(tx, &key, draft, until))
            .await
    }

    async fn get_draft(&self, owner: &str) -> Result<Option<Value>, StoreError> {
        let key = format!("draft:{owner}");
        let now = self.clock.now_ms();
        self.write("get_draft", move |tx| kv_get(tx, &key, now))
            .await
    }

    async fn claim_idempotency(
        &self,
        key: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError> {
        let key = format!("idem:{key}");
        let value = value.to_string();
        let now = self.clock.now_ms();
        let until = now + ms(ttl).max(1);
        self.write("claim_idempotency", move |tx| {
            if let Some(v) = kv_get(tx, &key, now)? {
                return Ok(Some(v.as_str().unwrap_or_default().to_string()));
            }
            kv_put(tx, &key, json!(value), until)?;
            Ok(None)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::slow::seen;

    const MIN: Duration = Duration::from_secs(60);

    /// A fresh store in a temporary directory, on a manual clock.
    async fn store() -> (Arc<Embedded>, Arc<ManualClock>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::new(1_793_491_200_000);
        let shared: SharedClock = clock.clone();
        let s = Embedded::open_at(
            &dir.path().join("phase1.redb"),
            &StoreSettings::default(),
            shared,
        )
        .await
        .expect("open");
        (Arc::new(s), clock, dir)
    }

    #[tokio::test]
    async fn recent_lists_live_in_their_own_table_survive_a_reopen_and_are_swept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("phase1.redb");
        let clock = ManualClock::new(1_793_491_200_000);
        let settings = StoreSettings::default();
        let s = Embedded::open_at(&path, &settings, clock.clone())
            .await
            .unwrap();
        let checks = DocStore::check_schema(&s).await.unwrap();
        assert!(
            checks
                .iter()
                .any(|c| c.collection == "recent" && c.name == "table" && c.ok),
            "{checks:?}"
        );
        s.push_recent("a", &json!("x"), 5, MIN).await.unwrap();
        s.push_recent("b", &json!("y"), 5, MIN * 2).await.unwrap();
        drop(s);

        let s = Embedded::open_at(&path, &settings, clock.clone())
            .await
            .unwrap();
        assert_eq!(s.recent("a", 5).await.unwrap(), vec![json!("x")]);
        clock.advance(60_000);
        assert_eq!(s.sweep().await.unwrap(), 1);
        assert!(s.recent("a", 5).await.unwrap().is_empty());
        assert_eq!(s.recent("b", 5).await.unwrap(), vec![json!("y")]);
    }

    /// L8 of the 2026-12-03 audit: the file held password hashes and sealed TOTP seeds
    /// world-readable (0644 in a 0755 directory).
    #[cfg(unix)]
    #[tokio::test]
    async fn the_store_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state").join("nested").join("phase1.redb");
        let clock = ManualClock::new(1_793_491_200_000);
        let s = Embedded::open_at(&path, &StoreSettings::default(), clock.clone())
            .await
            .unwrap();
        drop(s);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&dir.path().join("state")), 0o700);
        // A file left world-readable by an earlier version is narrowed when it opens.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let s = Embedded::open_at(&path, &StoreSettings::default(), clock)
            .await
            .unwrap();
        assert_eq!(mode(&path), 0o600);
        drop(s);
    }

    #[tokio::test]
    async fn a_list_that_is_not_an_array_is_corrupt() {
        let (s, _clock, _dir) = store().await;
        s.write("test", |tx| {
            put_json(
                tx,
                RECENT,
                "bad",
                &Entry {
                    until: Millis::MAX,
                    value: json!({"not": "a list"}),
                },
            )
        })
        .await
        .unwrap();
        let err = s.recent("bad", 5).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        let err = s.push_recent("bad", &json!(1), 5, MIN).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn every_operation_reports_its_name_as_a_possibly_slow_call() {
        let (s, _clock, _dir) = store().await;
        let _ = seen::take();
        KvStore::ping(s.as_ref()).await.unwrap();
        s.rate_limit(
            &RateLimit {
                ip: "192.0.2.1",
                class: "api",
                limit: 5,
                cost: 1,
                window_ms: 60_000,
                violations_to_block: 3,
                violation_period_ms: 600_000,
                block_ms: 86_400_000,
            },
            1_000,
        )
        .await
        .unwrap();
        s.add_metrics(1, &[("max:mem", 1.0)], MIN).await.unwrap();
        s.read_metrics(1, 1).await.unwrap();
        s.push_recent("r", &json!(1), 5, MIN).await.unwrap();
        s.recent("r", 5).await.unwrap();
        s.get_run("nope").await.unwrap();
        s.migrate().await.unwrap();
        s.check_schema().await.unwrap();
        assert_eq!(
            seen::names(),
            [
                "ping",
                "rate_limit",
                "add_metrics",
                "read_metrics",
                "push_recent",
                "recent",
                "get_run",
                "migrate",
                "check_schema",
            ]
            .map(|op| ("embedded", op))
        );
    }
}
