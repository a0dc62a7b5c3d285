//! Lambda function `runs`: stored runs and their results (`/api/phase1/runs/**`,
//! `/api/phase1/securitisation/**`, `/api/phase1/constraints`).
//! No logic here: [`phase1_lambda::serve_http`] builds the state and serves the shared router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phase1_lambda::serve_http().await
}
