//! Lambda function `canary`: the scheduled canary judge (EventBridge Scheduler, every five
//! minutes), a plain `lambda_runtime` handler. No logic here: [`phase1_lambda::serve_canary`]
//! builds the state and judges the canary on each event.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    phase1_lambda::serve_canary().await
}
