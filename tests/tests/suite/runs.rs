//! Runs beyond the happy path: idempotent replays, the result cache, who sees which run,
//! async runs and cancellation.

use super::{london_project, run_id, Env};
use crate::harness::{cli, compare, wait, Api, Auth, Backend, COMMIT_SHA};
use serde_json::{json, Value};
use std::time::Duration;

/// How long an async run of a fixture may take to finish.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(180);

/// Shard sizes that make the large fixture's async run slower and slower (one progress
/// write per shard), tried in turn until a run is caught while active.
pub const SLOW_SHARD_SIZES: [&str; 3] = ["200", "20", "4"];

/// `GET runs/{id}`: the run's status document.
pub async fn run_status(api: &Api, id: &str) -> Value {
    api.get(&format!("/api/phase1/runs/{id}"))
        .await
        .expect(200)
        .clone()
}

/// Whether a status document is queued or running.
pub fn is_active(status: &Value) -> bool {
    matches!(status["status"].as_str(), Some("queued" | "running"))
}

/// Polls a run until it is no longer active; returns its status document.
pub async fn wait_finished(api: &Api, id: &str, timeout: Duration) -> Value {
    wait::until(&format!("run {id} to finish"), timeout, || async {
        let s = run_status(api, id).await;
        (!is_active(&s)).then_some(s)
    })
    .await
}

/// Starts an async run of `body` (202 + Location); returns its id.
pub async fn start_async(api: &Api, mut body: Value) -> String {
    body["async"] = json!(true);
    let accepted = api.post("/api/phase1/run", &body).await;
    let a = accepted.expect(202);
    assert_eq!(a["status"], "queued", "{a}");
    let id = run_id(a);
    assert_eq!(
        accepted.header("location"),
        Some(format!("/api/phase1/runs/{id}").as_str())
    );
    id
}

/// The same Idempotency-Key twice gives the same run; another key or caller does not.
pub async fn idempotent_replay(backend: Backend) {
    let env = Env::start(backend, &[]);
    let api = &env.admin;
    let body = json!({"fixture": "london-dc-alpha"});
    let post = |key: &'static str, api: Api| {
        let body = body.clone();
        async move {
            let rb = api
                .request(reqwest::Method::POST, "/api/phase1/run")
                .header("idempotency-key", key)
                .json(&body);
            api.send(rb).await
        }
    };
    let first = post("key-1", api.clone()).await;
    let first = first.expect(200).clone();
    let again = post("key-1", api.clone()).await;
    let again = again.expect(200);
    assert_eq!(
        run_id(again),
        run_id(&first),
        "a replayed key returns the first run"
    );
    assert_eq!(again["top"], first["top"]);
    let other = post("key-2", api.clone()).await;
    let other = run_id(other.expect(200));
    assert_ne!(other, run_id(&first), "another key, another run");
    let (_, analyst) = Auth::analyst();
    let theirs = post("key-1", env.client(analyst)).await;
    let theirs = run_id(theirs.expect(200));
    assert_ne!(theirs, run_id(&first), "keys are per caller");
    let mut listed = listed_runs(api).await;
    listed.sort();
    let mut want = vec![run_id(&first), other, theirs];
    want.sort();
    assert_eq!(listed, want, "the replay stored no run of its own");
}

/// The same request twice: the second answer comes from the result cache.
pub async fn cached_repeat(backend: Backend) {
    let env = Env::start(backend, &[]);
    let api = &env.admin;
    let body = json!({"fixture": "small"});
    let first = api.post("/api/phase1/run", &body).await;
    let first = first.expect(200).clone();
    assert_eq!(first["provenance"]["cached"], false);
    let second = api.post("/api/phase1/run", &body).await;
    let second = second.expect(200).clone();
    assert_eq!(second["provenance"]["cached"], true);
    assert_ne!(
        run_id(&second),
        run_id(&first),
        "a cached answer is a run of its own"
    );
    assert_eq!(second["top"], first["top"]);
    compare::assert_same_run(&second, &first, "cached repeat");
    let stored = run_status(api, &run_id(&second)).await;
    assert_eq!(stored["status"], "done");
    assert_eq!(stored["result"]["provenance"]["cached"], true);

    // Listings: newest first, paginated.
    let (newer, older) = (run_id(&second), run_id(&first));
    assert_eq!(
        listed_runs_at(api, "").await,
        [newer.clone(), older.clone()]
    );
    assert_eq!(listed_runs_at(api, "?limit=1").await, [newer]);
    assert_eq!(listed_runs_at(api, "?offset=1&limit=1").await, [older]);
    assert!(listed_runs_at(api, "?offset=2").await.is_empty());
}

/// Analysts see only their own projects and runs; others' ids give 404; admins see all.
pub async fn analysts_see_only_their_own(backend: Backend) {
    let env = Env::start(backend, &[]);
    let (_, auth_a) = Auth::analyst();
    let (_, auth_b) = Auth::analyst();
    let (a, b) = (env.client(auth_a), env.client(auth_b));
    let created = a
        .post(
            "/api/phase1/projects",
            &json!({"project": london_project()}),
        )
        .await;
    let project = created.expect(201)["project_id"]
        .as_str()
        .expect("project_id")
        .to_string();
    let ranges = super::fixture("london-dc-alpha")["ranges"].clone();
    let ran_a = a
        .post(
            "/api/phase1/run",
            &json!({"project_id": project, "ranges": ranges}),
        )
        .await;
    let run_a = run_id(ran_a.expect(200));
    assert_eq!(ran_a.json["top"], cli::cli_run("london-dc-alpha")["top"]);

    for path in [
        format!("/api/phase1/runs/{run_a}"),
        format!("/api/phase1/projects/{project}"),
        format!("/api/phase1/securitisation/top20?run_id={run_a}"),
        format!("/api/phase1/securitisation/export/1?run_id={run_a}"),
        format!("/api/phase1/constraints?run_id={run_a}"),
    ] {
        b.get(&path).await.expect_problem(404, "NOT_FOUND");
    }
    b.post(
        "/api/phase1/run",
        &json!({"project_id": project, "ranges": ranges}),
    )
    .await
    .expect_problem(404, "NOT_FOUND");
    b.delete(&format!("/api/phase1/runs/{run_a}"))
        .await
        .expect_problem(404, "NOT_FOUND");
    b.delete(&format!("/api/phase1/projects/{project}"))
        .await
        .expect_problem(404, "NOT_FOUND");
    b.get("/api/phase1/securitisation/top20")
        .await
        .expect_problem(404, "NOT_FOUND");

    let ran_b = b
        .post("/api/phase1/run", &json!({"fixture": "small"}))
        .await;
    let run_b = run_id(ran_b.expect(200));
    assert_eq!(listed_runs(&a).await, std::slice::from_ref(&run_a));
    assert_eq!(listed_runs(&b).await, std::slice::from_ref(&run_b));
    let b_projects = b.get("/api/phase1/projects").await;
    assert_eq!(b_projects.expect(200)["projects"], json!([]));
    let all = listed_runs(&env.admin).await;
    assert!(
        all.contains(&run_a) && all.contains(&run_b),
        "admins see all: {all:?}"
    );
    env.admin
        .get(&format!("/api/phase1/projects/{project}"))
        .await
        .expect(200);
    a.get(&format!("/api/phase1/runs/{run_a}"))
        .await
        .expect(200);
}

/// The run ids a caller's listing shows.
async fn listed_runs(api: &Api) -> Vec<String> {
    listed_runs_at(api, "").await
}

/// The run ids of one page of a caller's listing (`query`: "" or "?offset=…&limit=…").
async fn listed_runs_at(api: &Api, query: &str) -> Vec<String> {
    let listed = api.get(&format!("/api/phase1/runs{query}")).await;
    listed.expect(200)["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["run_id"].as_str().map(String::from))
        .collect()
}

/// `async: true`: 202 with Location, then the run finishes in the background.
pub async fn async_run(backend: Backend) {
    let env = Env::start(backend, &[]);
    let api = &env.admin;
    let id = start_async(api, json!({"fixture": "small"})).await;
    let done = wait_finished(api, &id, RUN_TIMEOUT).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["progress_pct"].as_f64(), Some(100.0));
    assert!(done["finished_at"].is_string());
    assert_eq!(done["result"]["provenance"]["commit"], COMMIT_SHA);
    compare::assert_same_run(&done["result"], &cli::cli_run("small"), "async run");
    let listed = listed_runs(api).await;
    assert_eq!(listed, [id]);
    // The worker's cron route finds nothing left to do.
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let cron = api
            .send(api.request(method, "/api/phase1/internal/worker"))
            .await;
        assert_eq!(cron.expect(200), &json!({"ran": 0, "alert_attempts": 0}));
    }
}

/// Cancelling an active run: 202 cancelled, and it stays cancelled; a finished run is
/// deleted: 204, then 404.
pub async fn cancel_run(backend: Backend) {
    for shard_size in SLOW_SHARD_SIZES {
        let env = Env::start(backend, &[("PHASE1_SHARD_SIZE", shard_size)]);
        let api = &env.admin;
        let id = start_async(api, json!({"fixture": "large"})).await;
        if !is_active(&run_status(api, &id).await) {
            continue;
        }
        let cancelled = api.delete(&format!("/api/phase1/runs/{id}")).await;
        if cancelled.status == 204 {
            continue; // it finished in between: try a slower run
        }
        let c = cancelled.expect(202);
        assert_eq!(c, &json!({"run_id": id, "status": "cancelled"}));
        let status = run_status(api, &id).await;
        assert_eq!(status["status"], "cancelled", "{status}");
        assert!(
            status.get("result").is_none(),
            "a cancelled run has no result"
        );
        // The worker stops at its next progress write; give it time to (wrongly) finish.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let later = run_status(api, &id).await;
        assert_eq!(later["status"], "cancelled", "stays cancelled: {later}");
        api.get(&format!("/api/phase1/securitisation/top20?run_id={id}"))
            .await
            .expect_problem(404, "NOT_FOUND");
        api.delete(&format!("/api/phase1/runs/{id}"))
            .await
            .expect(204);
        api.get(&format!("/api/phase1/runs/{id}"))
            .await
            .expect_problem(404, "NOT_FOUND");
        return;
    }
    panic!("no async run of the large fixture was still active when cancelled");
}
