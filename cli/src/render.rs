//! Readable terminal output: the progress bar and the tables of a run or an evaluation.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use phase1_core::document::{EvaluateDocument, RunDocument, StructureDoc};
use std::fmt::Write;
use std::io::IsTerminal;

/// A progress bar on stderr, shown only on a terminal and never with `--json`.
pub fn progress_bar(total: u64, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} permutations ({per_sec}, {eta})")
    {
        bar.set_style(style);
    }
    bar
}

/// An amount as every Phase-1 document shows it (whole units, thousands separators).
fn money(x: f64) -> String {
    phase1_documents::number::amount(x)
}

fn opt<T: std::fmt::Display>(x: Option<T>) -> String {
    x.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn structure_row(out: &mut String, s: &StructureDoc) {
    let l = &s.levers;
    let _ = writeln!(
        out,
        "{:>4} {:>8} {:<10} {:>6} {:>3}y {:>6.2}% {:>5.2} {:<9} {:<10} {:>3}y {:<5} {:<5} {:>16} {:>16} {:>6} {:<4}",
        opt(s.rank),
        s.index,
        s.tier.map_or("-", |t| t.as_str()),
        s.score.as_ref().map_or("-".into(), |x| format!("{:.2}", x.total)),
        l.senior_tenor,
        l.senior_coupon * 100.0,
        l.senior_dscr,
        l.senior_amort.as_str(),
        l.indexation_mode.as_str(),
        l.zcis_tenor_years,
        l.mezz_on,
        l.wrap,
        s.senior.as_ref().map_or("-".into(), |x| money(x.amount)),
        s.day_one_value.as_ref().map_or("-".into(), |x| money(x.total)),
        s.stress.as_ref().map_or("-".into(), |x| format!("{:.3}", x.min)),
        s.rating.as_ref().map_or("-".into(), |x| x.effective.to_string()),
    );
}

fn header(out: &mut String) {
    let _ = writeln!(
        out,
        "{:>4} {:>8} {:<10} {:>6} {:>4} {:>7} {:>5} {:<9} {:<10} {:>4} {:<5} {:<5} {:>16} {:>16} {:>6} {:<4}",
        "rank", "index", "tier", "score", "ten", "coupon", "dscr", "amort", "indexation", "zcis",
        "mezz", "wrap", "senior", "day-one value", "stress", "rtg"
    );
}

/// The readable form of a run: top structures, statistics, constraints, near-misses.
pub fn run(doc: &RunDocument) -> String {
    let mut out = String::new();
    let st = &doc.stats;
    let d = &doc.derived;
    let _ = writeln!(
        out,
        "Funding need {} {:?} · market value {} · tenor cap {}y · DSCR floor {:.2} · max advance {:.0}%\n",
        money(d.funding_need),
        d.currency,
        money(d.market_value),
        d.tenor_cap,
        d.dscr_floor,
        d.max_advance * 100.0
    );
    let _ = writeln!(out, "Top {} structures", doc.top.len());
    header(&mut out);
    for s in &doc.top {
        structure_row(&mut out, s);
    }
    let _ = writeln!(
        out,
        "\nEvaluated {} of {} · Gate A pruned {} · Gate B pruned {} · score < 40 {} · viable {} · near-misses {}",
        st.evaluated, st.cardinality, st.gate_a_pruned, st.gate_b_pruned, st.not_viable_score,
        st.viable, st.near_misses
    );
    if let (Some(ms), Some(pps)) = (st.duration_ms, st.permutations_per_sec) {
        let _ = writeln!(out, "Engine time {ms:.1} ms · {pps:.0} permutations/s");
    }
    let _ = writeln!(out, "\nConstraints");
    for c in &doc.constraints {
        let _ = writeln!(
            out,
            "  {:<18} {:>8}  {:>6.2}%",
            c.key,
            c.count,
            c.share * 100.0
        );
    }
    if !doc.near_misses.is_empty() {
        let _ = writeln!(out, "\nNear-misses (best {})", doc.near_misses.len());
        for n in &doc.near_misses {
            let hint = n
                .core
                .hint
                .as_ref()
                .map_or("no single-lever fix".to_string(), |h| {
                    format!(
                        "{} {} → {}",
                        h.lever.name(),
                        serde_json::to_string(&h.from).unwrap_or_default(),
                        serde_json::to_string(&h.to).unwrap_or_default()
                    )
                });
            let _ = writeln!(
                out,
                "  #{:<8} {:<17} short {:<10.4} {hint}\n            {}",
                n.core.index,
                n.core.rule.as_str(),
                n.core.shortfall,
                n.core.message
            );
        }
    }
    out
}

/// The readable form of one evaluated permutation.
pub fn evaluate(doc: &EvaluateDocument) -> String {
    let mut out = String::new();
    header(&mut out);
    structure_row(&mut out, &doc.structure);
    let _ = writeln!(out, "\nRules");
    for r in &doc.rules {
        let mark = if r.passed { "pass" } else { "FAIL" };
        let _ = writeln!(
            out,
            "  {mark} {:?} {:<17} shortfall {}",
            r.gate,
            r.rule.as_str(),
            r.shortfall
        );
    }
    if let Some(n) = &doc.near_miss {
        let _ = writeln!(out, "\nNear-miss on {}: {}", n.rule.as_str(), n.message);
    }
    if !doc.schedule.is_empty() {
        let _ = writeln!(
            out,
            "\n{:>4} {:>14} {:>14} {:>14} {:>14} {:>16}",
            "t", "cfads", "senior ds", "interest", "principal", "balance"
        );
        for r in &doc.schedule {
            let _ = writeln!(
                out,
                "{:>4} {:>14} {:>14} {:>14} {:>14} {:>16}",
                r.t,
                money(r.cfads),
                money(r.senior_ds),
                money(r.senior_interest),
                money(r.senior_principal),
                money(r.senior_balance)
            );
        }
    }
    out
}
