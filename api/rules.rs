//! Vercel function `api/rules`: the ruleset — `/api/phase1/rules` and
//! `/api/phase1/rules/validate`.
//!
//! No logic here: `_common.rs` builds the state, mounts the shared router and runs it.

#[path = "_common.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    common::serve().await
}
