//! Test backends: a fresh, isolated store of each kind, on a manual clock.
//!
//! MongoDB and Redis come from `MONGODB_URI` and `REDIS_URL` (scripts/test.sh starts real
//! servers and exports them). They are never skipped: without them these tests fail and say
//! how to run them.

use phase1_app::clock::{ManualClock, SharedClock};
use phase1_app::store::embedded::Embedded;
use phase1_app::store::mongo::MongoStore;
use phase1_app::store::redis::RedisStore;
use phase1_app::store::{DocStore, KvStore, StoreSettings};
use std::sync::Arc;
use std::time::Duration;

/// A fixed, realistic start time (2026-11-01T00:00:00Z) for the manual clock.
pub const T0: i64 = 1_793_491_200_000;

/// One isolated store and its clock; cleans up after itself when asked.
pub struct Fixture<S: ?Sized> {
    /// The store under test.
    pub store: Arc<S>,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    cleanup: Option<Box<dyn FnOnce() -> futures_util::future::BoxFuture<'static, ()> + Send>>,
    _dir: Option<tempfile::TempDir>,
}

impl<S: ?Sized> Fixture<S> {
    /// Removes what the test stored (database or key prefix).
    pub async fn finish(mut self) {
        if let Some(c) = self.cleanup.take() {
            c().await;
        }
    }
}

fn settings() -> StoreSettings {
    StoreSettings {
        connect_timeout: Duration::from_secs(2),
        op_timeout: Duration::from_secs(5),
        ..StoreSettings::default()
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run the store tests through scripts/test.sh, which starts the servers")
    })
}

/// A real clock starting at real now, so server-side housekeeping TTLs agree with it.
fn clock_now() -> Arc<ManualClock> {
    ManualClock::new(phase1_app::clock::system().now_ms())
}

/// A fresh embedded store in a temporary directory.
pub async fn embedded() -> Fixture<Embedded> {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(T0);
    let shared: SharedClock = clock.clone();
    let store = Embedded::open_at(&dir.path().join("store.redb"), &settings(), shared)
        .await
        .expect("embedded store opens");
    Fixture {
        store: Arc::new(store),
        clock,
        cleanup: None,
        _dir: Some(dir),
    }
}

/// A fresh MongoDB database.
pub async fn mongo() -> Fixture<MongoStore> {
    let mut s = settings();
    s.mongodb_uri = Some(required("MONGODB_URI"));
    s.mongodb_db = unique("phase1_test_");
    let clock = clock_now();
    let shared: SharedClock = clock.clone();
    let store = Arc::new(
        MongoStore::connect(s.mongodb_uri.as_deref().unwrap_or_default(), &s, shared)
            .await
            .expect("mongodb connects"),
    );
    store.migrate().await.expect("migrate");
    let s2 = store.clone();
    Fixture {
        store,
        clock,
        cleanup: Some(Box::new(move || {
            Box::pin(async move {
                let _ = s2.drop_database().await;
            })
        })),
        _dir: None,
    }
}

/// A fresh Redis key prefix.
pub async fn redis() -> Fixture<RedisStore> {
    let mut s = settings();
    s.key_prefix = unique("phase1:test:") + ":";
    let url = required("REDIS_URL");
    let clock = clock_now();
    let shared: SharedClock = clock.clone();
    let store = Arc::new(
        RedisStore::connect(&url, &s, shared)
            .await
            .expect("redis connects"),
    );
    let s2 = store.clone();
    Fixture {
        store,
        clock,
        cleanup: Some(Box::new(move || {
            Box::pin(async move {
                let _ = s2.clear_prefix().await;
            })
        })),
        _dir: None,
    }
}

/// Type-erased fixtures for the shared cases.
pub async fn doc_fixture(
    kind: &str,
) -> (Arc<dyn DocStore>, Arc<ManualClock>, Fixture<dyn DocStore>) {
    let f: Fixture<dyn DocStore> = match kind {
        "embedded" => {
            let f = embedded().await;
            Fixture {
                store: f.store,
                clock: f.clock,
                cleanup: f.cleanup,
                _dir: f._dir,
            }
        }
        _ => {
            let f = mongo().await;
            Fixture {
                store: f.store,
                clock: f.clock,
                cleanup: f.cleanup,
                _dir: f._dir,
            }
        }
    };
    (f.store.clone(), f.clock.clone(), f)
}

/// Type-erased fixtures for the shared key-value cases.
pub async fn kv_fixture(kind: &str) -> (Arc<dyn KvStore>, Arc<ManualClock>, Fixture<dyn KvStore>) {
    let f: Fixture<dyn KvStore> = match kind {
        "embedded" => {
            let f = embedded().await;
            Fixture {
                store: f.store,
                clock: f.clock,
                cleanup: f.cleanup,
                _dir: f._dir,
            }
        }
        _ => {
            let f = redis().await;
            Fixture {
                store: f.store,
                clock: f.clock,
                cleanup: f.cleanup,
                _dir: f._dir,
            }
        }
    };
    (f.store.clone(), f.clock.clone(), f)
}
