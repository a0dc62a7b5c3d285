//! The top-N of a run as CSV (RFC 4180): one row per ranked structure, every lever and the
//! headline metrics, numbers unformatted (full precision) so a spreadsheet can compute
//! with them.

use serde_json::Value;

/// Columns, each a path into a structure object of the run document.
pub const COLUMNS: [(&str, &[&str]); 33] = [
    ("rank", &["rank"]),
    ("permutation_id", &["permutation_id"]),
    ("index", &["index"]),
    ("senior_tenor", &["levers", "senior_tenor"]),
    ("senior_coupon", &["levers", "senior_coupon"]),
    ("senior_dscr", &["levers", "senior_dscr"]),
    ("senior_amort", &["levers", "senior_amort"]),
    ("indexation_mode", &["levers", "indexation_mode"]),
    ("zcis_tenor_years", &["levers", "zcis_tenor_years"]),
    ("mezz_on", &["levers", "mezz_on"]),
    ("wrap", &["levers", "wrap"]),
    ("tier", &["tier"]),
    ("score", &["score", "total"]),
    ("senior_amount", &["senior", "amount"]),
    ("senior_min_dscr", &["senior", "min_dscr"]),
    ("senior_avg_dscr", &["senior", "avg_dscr"]),
    ("senior_wal", &["senior", "wal"]),
    ("senior_llcr", &["senior", "llcr"]),
    ("senior_ltv", &["senior", "ltv"]),
    ("binding", &["senior", "binding"]),
    ("mezz_amount", &["mezz", "amount"]),
    ("mezz_wal", &["mezz", "wal"]),
    ("mezz_min_dscr_combined", &["mezz", "min_dscr_combined"]),
    ("debt", &["debt"]),
    ("equity", &["equity"]),
    ("coverage", &["coverage"]),
    ("sidecar_net", &["sidecar", "net"]),
    ("day_one_value", &["day_one_value", "total"]),
    ("min_stress_dscr", &["stress", "min"]),
    ("worst_stress", &["stress", "worst"]),
    ("rating_unwrapped", &["rating", "unwrapped"]),
    ("rating_effective", &["rating", "effective"]),
    ("repo_eligible", &["repo", "eligible"]),
];

/// The CSV of a run document's `top` list, CRLF line ends, a header row first.
pub fn top(run: &Value) -> String {
    let mut out = String::new();
    let header: Vec<String> = COLUMNS.iter().map(|(name, _)| field(name)).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for s in run["top"].as_array().into_iter().flatten() {
        let cells: Vec<String> = COLUMNS
            .iter()
            .map(|(_, path)| {
                let v = path.iter().fold(s, |v, k| &v[*k]);
                field(&match v {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One field, quoted when it holds a comma, quote, CR or LF (quotes doubled).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::london_run;

    #[test]
    fn one_row_per_ranked_structure_with_every_lever() {
        let (_, run) = london_run();
        let csv = top(&run);
        let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
        let top = run["top"].as_array().unwrap();
        assert_eq!(lines.len(), top.len() + 1);
        assert!(lines[0].starts_with("rank,permutation_id,index,senior_tenor"));
        let first: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(first.len(), COLUMNS.len());
        assert_eq!(first[0], "1");
        assert_eq!(first[1], top[0]["permutation_id"].as_str().unwrap());
        let amount: f64 = first[13].parse().unwrap();
        assert_eq!(amount, top[0]["senior"]["amount"].as_f64().unwrap());
        // Mezzanine off: empty cells, not "null".
        assert_eq!(first[20], "");
    }

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
