//! Vercel function `api/auth`: sign-in and accounts — `/api/auth/**`, the admin user routes
//! and the IP-block route.
//!
//! No logic here: `_common.rs` builds the state, mounts the shared router and runs it.

#[path = "_common.rs"]
mod common;

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    common::serve().await
}
