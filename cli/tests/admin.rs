//! `phase1 admin` over a fresh embedded store: creating users (password from stdin, the
//! provisioning URI printed once), refusing bad input and duplicates, disabling, and
//! re-sealing every TOTP secret under a new encryption key.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

const KEY_A: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const KEY_B: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
const KEY_C: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// `phase1 admin <args>` over the store in `dir`, with `key` (and `previous`), feeding
/// `stdin`.
fn admin(dir: &std::path::Path, args: &[&str], keys: (&str, Option<&str>), stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phase1"));
    cmd.arg("admin")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PHASE1_EMBEDDED_PATH", dir.join("phase1.redb"))
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !keys.0.is_empty() {
        cmd.env("PHASE1_ENCRYPTION_KEY", keys.0);
    }
    if let Some(p) = keys.1 {
        cmd.env("PHASE1_ENCRYPTION_KEY_PREVIOUS", p);
    }
    let mut child = cmd.spawn().expect("phase1 runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("phase1 ends")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn problem(out: &Output) -> Value {
    serde_json::from_slice(&out.stderr).unwrap_or_else(|e| {
        panic!(
            "no problem document ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn create(dir: &std::path::Path, email: &str, key: &str) -> Output {
    admin(
        dir,
        &[
            "create-user",
            "--email",
            email,
            "--role",
            "analyst",
            "--password-stdin",
            "--json",
        ],
        (key, None),
        "a long enough password\n",
    )
}

#[test]
fn create_user_prints_the_uri_once_and_refuses_duplicates_and_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = admin(
        dir.path(),
        &[
            "create-user",
            "--email",
            "First.Admin@Example.com",
            "--role",
            "admin",
            "--password-stdin",
        ],
        (KEY_A, None),
        "correct horse battery\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("created admin first.admin@example.com"),
        "{text}"
    );
    assert!(
        text.contains("otpauth://totp/Phase-1:first.admin%40example.com?secret="),
        "{text}"
    );
    assert!(
        !text.contains('█'),
        "no QR code when stdout is not a terminal"
    );

    let again = create(dir.path(), "first.admin@example.com", KEY_A);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(problem(&again)["code"], "CONFLICT");

    let bad = admin(
        dir.path(),
        &[
            "create-user",
            "--email",
            "nope",
            "--role",
            "root",
            "--password-stdin",
            "--json",
        ],
        (KEY_A, None),
        "short\n",
    );
    assert_eq!(bad.status.code(), Some(2));
    let p = problem(&bad);
    assert_eq!(p["code"], "VALIDATION_FAILED");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["email", "role", "password"]);

    let no_stdin = admin(
        dir.path(),
        &[
            "create-user",
            "--email",
            "b@example.com",
            "--role",
            "analyst",
            "--json",
        ],
        (KEY_A, None),
        "",
    );
    assert_eq!(no_stdin.status.code(), Some(2));
    let p = problem(&no_stdin);
    assert_eq!(p["errors"][0]["field"], "password");
    assert!(p["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("--password-stdin"));

    let no_key = create(dir.path(), "c@example.com", "");
    assert_eq!(no_key.status.code(), Some(2));
    let p = problem(&no_key);
    assert_eq!(p["code"], "AUTH_NOT_CONFIGURED");
    assert!(p["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("PHASE1_ENCRYPTION_KEY"));
}

#[test]
fn disable_user_and_its_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(create(dir.path(), "ana@example.com", KEY_A)
        .status
        .success());
    let out = admin(
        dir.path(),
        &["disable-user", "--email", "ANA@example.com", "--json"],
        (KEY_A, None),
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out);
    assert_eq!(doc["user"]["email"], "ana@example.com");
    assert_eq!(doc["user"]["disabled"], true);
    let missing = admin(
        dir.path(),
        &["disable-user", "--email", "nobody@example.com", "--json"],
        (KEY_A, None),
        "",
    );
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(problem(&missing)["code"], "NOT_FOUND");
}

#[test]
fn rotate_encryption_key_reseals_every_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    for email in ["a@example.com", "b@example.com"] {
        let out = create(dir.path(), email, KEY_A);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(json(&out)["provisioning_uri"].is_string());
    }
    let rotate = |keys| admin(dir.path(), &["rotate-encryption-key", "--json"], keys, "");

    // Under a key that sealed none of them: nothing opens, nothing is touched, exit 1.
    let stranger = rotate((KEY_C, None));
    assert_eq!(stranger.status.code(), Some(1));
    let r = json(&stranger);
    assert_eq!(r["failed"].as_array().map(Vec::len), Some(2));
    assert_eq!(r["resealed"], 0);

    let rotated = rotate((KEY_B, Some(KEY_A)));
    assert!(rotated.status.success());
    let r = json(&rotated);
    assert_eq!(
        (r["resealed"].as_u64(), r["current"].as_u64()),
        (Some(2), Some(0))
    );
    // Without the previous key now: every secret is under the new one.
    let after = rotate((KEY_B, None));
    assert!(after.status.success());
    let r = json(&after);
    assert_eq!(
        (r["resealed"].as_u64(), r["current"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(r["failed"].as_array().map(Vec::len), Some(0));
    // And the old key alone opens nothing any more.
    assert_eq!(rotate((KEY_A, None)).status.code(), Some(1));
}
