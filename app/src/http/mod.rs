//! The HTTP application: one axum router for every route of api.md, built from a single
//! route table that also generates `/route-list` and the OpenAPI document.
//!
//! Every response passes through [`envelope`]: the request id (the client's if sane, else a
//! new UUID) shared by the header, error bodies and logs; the build headers; and JSON problem
//! documents in place of any non-JSON 404, 405 or 413.

pub mod auth;
pub mod body;
pub mod client_ip;
pub mod csrf;
pub mod limit;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod state;
pub mod web;

use crate::limits::RateClass;
use auth::{authorize, AuthLevel};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use axum::Router;
use problem::{ApiError, REQUEST_ID};
use serde::Serialize;
use state::AppState;

/// One route: method, public path, auth level, flags, and what its documentation needs.
#[derive(Debug, Clone, Serialize)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: &'static str,
    /// Public path (`{name}` for parameters).
    pub path: &'static str,
    /// Required auth level.
    pub auth: AuthLevel,
    /// Feature flags that must be on for the caller.
    pub flags: &'static [&'static str],
    /// One line on what it does.
    pub summary: &'static str,
    /// The success status.
    #[serde(skip)]
    pub ok: u16,
    /// Request body schema name, when it takes one.
    #[serde(skip)]
    pub body: Option<&'static str>,
    /// The rate-limit class it is counted in.
    #[serde(rename = "rate_class")]
    pub class: RateClass,
    /// The handler authorises the caller itself, at the level above: the flag writes check
    /// their body's keys first, and logout accepts the refresh cookie alone.
    #[serde(skip)]
    pub authorises_itself: bool,
    /// The largest body it reads ([`body::MAX_BODY`], less where a body is read before the
    /// caller is authorised).
    #[serde(skip)]
    pub body_limit: usize,
    /// A check that runs long by design (the consistency check): its latency is not the
    /// canary's.
    #[serde(skip)]
    pub long_running: bool,
    /// The media types of its success body (JSON unless it serves documents).
    #[serde(skip)]
    pub produces: &'static [&'static str],
}

impl RouteSpec {
    /// The same route, authorised by its handler.
    const fn authorises_itself(mut self) -> RouteSpec {
        self.authorises_itself = true;
        self
    }

    /// The same route reading at most `bytes` of body.
    const fn body_limit(mut self, bytes: usize) -> RouteSpec {
        self.body_limit = bytes;
        self
    }

    /// The same route, marked as running long by design.
    const fn long_running(mut self) -> RouteSpec {
        self.long_running = true;
        self
    }

    /// The same route answering with these media types.
    const fn produces(mut self, media: &'static [&'static str]) -> RouteSpec {
        self.produces = media;
        self
    }

    /// The same route counted in `class`.
    const fn limited(mut self, class: RateClass) -> RouteSpec {
        self.class = class;
        self
    }
}

const fn spec(
    method: &'static str,
    path: &'static str,
    auth: AuthLevel,
    flags: &'static [&'static str],
    ok: u16,
    body: Option<&'static str>,
    summary: &'static str,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        auth,
        flags,
        summary,
        ok,
        body,
        class: RateClass::Api,
        authorises_itself: false,
        body_limit: body::MAX_BODY,
        long_running: false,
        produces: &["application/json"],
    }
}

const CORE: &[&str] = &["phase1_core"];
const RUN: &[&str] = &["phase1_core", "reverse_dscr_engine"];
const EXPORT: &[&str] = &["phase1_core", "docs_exports"];
/// The media types of a term sheet.
const TERM_SHEETS: &[&str] = &[
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/markdown; charset=utf-8",
];

/// The route table: every route the app serves, with its handler.
pub fn table() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    use axum::routing::{delete, get, post};
    use routes::{
        admin, auth, canary, documents, flags, internal, ops, permutations, projects, public,
        results, rules, runs,
    };
    use AuthLevel::*;
    vec![
        (
            spec(
                "GET",
                "/healthz",
                Public,
                &[],
                200,
                None,
                "Liveness: touches no dependency",
            ),
            get(public::healthz),
        ),
        (
            spec(
                "GET",
                "/readyz",
                Public,
                &[],
                200,
                None,
                "Readiness: both stores and the ruleset, with latencies",
            ),
            get(public::readyz),
        ),
        (
            spec(
                "GET",
                "/api/phase1/health",
                Public,
                &[],
                200,
                None,
                "Status, versions and a component summary",
            ),
            get(public::health),
        ),
        (
            spec(
                "GET",
                "/health",
                Public,
                &[],
                200,
                None,
                "Alias of GET /api/phase1/health",
            ),
            get(public::health),
        ),
        (
            spec(
                "GET",
                "/api/phase1/version",
                Public,
                &[],
                200,
                None,
                "Version, commit, build time, ruleset",
            ),
            get(public::version),
        ),
        (
            spec(
                "GET",
                "/api/phase1/route-list",
                Public,
                &[],
                200,
                None,
                "Every route with its auth level and flags",
            ),
            get(public::route_list),
        ),
        (
            spec(
                "GET",
                "/api/phase1/openapi.json",
                Public,
                &[],
                200,
                None,
                "This API as OpenAPI 3.1",
            ),
            get(public::openapi),
        ),
        (
            spec(
                "POST",
                "/api/auth/login",
                Public,
                &[],
                200,
                Some("LoginBody"),
                "Email and password: a 5-minute MFA token",
            )
            .limited(RateClass::Auth)
            .body_limit(body::SIGN_IN_BODY),
            post(auth::login),
        ),
        (
            spec(
                "POST",
                "/api/auth/mfa",
                Public,
                &[],
                200,
                Some("MfaBody"),
                "MFA token and TOTP code: the session (body and cookies)",
            )
            .limited(RateClass::Auth)
            .body_limit(body::SIGN_IN_BODY),
            post(auth::mfa),
        ),
        (
            spec(
                "POST",
                "/auth/login",
                Public,
                &[],
                200,
                Some("LoginBody"),
                "Alias of POST /api/auth/login",
            )
            .limited(RateClass::Auth)
            .body_limit(body::SIGN_IN_BODY),
            post(auth::login),
        ),
        (
            spec(
                "POST",
                "/auth/mfa",
                Public,
                &[],
                200,
                Some("MfaBody"),
                "Alias of POST /api/auth/mfa",
            )
            .limited(RateClass::Auth)
            .body_limit(body::SIGN_IN_BODY),
            post(auth::mfa),
        ),
        (
            spec(
                "POST",
                "/api/auth/refresh",
                Public,
                &[],
                200,
                None,
                "Rotate the refresh cookie: a new session",
            )
            .limited(RateClass::Auth),
            post(auth::refresh),
        ),
        (
            spec(
                "POST",
                "/api/auth/logout",
                Session,
                &[],
                204,
                None,
                "Revoke the session at once (an access token, or the refresh cookie alone)",
            )
            .authorises_itself(),
            post(auth::logout),
        ),
        (
            spec(
                "GET",
                "/api/auth/me",
                Session,
                &[],
                200,
                None,
                "The caller: email, role, flags",
            ),
            get(auth::me),
        ),
        (
            spec(
                "POST",
                "/api/auth/password",
                Session,
                &[],
                204,
                Some("PasswordBody"),
                "Change the password; other sessions end",
            )
            .limited(RateClass::Auth),
            post(auth::password),
        ),
        (
            spec(
                "GET",
                "/api/admin/users",
                Admin,
                &[],
                200,
                None,
                "Every user",
            ),
            get(admin::list),
        ),
        (
            spec(
                "POST",
                "/api/admin/users",
                Admin,
                &[],
                201,
                Some("NewUserBody"),
                "Create a user: the TOTP provisioning URI, shown once",
            )
            .limited(RateClass::Users),
            post(admin::create),
        ),
        (
            spec(
                "POST",
                "/api/admin/users/{email}/reset-mfa",
                Admin,
                &[],
                200,
                None,
                "A new TOTP secret (URI shown once); sessions revoked",
            ),
            post(admin::reset_mfa),
        ),
        (
            spec(
                "POST",
                "/api/admin/users/{email}/unlock",
                Admin,
                &[],
                200,
                None,
                "Lift an account's sign-in lock (10 failures in 15 minutes)",
            ),
            post(admin::unlock),
        ),
        (
            spec(
                "DELETE",
                "/api/admin/users/{email}",
                Admin,
                &[],
                200,
                None,
                "Disable a user and revoke their sessions",
            ),
            delete(admin::disable),
        ),
        (
            spec(
                "DELETE",
                "/api/admin/ip-blocks/{ip}",
                Ops,
                &[],
                200,
                None,
                "Lift an IP block",
            ),
            delete(admin::unblock),
        ),
        (
            spec(
                "POST",
                "/api/phase1/projects/validate",
                Session,
                CORE,
                200,
                Some("ProjectBody"),
                "Validate a project and preview its derived figures",
            ),
            post(projects::validate),
        ),
        (
            spec(
                "POST",
                "/api/phase1/projects",
                Session,
                CORE,
                201,
                Some("ProjectBody"),
                "Save a project",
            ),
            post(projects::create),
        ),
        (
            spec(
                "GET",
                "/api/phase1/projects",
                Session,
                CORE,
                200,
                None,
                "The caller's projects, newest first",
            ),
            get(projects::list),
        ),
        (
            spec(
                "GET",
                "/api/phase1/projects/{id}",
                Session,
                CORE,
                200,
                None,
                "One project",
            ),
            get(projects::get),
        ),
        (
            spec(
                "DELETE",
                "/api/phase1/projects/{id}",
                Session,
                CORE,
                204,
                None,
                "Delete a project",
            ),
            delete(projects::remove),
        ),
        (
            spec(
                "GET",
                "/api/phase1/permutations/presets",
                Session,
                CORE,
                200,
                None,
                "The structuring presets",
            ),
            get(permutations::presets),
        ),
        (
            spec(
                "POST",
                "/api/phase1/permutations/apply-preset",
                Session,
                CORE,
                200,
                Some("ApplyPresetBody"),
                "A preset's ranges for a saved project",
            ),
            post(permutations::apply_preset),
        ),
        (
            spec(
                "POST",
                "/api/phase1/permutations/cardinality",
                Session,
                CORE,
                200,
                Some("RunBody"),
                "Count the permutations of a request",
            ),
            post(permutations::cardinality),
        ),
        (
            spec(
                "POST",
                "/api/phase1/run",
                Session,
                RUN,
                200,
                Some("RunBody"),
                "Run a grid (202 when queued)",
            )
            .limited(RateClass::Run),
            post(runs::run),
        ),
        (
            spec(
                "GET",
                "/api/phase1/runs",
                Session,
                CORE,
                200,
                None,
                "The caller's runs, newest first",
            ),
            get(runs::list),
        ),
        (
            spec(
                "GET",
                "/api/phase1/runs/{run_id}",
                Session,
                CORE,
                200,
                None,
                "A run's status, progress, result or error",
            ),
            get(runs::get),
        ),
        (
            spec(
                "DELETE",
                "/api/phase1/runs/{run_id}",
                Session,
                CORE,
                202,
                None,
                "Cancel an active run (202) or delete a finished one (204)",
            ),
            delete(runs::remove),
        ),
        (
            spec(
                "GET",
                "/api/phase1/securitisation/top20",
                Session,
                CORE,
                200,
                None,
                "The top 20 of a run (default: the caller's latest)",
            ),
            get(results::top20),
        ),
        (
            spec(
                "GET",
                "/api/phase1/securitisation/export/{rank}",
                Session,
                EXPORT,
                200,
                None,
                "One ranked structure in full",
            ),
            get(results::export),
        ),
        (
            spec(
                "POST",
                "/api/phase1/documents/term-sheet",
                Session,
                EXPORT,
                200,
                Some("TermSheetBody"),
                "A ranked structure's term sheet as PDF, XLSX or Markdown",
            )
            .produces(TERM_SHEETS),
            post(documents::term_sheet),
        ),
        (
            spec(
                "GET",
                "/api/phase1/runs/{run_id}/structures/{rank}/{document}",
                Session,
                EXPORT,
                200,
                None,
                "A term sheet by URL: {document} is term-sheet.pdf, term-sheet.xlsx or term-sheet.md",
            )
            .produces(TERM_SHEETS),
            get(documents::term_sheet_by_url),
        ),
        (
            spec(
                "GET",
                "/api/phase1/runs/{run_id}/top.csv",
                Session,
                CORE,
                200,
                None,
                "A finished run's top-N as CSV",
            )
            .produces(&["text/csv; charset=utf-8; header=present"]),
            get(documents::top_csv),
        ),
        (
            spec(
                "GET",
                "/api/phase1/constraints",
                Session,
                CORE,
                200,
                None,
                "Rule failures and binding limits of a run, ranked",
            ),
            get(results::constraints),
        ),
        (
            spec(
                "POST",
                "/api/phase1/validate/consistency",
                Session,
                RUN,
                200,
                Some("ConsistencyBody"),
                "Run a request several ways and compare (each run counts in the run class)",
            )
            .limited(RateClass::Run)
            .long_running(),
            post(runs::consistency),
        ),
        (
            spec(
                "GET",
                "/api/phase1/rules",
                Session,
                CORE,
                200,
                None,
                "The ruleset",
            ),
            get(rules::get),
        ),
        (
            spec(
                "POST",
                "/api/phase1/rules/validate",
                Session,
                CORE,
                200,
                Some("RulesValidateBody"),
                "Run the ruleset's integrity checks",
            ),
            post(rules::validate),
        ),
        (
            spec(
                "GET",
                "/api/phase1/canary/status",
                Public,
                &[],
                200,
                None,
                "Canary phase, percentage, since, last decision (ETag)",
            ),
            get(canary::status),
        ),
        (
            spec(
                "GET",
                "/api/phase1/flags",
                Ops,
                &[],
                200,
                None,
                "The flag set and its version (ETag)",
            ),
            get(flags::get),
        ),
        (
            spec(
                "POST",
                "/api/phase1/flags",
                Ops,
                &[],
                200,
                Some("FlagsBody"),
                "Change flags (If-Match; keys checked first)",
            )
            .limited(RateClass::Flags)
            .authorises_itself()
            .body_limit(body::KEYS_FIRST_BODY),
            post(flags::update),
        ),
        (
            spec(
                "POST",
                "/api/admin/flags/update",
                Ops,
                &[],
                200,
                Some("FlagsBody"),
                "Change flags (If-Match; keys checked first)",
            )
            .limited(RateClass::Flags)
            .authorises_itself()
            .body_limit(body::KEYS_FIRST_BODY),
            post(flags::update),
        ),
        (
            spec(
                "POST",
                "/api/admin/flags/rollback",
                Ops,
                &[],
                200,
                Some("RollbackBody"),
                "Every Phase-1 flag off, canary to 0 %",
            )
            .limited(RateClass::Flags),
            post(canary::rollback),
        ),
        (
            spec(
                "POST",
                "/api/phase1/rollback",
                Ops,
                &[],
                200,
                Some("RollbackBody"),
                "Every Phase-1 flag off, canary to 0 %",
            )
            .limited(RateClass::Flags),
            post(canary::rollback),
        ),
        (
            spec(
                "GET",
                "/api/phase1/flags/evaluate",
                Ops,
                &[],
                200,
                None,
                "Every flag as it evaluates for ?email&role&ip, with the reason",
            ),
            get(flags::evaluate),
        ),
        (
            spec(
                "GET",
                "/api/phase1/flags/audit",
                Ops,
                &[],
                200,
                None,
                "Audit rows, newest first",
            ),
            get(flags::audit),
        ),
        (
            spec(
                "POST",
                "/api/admin/allowlist/update",
                Ops,
                &[],
                200,
                Some("AllowlistBody"),
                "Set the allowlist and rollout of the canary's flags (If-Match)",
            )
            .limited(RateClass::Flags),
            post(flags::allowlist),
        ),
        (
            spec(
                "POST",
                "/api/phase1/canary/update",
                Ops,
                &[],
                200,
                Some("CanaryUpdateBody"),
                "Enter a canary phase (If-Match: the canary's version)",
            )
            .limited(RateClass::Flags),
            post(canary::update),
        ),
        (
            spec(
                "POST",
                "/api/phase1/canary/evaluate",
                Ops,
                &[],
                200,
                None,
                "Judge the canary on live metrics; roll back on a crossed threshold",
            ),
            post(canary::evaluate),
        ),
        (
            spec(
                "GET",
                "/api/phase1/canary/tick",
                Cron,
                &[],
                200,
                None,
                "The cron twin of canary/evaluate",
            ),
            get(canary::evaluate),
        ),
        (
            spec(
                "POST",
                "/api/phase1/canary/tick",
                Cron,
                &[],
                200,
                None,
                "The cron twin of canary/evaluate",
            ),
            post(canary::evaluate),
        ),
        (
            spec(
                "POST",
                "/api/admin/rollout/plan",
                Ops,
                &[],
                200,
                Some("RolloutBody"),
                "The phases to a target, with their criteria",
            ),
            post(canary::plan),
        ),
        (
            spec(
                "POST",
                "/api/admin/rollout/execute",
                Ops,
                &[],
                200,
                Some("RolloutBody"),
                "Enter the next phase toward a target when GO (If-Match)",
            )
            .limited(RateClass::Flags),
            post(canary::execute),
        ),
        (
            spec(
                "GET",
                "/api/phase1/status/full",
                Ops,
                &[],
                200,
                None,
                "Canary, flags version, metrics, go/no-go, stores",
            ),
            get(canary::full),
        ),
        (
            spec(
                "GET",
                "/api/phase1/metrics",
                Ops,
                &[],
                200,
                None,
                "Prometheus text exposition of every counter and histogram",
            ),
            get(ops::prometheus),
        ),
        (
            spec(
                "GET",
                "/api/phase1/metrics/summary",
                Ops,
                &[],
                200,
                None,
                "Dashboard tiles: throughput, performance, errors, pruning, memory",
            ),
            get(ops::summary),
        ),
        (
            spec(
                "GET",
                "/api/admin/metrics/slow-queries",
                Ops,
                &[],
                200,
                None,
                "Store calls over PHASE1_SLOW_MS",
            ),
            get(ops::slow_queries),
        ),
        (
            spec(
                "GET",
                "/api/admin/metrics/cache",
                Ops,
                &[],
                200,
                None,
                "Result-cache hits, misses and hit rate",
            ),
            get(ops::cache),
        ),
        (
            spec(
                "POST",
                "/api/admin/synthetic/start",
                Ops,
                &[],
                200,
                Some("SyntheticBody"),
                "Configure the synthetic monitor",
            ),
            post(ops::synthetic_start),
        ),
        (
            spec(
                "GET",
                "/api/phase1/synthetic/run",
                Cron,
                &[],
                200,
                None,
                "Run the synthetic monitor (cron)",
            ),
            get(ops::synthetic_run),
        ),
        (
            spec(
                "POST",
                "/api/phase1/synthetic/run",
                Cron,
                &[],
                200,
                None,
                "Run the synthetic monitor (cron)",
            ),
            post(ops::synthetic_run),
        ),
        (
            spec(
                "GET",
                "/api/admin/synthetic/status",
                Ops,
                &[],
                200,
                None,
                "Synthetic results and alerts",
            ),
            get(ops::synthetic_status),
        ),
        (
            spec(
                "GET",
                "/api/phase1/logs/errors",
                Ops,
                &[],
                200,
                None,
                "Recent error events (?last=N)",
            ),
            get(ops::errors),
        ),
        (
            spec(
                "GET",
                "/api/phase1/reports/daily",
                Ops,
                &[],
                200,
                None,
                "The daily report (?date=YYYY-MM-DD; Markdown with Accept: text/markdown)",
            )
            .produces(&["application/json", "text/markdown; charset=utf-8"]),
            get(ops::daily_report),
        ),
        (
            spec(
                "GET",
                "/api/notifications/status",
                Ops,
                &[],
                200,
                None,
                "The alert delivery queue: depth, delivered, failed, oldest pending, last error",
            ),
            get(ops::notifications),
        ),
        (
            spec(
                "POST",
                "/api/phase1/internal/shard",
                Internal,
                &[],
                200,
                Some("ShardRequest"),
                "Judge one shard (HMAC-signed calls only)",
            ),
            post(internal::shard),
        ),
        (
            spec(
                "GET",
                "/api/phase1/internal/worker",
                Cron,
                &[],
                200,
                None,
                "Claim and run queued runs (cron)",
            ),
            get(internal::worker),
        ),
        (
            spec(
                "POST",
                "/api/phase1/internal/worker",
                Cron,
                &[],
                200,
                None,
                "Claim and run queued runs (cron)",
            ),
            post(internal::worker),
        ),
    ]
}

/// The route specs alone.
pub fn specs() -> Vec<RouteSpec> {
    table().into_iter().map(|(s, _)| s).collect()
}

static SPECS: std::sync::LazyLock<Vec<RouteSpec>> = std::sync::LazyLock::new(specs);

/// The route that serves `method` on `path`, if any.
pub fn route_for(method: &str, path: &str) -> Option<&'static RouteSpec> {
    SPECS
        .iter()
        .find(|s| s.method == method && matches_path(s.path, path))
}

/// The authorization and flag check of one route.
async fn guard(
    State((state, level, flags, authorises_itself)): State<(
        AppState,
        AuthLevel,
        &'static [&'static str],
        bool,
    )>,
    mut req: Request,
    next: Next,
) -> Response {
    let ip = req.extensions().get::<client_ip::ClientIp>().map(|c| c.0);
    let synthetic = req.extensions().get::<auth::Synthetic>().is_some();
    if authorises_itself && !synthetic {
        return next.run(req).await;
    }
    let session = match authorize(&state, level, req.headers(), ip).await {
        _ if synthetic && level != AuthLevel::Public => Some(auth::Session::synthetic()),
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let mut logged = Logged {
        user: session
            .as_ref()
            .map(|s| crate::logging::user_hash(&s.email)),
        admin: session.as_ref().is_some_and(auth::Session::is_admin),
        flag_version: None,
    };
    if !flags.is_empty() || level == AuthLevel::Session {
        let caller = crate::flags::Caller {
            email: session.as_ref().map(|s| s.email.clone()),
            admin: logged.admin,
            ip,
        };
        let evaluated =
            match crate::service::flags::Evaluated::load(state.stores.doc.as_ref(), caller).await {
                Ok(f) => f,
                Err(e) => return ApiError::from(e).into_response(),
            };
        logged.flag_version = Some(evaluated.version());
        if let Some(off) = flags.iter().find(|f| !evaluated.on(f)) {
            let mut res = ApiError::feature_disabled(off).into_response();
            res.extensions_mut().insert(logged);
            return res;
        }
        req.extensions_mut().insert(evaluated);
    }
    if let Some(s) = session {
        req.extensions_mut().insert(s);
    }
    let mut res = next.run(req).await;
    res.extensions_mut().insert(logged);
    res
}

/// What the envelope's log line and metrics need to know of the caller, passed from the
/// route's guard on the response: the user as a hash, whether an admin (admin traffic is
/// not canary traffic), the flag version the request was served under.
#[derive(Debug, Clone)]
struct Logged {
    user: Option<String>,
    admin: bool,
    flag_version: Option<u64>,
}

/// Builds the router over `state`.
pub fn router(state: AppState) -> Router {
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for (spec, handler) in table() {
        let layer = middleware::from_fn_with_state(
            (state.clone(), spec.auth, spec.flags, spec.authorises_itself),
            guard,
        );
        let handler = handler
            .route_layer(layer)
            .layer(DefaultBodyLimit::max(spec.body_limit));
        match by_path.iter_mut().find(|(p, _)| *p == spec.path) {
            Some((_, existing)) => {
                let merged = std::mem::take(existing).merge(handler);
                *existing = merged;
            }
            None => by_path.push((spec.path, handler)),
        }
    }
    let mut router = Router::new();
    for (path, handler) in by_path {
        router = router.route(path, handler);
    }
    let mut router = router
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::refuse_cross_site,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limit::rate_limit,
        ));
    if let Some(cors) = cors(&state.config.cors_origins) {
        router = router.layer(cors);
    }
    router
        .layer(middleware::from_fn_with_state(state.clone(), envelope))
        .with_state(state)
}

/// CORS for the origins of `PHASE1_CORS_ORIGINS` only, with credentials; none without them.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, Method};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let names = |names: &[&'static str]| -> Vec<HeaderName> {
        names.iter().map(|n| HeaderName::from_static(n)).collect()
    };
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers(names(&[
                "content-type",
                "authorization",
                "if-match",
                "idempotency-key",
                "x-request-id",
            ]))
            .expose_headers(names(&[
                "x-request-id",
                "etag",
                "location",
                "retry-after",
                "x-ratelimit-limit",
                "x-ratelimit-remaining",
                "x-ratelimit-reset",
            ]))
            .max_age(std::time::Duration::from_secs(600)),
    )
}

async fn fallback(req: Request) -> ApiError {
    ApiError::not_found(format!("no route {} {}", req.method(), req.uri().path()))
}

async fn method_not_allowed(req: Request) -> ApiError {
    let allowed: Vec<&str> = specs()
        .iter()
        .filter(|s| matches_path(s.path, req.uri().path()))
        .map(|s| s.method)
        .collect();
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "Method not allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
    .with_header("allow", allowed.join(", "))
}

fn matches_path(pattern: &str, path: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    a.len() == b.len() && a.iter().zip(&b).all(|(p, s)| p.starts_with('{') || p == s)
}

/// A client request id is kept when it is 1..=128 visible, safe characters.
fn sane_request_id(v: Option<&HeaderValue>) -> Option<String> {
    let s = v?.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    ok.then(|| s.to_string())
}

/// Request id, build headers, and JSON problems for the router's own 404/405/413.
async fn envelope(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let id = sane_request_id(req.headers().get("x-request-id"))
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().clone();
    let spec = route_for(method.as_str(), req.uri().path());
    let route = spec.map_or("unmatched", |r| r.path);
    let log_method = method.clone();
    let started = std::time::Instant::now();
    let (mut res, waited_ms) = REQUEST_ID
        .scope(
            id.clone(),
            crate::waits::measured(async move {
                let res = next.run(req).await;
                let json = res
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|c| c.contains("json"));
                match res.status() {
                    StatusCode::PAYLOAD_TOO_LARGE if !json => body::too_large().into_response(),
                    StatusCode::NOT_FOUND if !json => {
                        ApiError::not_found("not found").into_response()
                    }
                    StatusCode::METHOD_NOT_ALLOWED if !json => ApiError::new(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "METHOD_NOT_ALLOWED",
                        "Method not allowed",
                        format!("{method} is not allowed here"),
                    )
                    .into_response(),
                    _ => res,
                }
            }),
        )
        .await;
    let h = res.headers_mut();
    let cfg = &state.config;
    for (name, value) in [
        ("x-request-id", id.as_str()),
        ("x-commit-sha", cfg.build.commit_sha.as_str()),
        ("x-build-id", cfg.build.build_id.as_str()),
        ("x-ruleset-version", state.rules.version()),
        ("x-env", cfg.env.as_str()),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    }
    let logged = res.extensions().get::<Logged>().cloned();
    let status = res.status().as_u16();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "phase1::http",
        request_id = %id,
        method = %log_method,
        route,
        status,
        duration_ms,
        user = logged.as_ref().and_then(|l| l.user.as_deref()),
        flag_version = logged.as_ref().and_then(|l| l.flag_version),
        "request"
    );
    // Business traffic: a Phase-1 engine route (one that names a flag) served to a
    // signed-in user who is not an admin — what the canary measures, by the latency the
    // service answers for (less the waits on the caller; none for a long-running check).
    let business = match (spec, logged.as_ref()) {
        (Some(s), Some(l)) if !s.flags.is_empty() && !l.admin => {
            l.user
                .as_deref()
                .map(|user| crate::service::metrics::Business {
                    user,
                    latency_ms: (!s.long_running).then(|| (duration_ms - waited_ms).max(0.0)),
                    slow_ms: cfg.canary.rollback_p95_ms,
                })
        }
        _ => None,
    };
    let mut samples = crate::service::metrics::request_samples(
        route,
        log_method.as_str(),
        status,
        duration_ms,
        business,
    );
    let problem = res.extensions().get::<problem::ProblemSummary>().cloned();
    if let Some(p) = &problem {
        samples.count(
            "problems_total",
            &[("code", p.code), ("status", &status.to_string())],
            1.0,
        );
    }
    crate::service::events::after_request(
        &state,
        samples,
        status,
        &id,
        route,
        crate::service::metrics::method_label(log_method.as_str()),
        problem,
    )
    .await;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_request_ids_are_kept_only_when_sane() {
        let v = |s: &str| HeaderValue::from_str(s).ok();
        assert_eq!(
            sane_request_id(v("abc-123_x.y:z").as_ref()),
            Some("abc-123_x.y:z".into())
        );
        assert_eq!(sane_request_id(v("has space").as_ref()), None);
        assert_eq!(sane_request_id(v(&"a".repeat(129)).as_ref()), None);
        assert_eq!(sane_request_id(v("").as_ref()), None);
        assert_eq!(sane_request_id(None), None);
    }

    #[test]
    fn paths_match_their_patterns() {
        assert!(matches_path(
            "/api/phase1/runs/{run_id}",
            "/api/phase1/runs/abc"
        ));
        assert!(!matches_path(
            "/api/phase1/runs/{run_id}",
            "/api/phase1/runs"
        ));
        assert!(!matches_path("/api/phase1/runs", "/api/phase1/rules"));
    }

    #[test]
    fn the_table_has_one_entry_per_method_and_path() {
        let specs = specs();
        let mut keys: Vec<(&str, &str)> = specs.iter().map(|s| (s.method, s.path)).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before);
        let doc = openapi::document();
        for s in &specs {
            let op = &doc["paths"][s.path][s.method.to_lowercase()];
            assert!(
                op.is_object(),
                "{} {} missing from the OpenAPI document",
                s.method,
                s.path
            );
        }
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
