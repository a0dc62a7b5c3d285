//! Lambda function `run`: the engine runs (`POST /api/phase1/run`,
//! `POST /api/phase1/validate/consistency`).
//! No logic here: [`phase1_lambda::serve_http`] builds the state and serves the shared router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phase1_lambda::serve_http().await
}
