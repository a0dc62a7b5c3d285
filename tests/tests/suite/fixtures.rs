//! Each fixture run over HTTP gives the same document as `phase1 run FIXTURE --json`.

use super::{fixture, Env};
use crate::harness::{cli, compare, Backend, FIXTURES};
use serde_json::json;

/// Every fixture by name, and london-dc-alpha as an explicit body.
pub async fn fixtures_match_cli(backend: Backend) {
    let env = Env::start(backend, &[]);
    let explicit = env
        .admin
        .post("/api/phase1/run", &fixture("london-dc-alpha"))
        .await;
    compare::assert_same_run(
        explicit.expect(200),
        &cli::cli_run("london-dc-alpha"),
        "london-dc-alpha as a body",
    );
    for name in FIXTURES {
        let ran = env
            .admin
            .post("/api/phase1/run", &json!({"fixture": name}))
            .await;
        compare::assert_same_run(ran.expect(200), &cli::cli_run(name), name);
    }
}
