//! A worker killed mid-run: a second server over the same stores claims the run again when
//! the lease runs out, and finishes it with the same result as `phase1 run`.

use super::runs::{
    is_active, run_status, start_async, wait_finished, RUN_TIMEOUT, SLOW_SHARD_SIZES,
};
use crate::harness::{cli, compare, wait, Api, Auth, Backend, Server, Store, COMMIT_SHA};
use serde_json::json;
use std::time::Duration;

/// How long a queued run may wait for the first worker.
const CLAIM_TIMEOUT: Duration = Duration::from_secs(30);

/// SIGKILL the server running an async run; another server re-claims and finishes it.
pub async fn worker_killed_and_run_reclaimed(backend: Backend) {
    for shard_size in SLOW_SHARD_SIZES {
        // A 200 ms budget: the lease is 400 ms, so a dead worker's run is free soon.
        let overrides = [
            ("PHASE1_RUN_BUDGET_MS", "200"),
            ("PHASE1_SHARD_SIZE", shard_size),
        ];
        let store = Store::new(backend);
        let mut first = Server::start(&store, &overrides);
        let api = Api::new(&first.base, Auth::Admin);
        let id = start_async(&api, json!({"fixture": "large"})).await;
        let started = wait::until("the run to be claimed", CLAIM_TIMEOUT, || async {
            let s = run_status(&api, &id).await;
            (s["status"] != "queued").then_some(s)
        })
        .await;
        if started["status"] != "running" {
            eprintln!("run {id} (shard size {shard_size}) finished before the kill");
            continue; // already finished: try a slower run
        }
        first.kill();

        let second = Server::start(&store, &overrides);
        let api = Api::new(&second.base, Auth::Admin);
        let after_kill = run_status(&api, &id).await;
        if !is_active(&after_kill) {
            assert_eq!(after_kill["status"], "done", "{after_kill}");
            eprintln!("run {id} (shard size {shard_size}) finished before the kill");
            continue; // it finished before the kill: try a slower run
        }
        eprintln!(
            "run {id} (shard size {shard_size}) was {} at {}% when its server was killed",
            after_kill["status"], after_kill["progress_pct"]
        );
        let done = wait_finished(&api, &id, RUN_TIMEOUT).await;
        assert_eq!(
            done["status"], "done",
            "the re-claimed run finishes: {done}"
        );
        let cli = cli::cli_run("large");
        let result = &done["result"];
        assert_eq!(compare::top_indices(result), compare::top_indices(&cli));
        assert_eq!(
            compare::normalise(result)["stats"],
            compare::normalise(&cli)["stats"]
        );
        assert_eq!(result["provenance"]["commit"], COMMIT_SHA);
        compare::assert_same_run(result, &cli, "re-claimed run");
        return;
    }
    panic!("no async run of the large fixture was still running when its server was killed");
}

/// How long a fourth server may take to settle a run whose three workers died.
const GIVE_UP_TIMEOUT: Duration = Duration::from_secs(15);

/// Waits until the worker of the server behind `api` holds the run: its progress moves
/// away from what it was when the server started (a killed worker's last write may land
/// after the test last looked, so "before the kill" is no baseline).
async fn wait_held(api: &Api, id: &str, attempt: u32) {
    let baseline = run_status(api, id).await["progress_pct"].clone();
    let what = format!("attempt {attempt} to hold the run and make progress");
    wait::until(&what, CLAIM_TIMEOUT, || async {
        let s = run_status(api, id).await;
        assert!(is_active(&s), "attempt {attempt}: the run ended: {s}");
        (s["status"] == "running" && s["progress_pct"] != baseline).then_some(())
    })
    .await;
}

/// Three workers die in turn while holding the same run: api.md allows at most 3 attempts,
/// then the run is failed (not left "running" for ever, nor claimed a fourth time).
pub async fn worker_gives_up_after_three_attempts(backend: Backend) {
    // Shards of 4 positions: the large fixture takes far longer than the test needs.
    let overrides = [("PHASE1_RUN_BUDGET_MS", "200"), ("PHASE1_SHARD_SIZE", "4")];
    let store = Store::new(backend);
    let mut server = Server::start(&store, &overrides);
    let id = start_async(
        &Api::new(&server.base, Auth::Admin),
        json!({"fixture": "large"}),
    )
    .await;
    for attempt in 1..=3 {
        wait_held(&Api::new(&server.base, Auth::Admin), &id, attempt).await;
        server.kill();
        server = Server::start(&store, &overrides);
    }
    let api = Api::new(&server.base, Auth::Admin);
    let settled = wait::until(
        "the run to leave \"running\" after its third worker died",
        GIVE_UP_TIMEOUT,
        || async {
            let s = run_status(&api, &id).await;
            (!is_active(&s)).then_some(s)
        },
    )
    .await;
    assert_eq!(settled["status"], "failed", "{settled}");
    assert!(settled["error"]["code"].is_string(), "{settled}");
    assert!(settled.get("result").is_none(), "{settled}");
}
