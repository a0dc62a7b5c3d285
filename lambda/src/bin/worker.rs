//! Lambda function `worker`: the scheduled run worker (EventBridge Scheduler, every minute), a
//! plain `lambda_runtime` handler. No logic here: [`phase1_lambda::serve_worker`] builds the
//! state and drains the run queue on each event.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    phase1_lambda::serve_worker().await
}
