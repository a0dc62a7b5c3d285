//! Lambda function `internal`: the signed shard route (`/api/phase1/internal/shard`) and the
//! worker route (`/api/phase1/internal/worker`) over HTTP.
//! No logic here: [`phase1_lambda::serve_http`] builds the state and serves the shared router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phase1_lambda::serve_http().await
}
