//! The storage layer: two small traits speaking the domain — [`DocStore`] (durable
//! documents) and [`KvStore`] (shared, expiring state) — with a real implementation per
//! backend: MongoDB, Redis, and an embedded single-file store for local use.
//!
//! [`Stores::open`] picks the backends from [`StoreSettings`]: MongoDB when `MONGODB_URI`
//! is set, Redis when `REDIS_URL` is set, the embedded file otherwise (refused in prod).
//!
//! Every operation of every backend reports its duration to [`slow`], which keeps the calls
//! over a threshold.

pub mod doc;
pub mod embedded;
pub mod error;
pub mod kv;
pub mod model;
pub mod mongo;
pub mod redis;
/// Slow store calls: a bounded, process-wide record of the operations over a threshold.
pub mod slow;

pub use doc::DocStore;
pub use error::StoreError;
pub use kv::{KvStore, MetricBuckets};

use crate::clock::SharedClock;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Everything the stores need to know, from the environment (see [`crate::config`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StoreSettings {
    /// `MONGODB_URI`: the document store; None for the embedded store.
    pub mongodb_uri: Option<String>,
    /// `MONGODB_DB`: the database name.
    pub mongodb_db: String,
    /// `REDIS_URL` (`redis://` or `rediss://`): the key-value store; None for embedded.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, per environment (e.g. `phase1:prod:`).
    pub key_prefix: String,
    /// `PHASE1_EMBEDDED_PATH`: the embedded store's file.
    pub embedded_path: PathBuf,
    /// `PHASE1_RETENTION_DAYS`: runs, results and projects expire after this.
    pub retention_days: u32,
    /// Audit rows expire after this many days.
    pub audit_retention_days: u32,
    /// `PHASE1_STORE_CONNECT_TIMEOUT_MS`.
    pub connect_timeout: Duration,
    /// `PHASE1_STORE_OP_TIMEOUT_MS`.
    pub op_timeout: Duration,
}

impl Default for StoreSettings {
    fn default() -> StoreSettings {
        StoreSettings {
            mongodb_uri: None,
            mongodb_db: "phase1".into(),
            redis_url: None,
            key_prefix: "phase1:dev:".into(),
            embedded_path: PathBuf::from(".phase1/phase1.redb"),
            retention_days: 30,
            audit_retention_days: 365,
            connect_timeout: Duration::from_secs(2),
            op_timeout: Duration::from_secs(5),
        }
    }
}

impl StoreSettings {
    /// Retention of runs, results and projects in milliseconds.
    pub fn retention_ms(&self) -> i64 {
        i64::from(self.retention_days) * 86_400_000
    }

    /// Retention of audit rows in milliseconds.
    pub fn audit_retention_ms(&self) -> i64 {
        i64::from(self.audit_retention_days) * 86_400_000
    }
}

/// The two stores an app instance uses.
#[derive(Clone)]
pub struct Stores {
    /// The document store.
    pub doc: Arc<dyn DocStore>,
    /// The key-value store.
    pub kv: Arc<dyn KvStore>,
}

impl Stores {
    /// Opens the configured stores: MongoDB and Redis when their URLs are set, else the
    /// embedded file (one file serves whichever of the two is not configured).
    pub async fn open(settings: &StoreSettings, clock: SharedClock) -> Result<Stores, StoreError> {
        let embedded = if settings.mongodb_uri.is_none() || settings.redis_url.is_none() {
            Some(Arc::new(
                embedded::Embedded::open(settings, clock.clone()).await?,
            ))
        } else {
            None
        };
        let doc: Arc<dyn DocStore> = match (&settings.mongodb_uri, &embedded) {
            (Some(uri), _) => {
                Arc::new(mongo::MongoStore::connect(uri, settings, clock.clone()).await?)
            }
            (None, Some(e)) => e.clone(),
            (None, None) => unreachable!("the embedded store is opened when MongoDB is not set"),
        };
        let kv: Arc<dyn KvStore> = match (&settings.redis_url, &embedded) {
            (Some(url), _) => Arc::new(redis::RedisStore::connect(url, settings, clock).await?),
            (None, Some(e)) => e.clone(),
            (None, None) => unreachable!("the embedded store is opened when Redis is not set"),
        };
        Ok(Stores { doc, kv })
    }
}
