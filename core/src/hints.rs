//! Fix hints and messages for near-misses (engine spec §6): first-order advice on which
//! lever to move, and to what, to clear the one rule a structure fails.

use crate::assess::RepoFailure;
use crate::gates::{dscr_floor, Verdict};
use crate::kernel::{Context, Sized};
use crate::levers::{Amort, Digits, Indexation, Lever, LeverSet};
use crate::rules::RuleKey;
use crate::tol::{ceil_cent, le};
use serde::Serialize;

/// A lever value in a hint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum HintValue {
    /// An integer lever (years).
    Int(u32),
    /// A rate or ratio lever.
    Num(f64),
    /// An enumerated lever.
    Text(&'static str),
    /// A switch.
    Bool(bool),
}

/// Move `lever` from `from` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Hint {
    /// The lever to move.
    pub lever: Lever,
    /// Its current value.
    pub from: HintValue,
    /// The suggested value.
    pub to: HintValue,
}

/// Move the senior tenor to `to` years.
fn tenor_hint(lv: &LeverSet, to: u32) -> Hint {
    Hint {
        lever: Lever::SeniorTenor,
        from: HintValue::Int(lv.senior_tenor),
        to: HintValue::Int(to),
    }
}

/// Move the senior DSCR to `to`.
fn dscr_hint(lv: &LeverSet, to: f64) -> Hint {
    Hint {
        lever: Lever::SeniorDscr,
        from: HintValue::Num(lv.senior_dscr),
        to: HintValue::Num(to),
    }
}

/// The hint (if any) and the message for a near-miss on `key`.
pub fn advise(
    ctx: &Context,
    lv: &LeverSet,
    d: Digits,
    sized: &Sized,
    verdict: &Verdict,
    key: RuleKey,
) -> (Option<Hint>, String) {
    let shortfall = verdict.rules[key as usize].shortfall;
    let t = lv.senior_tenor;
    let dscr = lv.senior_dscr;
    let tenor = |to| tenor_hint(lv, to);
    let senior_dscr = |to| dscr_hint(lv, to);
    let hedge = |to: u32| Hint {
        lever: Lever::ZcisTenorYears,
        from: HintValue::Int(lv.zcis_tenor_years),
        to: HintValue::Int(to),
    };
    match key {
        RuleKey::TenorCap => {
            let cap = ctx.derived.tenor_cap;
            (
                Some(tenor(cap)),
                format!(
                    "Senior tenor {t}y is {shortfall} year(s) over the {cap}y cap (lease less 2 \
                     years, and the tenant's rating limit); shorten it to {cap}y."
                ),
            )
        }
        RuleKey::MinDscrSenior => {
            let floor = dscr_floor(ctx, lv);
            let to = ceil_cent(floor);
            (
                Some(senior_dscr(to)),
                format!(
                    "Target senior DSCR {dscr} is {shortfall:.4} below the {floor:.4} floor for \
                     this tenant and jurisdiction; raise it to {to}."
                ),
            )
        }
        RuleKey::ZcisTenor => (
            Some(hedge(t)),
            format!(
                "The inflation hedge runs {shortfall} year(s) past the {t}y senior tenor; cut \
                 it to {t}y so the swap does not outlive the debt it protects."
            ),
        ),
        RuleKey::MinCoverage => {
            let need = ctx.project.min_coverage;
            if lv.mezz_on {
                (
                    None,
                    format!(
                        "Debt covers {:.1}% of the funding need, {:.1} points short of {:.1}%. \
                         Mezzanine is already on: lowering the senior DSCR mostly moves debt \
                         from mezzanine to senior, so no single lever reliably closes the gap; \
                         consider more equity or a cheaper capex plan.",
                        sized.coverage * 100.0,
                        shortfall * 100.0,
                        need * 100.0
                    ),
                )
            } else {
                (
                    Some(Hint {
                        lever: Lever::MezzOn,
                        from: HintValue::Bool(false),
                        to: HintValue::Bool(true),
                    }),
                    format!(
                        "Debt covers {:.1}% of the funding need, {:.1} points short of {:.1}%; \
                         add a mezzanine tranche to raise more debt behind the senior.",
                        sized.coverage * 100.0,
                        shortfall * 100.0,
                        need * 100.0
                    ),
                )
            }
        }
        RuleKey::StressDscr => {
            let scenario = ctx.rules.scenarios()[sized.worst].name.as_str();
            let min = ctx.rules.stress_dscr_min();
            let inflation = matches!(scenario, "cpi_0" | "cpi_1_8");
            if inflation && lv.zcis_tenor_years < t {
                (
                    Some(hedge(t)),
                    format!(
                        "Stressed DSCR {:.4} under {scenario} is below {min}; hedge inflation for \
                         the whole {t}y senior tenor so low CPI cannot erode the step-ups.",
                        sized.min_stress
                    ),
                )
            } else {
                let d_eff = dscr * sized.capacity / sized.senior;
                let to = ceil_cent(d_eff * min / sized.min_stress);
                (
                    Some(senior_dscr(to)),
                    format!(
                        "Stressed DSCR {:.4} under {scenario} is below {min}; size the senior to \
                         DSCR {to} so the debt service leaves room for the stress.",
                        sized.min_stress
                    ),
                )
            }
        }
        RuleKey::MaxWal => wal_hint(ctx, lv, d, sized, shortfall),
        RuleKey::WrapEligibility => (
            Some(Hint {
                lever: Lever::Wrap,
                from: HintValue::Bool(true),
                to: HintValue::Bool(false),
            }),
            format!(
                "The unwrapped rating {} is {shortfall} notch(es) below the {} an insurer will \
                 wrap; drop the wrap.",
                sized.unwrapped,
                ctx.rules.wrap().min_underlying
            ),
        ),
        RuleKey::RepoEligibility => repo_hint(ctx, lv, sized, verdict),
        RuleKey::MezzDscrOrder => (
            None,
            "The mezzanine DSCR must be below the senior DSCR.".to_string(),
        ),
    }
}

fn wal_hint(
    ctx: &Context,
    lv: &LeverSet,
    d: Digits,
    sized: &Sized,
    shortfall: f64,
) -> (Option<Hint>, String) {
    let t = lv.senior_tenor;
    let limit = ctx.rules.wal_max_ratio();
    if lv.senior_amort == Amort::Sculpted && lv.indexation_mode == Indexation::CpiCapped {
        return (
            Some(Hint {
                lever: Lever::SeniorAmort,
                from: HintValue::Text(Amort::Sculpted.as_str()),
                to: HintValue::Text(Amort::Annuity.as_str()),
            }),
            format!(
                "WAL {:.2}y is {shortfall:.2}y over {limit} of the tenor: sculpting to rising \
                 CPI-linked CFADS back-ends the principal; a level annuity repays earlier.",
                sized.wal
            ),
        );
    }
    let shorter = (1..t).rev().find(|&tt| {
        let probe = LeverSet {
            senior_tenor: tt,
            ..*lv
        };
        le(ctx.senior_wal(&probe, d), limit * f64::from(tt))
    });
    match shorter {
        Some(tt) => (
            Some(tenor_hint(lv, tt)),
            format!(
                "WAL {:.2}y is {shortfall:.2}y over {limit} of the {t}y tenor; at {tt}y the \
                 re-sized debt's WAL is within the limit.",
                sized.wal
            ),
        ),
        None => (
            None,
            format!(
                "WAL {:.2}y is {shortfall:.2}y over {limit} of the {t}y tenor, and no shorter \
                 tenor with the other levers unchanged brings it within the limit.",
                sized.wal
            ),
        ),
    }
}

fn repo_hint(
    ctx: &Context,
    lv: &LeverSet,
    sized: &Sized,
    verdict: &Verdict,
) -> (Option<Hint>, String) {
    let c = ctx.rules.repo(ctx.project.country);
    let mv = ctx.derived.market_value;
    let (t, dscr, k) = (lv.senior_tenor, lv.senior_dscr, sized.capacity);
    let tenor = |to| tenor_hint(lv, to);
    let senior_dscr = |to| dscr_hint(lv, to);
    match verdict.repo_failures.first() {
        Some(RepoFailure::RepoMinDscr) => {
            let to = ceil_cent(c.min_dscr);
            (
                Some(senior_dscr(to)),
                format!(
                    "Repo needs a senior min DSCR of {}, the structure runs at {:.4}; size to \
                     DSCR {to}.",
                    c.min_dscr, sized.min_dscr
                ),
            )
        }
        Some(RepoFailure::RepoMaxLtv) => {
            let to = ceil_cent(dscr * k / (c.max_ltv * mv));
            (
                Some(senior_dscr(to)),
                format!(
                    "Repo needs senior LTV at most {}, the structure is at {:.4}; a DSCR of {to} \
                     shrinks the senior enough.",
                    c.max_ltv, sized.ltv
                ),
            )
        }
        Some(RepoFailure::RepoMaxTenor) => (
            Some(tenor(c.max_tenor)),
            format!(
                "Repo accepts notes up to {}y; shorten the senior tenor from {t}y.",
                c.max_tenor
            ),
        ),
        Some(RepoFailure::RepoMinRating) => {
            let row = ctx
                .rules
                .rating_matrix(ctx.project.country)
                .iter()
                .rfind(|r| {
                    r.rating.at_least(c.min_rating)
                        && ctx.project.tenant_rating.at_least(r.tenant_min)
                });
            match row {
                Some(row) if t <= row.max_tenor => {
                    let to = ceil_cent(row.dscr.max(dscr * k / (row.max_ltv * mv)).max(c.min_dscr));
                    (
                        Some(senior_dscr(to)),
                        format!(
                            "Repo needs an unwrapped rating of at least {}, the senior rates {}; \
                             a DSCR of {to} meets the {} row of the rating matrix and the repo \
                             DSCR minimum.",
                            c.min_rating, sized.unwrapped, row.rating
                        ),
                    )
                }
                Some(row) => (
                    Some(tenor(row.max_tenor)),
                    format!(
                        "Repo needs an unwrapped rating of at least {}, the senior rates {}; the \
                         {} row of the rating matrix allows at most {}y.",
                        c.min_rating, sized.unwrapped, row.rating, row.max_tenor
                    ),
                ),
                None => (
                    None,
                    format!(
                        "Repo needs an unwrapped rating of at least {}, and no row of the rating \
                         matrix that high is open to this tenant.",
                        c.min_rating
                    ),
                ),
            }
        }
        None => (None, "The structure is repo eligible.".to_string()),
    }
}
