//! Vercel function `api/runs`: stored runs and their results — `/api/phase1/runs/**`,
//! `/api/phase1/securitisation/**` and `/api/phase1/constraints`.
//!
//! No logic here: `_common.rs` builds the state, mounts the shared router and runs it.

#[path = "_common.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    common::serve().await
}
