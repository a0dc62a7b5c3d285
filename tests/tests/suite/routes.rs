//! Every route's success path: probes, version, route list, OpenAPI, projects, presets,
//! cardinality, the sync run and everything that reads it, consistency, rules.

use super::{london_project, run_id, Env};
use crate::harness::{cli, compare, Auth, Backend, BUILD_ID, COMMIT_SHA, RULESET_VERSION};
use serde_json::{json, Value};

/// The route table of api.md as the app serves it: method, path, auth level, flags.
const ROUTES: [(&str, &str, &str, &[&str]); 72] = [
    ("GET", "/api/notifications/status", "ops", &[]),
    ("GET", "/api/phase1/reports/daily", "ops", &[]),
    ("GET", "/health", "public", &[]),
    ("POST", "/auth/login", "public", &[]),
    ("POST", "/auth/mfa", "public", &[]),
    ("GET", "/api/phase1/canary/status", "public", &[]),
    ("GET", "/api/phase1/flags", "ops", &[]),
    ("POST", "/api/phase1/flags", "ops", &[]),
    ("POST", "/api/admin/flags/update", "ops", &[]),
    ("POST", "/api/admin/flags/rollback", "ops", &[]),
    ("POST", "/api/phase1/rollback", "ops", &[]),
    ("GET", "/api/phase1/flags/evaluate", "ops", &[]),
    ("GET", "/api/phase1/flags/audit", "ops", &[]),
    ("POST", "/api/admin/allowlist/update", "ops", &[]),
    ("POST", "/api/phase1/canary/update", "ops", &[]),
    ("POST", "/api/phase1/canary/evaluate", "ops", &[]),
    ("GET", "/api/phase1/canary/tick", "cron", &[]),
    ("POST", "/api/phase1/canary/tick", "cron", &[]),
    ("POST", "/api/admin/rollout/plan", "ops", &[]),
    ("POST", "/api/admin/rollout/execute", "ops", &[]),
    ("GET", "/api/phase1/status/full", "ops", &[]),
    ("GET", "/api/phase1/metrics", "ops", &[]),
    ("GET", "/api/phase1/metrics/summary", "ops", &[]),
    ("GET", "/api/admin/metrics/slow-queries", "ops", &[]),
    ("GET", "/api/admin/metrics/cache", "ops", &[]),
    ("POST", "/api/admin/synthetic/start", "ops", &[]),
    ("GET", "/api/phase1/synthetic/run", "cron", &[]),
    ("POST", "/api/phase1/synthetic/run", "cron", &[]),
    ("GET", "/api/admin/synthetic/status", "ops", &[]),
    ("GET", "/api/phase1/logs/errors", "ops", &[]),
    ("GET", "/healthz", "public", &[]),
    ("GET", "/readyz", "public", &[]),
    ("GET", "/api/phase1/health", "public", &[]),
    ("GET", "/api/phase1/version", "public", &[]),
    ("GET", "/api/phase1/route-list", "public", &[]),
    ("GET", "/api/phase1/openapi.json", "public", &[]),
    ("POST", "/api/auth/login", "public", &[]),
    ("POST", "/api/auth/mfa", "public", &[]),
    ("POST", "/api/auth/refresh", "public", &[]),
    ("POST", "/api/auth/logout", "session", &[]),
    ("GET", "/api/auth/me", "session", &[]),
    ("POST", "/api/auth/password", "session", &[]),
    ("GET", "/api/admin/users", "admin", &[]),
    ("POST", "/api/admin/users", "admin", &[]),
    ("POST", "/api/admin/users/{email}/reset-mfa", "admin", &[]),
    ("POST", "/api/admin/users/{email}/unlock", "admin", &[]),
    ("DELETE", "/api/admin/users/{email}", "admin", &[]),
    ("DELETE", "/api/admin/ip-blocks/{ip}", "ops", &[]),
    (
        "POST",
        "/api/phase1/projects/validate",
        "session",
        &["phase1_core"],
    ),
    ("POST", "/api/phase1/projects", "session", &["phase1_core"]),
    ("GET", "/api/phase1/projects", "session", &["phase1_core"]),
    (
        "GET",
        "/api/phase1/projects/{id}",
        "session",
        &["phase1_core"],
    ),
    (
        "DELETE",
        "/api/phase1/projects/{id}",
        "session",
        &["phase1_core"],
    ),
    (
        "GET",
        "/api/phase1/permutations/presets",
        "session",
        &["phase1_core"],
    ),
    (
        "POST",
        "/api/phase1/permutations/apply-preset",
        "session",
        &["phase1_core"],
    ),
    (
        "POST",
        "/api/phase1/permutations/cardinality",
        "session",
        &["phase1_core"],
    ),
    (
        "POST",
        "/api/phase1/run",
        "session",
        &["phase1_core", "reverse_dscr_engine"],
    ),
    ("GET", "/api/phase1/runs", "session", &["phase1_core"]),
    (
        "GET",
        "/api/phase1/runs/{run_id}",
        "session",
        &["phase1_core"],
    ),
    (
        "DELETE",
        "/api/phase1/runs/{run_id}",
        "session",
        &["phase1_core"],
    ),
    (
        "GET",
        "/api/phase1/securitisation/top20",
        "session",
        &["phase1_core"],
    ),
    (
        "GET",
        "/api/phase1/securitisation/export/{rank}",
        "session",
        &["phase1_core", "docs_exports"],
    ),
    (
        "POST",
        "/api/phase1/documents/term-sheet",
        "session",
        &["phase1_core", "docs_exports"],
    ),
    (
        "GET",
        "/api/phase1/runs/{run_id}/structures/{rank}/{document}",
        "session",
        &["phase1_core", "docs_exports"],
    ),
    (
        "GET",
        "/api/phase1/runs/{run_id}/top.csv",
        "session",
        &["phase1_core"],
    ),
    (
        "GET",
        "/api/phase1/constraints",
        "session",
        &["phase1_core"],
    ),
    (
        "POST",
        "/api/phase1/validate/consistency",
        "session",
        &["phase1_core", "reverse_dscr_engine"],
    ),
    ("GET", "/api/phase1/rules", "session", &["phase1_core"]),
    (
        "POST",
        "/api/phase1/rules/validate",
        "session",
        &["phase1_core"],
    ),
    ("POST", "/api/phase1/internal/shard", "internal", &[]),
    ("GET", "/api/phase1/internal/worker", "cron", &[]),
    ("POST", "/api/phase1/internal/worker", "cron", &[]),
];

/// Whether `s` is 64 lower-case hex digits (a SHA-256).
fn is_sha256(s: &Value) -> bool {
    s.as_str()
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The store backends `/readyz` should name.
fn backend_names(backend: Backend) -> (&'static str, &'static str) {
    match backend {
        Backend::Embedded => ("embedded", "embedded"),
        Backend::Real => ("mongodb", "redis"),
    }
}

/// healthz, readyz, health, version.
pub async fn probes(backend: Backend) {
    let env = Env::start(backend, &[]);
    let anon = env.client(Auth::Anonymous);
    assert_eq!(
        anon.get("/healthz").await.expect(200),
        &json!({"status": "ok"})
    );

    let ready = anon.get("/readyz").await;
    let r = ready.expect(200);
    assert_eq!(r["status"], "ready");
    let (doc, kv) = backend_names(backend);
    for (component, name) in [("document_store", doc), ("key_value_store", kv)] {
        let c = &r["components"][component];
        assert_eq!(c["status"], "ok", "{component}: {c}");
        assert_eq!(c["backend"], name, "{component}: {c}");
        assert!(c["latency_ms"].is_number(), "{component}: {c}");
    }
    assert_eq!(r["components"]["ruleset"]["status"], "ok");
    assert_eq!(r["components"]["ruleset"]["version"], RULESET_VERSION);
    let hash = r["components"]["ruleset"]["hash"].clone();
    assert!(is_sha256(&hash), "ruleset hash {hash}");

    let health = anon.get("/api/phase1/health").await;
    let h = health.expect(200);
    assert_eq!(h["status"], "ok");
    assert!(h["version"].is_string());
    assert_eq!(h["ruleset_version"], RULESET_VERSION);
    assert!(
        h.get("flag_version").is_some(),
        "health without flag_version: {h}"
    );
    assert_eq!(h["components"]["document_store"]["status"], "ok");

    let version = anon.get("/api/phase1/version").await;
    let v = version.expect(200);
    assert_eq!(v["commit_sha"], COMMIT_SHA);
    assert_eq!(v["build_id"], BUILD_ID);
    assert_eq!(v["ruleset_version"], RULESET_VERSION);
    assert_eq!(v["ruleset_hash"], hash);
    assert_eq!(v["version"], h["version"]);
}

/// The route list holds exactly the route table; the OpenAPI document has every route.
pub async fn route_list_and_openapi(backend: Backend) {
    let env = Env::start(backend, &[]);
    let anon = env.client(Auth::Anonymous);
    let list = anon.get("/api/phase1/route-list").await;
    let l = list.expect(200);
    let routes = l["routes"].as_array().expect("routes is a list");
    assert_eq!(l["count"].as_u64(), Some(routes.len() as u64));
    assert_eq!(routes.len(), ROUTES.len(), "route count");
    for (method, path, auth, flags) in ROUTES {
        let found = routes
            .iter()
            .find(|r| r["method"] == method && r["path"] == path)
            .unwrap_or_else(|| panic!("route-list lacks {method} {path}"));
        assert_eq!(found["auth"], auth, "{method} {path}");
        assert_eq!(found["flags"], json!(flags), "{method} {path}");
        assert!(found["summary"].is_string(), "{method} {path}");
    }

    let openapi = anon.get("/api/phase1/openapi.json").await;
    let o = openapi.expect(200);
    assert_eq!(o["openapi"], "3.1.0");
    assert!(o["info"]["title"].is_string());
    for r in routes {
        let (path, method) = (
            r["path"].as_str().unwrap_or_default(),
            r["method"].as_str().unwrap_or_default().to_lowercase(),
        );
        assert!(
            o["paths"][path][&method].is_object(),
            "openapi.json lacks {method} {path}"
        );
    }
}

/// A sane client request id is echoed (also in error bodies); others are replaced by a
/// new UUID.
pub async fn request_ids(backend: Backend) {
    let env = Env::start(backend, &[]);
    let anon = env.client(Auth::Anonymous);
    let sane = "bb-req_1.2:3";
    let send = |path: &str, id: &str| {
        anon.request(reqwest::Method::GET, path)
            .header("x-request-id", id)
    };
    let ok = anon.send(send("/healthz", sane)).await;
    ok.expect(200);
    assert_eq!(ok.request_id(), sane);
    let err = anon.send(send("/api/phase1/runs", sane)).await;
    err.expect_problem(401, "AUTH_REQUIRED");
    assert_eq!(err.request_id(), sane);
    assert_eq!(err.json["request_id"], sane);

    for insane in ["has space", &"x".repeat(129), "semi;colon"] {
        let r = anon.send(send("/api/phase1/nope", insane)).await;
        r.expect_problem(404, "NOT_FOUND");
        assert_ne!(r.request_id(), insane);
        assert!(
            uuid::Uuid::parse_str(r.request_id()).is_ok(),
            "replacement id {:?} is not a UUID",
            r.request_id()
        );
    }
    let (a, b) = (anon.get("/healthz").await, anon.get("/healthz").await);
    assert_ne!(
        a.request_id(),
        b.request_id(),
        "each request gets its own id"
    );
}

/// Projects: validate, create, list, get, delete.
pub async fn projects(backend: Backend) {
    let env = Env::start(backend, &[]);
    let api = &env.admin;
    let body = json!({"project": london_project()});
    let validated = api.post("/api/phase1/projects/validate", &body).await;
    let v = validated.expect(200);
    assert_eq!(v["valid"], true);
    assert!(v["derived"].is_object(), "derived: {v}");

    let created = api.post("/api/phase1/projects", &body).await;
    let c = created.expect(201);
    let id = c["project_id"].as_str().expect("project_id").to_string();
    assert_eq!(c["derived"], v["derived"]);

    let listed = api.get("/api/phase1/projects").await;
    let rows = listed.expect(200)["projects"]
        .as_array()
        .expect("projects")
        .clone();
    assert!(
        rows.iter().any(|p| p["project_id"] == id.as_str()),
        "{rows:?}"
    );

    let got = api.get(&format!("/api/phase1/projects/{id}")).await;
    let g = got.expect(200);
    assert_eq!(g["project_id"], id.as_str());
    assert_eq!(g["project"], london_project());
    assert_eq!(g["derived"], v["derived"]);

    api.delete(&format!("/api/phase1/projects/{id}"))
        .await
        .expect(204);
    api.get(&format!("/api/phase1/projects/{id}"))
        .await
        .expect_problem(404, "NOT_FOUND");
    api.delete(&format!("/api/phase1/projects/{id}"))
        .await
        .expect_problem(404, "NOT_FOUND");
}

/// Presets, apply-preset on a saved project, and cardinality reports.
pub async fn presets_and_cardinality(backend: Backend) {
    let env = Env::start(backend, &[]);
    let api = &env.admin;
    let presets = api.get("/api/phase1/permutations/presets").await;
    let p = presets.expect(200);
    for name in ["repo_first", "balanced", "value_max"] {
        assert!(p[name].is_object(), "preset {name} missing: {p}");
    }

    let created = api
        .post(
            "/api/phase1/projects",
            &json!({"project": london_project()}),
        )
        .await;
    let id = created.expect(201)["project_id"].clone();
    let applied = api
        .post(
            "/api/phase1/permutations/apply-preset",
            &json!({"project_id": id, "preset": "balanced"}),
        )
        .await;
    let a = applied.expect(200);
    let ranges = a["ranges"].as_object().expect("ranges").clone();
    assert_eq!(ranges.len(), 8, "one entry per lever: {a}");
    let product: u64 = ranges
        .values()
        .map(|v| v.as_array().map_or(0, |l| l.len() as u64))
        .product();
    assert_eq!(a["cardinality"].as_u64(), Some(product));

    let by_ranges = api
        .post(
            "/api/phase1/permutations/cardinality",
            &json!({"project_id": id, "ranges": ranges}),
        )
        .await;
    assert_eq!(by_ranges.expect(200)["cardinality"].as_u64(), Some(product));
    let by_preset = api
        .post(
            "/api/phase1/permutations/cardinality",
            &json!({"project_id": id, "preset": "balanced"}),
        )
        .await;
    assert_eq!(by_preset.expect(200)["cardinality"].as_u64(), Some(product));

    let card = api
        .post(
            "/api/phase1/permutations/cardinality",
            &json!({"fixture": "london-dc-alpha"}),
        )
        .await;
    let c = card.expect(200);
    assert_eq!(c["cardinality"], 1920);
    assert_eq!(c["guardrail"], 250_000);
    assert_eq!(c["over_guardrail"], false);
    assert_eq!(c["shards"], 1);
    let levers = c["levers"].as_array().expect("levers");
    assert_eq!(levers.len(), 8);
    let counts: u64 = levers.iter().filter_map(|l| l["count"].as_u64()).product();
    assert_eq!(counts, 1920);
    assert_eq!(levers[0]["name"], "senior_tenor");
    assert_eq!(levers[0]["count"], 4);
    assert_eq!(levers[0]["source"], "list");
}

/// A sync run, then runs list/get, top20, export, constraints, and delete.
pub async fn run_and_results(backend: Backend) {
    let env = Env::start(backend, &[]);
    let api = &env.admin;
    let ran = api
        .post("/api/phase1/run", &json!({"fixture": "london-dc-alpha"}))
        .await;
    let doc = ran.expect(200).clone();
    assert_eq!(doc["status"], "done");
    assert_eq!(doc["provenance"]["cached"], false);
    assert_eq!(
        doc["provenance"]["commit"], COMMIT_SHA,
        "api.md: provenance plus commit"
    );
    compare::assert_same_run(&doc, &cli::cli_run("london-dc-alpha"), "POST /run");
    let id = run_id(&doc);

    let listed = api.get("/api/phase1/runs").await;
    let rows = listed.expect(200)["runs"].as_array().expect("runs").clone();
    let row = rows
        .iter()
        .find(|r| r["run_id"] == id.as_str())
        .unwrap_or_else(|| panic!("run {id} not listed: {rows:?}"));
    assert_eq!(row["status"], "done");
    assert_eq!(row["cardinality"], 1920);
    assert!(row["created_at"].is_string() && row["finished_at"].is_string());

    let got = api.get(&format!("/api/phase1/runs/{id}")).await;
    let g = got.expect(200);
    assert_eq!(g["status"], "done");
    assert_eq!(g["progress_pct"].as_f64(), Some(100.0));
    let mut stored = doc.clone();
    if let Value::Object(m) = &mut stored {
        m.remove("run_id");
        m.remove("status");
    }
    assert_eq!(
        g["result"], stored,
        "GET runs/{{id}} returns the stored document"
    );

    check_top20(api, &id, &doc).await;
    check_export(api, &id, &doc).await;

    let constraints = api
        .get(&format!("/api/phase1/constraints?run_id={id}"))
        .await;
    let c = constraints.expect(200);
    assert_eq!(c["run_id"], id.as_str());
    assert_eq!(c["constraints"], doc["constraints"]);
    assert_eq!(c["evaluated"], 1920);
    assert_eq!(
        c["rule_failures_by_key"],
        doc["stats"]["rule_failures_by_key"]
    );

    api.delete(&format!("/api/phase1/runs/{id}"))
        .await
        .expect(204);
    api.get(&format!("/api/phase1/runs/{id}"))
        .await
        .expect_problem(404, "NOT_FOUND");
    api.get(&format!("/api/phase1/securitisation/top20?run_id={id}"))
        .await
        .expect_problem(404, "NOT_FOUND");
}

/// top20 by run id and by default (the caller's latest).
async fn check_top20(api: &crate::harness::Api, id: &str, doc: &Value) {
    let want: Vec<Value> = doc["top"]
        .as_array()
        .expect("top")
        .iter()
        .take(20)
        .cloned()
        .collect();
    assert!(!want.is_empty(), "london-dc-alpha has ranked structures");
    for path in [
        format!("/api/phase1/securitisation/top20?run_id={id}"),
        "/api/phase1/securitisation/top20".to_string(),
    ] {
        let top = api.get(&path).await;
        let t = top.expect(200);
        assert_eq!(t["run_id"], id, "{path}");
        assert_eq!(t["top_20"], json!(want), "{path}");
        assert_eq!(t["stats"], doc["stats"], "{path}");
        assert!(t["completed_at"].is_string(), "{path}");
    }
}

/// export/1 and export/last: the structure, a monthly schedule of tenor × 12 rows, every
/// rule result; past the last rank: 404.
async fn check_export(api: &crate::harness::Api, id: &str, doc: &Value) {
    let top = doc["top"].as_array().expect("top");
    for rank in [1, top.len()] {
        let export = api
            .get(&format!(
                "/api/phase1/securitisation/export/{rank}?run_id={id}"
            ))
            .await;
        let e = export.expect(200);
        let s = &top[rank - 1];
        assert_eq!(e["rank"], rank);
        assert_eq!(e["structure"], *s);
        let tenor = s["levers"]["senior_tenor"].as_u64().expect("senior_tenor");
        let schedule = e["schedule"].as_array().expect("schedule");
        assert_eq!(
            schedule.len() as u64,
            tenor * 12,
            "schedule rows of rank {rank}"
        );
        assert_eq!(schedule[0]["t"], 1);
        let rules = e["rules"].as_array().expect("rules");
        assert!(!rules.is_empty(), "export without rules");
        assert!(rules
            .iter()
            .all(|r| r["rule"].is_string() && r["passed"].is_boolean()));
        assert_eq!(e["rating"], s["rating"]);
        assert_eq!(e["repo"], s["repo"]);
        assert_eq!(e["stress"], s["stress"]);
        assert_eq!(e["provenance"], doc["provenance"]);
    }
    api.get(&format!(
        "/api/phase1/securitisation/export/{}?run_id={id}",
        top.len() + 1
    ))
    .await
    .expect_problem(404, "NOT_FOUND");
}

/// validate/consistency: the same hashes every way.
pub async fn consistency(backend: Backend) {
    let env = Env::start(backend, &[]);
    let checked = env
        .admin
        .post(
            "/api/phase1/validate/consistency",
            &json!({"fixture": "london-dc-alpha", "runs": 4}),
        )
        .await;
    let c = checked.expect(200);
    assert_eq!(c["consistent"], true, "{c}");
    assert_eq!(c["runs"].as_array().map(Vec::len), Some(4));
    for item in ["top_20", "prune_stats", "stress_dscr"] {
        let hashes = c["items"][item].as_array().expect("hashes");
        assert_eq!(hashes.len(), 4, "{item}");
        assert!(
            hashes.iter().all(|h| is_sha256(h) && *h == hashes[0]),
            "{item}"
        );
    }
}

/// The ruleset and its integrity checks.
pub async fn rules(backend: Backend) {
    let env = Env::start(backend, &[]);
    let api = &env.admin;
    let rules = api.get("/api/phase1/rules").await;
    let r = rules.expect(200);
    assert_eq!(r["version"], RULESET_VERSION);
    assert!(is_sha256(&r["hash"]));
    assert!(r["tables"].is_object());
    let version = api.get("/api/phase1/version").await;
    assert_eq!(version.expect(200)["ruleset_hash"], r["hash"]);

    let all = api.post("/api/phase1/rules/validate", &json!({})).await;
    let a = all.expect(200);
    assert_eq!(a["passed"], true, "{a}");
    let ids: Vec<&str> = a["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    let every = [
        "dscr_floors",
        "tenor_limits",
        "wal_bounds",
        "af_bands",
        "rating_matrices",
        "ratings_known",
    ];
    for id in every {
        assert!(ids.contains(&id), "check {id} missing: {ids:?}");
    }
    let some = api
        .post(
            "/api/phase1/rules/validate",
            &json!({"ruleset": "v1.0", "checks": ["dscr_floors", "wal_bounds"]}),
        )
        .await;
    let s = some.expect(200);
    assert_eq!(s["checks"].as_array().map(Vec::len), Some(2), "{s}");
    assert!(s["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .all(|c| c["passed"] == true));
    let bad = api
        .post(
            "/api/phase1/rules/validate",
            &json!({"ruleset": "v9", "checks": ["nope"]}),
        )
        .await;
    bad.expect_problem(422, "VALIDATION_FAILED");
    assert_eq!(bad.error_fields(), ["ruleset", "checks"]);
}
