//! The Lambda binaries driven through the Lambda Runtime API, as Lambda drives them.
//!
//! A small loopback emulation of that API's invocation endpoints (`GET .../invocation/next`
//! hands out one queued event with the `Lambda-Runtime-*` headers; `POST .../{id}/response`
//! and `.../{id}/error` capture the answer) stands in for the Lambda service. Each test starts
//! a real binary with `AWS_LAMBDA_RUNTIME_API` pointing at it, feeds it API Gateway HTTP API
//! (payload 2.0) events or a scheduled event, and checks the captured responses.
//!
//! The environment is cleared for the child, so store URLs a surrounding script exported
//! (scripts/services.sh) never reach it: each binary runs over its own embedded store.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// The ops token of these tests (a constant test string, not a secret).
const ADMIN_TOKEN: &str = "test-admin-token";
/// The function ARN the emulator reports.
const ARN: &str = "arn:aws:lambda:eu-west-2:123456789012:function:phase1-test";

/// What the function answered to one invocation.
#[derive(Debug)]
enum Outcome {
    /// `POST .../{id}/response`: the handler's result.
    Response(Value),
    /// `POST .../{id}/error`: the handler failed.
    Error(Value),
}

/// The emulator's shared state.
struct Emulator {
    /// Events waiting for `next`, with their request ids.
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>,
    /// Who waits for which invocation's answer.
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
}

async fn next(State(emu): State<Arc<Emulator>>) -> Response {
    let Some((id, event)) = emu.queue.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(60);
    (
        [
            ("lambda-runtime-aws-request-id", id),
            (
                "lambda-runtime-deadline-ms",
                deadline.as_millis().to_string(),
            ),
            ("lambda-runtime-invoked-function-arn", ARN.to_string()),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000;Sampled=0".to_string(),
            ),
            ("content-type", "application/json".to_string()),
        ],
        event.to_string(),
    )
        .into_response()
}

fn settle(emu: &Emulator, id: &str, outcome: Outcome) -> StatusCode {
    match emu.waiting.lock().unwrap().remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn json_of(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into()))
}

async fn response(
    State(emu): State<Arc<Emulator>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    settle(&emu, &id, Outcome::Response(json_of(&body)))
}

async fn error(
    State(emu): State<Arc<Emulator>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let kind = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    settle(
        &emu,
        &id,
        Outcome::Error(json!({"type": kind, "body": json_of(&body)})),
    )
}

/// A Lambda binary running against the emulator; killed when dropped.
struct Function {
    child: Child,
    events: mpsc::UnboundedSender<(String, Value)>,
    emu: Arc<Emulator>,
    dir: tempfile::TempDir,
    count: u32,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the emulator on a loopback port and `exe` against it (plus `extra` variables).
async fn start(exe: &str, extra: &[(&str, &str)]) -> Function {
    let (events, queue) = mpsc::unbounded_channel();
    let emu = Arc::new(Emulator {
        queue: tokio::sync::Mutex::new(queue),
        waiting: Mutex::new(HashMap::new()),
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .with_state(emu.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the emulator");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let dir = tempfile::tempdir().expect("temp dir");
    let stderr = std::fs::File::create(dir.path().join("stderr.log")).expect("stderr log");
    let mut cmd = Command::new(exe);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "phase1-test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]test")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/phase1-test")
        .env("APP_ENV", "dev")
        .env("PHASE1_EMBEDDED_PATH", dir.path().join("phase1.redb"))
        .env("PHASE1_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("COMMIT_SHA", "test-commit")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    Function {
        child: cmd.spawn().expect("start the lambda binary"),
        events,
        emu,
        dir,
        count: 0,
    }
}

impl Function {
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Queues `event` as the next invocation and waits for the function's answer.
    async fn invoke(&mut self, event: Value) -> Outcome {
        self.count += 1;
        let id = format!("00000000-0000-4000-8000-{:012}", self.count);
        let (tx, mut rx) = oneshot::channel();
        self.emu.waiting.lock().unwrap().insert(id.clone(), tx);
        self.events.send((id, event)).expect("queue the event");
        for _ in 0..1200 {
            match tokio::time::timeout(Duration::from_millis(50), &mut rx).await {
                Ok(outcome) => return outcome.expect("answer"),
                Err(_) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!("the function exited with {status}: {}", self.stderr());
                    }
                }
            }
        }
        panic!("no answer within 60 s: {}", self.stderr());
    }

    /// Invokes with an HTTP API event and returns the API Gateway response.
    async fn http(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Value {
        match self.invoke(http_event(method, path, headers, body)).await {
            Outcome::Response(v) => v,
            Outcome::Error(e) => panic!("{method} {path} failed: {e}"),
        }
    }
}

/// An API Gateway HTTP API (payload format 2.0) event, as API Gateway sends it.
fn http_event(method: &str, path: &str, headers: &[(&str, &str)], body: Option<Value>) -> Value {
    let mut h = json!({
        "accept": "application/json",
        "host": "abc123.execute-api.eu-west-2.amazonaws.com",
        "user-agent": "phase1-lambda-test",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    });
    for (k, v) in headers {
        h[*k] = json!(v);
    }
    if body.is_some() {
        h["content-type"] = json!("application/json");
    }
    json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": h,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-2.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "phase1-lambda-test",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000u64,
        },
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false,
    })
}

/// The body of an API Gateway response, parsed as JSON.
fn body_of(res: &Value) -> Value {
    assert_eq!(res["isBase64Encoded"], false, "{res}");
    let text = res["body"].as_str().unwrap_or_default();
    serde_json::from_str(text).unwrap_or_else(|_| panic!("body is not JSON: {res}"))
}

/// A response header (API Gateway responses carry lower-case names).
fn header<'a>(res: &'a Value, name: &str) -> Option<&'a str> {
    res["headers"][name].as_str()
}

#[tokio::test]
async fn health_function_answers_http_api_events() {
    let mut f = start(env!("CARGO_BIN_EXE_lambda-health"), &[]).await;

    let res = f.http("GET", "/healthz", &[], None).await;
    assert_eq!(res["statusCode"], 200, "{res}");
    assert_eq!(body_of(&res), json!({"status": "ok"}));
    assert!(
        header(&res, "x-request-id").is_some_and(|v| !v.is_empty()),
        "{res}"
    );
    assert_eq!(header(&res, "x-commit-sha"), Some("test-commit"));

    // A second invocation of the same instance; the client's request id is kept.
    let res = f
        .http(
            "GET",
            "/healthz",
            &[("x-request-id", "lambda-test-1")],
            None,
        )
        .await;
    assert_eq!(res["statusCode"], 200, "{res}");
    assert_eq!(header(&res, "x-request-id"), Some("lambda-test-1"));

    let res = f.http("GET", "/api/phase1/version", &[], None).await;
    assert_eq!(res["statusCode"], 200, "{res}");

    let res = f.http("GET", "/api/phase1/nothing-here", &[], None).await;
    assert_eq!(res["statusCode"], 404, "{res}");
    assert_eq!(body_of(&res)["code"], "NOT_FOUND");
}

#[tokio::test]
async fn projects_function_validates_a_project_from_an_http_api_event() {
    let mut f = start(env!("CARGO_BIN_EXE_lambda-projects"), &[]).await;
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/london-dc-alpha.json"
    );
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).expect("fixture")).expect("JSON");
    let body = json!({"project": doc["project"]});

    let res = f
        .http(
            "POST",
            "/api/phase1/projects/validate",
            &[("x-admin-token", ADMIN_TOKEN)],
            Some(body.clone()),
        )
        .await;
    assert_eq!(res["statusCode"], 200, "{res}");
    let out = body_of(&res);
    assert_eq!(out["valid"], true, "{out}");
    assert!(out["derived"].is_object(), "{out}");
    assert!(header(&res, "x-request-id").is_some(), "{res}");

    let res = f
        .http("POST", "/api/phase1/projects/validate", &[], Some(body))
        .await;
    assert_eq!(res["statusCode"], 401, "{res}");
    let problem = body_of(&res);
    assert_eq!(problem["code"], "AUTH_REQUIRED");
    assert_eq!(
        problem["request_id"].as_str(),
        header(&res, "x-request-id"),
        "{res}"
    );
}

#[tokio::test]
async fn documents_function_answers_a_term_sheet_as_base64() {
    use base64::Engine;
    let mut f = start(env!("CARGO_BIN_EXE_lambda-documents"), &[]).await;
    let admin = [("x-admin-token", ADMIN_TOKEN)];
    let res = f
        .http(
            "POST",
            "/api/phase1/run",
            &admin,
            Some(json!({"fixture": "london-dc-alpha"})),
        )
        .await;
    assert_eq!(res["statusCode"], 200, "{res}");
    let id = body_of(&res)["run_id"]
        .as_str()
        .expect("run_id")
        .to_string();
    let res = f
        .http(
            "GET",
            &format!("/api/phase1/runs/{id}/structures/1/term-sheet.pdf"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res["statusCode"], 200, "{res}");
    assert_eq!(header(&res, "content-type"), Some("application/pdf"));
    assert_eq!(
        res["isBase64Encoded"], true,
        "a binary body travels as base64"
    );
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(res["body"].as_str().expect("body"))
        .expect("base64");
    assert!(pdf.starts_with(b"%PDF-"));
}

#[tokio::test]
async fn worker_answers_a_scheduled_event() {
    let mut f = start(env!("CARGO_BIN_EXE_lambda-worker"), &[]).await;
    let event = json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "eu-west-2",
        "resources": ["arn:aws:scheduler:eu-west-2:123456789012:schedule/default/phase1-worker"],
        "detail": {}
    });
    for _ in 0..2 {
        match f.invoke(event.clone()).await {
            Outcome::Response(v) => assert_eq!(v, json!({"ran": 0, "alert_attempts": 0})),
            Outcome::Error(e) => panic!("the worker failed: {e}"),
        }
    }
}

/// A scheduled event as EventBridge Scheduler sends it, for the schedule `name`.
fn scheduled_event(name: &str) -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "eu-west-2",
        "resources": [format!("arn:aws:scheduler:eu-west-2:123456789012:schedule/default/{name}")],
        "detail": {}
    })
}

#[tokio::test]
async fn synthetic_answers_a_scheduled_event_without_a_monitor() {
    let mut f = start(env!("CARGO_BIN_EXE_lambda-synthetic"), &[]).await;
    let event = scheduled_event("phase1-synthetic");
    for _ in 0..2 {
        match f.invoke(event.clone()).await {
            Outcome::Response(v) => {
                assert_eq!(v["ran"], false, "{v}");
                assert!(v["reason"].is_string(), "{v}");
            }
            Outcome::Error(e) => panic!("the synthetic monitor failed: {e}"),
        }
    }
}

#[tokio::test]
async fn canary_answers_a_scheduled_event_with_a_decision() {
    let mut f = start(env!("CARGO_BIN_EXE_lambda-canary"), &[]).await;
    let event = scheduled_event("phase1-canary");
    for _ in 0..2 {
        match f.invoke(event.clone()).await {
            Outcome::Response(v) => {
                assert!(v.get("decision").is_some(), "no decision: {v}");
                assert!(v.get("phase").is_some(), "no phase: {v}");
            }
            Outcome::Error(e) => panic!("the canary evaluation failed: {e}"),
        }
    }
}

#[tokio::test]
async fn ops_function_answers_the_canary_status() {
    let mut f = start(env!("CARGO_BIN_EXE_lambda-ops"), &[]).await;
    let res = f.http("GET", "/api/phase1/canary/status", &[], None).await;
    assert_eq!(res["statusCode"], 200, "{res}");
    assert!(body_of(&res).get("phase").is_some(), "{res}");
}

#[tokio::test]
async fn a_bad_configuration_stops_the_function_with_the_variable_named() {
    let mut f = start(
        env!("CARGO_BIN_EXE_lambda-health"),
        &[("APP_ENV", "staging")],
    )
    .await;
    let mut status = None;
    for _ in 0..1200 {
        status = f.child.try_wait().expect("wait");
        if status.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = status.expect("the function started with a bad configuration");
    assert!(!status.success());
    let stderr = f.stderr();
    assert!(stderr.contains("phase1-test"), "{stderr}");
    assert!(stderr.contains("APP_ENV"), "{stderr}");
}

#[tokio::test]
async fn the_client_address_is_api_gateways_source_ip() {
    let mut f = start(env!("CARGO_BIN_EXE_lambda-health"), &[]).await;
    let mut seen = Vec::new();
    for (source, spoof) in [
        ("203.0.113.1", "198.51.100.9"),
        ("203.0.113.1", "198.51.100.10"),
        ("203.0.113.2", "203.0.113.1"),
        ("203.0.113.1", "203.0.113.2"),
    ] {
        let mut event = http_event(
            "GET",
            "/api/phase1/version",
            &[
                ("x-forwarded-for", spoof),
                ("x-vercel-forwarded-for", spoof),
            ],
            None,
        );
        event["requestContext"]["http"]["sourceIp"] = json!(source);
        let res = match f.invoke(event).await {
            Outcome::Response(v) => v,
            Outcome::Error(e) => panic!("failed: {e}"),
        };
        assert_eq!(res["statusCode"], 200, "{res}");
        seen.push(header(&res, "x-ratelimit-remaining").map(str::to_string));
    }
    let want: Vec<Option<String>> = ["49", "48", "49", "47"]
        .iter()
        .map(|s| Some(s.to_string()))
        .collect();
    assert_eq!(seen, want, "counted per sourceIp, not by forwarded headers");
}
