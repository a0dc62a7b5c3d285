//! Vercel function `api/ops`: the operations routes — flags and their audit, the allowlist,
//! the canary and the rollout, the emergency rollback, the full status, metrics, the synthetic
//! monitor (its cron `/api/phase1/synthetic/run` runs engine actions) and the error log, plus
//! the canary cron `/api/phase1/canary/tick`.
//!
//! No logic here: `_common.rs` builds the state, mounts the shared router and runs it.

#[path = "_common.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    common::serve().await
}
