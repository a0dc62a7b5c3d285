//! The harness: a `phase1 serve` process per test, an HTTP client that checks the response
//! envelope of every answer, access tokens, stores, a private Redis, and run-document
//! comparison with the command line.

pub mod browser;
pub mod cli;
pub mod client;
pub mod compare;
pub mod redis_server;
pub mod server;
pub mod signin;
pub mod store;
pub mod token;
pub mod upstream;
pub mod wait;

pub use client::{Api, Auth, Reply};
pub use server::Server;
pub use store::{Backend, Store};

/// The ops token every test server accepts (`PHASE1_ADMIN_TOKEN`).
pub const ADMIN_TOKEN: &str = "blackbox-admin-token";
/// The access-token signing key of every test server (`SECRET_KEY`, 40 bytes).
pub const SECRET_KEY: &str = "blackbox-secret-key-0123456789abcdefghij";
/// The TOTP sealing key of every test server (`PHASE1_ENCRYPTION_KEY`, 64 hex characters).
pub const ENCRYPTION_KEY: &str = "6d1f0c2b9a8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060504";
/// The shard-call HMAC key (`PHASE1_INTERNAL_KEY`) of the fan-out tests.
pub const INTERNAL_KEY: &str = "blackbox-internal-key";
/// `COMMIT_SHA` of every test server, expected in `X-Commit-SHA`.
pub const COMMIT_SHA: &str = "blackbox-commit";
/// `BUILD_ID` of every test server, expected in `X-Build-ID`.
pub const BUILD_ID: &str = "blackbox-build";
/// The ruleset version every response names in `X-Ruleset-Version`.
pub const RULESET_VERSION: &str = "v1.0";
/// The fixtures of engine spec §9, by name.
pub const FIXTURES: [&str; 4] = ["london-dc-alpha", "small", "medium", "large"];
