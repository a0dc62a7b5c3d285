//! Ops routes: metrics (Prometheus text and dashboard tiles), slow store calls, the result
//! cache, synthetic monitors, recent errors.

use super::origin;
use crate::http::auth::Session;
use crate::http::body::JsonObject;
use crate::http::client_ip::ClientIp;
use crate::http::problem::ApiError;
use crate::http::problem::ApiResult;
use crate::http::state::AppState;
use crate::service::report::{self, Day};
use crate::service::{events, metrics, synthetic};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phase1_core::error::FieldError;
use serde::Deserialize;
use serde_json::{json, Value};

/// `GET /api/phase1/metrics`: every counter and histogram, summed over every instance, in
/// the Prometheus text exposition format, and `store_ready` per store. With the key-value
/// store (which holds the totals) down, the readiness gauges alone, so an alert can say
/// which store is out.
pub async fn prometheus(State(state): State<AppState>) -> ApiResult<Response> {
    let (totals, doc, kv) = tokio::join!(
        metrics::totals(&state),
        state.stores.doc.ping(),
        state.stores.kv.ping()
    );
    let mut text = match totals {
        Ok(totals) => metrics::prometheus(&totals),
        Err(e) => {
            tracing::warn!(target: "phase1::metrics", error = %e, "metric totals unavailable");
            String::new()
        }
    };
    text.push_str(&metrics::readiness(doc.is_ok(), kv.is_ok()));
    let mut res = text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}

/// `GET /api/notifications/status`: the alert delivery queue.
pub async fn notifications(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(crate::service::notifications::status(&state).await?))
}

/// `?date` of the daily report.
#[derive(Debug, Deserialize)]
pub struct DailyQuery {
    /// The day, `YYYY-MM-DD` (default: today, UTC).
    pub date: Option<String>,
}

/// `GET /api/phase1/reports/daily`: the daily report as JSON, or as Markdown when `Accept`
/// names `text/markdown`.
pub async fn daily_report(
    State(state): State<AppState>,
    Query(q): Query<DailyQuery>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let day = match q.date.as_deref() {
        None => Day::of_ms(state.clock.now_ms()),
        Some(d) => {
            Day::parse(d).map_err(|m| ApiError::validation(vec![FieldError::new("date", m)]))?
        }
    };
    let report = report::daily(&state, day).await?;
    let markdown = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/markdown"));
    if markdown {
        return Ok((
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/markdown; charset=utf-8"),
            )],
            report.to_markdown(),
        )
            .into_response());
    }
    Ok(Json(report.to_json()).into_response())
}

/// `?minutes` of the summary (1..=1440, default 60).
#[derive(Debug, Deserialize)]
pub struct SummaryQuery {
    /// The window.
    pub minutes: Option<i64>,
}

/// `GET /api/phase1/metrics/summary`: the dashboard tiles.
pub async fn summary(
    State(state): State<AppState>,
    Query(q): Query<SummaryQuery>,
) -> ApiResult<Json<Value>> {
    let minutes = q.minutes.unwrap_or(60).clamp(1, 1440);
    Ok(Json(metrics::summary(&state, minutes).await?))
}

/// `?last` of the recent lists (1..=200, default 50).
#[derive(Debug, Deserialize)]
pub struct LastQuery {
    /// How many.
    pub last: Option<u64>,
}

impl LastQuery {
    fn n(&self) -> u64 {
        self.last.unwrap_or(50).clamp(1, events::KEEP)
    }
}

/// `GET /api/admin/metrics/slow-queries`: store calls over `PHASE1_SLOW_MS`, newest first.
pub async fn slow_queries(
    State(state): State<AppState>,
    Query(q): Query<LastQuery>,
) -> ApiResult<Json<Value>> {
    let calls = events::recent(&state, events::SLOW, q.n()).await?;
    let totals = metrics::totals(&state).await?;
    Ok(Json(json!({
        "threshold_ms": state.config.slow_ms,
        "total": metrics::family_sum(&totals, "store_slow_calls_total", &[]),
        "calls": calls,
    })))
}

/// `GET /api/admin/metrics/cache`: result-cache hits, misses and hit rate.
pub async fn cache(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let totals = metrics::totals(&state).await?;
    let hits = metrics::family_sum(&totals, "result_cache_hits_total", &[]);
    let misses = metrics::family_sum(&totals, "result_cache_misses_total", &[]);
    let lookups = hits + misses;
    Ok(Json(json!({
        "hits": hits,
        "misses": misses,
        "hit_rate": if lookups > 0.0 { Some(hits / lookups) } else { None },
    })))
}

/// `GET /api/phase1/logs/errors`: recent error events, newest first.
pub async fn errors(
    State(state): State<AppState>,
    Query(q): Query<LastQuery>,
) -> ApiResult<Json<Value>> {
    let events = events::recent(&state, events::ERRORS, q.n()).await?;
    Ok(Json(json!({"count": events.len(), "events": events})))
}

/// `POST /api/admin/synthetic/start`: stores the monitor's configuration.
pub async fn synthetic_start(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    ip: Option<Extension<ClientIp>>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let config =
        synthetic::parse_config(&body, state.clock.now_ms()).map_err(super::flags::problems)?;
    let origin = origin("/api/admin/synthetic/start", ip);
    synthetic::start(&state, &origin, &session.email, &config).await?;
    Ok(Json(json!({"started": true, "monitor": config})))
}

/// `GET|POST /api/phase1/synthetic/run`: the cron's target.
pub async fn synthetic_run(
    State(state): State<AppState>,
    ip: Option<Extension<ClientIp>>,
) -> ApiResult<Json<Value>> {
    let origin = origin("/api/phase1/synthetic/run", ip);
    Ok(Json(synthetic::run(&state, &origin).await?))
}

/// `GET /api/admin/synthetic/status`: configuration, recent results and alerts.
pub async fn synthetic_status(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    Ok(Json(synthetic::status(&state).await?))
}
