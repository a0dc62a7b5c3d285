//! Flags, canary, metrics and synthetic monitors over HTTP.

use super::Env;
use crate::harness::upstream::FailingUpstream;
use crate::harness::{Api, Auth, Backend, Server, Store};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

fn etag(reply: &crate::harness::Reply) -> String {
    reply
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag on {}", reply.snippet()))
        .trim_matches('"')
        .to_string()
}

async fn post_if_match(
    api: &Api,
    path: &str,
    version: &str,
    body: &Value,
) -> crate::harness::Reply {
    api.send(
        api.request(Method::POST, path)
            .header("if-match", format!("\"{version}\""))
            .json(body),
    )
    .await
}

async fn flags_version(admin: &Api) -> String {
    etag(&admin.get("/api/phase1/flags").await)
}

/// Reads, ETags, If-Match (412 when stale; optional), invalid keys first, concurrent
/// conditional writers (one wins) and unconditional ones (all land), the flat form, audit
/// rows that say whether a write was conditional.
pub async fn flag_writes_are_versioned_and_audited(backend: Backend) {
    let env = Env::start(backend, &[]);
    let admin = &env.admin;
    let read = admin.get("/api/phase1/flags").await;
    let body = read.expect(200);
    assert_eq!(
        body["version"],
        json!(1),
        "migrate writes version 1: {body}"
    );
    for f in [
        "phase1_core",
        "reverse_dscr_engine",
        "gates_ab",
        "docs_exports",
        "input_hierarchy_processor",
        "repo_eligibility_rules",
        "viability_tiering",
    ] {
        assert_eq!(
            body["flags"][f],
            json!({"enabled": true, "admin_only": false, "rollout_percentage": 100,
                   "allowlist": {"emails": [], "ips": []}}),
            "{f}"
        );
    }
    assert_eq!(etag(&read), "1");

    let change = json!({"changes": {"gates_ab": false}});
    post_if_match(admin, "/api/phase1/flags", "7", &change)
        .await
        .expect_problem(412, "VERSION_CONFLICT");
    // Keys are checked before permission and version.
    let anon = env.client(Auth::Anonymous);
    let bad = anon
        .post(
            "/api/phase1/flags",
            &json!({"changes": {"gatesAB": true, "gates_ab": {"colour": 1}}}),
        )
        .await;
    let p = bad.expect_problem(400, "INVALID_KEYS");
    assert_eq!(p["invalid_keys"], json!(["gatesAB", "gates_ab.colour"]));
    anon.post("/api/phase1/flags", &change)
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    let (_, analyst) = Auth::analyst();
    env.client(analyst)
        .post("/api/phase1/flags", &change)
        .await
        .expect_problem(403, "FORBIDDEN");
    post_if_match(
        admin,
        "/api/phase1/flags",
        "1",
        &json!({"changes": {"gates_ab": {"rollout_percentage": 101}}}),
    )
    .await
    .expect_problem(422, "VALIDATION_FAILED");

    // Ten writers with the same If-Match: exactly one wins.
    let writes = (0..10).map(|i| {
        let body = json!({"updates": {"gates_ab": {"rollout_percentage": i * 10}}});
        async move { post_if_match(admin, "/api/admin/flags/update", "1", &body).await }
    });
    let replies = join_all(writes).await;
    let won: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    let lost = replies.iter().filter(|r| r.status == 412).count();
    assert_eq!(
        (won.len(), lost),
        (1, 9),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let winner = won[0].json.clone();
    assert_eq!(winner["version"], json!(2));
    assert_eq!(winner["applied"], json!(["gates_ab"]));
    assert_eq!(flags_version(admin).await, "2");

    let audit = admin.get("/api/phase1/flags/audit").await;
    let row = &audit.expect(200)["rows"][0];
    assert_eq!(row["audit_id"], winner["audit_id"]);
    assert_eq!(row["action"], json!("flags.update"));
    assert_eq!(row["route"], json!("/api/admin/flags/update"));
    assert_eq!(
        (row["version_before"].clone(), row["version_after"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(row["old"]["gates_ab"]["rollout_percentage"], json!(100));
    assert!(row["new"]["gates_ab"]["rollout_percentage"].is_u64());
    assert!(row["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(row["when"].is_i64());
    assert_eq!(row["conditional"], json!(true));

    // Without If-Match (or with `*`) a write applies to the current version and says so in
    // its audit row; the flat form names the flags at the top level.
    let plain = admin
        .post("/api/phase1/flags", &json!({"gates_ab": false}))
        .await;
    assert_eq!(plain.expect(200)["version"], json!(3));
    let audit = admin.get("/api/phase1/flags/audit").await;
    let row = &audit.expect(200)["rows"][0];
    assert_eq!(row["conditional"], json!(false));
    assert_eq!(row["route"], json!("/api/phase1/flags"));
    assert_eq!(
        (
            row["old"]["gates_ab"]["enabled"].clone(),
            row["new"]["gates_ab"]["enabled"].clone()
        ),
        (json!(true), json!(false))
    );
    let starred = admin
        .send(
            admin
                .request(Method::POST, "/api/admin/flags/update")
                .header("if-match", "*")
                .json(&json!({"gates_ab": {"enabled": true}})),
        )
        .await;
    assert_eq!(starred.expect(200)["version"], json!(4));
    let flat_bad = admin
        .post(
            "/api/phase1/flags",
            &json!({"gates_ab": {"rollout_percentage": 101}}),
        )
        .await;
    assert_eq!(
        flat_bad.expect_problem(422, "VALIDATION_FAILED")["errors"][0]["field"],
        json!("gates_ab.rollout_percentage"),
        "the flat form's field paths have no prefix"
    );
    admin
        .post("/api/phase1/flags", &json!({"gatesAB": true}))
        .await
        .expect_problem(400, "INVALID_KEYS");
    // Ten unconditional writers at once: every one lands, each on its own version.
    let writes = (0..10).map(|i| {
        let body = json!({"gates_ab": {"rollout_percentage": i * 10}});
        async move { admin.post("/api/phase1/flags", &body).await }
    });
    let mut versions: Vec<u64> = join_all(writes)
        .await
        .iter()
        .map(|r| r.expect(200)["version"].as_u64().expect("a version"))
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, (5..=14).collect::<Vec<u64>>());
}

/// Buckets of 1,000 emails equal an independent murmur3; allowlists and admin_only; flags
/// gate routes.
pub async fn flag_evaluation_and_gating(backend: Backend) {
    let env = Env::start(backend, &[]);
    let admin = &env.admin;
    for i in 0..1000 {
        let email = format!("user{i}.{}@example.com", i * 7919 % 1000);
        let r = admin
            .get(&format!(
                "/api/phase1/flags/evaluate?email={email}&role=analyst"
            ))
            .await;
        let body = r.expect(200);
        let key = format!("gates_ab:{email}");
        let expected = mur3::murmurhash3_x86_32(key.as_bytes(), 0) % 100 + 1;
        assert_eq!(
            body["flags"]["gates_ab"]["bucket"],
            json!(expected),
            "{email}"
        );
        assert_eq!(body["flags"]["gates_ab"]["on"], json!(true));
    }
    let v = flags_version(admin).await;
    let change = json!({"changes": {"docs_exports": {"admin_only": true, "rollout_percentage": 0,
        "allowlist": {"emails": ["Friend@Example.com"], "ips": ["10.0.0.0/8", "2001:db8::/32"]}}}});
    post_if_match(admin, "/api/phase1/flags", &v, &change)
        .await
        .expect(200);
    let eval = |q: String| {
        let admin = admin.clone();
        async move {
            let r = admin.get(&format!("/api/phase1/flags/evaluate?{q}")).await;
            r.expect(200)["flags"]["docs_exports"].clone()
        }
    };
    let friend = eval("email=friend@example.com".into()).await;
    assert_eq!(
        (friend["on"].clone(), friend["reason"].clone()),
        (json!(true), json!("allowlist (email)"))
    );
    let from_net = eval("email=x@example.com&ip=10.9.8.7".into()).await;
    assert_eq!(from_net["reason"], json!("allowlist (ip)"));
    let v6 = eval("email=x@example.com&ip=2001:db8::1".into()).await;
    assert_eq!(v6["on"], json!(true));
    let other = eval("email=x@example.com&ip=192.0.2.1".into()).await;
    assert_eq!(
        (other["on"].clone(), other["reason"].clone()),
        (json!(false), json!("admin_only"))
    );
    let boss = eval("email=x@example.com&role=admin".into()).await;
    assert_eq!(
        (boss["on"].clone(), boss["reason"].clone()),
        (json!(true), json!("admin"))
    );
    admin
        .get("/api/phase1/flags/evaluate?email=nope&ip=1.2.3")
        .await
        .expect_problem(422, "VALIDATION_FAILED");

    // The flag gates the route, per user.
    let (_, analyst) = Auth::analyst();
    let analyst = env.client(analyst);
    let ran = analyst
        .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
        .await;
    let run_id = ran.expect(200)["run_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let export = analyst
        .get(&format!(
            "/api/phase1/securitisation/export/1?run_id={run_id}"
        ))
        .await;
    let p = export.expect_problem(403, "FEATURE_DISABLED");
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("docs_exports")),
        "{p}"
    );
    // The engine options follow the flags: gates_ab off → enforce_gates false.
    let v = flags_version(admin).await;
    post_if_match(
        admin,
        "/api/phase1/flags",
        &v,
        &json!({"changes": {"gates_ab": false}}),
    )
    .await
    .expect(200);
    let ran = analyst
        .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
        .await;
    assert_eq!(
        ran.expect(200)["provenance"]["options"]["enforce_gates"],
        json!(false)
    );
    let me = analyst.get("/api/auth/me").await;
    assert_eq!(me.expect(200)["flags"]["gates_ab"], json!(false));
}

/// An analyst whose bucket puts `flag` on at the canary's current percentage.
async fn analyst_in_canary(env: &Env, flag: &str) -> Api {
    for _ in 0..500 {
        let (email, auth) = Auth::analyst();
        let r = env
            .admin
            .get(&format!("/api/phase1/flags/evaluate?email={email}"))
            .await;
        if r.expect(200)["flags"][flag]["on"] == json!(true) {
            return env.client(auth);
        }
    }
    panic!("no analyst in the canary's buckets");
}

async fn enter(env: &Env, phase: &str) {
    let status = env.admin.get("/api/phase1/canary/status").await;
    let v = etag(&status);
    let r = post_if_match(
        &env.admin,
        "/api/phase1/canary/update",
        &v,
        &json!({"phase": phase, "reason": "test"}),
    )
    .await;
    assert_eq!(r.expect(200)["canary"]["phase"], json!(phase));
}

/// Business traffic with 10 % errors rolls the canary back; clean traffic holds until the
/// minimum runtime; the rollback routes leave every flag off.
pub async fn canary_rolls_back_on_errors(backend: Backend) {
    let upstream = FailingUpstream::start();
    let url = upstream.url();
    let env = Env::start(
        backend,
        &[
            ("PHASE1_RATE_LIMITS", "api=1000,run=1000"),
            ("PHASE1_SHARD_SIZE", "10"),
            ("PHASE1_SHARD_URL", &url),
            ("PHASE1_INTERNAL_KEY", crate::harness::INTERNAL_KEY),
        ],
    );
    let status = env
        .client(Auth::Anonymous)
        .get("/api/phase1/canary/status")
        .await;
    assert_eq!(status.expect(200)["phase"], json!("FULL"));
    enter(&env, "CANARY_25").await;
    let flags = env.admin.get("/api/phase1/flags").await;
    let f = &flags.expect(200)["flags"];
    assert_eq!(f["reverse_dscr_engine"]["rollout_percentage"], json!(25));
    assert_eq!(
        f["phase1_core"]["rollout_percentage"],
        json!(100),
        "phase1_core is not controlled"
    );

    // 100 clean business requests: HOLD, for the minimum runtime alone.
    let analyst = analyst_in_canary(&env, "reverse_dscr_engine").await;
    let project = json!({"project": super::london_project()});
    for _ in 0..100 {
        analyst
            .post("/api/phase1/projects/validate", &project)
            .await
            .expect(200);
    }
    let judged = env
        .admin
        .post("/api/phase1/canary/evaluate", &json!({}))
        .await;
    let j = judged.expect(200);
    assert_eq!(j["decision"], json!("HOLD"), "{j}");
    let reasons = j["reasons"].as_array().cloned().unwrap_or_default();
    assert_eq!(reasons.len(), 1, "{j}");
    assert!(
        reasons[0]
            .as_str()
            .is_some_and(|r| r.starts_with("minutes_in_phase")),
        "{j}"
    );
    // Admin traffic is not measured.
    assert_eq!(j["measured"]["successes"], json!(100.0), "{j}");

    // 12 failing runs (502 SHARD_FAILED) among 108 more successes: 10 % errors. From one
    // analyst they do not roll back the canary for everyone…
    for _ in 0..8 {
        analyst
            .post("/api/phase1/projects/validate", &project)
            .await
            .expect(200);
    }
    for _ in 0..12 {
        analyst
            .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
            .await
            .expect_problem(502, "SHARD_FAILED");
    }
    let judged = env.admin.post("/api/phase1/canary/tick", &json!({})).await;
    let j = judged.expect(200);
    assert_eq!(j["decision"], json!("HOLD"), "{j}");
    assert!(
        j["reasons"].as_array().is_some_and(|r| r.iter().any(|r| r
            .as_str()
            .is_some_and(|r| r.starts_with("not rolled back: error_rate")))),
        "{j}"
    );
    // …from three, they do.
    for _ in 0..2 {
        let other = analyst_in_canary(&env, "reverse_dscr_engine").await;
        for _ in 0..60 {
            other
                .post("/api/phase1/projects/validate", &project)
                .await
                .expect(200);
        }
        for _ in 0..8 {
            other
                .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
                .await
                .expect_problem(502, "SHARD_FAILED");
        }
    }
    let judged = env.admin.post("/api/phase1/canary/tick", &json!({})).await;
    let j = judged.expect(200);
    assert_eq!(j["decision"], json!("ROLLBACK"), "{j}");
    assert_eq!(j["rolled_back"], json!(true));
    let status = env
        .client(Auth::Anonymous)
        .get("/api/phase1/canary/status")
        .await;
    let s = status.expect(200);
    assert_eq!(s["phase"], json!("ROLLED_BACK"));
    assert_eq!(s["last_decision"]["decision"], json!("ROLLBACK"));
    assert_eq!(s["last_decision"]["rolled_back"], json!(true));
    for hidden in ["criteria", "measured", "reasons"] {
        assert!(s["last_decision"].get(hidden).is_none(), "{s}");
    }
    assert!(
        !s.to_string().contains("p95") && !s.to_string().contains("memory"),
        "the public status shows no measurements: {s}"
    );
    let flags = env.admin.get("/api/phase1/flags").await;
    let f = &flags.expect(200)["flags"];
    assert_eq!(f["reverse_dscr_engine"]["enabled"], json!(false));
    assert_eq!(f["phase1_core"]["enabled"], json!(true));
    analyst
        .post("/api/phase1/run", &json!({"fixture": "small"}))
        .await
        .expect_problem(403, "FEATURE_DISABLED");
    let errors = env.admin.get("/api/phase1/logs/errors?last=50").await;
    let events = errors.expect(200)["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        events.iter().any(|e| e["code"] == json!("SHARD_FAILED")),
        "{events:?}"
    );
    assert!(events.iter().any(|e| e["kind"] == json!("canary.rollback")));

    // Emergency rollback: every flag off, measured time to recovery; no body, or a reason and
    // a target percentage of 0 (another percentage is refused).
    env.admin
        .post("/api/phase1/rollback", &json!({"target_percentage": 25}))
        .await
        .expect_problem(422, "VALIDATION_FAILED");
    let rb = env
        .admin
        .post(
            "/api/phase1/rollback",
            &json!({"reason": "test emergency", "target_percentage": 0}),
        )
        .await;
    let r = rb.expect(200);
    assert_eq!(r["rolled_back"], json!(true));
    assert!(
        r["time_to_recovery_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{r}"
    );
    let flags = env.admin.get("/api/phase1/flags").await;
    let f = flags.expect(200)["flags"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert_eq!(f.len(), 7);
    assert!(f.values().all(|x| x["enabled"] == json!(false)), "{f:?}");
    analyst
        .post("/api/phase1/projects/validate", &project)
        .await
        .expect_problem(403, "FEATURE_DISABLED");
    let status = env.admin.get("/api/phase1/status/full").await;
    let full = status.expect(200);
    assert_eq!(full["canary"]["phase"], json!("ROLLED_BACK"));
    assert!(full["go_no_go"]["decision"].is_string());
    assert_eq!(full["stores"]["document"]["ok"], json!(true));
    drop(upstream);
}

/// Rollout plans list the steps; execute refuses to widen without GO (409) and may narrow.
pub async fn rollout_plan_and_execute(backend: Backend) {
    let env = Env::start(backend, &[]);
    let plan = env
        .admin
        .post(
            "/api/admin/rollout/plan",
            &json!({"target": "CANARY_25", "admin_only": true, "eta": "tomorrow 09:00"}),
        )
        .await;
    let p = plan.expect(200);
    assert_eq!(p["eta"], json!("tomorrow 09:00"), "the plan echoes the eta");
    env.admin
        .post(
            "/api/admin/rollout/plan",
            &json!({"target": "CANARY_25", "eta": 5}),
        )
        .await
        .expect_problem(422, "VALIDATION_FAILED");
    let steps: Vec<Value> = p["steps"].as_array().cloned().unwrap_or_default();
    let phases: Vec<&Value> = steps.iter().map(|s| &s["phase"]).collect();
    assert_eq!(
        phases,
        vec![
            &json!("ADMIN_ONLY"),
            &json!("CANARY_1"),
            &json!("CANARY_25")
        ]
    );
    let v = etag(&env.admin.get("/api/phase1/canary/status").await);
    let stale = (v.parse::<u64>().expect("a version") + 5).to_string();
    let body = json!({"target": "CANARY_25", "admin_only": true, "eta": "2026-12-04T09:00Z"});
    post_if_match(&env.admin, "/api/admin/rollout/execute", &stale, &body)
        .await
        .expect_problem(412, "VERSION_CONFLICT");
    // Without If-Match: the step is taken from the state it was judged on.
    let first = env.admin.post("/api/admin/rollout/execute", &body).await;
    let entered = first.expect(200);
    assert_eq!(entered["entered"], json!("ADMIN_ONLY"));
    assert_eq!(entered["eta"], json!("2026-12-04T09:00Z"));
    let audit = env.admin.get("/api/phase1/flags/audit").await;
    let rows = audit.expect(200)["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let row = rows
        .iter()
        .find(|r| r["action"] == json!("canary.update"))
        .expect("a canary.update row");
    assert_eq!(row["conditional"], json!(false));
    let v = etag(&env.admin.get("/api/phase1/canary/status").await);
    let refused = post_if_match(&env.admin, "/api/admin/rollout/execute", &v, &body).await;
    let r = refused.expect_problem(409, "ROLLOUT_REFUSED");
    assert_eq!(r["decision"], json!("HOLD"));
    let flags = env.admin.get("/api/phase1/flags").await;
    let f = &flags.expect(200)["flags"]["gates_ab"];
    assert_eq!(
        (f["admin_only"].clone(), f["rollout_percentage"].clone()),
        (json!(true), json!(0))
    );
}

/// Two servers over the same stores report the same aggregated metrics; the exposition
/// parses; the summary and cache tiles read the same buckets. (The embedded store belongs
/// to one process, so there the two clients speak to one server.)
pub async fn metrics_are_shared_and_parse(backend: Backend) {
    let store = Store::new(backend);
    let a = Env::over(Server::start(&store, &[]));
    let second = (backend == Backend::Real).then(|| Env::over(Server::start(&store, &[])));
    let b = second.as_ref().unwrap_or(&a);
    let (_, auth) = Auth::analyst();
    let project = json!({"project": super::london_project()});
    for _ in 0..3 {
        a.client(auth.clone())
            .post("/api/phase1/projects/validate", &project)
            .await
            .expect(200);
    }
    for _ in 0..4 {
        b.client(auth.clone())
            .post("/api/phase1/projects/validate", &project)
            .await
            .expect(200);
    }
    a.client(auth.clone())
        .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
        .await
        .expect(200);
    b.client(auth.clone())
        .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
        .await
        .expect(200);
    let series =
        r#"request_count_total{route="/api/phase1/projects/validate",method="POST",status="200"}"#;
    let mut seen = Vec::new();
    for env in [&a, b] {
        let text = env.admin.get("/api/phase1/metrics").await.text;
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let parsed = prometheus_parse::Scrape::parse(lines).expect("the exposition parses");
        assert!(parsed.samples.len() > 20, "{text}");
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(series))
            .map(|v| v.trim().parse::<f64>().expect("a number"));
        assert_eq!(value, Some(7.0), "{text}");
        let runs = text.lines().find_map(|l| l.strip_prefix("runs_total "));
        assert_eq!(runs, Some("1"), "one run computed, one cached");
        let evaluated = text
            .lines()
            .find_map(|l| l.strip_prefix("permutations_processed_total "))
            .and_then(|v| v.parse::<f64>().ok());
        assert!(evaluated.is_some_and(|e| e > 0.0));
        assert!(text.contains("# TYPE response_time_ms histogram"));
        seen.push(
            parsed
                .samples
                .iter()
                .filter(|s| s.metric == "runs_total")
                .count(),
        );
        let cache = env.admin.get("/api/admin/metrics/cache").await;
        let c = cache.expect(200);
        assert_eq!(
            (
                c["hits"].clone(),
                c["misses"].clone(),
                c["hit_rate"].clone()
            ),
            (json!(1.0), json!(1.0), json!(0.5))
        );
        let summary = env.admin.get("/api/phase1/metrics/summary").await;
        let s = summary.expect(200);
        assert!(
            s["throughput"]["requests"]
                .as_f64()
                .is_some_and(|r| r >= 9.0),
            "{s}"
        );
        assert!(s["performance"]["p95_ms"].is_number());
        assert!(s["pruning"]["evaluated"].as_f64().is_some_and(|e| e > 0.0));
        assert!(s["memory"]["max_mb"].as_f64().is_some_and(|m| m > 0.0));
    }
    assert_eq!(seen, vec![1, 1]);
}

/// A monitor whose threshold is crossed raises exactly one alert, however often it runs.
pub async fn synthetic_monitor_alerts_once(backend: Backend) {
    let env = Env::start(
        backend,
        &[("CRON_SECRET", "blackbox-cron-secret-0123456789")],
    );
    let cron = env.client(Auth::Bearer("blackbox-cron-secret-0123456789".into()));
    let idle = cron.get("/api/phase1/synthetic/run").await;
    assert_eq!(idle.expect(200)["ran"], json!(false));
    env.client(Auth::Anonymous)
        .get("/api/phase1/synthetic/run")
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    env.admin
        .post(
            "/api/admin/synthetic/start",
            &json!({"interval": "5m", "actions": ["dance"]}),
        )
        .await
        .expect_problem(422, "VALIDATION_FAILED");
    let start = env
        .admin
        .post(
            "/api/admin/synthetic/start",
            &json!({"interval": "5m",
            "actions": ["validate", "derived", "cardinality", "run"],
            "alert_threshold": {"error_rate": 0.5, "p95_ms": 0}}),
        )
        .await;
    start.expect(200);
    let first = cron.get("/api/phase1/synthetic/run").await;
    let f = first.expect(200);
    let results = f["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 4, "{f}");
    assert!(
        results.iter().all(|r| r["ok"] == json!(true)),
        "every action succeeds: {f}"
    );
    assert!(results
        .iter()
        .all(|r| r["latency_ms"].as_f64().is_some_and(|l| l > 0.0)));
    assert_eq!(f["crossed"], json!(true), "p95 above 0 ms: {f}");
    assert!(f["alert"].is_object(), "{f}");
    let second = cron.post("/api/phase1/synthetic/run", &json!({})).await;
    let s = second.expect(200);
    assert_eq!(s["crossed"], json!(true));
    assert!(s["alert"].is_null(), "one alert per crossing: {s}");
    let status = env.admin.get("/api/admin/synthetic/status").await;
    let st = status.expect(200);
    assert_eq!(st["alerts"].as_array().map(Vec::len), Some(1), "{st}");
    assert_eq!(st["results"].as_array().map(Vec::len), Some(8));
    assert_eq!(st["alert"]["open"], json!(true));
    let audit = env.admin.get("/api/phase1/flags/audit?limit=100").await;
    let rows = audit.expect(200)["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        rows.iter()
            .filter(|r| r["action"] == json!("synthetic.alert"))
            .count(),
        1
    );
    let text = env.admin.get("/api/phase1/metrics").await.text;
    assert!(
        text.lines().any(|l| l == "synthetic_alerts_total 1"),
        "{text}"
    );
    let log = env.settled_log().await;
    assert_eq!(log.matches("synthetic monitor alert").count(), 1);
    let line = log
        .lines()
        .find(|l| l.contains("synthetic monitor alert"))
        .unwrap_or_default();
    assert!(line.contains("\"ERROR\""), "{line}");
}

/// Every request's log line carries the fields of api.md; a run's line its provenance.
pub async fn log_lines_carry_the_fields(backend: Backend) {
    let env = Env::start(backend, &[]);
    let (email, auth) = Auth::analyst();
    let r = env
        .client(auth)
        .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
        .await;
    let id = r.request_id().to_string();
    r.expect(200);
    let log = env.settled_log().await;
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.contains(&id))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let request = lines
        .iter()
        .find(|l| l["message"] == json!("request"))
        .unwrap_or_else(|| panic!("no request line for {id} in {log}"));
    let f = request;
    for k in [
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "user",
        "flag_version",
    ] {
        assert!(!f[k].is_null(), "{k} missing: {request}");
    }
    assert!(request["timestamp"].is_string() && request["level"].is_string());
    assert_eq!(f["flag_version"], json!(1));
    let run = lines
        .iter()
        .find(|l| l["message"] == json!("run finished"))
        .unwrap_or_else(|| panic!("no run line for {id} in {log}"));
    for k in [
        "run_id",
        "seed",
        "ruleset_version",
        "ruleset_hash",
        "range_signature",
        "shards",
        "commit_sha",
        "evaluated",
        "gate_a_pruned",
        "gate_b_pruned",
    ] {
        assert!(!run[k].is_null(), "{k} missing: {run}");
    }
    assert!(!log.contains(&email), "emails never appear in logs");
}
