//! A `phase1 serve` process: started with a clean environment, ready once it prints its
//! listening line, killed (SIGKILL) and reaped when dropped.

use super::cli::phase1_bin;
use super::store::Store;
use super::{ADMIN_TOKEN, BUILD_ID, COMMIT_SHA, ENCRYPTION_KEY, SECRET_KEY};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a server may take to start (MongoDB index creation included).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The line `phase1 serve` prints on stderr when it accepts connections.
const READY_PREFIX: &str = "phase1 listening on http://";
/// Stderr lines kept (for failure messages, and for the tests that read the whole log).
const LOG_LINES: usize = 200_000;

/// A running `phase1 serve`.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The port it listens on.
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    /// Keeps the stores (and the embedded file's directory) alive while the server runs.
    _store: Store,
}

/// A free loopback port (bound, then released, so a server can take it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Server {
    /// Starts a server on a free port over `store`, with `overrides` added to its
    /// environment.
    pub fn start(store: &Store, overrides: &[(&str, &str)]) -> Server {
        Server::start_on(store, 0, overrides)
    }

    /// Starts a server on `port` (0: a free one) over `store`, with `overrides`.
    pub fn start_on(store: &Store, port: u16, overrides: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(phase1_bin());
        cmd.args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .env_clear()
            .envs(base_env())
            .envs(store.vars().iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .envs(overrides.iter().copied())
            .current_dir(store.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // Working on the web UI: the servers serve the files being edited.
        if let Ok(dir) = std::env::var("PHASE1_PUBLIC_DIR") {
            cmd.env("PHASE1_PUBLIC_DIR", dir);
        }
        let mut child = cmd.spawn().expect("phase1 serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || read_stderr(stderr, &sink, &ready_tx));
        let mut server = Server {
            child: Some(child),
            base: String::new(),
            port: 0,
            log,
            _store: store.clone(),
        };
        match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => {
                server.port = addr
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or_else(|| panic!("no port in the listening line {addr:?}"));
                server.base = format!("http://{addr}");
            }
            Err(e) => {
                let status = server.child.as_mut().and_then(|c| c.try_wait().ok());
                panic!(
                    "phase1 serve did not become ready ({e}; exit status {status:?}); its \
                     stderr:\n{}",
                    server.log()
                );
            }
        }
        server
    }

    /// Runs `phase1 serve` over `store` with `overrides` and expects it to refuse to start:
    /// returns its exit code and stderr.
    pub fn refuses(store: &Store, overrides: &[(&str, &str)]) -> (Option<i32>, String) {
        let mut cmd = Command::new(phase1_bin());
        cmd.args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .env_clear()
            .envs(base_env())
            .envs(store.vars().iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(store.dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in overrides {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let mut child = cmd.spawn().expect("phase1 serve starts");
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        while child.try_wait().ok().flatten().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("phase1 serve did not refuse to start within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = child.wait_with_output().expect("its output");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// A private Redis, and a server whose key-value store it is (the embedded file holds the
    /// documents), with short store timeouts: for tests that stop Redis under the app.
    pub fn over_private_redis() -> (super::redis_server::RedisServer, Server) {
        let redis = super::redis_server::RedisServer::start();
        let store = Store::embedded_with_redis(&redis.url());
        let server = Server::start(
            &store,
            &[
                ("PHASE1_STORE_CONNECT_TIMEOUT_MS", "500"),
                ("PHASE1_STORE_OP_TIMEOUT_MS", "500"),
            ],
        );
        (redis, server)
    }

    /// Kills the process at once (SIGKILL), as a crash would, and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's recent stderr lines.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The environment every test server gets before the store's and the test's variables.
pub fn base_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("APP_ENV", "dev"),
        ("PHASE1_ADMIN_TOKEN", ADMIN_TOKEN),
        ("SECRET_KEY", SECRET_KEY),
        ("PHASE1_ENCRYPTION_KEY", ENCRYPTION_KEY),
        ("COMMIT_SHA", COMMIT_SHA),
        ("BUILD_ID", BUILD_ID),
        ("PHASE1_STORE_CONNECT_TIMEOUT_MS", "2000"),
        ("PHASE1_STORE_OP_TIMEOUT_MS", "5000"),
    ]
}

/// Reads the server's stderr to its end: keeps the last lines, and reports the listening
/// address once. Reading on keeps the pipe from filling up and blocking the server.
fn read_stderr(
    stderr: std::process::ChildStderr,
    log: &Mutex<Vec<String>>,
    ready: &mpsc::Sender<String>,
) {
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if let Some(addr) = line.trim().strip_prefix(READY_PREFIX) {
            let _ = ready.send(addr.trim_end_matches('/').to_string());
        }
        if let Ok(mut l) = log.lock() {
            if l.len() == LOG_LINES {
                l.remove(0);
            }
            l.push(line);
        }
    }
}
