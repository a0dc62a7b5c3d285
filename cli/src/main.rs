//! `phase1`: the command-line front door to the structuring engine.
//!
//! Commands: `run`, `evaluate`, `rules`, `presets`, `cardinality` (engine spec §10), and
//! `term-sheet`, the documents of `phase1-documents`. Bad
//! input exits with code 2 and, with `--json`, an RFC 9457 problem document on stderr.

mod admin;
mod documents;
mod input;
mod ops;
mod render;
mod report;

use clap::{Args, Parser, Subcommand, ValueEnum};
use input::Failure;
use phase1_core::document;
use phase1_core::job::Job;
use phase1_core::request::{Objective, Options, Overrides, RunInput};
use phase1_core::ruleset::{self, Ruleset};
use serde::Serialize;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

#[derive(Parser)]
#[command(
    name = "phase1",
    version,
    about = "Securitisation structuring engine for data-centre projects"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sweep a grid of structures and rank them.
    Run(RunArgs),
    /// Size one permutation in full, with its monthly schedule and every rule.
    Evaluate(EvaluateArgs),
    /// Print the ruleset, or run its integrity checks.
    Rules(RulesArgs),
    /// Print the structuring presets.
    Presets(JsonFlag),
    /// Count the permutations a request spans.
    Cardinality(CardinalityArgs),
    /// Run a request and write the term sheet of one ranked structure (PDF, XLSX or
    /// Markdown).
    TermSheet(documents::TermSheetArgs),
    /// Check the configuration and each store; exit 1 naming any failure.
    Doctor(JsonFlag),
    /// Create the stores' indexes and TTLs (idempotent).
    Migrate(JsonFlag),
    /// Serve the whole app on one local port.
    Serve(ServeArgs),
    /// Manage user accounts and keys.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Operators' reports.
    #[command(subcommand)]
    Report(ReportCommand),
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The daily report of one UTC day (Markdown, or JSON with --json).
    Daily(DailyArgs),
}

#[derive(Args)]
struct DailyArgs {
    /// The day, YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    date: Option<String>,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user; prints the TOTP provisioning URI once.
    CreateUser(CreateUserArgs),
    /// Disable a user and revoke their sessions.
    DisableUser(DisableUserArgs),
    /// Re-seal every TOTP secret under PHASE1_ENCRYPTION_KEY.
    RotateEncryptionKey(JsonFlag),
}

#[derive(Args)]
struct CreateUserArgs {
    /// The user's email.
    #[arg(long)]
    email: String,
    /// admin or analyst.
    #[arg(long)]
    role: String,
    /// Read the password from stdin.
    #[arg(long)]
    password_stdin: bool,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct DisableUserArgs {
    /// The user's email.
    #[arg(long)]
    email: String,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct ServeArgs {
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
}

#[derive(Args)]
struct JsonFlag {
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Engine options (spec §11); all on unless switched off here.
#[derive(Args, Clone, Copy)]
pub(crate) struct OptionFlags {
    /// Advisory gates: rank every sizable structure and report failed rules.
    #[arg(long)]
    advisory: bool,
    /// Skip repo eligibility and the REPO_ELIGIBILITY rule.
    #[arg(long)]
    no_repo_rules: bool,
    /// Do not assign tiers.
    #[arg(long)]
    no_tiering: bool,
    /// Accept only scalar, list and min/max/step ranges.
    #[arg(long)]
    no_input_hierarchy: bool,
}

impl OptionFlags {
    fn options(self) -> Options {
        Options {
            enforce_gates: !self.advisory,
            repo_rules: !self.no_repo_rules,
            tiering: !self.no_tiering,
            input_hierarchy: !self.no_input_hierarchy,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ObjectiveArg {
    #[value(name = "score")]
    Score,
    #[value(name = "day_one_value")]
    DayOneValue,
}

#[derive(Args)]
struct RunArgs {
    /// Fixture-shaped request: {project, ranges | preset, seed, topn, objective, sample}.
    file: String,
    /// Seed (overrides the file).
    #[arg(long)]
    seed: Option<u64>,
    /// How many ranked structures to return, 1..=100 (overrides the file).
    #[arg(long)]
    top: Option<u32>,
    /// Ranking objective (overrides the file).
    #[arg(long, value_enum)]
    objective: Option<ObjectiveArg>,
    /// Judge K distinct permutations drawn with the seed (overrides the file).
    #[arg(long)]
    sample: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the run document on stdout and nothing else.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    options: OptionFlags,
}

#[derive(Args)]
struct EvaluateArgs {
    /// Fixture-shaped request.
    file: String,
    /// Permutation index.
    #[arg(long)]
    index: u64,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    options: OptionFlags,
}

#[derive(Args)]
struct RulesArgs {
    /// Run the integrity checks; exit 1 when one fails.
    #[arg(long)]
    validate: bool,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CardinalityArgs {
    /// Fixture-shaped request.
    file: String,
    /// Print JSON on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    options: OptionFlags,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            let json = std::env::args().any(|a| a == "--json");
            Failure::arguments(
                e.kind().as_str().unwrap_or("invalid arguments"),
                e.to_string(),
            )
            .report(json);
            return ExitCode::from(2);
        }
    };
    let (json, result) = match cli.command {
        Command::Run(a) => (a.json, run(&a)),
        Command::Evaluate(a) => (a.json, evaluate(&a)),
        Command::Rules(a) => (a.json, rules(&a)),
        Command::Presets(a) => (a.json, presets(&a)),
        Command::Cardinality(a) => (a.json, cardinality(&a)),
        Command::TermSheet(a) => (false, documents::term_sheet(&a)),
        Command::Doctor(a) => (a.json, ops::doctor(a.json)),
        Command::Migrate(a) => (a.json, ops::migrate(a.json)),
        Command::Serve(a) => (false, ops::serve(a.host, a.port)),
        Command::Admin(AdminCommand::CreateUser(a)) => (
            a.json,
            admin::create_user(&a.email, &a.role, a.password_stdin, a.json),
        ),
        Command::Admin(AdminCommand::DisableUser(a)) => {
            (a.json, admin::disable_user(&a.email, a.json))
        }
        Command::Admin(AdminCommand::RotateEncryptionKey(a)) => {
            (a.json, admin::rotate_encryption_key(a.json))
        }
        Command::Report(ReportCommand::Daily(a)) => {
            (a.json, report::daily(a.date.as_deref(), a.json))
        }
    };
    match result {
        Ok(code) => code,
        Err(f) => {
            f.report(json);
            ExitCode::from(2)
        }
    }
}

pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(Failure::internal)?;
    emit(&(text + "\n"))
}

/// Writes to stdout; a closed pipe (`phase1 … | head`) ends the output quietly.
pub(crate) fn emit(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::internal(e)),
        _ => Ok(()),
    }
}

/// Runs the grid of a fixture-shaped file: the run document, timed.
pub(crate) fn execute(
    file: &str,
    overrides: &Overrides,
    options: Options,
    threads: Option<usize>,
    quiet: bool,
) -> Result<(RunInput, document::RunDocument), Failure> {
    let rules = Ruleset::v1();
    let input = input::load_request(file, overrides, options, rules)?;
    input.check_guardrail(input::guardrail()?)?;
    let pool = input::thread_pool(threads)?;
    let started_at = SystemTime::now();
    let clock = Instant::now();
    let job = Job::new(&input, rules);
    let bar = render::progress_bar(job.positions(), quiet);
    let partial = pool.install(|| job.judge_all(&|n| bar.inc(n)));
    bar.finish_and_clear();
    let mut doc = job.finish(partial, 1);
    let elapsed = clock.elapsed().as_secs_f64();
    doc.provenance.started_at = Some(humantime::format_rfc3339_millis(started_at).to_string());
    doc.provenance.finished_at =
        Some(humantime::format_rfc3339_millis(SystemTime::now()).to_string());
    doc.stats.duration_ms = Some(elapsed * 1000.0);
    doc.stats.permutations_per_sec = Some(if elapsed > 0.0 {
        doc.stats.evaluated as f64 / elapsed
    } else {
        0.0
    });
    Ok((input, doc))
}

fn run(a: &RunArgs) -> Result<ExitCode, Failure> {
    let overrides = Overrides {
        seed: a.seed,
        topn: a.top,
        objective: a.objective.map(|o| match o {
            ObjectiveArg::Score => Objective::Score,
            ObjectiveArg::DayOneValue => Objective::DayOneValue,
        }),
        sample: a.sample,
    };
    let (_, doc) = execute(&a.file, &overrides, a.options.options(), a.threads, a.json)?;
    if a.json {
        print_json(&doc)?;
    } else {
        emit(&render::run(&doc))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn evaluate(a: &EvaluateArgs) -> Result<ExitCode, Failure> {
    let rules = Ruleset::v1();
    let input = input::load_request(&a.file, &Overrides::default(), a.options.options(), rules)?;
    let job = Job::new(&input, rules);
    let doc = job.evaluate(a.index)?;
    if a.json {
        print_json(&doc)?;
    } else {
        emit(&render::evaluate(&doc))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct RulesDoc<'a> {
    version: &'a str,
    hash: &'a str,
    tables: &'a ruleset::RawRuleset,
}

#[derive(Serialize)]
struct ValidateDoc<'a> {
    ruleset: RulesetId<'a>,
    checks: Vec<ruleset::Check>,
}

#[derive(Serialize)]
struct RulesetId<'a> {
    version: &'a str,
    hash: &'a str,
}

fn rules(a: &RulesArgs) -> Result<ExitCode, Failure> {
    let rules = Ruleset::v1();
    if a.validate {
        let checks = ruleset::validate(rules.raw(), None);
        let ok = checks.iter().all(|c| c.passed);
        if a.json {
            print_json(&ValidateDoc {
                ruleset: RulesetId {
                    version: rules.version(),
                    hash: rules.hash(),
                },
                checks,
            })?;
        } else {
            let mut text = format!("ruleset {} ({})\n", rules.version(), rules.hash());
            for c in &checks {
                let mark = if c.passed { "pass" } else { "FAIL" };
                text += &format!("  {mark}  {:<16} {}\n", c.id, c.details);
            }
            emit(&text)?;
        }
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    let doc = RulesDoc {
        version: rules.version(),
        hash: rules.hash(),
        tables: rules.raw(),
    };
    if a.json {
        print_json(&doc)?;
    } else {
        let tables = serde_json::to_string_pretty(rules.raw()).map_err(Failure::internal)?;
        emit(&format!(
            "ruleset {} ({})\n{tables}\n",
            rules.version(),
            rules.hash()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn presets(a: &JsonFlag) -> Result<ExitCode, Failure> {
    let all = phase1_core::presets::all_presets_json();
    if a.json {
        print_json(&all)?;
    } else {
        let mut text = String::new();
        for name in phase1_core::presets::PRESET_NAMES {
            text += &format!("{name}\n");
            if let Some(serde_json::Value::Object(m)) =
                phase1_core::presets::preset_ranges_json(name)
            {
                for (lever, range) in m {
                    text += &format!("  {lever:<18} {range}\n");
                }
            }
        }
        emit(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct CardinalityDoc {
    cardinality: u64,
    levers: Vec<LeverCount>,
    guardrail: u64,
    over_guardrail: bool,
}

#[derive(Serialize)]
struct LeverCount {
    name: &'static str,
    count: u64,
    source: phase1_core::levers::Source,
}

fn cardinality(a: &CardinalityArgs) -> Result<ExitCode, Failure> {
    let rules = Ruleset::v1();
    let input = input::load_request(&a.file, &Overrides::default(), a.options.options(), rules)?;
    let guardrail = input::guardrail()?;
    let r = &input.ranges;
    let levers = phase1_core::levers::Lever::ALL
        .iter()
        .zip(r.counts())
        .zip(r.sources())
        .map(|((l, count), source)| LeverCount {
            name: l.name(),
            count,
            source,
        })
        .collect();
    let card = r.cardinality();
    let doc = CardinalityDoc {
        cardinality: card,
        levers,
        guardrail,
        over_guardrail: card > guardrail,
    };
    if a.json {
        print_json(&doc)?;
    } else {
        let mut text = String::new();
        for l in &doc.levers {
            text += &format!("{:<18} {:>6}  ({:?})\n", l.name, l.count, l.source);
        }
        let note = if doc.over_guardrail {
            "  OVER the guardrail"
        } else {
            ""
        };
        text += &format!("cardinality {card} (guardrail {guardrail}){note}\n");
        emit(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}
