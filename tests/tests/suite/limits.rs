//! Rate limits and IP blocks over HTTP: exact under 200 concurrent requests, per address and
//! class, blocks on the third violation, lifted by the ops route; sign-in fails closed when
//! Redis stops while other routes fail open; the ops allowlist; CORS.

use super::auth::Secrets;
use super::Env;
use crate::harness::{Api, Auth, Backend, Server};
use futures_util::future::join_all;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Waits, when the current minute is nearly over, until the next one begins, so that a
/// burst falls in one fixed rate-limit window.
pub fn start_of_a_window() {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() % 60_000)
        .unwrap_or(0) as u64;
    if ms > 45_000 {
        std::thread::sleep(Duration::from_millis(60_000 - ms + 300));
    }
}

/// Sends `n` requests at once; counts the answers by status.
async fn burst(
    n: usize,
    send: impl Fn() -> reqwest::RequestBuilder,
    api: &Api,
) -> BTreeMap<u16, usize> {
    let replies = join_all((0..n).map(|_| api.send(send()))).await;
    let mut by_status = BTreeMap::new();
    for r in &replies {
        *by_status.entry(r.status).or_insert(0) += 1;
        if r.status == 429 {
            assert!(r.header("retry-after").is_some(), "429 without Retry-After");
            assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
        }
    }
    by_status
}

/// 200 concurrent logins with the spec's limit of 5 a minute: exactly 5 reach the handler,
/// the next 3 are refused (429) and the third refusal blocks the address (403 for the rest);
/// another address is unaffected; the ops route lifts the block.
pub async fn rate_limits_exact_under_concurrency(backend: Backend) {
    let env = Env::start(backend, &[]);
    let anon = env.client(Auth::Anonymous);
    start_of_a_window();
    let body = json!({"email": "nobody@example.com", "password": "not a real password"});
    let by_status = burst(
        200,
        || {
            anon.request(reqwest::Method::POST, "/api/auth/login")
                .json(&body)
        },
        &anon,
    )
    .await;
    assert_eq!(
        by_status,
        BTreeMap::from([(401, 5), (429, 3), (403, 192)]),
        "exactly the limit passes, then three violations, then the block"
    );
    // Blocked on every route but the probes.
    anon.get("/api/phase1/version")
        .await
        .expect_problem(403, "IP_BLOCKED");
    anon.get("/healthz").await.expect(200);
    anon.get("/readyz").await.expect(200);
    // Another address has its own counters.
    let other: IpAddr = "127.0.0.2".parse().expect("loopback");
    let elsewhere = anon.connecting_from(other);
    elsewhere.get("/api/phase1/version").await.expect(200);
    let login = elsewhere.post("/api/auth/login", &body).await;
    login.expect_problem(401, "INVALID_CREDENTIALS");
    assert_eq!(login.header("x-ratelimit-limit"), Some("5"));
    assert_eq!(login.header("x-ratelimit-remaining"), Some("4"));
    // The ops token is never limited, and lifts the block.
    env.admin.get("/api/phase1/rules").await.expect(200);
    env.admin
        .delete("/api/admin/ip-blocks/127.0.0.1")
        .await
        .expect(200);
    env.admin
        .delete("/api/admin/ip-blocks/127.0.0.1")
        .await
        .expect_problem(404, "NOT_FOUND");
    env.admin
        .delete("/api/admin/ip-blocks/not-an-ip")
        .await
        .expect_problem(422, "VALIDATION_FAILED");
    anon.get("/api/phase1/version").await.expect(200);
    let log = env.settled_log().await;
    assert_eq!(
        log.matches("\"event\":\"ip.block\"").count(),
        1,
        "one block event"
    );
    assert_eq!(log.matches("\"event\":\"ip.unblock\"").count(), 1);
    Secrets::new().assert_absent_from(&log, &["ip.block", "ip.unblock"]);

    // The general class: 50 a minute, the same way.
    let api_class = anon.connecting_from("127.0.0.3".parse().expect("loopback"));
    start_of_a_window();
    let by_status = burst(
        200,
        || api_class.request(reqwest::Method::GET, "/api/phase1/version"),
        &api_class,
    )
    .await;
    assert_eq!(by_status, BTreeMap::from([(200, 50), (429, 3), (403, 147)]));
}

/// Violations one by one: the third blocks; probes stay open; the ops token is never
/// limited; lifting the block forgets the violations.
pub async fn blocks_engage_on_the_third_violation(backend: Backend) {
    let env = Env::start(backend, &[("PHASE1_RATE_LIMITS", "api=2")]);
    let anon = env.client(Auth::Anonymous);
    start_of_a_window();
    for remaining in ["1", "0"] {
        let ok = anon.get("/api/phase1/version").await;
        ok.expect(200);
        assert_eq!(ok.header("x-ratelimit-limit"), Some("2"));
        assert_eq!(ok.header("x-ratelimit-remaining"), Some(remaining));
        let reset: u64 = ok
            .header("x-ratelimit-reset")
            .and_then(|r| r.parse().ok())
            .expect("x-ratelimit-reset in seconds");
        assert!((1..=60).contains(&reset), "{reset}");
    }
    for violation in 1..=3 {
        let r = anon.get("/api/phase1/health").await;
        r.expect_problem(429, "RATE_LIMITED");
        let retry: u64 = r
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After");
        assert!((1..=60).contains(&retry), "violation {violation}: {retry}");
    }
    let blocked = anon.get("/api/phase1/version").await;
    blocked.expect_problem(403, "IP_BLOCKED");
    let retry: u64 = blocked
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(
        retry > 23 * 3600 && retry <= 24 * 3600,
        "a 24-hour block: {retry}"
    );
    anon.get("/healthz").await.expect(200);
    for _ in 0..5 {
        env.admin.get("/api/phase1/version").await.expect(200);
    }
    env.admin
        .delete("/api/admin/ip-blocks/127.0.0.1")
        .await
        .expect(200);
    // The window's count stands, but the violations are forgotten: one more refusal is
    // a 429 again, not a block.
    anon.get("/api/phase1/version")
        .await
        .expect_problem(429, "RATE_LIMITED");
    anon.get("/api/phase1/version")
        .await
        .expect_problem(429, "RATE_LIMITED");
}

/// Redis stops under a running app: sign-in fails closed (503), other routes fail open
/// with a logged warning.
pub async fn auth_fails_closed_when_redis_stops() {
    let (mut redis, server) = Server::over_private_redis();
    let env = Env::over(server);
    let anon = env.client(Auth::Anonymous);
    let body = json!({"email": "nobody@example.com", "password": "not a real password"});
    anon.post("/api/auth/login", &body)
        .await
        .expect_problem(401, "INVALID_CREDENTIALS");
    redis.kill();
    for path in ["/api/auth/login", "/api/auth/mfa", "/api/auth/refresh"] {
        anon.post(path, &body)
            .await
            .expect_problem(503, "STORE_UNAVAILABLE");
    }
    let open = anon.get("/api/phase1/version").await;
    open.expect(200);
    assert!(open.header("x-ratelimit-limit").is_none(), "not counted");
    let warned =
        |log: &str| log.contains("rate limit not checked") && log.contains("\"fail_open_total\":1");
    let log = env.settled_log().await;
    assert!(warned(&log), "a counted warning: {log}");
}

/// With `PHASE1_OPS_ALLOWLIST`, the ops token counts only from listed addresses (and is
/// then not exempt from limits); CORS answers only the listed origins.
pub async fn ops_allowlist_and_cors(backend: Backend) {
    let env = Env::start(
        backend,
        &[
            ("PHASE1_OPS_ALLOWLIST", "127.0.0.2/32, 10.0.0.0/8"),
            ("PHASE1_CORS_ORIGINS", "https://app.example.com"),
        ],
    );
    let from_listed = env
        .admin
        .connecting_from("127.0.0.2".parse().expect("loopback"));
    from_listed
        .delete("/api/admin/ip-blocks/192.0.2.1")
        .await
        .expect_problem(404, "NOT_FOUND");
    env.admin
        .delete("/api/admin/ip-blocks/192.0.2.1")
        .await
        .expect_problem(403, "FORBIDDEN");
    env.admin
        .get("/api/phase1/rules")
        .await
        .expect_problem(403, "FORBIDDEN");
    let counted = env.admin.get("/api/phase1/version").await;
    assert!(counted.header("x-ratelimit-limit").is_some(), "limited");
    let exempt = from_listed.get("/api/phase1/version").await;
    assert!(exempt.header("x-ratelimit-limit").is_none(), "not limited");

    let anon = env.client(Auth::Anonymous);
    let preflight = |origin: &str| {
        anon.request(reqwest::Method::OPTIONS, "/api/auth/login")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
    };
    let ok = anon.send(preflight("https://app.example.com")).await;
    assert!(ok.status < 300, "preflight {}", ok.status);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(ok.header("access-control-allow-credentials"), Some("true"));
    let evil = anon.send(preflight("https://evil.example.net")).await;
    assert_eq!(evil.header("access-control-allow-origin"), None);
    let simple = anon
        .send(
            anon.request(reqwest::Method::GET, "/api/phase1/version")
                .header("origin", "https://app.example.com"),
        )
        .await;
    simple.expect(200);
    assert_eq!(
        simple.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let other = anon
        .send(
            anon.request(reqwest::Method::GET, "/api/phase1/version")
                .header("origin", "https://evil.example.net"),
        )
        .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}
