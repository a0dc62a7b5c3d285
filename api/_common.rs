//! The glue every Vercel function shares, included by each `api/*.rs` as a module (the leading
//! underscore keeps Vercel from building this file as a function of its own).
//!
//! It builds the application state from the environment once per instance, makes background
//! work (an async run started after the 202) part of the current invocation through
//! `vercel_runtime`'s `wait_until`, and serves the shared router through `vercel_runtime`'s
//! axum layer. Each function mounts the whole router; `vercel.json` decides which public
//! paths reach which function.

use phase1_app::http::state::{AppState, Spawner};
use phase1_app::serve::ServeError;
use std::sync::Arc;
use tower::{ServiceBuilder, ServiceExt};
use vercel_runtime::axum::VercelLayer;

tokio::task_local! {
    /// The Vercel invocation whose request (or background work) is running.
    static INVOCATION: vercel_runtime::AppState;
}

/// Serves the shared router until the platform stops the instance. A bad configuration or an
/// unreachable store ends the process with a message on stderr that names the variable.
#[allow(dead_code)] // api/documents.rs calls serve_with instead
pub async fn serve() -> Result<(), vercel_runtime::Error> {
    serve_with(|state| state).await
}

/// [`serve`], with the state changed by `configure` first (the documents function hands it
/// the term-sheet renderer).
pub async fn serve_with(
    configure: impl FnOnce(AppState) -> AppState,
) -> Result<(), vercel_runtime::Error> {
    phase1_app::logging::init();
    let state = match state().await {
        Ok(state) => configure(state)
            .with_spawner(spawner())
            .with_client_ip(phase1_app::http::client_ip::ClientIpSource::Vercel),
        Err(e) => {
            eprintln!("{}: {e}", env!("CARGO_BIN_NAME"));
            std::process::exit(1);
        }
    };
    let app = ServiceBuilder::new()
        .layer(VercelLayer::new())
        .service(phase1_app::http::router(state));
    let service = tower::service_fn(
        move |(invocation, req): (vercel_runtime::AppState, vercel_runtime::Request)| {
            INVOCATION.scope(invocation.clone(), app.clone().oneshot((invocation, req)))
        },
    );
    vercel_runtime::run(service).await
}

/// The configuration from the environment, and the state over the stores it names.
async fn state() -> Result<AppState, ServeError> {
    let config = phase1_app::config::Config::from_env().map_err(ServeError::Config)?;
    Ok(AppState::new(config, phase1_app::clock::system()).await?)
}

/// Runs background work under the current invocation's `wait_until`, so the platform keeps
/// the invocation alive until the work settles; outside an invocation, a plain tokio task.
fn spawner() -> Spawner {
    Arc::new(|work| match INVOCATION.try_with(Clone::clone) {
        Ok(invocation) => {
            let scoped = INVOCATION.scope(invocation.clone(), work);
            invocation.wait_until(scoped);
        }
        Err(_) => {
            tokio::spawn(work);
        }
    })
}
