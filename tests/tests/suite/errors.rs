//! Errors: validation (every field at once), the guardrail, transport errors (malformed
//! JSON, oversize bodies, unknown paths, wrong methods) and missing or bad credentials.

use super::{london_project, Env};
use crate::harness::{token, Auth, Backend, SECRET_KEY};
use serde_json::{json, Value};

/// The london project with five fields wrong at once.
fn bad_project() -> Value {
    let mut p = london_project();
    p["country"] = json!("XX");
    p["gross_it_load_mw"] = json!(-5);
    p["pue"] = json!(0.5);
    p["lease_years"] = json!("x");
    p["tenant_rating"] = json!("ZZZ");
    p
}

/// The fields `bad_project` gets wrong, as the errors name them.
const BAD_FIELDS: [&str; 5] = [
    "project.country",
    "project.gross_it_load_mw",
    "project.pue",
    "project.lease_years",
    "project.tenant_rating",
];

/// Asserts a 422 naming exactly `want` (in any order).
#[track_caller]
fn assert_fields(reply: &crate::harness::Reply, want: &[&str]) {
    reply.expect_problem(422, "VALIDATION_FAILED");
    let mut got = reply.error_fields();
    got.sort();
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "fields of {}", reply.snippet());
    let messages = reply.json["errors"].as_array().expect("errors");
    assert!(messages
        .iter()
        .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty())));
}

/// 422 listing every wrong field, on every route that takes a project.
pub async fn validation_lists_every_field(backend: Backend) {
    let env = Env::start(backend, &[]);
    let api = &env.admin;
    let body = json!({"project": bad_project()});
    for path in ["/api/phase1/projects/validate", "/api/phase1/projects"] {
        assert_fields(&api.post(path, &body).await, &BAD_FIELDS);
    }
    let listed = api.get("/api/phase1/projects").await;
    assert_eq!(listed.expect(200)["projects"], json!([]), "nothing saved");

    let mut fields = BAD_FIELDS.to_vec();
    fields.push("bogus");
    let run = api
        .post(
            "/api/phase1/run",
            &json!({
                "project": bad_project(),
                "ranges": super::fixture("london-dc-alpha")["ranges"],
                "bogus": 1,
            }),
        )
        .await;
    assert_fields(&run, &fields);
    let empty = api.post("/api/phase1/run", &json!({})).await;
    empty.expect_problem(422, "VALIDATION_FAILED");
    let fields = empty.error_fields();
    assert!(
        fields.iter().any(|f| f == "project") && fields.iter().any(|f| f == "ranges"),
        "an empty run request names project and ranges: {fields:?}"
    );
    let not_object = api.post("/api/phase1/run", &json!([1, 2])).await;
    not_object.expect_problem(422, "VALIDATION_FAILED");
    let runs = api.get("/api/phase1/runs").await;
    assert_eq!(runs.expect(200)["runs"], json!([]), "no run was stored");
}

/// A grid over PHASE1_MAX_CARD: 413 GRID_TOO_LARGE; counted, and runnable as a sample.
pub async fn grid_too_large(backend: Backend) {
    let env = Env::start(backend, &[("PHASE1_MAX_CARD", "1000")]);
    let api = &env.admin;
    let refused = api
        .post("/api/phase1/run", &json!({"fixture": "london-dc-alpha"}))
        .await;
    refused.expect_problem(413, "GRID_TOO_LARGE");
    let card = api
        .post(
            "/api/phase1/permutations/cardinality",
            &json!({"fixture": "london-dc-alpha"}),
        )
        .await;
    let c = card.expect(200);
    assert_eq!(c["guardrail"], 1000);
    assert_eq!(c["over_guardrail"], true);
    let sampled = api
        .post(
            "/api/phase1/run",
            &json!({"fixture": "london-dc-alpha", "sample": 500}),
        )
        .await;
    let s = sampled.expect(200);
    assert_eq!(s["stats"]["evaluated"], 500);
    assert_eq!(s["stats"]["cardinality"], 1920);
}

/// Malformed JSON 400, oversize body 413, unknown run and unknown /api/ path 404 (JSON),
/// wrong method 405.
pub async fn transport_errors(backend: Backend) {
    let env = Env::start(backend, &[]);
    let api = &env.admin;
    let malformed = api
        .send(
            api.request(reqwest::Method::POST, "/api/phase1/run")
                .header("content-type", "application/json")
                .body("{\"fixture\": \"london-dc-alpha\""),
        )
        .await;
    malformed.expect_problem(400, "MALFORMED_JSON");

    let big = format!("{{\"project\": \"{}\"}}", "x".repeat((1 << 20) + 1024));
    for path in ["/api/phase1/projects/validate", "/api/phase1/run"] {
        let oversize = api
            .send(
                api.request(reqwest::Method::POST, path)
                    .header("content-type", "application/json")
                    .body(big.clone()),
            )
            .await;
        oversize.expect_problem(413, "PAYLOAD_TOO_LARGE");
    }

    let unknown = uuid::Uuid::new_v4();
    for path in [
        format!("/api/phase1/runs/{unknown}"),
        format!("/api/phase1/securitisation/top20?run_id={unknown}"),
        format!("/api/phase1/constraints?run_id={unknown}"),
        format!("/api/phase1/projects/{unknown}"),
    ] {
        api.get(&path).await.expect_problem(404, "NOT_FOUND");
    }
    api.delete(&format!("/api/phase1/runs/{unknown}"))
        .await
        .expect_problem(404, "NOT_FOUND");
    for path in [
        "/api/phase1/nope",
        "/api/nothing/here",
        "/api/phase1/runs/a/b",
    ] {
        api.get(path).await.expect_problem(404, "NOT_FOUND");
    }

    let put = api
        .send(api.request(reqwest::Method::PUT, "/api/phase1/run"))
        .await;
    put.expect_problem(405, "METHOD_NOT_ALLOWED");
    assert_eq!(put.header("allow"), Some("POST"));
    let patch = api
        .send(api.request(reqwest::Method::PATCH, "/api/phase1/runs/some-id"))
        .await;
    patch.expect_problem(405, "METHOD_NOT_ALLOWED");
    let delete = api.delete("/healthz").await;
    delete.expect_problem(405, "METHOD_NOT_ALLOWED");
}

/// A token like a valid one, with its claims changed by `change`, signed with `key`.
fn forged(key: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut claims = token::claims("forger@example.com", "analyst");
    change(&mut claims);
    token::sign(&claims, key)
}

/// No credentials, or bad ones: 401 AUTH_REQUIRED on session routes; public routes open.
pub async fn auth_required(backend: Backend) {
    let env = Env::start(backend, &[]);
    let anon = env.client(Auth::Anonymous);
    for path in [
        "/api/phase1/runs",
        "/api/phase1/projects",
        "/api/phase1/rules",
        "/api/phase1/permutations/presets",
        "/api/phase1/securitisation/top20",
        "/api/phase1/internal/worker",
    ] {
        anon.get(path).await.expect_problem(401, "AUTH_REQUIRED");
    }
    anon.post("/api/phase1/run", &json!({"fixture": "london-dc-alpha"}))
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    anon.get("/api/phase1/version").await.expect(200);

    let other_key = "another-secret-key-that-is-long-enough-0";
    assert_ne!(other_key, SECRET_KEY);
    let now = token::now_secs();
    let bad_tokens = [
        "not-a-jwt".to_string(),
        forged(other_key, |_| {}),
        forged(SECRET_KEY, |c| c["mfa"] = json!(false)),
        forged(SECRET_KEY, |c| c["exp"] = json!(now - 10)),
    ];
    for t in bad_tokens {
        let api = env.client(Auth::Bearer(t.clone()));
        api.get("/api/phase1/runs")
            .await
            .expect_problem(401, "AUTH_REQUIRED");
    }
    let wrong_ops = anon
        .send(
            anon.request(reqwest::Method::GET, "/api/phase1/runs")
                .header("x-admin-token", "wrong-token"),
        )
        .await;
    wrong_ops.expect_problem(401, "AUTH_REQUIRED");
    let (_, analyst) = Auth::analyst();
    env.client(analyst)
        .get("/api/phase1/runs")
        .await
        .expect(200);
}
