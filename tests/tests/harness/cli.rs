//! The `phase1` binary: where it is, and `phase1 run FIXTURE --json` as the reference for
//! every run the HTTP API returns.

use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The workspace root (this package's parent).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(PathBuf::from)
        .expect("the test package sits inside the workspace")
}

/// `target/<profile>/phase1`, found from this test executable
/// (`target/<profile>/deps/blackbox-…`); panics with how to build it when it is missing.
pub fn phase1_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test executable lies in target/<profile>/deps");
    let bin = profile_dir.join(format!("phase1{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: build it with cargo build (e.g. `cargo build --release -p phase1-cli` \
         before `cargo test --release -p phase1-blackbox`)",
        bin.display()
    );
    bin
}

/// The run document of `phase1 run fixtures/NAME.json --json` (computed once per fixture).
pub fn cli_run(fixture: &str) -> Value {
    static CACHE: OnceLock<Mutex<HashMap<String, Value>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(doc) = cache.lock().expect("cache lock").get(fixture) {
        return doc.clone();
    }
    let doc = run_fixture(fixture);
    cache
        .lock()
        .expect("cache lock")
        .insert(fixture.to_string(), doc.clone());
    doc
}

/// Runs the command line on one fixture, with a clean environment.
fn run_fixture(fixture: &str) -> Value {
    let file = format!("fixtures/{fixture}.json");
    let out = Command::new(phase1_bin())
        .args(["run", &file, "--json"])
        .current_dir(workspace_root())
        .env_clear()
        .output()
        .expect("phase1 run starts");
    assert!(
        out.status.success(),
        "phase1 run {file} --json failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("phase1 run --json prints one JSON document")
}
