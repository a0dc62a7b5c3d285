//! The MongoDB document store, with the official `mongodb` driver.
//!
//! # Collections
//!
//! Every record is one document whose `_id` is the record's own id, the rest being the
//! record's fields as serde writes them (`bson::to_document`):
//!
//! | collection        | `_id`       | TTL field `ttl_at` from | write concern |
//! |-------------------|-------------|-------------------------|---------------|
//! | `projects`        | id          | `created_at`            | majority      |
//! | `runs`            | id          | `created_at`            | majority      |
//! | `results`         | run id      | the run's `created_at`  | majority      |
//! | `users`           | email       | —                       | majority      |
//! | `settings`        | key         | —                       | majority      |
//! | `audit`           | audit_id    | `when`                  | majority      |
//! | `monitors`        | id          | —                       | majority      |
//! | `monitor_results` | id          | `at`                    | acknowledged  |
//! | `deliveries`      | id          | `created_at` (30 days)  | majority      |
//!
//! A result document is `{_id: run_id, document, created_at, ttl_at}`; a versioned setting
//! is `{_id: key, version, value}`.
//!
//! # Retention
//!
//! `ttl_at` is a BSON date carrying the record's own time; TTL indexes (created by
//! [`DocStore::migrate`]) delete a record `PHASE1_RETENTION_DAYS` after it (audit rows after
//! the audit retention). A changed retention is applied to an existing TTL index with
//! `collMod`. TTL deletion is lazy (the server sweeps about once a minute), so reads also
//! hide every record older than the retention according to the injected clock: an expired
//! record is absent whether or not the server has deleted it yet.
//!
//! # Durability and atomicity
//!
//! Writes that must not be lost use `w: majority, j: true`; monitor observations are
//! plain acknowledged writes. Every call runs under the operation timeout
//! ([`with_timeout`]) and every driver failure becomes [`StoreError::Unavailable`], except
//! a duplicate key ([`StoreError::Duplicate`]) and an undecodable document
//! ([`StoreError::Corrupt`]).
//!
//! Single-document updates carry their own preconditions, so they are atomic without
//! transactions: a claim is one `findOneAndUpdate` on `{status, lease_until, attempts}`,
//! a versioned write is one update filtered on `{_id, version}`.
//!
//! `finish_run` spans two documents. It writes the result first, then marks the run done
//! with an update filtered on the run still being active (and held by the worker). A result
//! is only ever served for a run whose status is `done` ([`DocStore::get_result`] reads the
//! run first), so a reader sees either the finished run with its result or the run as it
//! was. When the run turns out not to be active any more, the result just written is
//! deleted again (unless the run is done, finished by someone else).
//!
//! # Client
//!
//! One [`Client`] (one connection pool) is created lazily per URI and reused by every
//! [`MongoStore`] of the process. The driver binds its background tasks to the Tokio
//! runtime that created the client, so the cache is also keyed by runtime: a process with
//! one runtime (every binary) has exactly one client; tests, with a runtime each, get one
//! per test. Creating the client does not contact the server.

use super::doc::{DocStore, SchemaCheck, DELIVERY_RETENTION_MS};
use super::error::{with_timeout, StoreError};
use super::model::{
    stats_of, AttemptOutcome, AuditRow, Delivery, DeliveryStats, MonitorConfig, MonitorResult,
    Page, ProjectRecord, RunRecord, RunStatus, UserRecord, Versioned,
};
use super::StoreSettings;
use crate::clock::{Millis, SharedClock};
use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, Bson, DateTime, Document};
use mongodb::error::{Error as DriverError, ErrorKind, WriteFailure};
use mongodb::options::{
    Acknowledgment, ClientOptions, CollectionOptions, ReturnDocument, WriteConcern,
};
use mongodb::{Client, Collection, Database};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// The store name in errors.
const STORE: &str = "mongodb";
/// The application name the client announces.
const APP_NAME: &str = "phase1";
/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;
/// MongoDB's "namespace not found" error code.
const NAMESPACE_NOT_FOUND: i32 = 26;
/// MongoDB's "index not found" error code.
const INDEX_NOT_FOUND: i32 = 27;

const PROJECTS: &str = "projects";
const RUNS: &str = "runs";
const RESULTS: &str = "results";
const USERS: &str = "users";
const SETTINGS: &str = "settings";
const AUDIT: &str = "audit";
const MONITORS: &str = "monitors";
const MONITOR_RESULTS: &str = "monitor_results";
const DELIVERIES: &str = "deliveries";

/// The BSON date field the TTL indexes watch.
const TTL_FIELD: &str = "ttl_at";
/// The name of every TTL index.
const TTL_INDEX: &str = "ttl_at_1";

/// A cached client's key: the URI and the runtime its background tasks live on.
type ClientKey = (String, tokio::runtime::Id);

/// The process-wide clients, created on first use.
static CLIENTS: OnceLock<Mutex<HashMap<ClientKey, Client>>> = OnceLock::new();

/// The client cache, locked (a poisoned lock still holds valid clients).
fn clients() -> MutexGuard<'static, HashMap<ClientKey, Client>> {
    CLIENTS
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The shared client for `uri` on the current runtime, created (without contacting the
/// server) when there is none yet.
async fn shared_client(uri: &str, settings: &StoreSettings) -> Result<Client, StoreError> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| StoreError::unavailable(STORE, "not running inside a Tokio runtime"))?
        .id();
    let key = (uri.to_owned(), runtime);
    if let Some(client) = clients().get(&key).cloned() {
        return Ok(client);
    }
    // Parsing resolves `mongodb+srv://` names, hence the timeout.
    let mut options = with_timeout(STORE, "connect", settings.connect_timeout, async {
        ClientOptions::parse(uri)
            .await
            .map_err(|e| StoreError::unavailable(STORE, redact(&e.to_string(), uri)))
    })
    .await?;
    options.connect_timeout = Some(settings.connect_timeout);
    options.server_selection_timeout = Some(settings.connect_timeout);
    options.app_name = Some(APP_NAME.to_owned());
    let client = Client::with_options(options)
        .map_err(|e| StoreError::unavailable(STORE, redact(&e.to_string(), uri)))?;
    // Another task may have raced us here: keep the first client, drop ours.
    let shared = clients().entry(key).or_insert(client).clone();
    Ok(shared)
}

/// A driver message about `uri`, without the URI itself (it may hold a password).
fn redact(message: &str, uri: &str) -> String {
    if uri.is_empty() {
        format!("invalid MongoDB URI: {message}")
    } else {
        format!(
            "invalid MongoDB URI: {}",
            message.replace(uri, "<MONGODB_URI>")
        )
    }
}

/// `w: majority, j: true`.
fn majority() -> WriteConcern {
    WriteConcern::builder()
        .w(Acknowledgment::Majority)
        .journal(true)
        .build()
}

/// `w: 1`.
fn acknowledged() -> WriteConcern {
    WriteConcern::builder().w(Acknowledgment::Nodes(1)).build()
}

/// A driver error as a store error: duplicate keys and decode failures keep their meaning,
/// everything else means the store is unavailable.
fn driver_error(e: DriverError) -> StoreError {
    match e.kind.as_ref() {
        ErrorKind::BsonDeserialization(d) => StoreError::corrupt(STORE, d),
        ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == DUPLICATE_KEY => {
            StoreError::Duplicate {
                what: w.message.clone(),
            }
        }
        ErrorKind::Command(c) if c.code == DUPLICATE_KEY => StoreError::Duplicate {
            what: c.message.clone(),
        },
        _ => StoreError::unavailable(STORE, &e),
    }
}

/// Like [`driver_error`], naming the record when the key was a duplicate.
fn driver_error_on(what: impl FnOnce() -> String) -> impl FnOnce(DriverError) -> StoreError {
    move |e| match driver_error(e) {
        StoreError::Duplicate { .. } => StoreError::Duplicate { what: what() },
        other => other,
    }
}

/// The server error code of a failed command, if any.
fn command_code(e: &DriverError) -> Option<i32> {
    match e.kind.as_ref() {
        ErrorKind::Command(c) => Some(c.code),
        _ => None,
    }
}

/// A record as a document: `_id` first, the record's fields, then `ttl_at` when given.
fn encode<T: Serialize>(
    record: &T,
    id: &str,
    ttl_from: Option<Millis>,
) -> Result<Document, StoreError> {
    let fields = bson::to_document(record)
        .map_err(|e| StoreError::corrupt(STORE, format!("cannot encode record {id}: {e}")))?;
    let mut out = doc! { "_id": id };
    out.extend(fields);
    if let Some(at) = ttl_from {
        out.insert(TTL_FIELD, DateTime::from_millis(at));
    }
    Ok(out)
}

/// A JSON value as BSON.
fn json_to_bson(value: &Value, what: &str) -> Result<Bson, StoreError> {
    bson::to_bson(value)
        .map_err(|e| StoreError::corrupt(STORE, format!("cannot encode {what}: {e}")))
}

/// A document as a record, ignoring the storage-only fields.
fn decode<T: DeserializeOwned>(mut document: Document, collection: &str) -> Result<T, StoreError> {
    let id = document
        .remove("_id")
        .map(|b| b.to_string())
        .unwrap_or_default();
    document.remove(TTL_FIELD);
    bson::from_document(document)
        .map_err(|e| StoreError::corrupt(STORE, format!("{collection} {id}: {e}")))
}

/// An integer field, whichever numeric type the server kept it as.
fn int_field(document: &Document, key: &str) -> Option<i64> {
    match document.get(key)? {
        Bson::Int32(v) => Some(i64::from(*v)),
        Bson::Int64(v) => Some(*v),
        Bson::Double(v) if v.fract() == 0.0 && v.is_finite() => Some(*v as i64),
        _ => None,
    }
}

/// A version field as stored (a non-negative integer), if any.
fn version_field(document: &Document) -> Option<u64> {
    int_field(document, "version").and_then(|v| u64::try_from(v).ok())
}

/// The `created_at` of a stored run, which every run has.
fn created_at_of(document: &Document) -> Result<Millis, StoreError> {
    int_field(document, "created_at")
        .ok_or_else(|| StoreError::corrupt(STORE, "run without a numeric created_at"))
}

/// `limit` as the driver wants it (0 is handled by the caller: MongoDB reads it as "all").
fn limit_of(limit: u64) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// One index or TTL the store needs.
#[derive(Debug, Clone)]
struct IndexSpec {
    collection: &'static str,
    name: &'static str,
    keys: Document,
    unique: bool,
    expire_after_secs: Option<i64>,
}

impl IndexSpec {
    fn new(collection: &'static str, name: &'static str, keys: Document) -> IndexSpec {
        IndexSpec {
            collection,
            name,
            keys,
            unique: false,
            expire_after_secs: None,
        }
    }

    fn unique(mut self) -> IndexSpec {
        self.unique = true;
        self
    }

    fn ttl(collection: &'static str, secs: i64) -> IndexSpec {
        IndexSpec {
            expire_after_secs: Some(secs),
            ..IndexSpec::new(collection, TTL_INDEX, doc! { TTL_FIELD: 1 })
        }
    }

    /// The `createIndexes` entry.
    fn model(&self) -> Document {
        let mut model = doc! { "key": self.keys.clone(), "name": self.name };
        if self.unique {
            model.insert("unique", true);
        }
        if let Some(secs) = self.expire_after_secs {
            model.insert("expireAfterSeconds", secs);
        }
        model
    }
}

/// An index as `listIndexes` reports it.
#[derive(Debug, Clone)]
struct ExistingIndex {
    name: String,
    keys: Document,
    unique: bool,
    expire_after_secs: Option<i64>,
}

impl ExistingIndex {
    fn from_document(d: &Document) -> Option<ExistingIndex> {
        Some(ExistingIndex {
            name: d.get_str("name").ok()?.to_owned(),
            keys: d.get_document("key").ok()?.clone(),
            unique: d.get_bool("unique").unwrap_or(false),
            expire_after_secs: int_field(d, "expireAfterSeconds"),
        })
    }

    fn describe(&self) -> String {
        let mut s = format!("index {} on {}", self.name, self.keys);
        if self.unique {
            s.push_str(", unique");
        }
        if let Some(secs) = self.expire_after_secs {
            s.push_str(&format!(", expireAfterSeconds {secs}"));
        }
        s
    }
}

/// Whether two index key patterns are the same (1 and 1.0 alike, in order).
fn same_keys(a: &Document, b: &Document) -> bool {
    fn direction(v: &Bson) -> Option<String> {
        match v {
            Bson::Int32(n) => Some(n.signum().to_string()),
            Bson::Int64(n) => Some(n.signum().to_string()),
            Bson::Double(n) if *n > 0.0 => Some("1".into()),
            Bson::Double(n) if *n < 0.0 => Some("-1".into()),
            Bson::String(s) => Some(s.clone()),
            _ => None,
        }
    }
    a.len() == b.len()
        && a.iter().zip(b.iter()).all(|((ka, va), (kb, vb))| {
            ka == kb && direction(va).is_some() && direction(va) == direction(vb)
        })
}

/// What an existing index lacks against its spec.
enum IndexState {
    /// As configured.
    Ok,
    /// No index with these keys.
    Missing,
    /// Only the TTL differs (fixable with `collMod`).
    WrongTtl { found: i64, want: i64 },
    /// Uniqueness or TTL-ness differs: drop and recreate.
    Different,
}

fn index_state(spec: &IndexSpec, found: Option<&ExistingIndex>) -> IndexState {
    let Some(found) = found else {
        return IndexState::Missing;
    };
    if found.unique != spec.unique
        || found.expire_after_secs.is_some() != spec.expire_after_secs.is_some()
    {
        return IndexState::Different;
    }
    match (found.expire_after_secs, spec.expire_after_secs) {
        (Some(found), Some(want)) if found != want => IndexState::WrongTtl { found, want },
        _ => IndexState::Ok,
    }
}

/// The index among `existing` that serves `spec`: same keys (whatever its name).
fn find_index<'a>(spec: &IndexSpec, existing: &'a [ExistingIndex]) -> Option<&'a ExistingIndex> {
    existing.iter().find(|e| same_keys(&e.keys, &spec.keys))
}

/// The MongoDB document store. Cheap to clone; every clone shares one client.
#[derive(Debug, Clone)]
pub struct MongoStore {
    db: Database,
    db_name: String,
    projects: Collection<Document>,
    runs: Collection<Document>,
    results: Collection<Document>,
    users: Collection<Document>,
    settings: Collection<Document>,
    audit: Collection<Document>,
    monitors: Collection<Document>,
    monitor_results: Collection<Document>,
    deliveries: Collection<Document>,
    retention_days: u32,
    audit_retention_days: u32,
    op_timeout: Duration,
    clock: SharedClock,
}

impl MongoStore {
    /// Opens database `settings.mongodb_db` on the process's shared client for `uri`
    /// (created on first use). Does not contact the server: the driver connects on the
    /// first operation, so this succeeds while MongoDB is down and calls fail with
    /// [`StoreError::Unavailable`] until it is back.
    pub async fn connect(
        uri: &str,
        settings: &StoreSettings,
        clock: SharedClock,
    ) -> Result<MongoStore, StoreError> {
        let client = shared_client(uri, settings).await?;
        let db = client.database(&settings.mongodb_db);
        let durable = |name: &str| {
            db.collection_with_options::<Document>(
                name,
                CollectionOptions::builder()
                    .write_concern(majority())
                    .build(),
            )
        };
        let monitor_results = db.collection_with_options::<Document>(
            MONITOR_RESULTS,
            CollectionOptions::builder()
                .write_concern(acknowledged())
                .build(),
        );
        Ok(MongoStore {
            projects: durable(PROJECTS),
            runs: durable(RUNS),
            results: durable(RESULTS),
            users: durable(USERS),
            settings: durable(SETTINGS),
            audit: durable(AUDIT),
            monitors: durable(MONITORS),
            monitor_results,
            deliveries: durable(DELIVERIES),
            db,
            db_name: settings.mongodb_db.clone(),
            retention_days: settings.retention_days,
            audit_retention_days: settings.audit_retention_days,
            op_timeout: settings.op_timeout,
            clock,
        })
    }

    /// The database this store uses.
    pub fn database_name(&self) -> &str {
        &self.db_name
    }

    /// Drops the whole database (tests).
    pub async fn drop_database(&self) -> Result<(), StoreError> {
        self.op("drop_database", async {
            self.db.drop().await.map_err(driver_error)
        })
        .await
    }

    /// Runs `fut` under the operation timeout, reporting its duration as operation `op`
    /// (the trait method, e.g. "save_run").
    async fn op<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        with_timeout(STORE, op, self.op_timeout, fut).await
    }

    fn retention_ms(&self) -> i64 {
        i64::from(self.retention_days) * 86_400_000
    }

    /// Records created before this are expired (projects, runs, results, monitor results).
    fn cutoff(&self) -> Millis {
        self.clock.now_ms().saturating_sub(self.retention_ms())
    }

    /// Audit rows written before this are expired.
    fn audit_cutoff(&self) -> Millis {
        self.clock
            .now_ms()
            .saturating_sub(i64::from(self.audit_retention_days) * 86_400_000)
    }

    fn alive(&self, created_at: Millis) -> bool {
        created_at >= self.cutoff()
    }

    /// Every index and TTL the store needs.
    fn expected_indexes(&self) -> Vec<IndexSpec> {
        let retention = i64::from(self.retention_days) * 86_400;
        let audit_retention = i64::from(self.audit_retention_days) * 86_400;
        vec![
            IndexSpec::new(USERS, "email_1", doc! { "email": 1 }).unique(),
            IndexSpec::new(
                PROJECTS,
                "owner_1_created_at_-1",
                doc! { "owner": 1, "created_at": -1 },
            ),
            IndexSpec::ttl(PROJECTS, retention),
            IndexSpec::new(
                RUNS,
                "owner_1_created_at_-1",
                doc! { "owner": 1, "created_at": -1 },
            ),
            IndexSpec::new(
                RUNS,
                "status_1_lease_until_1",
                doc! { "status": 1, "lease_until": 1 },
            ),
            IndexSpec::new(
                RUNS,
                "cache_key_1_status_1_created_at_-1",
                doc! { "cache_key": 1, "status": 1, "created_at": -1 },
            ),
            IndexSpec::ttl(RUNS, retention),
            IndexSpec::ttl(RESULTS, retention),
            IndexSpec::new(AUDIT, "when_-1", doc! { "when": -1 }),
            IndexSpec::ttl(AUDIT, audit_retention),
            IndexSpec::new(
                MONITOR_RESULTS,
                "monitor_id_1_at_-1",
                doc! { "monitor_id": 1, "at": -1 },
            ),
            IndexSpec::ttl(MONITOR_RESULTS, retention),
            IndexSpec::new(
                DELIVERIES,
                "status_1_next_attempt_at_1",
                doc! { "status": 1, "next_attempt_at": 1 },
            ),
            IndexSpec::ttl(DELIVERIES, DELIVERY_RETENTION_MS / 1000),
        ]
    }

    /// Runs a database command under the operation timeout, keeping the driver's error for
    /// callers that expect particular codes; `op` names the operation it is part of.
    async fn command(
        &self,
        op: &'static str,
        command: Document,
    ) -> Result<Result<Document, DriverError>, StoreError> {
        self.op(op, async { Ok(self.db.run_command(command).await) })
            .await
    }

    /// The indexes of `collection` (none when it does not exist yet).
    async fn list_indexes(
        &self,
        op: &'static str,
        collection: &str,
    ) -> Result<Vec<ExistingIndex>, StoreError> {
        let reply = match self.command(op, doc! { "listIndexes": collection }).await? {
            Ok(reply) => reply,
            Err(e) if command_code(&e) == Some(NAMESPACE_NOT_FOUND) => return Ok(Vec::new()),
            Err(e) => return Err(driver_error(e)),
        };
        let bad_reply = || StoreError::unavailable(STORE, "unexpected listIndexes reply");
        let cursor = reply.get_document("cursor").map_err(|_| bad_reply())?;
        let mut out: Vec<ExistingIndex> = cursor
            .get_array("firstBatch")
            .map_err(|_| bad_reply())?
            .iter()
            .filter_map(|b| b.as_document().and_then(ExistingIndex::from_document))
            .collect();
        // More than one batch only for collections with over a hundred indexes; read on.
        let mut cursor_id = int_field(cursor, "id").unwrap_or(0);
        while cursor_id != 0 {
            let more = self
                .command(op, doc! { "getMore": cursor_id, "collection": collection })
                .await?
                .map_err(driver_error)?;
            let cursor = more.get_document("cursor").map_err(|_| bad_reply())?;
            out.extend(
                cursor
                    .get_array("nextBatch")
                    .map_err(|_| bad_reply())?
                    .iter()
                    .filter_map(|b| b.as_document().and_then(ExistingIndex::from_document)),
            );
            cursor_id = int_field(cursor, "id").unwrap_or(0);
        }
        Ok(out)
    }

    async fn create_index(&self, op: &'static str, spec: &IndexSpec) -> Result<(), StoreError> {
        self.command(
            op,
            doc! { "createIndexes": spec.collection, "indexes": [spec.model()] },
        )
        .await?
        .map_err(driver_error)?;
        Ok(())
    }

    async fn drop_index(
        &self,
        op: &'static str,
        collection: &str,
        name: &str,
    ) -> Result<(), StoreError> {
        match self
            .command(op, doc! { "dropIndexes": collection, "index": name })
            .await?
        {
            Ok(_) => Ok(()),
            Err(e) if command_code(&e) == Some(INDEX_NOT_FOUND) => Ok(()),
            Err(e) => Err(driver_error(e)),
        }
    }

    async fn migrate_inner(&self) -> Result<Vec<String>, StoreError> {
        let mut changes = Vec::new();
        let mut cache: HashMap<&'static str, Vec<ExistingIndex>> = HashMap::new();
        for spec in self.expected_indexes() {
            let coll = spec.collection;
            if !cache.contains_key(coll) {
                let found = self.list_indexes("migrate", coll).await?;
                cache.insert(coll, found);
            }
            let existing = cache.get(coll).map(Vec::as_slice).unwrap_or_default();
            let found = find_index(&spec, existing).cloned();
            match index_state(&spec, found.as_ref()) {
                IndexState::Ok => {}
                IndexState::Missing => {
                    // An index of ours with other keys would block the name: replace it.
                    if existing.iter().any(|e| e.name == spec.name) {
                        self.drop_index("migrate", coll, spec.name).await?;
                        changes.push(format!("{coll}: dropped index {} (other keys)", spec.name));
                    }
                    self.create_index("migrate", &spec).await?;
                    changes.push(match spec.expire_after_secs {
                        Some(secs) => format!(
                            "{coll}: created TTL index {} (expireAfterSeconds {secs})",
                            spec.name
                        ),
                        None => format!("{coll}: created index {} on {}", spec.name, spec.keys),
                    });
                    cache.remove(coll);
                }
                IndexState::WrongTtl { found: had, want } => {
                    let name = found.as_ref().map_or(spec.name, |f| f.name.as_str());
                    self.command(
                        "migrate",
                        doc! {
                            "collMod": coll,
                            "index": { "name": name, "expireAfterSeconds": want },
                        },
                    )
                    .await?
                    .map_err(driver_error)?;
                    changes.push(format!(
                        "{coll}: TTL index {name} expireAfterSeconds {had} -> {want}"
                    ));
                    cache.remove(coll);
                }
                IndexState::Different => {
                    if let Some(f) = &found {
                        self.drop_index("migrate", coll, &f.name).await?;
                    }
                    self.create_index("migrate", &spec).await?;
                    changes.push(format!(
                        "{coll}: recreated index {} (was {})",
                        spec.name,
                        found
                            .as_ref()
                            .map_or_else(String::new, ExistingIndex::describe)
                    ));
                    cache.remove(coll);
                }
            }
        }
        Ok(changes)
    }

    async fn check_schema_inner(&self) -> Result<Vec<SchemaCheck>, StoreError> {
        let mut cache: HashMap<&'static str, Vec<ExistingIndex>> = HashMap::new();
        let mut out = Vec::new();
        for spec in self.expected_indexes() {
            if !cache.contains_key(spec.collection) {
                let found = self.list_indexes("check_schema", spec.collection).await?;
                cache.insert(spec.collection, found);
            }
            let existing = cache
                .get(spec.collection)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let found = find_index(&spec, existing);
            let state = index_state(&spec, found);
            let details = match (&state, found) {
                (IndexState::Missing, _) | (_, None) => {
                    format!("missing: no index on {}", spec.keys)
                }
                (IndexState::Ok, Some(f)) => f.describe(),
                (IndexState::WrongTtl { want, .. }, Some(f)) => {
                    format!("{}; expected expireAfterSeconds {want}", f.describe())
                }
                (IndexState::Different, Some(f)) => format!(
                    "{}; expected{}{}",
                    f.describe(),
                    if spec.unique {
                        " unique"
                    } else {
                        " not unique"
                    },
                    match spec.expire_after_secs {
                        Some(secs) => format!(", expireAfterSeconds {secs}"),
                        None => ", no TTL".into(),
                    }
                ),
            };
            out.push(SchemaCheck {
                collection: spec.collection.to_owned(),
                name: spec.name.to_owned(),
                ok: matches!(state, IndexState::Ok),
                details,
            });
        }
        Ok(out)
    }

    /// One record by `_id`.
    async fn find_by_id(
        &self,
        coll: &Collection<Document>,
        id: &str,
    ) -> Result<Option<Document>, StoreError> {
        coll.find_one(doc! { "_id": id })
            .await
            .map_err(driver_error)
    }

    /// Records matching `filter`, in `sort` order, paginated, decoded.
    async fn find_many<T: DeserializeOwned>(
        &self,
        coll: &Collection<Document>,
        filter: Document,
        sort: Document,
        skip: u64,
        limit: Option<u64>,
    ) -> Result<Vec<T>, StoreError> {
        let mut find = coll.find(filter).sort(sort);
        if skip > 0 {
            find = find.skip(skip);
        }
        if let Some(limit) = limit {
            if limit == 0 {
                return Ok(Vec::new());
            }
            find = find.limit(limit_of(limit));
        }
        let docs: Vec<Document> = find
            .await
            .map_err(driver_error)?
            .try_collect()
            .await
            .map_err(driver_error)?;
        docs.into_iter().map(|d| decode(d, coll.name())).collect()
    }

    /// The stored version of a user or setting, for a conflict report.
    async fn current_version(
        &self,
        coll: &Collection<Document>,
        id: &str,
    ) -> Result<Option<u64>, StoreError> {
        Ok(coll
            .find_one(doc! { "_id": id })
            .projection(doc! { "version": 1 })
            .await
            .map_err(driver_error)?
            .as_ref()
            .and_then(version_field))
    }

    /// Sets an active run to a final status; false when it was not active.
    /// Inserts a record that expires with the retention (projects, runs).
    async fn insert_expiring<T: Serialize>(
        &self,
        collection: &Collection<Document>,
        record: &T,
        id: &str,
        created_at: Millis,
        what: &str,
    ) -> Result<(), StoreError> {
        let document = encode(record, id, Some(created_at))?;
        collection
            .insert_one(document)
            .await
            .map_err(driver_error_on(|| format!("{what} {id}")))?;
        Ok(())
    }

    /// A record by id, decoded; None when absent.
    async fn get_by_id<T: DeserializeOwned>(
        &self,
        collection: &Collection<Document>,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        self.find_by_id(collection, id)
            .await?
            .map(|d| decode(d, collection.name()))
            .transpose()
    }

    /// A record by id, None when absent or past the retention.
    async fn get_alive<T: DeserializeOwned>(
        &self,
        collection: &Collection<Document>,
        id: &str,
        created_at: impl Fn(&T) -> Millis,
    ) -> Result<Option<T>, StoreError> {
        let found: Option<T> = self.get_by_id(collection, id).await?;
        Ok(found.filter(|record| self.alive(created_at(record))))
    }

    /// Records within the retention, newest first, only `owner`'s when given.
    async fn list_alive<T: DeserializeOwned>(
        &self,
        collection: &Collection<Document>,
        owner: Option<&str>,
        page: Page,
    ) -> Result<Vec<T>, StoreError> {
        let mut filter = doc! { "created_at": { "$gte": self.cutoff() } };
        if let Some(owner) = owner {
            filter.insert("owner", owner);
        }
        self.find_many(
            collection,
            filter,
            doc! { "created_at": -1, "_id": -1 },
            page.offset,
            Some(page.limit),
        )
        .await
    }

    async fn end_run(&self, id: &str, set: Document) -> Result<bool, StoreError> {
        let updated = self
            .runs
            .update_one(
                doc! { "_id": id, "status": { "$in": active_statuses() } },
                doc! { "$set": set },
            )
            .await
            .map_err(driver_error)?;
        Ok(updated.matched_count == 1)
    }
}

/// The statuses of a run that can still change.
fn active_statuses() -> Vec<&'static str> {
    vec![RunStatus::Queued.as_str(), RunStatus::Running.as_str()]
}

#[async_trait]
impl DocStore for MongoStore {
    fn backend(&self) -> &'static str {
        STORE
    }

    async fn ping(&self) -> Result<Duration, StoreError> {
        self.op("ping", async {
            let start = Instant::now();
            self.db
                .run_command(doc! { "ping": 1 })
                .await
                .map_err(driver_error)?;
            Ok(start.elapsed())
        })
        .await
    }

    async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        // Each command has its own operation timeout: index builds on a large
        // collection may take longer than one call should.
        self.migrate_inner().await
    }

    async fn check_schema(&self) -> Result<Vec<SchemaCheck>, StoreError> {
        self.check_schema_inner().await
    }

    async fn save_project(&self, project: &ProjectRecord) -> Result<(), StoreError> {
        self.op(
            "save_project",
            self.insert_expiring(
                &self.projects,
                project,
                &project.id,
                project.created_at,
                "project",
            ),
        )
        .await
    }

    async fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>, StoreError> {
        self.op(
            "get_project",
            self.get_alive(&self.projects, id, |p: &ProjectRecord| p.created_at),
        )
        .await
    }

    async fn list_projects(
        &self,
        owner: Option<&str>,
        page: Page,
    ) -> Result<Vec<ProjectRecord>, StoreError> {
        self.op(
            "list_projects",
            self.list_alive(&self.projects, owner, page),
        )
        .await
    }

    async fn delete_project(&self, id: &str) -> Result<bool, StoreError> {
        self.op("delete_project", async {
            let gone = self
                .projects
                .find_one_and_delete(doc! { "_id": id })
                .projection(doc! { "created_at": 1 })
                .await
                .map_err(driver_error)?;
            Ok(gone
                .and_then(|d| int_field(&d, "created_at"))
                .is_some_and(|at| self.alive(at)))
        })
        .await
    }

    async fn create_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.op(
            "create_run",
            self.insert_expiring(&self.runs, run, &run.id, run.created_at, "run"),
        )
        .await
    }

    async fn get_run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.op(
            "get_run",
            self.get_alive(&self.runs, id, |r: &RunRecord| r.created_at),
        )
        .await
    }

    async fn list_runs(
        &self,
        owner: Option<&str>,
        page: Page,
    ) -> Result<Vec<RunRecord>, StoreError> {
        self.op("list_runs", self.list_alive(&self.runs, owner, page))
            .await
    }

    async fn claim_run(
        &self,
        worker: &str,
        now: Millis,
        lease_ms: i64,
        max_attempts: u32,
    ) -> Result<Option<RunRecord>, StoreError> {
        self.op("claim_run", async {
            let filter = doc! {
                "attempts": { "$lt": i64::from(max_attempts) },
                "created_at": { "$gte": self.cutoff() },
                "$or": [
                    { "status": RunStatus::Queued.as_str() },
                    { "status": RunStatus::Running.as_str(), "lease_until": { "$lt": now } },
                ],
            };
            let update = doc! {
                "$set": {
                    "status": RunStatus::Running.as_str(),
                    "worker": worker,
                    "lease_until": now.saturating_add(lease_ms),
                },
                "$inc": { "attempts": 1_i64 },
            };
            let claimed = self
                .runs
                .find_one_and_update(filter, update)
                .sort(doc! { "created_at": 1, "_id": 1 })
                .return_document(ReturnDocument::After)
                .await
                .map_err(driver_error)?;
            claimed.map(|d| decode(d, RUNS)).transpose()
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
        self.op("update_progress", async {
            let updated = self
                .runs
                .update_one(
                    doc! { "_id": id, "status": RunStatus::Running.as_str(), "worker": worker },
                    doc! { "$set": { "progress_pct": progress_pct, "lease_until": lease_until } },
                )
                .await
                .map_err(driver_error)?;
            Ok(updated.matched_count == 1)
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
        self.op("finish_run", async {
            let Some(run) = self
                .runs
                .find_one(doc! { "_id": id })
                .projection(doc! { "created_at": 1, "status": 1, "worker": 1 })
                .await
                .map_err(driver_error)?
            else {
                return Ok(false);
            };
            let active = active_statuses();
            let status = run.get_str("status").unwrap_or_default();
            let holder_ok = worker.is_none_or(|w| run.get_str("worker").ok() == Some(w));
            if !active.contains(&status) || !holder_ok {
                return Ok(false);
            }
            let created_at = created_at_of(&run)?;
            // 1. The result, invisible until the run says done.
            let result_doc = doc! {
                "_id": id,
                "document": json_to_bson(result, "result")?,
                "created_at": created_at,
                TTL_FIELD: DateTime::from_millis(created_at),
            };
            self.results
                .replace_one(doc! { "_id": id }, result_doc)
                .upsert(true)
                .await
                .map_err(driver_error)?;
            // 2. The run, only if still active (and held by `worker`).
            let mut filter = doc! { "_id": id, "status": { "$in": active } };
            if let Some(w) = worker {
                filter.insert("worker", w);
            }
            let updated = self
                .runs
                .update_one(
                    filter,
                    doc! { "$set": {
                        "status": RunStatus::Done.as_str(),
                        "progress_pct": 100.0,
                        "finished_at": finished_at,
                        "lease_until": Bson::Null,
                    } },
                )
                .await
                .map_err(driver_error)?;
            if updated.matched_count == 1 {
                return Ok(true);
            }
            // Lost the race (cancelled, failed, re-claimed or deleted meanwhile): take the
            // result back unless someone else finished the run.
            let now_status = self
                .runs
                .find_one(doc! { "_id": id })
                .projection(doc! { "status": 1 })
                .await
                .map_err(driver_error)?;
            let done = now_status.as_ref().and_then(|d| d.get_str("status").ok())
                == Some(RunStatus::Done.as_str());
            if !done {
                self.results
                    .delete_one(doc! { "_id": id })
                    .await
                    .map_err(driver_error)?;
            }
            Ok(false)
        })
        .await
    }

    async fn fail_run(
        &self,
        id: &str,
        error: &Value,
        finished_at: Millis,
    ) -> Result<bool, StoreError> {
        self.op("fail_run", async {
            self.end_run(
                id,
                doc! {
                    "status": RunStatus::Failed.as_str(),
                    "error": json_to_bson(error, "error")?,
                    "finished_at": finished_at,
                    "lease_until": Bson::Null,
                },
            )
            .await
        })
        .await
    }

    async fn fail_abandoned_runs(
        &self,
        now: Millis,
        max_attempts: u32,
        error: &Value,
    ) -> Result<u64, StoreError> {
        self.op("fail_abandoned_runs", async {
            let updated = self
                .runs
                .update_many(
                    doc! {
                        "status": RunStatus::Running.as_str(),
                        "lease_until": { "$lt": now },
                        "attempts": { "$gte": i64::from(max_attempts) },
                    },
                    doc! { "$set": {
                        "status": RunStatus::Failed.as_str(),
                        "error": json_to_bson(error, "error")?,
                        "finished_at": now,
                        "lease_until": Bson::Null,
                    } },
                )
                .await
                .map_err(driver_error)?;
            Ok(updated.modified_count)
        })
        .await
    }

    async fn cancel_run(&self, id: &str, at: Millis) -> Result<bool, StoreError> {
        self.op("cancel_run", async {
            self.end_run(
                id,
                doc! {
                    "status": RunStatus::Cancelled.as_str(),
                    "finished_at": at,
                    "lease_until": Bson::Null,
                },
            )
            .await
        })
        .await
    }

    async fn delete_run(&self, id: &str) -> Result<bool, StoreError> {
        self.op("delete_run", async {
            self.results
                .delete_one(doc! { "_id": id })
                .await
                .map_err(driver_error)?;
            let gone = self
                .runs
                .find_one_and_delete(doc! { "_id": id })
                .projection(doc! { "created_at": 1 })
                .await
                .map_err(driver_error)?;
            Ok(gone
                .and_then(|d| int_field(&d, "created_at"))
                .is_some_and(|at| self.alive(at)))
        })
        .await
    }

    async fn get_result(&self, run_id: &str) -> Result<Option<Value>, StoreError> {
        self.op("get_result", async {
            // The run first: a result counts only once its run says done.
            let Some(run) = self
                .runs
                .find_one(doc! { "_id": run_id })
                .projection(doc! { "created_at": 1, "status": 1 })
                .await
                .map_err(driver_error)?
            else {
                return Ok(None);
            };
            if run.get_str("status").ok() != Some(RunStatus::Done.as_str())
                || !self.alive(created_at_of(&run)?)
            {
                return Ok(None);
            }
            let Some(mut stored) = self.find_by_id(&self.results, run_id).await? else {
                return Ok(None);
            };
            let document = stored.remove("document").ok_or_else(|| {
                StoreError::corrupt(STORE, format!("results {run_id}: no document"))
            })?;
            bson::from_bson(document)
                .map(Some)
                .map_err(|e| StoreError::corrupt(STORE, format!("results {run_id}: {e}")))
        })
        .await
    }

    async fn find_cached_run(&self, cache_key: &str) -> Result<Option<RunRecord>, StoreError> {
        self.op("find_cached_run", async {
            let found = self
                .runs
                .find_one(doc! {
                    "cache_key": cache_key,
                    "status": RunStatus::Done.as_str(),
                    "created_at": { "$gte": self.cutoff() },
                })
                .sort(doc! { "created_at": -1, "_id": -1 })
                .await
                .map_err(driver_error)?;
            found.map(|d| decode(d, RUNS)).transpose()
        })
        .await
    }

    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.op("create_user", async {
            let document = encode(user, &user.email, None)?;
            self.users
                .insert_one(document)
                .await
                .map_err(driver_error_on(|| format!("user {}", user.email)))?;
            Ok(())
        })
        .await
    }

    async fn get_user(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        self.op("get_user", self.get_by_id(&self.users, email))
            .await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.op("list_users", async {
            self.find_many(&self.users, doc! {}, doc! { "_id": 1 }, 0, None)
                .await
        })
        .await
    }

    async fn update_user_if_version(
        &self,
        user: &UserRecord,
        expected: u64,
    ) -> Result<(), StoreError> {
        self.op("update_user_if_version", async {
            let conflict = |found| StoreError::VersionConflict {
                expected: Some(expected),
                found,
            };
            // A version beyond what can be stored cannot match anything stored.
            let (Ok(stored_expected), Some(next)) =
                (i64::try_from(expected), expected.checked_add(1))
            else {
                return Err(conflict(
                    self.current_version(&self.users, &user.email).await?,
                ));
            };
            let mut next_user = user.clone();
            next_user.version = next;
            let replacement = encode(&next_user, &user.email, None)?;
            let replaced = self
                .users
                .replace_one(
                    doc! { "_id": &user.email, "version": stored_expected },
                    replacement,
                )
                .await
                .map_err(driver_error_on(|| format!("user {}", user.email)))?;
            if replaced.matched_count == 1 {
                Ok(())
            } else {
                Err(conflict(
                    self.current_version(&self.users, &user.email).await?,
                ))
            }
        })
        .await
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<Versioned<Value>>, StoreError> {
        self.op("get_versioned", self.get_by_id(&self.settings, key))
            .await
    }

    async fn put_versioned_if(
        &self,
        key: &str,
        expected: Option<u64>,
        value: &Value,
    ) -> Result<u64, StoreError> {
        self.op("put_versioned_if", async {
            let value = json_to_bson(value, key)?;
            match expected {
                None => {
                    let inserted = self
                        .settings
                        .insert_one(doc! { "_id": key, "version": 1_i64, "value": value })
                        .await;
                    match inserted.map_err(driver_error) {
                        Ok(_) => Ok(1),
                        Err(StoreError::Duplicate { .. }) => Err(StoreError::VersionConflict {
                            expected: None,
                            found: self.current_version(&self.settings, key).await?,
                        }),
                        Err(other) => Err(other),
                    }
                }
                Some(expected) => {
                    let conflict = |found| StoreError::VersionConflict {
                        expected: Some(expected),
                        found,
                    };
                    let (Ok(stored_expected), Some(next)) =
                        (i64::try_from(expected), expected.checked_add(1))
                    else {
                        return Err(conflict(self.current_version(&self.settings, key).await?));
                    };
                    // The version check is part of the update: no read-then-write race.
                    let updated = self
                        .settings
                        .update_one(
                            doc! { "_id": key, "version": stored_expected },
                            doc! { "$set": { "value": value }, "$inc": { "version": 1_i64 } },
                        )
                        .await
                        .map_err(driver_error)?;
                    if updated.matched_count == 1 {
                        Ok(next)
                    } else {
                        Err(conflict(self.current_version(&self.settings, key).await?))
                    }
                }
            }
        })
        .await
    }

    async fn delete_versioned(&self, key: &str) -> Result<bool, StoreError> {
        self.op("delete_versioned", async {
            let deleted = self
                .settings
                .delete_one(doc! { "_id": key })
                .await
                .map_err(driver_error)?;
            Ok(deleted.deleted_count == 1)
        })
        .await
    }

    async fn append_audit(&self, row: &AuditRow) -> Result<(), StoreError> {
        self.op("append_audit", async {
            let document = encode(row, &row.audit_id, Some(row.when))?;
            self.audit
                .insert_one(document)
                .await
                .map_err(driver_error_on(|| format!("audit row {}", row.audit_id)))?;
            Ok(())
        })
        .await
    }

    async fn list_audit(&self, page: Page) -> Result<Vec<AuditRow>, StoreError> {
        self.op("list_audit", async {
            self.find_many(
                &self.audit,
                doc! { "when": { "$gte": self.audit_cutoff() } },
                doc! { "when": -1, "_id": -1 },
                page.offset,
                Some(page.limit),
            )
            .await
        })
        .await
    }

    async fn save_monitor(&self, monitor: &MonitorConfig) -> Result<(), StoreError> {
        self.op("save_monitor", async {
            let document = encode(monitor, &monitor.id, None)?;
            self.monitors
                .replace_one(doc! { "_id": &monitor.id }, document)
                .upsert(true)
                .await
                .map_err(driver_error_on(|| format!("monitor {}", monitor.id)))?;
            Ok(())
        })
        .await
    }

    async fn get_monitor(&self, id: &str) -> Result<Option<MonitorConfig>, StoreError> {
        self.op("get_monitor", self.get_by_id(&self.monitors, id))
            .await
    }

    async fn record_monitor_result(&self, result: &MonitorResult) -> Result<(), StoreError> {
        self.op("record_monitor_result", async {
            let document = encode(result, &result.id, Some(result.at))?;
            self.monitor_results
                .insert_one(document)
                .await
                .map_err(driver_error_on(|| format!("monitor result {}", result.id)))?;
            Ok(())
        })
        .await
    }

    async fn list_monitor_results(
        &self,
        monitor_id: &str,
        limit: u64,
    ) -> Result<Vec<MonitorResult>, StoreError> {
        self.op("list_monitor_results", async {
            self.find_many(
                &self.monitor_results,
                doc! { "monitor_id": monitor_id, "at": { "$gte": self.cutoff() } },
                doc! { "at": -1, "_id": -1 },
                0,
                Some(limit),
            )
            .await
        })
        .await
    }

    async fn enqueue_deliveries(&self, deliveries: &[Delivery]) -> Result<(), StoreError> {
        if deliveries.is_empty() {
            return Ok(());
        }
        self.op("enqueue_deliveries", async {
            let documents = deliveries
                .iter()
                .map(|d| encode(d, &d.id, Some(d.created_at)))
                .collect::<Result<Vec<_>, _>>()?;
            self.deliveries
                .insert_many(documents)
                .await
                .map_err(driver_error_on(|| "a delivery".to_string()))?;
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
        self.op("claim_delivery", async {
            let filter = doc! {
                "status": "pending",
                "next_attempt_at": { "$lte": now },
                "created_at": { "$gt": now.saturating_sub(DELIVERY_RETENTION_MS) },
                "$or": [ { "lease_until": null }, { "lease_until": { "$lt": now } } ],
            };
            let update = doc! {
                "$set": { "worker": worker, "lease_until": now.saturating_add(lease_ms) },
            };
            let claimed = self
                .deliveries
                .find_one_and_update(filter, update)
                .sort(doc! { "next_attempt_at": 1, "_id": 1 })
                .return_document(ReturnDocument::After)
                .await
                .map_err(driver_error)?;
            claimed.map(|d| decode(d, DELIVERIES)).transpose()
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
        self.op("finish_delivery", async {
            let mut set = doc! { "worker": null, "lease_until": null, "updated_at": now };
            match outcome {
                AttemptOutcome::Delivered => {
                    set.insert("status", "delivered");
                    set.insert("delivered_at", now);
                }
                AttemptOutcome::Retry { next_at, error } => {
                    set.insert("next_attempt_at", *next_at);
                    set.insert("last_error", error.as_str());
                }
                AttemptOutcome::Dead { error } => {
                    set.insert("status", "dead");
                    set.insert("last_error", error.as_str());
                }
            }
            let updated = self
                .deliveries
                .update_one(
                    doc! { "_id": id, "status": "pending", "worker": worker },
                    doc! { "$set": set, "$inc": { "attempts": 1_i64 } },
                )
                .await
                .map_err(driver_error)?;
            Ok(updated.matched_count == 1)
        })
        .await
    }

    async fn delivery_stats(&self) -> Result<DeliveryStats, StoreError> {
        self.op("delivery_stats", async {
            let kept = self.clock.now_ms().saturating_sub(DELIVERY_RETENTION_MS);
            let rows: Vec<Delivery> = self
                .find_many(
                    &self.deliveries,
                    doc! { "created_at": { "$gt": kept } },
                    doc! { "created_at": 1, "_id": 1 },
                    0,
                    None,
                )
                .await?;
            Ok(stats_of(&rows))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock, SystemClock};
    use serde_json::json;
    use std::sync::Arc;

    const DAY: i64 = 86_400_000;

    fn uri() -> String {
        std::env::var("MONGODB_URI").expect(
            "MONGODB_URI must be set to run the MongoDB store tests, \
             e.g. MONGODB_URI='mongodb://127.0.0.1:27090/?directConnection=true'",
        )
    }

    fn settings() -> StoreSettings {
        StoreSettings {
            mongodb_db: format!("t_{}", uuid::Uuid::new_v4().simple()),
            ..StoreSettings::default()
        }
    }

    /// A store on a fresh database, with a manual clock at the real time (the server's TTL
    /// monitor would otherwise reap records dated in the past).
    async fn store() -> (MongoStore, Arc<ManualClock>) {
        let clock = ManualClock::new(SystemClock.now_ms());
        let store = MongoStore::connect(&uri(), &settings(), clock.clone())
            .await
            .expect("connect");
        (store, clock)
    }

    fn project(id: &str, owner: &str, at: Millis) -> ProjectRecord {
        ProjectRecord {
            id: id.into(),
            owner: owner.into(),
            created_at: at,
            project: json!({"name": id, "n": [1, 2.5, -3], "nested": {"big": 9_007_199_254_740_993_u64}}),
            derived: json!({"ok": true, "none": null}),
        }
    }

    fn run(id: &str, owner: &str, at: Millis) -> RunRecord {
        RunRecord {
            id: id.into(),
            owner: owner.into(),
            project_id: None,
            status: RunStatus::Queued,
            progress_pct: 0.0,
            cardinality: u64::from(u32::MAX) * 1000,
            created_at: at,
            finished_at: None,
            request: json!({"seed": 7}),
            cache_key: Some("k1".into()),
            attempts: 0,
            worker: None,
            lease_until: None,
            error: None,
        }
    }

    fn user(email: &str, version: u64) -> UserRecord {
        UserRecord {
            email: email.into(),
            role: Role::Analyst,
            password_hash: "$argon2id$x".into(),
            totp_secret: "enc".into(),
            disabled: false,
            created_at: 1,
            last_login_at: None,
            version,
        }
    }

    use super::super::model::Role;

    #[tokio::test]
    async fn every_operation_reports_its_name_and_duration_as_a_possibly_slow_call() {
        use crate::store::slow::seen;
        let (store, clock) = store().await;
        let _ = seen::take();
        store.ping().await.expect("ping");
        store
            .save_project(&project("p1", "alice", clock.now_ms()))
            .await
            .expect("save");
        store.get_project("p1").await.expect("get");
        store.get_run("nope").await.expect("get run");
        store.migrate().await.expect("migrate");
        store.check_schema().await.expect("check");
        store.drop_database().await.expect("drop");
        let names = seen::names();
        let ops: Vec<&str> = names
            .iter()
            .map(|(s, op)| {
                assert_eq!(*s, "mongodb");
                *op
            })
            .collect();
        let mut distinct = ops.clone();
        distinct.dedup();
        assert_eq!(
            distinct,
            [
                "ping",
                "save_project",
                "get_project",
                "get_run",
                "migrate",
                "check_schema",
                "drop_database"
            ],
            "{ops:?}"
        );
        assert!(
            ops.iter().filter(|op| **op == "migrate").count() > 1,
            "one per command"
        );

        // A call that times out is reported with the whole wait.
        let settings = StoreSettings {
            connect_timeout: Duration::from_secs(30),
            op_timeout: Duration::from_millis(100),
            ..settings()
        };
        let dead = MongoStore::connect(
            "mongodb://127.0.0.1:2/?directConnection=true",
            &settings,
            crate::clock::system(),
        )
        .await
        .expect("connect");
        let _ = seen::take();
        dead.claim_run("w", clock.now_ms(), 1_000, 3)
            .await
            .expect_err("times out");
        let calls = seen::take();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!((calls[0].store, calls[0].op), ("mongodb", "claim_run"));
        assert!(calls[0].ms >= 100.0, "{calls:?}");
    }

    #[tokio::test]
    async fn connect_is_lazy_and_errors_are_unavailable() {
        let settings = StoreSettings {
            connect_timeout: Duration::from_millis(200),
            op_timeout: Duration::from_secs(3),
            ..settings()
        };
        let store = MongoStore::connect(
            "mongodb://127.0.0.1:1/?directConnection=true",
            &settings,
            crate::clock::system(),
        )
        .await
        .expect("connecting does not contact the server");
        let err = store.ping().await.expect_err("nothing listens on port 1");
        assert!(
            matches!(
                err,
                StoreError::Unavailable {
                    store: "mongodb",
                    ..
                }
            ),
            "{err:?}"
        );
        // The operation timeout bounds a call even when the driver would wait longer.
        let settings = StoreSettings {
            connect_timeout: Duration::from_secs(30),
            op_timeout: Duration::from_millis(100),
            ..settings
        };
        let store = MongoStore::connect(
            "mongodb://127.0.0.1:2/?directConnection=true",
            &settings,
            crate::clock::system(),
        )
        .await
        .expect("connect");
        let err = store.get_run("x").await.expect_err("times out");
        assert!(
            matches!(&err, StoreError::Unavailable { reason, .. } if reason.contains("100 ms")),
            "{err:?}"
        );
        let err = MongoStore::connect("http://nope", &settings, crate::clock::system())
            .await
            .expect_err("bad URI");
        assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn one_client_per_uri() {
        let uri = uri();
        let clock = crate::clock::system();
        let a = MongoStore::connect(&uri, &settings(), clock.clone())
            .await
            .expect("a");
        let b = MongoStore::connect(&uri, &settings(), clock)
            .await
            .expect("b");
        let runtime = tokio::runtime::Handle::current().id();
        let same_key = clients()
            .keys()
            .filter(|(u, r)| *u == uri && *r == runtime)
            .count();
        assert_eq!(same_key, 1);
        assert_ne!(a.database_name(), b.database_name());
        a.ping().await.expect("ping");
        b.ping().await.expect("ping");
    }

    #[tokio::test]
    async fn projects_round_trip_list_and_expire() {
        let (store, clock) = store().await;
        let now = clock.now_ms();
        store.migrate().await.expect("migrate");
        let p1 = project("p1", "a@x", now - 3000);
        let p2 = project("p2", "b@x", now - 2000);
        let p3 = project("p3", "a@x", now - 2000);
        for p in [&p1, &p2, &p3] {
            store.save_project(p).await.expect("save");
        }
        let err = store.save_project(&p1).await.expect_err("duplicate");
        assert_eq!(
            err,
            StoreError::Duplicate {
                what: "project p1".into()
            }
        );
        assert_eq!(
            store.get_project("p1").await.expect("get"),
            Some(p1.clone())
        );
        assert_eq!(store.get_project("nope").await.expect("get"), None);

        let ids = |v: Vec<ProjectRecord>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
        let all = store
            .list_projects(None, Page::default())
            .await
            .expect("list");
        assert_eq!(ids(all), ["p3", "p2", "p1"]);
        let page = store
            .list_projects(
                None,
                Page {
                    offset: 1,
                    limit: 1,
                },
            )
            .await
            .expect("list");
        assert_eq!(ids(page), ["p2"]);
        let none = store
            .list_projects(
                None,
                Page {
                    offset: 0,
                    limit: 0,
                },
            )
            .await
            .expect("list");
        assert!(none.is_empty());
        let mine = store
            .list_projects(Some("a@x"), Page::default())
            .await
            .expect("list");
        assert_eq!(ids(mine), ["p3", "p1"]);

        // 30 days after p2/p3 were created, p1 (a second older) is past retention.
        clock.advance(30 * DAY - 2500);
        assert_eq!(store.get_project("p1").await.expect("get"), None);
        assert_eq!(
            ids(store
                .list_projects(None, Page::default())
                .await
                .expect("list")),
            ["p3", "p2"]
        );
        assert!(!store
            .delete_project("p1")
            .await
            .expect("expired counts as absent"));
        assert!(store.delete_project("p2").await.expect("delete"));
        assert!(!store.delete_project("p2").await.expect("delete again"));
        store.drop_database().await.expect("drop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_claim_lease_and_attempts() {
        let (store, clock) = store().await;
        let now = clock.now_ms();
        for i in 0..6 {
            store
                .create_run(&run(&format!("r{i}"), "a@x", now - 100 + i))
                .await
                .expect("create");
        }
        assert!(matches!(
            store.create_run(&run("r0", "a@x", now)).await,
            Err(StoreError::Duplicate { .. })
        ));
        let got = store.get_run("r0").await.expect("get").expect("present");
        assert_eq!(got, run("r0", "a@x", now - 100));

        // Oldest first, attempts + 1, lease set.
        let first = store
            .claim_run("w1", now, 1000, 3)
            .await
            .expect("claim")
            .expect("a run");
        assert_eq!(first.id, "r0");
        assert_eq!(first.status, RunStatus::Running);
        assert_eq!(first.worker.as_deref(), Some("w1"));
        assert_eq!(first.lease_until, Some(now + 1000));
        assert_eq!(first.attempts, 1);

        // Concurrent claimers never share a run.
        let mut tasks = Vec::new();
        for w in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.claim_run(&format!("c{w}"), now, 1000, 3).await
            }));
        }
        let mut claimed = Vec::new();
        for t in tasks {
            if let Some(r) = t.await.expect("join").expect("claim") {
                claimed.push(r.id);
            }
        }
        claimed.sort();
        assert_eq!(claimed, ["r1", "r2", "r3", "r4", "r5"]);
        assert_eq!(
            store.claim_run("w9", now, 1000, 3).await.expect("claim"),
            None
        );

        // Progress only from the holder.
        assert!(store
            .update_progress("r0", "w1", 40.0, now + 2000)
            .await
            .expect("progress"));
        assert!(!store
            .update_progress("r0", "w2", 50.0, now + 2000)
            .await
            .expect("progress"));
        let r0 = store.get_run("r0").await.expect("get").expect("present");
        assert_eq!((r0.progress_pct, r0.lease_until), (40.0, Some(now + 2000)));

        // An expired lease is claimed again, up to max_attempts.
        for r in ["r1", "r2", "r3", "r4", "r5"] {
            assert!(store.cancel_run(r, now).await.expect("cancel"));
        }
        let again = store
            .claim_run("w2", now + 2001, 1000, 3)
            .await
            .expect("claim")
            .expect("r0");
        assert_eq!((again.id.as_str(), again.attempts), ("r0", 2));
        assert!(!store
            .update_progress("r0", "w1", 60.0, now + 5000)
            .await
            .expect("stale"));
        let third = store
            .claim_run("w3", now + 3002, 1000, 3)
            .await
            .expect("claim")
            .expect("r0");
        assert_eq!(third.attempts, 3);
        assert_eq!(
            store
                .claim_run("w4", now + 9999, 1000, 3)
                .await
                .expect("claim"),
            None
        );

        // Expired runs are never claimed.
        store
            .create_run(&run("old", "a@x", now - 31 * DAY))
            .await
            .expect("create");
        assert_eq!(
            store.claim_run("w5", now, 1000, 3).await.expect("claim"),
            None
        );
        store.drop_database().await.expect("drop");
    }

    #[tokio::test]
    async fn finish_fail_cancel_results_and_cache() {
        let (store, clock) = store().await;
        let now = clock.now_ms();
        let result = json!({"top_20": [{"rank": 1, "dscr": 1.25}], "count": 12_345_678_901_u64});
        store
            .create_run(&run("a", "o@x", now - 10))
            .await
            .expect("create");
        store
            .create_run(&run("b", "o@x", now - 5))
            .await
            .expect("create");
        store
            .create_run(&run("c", "o@x", now))
            .await
            .expect("create");
        let claimed = store
            .claim_run("w1", now, 60_000, 3)
            .await
            .expect("claim")
            .expect("a");
        assert_eq!(claimed.id, "a");
        assert_eq!(store.get_result("a").await.expect("result"), None);

        // Wrong worker: nothing changes, no result shows.
        assert!(!store
            .finish_run("a", Some("w2"), &result, now + 1)
            .await
            .expect("finish"));
        assert_eq!(store.get_result("a").await.expect("result"), None);
        assert!(store
            .finish_run("a", Some("w1"), &result, now + 1)
            .await
            .expect("finish"));
        let a = store.get_run("a").await.expect("get").expect("a");
        assert_eq!(a.status, RunStatus::Done);
        assert_eq!(
            (a.progress_pct, a.finished_at, a.lease_until),
            (100.0, Some(now + 1), None)
        );
        assert_eq!(
            store.get_result("a").await.expect("result"),
            Some(result.clone())
        );
        // Finishing twice does not count.
        assert!(!store
            .finish_run("a", None, &json!({}), now + 2)
            .await
            .expect("finish"));
        assert_eq!(
            store.get_result("a").await.expect("result"),
            Some(result.clone())
        );

        // Cancelled: a late finish is refused and leaves no result behind.
        assert!(store.cancel_run("b", now + 3).await.expect("cancel"));
        assert!(!store.cancel_run("b", now + 3).await.expect("not active"));
        assert!(!store
            .finish_run("b", None, &result, now + 4)
            .await
            .expect("finish"));
        assert_eq!(store.get_result("b").await.expect("result"), None);
        assert_eq!(
            store.results.count_documents(doc! {}).await.expect("count"),
            1
        );

        // Failed, with its problem document.
        let problem = json!({"type": "about:blank", "status": 500});
        assert!(store.fail_run("c", &problem, now + 5).await.expect("fail"));
        assert!(!store
            .fail_run("c", &problem, now + 5)
            .await
            .expect("not active"));
        let c = store.get_run("c").await.expect("get").expect("c");
        assert_eq!((c.status, c.error), (RunStatus::Failed, Some(problem)));
        assert!(!store
            .finish_run("c", None, &result, now + 6)
            .await
            .expect("finish"));

        // The result cache: the newest done run with the key.
        store
            .create_run(&run("d", "o@x", now + 10))
            .await
            .expect("create");
        assert!(store
            .finish_run("d", None, &json!({"d": 1}), now + 11)
            .await
            .expect("finish"));
        let cached = store
            .find_cached_run("k1")
            .await
            .expect("cache")
            .expect("d");
        assert_eq!(cached.id, "d");
        assert_eq!(store.find_cached_run("other").await.expect("cache"), None);

        // Deleting removes run and result.
        assert!(store.delete_run("d").await.expect("delete"));
        assert!(!store.delete_run("d").await.expect("delete again"));
        assert_eq!(store.get_result("d").await.expect("result"), None);
        assert_eq!(
            store
                .find_cached_run("k1")
                .await
                .expect("cache")
                .map(|r| r.id),
            Some("a".into())
        );

        // Past retention, runs and their results vanish.
        clock.advance(31 * DAY);
        assert_eq!(store.get_run("a").await.expect("get"), None);
        assert_eq!(store.get_result("a").await.expect("result"), None);
        assert_eq!(store.find_cached_run("k1").await.expect("cache"), None);
        assert!(store
            .list_runs(None, Page::default())
            .await
            .expect("list")
            .is_empty());
        store.drop_database().await.expect("drop");
    }

    #[tokio::test]
    async fn list_runs_order_and_owner() {
        let (store, clock) = store().await;
        let now = clock.now_ms();
        for (id, owner, at) in [("x1", "a", now), ("x2", "b", now), ("x0", "a", now + 1)] {
            store.create_run(&run(id, owner, at)).await.expect("create");
        }
        let ids = |v: Vec<RunRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        let all = store.list_runs(None, Page::default()).await.expect("list");
        assert_eq!(ids(all), ["x0", "x2", "x1"]);
        let mine = store
            .list_runs(
                Some("a"),
                Page {
                    offset: 1,
                    limit: 5,
                },
            )
            .await
            .expect("list");
        assert_eq!(ids(mine), ["x1"]);
        store.drop_database().await.expect("drop");
    }

    #[tokio::test]
    async fn users_and_versions() {
        let (store, _clock) = store().await;
        store.migrate().await.expect("migrate");
        store.create_user(&user("b@x", 1)).await.expect("create");
        store.create_user(&user("a@x", 1)).await.expect("create");
        assert_eq!(
            store.create_user(&user("a@x", 1)).await,
            Err(StoreError::Duplicate {
                what: "user a@x".into()
            })
        );
        let emails: Vec<String> = store
            .list_users()
            .await
            .expect("list")
            .into_iter()
            .map(|u| u.email)
            .collect();
        assert_eq!(emails, ["a@x", "b@x"]);

        let mut changed = user("a@x", 99);
        changed.disabled = true;
        store
            .update_user_if_version(&changed, 1)
            .await
            .expect("update");
        let stored = store.get_user("a@x").await.expect("get").expect("a");
        assert!(stored.disabled);
        assert_eq!(stored.version, 2);
        assert_eq!(
            store.update_user_if_version(&changed, 1).await,
            Err(StoreError::VersionConflict {
                expected: Some(1),
                found: Some(2)
            })
        );
        assert_eq!(
            store.update_user_if_version(&user("nobody@x", 1), 1).await,
            Err(StoreError::VersionConflict {
                expected: Some(1),
                found: None
            })
        );
        assert_eq!(
            store.update_user_if_version(&changed, u64::MAX).await,
            Err(StoreError::VersionConflict {
                expected: Some(u64::MAX),
                found: Some(2)
            })
        );
        assert_eq!(store.get_user("nobody@x").await.expect("get"), None);
        store.drop_database().await.expect("drop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn versioned_settings_are_optimistic() {
        let (store, _clock) = store().await;
        assert_eq!(store.get_flags().await.expect("get"), None);
        assert_eq!(
            store.bump_flags_if_version(1, &json!({})).await,
            Err(StoreError::VersionConflict {
                expected: Some(1),
                found: None
            })
        );
        assert_eq!(
            store
                .put_versioned_if("flags", None, &json!({"a": true}))
                .await,
            Ok(1)
        );
        assert_eq!(
            store.put_versioned_if("flags", None, &json!({})).await,
            Err(StoreError::VersionConflict {
                expected: None,
                found: Some(1)
            })
        );
        assert_eq!(
            store.bump_flags_if_version(1, &json!({"a": false})).await,
            Ok(2)
        );
        assert_eq!(
            store.get_flags().await.expect("get"),
            Some(Versioned {
                version: 2,
                value: json!({"a": false})
            })
        );

        // Ten writers expecting the same version: exactly one wins.
        let mut tasks = Vec::new();
        for i in 0..10 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.bump_flags_if_version(2, &json!({"writer": i})).await
            }));
        }
        let mut wins = 0;
        for t in tasks {
            match t.await.expect("join") {
                Ok(3) => wins += 1,
                Err(StoreError::VersionConflict {
                    expected: Some(2),
                    found: Some(3),
                }) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(wins, 1);

        assert_eq!(
            store
                .put_versioned_if("canary", None, &json!({"stage": 1}))
                .await,
            Ok(1)
        );
        assert_eq!(
            store.get_canary().await.expect("get").map(|v| v.version),
            Some(1)
        );
        assert!(store.delete_versioned("canary").await.expect("delete"));
        assert!(!store
            .delete_versioned("canary")
            .await
            .expect("delete again"));
        store.drop_database().await.expect("drop");
    }

    #[tokio::test]
    async fn audit_and_monitors() {
        let (store, clock) = store().await;
        let now = clock.now_ms();
        for (id, when) in [("a1", now - 10), ("a3", now), ("a2", now)] {
            store
                .append_audit(&AuditRow {
                    audit_id: id.into(),
                    actor: "system".into(),
                    when,
                    action: "flags.update".into(),
                    route: "/api/flags".into(),
                    request_id: "req".into(),
                    old: json!(null),
                    new: json!({"x": 1}),
                    version_before: Some(1),
                    version_after: Some(u64::from(u32::MAX) + 7),
                    conditional: Some(false),
                })
                .await
                .expect("append");
        }
        let rows = store.list_audit(Page::default()).await.expect("list");
        let ids: Vec<&str> = rows.iter().map(|r| r.audit_id.as_str()).collect();
        assert_eq!(ids, ["a3", "a2", "a1"]);
        assert_eq!(rows[0].version_after, Some(u64::from(u32::MAX) + 7));
        assert!(matches!(
            store.append_audit(&rows[0]).await,
            Err(StoreError::Duplicate { .. })
        ));

        let mut monitor = MonitorConfig {
            id: "m1".into(),
            interval_s: 60,
            actions: vec!["validate".into(), "run".into()],
            alert_threshold: json!({"latency_ms": 500}),
            updated_at: now,
        };
        store.save_monitor(&monitor).await.expect("save");
        monitor.interval_s = 300;
        store.save_monitor(&monitor).await.expect("replace");
        assert_eq!(store.get_monitor("m1").await.expect("get"), Some(monitor));
        assert_eq!(store.get_monitor("m2").await.expect("get"), None);
        for i in 0..5 {
            store
                .record_monitor_result(&MonitorResult {
                    id: format!("mr{i}"),
                    monitor_id: if i == 4 { "m2".into() } else { "m1".into() },
                    at: now + i,
                    action: "validate".into(),
                    ok: i % 2 == 0,
                    latency_ms: 12.5,
                    error: None,
                })
                .await
                .expect("record");
        }
        let latest = store.list_monitor_results("m1", 2).await.expect("list");
        let ids: Vec<&str> = latest.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["mr3", "mr2"]);

        clock.advance(31 * DAY);
        assert!(store
            .list_monitor_results("m1", 10)
            .await
            .expect("list")
            .is_empty());
        assert_eq!(
            store.list_audit(Page::default()).await.expect("list").len(),
            3
        );
        clock.advance(365 * DAY);
        assert!(store
            .list_audit(Page::default())
            .await
            .expect("list")
            .is_empty());
        store.drop_database().await.expect("drop");
    }

    #[tokio::test]
    async fn migrate_is_idempotent_and_follows_retention() {
        let (store, clock) = store().await;
        let before = store.check_schema().await.expect("check");
        assert!(before.iter().all(|c| !c.ok), "{before:?}");
        let created = store.migrate().await.expect("migrate");
        assert_eq!(created.len(), 14, "{created:?}");
        assert_eq!(store.migrate().await.expect("again"), Vec::<String>::new());
        let checks = store.check_schema().await.expect("check");
        assert_eq!(checks.len(), 14);
        assert!(checks.iter().all(|c| c.ok), "{checks:?}");
        let runs_ttl = checks
            .iter()
            .find(|c| c.collection == "runs" && c.name == TTL_INDEX)
            .expect("runs TTL");
        assert!(runs_ttl.details.contains("2592000"), "{}", runs_ttl.details);

        // A changed retention is applied with collMod.
        let shorter = StoreSettings {
            mongodb_db: store.database_name().to_owned(),
            retention_days: 7,
            ..StoreSettings::default()
        };
        let other = MongoStore::connect(&uri(), &shorter, clock.clone())
            .await
            .expect("connect");
        let stale = other.check_schema().await.expect("check");
        let bad: Vec<_> = stale
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.collection.as_str())
            .collect();
        assert_eq!(
            bad,
            ["projects", "runs", "results", "monitor_results"],
            "{stale:?}"
        );
        let changed = other.migrate().await.expect("migrate");
        assert_eq!(changed.len(), 4, "{changed:?}");
        assert!(
            changed.iter().all(|c| c.contains("2592000 -> 604800")),
            "{changed:?}"
        );
        assert!(other
            .check_schema()
            .await
            .expect("check")
            .iter()
            .all(|c| c.ok));
        assert!(other.migrate().await.expect("again").is_empty());

        // The unique email index holds even apart from _id.
        other.create_user(&user("u@x", 1)).await.expect("create");
        let err = other
            .users
            .insert_one(doc! { "_id": "other", "email": "u@x" })
            .await
            .map_err(driver_error)
            .expect_err("unique email");
        assert!(matches!(err, StoreError::Duplicate { .. }), "{err:?}");
        store.drop_database().await.expect("drop");
    }

    #[tokio::test]
    async fn migrate_repairs_indexes_that_differ() {
        let (store, _clock) = store().await;
        let create =
            |coll: &str, index: Document| doc! { "createIndexes": coll, "indexes": [index] };
        // Not unique, and a TTL that should not be one: both recreated.
        for cmd in [
            create(USERS, doc! { "key": { "email": 1 }, "name": "email_1" }),
            create(
                RUNS,
                doc! { "key": { "status": 1, "lease_until": 1 }, "name": "claims", "expireAfterSeconds": 5 },
            ),
            // Our name on other keys: dropped, then created right.
            create(AUDIT, doc! { "key": { "actor": 1 }, "name": "when_-1" }),
        ] {
            store
                .command("create_index", cmd)
                .await
                .expect("in time")
                .expect("created");
        }
        let before = store.check_schema().await.expect("check");
        let users = before
            .iter()
            .find(|c| c.collection == USERS)
            .expect("users");
        assert!(
            !users.ok && users.details.contains("expected unique"),
            "{users:?}"
        );
        let changes = store.migrate().await.expect("migrate");
        for expected in [
            "users: recreated index email_1",
            "runs: recreated index status_1_lease_until_1",
            "audit: dropped index when_-1",
        ] {
            assert!(
                changes.iter().any(|c| c.starts_with(expected)),
                "{expected}: {changes:?}"
            );
        }
        assert!(store
            .check_schema()
            .await
            .expect("check")
            .iter()
            .all(|c| c.ok));
        assert!(store.migrate().await.expect("again").is_empty());
        store.drop_database().await.expect("drop");
    }

    #[tokio::test]
    async fn undecodable_documents_are_corrupt() {
        let (store, clock) = store().await;
        store
            .runs
            .insert_one(doc! { "_id": "bad", "status": 5, "created_at": clock.now_ms() })
            .await
            .expect("insert");
        let err = store.get_run("bad").await.expect_err("corrupt");
        assert!(
            matches!(
                err,
                StoreError::Corrupt {
                    store: "mongodb",
                    ..
                }
            ),
            "{err:?}"
        );
        let err = store
            .list_runs(None, Page::default())
            .await
            .expect_err("corrupt");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        store
            .settings
            .insert_one(doc! { "_id": "flags", "version": "one", "value": {} })
            .await
            .expect("insert");
        assert!(matches!(
            store.get_flags().await,
            Err(StoreError::Corrupt { .. })
        ));
        store.drop_database().await.expect("drop");
    }

    #[tokio::test]
    async fn stored_documents_carry_ttl_dates() {
        let (store, clock) = store().await;
        let now = clock.now_ms();
        store
            .save_project(&project("p", "o", now))
            .await
            .expect("save");
        let raw = store
            .projects
            .find_one(doc! { "_id": "p" })
            .await
            .expect("find")
            .expect("present");
        assert_eq!(
            raw.get_datetime(TTL_FIELD).ok(),
            Some(&DateTime::from_millis(now))
        );
        assert_eq!(raw.get_i64("created_at").ok(), Some(now));
        store.drop_database().await.expect("drop");
    }
}
