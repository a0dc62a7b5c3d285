//! The term sheet as data: every figure of sections 1–7, typed by its number format, built
//! once from an [`Export`] and the ruleset, and rendered by Markdown, XLSX and PDF alike.
//!
//! Figures that the export holds are taken from it unchanged. A few are derived here, each
//! stated where it is computed: annual sums of the monthly schedule, the mezzanine's average
//! combined DSCR, each rule's value, limit and headroom (from the ruleset and the structure),
//! and repo eligibility in the two jurisdictions other than the project's, judged by the
//! engine's own `assess::repo` on the same note (its unwrapped rating, DSCR, LTV, tenor and
//! WAL) against that jurisdiction's criteria. The project's own jurisdiction is the engine's
//! result, as exported.

use crate::export::Export;
use crate::number::Figure;
use phase1_core::document::{
    DayOneDoc, RatingDoc, ScheduleRow, ScoreDoc, SeniorDoc, SidecarDoc, StressDoc,
};
use phase1_core::levers::{Amort, Indexation};
use phase1_core::project::Country;
use phase1_core::rules::{Gate, RuleKey};
use phase1_core::ruleset::Ruleset;
use std::fmt;

/// The line every page and sheet carries.
pub const DISCLAIMER: &str = "Indicative terms for discussion; not an offer";

/// Why a term sheet cannot be built from an export.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetError(pub String);

impl fmt::Display for SheetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "term sheet: {}", self.0)
    }
}

impl std::error::Error for SheetError {}

/// A label and its figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// What it is.
    pub label: String,
    /// Its value.
    pub value: Figure,
}

/// A table with a header row.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<Figure>>,
}

/// What a section holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Label–value pairs.
    Pairs(Vec<Pair>),
    /// A table.
    Table(Table),
    /// Sentences.
    Lines(Vec<String>),
}

/// One numbered part of the term sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Stable key (`header`, `summary`, `notes`, `features`, `stress`, `rules`, `hints`,
    /// `annual`).
    pub key: &'static str,
    /// Heading.
    pub title: String,
    /// Content.
    pub body: Body,
}

/// One year of the debt-service schedule: sums over its months, closing balances at its
/// last month.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnualRow {
    /// Year, 1-based.
    pub year: u32,
    /// CFADS.
    pub cfads: f64,
    /// Senior interest.
    pub senior_interest: f64,
    /// Senior wrap fee.
    pub senior_wrap_fee: f64,
    /// Senior principal.
    pub senior_principal: f64,
    /// Senior debt service (interest, wrap fee and principal).
    pub senior_ds: f64,
    /// Senior balance at the year's end.
    pub senior_balance: f64,
    /// CFADS / senior debt service.
    pub dscr: f64,
    /// Mezzanine figures, when the mezzanine is on.
    pub mezz: Option<MezzYear>,
}

/// One year of the mezzanine.
#[derive(Debug, Clone, PartialEq)]
pub struct MezzYear {
    /// Interest.
    pub interest: f64,
    /// Principal.
    pub principal: f64,
    /// Debt service.
    pub ds: f64,
    /// Balance at the year's end.
    pub balance: f64,
    /// CFADS / (senior + mezzanine debt service).
    pub combined_dscr: f64,
}

/// The two charts of the PDF (and the balance chart of the XLSX).
#[derive(Debug, Clone, PartialEq)]
pub struct Charts {
    /// (year, senior balance, mezzanine balance) from year 0 (the amounts at close).
    pub balance: Vec<(u32, f64, Option<f64>)>,
    /// (year, senior DSCR) per year.
    pub dscr: Vec<(u32, f64)>,
    /// The senior DSCR floor the structure is held to.
    pub floor: f64,
}

/// A term sheet, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct TermSheet {
    /// The project title.
    pub title: String,
    /// The currency code amounts are in.
    pub currency: &'static str,
    /// `<project-title-slug>-<run_id first 8>-rank<N>`: the file name without extension.
    pub file_stem: String,
    /// The run's finish date, `YYYY-MM-DD`: the document's only date.
    pub date: String,
    /// Sections 1–7 in order.
    pub sections: Vec<Section>,
    /// The monthly schedule, as exported.
    pub schedule: Vec<ScheduleRow>,
    /// The annual schedule.
    pub annual: Vec<AnnualRow>,
    /// Chart data.
    pub charts: Charts,
    /// Whether the mezzanine is on.
    pub mezz_on: bool,
    /// Whether the senior is wrapped.
    pub wrap: bool,
}

impl TermSheet {
    /// Builds the term sheet of an export under the ruleset it was run with.
    pub fn new(export: &Export, rules: &Ruleset) -> Result<TermSheet, SheetError> {
        let p = &export.provenance;
        let version = p["ruleset"]["version"].as_str().unwrap_or_default();
        let hash = p["ruleset"]["hash"].as_str().unwrap_or_default();
        if version != rules.version() || hash != rules.hash() {
            return Err(SheetError(format!(
                "the run used ruleset {version} ({hash}), this engine has {} ({})",
                rules.version(),
                rules.hash()
            )));
        }
        let finished = p["finished_at"]
            .as_str()
            .ok_or_else(|| SheetError("the run has no finish time".into()))?;
        let date = finished.get(..10).unwrap_or(finished).to_string();
        let facts = Facts::of(export, rules)?;
        let annual = annual(&export.evaluation.schedule);
        let charts = charts(&facts, &annual);
        let sections = vec![
            header(export, &facts, &date),
            summary(&facts),
            notes(&facts, rules),
            features(&facts),
            stress(&facts, rules),
            rules_section(&facts, rules),
            hints(export),
            annual_section(&facts, &annual),
        ];
        Ok(TermSheet {
            title: export.project.title.clone(),
            currency: currency(export),
            file_stem: format!(
                "{}-{}-rank{}",
                slug(&export.project.title),
                export.run_id.chars().take(8).collect::<String>(),
                export.rank
            ),
            date,
            sections,
            schedule: export.evaluation.schedule.clone(),
            annual,
            charts,
            mezz_on: facts.lv.mezz_on,
            wrap: facts.lv.wrap,
        })
    }

    /// The section with `key`.
    pub fn section(&self, key: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.key == key)
    }
}

/// The sized structure's parts every section reads, unwrapped once.
struct Facts<'a> {
    export: &'a Export,
    lv: phase1_core::levers::LeverSet,
    senior: &'a SeniorDoc,
    stress: &'a StressDoc,
    rating: &'a RatingDoc,
    score: &'a ScoreDoc,
    day_one: &'a DayOneDoc,
    sidecar: &'a SidecarDoc,
    /// The senior DSCR floor after any wrap relief.
    floor: f64,
    ccy: &'static str,
}

impl<'a> Facts<'a> {
    fn of(export: &'a Export, rules: &Ruleset) -> Result<Facts<'a>, SheetError> {
        let s = &export.evaluation.structure;
        fn sized<'b, T>(part: &'b Option<T>, what: &str) -> Result<&'b T, SheetError> {
            part.as_ref()
                .ok_or_else(|| SheetError(format!("the sized structure has no {what}")))
        }
        let relief = if s.levers.wrap {
            rules.wrap().dscr_relief
        } else {
            0.0
        };
        Ok(Facts {
            export,
            lv: s.levers,
            senior: sized(&s.senior, "senior tranche")?,
            stress: sized(&s.stress, "stress")?,
            rating: sized(&s.rating, "rating")?,
            score: sized(&s.score, "score")?,
            day_one: sized(&s.day_one_value, "day-one value")?,
            sidecar: sized(&s.sidecar, "sidecar")?,
            floor: export.derived.dscr_floor - relief,
            ccy: currency(export),
        })
    }

    fn structure(&self) -> &phase1_core::document::StructureDoc {
        &self.export.evaluation.structure
    }
    fn money(&self, label: &str) -> String {
        format!("{label} ({})", self.ccy)
    }
}

fn currency(export: &Export) -> &'static str {
    match export.project.currency {
        phase1_core::project::Currency::GBP => "GBP",
        phase1_core::project::Currency::EUR => "EUR",
        phase1_core::project::Currency::USD => "USD",
    }
}

fn pair(label: impl Into<String>, value: Figure) -> Pair {
    Pair {
        label: label.into(),
        value,
    }
}

/// Lower-case ASCII letters and digits, runs of anything else as one `-`; "project" when
/// nothing is left.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_end_matches('-').chars().take(60).collect();
    let trimmed = trimmed.trim_end_matches('-').to_string();
    if trimmed.is_empty() {
        "project".into()
    } else {
        trimmed
    }
}

fn header(export: &Export, f: &Facts, date: &str) -> Section {
    let p = &export.provenance;
    let text = |v: &serde_json::Value| Figure::text(v.as_str().unwrap_or("n/a"));
    let options = &p["options"];
    let on = |k: &str| options[k].as_bool().unwrap_or(true);
    let options_text = format!(
        "gates {}, repo rules {}, tiering {}",
        if on("enforce_gates") {
            "enforced"
        } else {
            "advisory"
        },
        if on("repo_rules") { "on" } else { "off" },
        if on("tiering") { "on" } else { "off" },
    );
    Section {
        key: "header",
        title: "1. Transaction and provenance".into(),
        body: Body::Pairs(vec![
            pair("Project", Figure::text(export.project.title.clone())),
            pair("Country", Figure::text(export.project.country.as_str())),
            pair("Currency", Figure::text(f.ccy)),
            pair("Run finished", Figure::text(date)),
            pair("Run id", Figure::text(export.run_id.clone())),
            pair("Structure rank", Figure::Count(u64::from(export.rank))),
            pair(
                "Permutation id",
                Figure::text(f.structure().permutation_id.clone()),
            ),
            pair("Engine version", text(&p["engine_version"])),
            pair("Ruleset version", text(&p["ruleset"]["version"])),
            pair("Ruleset hash", text(&p["ruleset"]["hash"])),
            pair(
                "Seed",
                Figure::text(p["seed"].as_u64().map_or("n/a".into(), |s| s.to_string())),
            ),
            pair("Engine options", Figure::text(options_text)),
        ]),
    }
}

fn summary(f: &Facts) -> Section {
    let s = f.structure();
    let d = &f.export.derived;
    let (day_one, sidecar, score) = (f.day_one, f.sidecar, f.score);
    let mezz = match &s.mezz {
        Some(m) => Figure::Amount(m.amount),
        None => Figure::text("none"),
    };
    Section {
        key: "summary",
        title: "2. Transaction summary".into(),
        body: Body::Pairs(vec![
            pair(f.money("Funding need"), Figure::Amount(d.funding_need)),
            pair(f.money("Market value"), Figure::Amount(d.market_value)),
            pair(f.money("Senior notes"), Figure::Amount(f.senior.amount)),
            pair(f.money("Mezzanine notes"), mezz),
            pair(
                f.money("Total debt"),
                Figure::Amount(s.debt.unwrap_or_default()),
            ),
            pair(
                f.money("Equity"),
                Figure::Amount(s.equity.unwrap_or_default()),
            ),
            pair(f.money("Sidecar net proceeds"), Figure::Amount(sidecar.net)),
            pair(
                f.money("Day-one value (debt + sidecar net)"),
                Figure::Amount(day_one.total),
            ),
            pair("Advance (senior LTV)", Figure::Rate(f.senior.ltv)),
            pair(
                "Coverage (debt / funding need)",
                Figure::Rate(s.coverage.unwrap_or_default()),
            ),
            pair(
                "Tier",
                Figure::text(s.tier.map_or("not tiered (tiering off)", |t| t.as_str())),
            ),
            pair("Score (of 100)", Figure::Score(score.total)),
        ]),
    }
}

/// Repo eligibility of the senior note in `country`, in words with the haircut.
fn repo_text(f: &Facts, country: Country) -> Figure {
    let Some(repo) = f
        .export
        .repo_by_country
        .as_ref()
        .and_then(|all| all.iter().find(|(c, _)| *c == country))
        .map(|(_, r)| r)
    else {
        return Figure::text("not assessed (repo rules off)");
    };
    match repo.haircut {
        Some(h) if repo.eligible => {
            Figure::text(format!("eligible, haircut {}", crate::number::rate(h)))
        }
        _ => Figure::text(format!(
            "not eligible ({})",
            repo.failures
                .iter()
                .map(|r| serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn notes(f: &Facts, rules: &Ruleset) -> Section {
    let s = f.structure();
    let lv = &f.lv;
    let project = &f.export.project;
    let rating = f.rating;
    let mut header = vec!["Term".to_string(), "Senior notes".to_string()];
    let mezz = s.mezz.as_ref();
    if mezz.is_some() {
        header.push("Mezzanine notes".into());
    }
    let amort = match lv.senior_amort {
        Amort::Sculpted => format!("sculpted to {}", crate::number::ratio(lv.senior_dscr)),
        Amort::Annuity => "level (annuity)".to_string(),
    };
    let wrap = if lv.wrap {
        Figure::text(format!(
            "{} ({} insurer, premium {} a year)",
            rating.effective.as_str(),
            rules.wrap().insurer_rating.as_str(),
            Figure::Bps(project.wrap_premium_bps).render()
        ))
    } else {
        Figure::text(format!("{} (no wrap)", rating.effective.as_str()))
    };
    let mut rows: Vec<(String, Figure, Figure)> = vec![
        (
            f.money("Principal"),
            Figure::Amount(f.senior.amount),
            mezz.map_or(Figure::text(""), |m| Figure::Amount(m.amount)),
        ),
        (
            "Coupon".into(),
            Figure::Rate(lv.senior_coupon),
            Figure::Rate(project.mezz_coupon),
        ),
        (
            "Tenor (years)".into(),
            Figure::Years(i64::from(lv.senior_tenor)),
            Figure::Years(i64::from(lv.senior_tenor)),
        ),
        (
            "Amortisation".into(),
            Figure::text(amort),
            Figure::text(format!(
                "sculpted to the residual at {} combined",
                crate::number::ratio(project.mezz_dscr)
            )),
        ),
        (
            "WAL".into(),
            Figure::Duration(f.senior.wal),
            mezz.and_then(|m| m.wal)
                .map_or(Figure::text("n/a (no mezzanine drawn)"), Figure::Duration),
        ),
        (
            "Minimum DSCR".into(),
            Figure::Ratio(f.senior.min_dscr),
            mezz.map_or(Figure::text(""), |m| Figure::Ratio(m.min_dscr_combined)),
        ),
        (
            "Average DSCR".into(),
            Figure::Ratio(f.senior.avg_dscr),
            Figure::Ratio(average_combined_dscr(&f.export.evaluation.schedule)),
        ),
        (
            "LLCR".into(),
            Figure::Ratio(f.senior.llcr),
            Figure::text("n/a"),
        ),
        (
            "Rating, unwrapped".into(),
            Figure::text(rating.unwrapped.as_str()),
            Figure::text("not rated"),
        ),
        (
            "Rating, after the wrap".into(),
            wrap,
            Figure::text("not rated"),
        ),
    ];
    for country in Country::ALL {
        rows.push((
            format!("Repo eligibility, {}", country.as_str()),
            repo_text(f, country),
            Figure::text("not eligible (subordinated)"),
        ));
    }
    let rows = rows
        .into_iter()
        .map(|(label, senior, mezzanine)| {
            let mut row = vec![Figure::Text(label), senior];
            if mezz.is_some() {
                row.push(mezzanine);
            }
            row
        })
        .collect();
    Section {
        key: "notes",
        title: "3. Notes".into(),
        body: Body::Table(Table { header, rows }),
    }
}

/// Mean over the months of CFADS / (senior + mezzanine debt service): the mezzanine's
/// average DSCR on the combined service, as its minimum is.
fn average_combined_dscr(schedule: &[ScheduleRow]) -> f64 {
    if schedule.is_empty() {
        return 0.0;
    }
    let sum: f64 = schedule
        .iter()
        .map(|r| r.cfads / (r.senior_ds + r.mezz_ds.unwrap_or(0.0)))
        .sum();
    sum / schedule.len() as f64
}

fn features(f: &Facts) -> Section {
    let lv = &f.lv;
    let p = &f.export.project;
    let sidecar = f.sidecar;
    let indexation = match lv.indexation_mode {
        Indexation::Flat => "flat rent (CPI upside sold through the sidecar when hedged)",
        Indexation::CpiCapped => "CPI-indexed rent, each step-up floored and capped",
    };
    let hedge = if lv.zcis_tenor_years == 0 {
        Figure::text("none")
    } else {
        Figure::Years(i64::from(lv.zcis_tenor_years))
    };
    let binding = match f.senior.binding {
        phase1_core::kernel::Binding::Dscr => "DSCR: the cash flows at the target DSCR",
        phase1_core::kernel::Binding::Advance => "ADVANCE: the advance cap on market value",
        phase1_core::kernel::Binding::Funding => "FUNDING: the funding need",
    };
    Section {
        key: "features",
        title: "4. Structural features".into(),
        body: Body::Pairs(vec![
            pair("Indexation", Figure::text(indexation)),
            pair("CPI base case", Figure::Rate(p.cpi_base)),
            pair("CPI floor", Figure::Rate(p.cpi_floor)),
            pair("CPI cap", Figure::Rate(p.cpi_cap)),
            pair("Inflation-swap hedge tenor (years)", hedge),
            pair("Inflation-swap rate", Figure::Rate(p.zcis_rate)),
            pair("Sidecar haircut", Figure::Rate(p.sidecar_haircut_pct)),
            pair(
                "Sidecar discount rate",
                Figure::Rate(p.sidecar_discount_rate),
            ),
            pair(
                f.money("Sidecar gross value"),
                Figure::Amount(sidecar.gross),
            ),
            pair(f.money("Sidecar net proceeds"), Figure::Amount(sidecar.net)),
            pair("Binding sizing limit", Figure::text(binding)),
            pair("Senior DSCR floor", Figure::Ratio(f.floor)),
            pair("Advance cap", Figure::Rate(f.export.derived.max_advance)),
            pair(
                "Credit wrap",
                if lv.wrap {
                    Figure::text(format!(
                        "on, premium {} a year",
                        Figure::Bps(p.wrap_premium_bps).render()
                    ))
                } else {
                    Figure::text("none")
                },
            ),
        ]),
    }
}

fn describe(scn: &phase1_core::ruleset::Scenario) -> String {
    let mut parts = Vec::new();
    if let Some(cpi) = scn.cpi {
        parts.push(format!(
            "CPI {} on unhedged step-ups",
            crate::number::rate(cpi)
        ));
    }
    if scn.opex_multiplier != 1.0 {
        parts.push(format!(
            "opex × {}",
            crate::number::ratio(scn.opex_multiplier).trim_end_matches('x')
        ));
    }
    if scn.rent_factor != 1.0 {
        parts.push(format!(
            "rent × {}",
            crate::number::ratio(scn.rent_factor).trim_end_matches('x')
        ));
    }
    parts.join(", ")
}

fn stress(f: &Facts, rules: &Ruleset) -> Section {
    let st = f.stress;
    let floor = rules.stress_dscr_min();
    let mut rows = vec![vec![
        Figure::text("base"),
        Figure::text("as sized (the senior DSCR floor applies)"),
        Figure::Ratio(f.senior.min_dscr),
        Figure::Ratio(f.floor),
        Figure::Ratio(f.senior.min_dscr - f.floor),
        Figure::text(""),
    ]];
    for scn in rules.scenarios() {
        let value = match scn.name.as_str() {
            "cpi_0" => st.cpi_0,
            "cpi_1_8" => st.cpi_1_8,
            "opex_plus_10" => st.opex_plus_10,
            "rent_minus_10" => st.rent_minus_10,
            _ => continue,
        };
        rows.push(vec![
            Figure::text(scn.name.clone()),
            Figure::text(describe(scn)),
            Figure::Ratio(value),
            Figure::Ratio(floor),
            Figure::Ratio(value - floor),
            Figure::text(if scn.name == st.worst { "worst" } else { "" }),
        ]);
    }
    Section {
        key: "stress",
        title: "5. Coverage and stress".into(),
        body: Body::Table(Table {
            header: [
                "Scenario",
                "What changes",
                "Minimum DSCR",
                "Floor",
                "Headroom",
                "Worst",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        }),
    }
}

/// One rule's value, limit and headroom (positive: room to spare; negative: how far it
/// fails, which is the engine's shortfall).
fn rule_row(f: &Facts, rules: &Ruleset, key: RuleKey) -> (Figure, Figure, Figure) {
    let s = f.structure();
    let lv = &f.lv;
    let d = &f.export.derived;
    let p = &f.export.project;
    match key {
        RuleKey::TenorCap => (
            Figure::Years(i64::from(lv.senior_tenor)),
            Figure::text(format!("≤ {} years (tenor cap)", d.tenor_cap)),
            Figure::Years(i64::from(d.tenor_cap) - i64::from(lv.senior_tenor)),
        ),
        RuleKey::MinDscrSenior => (
            Figure::Ratio(lv.senior_dscr),
            Figure::text(format!("≥ {} (DSCR floor)", crate::number::ratio(f.floor))),
            Figure::Ratio(lv.senior_dscr - f.floor),
        ),
        RuleKey::MezzDscrOrder => (
            Figure::Ratio(p.mezz_dscr),
            Figure::text(format!(
                "< {} (senior DSCR)",
                crate::number::ratio(lv.senior_dscr)
            )),
            Figure::Ratio(lv.senior_dscr - p.mezz_dscr),
        ),
        RuleKey::ZcisTenor => (
            Figure::Years(i64::from(lv.zcis_tenor_years)),
            Figure::text(format!("≤ {} years (senior tenor)", lv.senior_tenor)),
            Figure::Years(i64::from(lv.senior_tenor) - i64::from(lv.zcis_tenor_years)),
        ),
        RuleKey::MinCoverage => {
            let coverage = s.coverage.unwrap_or_default();
            (
                Figure::Rate(coverage),
                Figure::text(format!("≥ {}", crate::number::rate(p.min_coverage))),
                Figure::Rate(coverage - p.min_coverage),
            )
        }
        RuleKey::StressDscr => {
            let min = f.stress.min;
            (
                Figure::Ratio(min),
                Figure::text(format!(
                    "≥ {} (worst stress)",
                    crate::number::ratio(rules.stress_dscr_min())
                )),
                Figure::Ratio(min - rules.stress_dscr_min()),
            )
        }
        RuleKey::MaxWal => {
            let max = rules.wal_max_ratio() * f64::from(lv.senior_tenor);
            (
                Figure::Duration(f.senior.wal),
                Figure::text(format!(
                    "≤ {} ({} of tenor)",
                    Figure::Duration(max).render(),
                    crate::number::rate(rules.wal_max_ratio())
                )),
                Figure::Duration(max - f.senior.wal),
            )
        }
        RuleKey::WrapEligibility => {
            let min = rules.wrap().min_underlying;
            let unwrapped = f.rating.unwrapped;
            let headroom =
                i64::from(min.notches_below(unwrapped)) - i64::from(unwrapped.notches_below(min));
            (
                Figure::text(unwrapped.as_str()),
                Figure::text(format!("≥ {} unwrapped", min.as_str())),
                Figure::text(format!("{headroom} notches")),
            )
        }
        RuleKey::RepoEligibility => {
            let c = rules.repo(p.country);
            (
                repo_text(f, p.country),
                Figure::text(format!(
                    "{}: rating ≥ {}, DSCR ≥ {}, LTV ≤ {}, tenor ≤ {} years",
                    p.country.as_str(),
                    c.min_rating.as_str(),
                    crate::number::ratio(c.min_dscr),
                    crate::number::rate(c.max_ltv),
                    c.max_tenor
                )),
                Figure::text("n/a"),
            )
        }
    }
}

fn rules_section(f: &Facts, rules: &Ruleset) -> Section {
    let rows = f
        .export
        .evaluation
        .rules
        .iter()
        .map(|r| {
            let (value, limit, headroom) = rule_row(f, rules, r.rule);
            vec![
                Figure::text(r.rule.as_str()),
                Figure::text(match r.gate {
                    Gate::A => "A",
                    Gate::B => "B",
                }),
                value,
                limit,
                Figure::text(if r.passed { "pass" } else { "fail" }),
                headroom,
            ]
        })
        .collect();
    Section {
        key: "rules",
        title: "6. Rule compliance".into(),
        body: Body::Table(Table {
            header: ["Rule", "Gate", "Value", "Limit", "Result", "Headroom"]
                .map(String::from)
                .to_vec(),
            rows,
        }),
    }
}

fn hints(export: &Export) -> Section {
    let lines = match &export.evaluation.near_miss {
        Some(nm) => {
            let mut lines = vec![format!(
                "Near-miss: fails {} by {}. {}",
                nm.rule.as_str(),
                nm.shortfall,
                nm.message
            )];
            if let Some(h) = &nm.hint {
                let v = serde_json::to_value(h).unwrap_or_default();
                lines.push(format!(
                    "Fix: move {} from {} to {}.",
                    v["lever"].as_str().unwrap_or("?"),
                    v["from"],
                    v["to"]
                ));
            }
            lines
        }
        None => {
            let failed: Vec<&str> = export
                .evaluation
                .rules
                .iter()
                .filter(|r| !r.passed)
                .map(|r| r.rule.as_str())
                .collect();
            if failed.is_empty() {
                vec!["None needed: the structure passes every rule that applies.".into()]
            } else {
                vec![format!(
                    "Ranked in advisory mode despite failing {}; no single-lever fix is computed in that mode.",
                    failed.join(", ")
                )]
            }
        }
    };
    Section {
        key: "hints",
        title: "Fix hints".into(),
        body: Body::Lines(lines),
    }
}

/// Each year's number and months: the schedule runs t = 1..=12·tenor in order, so year y
/// is months 12(y−1)+1 ..= 12y.
pub fn years(schedule: &[ScheduleRow]) -> impl Iterator<Item = (u32, &[ScheduleRow])> {
    (1..).zip(schedule.chunks(12))
}

/// Sums the monthly schedule by year.
pub fn annual(schedule: &[ScheduleRow]) -> Vec<AnnualRow> {
    years(schedule)
        .map(|(year, months)| {
            let last = &months[months.len() - 1];
            let sum = |f: &dyn Fn(&ScheduleRow) -> f64| months.iter().map(f).sum::<f64>();
            let cfads = sum(&|r| r.cfads);
            let senior_ds = sum(&|r| r.senior_ds);
            let mezz = last.mezz_balance.map(|balance| {
                let ds = sum(&|r| r.mezz_ds.unwrap_or(0.0));
                MezzYear {
                    interest: sum(&|r| r.mezz_interest.unwrap_or(0.0)),
                    principal: sum(&|r| r.mezz_principal.unwrap_or(0.0)),
                    ds,
                    balance,
                    combined_dscr: cfads / (senior_ds + ds),
                }
            });
            AnnualRow {
                year,
                cfads,
                senior_interest: sum(&|r| r.senior_interest),
                senior_wrap_fee: sum(&|r| r.senior_wrap_fee),
                senior_principal: sum(&|r| r.senior_principal),
                senior_ds,
                senior_balance: last.senior_balance,
                dscr: cfads / senior_ds,
                mezz,
            }
        })
        .collect()
}

fn annual_section(f: &Facts, annual: &[AnnualRow]) -> Section {
    let wrap = f.lv.wrap;
    let mezz = f.lv.mezz_on;
    let mut header: Vec<String> = ["Year", "CFADS", "Senior interest"]
        .map(String::from)
        .to_vec();
    if wrap {
        header.push("Wrap fee".into());
    }
    header.extend(["Senior principal", "Senior balance", "Senior DSCR"].map(String::from));
    if mezz {
        header.extend(
            [
                "Mezz interest",
                "Mezz principal",
                "Mezz balance",
                "Combined DSCR",
            ]
            .map(String::from),
        );
    }
    let rows = annual
        .iter()
        .map(|a| {
            let mut row = vec![
                Figure::Years(i64::from(a.year)),
                Figure::Amount(a.cfads),
                Figure::Amount(a.senior_interest),
            ];
            if wrap {
                row.push(Figure::Amount(a.senior_wrap_fee));
            }
            row.extend([
                Figure::Amount(a.senior_principal),
                Figure::Amount(a.senior_balance),
                Figure::Ratio(a.dscr),
            ]);
            if let Some(m) = &a.mezz {
                row.extend([
                    Figure::Amount(m.interest),
                    Figure::Amount(m.principal),
                    Figure::Amount(m.balance),
                    Figure::Ratio(m.combined_dscr),
                ]);
            }
            row
        })
        .collect();
    Section {
        key: "annual",
        title: format!("7. Annual debt-service schedule (amounts in {})", f.ccy),
        body: Body::Table(Table { header, rows }),
    }
}

fn charts(f: &Facts, annual: &[AnnualRow]) -> Charts {
    let mezz0 = f.structure().mezz.as_ref().map(|m| m.amount);
    let mut balance = vec![(0, f.senior.amount, mezz0)];
    balance.extend(
        annual
            .iter()
            .map(|a| (a.year, a.senior_balance, a.mezz.as_ref().map(|m| m.balance))),
    );
    Charts {
        balance,
        dscr: annual.iter().map(|a| (a.year, a.dscr)).collect(),
        floor: f.floor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{london_export, medium_export};

    fn pairs(sheet: &TermSheet, key: &str) -> Vec<(String, String)> {
        match &sheet.section(key).unwrap().body {
            Body::Pairs(p) => p
                .iter()
                .map(|p| (p.label.clone(), p.value.render()))
                .collect(),
            other => panic!("{key} is {other:?}"),
        }
    }

    fn table(sheet: &TermSheet, key: &str) -> Table {
        match &sheet.section(key).unwrap().body {
            Body::Table(t) => t.clone(),
            other => panic!("{key} is {other:?}"),
        }
    }

    #[test]
    fn the_summary_is_the_exports_figures_formatted() {
        let export = london_export(1);
        let sheet = TermSheet::new(&export, Ruleset::v1()).unwrap();
        let doc = export.to_json();
        let s = &doc["structure"];
        let summary = pairs(&sheet, "summary");
        let get = |label: &str| {
            summary
                .iter()
                .find(|(l, _)| l.starts_with(label))
                .unwrap_or_else(|| panic!("{label}"))
                .1
                .clone()
        };
        let amount = |v: &serde_json::Value| crate::number::amount(v.as_f64().unwrap());
        assert_eq!(get("Funding need"), amount(&doc["derived"]["funding_need"]));
        assert_eq!(get("Senior notes"), amount(&s["senior"]["amount"]));
        assert_eq!(get("Equity"), amount(&s["equity"]));
        assert_eq!(get("Day-one value"), amount(&s["day_one_value"]["total"]));
        assert_eq!(
            get("Coverage"),
            crate::number::rate(s["coverage"].as_f64().unwrap())
        );
        assert_eq!(get("Tier"), s["tier"].as_str().unwrap());
        assert_eq!(sheet.file_stem, "london-dc-alpha-run-0001-rank1");
        assert!(sheet.date.len() == 10 && sheet.date.starts_with("20"));
    }

    #[test]
    fn the_annual_schedule_sums_the_months() {
        let export = london_export(1);
        let sheet = TermSheet::new(&export, Ruleset::v1()).unwrap();
        let tenor = export.evaluation.structure.levers.senior_tenor;
        assert_eq!(sheet.annual.len() as u32, tenor);
        let months = &export.evaluation.schedule;
        let cfads: f64 = months.iter().map(|r| r.cfads).sum();
        let annual: f64 = sheet.annual.iter().map(|a| a.cfads).sum();
        assert!((cfads - annual).abs() < 1e-6 * cfads);
        let last = sheet.annual.last().unwrap();
        assert_eq!(last.senior_balance, months.last().unwrap().senior_balance);
        let y1 = &sheet.annual[0];
        let ds: f64 = months[..12].iter().map(|r| r.senior_ds).sum();
        assert_eq!(y1.dscr, y1.cfads / ds);
        assert_eq!(table(&sheet, "annual").rows.len() as u32, tenor);
    }

    #[test]
    fn failing_rules_show_the_shortfall_as_negative_headroom() {
        // Every rule of every ranked structure passes; the headroom of a passing numeric
        // rule is never negative, and a near-miss's failing rule shows −shortfall.
        let export = medium_export(1);
        let sheet = TermSheet::new(&export, Ruleset::v1()).unwrap();
        let rules = table(&sheet, "rules");
        assert_eq!(rules.rows.len(), export.evaluation.rules.len());
        for row in &rules.rows {
            assert_eq!(row[4].render(), "pass");
            if let Some(h) = row[5].number() {
                assert!(h >= -1e-9, "{row:?}");
            }
        }
        assert!(rules
            .rows
            .iter()
            .any(|r| r[0].render() == "REPO_ELIGIBILITY"));
    }

    #[test]
    fn stress_lists_every_scenario_and_marks_the_worst() {
        let export = london_export(1);
        let sheet = TermSheet::new(&export, Ruleset::v1()).unwrap();
        let t = table(&sheet, "stress");
        assert_eq!(t.rows.len(), 1 + Ruleset::v1().scenarios().len());
        let worst: Vec<_> = t.rows.iter().filter(|r| r[5].render() == "worst").collect();
        assert_eq!(worst.len(), 1);
        let st = export.evaluation.structure.stress.as_ref().unwrap();
        assert_eq!(worst[0][0].render(), st.worst);
        assert_eq!(worst[0][2].render(), crate::number::ratio(st.min));
    }

    #[test]
    fn repo_in_the_projects_country_is_the_engines() {
        let export = medium_export(1);
        let sheet = TermSheet::new(&export, Ruleset::v1()).unwrap();
        let notes = table(&sheet, "notes");
        let eu = notes
            .rows
            .iter()
            .find(|r| r[0].render() == "Repo eligibility, EU")
            .unwrap();
        let repo = export.evaluation.structure.repo.as_ref().unwrap();
        match repo.haircut {
            Some(h) => assert_eq!(
                eu[1].render(),
                format!("eligible, haircut {}", crate::number::rate(h))
            ),
            None => assert!(eu[1].render().starts_with("not eligible")),
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("London DC Alpha"), "london-dc-alpha");
        assert_eq!(slug("  Ünïcode / Site #2 "), "n-code-site-2");
        assert_eq!(slug("£££"), "project");
    }

    #[test]
    fn a_different_ruleset_is_refused() {
        let mut export = london_export(1);
        export.provenance["ruleset"]["hash"] = "other".into();
        let err = TermSheet::new(&export, Ruleset::v1()).unwrap_err();
        assert!(err.to_string().contains("ruleset"));
    }
}
