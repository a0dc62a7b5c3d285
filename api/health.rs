//! Vercel function `api/health`: the public probes and documents — `/healthz`, `/readyz`,
//! `/api/phase1/health`, `/api/phase1/version`, `/api/phase1/route-list` and
//! `/api/phase1/openapi.json`.
//!
//! No logic here: `_common.rs` builds the state, mounts the shared router and runs it.

#[path = "_common.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    common::serve().await
}
