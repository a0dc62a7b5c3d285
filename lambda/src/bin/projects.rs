//! Lambda function `projects`: projects and permutations (`/api/phase1/projects/**`,
//! `/api/phase1/permutations/**`).
//! No logic here: [`phase1_lambda::serve_http`] builds the state and serves the shared router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phase1_lambda::serve_http().await
}
