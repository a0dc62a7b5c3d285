//! Black-box HTTP tests of Phase-1: every test spawns the real `phase1 serve` binary on a
//! loopback port and talks to it over HTTP only.
//!
//! The tests live in `tests/blackbox.rs` (one test binary) with their harness in
//! `tests/harness/`: the server process guard, the HTTP client that checks the response
//! envelope of every answer, access-token minting, the stores (embedded file, or MongoDB and
//! Redis from `scripts/test.sh`), a private `redis-server`, and the comparison of run
//! documents with `phase1 run --json`. The library itself is empty.
//!
//! Run: `cargo build --release -p phase1-cli && cargo test --release -p phase1-blackbox`
//! (the real-backend tests need `MONGODB_URI` and `REDIS_URL`, which `scripts/test.sh`
//! exports; without them they fail, they are never skipped).
#![forbid(unsafe_code)]
