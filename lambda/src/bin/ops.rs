//! Lambda function `ops`: the operations routes (`/api/phase1/flags/**`,
//! `/api/admin/flags/**`, `/api/admin/allowlist/update`, `/api/phase1/canary/**`,
//! `/api/admin/rollout/**`, `/api/phase1/rollback`, `/api/phase1/status/full`,
//! `/api/phase1/metrics/**`, `/api/admin/metrics/**`, `/api/admin/synthetic/**`,
//! `/api/phase1/synthetic/run`, `/api/phase1/logs/errors`).
//! No logic here: [`phase1_lambda::serve_http`] builds the state and serves the shared router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phase1_lambda::serve_http().await
}
