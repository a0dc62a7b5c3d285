//! Lambda function `auth`: sign-in and accounts (`/api/auth/**`, `/api/admin/users/**`,
//! `/api/admin/ip-blocks/{ip}`).
//! No logic here: [`phase1_lambda::serve_http`] builds the state and serves the shared router.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    phase1_lambda::serve_http().await
}
