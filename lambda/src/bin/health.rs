//! Lambda function `health`: the public probes and documents (`/healthz`, `/readyz`,
//! `/api/phase1/health`, `/api/phase1/version`, `/api/phase1/route-list`,
//! `/api/phase1/openapi.json`).
//! No logic here: [`phase1_lambda::serve_http`] builds the state and serves the shared router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phase1_lambda::serve_http().await
}
