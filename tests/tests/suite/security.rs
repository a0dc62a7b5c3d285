//! The findings of the 2026-12-03 security audit (`../shared/notes/security-audit-2026-12-03.md`,
//! listed with their fixes in docs/security.md), each performed against a real
//! `phase1 serve` as the audit did, and shown to fail now.

use super::auth::GENEROUS;
use super::limits::start_of_a_window;
use super::Env;
use crate::harness::signin::{self, User};
use crate::harness::{token, Auth, Backend, Server, Store, INTERNAL_KEY, SECRET_KEY};
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `POST path` over a raw connection, the body trickled: half of it, a pause of
/// `pause`, the rest. Returns the status code.
async fn slow_post(port: u16, path: &str, bearer: &str, body: &str, pause: Duration) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connects");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {bearer}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).await.expect("writes");
    stream.write_all(first).await.expect("writes");
    tokio::time::sleep(pause).await;
    stream.write_all(rest).await.expect("writes");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("reads");
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

/// H1: one analyst inflating their own latency (bodies sent slowly, long consistency
/// checks) does not roll the canary back for everyone, and anonymous bodies read before
/// authorisation are small.
pub async fn h1_one_caller_cannot_force_a_rollback(backend: Backend) {
    let env = Env::start(
        backend,
        &[
            (
                "PHASE1_RATE_LIMITS",
                "api=100000,run=100000,auth=1000,flags=1000",
            ),
            (
                "PHASE1_CANARY_THRESHOLDS",
                "min_requests=20,rollback_p95_ms=200",
            ),
        ],
    );
    let (_, analyst_token) = token::new_analyst();
    let analyst = env.client(Auth::Bearer(analyst_token.clone()));
    let project = json!({"project": super::london_project()}).to_string();
    let port = env.server.port;
    // 25 validations whose bodies take 400 ms each to arrive (the audit's p95 was the
    // caller's own wait), and two consistency checks, all from one analyst.
    let slow = (0..25).map(|_| {
        slow_post(
            port,
            "/api/phase1/projects/validate",
            &analyst_token,
            &project,
            Duration::from_millis(400),
        )
    });
    let bodies: Vec<Value> = (0..2)
        .map(|i| json!({"fixture": "medium", "runs": 3, "seed": 5000 + i}))
        .collect();
    let checks = bodies
        .iter()
        .map(|b| analyst.post("/api/phase1/validate/consistency", b));
    let (statuses, checked) = tokio::join!(join_all(slow), join_all(checks));
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    for c in &checked {
        c.expect(200);
    }
    let evaluated = env
        .admin
        .post("/api/phase1/canary/evaluate", &json!({}))
        .await;
    let j = evaluated.expect(200);
    assert_ne!(j["decision"], json!("ROLLBACK"), "{j}");
    assert!(j["measured"]["successes"].as_f64() >= Some(25.0), "{j}");
    let p95 = j["measured"]["p95_ms"].as_f64().expect("a p95");
    assert!(
        p95 < 200.0,
        "the caller's own waits are not the service's latency: {j}"
    );
    let memory = j["criteria"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == json!("memory_mb")))
        .cloned()
        .unwrap_or_default();
    assert_eq!(memory["kind"], json!("alert"), "{j}");
    let flags = env.admin.get("/api/phase1/flags").await;
    let f = flags.expect(200)["flags"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(f.values().all(|x| x["enabled"] == json!(true)), "{f:?}");
    analyst
        .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
        .await
        .expect(200);

    // The public status tells the decision, not what was measured.
    let status = env
        .client(Auth::Anonymous)
        .get("/api/phase1/canary/status")
        .await;
    let s = status.expect(200);
    assert!(s["last_decision"]["decision"].is_string(), "{s}");
    let text = s.to_string();
    assert!(
        !text.contains("p95") && !text.contains("memory") && !text.contains("measured"),
        "{s}"
    );

    // Bodies read before authorisation are small: sign-in 4 KiB, flag writes 64 KiB.
    let anon = env.client(Auth::Anonymous);
    let big_login = json!({"email": "a@example.com", "password": "p".repeat(5 * 1024)});
    anon.post("/api/auth/login", &big_login)
        .await
        .expect_problem(413, "PAYLOAD_TOO_LARGE");
    let big_flags =
        json!({"changes": {"gates_ab": {"allowlist": {"emails": vec!["x@example.com"; 5000]}}}});
    anon.post("/api/phase1/flags", &big_flags)
        .await
        .expect_problem(413, "PAYLOAD_TOO_LARGE");
    let bad_keys = json!({"changes": {"NotAFlag": true}});
    let refused = anon.post("/api/phase1/flags", &bad_keys).await;
    refused.expect_problem(400, "INVALID_KEYS");
    // Every other body waits for authorisation.
    let large = json!({"project": {"title": "x".repeat(200 * 1024)}});
    anon.post("/api/phase1/projects/validate", &large)
        .await
        .expect_problem(401, "AUTH_REQUIRED");
}

/// M1: a thousand made-up methods and paths create no metric series.
pub async fn m1_random_methods_and_paths_create_no_series(backend: Backend) {
    let env = Env::start(backend, &[("PHASE1_RATE_LIMITS", "api=100000")]);
    let anon = env.client(Auth::Anonymous);
    let method = |n: usize| {
        let token: String = (0..24)
            .map(|i| char::from(b'A' + ((n * 7 + i * 13 + n / 3) % 26) as u8))
            .collect();
        reqwest::Method::from_bytes(token.as_bytes()).expect("a method token")
    };
    let path = |n: usize| match n % 3 {
        0 => format!("/zz{n}"),
        1 => format!("/api/phase1/zz{n}"),
        _ => "/healthz".to_string(),
    };
    let series = || async {
        let text = env.admin.get("/api/phase1/metrics").await.text;
        text.lines().filter(|l| !l.starts_with('#')).count()
    };
    // Warm up every series the test's own requests make (the metrics read included).
    for n in 0..3 {
        anon.send(anon.request(method(n), &path(n))).await;
    }
    series().await;
    let before = series().await;
    for batch in (3..1003).collect::<Vec<_>>().chunks(50) {
        join_all(
            batch
                .iter()
                .map(|n| anon.send(anon.request(method(*n), &path(*n)))),
        )
        .await;
    }
    let after = series().await;
    assert_eq!(before, after, "1,000 random methods and paths added series");
    let text = env.admin.get("/api/phase1/metrics").await.text;
    assert!(text.contains(r#"method="other""#), "{text}");
    assert!(!text.contains("/zz"), "raw paths are never labels");
}

/// M2: 48 wrong codes from 12 addresses, then the right one from a 13th — the account is
/// locked after 10 failures, whatever the addresses, until an admin lifts it.
pub async fn m2_failures_lock_the_account_across_addresses(backend: Backend) {
    let env = Env::start(backend, &[]);
    let user = User::create(&env.admin, "analyst").await;
    let anon = env.client(Auth::Anonymous);
    let mut answers = Vec::new();
    for i in 0..12u8 {
        let from = anon.connecting_from(format!("127.0.1.{}", 10 + i).parse().expect("ip"));
        let login = signin::login(&from, &user.email, &user.password).await;
        if login.status != 200 {
            answers.push(login.json["code"].as_str().unwrap_or_default().to_string());
            continue;
        }
        let token = signin::mfa_token(&login);
        for _ in 0..4 {
            let r = signin::mfa(&from, &token, &user.wrong_code()).await;
            answers.push(r.json["code"].as_str().unwrap_or_default().to_string());
        }
    }
    let wrong = answers.iter().filter(|c| *c == "INVALID_MFA_CODE").count();
    assert_eq!(wrong, 9, "{answers:?}");
    assert_eq!(
        answers[9], "ACCOUNT_LOCKED",
        "the tenth failure locks: {answers:?}"
    );
    assert!(
        answers[9..].iter().all(|c| c == "ACCOUNT_LOCKED"),
        "{answers:?}"
    );

    let last = anon.connecting_from("127.0.1.40".parse().expect("ip"));
    let login = signin::login(&last, &user.email, &user.password).await;
    let p = login.expect_problem(429, "ACCOUNT_LOCKED");
    assert!(p["detail"]
        .as_str()
        .is_some_and(|d| d.contains("locked until")));
    assert!(login.header("retry-after").is_some());

    let unlock = format!("/api/admin/users/{}/unlock", user.email);
    let lifted = env.admin.post(&unlock, &json!({})).await;
    assert_eq!(lifted.expect(200)["unlocked"], json!(true));
    env.admin
        .post(&unlock, &json!({}))
        .await
        .expect_problem(404, "NOT_FOUND");
    signin::sign_in(&last, &user).await;
    let audit = env.admin.get("/api/phase1/flags/audit?limit=100").await;
    let rows = audit.expect(200)["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for action in ["account.lock", "account.unlock"] {
        assert!(
            rows.iter().any(|r| r["action"] == json!(action)),
            "{action} is audited: {rows:?}"
        );
    }
}

/// The signing headers of a shard call: timestamp, nonce, signature.
fn shard_headers(ts: i64, nonce: &str, body: &str) -> [(&'static str, String); 3] {
    use hmac::Mac;
    let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(INTERNAL_KEY.as_bytes())
        .expect("HMAC takes any key");
    mac.update(format!("{ts}.{nonce}.").as_bytes());
    mac.update(body.as_bytes());
    [
        ("x-phase1-timestamp", ts.to_string()),
        ("x-phase1-nonce", nonce.to_string()),
        (
            "x-phase1-signature",
            hex::encode(mac.finalize().into_bytes()),
        ),
    ]
}

/// L3: a signed shard call is served once, and only a few seconds of future skew pass.
pub async fn l3_shard_calls_cannot_be_replayed(backend: Backend) {
    let env = Env::start(backend, &[("PHASE1_INTERNAL_KEY", INTERNAL_KEY)]);
    let anon = env.client(Auth::Anonymous);
    let body = super::fanout::shard_body();
    let send = |ts: i64, nonce: String| {
        let mut rb = anon
            .request(reqwest::Method::POST, "/api/phase1/internal/shard")
            .header("content-type", "application/json")
            .body(body.clone());
        for (k, v) in shard_headers(ts, &nonce, &body) {
            rb = rb.header(k, v);
        }
        anon.send(rb)
    };
    let nonce = || uuid::Uuid::new_v4().simple().to_string();
    let now = token::now_secs() * 1000;
    let first = nonce();
    send(now, first.clone()).await.expect(200);
    let replay = send(now, first).await;
    let p = replay.expect_problem(401, "INVALID_SIGNATURE");
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("already used")),
        "{p}"
    );
    send(now + 59_000, nonce())
        .await
        .expect_problem(401, "INVALID_SIGNATURE");
    send(now + 2_000, nonce()).await.expect(200);
}

/// The `sid` claim of an access token (readable by anyone who sees the token).
fn sid_of(access: &str) -> String {
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_exp = false;
    let data = jsonwebtoken::decode::<Value>(
        access,
        &jsonwebtoken::DecodingKey::from_secret(SECRET_KEY.as_bytes()),
        &validation,
    )
    .expect("an access token");
    data.claims["sid"].as_str().expect("sid").to_string()
}

/// L4 and L5: a made-up refresh token naming a victim's session revokes nothing; the refresh
/// cookie alone signs out.
pub async fn l4_l5_refresh_tokens_end_only_their_own_session(backend: Backend) {
    let env = Env::start(backend, GENEROUS);
    let anon = env.client(Auth::Anonymous);
    let victim = User::create(&env.admin, "analyst").await;
    let attacker = User::create(&env.admin, "analyst").await;
    let v = signin::sign_in(&anon, &victim).await;
    let a = signin::sign_in(&anon, &attacker).await;
    let kid = a.refresh.split('.').nth(1).expect("a key id");
    let forged = format!("{}.{kid}.{}", sid_of(&v.access), "A".repeat(43));
    signin::refresh(&anon, &forged)
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    anon.send(
        anon.request(reqwest::Method::POST, "/api/auth/logout")
            .header("cookie", format!("phase1_refresh={forged}")),
    )
    .await
    .expect_problem(401, "AUTH_REQUIRED");
    let me = env.client(Auth::Bearer(v.access.clone()));
    me.get("/api/auth/me").await.expect(200);
    let next = signin::session(&signin::refresh(&anon, &v.refresh).await);

    // Signing out with the refresh cookie alone (the access token has expired) ends the
    // session and clears both cookies.
    let out = anon
        .send(
            anon.request(reqwest::Method::POST, "/api/auth/logout")
                .header("cookie", format!("phase1_refresh={}", next.refresh)),
        )
        .await;
    out.expect(204);
    for name in ["phase1_access", "phase1_refresh"] {
        let (value, attrs) = out.set_cookie(name).expect("cleared");
        assert!(
            value.is_empty() && attrs.contains("Max-Age=0"),
            "{name}: {attrs}"
        );
    }
    signin::refresh(&anon, &next.refresh)
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    env.client(Auth::Bearer(next.access))
        .get("/api/auth/me")
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    // The attacker's own session is untouched throughout.
    env.client(Auth::Bearer(a.access))
        .get("/api/auth/me")
        .await
        .expect(200);
}

/// L6: cookie-authenticated writes from another origin or site are refused; the same
/// origin, allowed CORS origins, scripts without browser headers and bearer tokens pass.
pub async fn l6_cross_site_writes_are_refused(backend: Backend) {
    let env = Env::start(
        backend,
        &[
            ("PHASE1_CORS_ORIGINS", "https://app.example.com"),
            ("PHASE1_RATE_LIMITS", "auth=1000,users=1000,api=1000"),
        ],
    );
    let anon = env.client(Auth::Anonymous);
    let user = User::create(&env.admin, "analyst").await;
    let s = signin::sign_in(&anon, &user).await;
    let project = json!({"project": super::london_project()}).to_string();
    let cookie = format!("phase1_access={}", s.access);
    let write = |headers: &[(&str, &str)]| {
        let mut rb = anon
            .request(reqwest::Method::POST, "/api/phase1/projects")
            .header("cookie", cookie.as_str())
            .header("content-type", "text/plain")
            .body(project.clone());
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        anon.send(rb)
    };
    let own = env.server.base.clone();
    for refused in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("origin", own.as_str()), ("sec-fetch-site", "same-site")],
    ] {
        write(&refused)
            .await
            .expect_problem(403, "CROSS_SITE_REQUEST");
    }
    for allowed in [
        vec![],
        vec![("origin", own.as_str()), ("sec-fetch-site", "same-origin")],
        vec![
            ("origin", "https://app.example.com"),
            ("sec-fetch-site", "same-site"),
        ],
    ] {
        write(&allowed).await.expect(201);
    }
    // A bearer token cannot be sent cross-site without a preflight: not refused.
    let bearer = env.client(Auth::Bearer(s.access.clone()));
    bearer
        .send(
            bearer
                .request(reqwest::Method::POST, "/api/phase1/projects")
                .header("origin", "https://evil.example")
                .header("content-type", "application/json")
                .body(project.clone()),
        )
        .await
        .expect(201);
    // Logout and login from another site: refused (no forced sign-out, no login CSRF).
    anon.send(
        anon.request(reqwest::Method::POST, "/api/auth/logout")
            .header("cookie", cookie.as_str())
            .header("sec-fetch-site", "cross-site"),
    )
    .await
    .expect_problem(403, "CROSS_SITE_REQUEST");
    anon.send(
        anon.request(reqwest::Method::POST, "/api/auth/login")
            .header("origin", "https://evil.example")
            .header("content-type", "text/plain")
            .body(json!({"email": user.email, "password": user.password}).to_string()),
    )
    .await
    .expect_problem(403, "CROSS_SITE_REQUEST");
    // Reads are not writes.
    anon.send(
        anon.request(reqwest::Method::GET, "/api/phase1/projects")
            .header("cookie", cookie.as_str())
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site"),
    )
    .await
    .expect(200);
}

/// L7: a consistency check counts each of its runs in the run class, and a list of many
/// repeated values is read in full (de-duplicated in linear time).
pub async fn l7_consistency_counts_in_the_run_class(backend: Backend) {
    let env = Env::start(backend, &[("PHASE1_RATE_LIMITS", "run=20,api=1000")]);
    let (_, t) = token::new_analyst();
    let analyst = env.client(Auth::Bearer(t));
    start_of_a_window();
    let check = json!({"fixture": "london-dc-alpha", "runs": 10});
    let first = analyst
        .post("/api/phase1/validate/consistency", &check)
        .await;
    first.expect(200);
    assert_eq!(first.header("x-ratelimit-limit"), Some("20"));
    for _ in 0..5 {
        analyst
            .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
            .await
            .expect(200);
    }
    // 15 runs counted: a check of 10 more does not fit.
    analyst
        .post("/api/phase1/validate/consistency", &check)
        .await
        .expect_problem(429, "RATE_LIMITED");
    analyst
        .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
        .await
        .expect_problem(429, "RATE_LIMITED");

    let mut request = super::fixture("london-dc-alpha");
    let mut coupons: Vec<Value> = (0..10_000)
        .map(|i| json!(0.2 - f64::from(i) * 1e-5))
        .collect();
    let last = coupons[9_999].clone();
    coupons.extend(std::iter::repeat_n(last, 80_000));
    request["ranges"]["senior_coupon"] = Value::Array(coupons);
    let body = json!({"project": request["project"], "ranges": request["ranges"]});
    let counted = analyst
        .post("/api/phase1/permutations/cardinality", &body)
        .await;
    let c = counted.expect(200);
    let coupon = c["levers"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["name"] == json!("senior_coupon")))
        .cloned()
        .unwrap_or_default();
    assert_eq!(coupon["count"], json!(10_000), "{coupon}");
}

/// L1 and L2: with real stores and no APP_ENV the server is prod: a weak ops token, cron
/// secret or internal key stops it, and the ops token is no admin session.
pub async fn l1_l2_a_deployment_without_app_env_is_prod() {
    let store = Store::new(Backend::Real);
    let (code, stderr) = Server::refuses(
        &store,
        &[("APP_ENV", ""), ("PHASE1_ADMIN_TOKEN", "changeme")],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("PHASE1_ADMIN_TOKEN"), "{stderr}");
    let strong = "prod-ops-token-0123456789abcdefghijklmnopqrstuv";
    for var in ["CRON_SECRET", "PHASE1_INTERNAL_KEY"] {
        let (code, stderr) = Server::refuses(
            &store,
            &[("APP_ENV", ""), ("PHASE1_ADMIN_TOKEN", strong), (var, "x")],
        );
        assert_eq!(code, Some(1), "{stderr}");
        assert!(stderr.contains(var), "{var} not named: {stderr}");
    }
    let server = Server::start(&store, &[("APP_ENV", ""), ("PHASE1_ADMIN_TOKEN", strong)]);
    let env = Env::over(server);
    let ops = env.client(Auth::Anonymous).expecting_env("prod");
    ops.send(
        ops.request(reqwest::Method::POST, "/api/admin/users")
            .header("x-admin-token", strong)
            .json(&json!({"email": "mallory@example.com", "role": "admin",
                          "password": "a long pass phrase 123"})),
    )
    .await
    .expect_problem(401, "AUTH_REQUIRED");
}

/// L8: the embedded store's file is 0600 in a 0700 directory.
pub async fn l8_the_embedded_store_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let store = Store::new(Backend::Embedded);
    let path = store.dir().join("state").join("phase1.redb");
    let path_text = path.display().to_string();
    let server = Server::start(&store, &[("PHASE1_EMBEDDED_PATH", path_text.as_str())]);
    let env = Env::over(server);
    env.admin.get("/api/phase1/health").await.expect(200);
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().expect("dir")), 0o700);
}
