//! # Phase-1 on AWS Lambda
//!
//! The glue the Lambda binaries share; each binary under `src/bin/` is one function of
//! `template.yaml` and only calls one of the two entry points here:
//!
//! - [`serve_http`]: a route group behind the API Gateway HTTP API. `lambda_http` turns each
//!   event into an HTTP request for the shared axum router (the same one `phase1 serve` and
//!   the Vercel functions mount) and its response back into the API Gateway response.
//! - [`serve_worker`]: the scheduled run worker, a plain `lambda_runtime` handler (an
//!   EventBridge Scheduler event is not an HTTP request) that calls
//!   [`phase1_app::service::worker::drain`], the same service the cron route calls.
//! - [`serve_synthetic`] and [`serve_canary`]: the other two schedules, plain
//!   `lambda_runtime` handlers as well, that call [`phase1_app::service::synthetic::run`] and
//!   [`phase1_app::service::canary::evaluate`], the services behind the cron routes
//!   `/api/phase1/synthetic/run` and `/api/phase1/canary/tick`.
//!
//! Lambda freezes an execution environment as soon as the response is sent, so work started
//! after the response would stall half-done while holding a run's lease. Here the spawner
//! therefore drops such work: a queued run stays queued and the scheduled worker (every
//! minute) claims it.

#![deny(missing_docs)]

use phase1_app::http::client_ip::{ClientIp, ClientIpSource};
use phase1_app::http::state::{AppState, Spawner};
use phase1_app::serve::ServeError;
use phase1_app::service::audit::Origin;
use phase1_app::store::StoreError;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;

/// The configuration from the environment, and the state over the stores it names. A bad
/// configuration or an unreachable store ends the process with a message on stderr that names
/// the variable (the Lambda init then fails and CloudWatch shows why).
pub async fn state() -> AppState {
    let built = async {
        let config = phase1_app::config::Config::from_env().map_err(ServeError::Config)?;
        Ok::<_, ServeError>(AppState::new(config, phase1_app::clock::system()).await?)
    };
    phase1_app::logging::init();
    match built.await {
        Ok(state) => state
            .with_spawner(deferred_to_cron())
            .with_client_ip(ClientIpSource::Platform),
        Err(e) => {
            let name = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
            eprintln!("phase1 lambda {name}: {e}");
            std::process::exit(1);
        }
    }
}

/// The spawner of a Lambda function: work meant to run after the response is dropped, and the
/// scheduled worker picks up what it would have done (see the crate documentation).
pub fn deferred_to_cron() -> Spawner {
    Arc::new(drop)
}

/// Serves the shared router to API Gateway HTTP API events until the runtime stops.
pub async fn serve_http() -> Result<(), lambda_http::Error> {
    serve_http_with(|state| state).await
}

/// [`serve_http`], with the state changed by `configure` first (the documents function hands
/// it the term-sheet renderer, so only that binary links the PDF and XLSX libraries).
pub async fn serve_http_with(
    configure: impl FnOnce(AppState) -> AppState,
) -> Result<(), lambda_http::Error> {
    let state = configure(state().await);
    let app = tower::ServiceBuilder::new()
        .map_request(with_source_ip)
        .service(phase1_app::http::router(state));
    lambda_http::run(app).await
}

/// Hands the app the client address API Gateway saw (`requestContext.http.sourceIp`), the
/// only trusted source on Lambda, as a [`ClientIp`] extension.
pub fn with_source_ip(mut req: lambda_http::Request) -> lambda_http::Request {
    use lambda_http::request::RequestContext;
    let ip = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .http
            .source_ip
            .as_deref()
            .and_then(|s| s.parse::<std::net::IpAddr>().ok()),
        _ => None,
    };
    if let Some(ip) = ip {
        req.extensions_mut().insert(ClientIp(ip));
    }
    req
}

/// Serves the scheduled worker: each event drains the run queue, delivers the alerts that
/// are due, and answers `{"ran": n, "alert_attempts": m}`.
pub async fn serve_worker() -> Result<(), lambda_runtime::Error> {
    serve_scheduled(|state| async move {
        let ran = phase1_app::service::worker::drain(&state).await?;
        let attempts = phase1_app::service::notifications::deliver_due(&state).await?;
        Ok(json!({ "ran": ran, "alert_attempts": attempts }))
    })
    .await
}

/// Serves the scheduled synthetic monitor: each event runs the configured monitor once and
/// answers its result (`{"ran": false, ...}` while no monitor is configured).
pub async fn serve_synthetic() -> Result<(), lambda_runtime::Error> {
    serve_scheduled(|state| async move {
        phase1_app::service::synthetic::run(&state, &schedule_origin()).await
    })
    .await
}

/// Serves the scheduled canary judge: each event judges the canary on live metrics (rolling
/// back on a crossed threshold) and answers the decision.
pub async fn serve_canary() -> Result<(), lambda_runtime::Error> {
    serve_scheduled(|state| async move {
        phase1_app::service::canary::evaluate(&state, &schedule_origin(), "schedule").await
    })
    .await
}

/// Where scheduled work comes from, for the audit log: the schedule, with no client address.
pub fn schedule_origin() -> Origin {
    Origin::http("schedule", None)
}

/// Serves a scheduled handler: builds the state once, then runs `job` on each event (whatever
/// its payload) and answers the JSON it returns; a store error fails the invocation.
async fn serve_scheduled<F, Fut>(job: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(AppState) -> Fut,
    Fut: Future<Output = Result<Value, StoreError>>,
{
    let state = state().await;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_: lambda_runtime::LambdaEvent<Value>| {
            let run = job(state.clone());
            async move { Ok::<Value, lambda_runtime::Error>(run.await?) }
        },
    ))
    .await
}
