//! Vercel function `api/documents`: term sheets (PDF, XLSX, Markdown) and the top-N CSV —
//! `/api/phase1/documents/**`, `/api/phase1/runs/{id}/structures/**` and
//! `/api/phase1/runs/{id}/top.csv`.
//!
//! The only Vercel function that links the PDF and XLSX libraries: it hands the shared state
//! the renderer, which the other functions never name.

#[path = "_common.rs"]
mod common;

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), vercel_runtime::Error> {
    common::serve_with(|state| state.with_documents(Arc::new(phase1_documents::Renderer))).await
}
