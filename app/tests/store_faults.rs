//! Fault tests: a store server stopped in the middle of a test. The typed
//! `StoreError::Unavailable` must come back within the timeouts, and nothing half-written
//! may remain. Each test starts its own server (the binaries scripts/services.sh installs:
//! `REDIS_SERVER_BIN`, `SECANTUSD_BIN`), so stopping it disturbs no other test.

use phase1_app::clock::{self, SharedClock};
use phase1_app::store::model::{RunRecord, RunStatus};
use phase1_app::store::mongo::MongoStore;
use phase1_app::store::redis::RedisStore;
use phase1_app::store::{DocStore, KvStore, StoreError, StoreSettings};
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn binary(var: &str, fallback: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        if Command::new(fallback).arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok() {
            fallback.to_string()
        } else {
            panic!("{var} is not set and {fallback} is not on PATH: run the tests through scripts/test.sh")
        }
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn settings() -> StoreSettings {
    StoreSettings {
        connect_timeout: Duration::from_millis(500),
        op_timeout: Duration::from_secs(1),
        key_prefix: "phase1:fault:".into(),
        mongodb_db: "phase1_fault".into(),
        ..StoreSettings::default()
    }
}

/// The longest a failing call may take: connect + operation timeouts, plus slack for a
/// loaded machine.
const DEADLINE: Duration = Duration::from_secs(4);

fn start_redis(port: u16, dir: &std::path::Path) -> Server {
    let child = Command::new(binary("REDIS_SERVER_BIN", "redis-server"))
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    Server(child)
}

fn start_secantus(port: u16, dir: &std::path::Path) -> Server {
    let child = Command::new(binary("SECANTUSD_BIN", "secantusd-py"))
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--log-level",
            "ERROR",
            "--storage-path",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("SecantusDB starts");
    Server(child)
}

async fn until_ok<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what} did not come up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn assert_unavailable<T: std::fmt::Debug>(r: Result<T, StoreError>, started: Instant, store: &str) {
    let elapsed = started.elapsed();
    match r {
        Err(StoreError::Unavailable { store: s, .. }) => assert_eq!(s, store),
        other => panic!("expected {store} unavailable, got {other:?}"),
    }
    assert!(
        elapsed < DEADLINE,
        "the error took {elapsed:?}, over {DEADLINE:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_test_gives_a_typed_error_in_time() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let server = start_redis(port, dir.path());
    let url = format!("redis://127.0.0.1:{port}");
    let clock: SharedClock = clock::system();
    let started = Instant::now();
    let store = loop {
        if let Ok(s) = RedisStore::connect(&url, &settings(), clock.clone()).await {
            if s.ping().await.is_ok() {
                break s;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "redis-server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(store
        .use_once("fault", "a", Duration::from_secs(60))
        .await
        .expect("works while up"));
    drop(server);
    let started = Instant::now();
    assert_unavailable(
        store
            .count_attempt("fault", "b", Duration::from_secs(60))
            .await,
        started,
        "redis",
    );
    let started = Instant::now();
    assert_unavailable(store.ping().await, started, "redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_stopped_mid_run_leaves_no_half_written_run() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let mut server = Some(start_secantus(port, dir.path()));
    let uri = format!("mongodb://127.0.0.1:{port}/?directConnection=true");
    let store = MongoStore::connect(&uri, &settings(), clock::system())
        .await
        .expect("client");
    until_ok("SecantusDB", || async { store.ping().await.is_ok() }).await;
    store.migrate().await.expect("migrate");
    let now = clock::system().now_ms();
    let run = RunRecord {
        id: "fault-run".into(),
        owner: "a@x.io".into(),
        project_id: None,
        status: RunStatus::Queued,
        progress_pct: 0.0,
        cardinality: 10,
        created_at: now,
        finished_at: None,
        request: json!({}),
        cache_key: None,
        attempts: 0,
        worker: None,
        lease_until: None,
        error: None,
    };
    store.create_run(&run).await.expect("create");
    store
        .claim_run("w1", now, 60_000, 3)
        .await
        .expect("claim")
        .expect("claimed");

    server.take();
    let started = Instant::now();
    assert_unavailable(
        store
            .finish_run("fault-run", Some("w1"), &json!({"top": [1]}), now + 1)
            .await,
        started,
        "mongodb",
    );

    let _server = start_secantus(port, dir.path());
    until_ok("SecantusDB after restart", || async {
        store.ping().await.is_ok()
    })
    .await;
    let after = store
        .get_run("fault-run")
        .await
        .expect("read")
        .expect("run kept");
    assert_eq!(
        after.status,
        RunStatus::Running,
        "the run is as it was before the failed finish"
    );
    assert!(
        store.get_result("fault-run").await.expect("read").is_none(),
        "no result without a done run"
    );
    assert!(store
        .finish_run("fault-run", Some("w1"), &json!({"top": [1]}), now + 2)
        .await
        .expect("finish"));
    assert_eq!(
        store.get_result("fault-run").await.expect("read"),
        Some(json!({"top": [1]}))
    );
    let _ = store.drop_database().await;
}
