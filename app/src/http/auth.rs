//! Who is calling: the auth levels of api.md and the session extractor.
//!
//! Sources, in order: an access token (`Authorization: Bearer <JWT>` or the `phase1_access`
//! cookie; verified by [`crate::service::sessions::verify`]), then `X-Admin-Token` — the ops
//! token, compared in constant time with `PHASE1_ADMIN_TOKEN` (or its SHA-256), which
//! outside prod also acts as an admin session (the dev bridge). With `PHASE1_OPS_ALLOWLIST`
//! set, the ops token counts only from an address in it, and ops routes refuse admin
//! sessions from elsewhere too.

use super::problem::ApiError;
use super::state::AppState;
use crate::auth::tokens::AccessClaims;
use crate::config::{AdminToken, AppEnv};
use crate::store::model::Role;
use axum::http::HeaderMap;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// The auth level a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthLevel {
    /// Anyone.
    Public,
    /// A signed-in user with MFA.
    Session,
    /// A session whose user is an admin.
    Admin,
    /// The ops token, or an admin session.
    Ops,
    /// A scheduled call (`Bearer CRON_SECRET`) or ops.
    Cron,
    /// A signed shard call from another instance (HMAC, checked by the handler).
    Internal,
}

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// An access token.
    AccessToken,
    /// `X-Admin-Token` as ops.
    OpsToken,
    /// `X-Admin-Token` as an admin session outside prod.
    DevBridge,
    /// `Authorization: Bearer $CRON_SECRET`.
    Cron,
    /// A synthetic monitor's in-process request ([`Synthetic`]).
    Synthetic,
}

/// Marks an in-process request made by a synthetic monitor. It is a request extension, which
/// no client can set (only headers cross the wire); its caller is the admin
/// `synthetic@phase1.internal`, so monitors never count as canary traffic.
#[derive(Debug, Clone, Copy)]
pub struct Synthetic;

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Lower-cased email (a fixed name for tokens).
    pub email: String,
    /// Role.
    pub role: Role,
    /// How.
    pub via: Via,
    /// The access token's claims, when signed in with one.
    pub access: Option<AccessClaims>,
}

impl Session {
    /// The caller of a synthetic monitor's requests.
    pub fn synthetic() -> Session {
        Session::fixed("synthetic@phase1.internal", Via::Synthetic)
    }

    fn fixed(email: &str, via: Via) -> Session {
        Session {
            email: email.into(),
            role: Role::Admin,
            via,
            access: None,
        }
    }

    /// Whether the caller sees everyone's projects and runs.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The owner filter for listings: None for admins (they see all).
    pub fn owner_filter(&self) -> Option<&str> {
        (!self.is_admin()).then_some(self.email.as_str())
    }

    /// Whether the caller may see a record owned by `owner`.
    pub fn may_see(&self, owner: &str) -> bool {
        self.is_admin() || self.email == owner
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Whether `presented` is the configured ops token (constant-time, over digests).
pub fn is_ops_token(state: &AppState, presented: &str) -> bool {
    let digest = sha256(presented.as_bytes());
    match &state.config.admin_token {
        None => false,
        Some(AdminToken::Plain(t)) => bool::from(digest.ct_eq(&sha256(t.as_bytes()))),
        Some(AdminToken::Sha256(d)) => bool::from(digest.ct_eq(d)),
    }
}

/// Whether ops calls may come from `ip`: always without `PHASE1_OPS_ALLOWLIST`, else only
/// from an address in it.
pub fn ops_ip_allowed(state: &AppState, ip: Option<IpAddr>) -> bool {
    let list = &state.config.ops_allowlist;
    list.is_empty() || ip.is_some_and(|ip| list.iter().any(|n| n.contains(&ip)))
}

/// Whether the request carries a valid ops token from an allowed address.
pub fn has_ops_token(state: &AppState, headers: &HeaderMap, ip: Option<IpAddr>) -> bool {
    headers
        .get("x-admin-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| is_ops_token(state, t))
        && ops_ip_allowed(state, ip)
}

/// The bearer token of `Authorization`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A cookie's value, if the request sends it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

fn is_cron_secret(state: &AppState, token: &str) -> bool {
    state
        .config
        .cron_secret
        .as_ref()
        .is_some_and(|c| bool::from(sha256(token.as_bytes()).ct_eq(&sha256(&c.0))))
}

/// The caller's session, if any source authenticates them.
async fn session(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
) -> Result<Option<Session>, ApiError> {
    let bearer = bearer(headers).filter(|t| !is_cron_secret(state, t));
    if let Some(token) = bearer.or_else(|| cookie(headers, "phase1_access")) {
        let claims = crate::service::sessions::verify(state, token).await?;
        return Ok(Some(Session {
            email: claims.sub.to_lowercase(),
            role: claims.role,
            via: Via::AccessToken,
            access: Some(claims),
        }));
    }
    if let Some(t) = headers.get("x-admin-token").and_then(|v| v.to_str().ok()) {
        if !is_ops_token(state, t) {
            return Err(ApiError::auth_required());
        }
        if !ops_ip_allowed(state, ip) {
            return Err(not_allowed_here());
        }
        if state.config.env != AppEnv::Prod {
            return Ok(Some(Session::fixed("admin@localhost", Via::DevBridge)));
        }
    }
    Ok(None)
}

fn not_allowed_here() -> ApiError {
    ApiError::forbidden("ops calls are accepted only from the addresses of PHASE1_OPS_ALLOWLIST")
}

/// Authorises a request from `ip` for `level`; returns the caller (None for public routes).
pub async fn authorize(
    state: &AppState,
    level: AuthLevel,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
) -> Result<Option<Session>, ApiError> {
    let ops_token = has_ops_token(state, headers, ip);
    let ops = || Session::fixed("ops", Via::OpsToken);
    match level {
        AuthLevel::Public | AuthLevel::Internal => Ok(None),
        AuthLevel::Ops => {
            if ops_token {
                return Ok(Some(ops()));
            }
            match session(state, headers, ip).await? {
                Some(s) if s.is_admin() && ops_ip_allowed(state, ip) => Ok(Some(s)),
                Some(s) if s.is_admin() => Err(not_allowed_here()),
                Some(_) => Err(ApiError::forbidden(
                    "an ops token or an admin session is required",
                )),
                None => Err(ApiError::auth_required()),
            }
        }
        AuthLevel::Cron => {
            if ops_token {
                return Ok(Some(ops()));
            }
            if bearer(headers).is_some_and(|b| is_cron_secret(state, b)) {
                return Ok(Some(Session::fixed("cron", Via::Cron)));
            }
            Err(ApiError::auth_required())
        }
        AuthLevel::Session => session(state, headers, ip)
            .await?
            .map(Some)
            .ok_or_else(ApiError::auth_required),
        AuthLevel::Admin => match session(state, headers, ip).await? {
            Some(s) if s.is_admin() => Ok(Some(s)),
            Some(_) => Err(ApiError::forbidden("an admin session is required")),
            None => Err(ApiError::auth_required()),
        },
    }
}
