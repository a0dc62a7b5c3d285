//! Lambda function `synthetic`: the scheduled synthetic monitor (EventBridge Scheduler, every
//! five minutes), a plain `lambda_runtime` handler. No logic here:
//! [`phase1_lambda::serve_synthetic`] builds the state and runs the monitor on each event.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    phase1_lambda::serve_synthetic().await
}
