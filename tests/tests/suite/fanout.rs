//! Fan-out: shards sent over HTTP to the shard route merge into the same document as one
//! process; a shard that keeps failing fails the run with 502 and stores nothing as done;
//! the shard route serves signed calls only.

use super::{run_id, Env};
use crate::harness::server::free_port;
use crate::harness::upstream::FailingUpstream;
use crate::harness::{cli, compare, token, Auth, Backend, Server, Store, INTERNAL_KEY};
use serde_json::json;

/// The shard route.
const SHARD_PATH: &str = "/api/phase1/internal/shard";

/// A server that sends its shards of 500 positions to `shard_url`.
fn fanout_server(store: &Store, port: u16, shard_url: &str) -> Server {
    Server::start_on(
        store,
        port,
        &[
            ("PHASE1_SHARD_SIZE", "500"),
            ("PHASE1_SHARD_URL", shard_url),
            ("PHASE1_INTERNAL_KEY", INTERNAL_KEY),
        ],
    )
}

/// london-dc-alpha in 4 shards over HTTP (to the server itself) = `phase1 run`.
pub async fn sharded_equals_unsharded(backend: Backend) {
    let port = free_port();
    let server = fanout_server(
        &Store::new(backend),
        port,
        &format!("http://127.0.0.1:{port}"),
    );
    assert_eq!(server.port, port);
    let env = Env::over(server);
    let card = env
        .admin
        .post(
            "/api/phase1/permutations/cardinality",
            &json!({"fixture": "london-dc-alpha"}),
        )
        .await;
    assert_eq!(card.expect(200)["shards"], 4);
    let ran = env
        .admin
        .post("/api/phase1/run", &json!({"fixture": "london-dc-alpha"}))
        .await;
    let doc = ran.expect(200);
    assert_eq!(doc["provenance"]["shards"], 4, "fanned out in 4 shards");
    compare::assert_same_run(doc, &cli::cli_run("london-dc-alpha"), "sharded run");
}

/// Shards sent to a closed port: 502 SHARD_FAILED, the run listed as failed, and no
/// result readable.
pub async fn failing_shard(backend: Backend) {
    let closed = free_port();
    let server = fanout_server(
        &Store::new(backend),
        0,
        &format!("http://127.0.0.1:{closed}"),
    );
    let env = Env::over(server);
    let api = &env.admin;
    let body = json!({"fixture": "london-dc-alpha"});
    api.post("/api/phase1/run", &body)
        .await
        .expect_problem(502, "SHARD_FAILED");

    let listed = api.get("/api/phase1/runs").await;
    let runs = listed.expect(200)["runs"].as_array().expect("runs").clone();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["status"], "failed", "{runs:?}");
    let id = run_id(&runs[0]);
    let status = api.get(&format!("/api/phase1/runs/{id}")).await;
    let s = status.expect(200);
    assert_eq!(s["status"], "failed");
    assert_eq!(s["error"]["code"], "SHARD_FAILED", "{s}");
    assert!(s.get("result").is_none(), "a failed run has no result: {s}");
    for path in [
        format!("/api/phase1/securitisation/top20?run_id={id}"),
        format!("/api/phase1/securitisation/export/1?run_id={id}"),
        format!("/api/phase1/constraints?run_id={id}"),
        "/api/phase1/securitisation/top20".to_string(),
    ] {
        api.get(&path).await.expect_problem(404, "NOT_FOUND");
    }
    // Documents are made from finished runs only: 409 names the run's status.
    for path in [
        format!("/api/phase1/runs/{id}/structures/1/term-sheet.md"),
        format!("/api/phase1/runs/{id}/top.csv"),
    ] {
        let p = api.get(&path).await;
        let p = p.expect_problem(409, "RUN_NOT_FINISHED");
        assert!(
            p["detail"].as_str().is_some_and(|d| d.contains("failed")),
            "{p}"
        );
    }
    // Nothing partial was cached as a success: the same request fails again.
    api.post("/api/phase1/run", &body)
        .await
        .expect_problem(502, "SHARD_FAILED");
    // A repeated Idempotency-Key returns the first result: the same failure, not a 200.
    for _ in 0..2 {
        let rb = api
            .request(reqwest::Method::POST, "/api/phase1/run")
            .header("idempotency-key", "failing-key")
            .json(&body);
        api.send(rb).await.expect_problem(502, "SHARD_FAILED");
    }
    let listed = api.get("/api/phase1/runs").await;
    assert_eq!(listed.expect(200)["runs"].as_array().map(Vec::len), Some(3));
}

/// Every shard is tried 3 times before the run fails: 4 shards, 12 calls.
pub async fn failing_shard_is_retried(backend: Backend) {
    let upstream = FailingUpstream::start();
    let env = Env::over(fanout_server(&Store::new(backend), 0, &upstream.url()));
    let failed = env
        .admin
        .post("/api/phase1/run", &json!({"fixture": "london-dc-alpha"}))
        .await;
    failed.expect_problem(502, "SHARD_FAILED");
    assert_eq!(upstream.requests(), 4 * 3, "4 shards, 3 attempts each");
}

/// The body of a shard call: the first ten positions of london-dc-alpha.
pub fn shard_body() -> String {
    json!({
        "request": super::fixture("london-dc-alpha"),
        "options": {"enforce_gates": true, "repo_rules": true, "tiering": true,
                    "input_hierarchy": true},
        "start": 0,
        "end": 10,
    })
    .to_string()
}

/// The shard route refuses unsigned, badly signed and stale calls.
pub async fn shard_route_refuses_bad_signatures(backend: Backend) {
    let env = Env::start(backend, &[("PHASE1_INTERNAL_KEY", INTERNAL_KEY)]);
    let anon = env.client(Auth::Anonymous);
    let body = shard_body();
    let now_ms = (token::now_secs() * 1000).to_string();
    let stale_ms = ((token::now_secs() - 120) * 1000).to_string();
    let zeros = "0".repeat(64);
    let cases: [(&str, Option<(&str, &str)>); 4] = [
        ("unsigned", None),
        ("wrong signature", Some((now_ms.as_str(), zeros.as_str()))),
        ("not hex", Some((now_ms.as_str(), "zz"))),
        ("stale", Some((stale_ms.as_str(), zeros.as_str()))),
    ];
    for (what, headers) in cases {
        let mut rb = anon
            .request(reqwest::Method::POST, SHARD_PATH)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some((ts, sig)) = headers {
            rb = rb
                .header("x-phase1-timestamp", ts)
                .header("x-phase1-signature", sig);
        }
        let reply = anon.send(rb).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.snippet());
    }
    let keyless = Env::start(backend, &[]);
    let reply = keyless
        .admin
        .send(
            keyless
                .admin
                .request(reqwest::Method::POST, SHARD_PATH)
                .header("x-phase1-timestamp", now_ms.as_str())
                .header("x-phase1-signature", zeros.as_str())
                .body(body),
        )
        .await;
    assert_eq!(reply.status, 401, "no key configured: {}", reply.snippet());
}
