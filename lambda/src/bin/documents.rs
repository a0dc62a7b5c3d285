//! Lambda function `documents`: term sheets (PDF, XLSX, Markdown) and the top-N CSV
//! (`/api/phase1/documents/**`, `/api/phase1/runs/{id}/structures/**`,
//! `/api/phase1/runs/{id}/top.csv`). The only Lambda function that links the PDF and XLSX
//! libraries: it hands the shared state the renderer.

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phase1_lambda::serve_http_with(|state| {
        state.with_documents(Arc::new(phase1_documents::Renderer))
    })
    .await
}
