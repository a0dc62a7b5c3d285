//! Vercel function `api/internal`: the signed shard route `/api/phase1/internal/shard` and the
//! worker cron `/api/phase1/internal/worker`.
//!
//! No logic here: `_common.rs` builds the state, mounts the shared router and runs it.

#[path = "_common.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    common::serve().await
}
