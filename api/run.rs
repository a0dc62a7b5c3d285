//! Vercel function `api/run`: the engine runs — `POST /api/phase1/run` and
//! `POST /api/phase1/validate/consistency`.
//!
//! No logic here: `_common.rs` builds the state, mounts the shared router and runs it.

#[path = "_common.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    common::serve().await
}
