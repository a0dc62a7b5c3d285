//! Route handlers, one module per route group. Handlers are thin: parse, authorise (done by
//! the route's guard), call a service or the engine, render.

pub mod admin;
pub mod auth;
pub mod canary;
pub mod documents;
pub mod flags;
pub mod internal;
pub mod ops;
pub mod permutations;
pub mod projects;
pub mod public;
pub mod results;
pub mod rules;
pub mod runs;

use super::auth::Session;
use super::client_ip::ClientIp;
use super::problem::{ApiError, ApiResult};
use super::state::AppState;
use crate::service::audit::Origin;
use crate::store::model::{Page, RunRecord};
use axum::Extension;
use serde::Deserialize;

/// Where a request to `route` came from, for audit rows.
pub fn origin(route: &str, ip: Option<Extension<ClientIp>>) -> Origin {
    Origin::http(route, ip.map(|Extension(ClientIp(ip))| ip))
}

/// `?offset&limit` of listings (limit 1..=100, default 20).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PageQuery {
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Rows to return.
    pub limit: Option<u64>,
}

impl PageQuery {
    /// The page, with the limit clamped to 1..=100.
    pub fn page(self) -> Page {
        Page {
            offset: self.offset.unwrap_or(0),
            limit: self.limit.unwrap_or(20).clamp(1, 100),
        }
    }
}

/// A run the caller may see (404 otherwise: others' ids look absent).
pub async fn visible_run(state: &AppState, session: &Session, id: &str) -> ApiResult<RunRecord> {
    match state.stores.doc.get_run(id).await? {
        Some(r) if session.may_see(&r.owner) => Ok(r),
        _ => Err(ApiError::not_found(format!("no run {id:?}"))),
    }
}

/// The caller's chosen run (`run_id`) or, without one, their latest done run; with its
/// result document.
pub async fn done_run(
    state: &AppState,
    session: &Session,
    run_id: Option<&str>,
) -> ApiResult<(RunRecord, serde_json::Value)> {
    let run = match run_id {
        Some(id) => visible_run(state, session, id).await?,
        None => crate::service::runs::latest_finished(state, session.email.as_str())
            .await?
            .ok_or_else(|| ApiError::not_found("no finished run"))?,
    };
    let result = state.stores.doc.get_result(&run.id).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "run {} has no result (status {})",
            run.id,
            run.status.as_str()
        ))
    })?;
    Ok((run, result))
}
