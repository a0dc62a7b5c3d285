//! Comparing run documents: equal apart from the fields that legitimately differ between
//! two executions (timestamps, shard count, cache flag, timings), and what the API adds to
//! the engine's document (`run_id` and `status` at the top; `commit`, `features` and
//! `project_source` in provenance).

use serde_json::Value;

/// Provenance fields that differ between executions, and the API's own (`commit`, and what
/// the request decided: `features`, `project_source`).
const VOLATILE_PROVENANCE: [&str; 7] = [
    "started_at",
    "finished_at",
    "shards",
    "cached",
    "commit",
    "features",
    "project_source",
];
/// Statistics that measure time.
const VOLATILE_STATS: [&str; 2] = ["duration_ms", "permutations_per_sec"];
/// Fields the API adds to the engine's document.
const API_FIELDS: [&str; 2] = ["run_id", "status"];

/// `doc` without the volatile and API-only fields.
pub fn normalise(doc: &Value) -> Value {
    let mut d = doc.clone();
    if let Value::Object(m) = &mut d {
        for k in API_FIELDS {
            m.remove(k);
        }
    }
    for (section, keys) in [
        ("provenance", &VOLATILE_PROVENANCE[..]),
        ("stats", &VOLATILE_STATS[..]),
    ] {
        if let Some(Value::Object(m)) = d.get_mut(section) {
            for k in keys {
                m.remove(*k);
            }
        }
    }
    d
}

/// The first place where `a` and `b` differ, as a JSON path with both values.
pub fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                let (va, vb) = (x.get(k), y.get(k));
                let here = format!("{path}.{k}");
                match (va, vb) {
                    (Some(va), Some(vb)) => {
                        if let Some(d) = first_difference(va, vb, &here) {
                            return Some(d);
                        }
                    }
                    _ => return Some(format!("{here}: {va:?} vs {vb:?}")),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: length {} vs {}", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (va, vb))| first_difference(va, vb, &format!("{path}[{i}]")))
        }
        _ if a == b => None,
        _ => Some(format!("{path}: {a} vs {b}")),
    }
}

/// Asserts that an API run document equals the command line's for the same request.
pub fn assert_same_run(api: &Value, cli: &Value, what: &str) {
    let (a, c) = (normalise(api), normalise(cli));
    if let Some(d) = first_difference(&a, &c, "$") {
        panic!("{what}: the API's run document differs from phase1 run --json at {d}");
    }
}

/// The permutation indices of a document's top list, in rank order.
pub fn top_indices(doc: &Value) -> Vec<u64> {
    doc["top"]
        .as_array()
        .map(|t| t.iter().filter_map(|s| s["index"].as_u64()).collect())
        .unwrap_or_default()
}
