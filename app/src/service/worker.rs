//! The run worker: claims queued runs (or runs whose worker died) with a lease, executes
//! them with progress, and stores the result — locally as a background task of
//! `phase1 serve`, on Vercel after the response (wait_until) and from the cron route.

use super::runs::{self, Plan, Stop};
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::store::model::RunRecord;
use crate::store::StoreError;
use std::time::Duration;

/// Claims allowed per run before it is failed.
pub const MAX_ATTEMPTS: u32 = 3;

/// Executes one claimed run to its end (done, failed, or left alone when cancelled).
pub async fn process(state: &AppState, run: RunRecord) -> Result<(), StoreError> {
    let doc = &state.stores.doc;
    let prepared = match runs::from_record(state, &run) {
        Ok(p) => p,
        Err(e) => {
            doc.fail_run(&run.id, &e.to_problem_json(), state.clock.now_ms())
                .await?;
            return Ok(());
        }
    };
    let plan = Plan {
        shard_size: state.config.engine.shard_size,
        threads: None,
        remote: true,
    };
    let lease = runs::lease_ms(state);
    let outcome = runs::execute(state, Some(&run.id), &prepared, plan, |pct| {
        let (id, worker, until) = (
            run.id.clone(),
            state.worker_id.clone(),
            state.clock.now_ms() + lease,
        );
        async move {
            doc.update_progress(&id, &worker, pct, until)
                .await
                .unwrap_or(false)
        }
    })
    .await;
    let now = state.clock.now_ms();
    match outcome {
        Ok(result) => {
            let value = runs::stored_document(state, &prepared, &result).unwrap_or_default();
            doc.finish_run(&run.id, Some(&state.worker_id), &value, now)
                .await?;
        }
        Err(Stop::Cancelled) => {}
        Err(stop) => {
            doc.fail_run(&run.id, &ApiError::from(stop).to_problem_json(), now)
                .await?;
        }
    }
    Ok(())
}

/// Claims and executes one run; false when there was none to claim.
pub async fn work_once(state: &AppState) -> Result<bool, StoreError> {
    let now = state.clock.now_ms();
    match state
        .stores
        .doc
        .claim_run(&state.worker_id, now, runs::lease_ms(state), MAX_ATTEMPTS)
        .await?
    {
        Some(run) => {
            process(state, run).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Claims and executes runs until none is left; returns how many ran. Runs whose workers
/// died on every allowed attempt are failed first.
pub async fn drain(state: &AppState) -> Result<u64, StoreError> {
    let abandoned = ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "RUN_ABANDONED",
        "The run was abandoned",
        format!("the run's worker stopped {MAX_ATTEMPTS} times before finishing it"),
    );
    state
        .stores
        .doc
        .fail_abandoned_runs(
            state.clock.now_ms(),
            MAX_ATTEMPTS,
            &abandoned.to_problem_json(),
        )
        .await?;
    let mut n = 0;
    while work_once(state).await? {
        n += 1;
    }
    Ok(n)
}

/// The local background worker: drains the queue and delivers the alerts that are due
/// whenever woken, and once a second (to pick up runs whose worker died and retries that
/// came due).
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let _ = drain(&state).await;
            let _ = crate::service::notifications::deliver_due(&state).await;
            tokio::select! {
                () = state.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    })
}
