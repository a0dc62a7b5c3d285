//! Vercel function `api/projects`: projects and permutations — `/api/phase1/projects/**` and
//! `/api/phase1/permutations/**`.
//!
//! No logic here: `_common.rs` builds the state, mounts the shared router and runs it.

#[path = "_common.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    common::serve().await
}
