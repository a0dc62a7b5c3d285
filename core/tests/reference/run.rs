//! Run-level reference (§6): statistics, ranking, near-miss list.

use super::model::{cardinality, evaluate, Derived, Eval};
use phase1_core::request::{Objective, RunInput};
use phase1_core::rules::RuleKey;
use phase1_core::ruleset::Ruleset;
use serde_json::{json, Value};
use std::cmp::Ordering;

/// Round half away from zero to `unit` (f64::round rounds half away from zero).
fn key(x: f64, unit: f64) -> f64 {
    (x / unit).round()
}

/// §6 ranking keys, rounded half away from zero: score to 1e-6, day_one_value.total to
/// 0.01, min_stress_dscr to 1e-6.
fn keys(e: &Eval) -> (f64, f64, f64) {
    let s = e.sized.as_ref().unwrap();
    (
        key(s.score.total, 1e-6),
        key(s.day_one_total, 0.01),
        key(s.min_stress, 1e-6),
    )
}

/// §6 ranking. Objective `score`: score desc, day_one_value.total desc, min_stress_dscr
/// desc, index asc. Objective `day_one_value`: total desc, score desc, min_stress desc,
/// index asc.
pub fn ranking(objective: Objective, a: &Eval, b: &Eval) -> Ordering {
    let (ka, kb) = (keys(a), keys(b));
    let first = match objective {
        Objective::Score => kb.0.total_cmp(&ka.0).then(kb.1.total_cmp(&ka.1)),
        Objective::DayOneValue => kb.1.total_cmp(&ka.1).then(kb.0.total_cmp(&ka.0)),
    };
    first
        .then(kb.2.total_cmp(&ka.2))
        .then(a.index.cmp(&b.index))
}

/// The reference run: statistics JSON, ranked top-N and near-misses (kept by the limit).
pub struct RunRef {
    pub stats: Value,
    pub top: Vec<Eval>,
    pub near_misses: Vec<Eval>,
}

pub fn run(input: &RunInput, rules: &Ruleset) -> RunRef {
    let dv = Derived::of(&input.project, rules);
    let card = cardinality(&input.ranges);
    let (mut gate_a, mut gate_b, mut not_viable_score, mut viable) = (0u64, 0u64, 0u64, 0u64);
    let mut tiers = [0u64; 5];
    let tier_names = ["Diamond", "Platinum", "Gold", "Silver", "Bronze"];
    let mut by_key = [0u64; 9];
    let mut binding = [0u64; 3];
    let mut viable_list = Vec::new();
    let mut nm_list = Vec::new();
    for index in 0..card {
        let e = evaluate(input, &dv, rules, index);
        // Gate A rules are counted over every evaluated permutation ...
        for r in e.rules.iter().filter(|r| !r.passed) {
            if (r.key as usize) < 4 || !e.gate_a_failed {
                // ... Gate B rules only over those that passed Gate A.
                by_key[r.key as usize] += 1;
            }
        }
        if e.near_miss.is_some() {
            nm_list.push(e.clone());
        }
        // Advisory (§11): every sizable permutation is ranked, nothing is excluded.
        if !input.options.enforce_gates && e.sized.is_some() {
            viable_list.push(e.clone());
        }
        if e.gate_a_failed {
            gate_a += 1;
            continue;
        }
        let s = e.sized.as_ref().expect("passing Gate A implies sizable");
        binding[["DSCR", "ADVANCE", "FUNDING"]
            .iter()
            .position(|b| *b == s.binding)
            .unwrap()] += 1;
        if e.gate_b_failed {
            gate_b += 1;
        } else if !e.score_ok(rules) {
            not_viable_score += 1;
        } else {
            viable += 1;
            if let Some(t) = e.tier {
                tiers[tier_names.iter().position(|n| *n == t).unwrap()] += 1;
            }
            if input.options.enforce_gates {
                viable_list.push(e);
            }
        }
    }
    let nm_count = nm_list.len();
    let objective = input.objective;
    viable_list.sort_by(|a, b| ranking(objective, a, b));
    viable_list.truncate(input.topn as usize);
    nm_list.sort_by(|a, b| ranking(objective, a, b));
    nm_list.truncate(rules.near_miss_limit() as usize);

    let mut rule_map = serde_json::Map::new();
    for k in RuleKey::ALL {
        rule_map.insert(k.as_str().into(), json!(by_key[k as usize]));
    }
    let stats = json!({
        "cardinality": card,
        "evaluated": card,
        "gate_a_pruned": gate_a,
        "gate_b_pruned": gate_b,
        "not_viable_score": not_viable_score,
        "viable": viable,
        // Empty when tiering is off (§11).
        "tier_counts": if input.options.tiering {
            json!({
                "Diamond": tiers[0], "Platinum": tiers[1], "Gold": tiers[2],
                "Silver": tiers[3], "Bronze": tiers[4],
            })
        } else {
            json!({})
        },
        "near_misses": nm_count,
        "rule_failures_by_key": Value::Object(rule_map),
        "binding_by_limit": {"DSCR": binding[0], "ADVANCE": binding[1], "FUNDING": binding[2]},
    });
    RunRef {
        stats,
        top: viable_list,
        near_misses: nm_list,
    }
}
