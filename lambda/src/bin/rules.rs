//! Lambda function `rules`: the ruleset (`/api/phase1/rules`, `/api/phase1/rules/validate`).
//! No logic here: [`phase1_lambda::serve_http`] builds the state and serves the shared router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phase1_lambda::serve_http().await
}
