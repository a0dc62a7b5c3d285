//! The API as operators call it from curl: sign-in from a cookie jar on the short aliases,
//! form bodies, JSON without a JSON Content-Type, runs that name their ruleset and engine
//! features, and requests that name no project (the caller's draft or latest project, the
//! latest run's inputs).

use super::{auth::GENEROUS, london_project, Env};
use crate::harness::signin::{mfa_token, session, User};
use crate::harness::{Api, Auth, Backend};
use reqwest::Method;
use serde_json::{json, Value};

/// `application/x-www-form-urlencoded` of `pairs` (every byte but letters and digits
/// escaped).
fn form(pairs: &[(&str, &str)]) -> String {
    let escape = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `POST path` with a form body and, when given, a Cookie header.
async fn post_form(
    api: &Api,
    path: &str,
    body: &str,
    cookie: Option<&str>,
) -> crate::harness::Reply {
    let mut rb = api
        .request(Method::POST, path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_string());
    if let Some(c) = cookie {
        rb = rb.header("cookie", c);
    }
    api.send(rb).await
}

/// Sign-in as `curl -c jar -b jar -d …` does it: form bodies on `/auth/login` (with
/// `username`) and `/auth/mfa` (the code alone; the MFA token comes from login's cookie); a
/// body token wins over the cookie; the aliases share the auth rate-limit class; `/health`
/// is the health document; a JSON body sent as a form type is read as JSON.
pub async fn operators_sign_in_from_a_cookie_jar(backend: Backend) {
    let env = Env::start(backend, GENEROUS);
    let user = User::create(&env.admin, "admin").await;
    let anon = env.client(Auth::Anonymous);

    let login = post_form(
        &anon,
        "/auth/login",
        &form(&[("username", &user.email), ("password", &user.password)]),
        None,
    )
    .await;
    let token = mfa_token(&login);
    let (cookie, attrs) = login.set_cookie("phase1_mfa").expect("the MFA cookie");
    assert_eq!(cookie, token, "the cookie carries the body's MFA token");
    for want in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Max-Age=300",
        "Path=/",
    ] {
        assert!(attrs.contains(want), "MFA cookie {attrs:?} lacks {want}");
    }
    let jar = format!("phase1_mfa={cookie}");

    // A body token wins over the cookie: a wrong one fails although the cookie is good.
    let (code, _) = user.code();
    post_form(
        &anon,
        "/auth/mfa",
        &form(&[("mfa_token", "not-a-token"), ("code", &code)]),
        Some(&jar),
    )
    .await
    .expect_problem(401, "MFA_TOKEN_INVALID");
    let (code, _) = user.code();
    let done = post_form(&anon, "/auth/mfa", &form(&[("code", &code)]), Some(&jar)).await;
    let signed = session(&done);
    assert_eq!(signed.role, "admin");
    let (cleared, cleared_attrs) = done
        .set_cookie("phase1_mfa")
        .expect("the MFA cookie cleared");
    assert!(
        cleared.is_empty() && cleared_attrs.contains("Max-Age=0"),
        "{cleared_attrs}"
    );
    let me = env
        .client(Auth::Bearer(signed.access.clone()))
        .get("/api/auth/me")
        .await;
    assert_eq!(me.expect(200)["email"], json!(user.email));

    // Without a token in the body or a cookie, MFA names the missing field.
    let none = post_form(&anon, "/auth/mfa", &form(&[("code", "123456")]), None).await;
    assert_eq!(
        none.expect_problem(422, "VALIDATION_FAILED")["errors"][0]["field"],
        json!("mfa_token")
    );
    // Both names for the email is a mistake; a field given twice too.
    let both = post_form(
        &anon,
        "/api/auth/login",
        &form(&[
            ("username", "a@x.io"),
            ("email", "a@x.io"),
            ("password", "p"),
        ]),
        None,
    )
    .await;
    assert_eq!(
        both.expect_problem(422, "VALIDATION_FAILED")["errors"][0]["field"],
        json!("username")
    );
    post_form(&anon, "/api/auth/login", "email=a&email=b&password=p", None)
        .await
        .expect_problem(422, "VALIDATION_FAILED");
    // Only the sign-in routes take forms: elsewhere a form body is malformed JSON.
    let signed_in = env.client(Auth::Bearer(signed.access));
    post_form(
        &signed_in,
        "/api/phase1/projects/validate",
        "project=x",
        None,
    )
    .await
    .expect_problem(400, "MALFORMED_JSON");
    // JSON sent with a form type (`curl -d '{…}'`) is read as JSON.
    let validated = post_form(
        &signed_in,
        "/api/phase1/projects/validate",
        &json!({"project": london_project()}).to_string(),
        None,
    )
    .await;
    assert_eq!(validated.expect(200)["valid"], json!(true));
    let as_json = post_form(
        &anon,
        "/auth/login",
        &json!({"email": user.email, "password": user.password}).to_string(),
        None,
    )
    .await;
    mfa_token(&as_json);

    // /health is the health document.
    let health = anon.get("/health").await;
    let full = anon.get("/api/phase1/health").await;
    assert_eq!(health.expect(200)["version"], full.expect(200)["version"]);
    assert_eq!(health.json["ruleset_version"], full.json["ruleset_version"]);

    // The aliases are counted with the auth class (5 a minute by default).
    let strict = Env::start(backend, &[]);
    let anon = strict.client(Auth::Anonymous);
    let mut statuses = Vec::new();
    for path in [
        "/auth/login",
        "/api/auth/login",
        "/auth/mfa",
        "/auth/login",
        "/api/auth/mfa",
        "/auth/login",
    ] {
        let r = post_form(
            &anon,
            path,
            &form(&[("username", "x@example.com"), ("password", "p")]),
            None,
        )
        .await;
        assert_eq!(r.header("x-ratelimit-limit"), Some("5"), "{path}");
        statuses.push(r.status);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert!(statuses[..5].iter().all(|s| *s != 429), "{statuses:?}");
}

/// `ruleset_version` and `features` on runs: the named features are exactly the run's
/// options, each must be on for the caller, and provenance records them.
pub async fn runs_name_their_ruleset_and_features(backend: Backend) {
    let env = Env::start(backend, &[]);
    let (_, analyst) = Auth::analyst();
    let analyst = env.client(analyst);
    let body = |extra: Value| {
        let mut b = json!({"fixture": "small", "topn": 3});
        if let (Value::Object(m), Value::Object(e)) = (&mut b, extra) {
            m.extend(e);
        }
        b
    };

    let plain = analyst
        .post("/api/phase1/run", &body(json!({"ruleset_version": "v1.0"})))
        .await;
    let prov = plain.expect(200)["provenance"].clone();
    assert_eq!(prov["ruleset"]["version"], json!("v1.0"));
    assert_eq!(
        prov["features"],
        json!([
            "reverse_dscr_engine",
            "gates_ab",
            "repo_eligibility_rules",
            "viability_tiering",
            "input_hierarchy_processor"
        ]),
        "without features the caller's flags decide: all on"
    );
    assert_eq!(prov["project_source"], json!("fixture"));

    let bad = analyst
        .post("/api/phase1/run", &body(json!({"ruleset_version": "v9.9"})))
        .await;
    let p = bad.expect_problem(422, "VALIDATION_FAILED");
    assert_eq!(p["errors"][0]["field"], json!("ruleset_version"));
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("v1.0")),
        "{p}"
    );

    // Advisory: every feature but gates_ab.
    let advisory = json!([
        "reverse_dscr_engine",
        "repo_eligibility_rules",
        "viability_tiering"
    ]);
    let run = analyst
        .post("/api/phase1/run", &body(json!({"features": advisory})))
        .await;
    let doc = run.expect(200);
    assert_eq!(doc["provenance"]["features"], advisory);
    assert_eq!(
        doc["provenance"]["options"],
        json!({"enforce_gates": false, "repo_rules": true, "tiering": true, "input_hierarchy": false})
    );
    assert_ne!(
        doc["stats"], plain.json["stats"],
        "the run without gates differs from the one with them"
    );

    let unknown = analyst
        .post(
            "/api/phase1/run",
            &body(json!({"features": ["gates_ab", "warp_drive"]})),
        )
        .await;
    assert_eq!(
        unknown.expect_problem(422, "VALIDATION_FAILED")["errors"][0]["field"],
        json!("features[1]")
    );
    analyst
        .post("/api/phase1/run", &body(json!({"features": "gates_ab"})))
        .await
        .expect_problem(422, "VALIDATION_FAILED");

    // A feature the caller does not have cannot be asked for.
    env.admin
        .post(
            "/api/phase1/flags",
            &json!({"gates_ab": {"admin_only": true, "rollout_percentage": 0}}),
        )
        .await
        .expect(200);
    let off = analyst
        .post("/api/phase1/run", &body(json!({"features": ["gates_ab"]})))
        .await;
    assert_eq!(
        off.expect_problem(403, "FEATURE_DISABLED")["errors"][0]["field"],
        json!("flag")
    );
    assert!(
        off.json["detail"]
            .as_str()
            .is_some_and(|d| d.contains("gates_ab")),
        "{}",
        off.snippet()
    );
    let without = analyst.post("/api/phase1/run", &body(json!({}))).await;
    assert_eq!(
        without.expect(200)["provenance"]["options"]["enforce_gates"],
        json!(false),
        "without features the caller's flags decide"
    );
}

/// Requests that name no project use the caller's draft (their last valid
/// `projects/validate`), else their newest saved project, else say how to give one; a
/// consistency check that names no inputs re-runs the caller's latest run.
pub async fn requests_without_a_project_use_the_current_one(backend: Backend) {
    let env = Env::start(backend, &[]);
    let (_, a) = Auth::analyst();
    let analyst = env.client(a);
    let preset = json!({"preset": "balanced", "topn": 3, "sample": 500});

    let none = analyst.post("/api/phase1/run", &preset).await;
    let p = none.expect_problem(422, "VALIDATION_FAILED");
    assert_eq!(p["errors"][0]["field"], json!("project"));
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("projects/validate")),
        "{p}"
    );
    analyst
        .post("/api/phase1/validate/consistency", &json!({"runs": 2}))
        .await
        .expect_problem(422, "VALIDATION_FAILED");

    // The draft: kept by a valid validate, not by an invalid one.
    let mut project = london_project();
    analyst
        .post(
            "/api/phase1/projects/validate",
            &json!({"project": project}),
        )
        .await
        .expect(200);
    let mut broken = project.clone();
    broken["gross_it_load_mw"] = json!(-1);
    analyst
        .post("/api/phase1/projects/validate", &json!({"project": broken}))
        .await
        .expect_problem(422, "VALIDATION_FAILED");
    let run = analyst.post("/api/phase1/run", &preset).await;
    let doc = run.expect(200);
    assert_eq!(doc["provenance"]["project_source"], json!("draft"));
    let explicit = analyst
        .post(
            "/api/phase1/run",
            &json!({"project": project, "preset": "balanced", "topn": 3, "sample": 500}),
        )
        .await;
    assert_eq!(
        doc["top_20"],
        explicit.expect(200)["top_20"],
        "the draft is the project validated"
    );
    assert_eq!(
        explicit.json["provenance"]["project_source"],
        json!("project")
    );
    let card = analyst
        .post(
            "/api/phase1/permutations/cardinality",
            &json!({"preset": "balanced"}),
        )
        .await;
    assert_eq!(card.expect(200)["project_source"], json!("draft"));
    let applied = analyst
        .post(
            "/api/phase1/permutations/apply-preset",
            &json!({"preset": "repo_first"}),
        )
        .await;
    let applied = applied.expect(200);
    assert_eq!(
        (
            applied["project_source"].clone(),
            applied["project_id"].clone()
        ),
        (json!("draft"), Value::Null)
    );

    // Another analyst without a draft: their newest saved project.
    let (_, b) = Auth::analyst();
    let other = env.client(b);
    project["title"] = json!("Saved first");
    other
        .post("/api/phase1/projects", &json!({"project": project}))
        .await
        .expect(201);
    project["title"] = json!("Saved last");
    let saved = other
        .post("/api/phase1/projects", &json!({"project": project}))
        .await;
    let newest = saved.expect(201)["project_id"].clone();
    let ran = other.post("/api/phase1/run", &preset).await;
    let ran = ran.expect(200);
    assert_eq!(ran["provenance"]["project_source"], json!("latest_project"));
    let listed = other.get("/api/phase1/runs").await;
    assert_eq!(listed.expect(200)["runs"][0]["project_id"], newest);
    let applied = other
        .post(
            "/api/phase1/permutations/apply-preset",
            &json!({"preset": "balanced"}),
        )
        .await;
    assert_eq!(applied.expect(200)["project_id"], newest);

    // The consistency check with nothing but {seed, runs, compare}: the latest run's inputs.
    let check = other
        .post(
            "/api/phase1/validate/consistency",
            &json!({"seed": 7, "runs": 2, "compare": ["top_20"]}),
        )
        .await;
    let check = check.expect(200);
    assert_eq!(check["consistent"], json!(true), "{check}");
    assert_eq!(check["items"]["top_20"].as_array().map(Vec::len), Some(2));
}

/// Runs `scripts/smoke.sh` with `args`; its exit code and output.
fn smoke(args: &[&str], cache: &std::path::Path) -> (i32, String) {
    let out = std::process::Command::new("bash")
        .arg(crate::harness::cli::workspace_root().join("scripts/smoke.sh"))
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .output()
        .expect("bash runs scripts/smoke.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `scripts/smoke.sh` against `phase1 serve`: every check passes with a person's credentials
/// and the ops token, the authenticated checks are skipped without them, and a server that
/// is down or a wrong token fails with a non-zero exit; no secret is printed.
pub async fn smoke_script_checks_a_deployment(backend: Backend) {
    let env = Env::start(backend, &[]);
    let user = User::create(&env.admin, "admin").await;
    let cache = tempfile::tempdir().expect("a cache directory");
    let base = env.base().to_string();
    let secret = user.seed_base32();
    let token = crate::harness::ADMIN_TOKEN;

    let full = [
        base.as_str(),
        "--admin-token",
        token,
        "--email",
        &user.email,
        "--password",
        &user.password,
        "--totp-secret",
        &secret,
    ];
    let (code, out) = smoke(&full, cache.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("12 passed, 0 failed"), "{out}");
    for row in [
        "health",
        "readyz",
        "route-list",
        "login",
        "mfa",
        "me",
        "run",
        "export",
        "term-sheet.pdf",
        "term-sheet.md",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(row) && l.contains("PASS")),
            "no passing {row} row in {out}"
        );
    }
    for secret in [token, user.password.as_str(), secret.as_str()] {
        assert!(!out.contains(secret), "the output shows a secret: {out}");
    }

    let (code, out) = smoke(&[&base], cache.path());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("5 passed, 0 failed, 7 skipped"), "{out}");

    let (code, out) = smoke(&[&base, "--admin-token", "not-the-token"], cache.path());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("run") && l.contains("FAIL") && l.contains("401")),
        "{out}"
    );

    let down = format!("http://127.0.0.1:{}", crate::harness::server::free_port());
    let (code, out) = smoke(&[&down, "--timeout", "5"], cache.path());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("0 passed"), "{out}");

    let (code, out) = smoke(&["--admin-token"], cache.path());
    assert_eq!(code, 2, "bad arguments: {out}");
}

/// Today's date (UTC), `YYYY-MM-DD`.
fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        / 86_400;
    // Howard Hinnant's civil_from_days, to compare with the server's own.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The traffic the daily-report tests look for: two runs (one without gates), a 404, a
/// 422 and a failed sign-in.
async fn report_traffic(admin: &Api) {
    let (_, a) = Auth::analyst();
    let analyst = admin.as_caller(a);
    analyst
        .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
        .await
        .expect(200);
    analyst
        .post(
            "/api/phase1/run",
            &json!({"fixture": "small", "topn": 3,
                    "features": ["reverse_dscr_engine", "repo_eligibility_rules"]}),
        )
        .await
        .expect(200);
    analyst
        .get("/api/phase1/runs/no-such-run")
        .await
        .expect_problem(404, "NOT_FOUND");
    analyst
        .post("/api/phase1/run", &json!({"fixture": "nope"}))
        .await
        .expect_problem(422, "VALIDATION_FAILED");
    admin
        .as_caller(Auth::Anonymous)
        .post(
            "/api/auth/login",
            &json!({"email": "nobody@example.com", "password": "not the password at all"}), // pragma: allowlist secret
        )
        .await
        .expect_problem(401, "INVALID_CREDENTIALS");
}

/// The daily report sums the day: requests, errors by code, feature use, security events,
/// and the canary's checklist; JSON and Markdown; another day is empty; a bad date is 422;
/// it is for operators only.
pub async fn daily_report_sums_the_day(backend: Backend) {
    let env = Env::start(backend, &[]);
    report_traffic(&env.admin).await;
    let reply = env.admin.get("/api/phase1/reports/daily").await;
    let r = reply.expect(200);
    assert_eq!(r["date"], json!(today()));
    let t = &r["totals"];
    assert!(t["requests"].as_f64().is_some_and(|n| n >= 5.0), "{t}");
    assert!(t["p95_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{t}");
    assert!(t["mean_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{t}");
    assert!(
        t["peak_memory_mb"].as_f64().is_some_and(|mb| mb > 0.0),
        "{t}"
    );
    assert_eq!(t["security_events"]["login.failure"], json!(1.0), "{t}");
    let f = &r["features"];
    assert_eq!(f["runs"], json!(2.0), "{f}");
    assert_eq!(
        f["runs_by_feature"]["reverse_dscr_engine"],
        json!(2.0),
        "{f}"
    );
    assert_eq!(f["runs_by_feature"]["gates_ab"], json!(1.0), "{f}");
    assert_eq!(
        f["runs_by_feature"]["repo_eligibility_rules"],
        json!(2.0),
        "{f}"
    );
    assert!(f["repo_checks"].as_f64().is_some_and(|n| n > 0.0), "{f}");
    let errors = r["errors"].as_array().cloned().unwrap_or_default();
    for (code, status) in [
        ("NOT_FOUND", "404"),
        ("VALIDATION_FAILED", "422"),
        ("INVALID_CREDENTIALS", "401"),
    ] {
        assert!(
            errors.iter().any(|e| e["code"] == json!(code)
                && e["status"] == json!(status)
                && e["count"] == json!(1.0)),
            "{code} missing from {errors:?}"
        );
    }
    let c = &r["canary"];
    assert_eq!(c["phase"], json!("FULL"));
    assert_eq!(
        (c["next_phase"].clone(), c["ready_for_next_phase"].clone()),
        (Value::Null, json!(false)),
        "FULL has no next phase"
    );

    let md = env
        .admin
        .send(
            env.admin
                .request(Method::GET, "/api/phase1/reports/daily")
                .header("accept", "text/markdown"),
        )
        .await;
    assert_eq!(md.status, 200);
    assert!(md
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/markdown")));
    assert!(
        md.text
            .starts_with(&format!("# Phase-1 daily report, {}", today())),
        "{}",
        md.snippet()
    );
    assert!(
        md.text.contains("**Ready for the next phase: no.**"),
        "{}",
        md.text
    );
    assert!(md.text.contains("| NOT_FOUND | 404 | 1 |"), "{}", md.text);

    let old = env
        .admin
        .get("/api/phase1/reports/daily?date=2020-01-01")
        .await;
    assert_eq!(old.expect(200)["totals"]["requests"], json!(0.0));
    // In a canary phase, the checklist: each progress criterion, met or not.
    env.admin
        .post(
            "/api/phase1/canary/update",
            &json!({"phase": "CANARY_1", "reason": "report test"}),
        )
        .await
        .expect(200);
    let r = env.admin.get("/api/phase1/reports/daily").await;
    let c = &r.expect(200)["canary"];
    assert_eq!(
        (c["phase"].clone(), c["next_phase"].clone()),
        (json!("CANARY_1"), json!("CANARY_25"))
    );
    let checklist = c["checklist"].as_array().cloned().unwrap_or_default();
    assert!(
        checklist.len() >= 5 && checklist.iter().all(|k| k["met"].is_boolean()),
        "{c}"
    );
    assert_eq!(
        c["ready_for_next_phase"],
        json!(false),
        "not an hour in the phase yet: {c}"
    );
    assert!(
        c["reasons"].as_array().is_some_and(|r| !r.is_empty()),
        "{c}"
    );
    let bad = env
        .admin
        .get("/api/phase1/reports/daily?date=2026-02-30")
        .await;
    assert_eq!(
        bad.expect_problem(422, "VALIDATION_FAILED")["errors"][0]["field"],
        json!("date")
    );
    let (_, a) = Auth::analyst();
    env.client(a)
        .get("/api/phase1/reports/daily")
        .await
        .expect_problem(403, "FORBIDDEN");
}

/// `phase1 report daily` reads the same day from the stores once the server is gone.
pub async fn daily_report_on_the_command_line() {
    let store = crate::harness::Store::new(Backend::Embedded);
    let mut server = crate::harness::Server::start(&store, &[]);
    report_traffic(&Api::new(&server.base, Auth::Admin)).await;
    server.kill();
    let report = |args: &[&str]| {
        let out = std::process::Command::new(crate::harness::cli::phase1_bin())
            .args(["report", "daily"])
            .args(args)
            .env_clear()
            .envs(crate::harness::server::base_env())
            .envs(store.vars().iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(store.dir())
            .output()
            .expect("phase1 report runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, out, err) = report(&["--json"]);
    assert_eq!(code, Some(0), "{err}");
    let r: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(r["date"], json!(today()));
    assert_eq!(r["features"]["runs"], json!(2.0), "{out}");
    let (code, out, err) = report(&["--date", &today()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("| runs with gates_ab | 1 |"), "{out}");
    let (code, _, err) = report(&["--date", "yesterday", "--json"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("\"date\""), "{err}");
}

/// `sha256=<hex>` of HMAC-SHA256(`key`, `timestamp.body`), as a receiver checks it.
fn expected_signature(key: &str, timestamp: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("a key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Alerts reach every webhook signed; a failing webhook is retried with backoff until it
/// answers, one that never does is dead-lettered after 8 attempts; the queue's status says
/// so without showing a webhook's URL.
pub async fn alerts_are_delivered_signed_retried_and_dead_lettered(backend: Backend) {
    let flaky = crate::harness::upstream::Upstream::failing_first(2);
    let broken = crate::harness::upstream::Upstream::start();
    let key = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let hooks = format!(
        "{}/hook/flaky-path, {}/hook/broken-path",
        flaky.url(),
        broken.url()
    );
    let env = Env::start(
        backend,
        &[
            ("PHASE1_ALERT_WEBHOOKS", hooks.as_str()),
            ("PHASE1_ALERT_SECRET", key.as_str()),
            ("PHASE1_ALERT_BACKOFF_MS", "10"),
        ],
    );
    let before = env.admin.get("/api/notifications/status").await;
    let b = before.expect(200);
    assert_eq!(
        (
            b["queue_depth"].clone(),
            b["delivered"].clone(),
            b["failed"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );
    assert_eq!(b["webhooks"].as_array().map(Vec::len), Some(2));
    assert!(
        !before.text.contains("-path"),
        "webhook URLs are never shown: {}",
        before.text
    );

    // An emergency rollback, then a rollout step: two alerts, each for both webhooks.
    env.admin
        .post(
            "/api/phase1/rollback",
            &json!({"reason": "alert delivery test"}),
        )
        .await
        .expect(200);
    // The rollout step by a signed-in admin person.
    let person = User::create(&env.admin, "admin").await;
    let signed = crate::harness::signin::sign_in(&env.client(Auth::Anonymous), &person).await;
    env.client(Auth::Bearer(signed.access))
        .post(
            "/api/admin/rollout/execute",
            &json!({"target": "CANARY_25", "admin_only": true}),
        )
        .await
        .expect(200);
    let status = crate::harness::wait::until(
        "every delivery settled",
        std::time::Duration::from_secs(90),
        || {
            let admin = env.admin.clone();
            async move {
                // The worker cron, as the platform's scheduler calls it.
                admin.get("/api/phase1/internal/worker").await.expect(200);
                let s = admin
                    .get("/api/notifications/status")
                    .await
                    .expect(200)
                    .clone();
                (s["delivered"] == json!(2) && s["failed"] == json!(2)).then_some(s)
            }
        },
    )
    .await;
    assert_eq!(status["queue_depth"], json!(0));
    assert_eq!(status["oldest_pending_age_s"], Value::Null);
    let last = status["last_error"]["error"].as_str().unwrap_or_default();
    assert!(
        last.contains("answered HTTP 500") && !last.contains("-path"),
        "{status}"
    );

    // The flaky webhook: 2 failures, then both alerts delivered; every attempt signed.
    let got = flaky.received();
    assert_eq!(got.iter().filter(|r| r.status == 200).count(), 2, "{got:?}");
    assert_eq!(got.len(), 4, "two failed attempts and two deliveries");
    let mut kinds = Vec::new();
    for r in &got {
        assert_eq!(r.path, "/hook/flaky-path");
        let ts = r.headers.get("x-phase1-timestamp").expect("a timestamp");
        assert_eq!(
            r.headers.get("x-phase1-signature"),
            Some(&expected_signature(&key, ts, &r.body)),
            "the signature verifies"
        );
        let body: Value = serde_json::from_slice(&r.body).expect("JSON");
        assert!(
            body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("[Phase-1 dev] ")),
            "{body}"
        );
        if r.status == 200 {
            kinds.push(
                body["phase1"]["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    kinds.sort();
    assert_eq!(kinds, ["rollback.emergency", "rollout.executed"]);
    let ids: Vec<&String> = got
        .iter()
        .filter_map(|r| r.headers.get("x-phase1-delivery"))
        .collect();
    assert!(
        ids.iter()
            .any(|id| ids.iter().filter(|j| *j == id).count() > 1),
        "a retry carries its delivery id again: {ids:?}"
    );
    // The broken webhook: 8 attempts per alert, then dead-lettered.
    assert_eq!(broken.requests(), 16);
    // The alerts are logged, naming no person; the webhooks get the actor.
    let log = env.settled_log().await;
    assert!(log.contains("operator alert"), "no alert log line");
    assert!(!log.contains(&person.email), "an email in the log");
    let rollout = got
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .find(|b| b["phase1"]["kind"] == json!("rollout.executed"))
        .expect("the rollout alert");
    assert_eq!(rollout["phase1"]["details"]["actor"], json!(person.email));
}
