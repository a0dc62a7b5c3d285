//! The stores a test server runs on: the embedded file (a fresh temporary directory), or
//! the real MongoDB and Redis that `scripts/test.sh` starts, isolated by a unique database
//! and key prefix and removed again when the last server using them is gone.

use std::sync::Arc;
use std::time::Duration;

/// Which stores a server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded file store: no `MONGODB_URI`, no `REDIS_URL`.
    Embedded,
    /// MongoDB and Redis from `MONGODB_URI` and `REDIS_URL`.
    Real,
}

/// A set of stores that one or more servers share (so a second server can take over the
/// first one's state). Cheap to clone; cleans up when the last clone drops.
#[derive(Clone)]
pub struct Store(Arc<Inner>);

struct Inner {
    vars: Vec<(String, String)>,
    dir: tempfile::TempDir,
    real: Option<RealNames>,
}

/// Where a real-backend test's data lives.
struct RealNames {
    mongodb_uri: String,
    mongodb_db: String,
    redis_url: String,
    key_prefix: String,
}

/// An environment variable the real-backend tests need; failing (never skipping) without it.
fn required(var: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => v,
        _ => panic!(
            "{var} is not set: the real-backend black-box tests need MongoDB and Redis; run \
             them through scripts/test.sh, which starts both and exports MONGODB_URI and \
             REDIS_URL"
        ),
    }
}

impl Store {
    /// Fresh, empty stores of `backend`.
    pub fn new(backend: Backend) -> Store {
        Store::with_vars(backend, Vec::new())
    }

    /// The embedded document store, and a Redis key-value store at `redis_url`.
    pub fn embedded_with_redis(redis_url: &str) -> Store {
        let prefix = format!("p1bb:{}:", uuid::Uuid::new_v4().simple());
        Store::with_vars(
            Backend::Embedded,
            vec![
                ("REDIS_URL".to_string(), redis_url.to_string()),
                ("PHASE1_KEY_PREFIX".to_string(), prefix),
            ],
        )
    }

    /// Fresh stores of `backend`, plus `extra` variables.
    fn with_vars(backend: Backend, extra: Vec<(String, String)>) -> Store {
        let dir = tempfile::Builder::new()
            .prefix("phase1-blackbox-")
            .tempdir()
            .expect("a temporary directory");
        let embedded = dir.path().join("phase1.redb");
        let mut vars = vec![(
            "PHASE1_EMBEDDED_PATH".to_string(),
            embedded.display().to_string(),
        )];
        let real = (backend == Backend::Real).then(|| {
            let id = uuid::Uuid::new_v4().simple().to_string();
            RealNames {
                mongodb_uri: required("MONGODB_URI"),
                mongodb_db: format!("p1bb_{id}"),
                redis_url: required("REDIS_URL"),
                key_prefix: format!("p1bb:{id}:"),
            }
        });
        if let Some(r) = &real {
            vars.extend([
                ("MONGODB_URI".to_string(), r.mongodb_uri.clone()),
                ("MONGODB_DB".to_string(), r.mongodb_db.clone()),
                ("REDIS_URL".to_string(), r.redis_url.clone()),
                ("PHASE1_KEY_PREFIX".to_string(), r.key_prefix.clone()),
            ]);
        }
        vars.extend(extra);
        Store(Arc::new(Inner { vars, dir, real }))
    }

    /// The environment variables that point a server at these stores.
    pub fn vars(&self) -> &[(String, String)] {
        &self.0.vars
    }

    /// A scratch directory that lives as long as the stores.
    pub fn dir(&self) -> &std::path::Path {
        self.0.dir.path()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(names) = self.real.take() {
            // A runtime of its own, on a thread of its own: this may run inside a test's
            // runtime, where blocking on another one is refused.
            let done = std::thread::spawn(move || remove_real(&names)).join();
            if let Ok(Err(e)) = done {
                eprintln!("blackbox: could not remove the test's real-store data: {e}");
            }
        }
    }
}

/// Drops the test's MongoDB database and deletes its Redis keys.
fn remove_real(names: &RealNames) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let limit = Duration::from_secs(10);
        let mongo = async {
            let client = mongodb::Client::with_uri_str(&names.mongodb_uri)
                .await
                .map_err(|e| format!("MongoDB: {e}"))?;
            client
                .database(&names.mongodb_db)
                .drop()
                .await
                .map_err(|e| format!("MongoDB: {e}"))
        };
        tokio::time::timeout(limit, mongo)
            .await
            .map_err(|_| "MongoDB: timed out".to_string())??;
        tokio::time::timeout(limit, delete_prefix(&names.redis_url, &names.key_prefix))
            .await
            .map_err(|_| "Redis: timed out".to_string())?
    })
}

/// Deletes every Redis key under `prefix`.
async fn delete_prefix(url: &str, prefix: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| format!("Redis: {e}"))?;
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| format!("Redis: {e}"))?;
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(500)
            .query_async(&mut con)
            .await
            .map_err(|e| format!("Redis: {e}"))?;
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut con)
                .await
                .map_err(|e| format!("Redis: {e}"))?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}
