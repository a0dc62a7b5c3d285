//! The application state shared by every handler: configuration, stores, the clock, the
//! ruleset, and this instance's identity.

use super::client_ip::ClientIpSource;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::store::{StoreError, Stores};
use phase1_core::ruleset::Ruleset;
use std::sync::Arc;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The shared parts of [`AppState`].
pub struct Inner {
    /// Validated configuration.
    pub config: Config,
    /// The stores.
    pub stores: Stores,
    /// The one clock.
    pub clock: SharedClock,
    /// The ruleset in force.
    pub rules: &'static Ruleset,
    /// This instance's worker id (for run leases).
    pub worker_id: String,
    /// Client for shard fan-out.
    pub http: reqwest::Client,
    /// Wakes the local run worker when a run is queued.
    pub wake: tokio::sync::Notify,
    /// Runs work after the response: `tokio::spawn` locally, `wait_until` on Vercel.
    pub spawn: Spawner,
    /// Where client addresses come from on this deployment.
    pub client_ip: ClientIpSource,
    /// Requests let through unlimited because the key-value store was down (this instance).
    pub rate_limit_fail_open: std::sync::atomic::AtomicU64,
    /// This instance's resident memory when its state was built (MiB): the baseline the
    /// canary judges memory growth against.
    pub memory_baseline_mb: Option<f64>,
    /// One engine job at a time per user on this instance.
    pub engine_slots: crate::service::runs::EngineSlots,
    /// The term-sheet renderer, in the binaries that serve documents (see
    /// [`AppState::with_documents`]); None elsewhere.
    pub documents: Option<Arc<dyn phase1_documents::Render>>,
}

/// Runs a future in the background, outliving the request.
pub type Spawner = Arc<dyn Fn(futures_util::future::BoxFuture<'static, ()>) + Send + Sync>;

/// The local spawner: a tokio task.
pub fn tokio_spawner() -> Spawner {
    Arc::new(|fut| {
        tokio::spawn(fut);
    })
}

impl std::ops::Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Opens the stores, creates their indexes, and builds the state.
    pub async fn new(config: Config, clock: SharedClock) -> Result<AppState, StoreError> {
        let stores = Stores::open(&config.stores, clock.clone()).await?;
        stores.doc.migrate().await?;
        crate::service::flags::seed(stores.doc.as_ref()).await?;
        crate::service::canary::seed(stores.doc.as_ref(), clock.now_ms()).await?;
        crate::store::slow::set_threshold_ms(config.slow_ms);
        tokio::task::spawn_blocking(crate::auth::password::warm_up);
        Ok(AppState::with_stores(config, stores, clock))
    }

    /// The same state with another background spawner (Vercel's `wait_until`).
    pub fn with_spawner(self, spawn: Spawner) -> AppState {
        self.map(|inner| inner.spawn = spawn)
    }

    /// The same state reading client addresses from `source` (see [`super::client_ip`]).
    pub fn with_client_ip(self, source: ClientIpSource) -> AppState {
        self.map(|inner| inner.client_ip = source)
    }

    /// The same state rendering term sheets with `renderer`. Only the binaries that serve
    /// documents call this, so only they link the PDF and XLSX libraries.
    pub fn with_documents(self, renderer: Arc<dyn phase1_documents::Render>) -> AppState {
        self.map(|inner| inner.documents = Some(renderer))
    }

    /// Changes the state before it is shared (a no-op once clones exist).
    fn map(self, change: impl FnOnce(&mut Inner)) -> AppState {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                change(&mut inner);
                AppState(Arc::new(inner))
            }
            Err(shared) => AppState(shared),
        }
    }

    /// Builds the state over already-open stores.
    pub fn with_stores(config: Config, stores: Stores, clock: SharedClock) -> AppState {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(
                config.engine.run_budget_ms.saturating_mul(2),
            ))
            .build()
            .unwrap_or_default();
        AppState(Arc::new(Inner {
            config,
            stores,
            clock,
            rules: Ruleset::v1(),
            worker_id: format!("worker-{}", uuid::Uuid::new_v4().simple()),
            http,
            wake: tokio::sync::Notify::new(),
            spawn: tokio_spawner(),
            client_ip: ClientIpSource::Socket,
            rate_limit_fail_open: std::sync::atomic::AtomicU64::new(0),
            memory_baseline_mb: crate::service::metrics::memory_mb(),
            engine_slots: crate::service::runs::EngineSlots::default(),
            documents: None,
        }))
    }
}
