//! `phase1 term-sheet FILE [--rank N] [--format pdf|xlsx|md] [-o PATH] [--seed N]`: runs the
//! fixture-shaped FILE as `phase1 run` does, then writes the term sheet of the structure
//! ranked N, built exactly as the HTTP route builds it (`phase1-documents`).

use crate::input::{problem, Failure};
use crate::{emit, execute, OptionFlags};
use clap::{Args, ValueEnum};
use phase1_core::request::Overrides;
use phase1_core::ruleset::Ruleset;
use phase1_documents::{Export, ExportError, Format, Render, Renderer, TermSheet};
use std::process::ExitCode;

/// A document format on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// A4 PDF.
    Pdf,
    /// XLSX workbook.
    Xlsx,
    /// Markdown.
    Md,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Pdf => Format::Pdf,
            FormatArg::Xlsx => Format::Xlsx,
            FormatArg::Md => Format::Markdown,
        }
    }
}

/// Arguments of `phase1 term-sheet`.
#[derive(Args)]
pub struct TermSheetArgs {
    /// Fixture-shaped request: {project, ranges | preset, seed, topn, objective, sample}.
    file: String,
    /// The structure's rank in the run's top-N.
    #[arg(long, default_value_t = 1)]
    rank: u64,
    /// Document format.
    #[arg(long, value_enum, default_value = "pdf")]
    format: FormatArg,
    /// Where to write it (default: stdout for md, else `<title-slug>-<run>-rank<N>.<ext>` in
    /// the current directory).
    #[arg(short = 'o', long = "output")]
    output: Option<std::path::PathBuf>,
    /// Seed (overrides the file).
    #[arg(long)]
    seed: Option<u64>,
    #[command(flatten)]
    options: OptionFlags,
}

/// The id a local run is known by: a digest of what determines its result, so the same
/// inputs give the same id (and the same document).
fn local_run_id(provenance: &serde_json::Value) -> String {
    let key = serde_json::json!([
        provenance["project_hash"],
        provenance["range_signature"],
        provenance["seed"],
        provenance["objective"],
        provenance["topn"],
        provenance["options"],
    ]);
    let digest = phase1_core::hash::sha256_hex(key.to_string().as_bytes());
    format!("local{}", &digest[..11])
}

/// Runs the command.
pub fn term_sheet(a: &TermSheetArgs) -> Result<ExitCode, Failure> {
    let overrides = Overrides {
        seed: a.seed,
        ..Overrides::default()
    };
    let (input, doc) = execute(&a.file, &overrides, a.options.options(), None, true)?;
    let rules = Ruleset::v1();
    let run = serde_json::to_value(&doc).map_err(Failure::internal)?;
    let run_id = local_run_id(&run["provenance"]);
    let export = Export::build(&run_id, &run, a.rank, &input, rules).map_err(|e| match e {
        ExportError::RankOutOfRange { .. } => problem(
            "NOT_FOUND",
            404,
            "Not found",
            "structure_rank",
            e.to_string(),
        ),
        ExportError::Corrupt(why) => Failure::internal(why),
    })?;
    let sheet = TermSheet::new(&export, rules).map_err(Failure::internal)?;
    let format = Format::from(a.format);
    let bytes = Renderer.render(&sheet, format).map_err(Failure::internal)?;
    match (&a.output, format) {
        (None, Format::Markdown) => {
            emit(&String::from_utf8_lossy(&bytes))?;
        }
        (output, _) => {
            let path = output
                .clone()
                .unwrap_or_else(|| format!("{}.{}", sheet.file_stem, format.extension()).into());
            std::fs::write(&path, &bytes)
                .map_err(|e| Failure::internal(format!("writing {}: {e}", path.display())))?;
            eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
