//! Documents of finished runs: the export of a ranked structure, its term sheet in PDF, XLSX
//! or Markdown, and the top-N as CSV. Speaks the domain: [`DocumentError`] says what went
//! wrong, and the HTTP layer maps it to problem documents.
//!
//! Rendering PDF and XLSX needs the large `typst` and `rust_xlsxwriter` trees, which only the
//! binaries that serve documents link: they hand the state a [`Render`] (see
//! `AppState::with_documents`). Without one, a term sheet is [`DocumentError::NotServedHere`].

use crate::http::state::AppState;
use crate::store::model::{RunRecord, RunStatus};
use crate::store::StoreError;
use phase1_core::request::{Options, Overrides, RunInput};
use phase1_documents::{Export, ExportError, Format, Render, TermSheet};
use serde_json::Value;
use std::fmt;

/// Who is asking: analysts reach their own runs, admins every run.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The caller's email.
    pub email: &'a str,
    /// Whether the caller is an admin.
    pub admin: bool,
}

impl Viewer<'_> {
    fn may_see(&self, owner: &str) -> bool {
        self.admin || self.email == owner
    }
}

/// Why a document cannot be made.
#[derive(Debug)]
pub enum DocumentError {
    /// No such run, or not the caller's; or, without a run id, no finished run.
    NoRun(String),
    /// The run exists but has not finished (its status).
    NotFinished {
        /// The run.
        run_id: String,
        /// Its status.
        status: RunStatus,
    },
    /// The rank is not in the run's top-N.
    Rank(ExportError),
    /// This deployment's function does not render documents.
    NotServedHere,
    /// A store failed.
    Store(StoreError),
    /// The stored run or the renderer failed: a fault of ours, never the caller's.
    Internal(String),
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocumentError::NoRun(why) => write!(f, "{why}"),
            DocumentError::NotFinished { run_id, status } => write!(
                f,
                "run {run_id} is {}: documents are made from finished runs",
                status.as_str()
            ),
            DocumentError::Rank(e) => write!(f, "{e}"),
            DocumentError::NotServedHere => write!(
                f,
                "this function does not render documents; they are served by the documents function"
            ),
            DocumentError::Store(e) => write!(f, "{e}"),
            DocumentError::Internal(why) => write!(f, "{why}"),
        }
    }
}

impl From<StoreError> for DocumentError {
    fn from(e: StoreError) -> DocumentError {
        DocumentError::Store(e)
    }
}

/// A rendered document and how to name it.
#[derive(Debug, Clone)]
pub struct Document {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The media type.
    pub content_type: &'static str,
    /// The file name for `Content-Disposition`.
    pub filename: String,
}

/// The finished run `run_id`, or without one the viewer's latest finished run; with its
/// result document.
pub async fn finished_run(
    state: &AppState,
    viewer: Viewer<'_>,
    run_id: Option<&str>,
) -> Result<(RunRecord, Value), DocumentError> {
    let run = match run_id {
        Some(id) => match state.stores.doc.get_run(id).await? {
            Some(r) if viewer.may_see(&r.owner) => r,
            _ => return Err(DocumentError::NoRun(format!("no run {id:?}"))),
        },
        None => super::runs::latest_finished(state, viewer.email)
            .await?
            .ok_or_else(|| DocumentError::NoRun("you have no finished run".into()))?,
    };
    if run.status != RunStatus::Done {
        return Err(DocumentError::NotFinished {
            run_id: run.id,
            status: run.status,
        });
    }
    let result = state.stores.doc.get_result(&run.id).await?.ok_or_else(|| {
        DocumentError::Internal(format!("finished run {} has no stored result", run.id))
    })?;
    Ok((run, result))
}

/// The inputs a stored run was made from, parsed again.
pub fn stored_input(state: &AppState, run: &RunRecord) -> Result<RunInput, DocumentError> {
    let options: Options = serde_json::from_value(run.request["options"].clone())
        .map_err(|e| DocumentError::Internal(format!("stored run options: {e}")))?;
    RunInput::parse(
        &run.request["request"],
        &Overrides::default(),
        options,
        state.rules,
    )
    .map_err(|e| DocumentError::Internal(format!("stored run request: {}", e.detail)))
}

/// The export of the structure ranked `rank` in a finished run (evaluated off the async
/// threads).
pub async fn export(
    state: &AppState,
    run: &RunRecord,
    result: Value,
    rank: u64,
) -> Result<Export, DocumentError> {
    let input = stored_input(state, run)?;
    let rules = state.rules;
    let run_id = run.id.clone();
    tokio::task::spawn_blocking(move || Export::build(&run_id, &result, rank, &input, rules))
        .await
        .map_err(|e| DocumentError::Internal(e.to_string()))?
        .map_err(|e| match e {
            ExportError::RankOutOfRange { .. } => DocumentError::Rank(e),
            ExportError::Corrupt(why) => DocumentError::Internal(why),
        })
}

/// The term sheet of the structure ranked `rank` in a finished run, in `format`.
pub async fn term_sheet(
    state: &AppState,
    viewer: Viewer<'_>,
    run_id: Option<&str>,
    rank: u64,
    format: Format,
) -> Result<Document, DocumentError> {
    let renderer = state
        .documents
        .clone()
        .ok_or(DocumentError::NotServedHere)?;
    let (run, result) = finished_run(state, viewer, run_id).await?;
    let export = export(state, &run, result, rank).await?;
    let rules = state.rules;
    tokio::task::spawn_blocking(move || {
        let sheet =
            TermSheet::new(&export, rules).map_err(|e| DocumentError::Internal(e.to_string()))?;
        let bytes = render(renderer.as_ref(), &sheet, format)?;
        Ok(Document {
            bytes,
            content_type: format.content_type(),
            filename: format!("{}.{}", sheet.file_stem, format.extension()),
        })
    })
    .await
    .map_err(|e| DocumentError::Internal(e.to_string()))?
}

fn render(r: &dyn Render, sheet: &TermSheet, format: Format) -> Result<Vec<u8>, DocumentError> {
    r.render(sheet, format)
        .map_err(|e| DocumentError::Internal(e.to_string()))
}

/// The top-N of a finished run as CSV.
pub async fn top_csv(
    state: &AppState,
    viewer: Viewer<'_>,
    run_id: &str,
) -> Result<Document, DocumentError> {
    let (run, result) = finished_run(state, viewer, Some(run_id)).await?;
    let input = stored_input(state, &run)?;
    Ok(Document {
        bytes: phase1_documents::csv::top(&result).into_bytes(),
        content_type: "text/csv; charset=utf-8; header=present",
        filename: format!(
            "{}-{}-top.csv",
            phase1_documents::sheet::slug(&input.project.title),
            run.id.chars().take(8).collect::<String>()
        ),
    })
}
