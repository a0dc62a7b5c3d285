//! The rate limiter and IP blocks, in front of every `/api/` route (the probes `/healthz` and
//! `/readyz` are outside it). One atomic store call per request checks the block, counts the
//! request in its class's one-minute window and, when the limit is passed, records a
//! violation and blocks the IP on the third within ten minutes ([`crate::limits`]).
//!
//! Requests with a valid ops token are never limited or blocked. When the key-value store is
//! down, sign-in routes fail closed (503) and the others are let through with a logged,
//! counted warning.
//!
//! Answers carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
//! (seconds until the window resets); a 429 or 403 also `Retry-After`.

use super::auth::has_ops_token;
use super::client_ip::{self, ClientIp};
use super::problem::ApiError;
use super::state::AppState;
use crate::limits::RateClass;
use crate::service::audit::{self, Event, Origin};
use crate::store::model::{RateDecision, RateLimit};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::atomic::Ordering;

/// Seconds from `now` to `at`, at least 1.
fn secs_until(at: i64, now: i64) -> i64 {
    ((at - now).max(0) + 999) / 1000
}

/// The middleware: resolves the client address (kept as a [`ClientIp`] extension for the
/// handlers) and applies the limits.
pub async fn rate_limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = client_ip::resolve(state.client_ip, &req);
    if let Some(ip) = ip {
        req.extensions_mut().insert(ClientIp(ip));
    }
    let path = req.uri().path().to_string();
    let synthetic = req.extensions().get::<super::auth::Synthetic>().is_some();
    if !path.starts_with("/api/") || synthetic || has_ops_token(&state, req.headers(), ip) {
        return next.run(req).await;
    }
    let route = super::route_for(req.method().as_str(), &path);
    let class = route.map_or(RateClass::Api, |r| r.class);
    let limits = &state.config.rate_limits;
    let ip_text = ip.map_or_else(|| "unknown".to_string(), |i| i.to_string());
    let limit = limits.limit(class);
    let check = RateLimit {
        ip: &ip_text,
        class: class.as_str(),
        limit,
        window_ms: limits.window_ms,
        violations_to_block: limits.violations_to_block,
        violation_period_ms: limits.violation_period_ms,
        block_ms: limits.block_ms,
    };
    let now = state.clock.now_ms();
    let decision = match state.stores.kv.rate_limit(&check, now).await {
        Ok(d) => d,
        Err(e) if class.fails_closed() => return ApiError::from(e).into_response(),
        Err(e) => {
            let total = state.rate_limit_fail_open.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(
                target: "phase1::http",
                class = class.as_str(),
                error = %e,
                fail_open_total = total,
                "rate limit not checked: the key-value store is unavailable; request let through"
            );
            return next.run(req).await;
        }
    };
    let route_name = route.map_or(path.as_str(), |r| r.path);
    match decision {
        RateDecision::Allowed {
            remaining,
            reset_at,
        } => {
            let mut res = next.run(req).await;
            let h = res.headers_mut();
            for (name, value) in [
                ("x-ratelimit-limit", limit.to_string()),
                ("x-ratelimit-remaining", remaining.to_string()),
                ("x-ratelimit-reset", secs_until(reset_at, now).to_string()),
            ] {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    h.insert(name, v);
                }
            }
            res
        }
        RateDecision::Limited { reset_at, blocked } => {
            let mut counted = crate::service::metrics::Samples::new();
            counted.count("rate_limit_hits_total", &[("class", class.as_str())], 1.0);
            if blocked {
                counted.count("security_blocks_total", &[], 1.0);
            }
            crate::service::metrics::add_or_log(&state, &counted).await;
            if blocked {
                let origin = Origin::http(route_name, ip);
                let until = now + limits.block_ms;
                audit::record(
                    &state,
                    &origin,
                    Event::new("ip.block", "system").subject(&ip_text).change(
                        json!({"blocked": false}),
                        json!({"blocked": true, "until": crate::service::runs::rfc3339(until),
                               "class": class.as_str(),
                               "violations": limits.violations_to_block}),
                    ),
                )
                .await;
            }
            let retry = secs_until(reset_at, now).to_string();
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "Too many requests",
                format!(
                    "more than {limit} {} requests a minute from this address; retry in {retry} s",
                    class.as_str()
                ),
            )
            .with_header("retry-after", retry.clone())
            .with_header("x-ratelimit-limit", limit.to_string())
            .with_header("x-ratelimit-remaining", "0")
            .with_header("x-ratelimit-reset", retry)
            .into_response()
        }
        RateDecision::Blocked { until } => {
            let retry = secs_until(until, now).to_string();
            ApiError::new(
                StatusCode::FORBIDDEN,
                "IP_BLOCKED",
                "Address blocked",
                format!(
                    "this address is blocked until {} after repeated rate-limit violations",
                    crate::service::runs::rfc3339(until)
                ),
            )
            .with_header("retry-after", retry)
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(super::secs_until(1_000, 0), 1);
        assert_eq!(super::secs_until(1_001, 0), 2);
        assert_eq!(super::secs_until(0, 5), 0);
    }
}
