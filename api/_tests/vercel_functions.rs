//! The Vercel functions, each started the way `vercel dev` starts it: its own binary, listening
//! on the loopback port named by `VERCEL_DEV_PORT`, with a dev configuration over an embedded
//! store in a temporary directory. Each test checks that one function answers its route
//! group (every function mounts the whole router; `vercel.json` routes a group to it).
//!
//! The environment is cleared for the child, so store URLs a surrounding script exported
//! (scripts/services.sh) never reach it.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

/// The ops token of these tests (a constant test string, not a secret).
const ADMIN_TOKEN: &str = "test-admin-token";

/// A running function, killed when dropped.
struct Function {
    child: Child,
    base: String,
    http: reqwest::Client,
    /// Messages the function sent over its Vercel IPC socket, when it has one.
    ipc: Option<UnboundedReceiver<Value>>,
    _dir: tempfile::TempDir,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// Starts `exe` on `port` with a dev configuration (plus `extra` variables); stderr goes to a
/// file in `dir`.
fn spawn(exe: &str, port: u16, dir: &Path, extra: &[(&str, &str)]) -> Child {
    let stderr = std::fs::File::create(dir.join("stderr.log")).expect("stderr log");
    let mut cmd = Command::new(exe);
    cmd.env_clear()
        .env("VERCEL_DEV_PORT", port.to_string())
        .env("APP_ENV", "dev")
        .env("PHASE1_EMBEDDED_PATH", dir.join("phase1.redb"))
        .env("PHASE1_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("COMMIT_SHA", "test-commit")
        .env("BUILD_ID", "test-build")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start the function binary")
}

/// Starts a function and waits until it answers Vercel's ping; retries on another port when
/// the one picked was taken in between. With `ipc`, the function also gets a Vercel IPC socket
/// (`VERCEL_IPC_PATH`) whose messages the test receives.
async fn start(exe: &str, ipc: bool) -> Function {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let mut last = String::new();
    for _ in 0..3 {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let (socket, messages) = if ipc {
            let path = dir.path().join("ipc.sock");
            (Some(path.clone()), Some(listen_ipc(&path)))
        } else {
            (None, None)
        };
        let extra: Vec<(&str, &str)> = match &socket {
            Some(path) => vec![("VERCEL_IPC_PATH", path.to_str().expect("UTF-8 path"))],
            None => vec![],
        };
        let mut f = Function {
            child: spawn(exe, port, dir.path(), &extra),
            base: format!("http://127.0.0.1:{port}"),
            http: http.clone(),
            ipc: messages,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = f.child.try_wait() {
                last = format!(
                    "{exe} exited with {status}: {}",
                    std::fs::read_to_string(f._dir.path().join("stderr.log")).unwrap_or_default()
                );
                break;
            }
            let ping = f.http.get(format!("{}/_vercel/ping", f.base)).send().await;
            if ping.is_ok_and(|r| r.status() == 200) {
                return f;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if last.is_empty() {
            last = format!("{exe} did not answer on port {port} within 60 s");
        }
    }
    panic!("{last}");
}

/// Listens on a Unix socket as Vercel's function bridge does and forwards each message the
/// function sends (JSON, NUL-terminated) to the returned channel.
fn listen_ipc(path: &Path) -> UnboundedReceiver<Value> {
    let listener = UnixListener::bind(path).expect("bind the IPC socket");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        for message in BufReader::new(stream).split(0).map_while(Result::ok) {
            if let Ok(v) = serde_json::from_slice(&message) {
                if tx.send(v).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// A response: status, headers and the body as JSON (Null when it is not JSON).
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Function {
    /// Sends `method path` with an optional JSON body and extra headers.
    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        Reply {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// `call` as the ops user (`X-Admin-Token`, which outside prod also acts as an admin).
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, body, &[("x-admin-token", ADMIN_TOKEN)])
            .await
    }
}

/// Asserts a status, showing the body when it differs.
fn expect(r: &Reply, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
}

/// The london-dc-alpha fixture's project.
fn fixture_project() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/london-dc-alpha.json");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    doc["project"].clone()
}

#[tokio::test]
async fn health_function_answers_the_probes_and_documents() {
    let f = start(env!("CARGO_BIN_EXE_api-health"), false).await;

    let r = f.call("GET", "/healthz", None, &[]).await;
    expect(&r, 200, "GET /healthz");
    assert_eq!(r.body, json!({"status": "ok"}));
    assert!(r.headers.contains_key("x-request-id"), "no X-Request-ID");
    assert_eq!(r.headers["x-commit-sha"], "test-commit");
    assert_eq!(r.headers["x-build-id"], "test-build");

    let r = f
        .call(
            "GET",
            "/healthz",
            None,
            &[("x-request-id", "vercel-test-1")],
        )
        .await;
    assert_eq!(r.headers["x-request-id"], "vercel-test-1");

    for path in [
        "/readyz",
        "/api/phase1/health",
        "/api/phase1/version",
        "/api/phase1/route-list",
        "/api/phase1/openapi.json",
    ] {
        let r = f.call("GET", path, None, &[]).await;
        expect(&r, 200, path);
        assert!(r.body.is_object() || r.body.is_array(), "{path}: not JSON");
    }

    let r = f.call("GET", "/api/phase1/no-such-route", None, &[]).await;
    expect(&r, 404, "unknown path");
    assert_eq!(r.body["code"], "NOT_FOUND");
}

#[tokio::test]
async fn projects_function_validates_a_project() {
    let f = start(env!("CARGO_BIN_EXE_api-projects"), false).await;

    let body = json!({"project": fixture_project()});
    let r = f
        .admin("POST", "/api/phase1/projects/validate", Some(body.clone()))
        .await;
    expect(&r, 200, "validate");
    assert_eq!(r.body["valid"], true);
    assert!(r.body["derived"].is_object());
    assert!(r.headers.contains_key("x-request-id"));

    let r = f
        .call("POST", "/api/phase1/projects/validate", Some(body), &[])
        .await;
    expect(&r, 401, "validate without credentials");

    let r = f
        .admin("GET", "/api/phase1/permutations/presets", None)
        .await;
    expect(&r, 200, "presets");
}

#[tokio::test]
async fn run_function_runs_a_fixture_and_finishes_async_runs_within_the_invocation() {
    let mut f = start(env!("CARGO_BIN_EXE_api-run"), true).await;
    let mut ipc = f.ipc.take().expect("IPC messages");
    let started = tokio::time::timeout(Duration::from_secs(60), ipc.recv())
        .await
        .expect("no IPC start message")
        .expect("IPC closed");
    assert_eq!(started["type"], "server-started", "{started}");

    let r = f
        .admin(
            "POST",
            "/api/phase1/run",
            Some(json!({"fixture": "london-dc-alpha"})),
        )
        .await;
    expect(&r, 200, "run");
    assert_eq!(r.body["stats"]["evaluated"], 1920);

    // An async run is answered 202 and run by work started after the response through
    // wait_until: the function reports the invocation's end to the bridge only once that work
    // has settled, so by then the run is done.
    let r = f
        .call(
            "POST",
            "/api/phase1/run",
            Some(json!({"fixture": "large", "async": true})),
            &[
                ("x-admin-token", ADMIN_TOKEN),
                ("x-vercel-internal-invocation-id", "invocation-1"),
                ("x-vercel-internal-request-id", "7"),
            ],
        )
        .await;
    expect(&r, 202, "async run");
    let id = r.body["run_id"].as_str().expect("run_id").to_string();
    let end = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(m) = ipc.recv().await {
            if m["type"] == "end" {
                return m;
            }
        }
        panic!("IPC closed before the invocation ended");
    })
    .await
    .expect("the invocation did not end within 60 s");
    assert_eq!(end["payload"]["context"]["invocationId"], "invocation-1");
    assert_eq!(end["payload"]["context"]["requestId"], 7);

    let r = f
        .admin("GET", &format!("/api/phase1/runs/{id}"), None)
        .await;
    expect(&r, 200, "run status");
    assert_eq!(r.body["status"], "done", "{}", r.body);
    assert!(r.body["result"]["stats"]["evaluated"].as_u64() > Some(0));
}

#[tokio::test]
async fn runs_function_lists_runs() {
    let f = start(env!("CARGO_BIN_EXE_api-runs"), false).await;

    let r = f.admin("GET", "/api/phase1/runs", None).await;
    expect(&r, 200, "runs");
    assert!(r.body.is_object(), "runs: {}", r.body);

    let r = f.call("GET", "/api/phase1/runs", None, &[]).await;
    expect(&r, 401, "runs without credentials");
    assert_eq!(r.body["code"], "AUTH_REQUIRED");
}

#[tokio::test]
async fn only_the_documents_function_renders_term_sheets() {
    let f = start(env!("CARGO_BIN_EXE_api-documents"), false).await;
    let r = f
        .admin(
            "POST",
            "/api/phase1/run",
            Some(json!({"fixture": "london-dc-alpha"})),
        )
        .await;
    expect(&r, 200, "run");
    let id = r.body["run_id"].as_str().expect("run_id").to_string();
    let res = f
        .http
        .get(format!(
            "{}/api/phase1/runs/{id}/structures/1/term-sheet.pdf",
            f.base
        ))
        .header("x-admin-token", ADMIN_TOKEN)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        disposition,
        format!(
            "attachment; filename=\"london-dc-alpha-{}-rank1.pdf\"",
            &id[..8]
        )
    );
    assert!(res.bytes().await.unwrap().starts_with(b"%PDF-"));

    // Every other function mounts the same route but holds no renderer.
    let other = start(env!("CARGO_BIN_EXE_api-runs"), false).await;
    let r = other
        .admin(
            "POST",
            "/api/phase1/documents/term-sheet",
            Some(json!({"format": "md"})),
        )
        .await;
    expect(&r, 501, "term sheet outside the documents function");
    assert_eq!(r.body["code"], "NOT_SERVED_HERE");
}

#[tokio::test]
async fn rules_function_serves_the_ruleset() {
    let f = start(env!("CARGO_BIN_EXE_api-rules"), false).await;

    let r = f.admin("GET", "/api/phase1/rules", None).await;
    expect(&r, 200, "rules");
    assert!(r.body.is_object());
    assert!(r.headers.contains_key("x-ruleset-version"));
}

#[tokio::test]
async fn internal_function_refuses_unsigned_shards_and_runs_the_worker() {
    let f = start(env!("CARGO_BIN_EXE_api-internal"), false).await;

    let r = f
        .call(
            "POST",
            "/api/phase1/internal/shard",
            Some(json!({"start": 0, "end": 1})),
            &[],
        )
        .await;
    expect(&r, 401, "unsigned shard");
    assert_eq!(
        r.headers["content-type"], "application/problem+json",
        "problem JSON"
    );
    assert_eq!(r.body["status"], 401);
    assert!(r.body["code"].is_string());
    assert_eq!(
        r.body["request_id"].as_str(),
        r.headers["x-request-id"].to_str().ok()
    );

    let r = f.admin("GET", "/api/phase1/internal/worker", None).await;
    expect(&r, 200, "worker (ops)");
    assert_eq!(r.body["ran"], 0);

    let r = f
        .call("GET", "/api/phase1/internal/worker", None, &[])
        .await;
    expect(&r, 401, "worker without credentials");
}

#[tokio::test]
async fn a_bad_configuration_stops_the_function_with_the_variable_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = spawn(
        env!("CARGO_BIN_EXE_api-health"),
        free_port(),
        dir.path(),
        &[("APP_ENV", "staging"), ("PHASE1_SHARD_SIZE", "lots")],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the function started with a bad configuration");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success());
    let stderr = std::fs::read_to_string(dir.path().join("stderr.log")).expect("stderr");
    assert!(stderr.starts_with("api-health: "), "{stderr}");
    assert!(stderr.contains("APP_ENV"), "{stderr}");
    assert!(stderr.contains("PHASE1_SHARD_SIZE"), "{stderr}");
}

#[tokio::test]
async fn the_client_address_is_vercels_forwarded_for() {
    let f = start(env!("CARGO_BIN_EXE_api-health"), false).await;
    let remaining = |r: &Reply| {
        r.headers
            .get("x-ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let from = |ip: &'static str, spoof: &'static str| {
        [("x-vercel-forwarded-for", ip), ("x-forwarded-for", spoof)]
    };
    let mut seen = Vec::new();
    for (ip, spoof) in [
        ("203.0.113.1", "198.51.100.9"),
        ("203.0.113.1", "198.51.100.10"),
        ("203.0.113.2", "203.0.113.1"),
        ("203.0.113.1", "203.0.113.2"),
    ] {
        let r = f
            .call("GET", "/api/phase1/version", None, &from(ip, spoof))
            .await;
        expect(&r, 200, "version");
        seen.push(remaining(&r));
    }
    let want: Vec<Option<String>> = ["49", "48", "49", "47"]
        .iter()
        .map(|s| Some(s.to_string()))
        .collect();
    assert_eq!(
        seen, want,
        "counted per x-vercel-forwarded-for, not x-forwarded-for"
    );
}

/// M2 of the 2026-12-03 audit: four addresses of one IPv6 /64, as Vercel's edge forwards
/// them, each got a fresh sign-in budget. They share one now, and another /64 has its own.
#[tokio::test]
async fn ipv6_clients_share_the_budget_of_their_64() {
    let f = start(env!("CARGO_BIN_EXE_api-auth"), false).await;
    let mut statuses = Vec::new();
    for ip in [
        "2001:db8:1:2::1",
        "2001:db8:1:2::2",
        "2001:db8:1:2::3",
        "2001:db8:1:2:ffff:ffff:ffff:ffff",
        "2001:db8:1:2::1",
        "2001:db8:1:2::9",
    ] {
        let r = f
            .call(
                "POST",
                "/api/auth/login",
                Some(json!({"email": "a@example.com", "password": "whatever it is"})),
                &[("x-vercel-forwarded-for", ip)],
            )
            .await;
        statuses.push(r.status);
    }
    assert_eq!(
        statuses,
        [503, 503, 503, 503, 503, 429],
        "one budget of 5 a minute"
    );
    let r = f
        .call(
            "POST",
            "/api/auth/login",
            Some(json!({"email": "a@example.com", "password": "whatever it is"})),
            &[("x-vercel-forwarded-for", "2001:db8:1:3::1")],
        )
        .await;
    expect(&r, 503, "another /64 is another client");
}

#[tokio::test]
async fn auth_function_serves_sign_in_and_the_user_routes() {
    let f = start(env!("CARGO_BIN_EXE_api-auth"), false).await;
    let r = f
        .call(
            "POST",
            "/api/auth/login",
            Some(json!({"email": "a@example.com", "password": "whatever it is"})),
            &[],
        )
        .await;
    expect(&r, 503, "login without SECRET_KEY");
    assert_eq!(r.body["code"], "AUTH_NOT_CONFIGURED");
    assert!(r.body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("SECRET_KEY"));
    let r = f.admin("GET", "/api/admin/users", None).await;
    expect(&r, 200, "GET /api/admin/users");
    assert_eq!(r.body["users"], json!([]));
}

#[tokio::test]
async fn ops_function_serves_the_canary_status() {
    let f = start(env!("CARGO_BIN_EXE_api-ops"), false).await;

    let r = f.call("GET", "/api/phase1/canary/status", None, &[]).await;
    expect(&r, 200, "GET /api/phase1/canary/status");
    assert!(r.body.get("phase").is_some(), "no phase: {}", r.body);
}
