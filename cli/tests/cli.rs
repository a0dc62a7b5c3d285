//! Black-box tests of the `phase1` binary: documents, exit codes, problem documents,
//! determinism across thread counts, and golden run documents for the spec fixtures.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> String {
    root()
        .join("fixtures")
        .join(format!("{name}.json"))
        .display()
        .to_string()
}

fn phase1(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phase1"));
    cmd.args(args).env_remove("PHASE1_MAX_CARD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("phase1 runs")
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// A run document without the fields allowed to differ between identical runs.
fn stable(mut doc: Value) -> Value {
    for k in ["started_at", "finished_at", "shards"] {
        doc["provenance"][k] = Value::Null;
    }
    for k in ["duration_ms", "permutations_per_sec"] {
        doc["stats"][k] = Value::Null;
    }
    doc
}

fn temp_file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("phase1-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn run_json_prints_only_the_document() {
    let out = phase1(&["run", &fixture("london-dc-alpha"), "--json"], &[]);
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out.stdout);
    assert_eq!(doc["stats"]["evaluated"], 1920);
    assert_eq!(doc["top"].as_array().map(Vec::len), Some(20));
    assert_eq!(doc["top"][0]["rank"], 1);
    assert_eq!(doc["provenance"]["ruleset"]["version"], "v1.0");
    assert_eq!(doc["levers"]["senior_coupon"]["source"], "min_max");
    assert_eq!(doc["levers"]["senior_amort"]["source"], "default");
    assert!(doc["stats"]["permutations_per_sec"].as_f64().unwrap_or(0.0) > 0.0);
    assert!(doc["provenance"]["started_at"]
        .as_str()
        .unwrap_or("")
        .ends_with('Z'));
    assert_eq!(doc["constraints"].as_array().map(Vec::len), Some(12));
}

#[test]
fn thread_counts_give_identical_documents() {
    let runs: Vec<Value> = ["1", "2", "3"]
        .iter()
        .map(|t| {
            let out = phase1(&["run", &fixture("medium"), "--json", "--threads", t], &[]);
            assert!(out.status.success());
            stable(json(&out.stdout))
        })
        .collect();
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], runs[2]);
}

#[test]
fn flags_override_the_file() {
    let out = phase1(
        &[
            "run",
            &fixture("london-dc-alpha"),
            "--json",
            "--top",
            "3",
            "--seed",
            "7",
            "--objective",
            "day_one_value",
        ],
        &[],
    );
    let doc = json(&out.stdout);
    assert_eq!(doc["top"].as_array().map(Vec::len), Some(3));
    assert_eq!(doc["provenance"]["seed"], 7);
    assert_eq!(doc["provenance"]["objective"], "day_one_value");
    let totals: Vec<f64> = doc["top"]
        .as_array()
        .expect("top")
        .iter()
        .map(|s| s["day_one_value"]["total"].as_f64().expect("total"))
        .collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "{totals:?}");
}

#[test]
fn invalid_input_exits_2_with_every_problem() {
    let bad = r#"{"project": {"title": "", "country": "UK", "currency": "EUR", "gross_it_load_mw": -1,
        "pue": 1.2, "lease_years": 20, "tenant_rating": "AA", "gross_monthly_rent": 1000000,
        "opex_pct": 0.2, "capex_cost_per_mw": 5000000, "colour": "red"},
        "ranges": {"senior_tenor": [10], "senior_coupon": 0.05, "senior_dscr": {"min": 1.3, "max": 1.2, "step": 0.1}},
        "topn": 500}"#;
    let out = phase1(&["run", &temp_file("bad.json", bad), "--json"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let p = json(&out.stderr);
    assert_eq!(p["code"], "VALIDATION_FAILED");
    assert_eq!(p["status"], 422);
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    for f in [
        "project.title",
        "project.currency",
        "project.gross_it_load_mw",
        "project.colour",
        "ranges.senior_dscr",
        "topn",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
}

#[test]
fn unreadable_and_malformed_files_exit_2() {
    let out = phase1(&["run", "/nonexistent/phase1.json", "--json"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out.stderr)["code"], "FILE_UNREADABLE");
    let out = phase1(
        &[
            "evaluate",
            &temp_file("broken.json", "{\"project\": "),
            "--index",
            "0",
            "--json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out.stderr)["code"], "MALFORMED_JSON");
    let out = phase1(&["run", &temp_file("broken2.json", "[1,")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MALFORMED_JSON"));
    let out = phase1(
        &["run", &fixture("small"), "--json", "--objective", "best"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out.stderr)["code"], "INVALID_ARGUMENTS");
}

#[test]
fn the_guardrail_refuses_big_grids_unless_sampled() {
    let limit = [("PHASE1_MAX_CARD", "1000")];
    let out = phase1(&["run", &fixture("london-dc-alpha"), "--json"], &limit);
    assert_eq!(out.status.code(), Some(2));
    let p = json(&out.stderr);
    assert_eq!(p["code"], "GRID_TOO_LARGE");
    assert_eq!(p["status"], 413);
    assert!(p["detail"].as_str().unwrap_or("").contains("1920"));
    let out = phase1(
        &[
            "run",
            &fixture("london-dc-alpha"),
            "--json",
            "--sample",
            "100",
        ],
        &limit,
    );
    assert!(out.status.success());
    assert_eq!(json(&out.stdout)["stats"]["evaluated"], 100);
    let out = phase1(
        &[
            "run",
            &fixture("london-dc-alpha"),
            "--json",
            "--sample",
            "1001",
        ],
        &limit,
    );
    assert_eq!(json(&out.stderr)["errors"][0]["field"], "sample");
    let out = phase1(
        &["run", &fixture("london-dc-alpha"), "--json"],
        &[("PHASE1_MAX_CARD", "lots")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out.stderr)["errors"][0]["field"], "PHASE1_MAX_CARD");
}

#[test]
fn evaluate_prints_one_permutation_in_full() {
    let out = phase1(
        &["evaluate", &fixture("medium"), "--index", "12345", "--json"],
        &[],
    );
    assert!(out.status.success());
    let doc = json(&out.stdout);
    assert_eq!(doc["index"], 12345);
    let n = doc["levers"]["senior_tenor"].as_u64().expect("tenor") * 12;
    assert_eq!(doc["schedule"].as_array().map(|s| s.len() as u64), Some(n));
    let rules: Vec<&str> = doc["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["rule"].as_str().expect("rule"))
        .collect();
    assert!(
        rules.contains(&"REPO_ELIGIBILITY"),
        "medium targets repo: {rules:?}"
    );
    assert!(!rules.contains(&"WRAP_ELIGIBILITY"));
    let out = phase1(
        &["evaluate", &fixture("medium"), "--index", "19008", "--json"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json(&out.stderr)["errors"][0]["field"], "index");
}

#[test]
fn evaluate_of_a_tenor_beyond_the_lease_is_unsized() {
    let req = r#"{"project": {"title": "Short lease", "country": "UK", "currency": "GBP",
        "gross_it_load_mw": 10, "pue": 1.2, "lease_years": 8, "tenant_rating": "A",
        "gross_monthly_rent": 500000, "opex_pct": 0.2, "capex_cost_per_mw": 5000000},
        "ranges": {"senior_tenor": [10], "senior_coupon": 0.05, "senior_dscr": 1.3}}"#;
    let out = phase1(
        &[
            "evaluate",
            &temp_file("short.json", req),
            "--index",
            "0",
            "--json",
        ],
        &[],
    );
    assert!(out.status.success());
    let doc = json(&out.stdout);
    assert!(doc["senior"].is_null() && doc["score"].is_null() && doc["stress"].is_null());
    assert_eq!(doc["tier"], "Not Viable");
    assert_eq!(doc["schedule"].as_array().map(Vec::len), Some(0));
    assert!(doc["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .all(|r| r["gate"] == "A"));
}

#[test]
fn rules_presets_and_cardinality_documents() {
    let rules = json(&phase1(&["rules", "--json"], &[]).stdout);
    assert_eq!(rules["version"], "v1.0");
    assert_eq!(rules["hash"].as_str().map(str::len), Some(64));
    assert_eq!(rules["tables"]["max_total_ltv"], 0.9);
    let out = phase1(&["rules", "--validate", "--json"], &[]);
    assert!(out.status.success());
    let v = json(&out.stdout);
    let ids: Vec<&str> = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "dscr_floors",
            "tenor_limits",
            "wal_bounds",
            "af_bands",
            "rating_matrices",
            "ratings_known"
        ]
    );
    assert!(v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .all(|c| c["passed"] == true));
    let presets = json(&phase1(&["presets", "--json"], &[]).stdout);
    assert_eq!(
        presets["balanced"]["mezz_on"],
        serde_json::json!([false, true])
    );
    let out = phase1(&["cardinality", &fixture("large"), "--json"], &[]);
    assert!(out.status.success());
    let c = json(&out.stdout);
    assert_eq!(c["cardinality"], 205632);
    assert_eq!(c["guardrail"], 250000);
    assert_eq!(c["over_guardrail"], false);
    assert_eq!(
        c["levers"][2],
        serde_json::json!({"name": "senior_dscr", "count": 21, "source": "min_max"})
    );
    let out = phase1(
        &["cardinality", &fixture("large"), "--json"],
        &[("PHASE1_MAX_CARD", "100")],
    );
    assert!(
        out.status.success(),
        "a report exits 0 even over the guardrail"
    );
    assert_eq!(json(&out.stdout)["over_guardrail"], true);
}

#[test]
fn options_are_recorded_and_change_the_run() {
    let out = phase1(
        &[
            "run",
            &fixture("medium"),
            "--json",
            "--advisory",
            "--no-tiering",
            "--no-repo-rules",
        ],
        &[],
    );
    assert!(out.status.success());
    let doc = json(&out.stdout);
    let o = &doc["provenance"]["options"];
    assert_eq!(
        (
            o["enforce_gates"].as_bool(),
            o["repo_rules"].as_bool(),
            o["tiering"].as_bool()
        ),
        (Some(false), Some(false), Some(true).map(|_| false))
    );
    assert_eq!(doc["near_misses"].as_array().map(Vec::len), Some(0));
    assert_eq!(doc["stats"]["tier_counts"], serde_json::json!({}));
    let top = &doc["top"][0];
    assert!(top["tier"].is_null() && top["repo"].is_null());
    assert!(top["failed_rules"].is_array());
    let manual = r#"{"project": {"title": "M", "country": "UK", "currency": "GBP", "gross_it_load_mw": 10,
        "pue": 1.2, "lease_years": 20, "tenant_rating": "A", "gross_monthly_rent": 500000,
        "opex_pct": 0.2, "capex_cost_per_mw": 5000000},
        "ranges": {"senior_tenor": {"manual": 10}, "senior_coupon": 0.05, "senior_dscr": 1.3}}"#;
    let path = temp_file("manual.json", manual);
    assert!(phase1(&["run", &path, "--json"], &[]).status.success());
    let out = phase1(&["run", &path, "--json", "--no-input-hierarchy"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        json(&out.stderr)["errors"][0]["field"],
        "ranges.senior_tenor"
    );
}

#[test]
fn golden_run_documents() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for name in ["london-dc-alpha", "small", "medium", "large"] {
        let out = phase1(&["run", &fixture(name), "--json"], &[]);
        assert!(out.status.success());
        let got = stable(json(&out.stdout));
        let path = root().join("cli/tests/golden").join(format!("{name}.json"));
        if update {
            let text = serde_json::to_string_pretty(&got).expect("json");
            std::fs::write(&path, text + "\n").expect("write golden");
            continue;
        }
        let want = json(&std::fs::read(&path).expect("golden file (UPDATE_GOLDEN=1 writes it)"));
        assert_eq!(got, want, "{name} differs from its golden document");
    }
}
