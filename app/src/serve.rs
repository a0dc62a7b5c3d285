//! `phase1 serve`: the whole app on one local port — the web UI's pages and files, the API —
//! with the security headers of `vercel.json`, the background run worker and a graceful
//! shutdown on Ctrl-C or SIGTERM.

use crate::clock;
use crate::config::Config;
use crate::http::{router, state::AppState};
use std::net::SocketAddr;
use std::sync::Arc;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is invalid.
    #[error("invalid configuration: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Config(Vec<crate::config::ConfigError>),
    /// A store could not be opened.
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    /// The address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// The server failed while running.
    #[error("server error: {0}")]
    Io(std::io::Error),
}

/// Serves on `addr` until Ctrl-C or SIGTERM. `on_ready` receives the bound address (port 0
/// picks a free one); `documents` renders term sheets (the `phase1` binary hands it
/// `phase1_documents::Renderer`).
pub async fn serve(
    addr: SocketAddr,
    documents: Arc<dyn phase1_documents::Render>,
    on_ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    crate::logging::init();
    let config = Config::from_env().map_err(ServeError::Config)?;
    let state = AppState::new(config, clock::system())
        .await?
        .with_documents(documents);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ServeError::Bind(addr, e))?;
    let bound = listener.local_addr().map_err(ServeError::Io)?;
    let worker = crate::service::worker::spawn(state.clone());
    on_ready(bound);
    let files = match state.config.public_dir.clone() {
        Some(dir) => crate::http::web::Files::from_dir(dir),
        None => crate::http::web::Files::embedded(),
    };
    let app = router(state)
        .layer(axum::middleware::from_fn_with_state(
            files,
            crate::http::web::site,
        ))
        .layer(axum::middleware::from_fn(
            crate::http::web::security_headers,
        ))
        .into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    worker.abort();
    result.map_err(ServeError::Io)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
