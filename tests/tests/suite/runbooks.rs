//! The runbooks of `docs/runbooks/` run as written: every `curl` of their `sh` blocks, with
//! the statuses the line above it allows (`# expect: 200 409`), in order, against a fresh
//! `phase1 serve` per runbook, with the variables the runbooks' README lists standing for a
//! deployment (`PHASE1_URL`, `PHASE1_ADMIN_TOKEN`, an admin person's `PHASE1_EMAIL`,
//! `PHASE1_PASSWORD` and current `CODE`, `CRON_SECRET`, a finished run's `RUN_ID`, an `IP`).

use super::Env;
use crate::harness::cli::workspace_root;
use crate::harness::signin::User;
use crate::harness::{Backend, ADMIN_TOKEN};
use serde_json::json;
use std::path::Path;

/// The variables a runbook command may use.
const VARIABLES: [&str; 8] = [
    "PHASE1_URL",
    "PHASE1_ADMIN_TOKEN",
    "PHASE1_EMAIL",
    "PHASE1_PASSWORD",
    "CODE",
    "CRON_SECRET",
    "RUN_ID",
    "IP",
];

/// One HTTP command of a runbook.
#[derive(Debug, Clone)]
struct Command {
    /// Where it starts in its file.
    line: usize,
    /// The statuses it may answer.
    expect: Vec<u16>,
    /// The command, continuation lines joined.
    text: String,
}

/// The HTTP commands of a runbook, and every way it breaks the conventions.
fn commands(path: &Path) -> (Vec<Command>, Vec<String>) {
    let text = std::fs::read_to_string(path).expect("a runbook");
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().to_string());
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let (info, start) = (info.trim().to_string(), i + 1);
        let mut end = start;
        while end < lines.len() && lines[end].trim() != "```" {
            end += 1;
        }
        let body = &lines[start..end.min(lines.len())];
        i = end + 1;
        if info != "sh" {
            if body.iter().any(|l| l.trim_start().starts_with("curl "))
                && info != "text"
                && info != "console"
            {
                problems.push(format!("{name}:{start}: a curl in a {info:?} block"));
            }
            continue;
        }
        let mut expect: Option<Vec<u16>> = None;
        let mut j = 0;
        while j < body.len() {
            let line = body[j].trim();
            let at = start + j + 1;
            if let Some(list) = line.strip_prefix("# expect:") {
                expect = Some(
                    list.split_whitespace()
                        .filter_map(|s| s.parse().ok())
                        .collect(),
                );
            } else if line.starts_with("curl ") {
                let mut full = line.to_string();
                while full.ends_with('\\') && j + 1 < body.len() {
                    full.pop();
                    j += 1;
                    full.push(' ');
                    full.push_str(body[j].trim());
                }
                match expect.take() {
                    Some(e) if !e.is_empty() => out.push(Command {
                        line: at,
                        expect: e,
                        text: full.clone(),
                    }),
                    _ => problems.push(format!("{name}:{at}: a curl without `# expect:` above it")),
                }
                for bad in [
                    " -w ",
                    "--write-out",
                    " -i ",
                    " -f ",
                    "|",
                    "$(",
                    "`",
                    " jq ",
                ] {
                    if full.contains(bad) {
                        problems.push(format!("{name}:{at}: {bad:?} in {full}"));
                    }
                }
                let mut rest = full.as_str();
                while let Some(k) = rest.find('$') {
                    rest = &rest[k + 1..];
                    let var: String = rest
                        .trim_start_matches('{')
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !VARIABLES.contains(&var.as_str()) {
                        problems.push(format!("{name}:{at}: unknown variable {var:?}"));
                    }
                }
            } else if !line.is_empty() && !line.starts_with('#') {
                problems.push(format!(
                    "{name}:{at}: not a curl command in an sh block: {line}"
                ));
            }
            j += 1;
        }
    }
    (out, problems)
}

/// Runs one runbook's commands against a fresh server; the failures.
async fn run_book(path: &Path, backend: Backend) -> Vec<String> {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().to_string());
    let (cmds, mut failures) = commands(path);
    let cron = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let env = Env::start(
        backend,
        &[
            ("CRON_SECRET", cron.as_str()),
            (
                "PHASE1_RATE_LIMITS",
                "auth=1000,users=1000,run=1000,api=1000,flags=1000",
            ),
        ],
    );
    let user = User::create(&env.admin, "admin").await;
    let run = env
        .admin
        .post("/api/phase1/run", &json!({"fixture": "small", "topn": 3}))
        .await;
    let run_id = super::run_id(run.expect(200));
    let scratch = tempfile::tempdir().expect("a scratch directory");
    for c in &cmds {
        let code = if c.text.contains("$CODE") {
            user.code().0
        } else {
            String::new()
        };
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("{} -w '\\n%{{http_code}}'", c.text))
            .current_dir(scratch.path())
            .env("PHASE1_URL", env.base())
            .env("PHASE1_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("PHASE1_EMAIL", &user.email)
            .env("PHASE1_PASSWORD", &user.password)
            .env("CODE", &code)
            .env("CRON_SECRET", &cron)
            .env("RUN_ID", &run_id)
            .env("IP", "203.0.113.9")
            .output()
            .expect("bash runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let (body, status) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
        let status: u16 = status.trim().parse().unwrap_or(0);
        if !c.expect.contains(&status) {
            failures.push(format!(
                "{name}:{}: HTTP {status}, expected {:?}: {}\n    {}{}",
                c.line,
                c.expect,
                c.text,
                body.chars().take(300).collect::<String>(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        !cmds.is_empty() || name == "README.md",
        "{name} has no HTTP command"
    );
    failures
}

/// Every HTTP command of every runbook answers a status it expects.
pub async fn runbooks_run_as_written(backend: Backend) {
    let dir = workspace_root().join("docs/runbooks");
    let mut books: Vec<_> = std::fs::read_dir(&dir)
        .expect("docs/runbooks")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    books.sort();
    let names: Vec<String> = books
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().to_string()))
        .collect();
    for want in [
        "rollout",
        "emergency-rollback",
        "redis-outage",
        "mongodb-outage",
        "secret-rotation",
        "backup-restore",
        "incident-response",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "docs/runbooks/{want}.md is missing"
        );
    }
    let mut failures = Vec::new();
    let mut total = 0;
    for book in &books {
        total += commands(book).0.len();
        failures.extend(run_book(book, backend).await);
    }
    assert!(total >= 50, "only {total} HTTP commands in the runbooks");
    assert!(
        failures.is_empty(),
        "{} of {total} runbook commands failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_conventions_catch_a_bare_or_piped_curl() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("bad.md");
    std::fs::write(
        &path,
        "```sh\ncurl -sS \"$PHASE1_URL/healthz\"\n# expect: 200\ncurl -sS \"$PHASE1_URL/x\" | jq .\n\
         # expect: 200\ncurl -sS \"$HOME/x\"\n```\n\n```json\ncurl -sS x\n```\n\n```sh\n\
         # expect: 200 409\ncurl -sS -X POST \\\n  \"$PHASE1_URL/api/admin/rollout/execute\"\n```\n",
    )
    .expect("write");
    let (cmds, problems) = commands(&path);
    assert_eq!(cmds.len(), 3, "{cmds:?}");
    assert_eq!(cmds[2].expect, [200, 409]);
    assert!(
        cmds[2]
            .text
            .contains("-X POST  \"$PHASE1_URL/api/admin/rollout/execute\""),
        "{:?}",
        cmds[2]
    );
    assert_eq!(problems.len(), 5, "{problems:?}");
}
