//! The rate limiter and IP blocks, in front of every `/api/` route and the aliases outside
//! `/api/` (the probes `/healthz` and `/readyz` are outside it). One atomic store call per request checks the block, counts the
//! request in its class's one-minute window and, when the limit is passed, records a
//! violation and blocks the IP on the third within ten minutes ([`crate::limits`]).
//!
//! Clients are counted by [`client_ip::limit_key`]: an IPv4 address, or an IPv6 address's
//! /64 (the smallest network a client is normally given, so rotating addresses inside it
//! buys no fresh budget). Requests with a valid ops token are never limited or blocked.
//! When the key-value store is down, sign-in routes fail closed (503) and the others are let
//! through with a logged, counted warning.
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
use std::net::IpAddr;
use std::sync::atomic::Ordering;

/// Seconds from `now` to `at`, at least 1.
fn secs_until(at: i64, now: i64) -> i64 {
    ((at - now).max(0) + 999) / 1000
}

/// Marks a request the limiter counted (it carried no valid ops token), with its class: a
/// handler that learns from the body that the request costs more (a consistency check of
/// several runs) charges the rest with [`charge`].
#[derive(Debug, Clone, Copy)]
pub struct Counted(pub RateClass);

/// What the limiter allowed: the headers of the answer.
struct Allowance {
    limit: u64,
    remaining: u64,
    reset_s: i64,
}

/// The middleware: resolves the client address (kept as a [`ClientIp`] extension for the
/// handlers) and applies the limits.
pub async fn rate_limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = client_ip::resolve(state.client_ip, &req);
    if let Some(ip) = ip {
        req.extensions_mut().insert(ClientIp(ip));
    }
    let path = req.uri().path();
    let route = super::route_for(req.method().as_str(), path);
    let synthetic = req.extensions().get::<super::auth::Synthetic>().is_some();
    if !counted(path, route) || synthetic || has_ops_token(&state, req.headers(), ip) {
        return next.run(req).await;
    }
    let class = route.map_or(RateClass::Api, |r| r.class);
    let route_name = route.map_or("unmatched", |r| r.path);
    let allowance = match count(&state, ip, class, 1, route_name).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    req.extensions_mut().insert(Counted(class));
    let mut res = next.run(req).await;
    if let Some(a) = allowance {
        let h = res.headers_mut();
        for (name, value) in [
            ("x-ratelimit-limit", a.limit.to_string()),
            ("x-ratelimit-remaining", a.remaining.to_string()),
            ("x-ratelimit-reset", a.reset_s.to_string()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
    }
    res
}

/// Whether the limiter counts a request: every `/api/` path (known or not) and the app's
/// aliases outside it (`/auth/login`, `/health`, …), but never the probes `/healthz` and
/// `/readyz` nor the web UI's files.
fn counted(path: &str, route: Option<&super::RouteSpec>) -> bool {
    path.starts_with("/api/") || route.is_some_and(|r| !matches!(r.path, "/healthz" | "/readyz"))
}

/// Charges `cost` more requests of a counted request's class (see [`Counted`]) from its
/// handler, once the body has said what the request costs: 429 (a violation, as any
/// refusal) when they do not fit in the window. Requests the limiter did not count (ops
/// token, synthetic) are not charged.
pub async fn charge(
    state: &AppState,
    counted: Option<Counted>,
    ip: Option<IpAddr>,
    route: &str,
    cost: u64,
) -> Result<(), ApiError> {
    match counted {
        Some(Counted(class)) if cost > 0 => count(state, ip, class, cost, route).await.map(|_| ()),
        _ => Ok(()),
    }
}

/// Counts `cost` requests of `class` from `ip` (keyed by [`client_ip::limit_key`]): the
/// allowance (None when the store is down and the class fails open), or the refusal —
/// 429 with a violation recorded, the block on the third (audited, counted), 403 while
/// blocked, 503 for a sign-in class without the store.
async fn count(
    state: &AppState,
    ip: Option<IpAddr>,
    class: RateClass,
    cost: u64,
    route: &str,
) -> Result<Option<Allowance>, ApiError> {
    let limits = &state.config.rate_limits;
    let key = ip.map_or_else(|| "unknown".to_string(), client_ip::limit_key);
    let limit = limits.limit(class);
    let check = RateLimit {
        ip: &key,
        class: class.as_str(),
        limit,
        cost,
        window_ms: limits.window_ms,
        violations_to_block: limits.violations_to_block,
        violation_period_ms: limits.violation_period_ms,
        block_ms: limits.block_ms,
    };
    let now = state.clock.now_ms();
    let decision = match state.stores.kv.rate_limit(&check, now).await {
        Ok(d) => d,
        Err(e) if class.fails_closed() => return Err(ApiError::from(e)),
        Err(e) => {
            let total = state.rate_limit_fail_open.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(
                target: "phase1::http",
                class = class.as_str(),
                error = %e,
                fail_open_total = total,
                "rate limit not checked: the key-value store is unavailable; request let through"
            );
            return Ok(None);
        }
    };
    match decision {
        RateDecision::Allowed {
            remaining,
            reset_at,
        } => Ok(Some(Allowance {
            limit,
            remaining,
            reset_s: secs_until(reset_at, now),
        })),
        RateDecision::Limited { reset_at, blocked } => {
            let mut counted = crate::service::metrics::Samples::new();
            counted.count("rate_limit_hits_total", &[("class", class.as_str())], 1.0);
            if blocked {
                counted.count("security_blocks_total", &[], 1.0);
            }
            crate::service::metrics::add_or_log(state, &counted).await;
            if blocked {
                let origin = Origin::http(route, ip);
                let until = now + limits.block_ms;
                audit::record(
                    state,
                    &origin,
                    Event::new("ip.block", "system").subject(&key).change(
                        json!({"blocked": false}),
                        json!({"blocked": true, "until": crate::service::runs::rfc3339(until),
                               "class": class.as_str(),
                               "violations": limits.violations_to_block}),
                    ),
                )
                .await;
                crate::service::notifications::raise(
                    state,
                    crate::service::notifications::Alert {
                        kind: "ip.block",
                        severity: "warning",
                        summary: format!(
                            "{key} blocked for {} minutes after repeated {} rate-limit refusals",
                            limits.block_ms / 60_000,
                            class.as_str()
                        ),
                        details: json!({"address": key, "class": class.as_str(),
                                        "until": crate::service::runs::rfc3339(until)}),
                    },
                )
                .await;
            }
            let retry = secs_until(reset_at, now).to_string();
            Err(ApiError::new(
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
            .with_header("x-ratelimit-reset", retry))
        }
        RateDecision::Blocked { until } => {
            let retry = secs_until(until, now).to_string();
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "IP_BLOCKED",
                "Address blocked",
                format!(
                    "this address is blocked until {} after repeated rate-limit violations",
                    crate::service::runs::rfc3339(until)
                ),
            )
            .with_header("retry-after", retry))
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

    #[test]
    fn api_paths_and_aliases_are_counted_but_not_probes_or_pages() {
        let counted =
            |method: &str, path: &str| super::counted(path, crate::http::route_for(method, path));
        assert!(counted("POST", "/api/auth/login"));
        assert!(counted("GET", "/api/no/such/route"));
        assert!(counted("POST", "/auth/login"));
        assert!(counted("POST", "/auth/mfa"));
        assert!(counted("GET", "/health"));
        assert!(!counted("GET", "/healthz"));
        assert!(!counted("GET", "/readyz"));
        assert!(!counted("GET", "/projects"));
    }
}
