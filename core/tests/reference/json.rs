//! Renders the reference model with the §10 field names, and compares it field by field
//! with the engine's JSON.

use super::model::{Eval, Sized};
use phase1_core::levers::LeverSet;
use phase1_core::rules::RuleKey;
use serde_json::{json, Value};

fn levers(lv: &LeverSet) -> Value {
    json!({
        "senior_tenor": lv.senior_tenor,
        "senior_coupon": lv.senior_coupon,
        "senior_dscr": lv.senior_dscr,
        "senior_amort": lv.senior_amort.as_str(),
        "indexation_mode": lv.indexation_mode.as_str(),
        "zcis_tenor_years": lv.zcis_tenor_years,
        "mezz_on": lv.mezz_on,
        "wrap": lv.wrap,
    })
}

/// The structure fields of §10 (without ids); sized fields null when not sized.
pub fn structure(e: &Eval) -> Value {
    let mut v = json!({
        "index": e.index,
        "levers": levers(&e.levers),
        "tier": e.tier,
    });
    let m = v.as_object_mut().unwrap();
    let sized = sized_fields(e.sized.as_ref(), e.levers.mezz_on);
    for (k, x) in sized {
        m.insert(k.to_string(), x);
    }
    if !e.repo_shown {
        m.insert("repo".into(), Value::Null);
    }
    if let Some(f) = &e.failed_rules {
        m.insert(
            "failed_rules".into(),
            json!(f.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
        );
    }
    v
}

fn sized_fields(s: Option<&Sized>, mezz_on: bool) -> Vec<(&'static str, Value)> {
    let Some(s) = s else {
        return [
            "senior",
            "mezz",
            "sidecar",
            "day_one_value",
            "debt",
            "equity",
            "coverage",
            "stress",
            "rating",
            "repo",
            "score",
        ]
        .iter()
        .map(|k| (*k, Value::Null))
        .collect();
    };
    let mut stress = serde_json::Map::new();
    for (name, x) in &s.stress {
        stress.insert(name.clone(), json!(x));
    }
    stress.insert("min".into(), json!(s.min_stress));
    stress.insert("worst".into(), json!(s.worst));
    vec![
        (
            "senior",
            json!({
                "amount": s.senior, "min_dscr": s.min_dscr, "avg_dscr": s.avg_dscr,
                "wal": s.wal, "llcr": s.llcr, "ltv": s.ltv, "binding": s.binding,
            }),
        ),
        (
            "mezz",
            match (&s.mezz, mezz_on) {
                (Some(m), true) => json!({
                    "amount": m.amount, "wal": m.wal, "min_dscr_combined": m.min_dscr_combined,
                }),
                _ => Value::Null,
            },
        ),
        (
            "sidecar",
            json!({"gross": s.sidecar_gross, "net": s.sidecar_net}),
        ),
        (
            "day_one_value",
            json!({"core": s.debt, "sidecar": s.sidecar_net, "total": s.day_one_total}),
        ),
        ("debt", json!(s.debt)),
        ("equity", json!(s.equity)),
        ("coverage", json!(s.coverage)),
        ("stress", Value::Object(stress)),
        (
            "rating",
            json!({"unwrapped": s.unwrapped.as_str(), "effective": s.effective.as_str()}),
        ),
        (
            "repo",
            json!({
                "eligible": s.repo.eligible, "haircut": s.repo.haircut, "value": s.repo.value,
                "failures": s.repo.failures.iter().map(|f| f.0).collect::<Vec<_>>(),
            }),
        ),
        (
            "score",
            json!({
                "capital": s.score.capital, "resilience": s.score.resilience,
                "rating": s.score.rating, "simplicity": s.score.simplicity,
                "total": s.score.total,
            }),
        ),
    ]
}

fn gate(k: RuleKey) -> &'static str {
    if matches!(
        k,
        RuleKey::TenorCap | RuleKey::MinDscrSenior | RuleKey::MezzDscrOrder | RuleKey::ZcisTenor
    ) {
        "A"
    } else {
        "B"
    }
}

/// The `evaluate` document (§10): structure fields, rules, near_miss, schedule.
pub fn evaluate_doc(e: &Eval) -> Value {
    let mut v = structure(e);
    let m = v.as_object_mut().unwrap();
    let rules: Vec<Value> = e
        .rules
        .iter()
        .map(|r| {
            let mut x = json!({
                "rule": r.key.as_str(), "gate": gate(r.key),
                "passed": r.passed, "shortfall": r.shortfall,
            });
            if let Some(f) = r.repo_failure {
                x.as_object_mut()
                    .unwrap()
                    .insert("repo_failure".into(), json!(f));
            }
            x
        })
        .collect();
    m.insert("rules".into(), Value::Array(rules));
    m.insert(
        "near_miss".into(),
        match e.near_miss {
            Some((k, sf)) => json!({"index": e.index, "rule": k.as_str(), "shortfall": sf}),
            None => Value::Null,
        },
    );
    let rows: Vec<Value> = e.sized.as_ref().map_or(Vec::new(), |s| {
        s.rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mz = |j: usize| r.mezz.map(|x| x[j]);
                json!({
                    "t": i + 1, "cfads": r.cfads, "senior_ds": r.ds,
                    "senior_interest": r.interest, "senior_wrap_fee": r.wrap_fee,
                    "senior_principal": r.principal, "senior_balance": r.balance,
                    "mezz_ds": mz(0), "mezz_interest": mz(1),
                    "mezz_principal": mz(2), "mezz_balance": mz(3),
                })
            })
            .collect()
    });
    m.insert("schedule".into(), Value::Array(rows));
    v
}

// ---------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------

/// Numbers agree within 1e-9 relative, or 1e-7 absolute near zero.
pub fn close(a: f64, b: f64) -> bool {
    let d = (a - b).abs();
    d <= 1e-7 || d <= 1e-9 * a.abs().max(b.abs())
}

/// Closing balances near zero are cancellation residuals, B_t = B_0 − Σ_{s≤t} principal_s.
/// B_n is K's rounding error compounded by (1 + r)^n, and K itself can only be as accurate
/// as (1 + r)^(−t) allows: 1 + r carries a representation error that powi raises to n·ε
/// (≈ 5e-14 at n = 240). Observed agreement on the closing balance is ~2e-13 of the tranche
/// amount, with reference and engine on opposite sides of zero. So a balance is judged near
/// zero against its tranche's amount, at 1e-12 · amount (2e-4 on a 2e8 loan), besides the
/// general rule. Every other field, including principal and interest, uses the general
/// rule unchanged; `check_evaluate` also checks B_n ≈ 0 on the engine side at that scale.
pub const BALANCE_NEAR_ZERO: f64 = 1e-12;

/// Collected mismatches of one comparison run.
#[derive(Default)]
pub struct Diffs {
    pub lines: Vec<String>,
    pub count: usize,
    pub compared: usize,
    /// (senior amount, mezz amount) of the document being compared.
    pub amounts: (f64, f64),
    /// The largest |Δ balance| / amount seen (reported, for the record).
    pub worst_balance_ratio: f64,
}

impl Diffs {
    pub fn push(&mut self, line: String) {
        self.count += 1;
        if self.lines.len() < 60 {
            self.lines.push(line);
        }
    }

    /// Compares every field present in `reference` with the same path in `engine`; the
    /// engine may carry extra fields (ids, hints, messages), never fewer.
    pub fn compare(&mut self, ctx: &str, path: &str, reference: &Value, engine: &Value) {
        self.compared += 1;
        match (reference, engine) {
            (Value::Object(r), Value::Object(e)) => {
                if r.is_empty() && !e.is_empty() {
                    self.push(format!(
                        "{ctx}: {path}: reference {{}} vs engine {}",
                        short(engine)
                    ));
                }
                for (k, rv) in r {
                    let p = format!("{path}.{k}");
                    match e.get(k) {
                        Some(ev) => self.compare(ctx, &p, rv, ev),
                        None => {
                            self.push(format!("{ctx}: {p}: reference {rv} vs engine <missing>"))
                        }
                    }
                }
            }
            (Value::Array(r), Value::Array(e)) => {
                if r.len() != e.len() {
                    self.push(format!(
                        "{ctx}: {path}: reference has {} entries vs engine {}: reference {} vs engine {}",
                        r.len(),
                        e.len(),
                        short(reference),
                        short(engine)
                    ));
                    return;
                }
                for (i, (rv, ev)) in r.iter().zip(e).enumerate() {
                    self.compare(ctx, &format!("{path}[{i}]"), rv, ev);
                }
            }
            (Value::Number(r), Value::Number(e)) => {
                let (a, b) = (r.as_f64().unwrap(), e.as_f64().unwrap());
                let scale = if path.ends_with(".senior_balance") {
                    self.amounts.0
                } else if path.ends_with(".mezz_balance") {
                    self.amounts.1
                } else {
                    0.0
                };
                if scale > 0.0 {
                    self.worst_balance_ratio = self.worst_balance_ratio.max((a - b).abs() / scale);
                }
                let residual = (a - b).abs() <= BALANCE_NEAR_ZERO * scale;
                if !close(a, b) && !residual {
                    self.push(format!(
                        "{ctx}: {path}: reference {a:e} vs engine {b:e} (diff {:e})",
                        a - b
                    ));
                }
            }
            _ => {
                if reference != engine {
                    self.push(format!(
                        "{ctx}: {path}: reference {} vs engine {}",
                        short(reference),
                        short(engine)
                    ));
                }
            }
        }
    }

    /// Compares an `evaluate` document, with the balance scales of §4 set from it.
    pub fn compare_doc(&mut self, ctx: &str, reference: &Value, engine: &Value) {
        let amount = |v: &Value| v["amount"].as_f64().unwrap_or(0.0);
        self.amounts = (amount(&reference["senior"]), amount(&reference["mezz"]));
        self.compare(ctx, "", reference, engine);
    }

    pub fn assert_clean(&self, what: &str) {
        assert!(
            self.count == 0,
            "{what}: {} mismatches over {} compared values; first ones:\n{}",
            self.count,
            self.compared,
            self.lines.join("\n")
        );
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 600 {
        format!("{}…", &s[..600])
    } else {
        s
    }
}
