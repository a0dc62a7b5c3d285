//! Who is calling: the auth levels of api.md and the session extractor.
//!
//! Sources, in order: an access token (`Authorization: Bearer <JWT>` or the `phase1_access`
//! cookie; HS256 under `SECRET_KEY`, `mfa: true`, not revoked), then `X-Admin-Token` — the
//! ops token, which outside prod also acts as an admin session (the dev bridge).

use super::problem::ApiError;
use super::state::AppState;
use crate::config::{AdminToken, AppEnv};
use crate::store::model::Role;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
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
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Lower-cased email (a fixed name for tokens).
    pub email: String,
    /// Role.
    pub role: Role,
    /// How.
    pub via: Via,
}

impl Session {
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

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's email.
    pub sub: String,
    /// "admin" or "analyst".
    pub role: Role,
    /// Token id (for revocation).
    pub jti: String,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// MFA was completed.
    pub mfa: bool,
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

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='))
}

/// Verifies an access token: HS256 under `SECRET_KEY`, unexpired, `mfa: true`, its id not
/// revoked, issued after the user's last session revocation.
pub async fn verify_access_token(state: &AppState, token: &str) -> Result<Session, ApiError> {
    let Some(key) = &state.config.secret_key else {
        return Err(ApiError::auth_required());
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub", "iat"]);
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(&key.0),
        &validation,
    )
    .map_err(|_| ApiError::auth_required())?;
    let c = data.claims;
    if !c.mfa || c.exp * 1000 <= state.clock.now_ms() {
        return Err(ApiError::auth_required());
    }
    if state.stores.kv.is_token_revoked(&c.jti).await? {
        return Err(ApiError::auth_required());
    }
    if let Some(cutoff) = state.stores.kv.sessions_revoked_at(&c.sub).await? {
        if c.iat * 1000 <= cutoff {
            return Err(ApiError::auth_required());
        }
    }
    Ok(Session {
        email: c.sub.to_lowercase(),
        role: c.role,
        via: Via::AccessToken,
    })
}

/// The caller's session, if any source authenticates them.
async fn session(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, ApiError> {
    if let Some(token) = bearer(headers).or_else(|| cookie(headers, "phase1_access")) {
        if let Some(cron) = &state.config.cron_secret {
            if bool::from(sha256(token.as_bytes()).ct_eq(&sha256(&cron.0))) {
                return Ok(None);
            }
        }
        return verify_access_token(state, token).await.map(Some);
    }
    if let Some(t) = headers.get("x-admin-token").and_then(|v| v.to_str().ok()) {
        if !is_ops_token(state, t) {
            return Err(ApiError::auth_required());
        }
        if state.config.env != AppEnv::Prod {
            return Ok(Some(Session {
                email: "admin@localhost".into(),
                role: Role::Admin,
                via: Via::DevBridge,
            }));
        }
    }
    Ok(None)
}

/// Authorises a request for `level`; returns the caller (None for public routes).
pub async fn authorize(
    state: &AppState,
    level: AuthLevel,
    headers: &HeaderMap,
) -> Result<Option<Session>, ApiError> {
    let ops_token = headers
        .get("x-admin-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| is_ops_token(state, t));
    let ops = || Session {
        email: "ops".into(),
        role: Role::Admin,
        via: Via::OpsToken,
    };
    match level {
        AuthLevel::Public | AuthLevel::Internal => Ok(None),
        AuthLevel::Ops => {
            if ops_token {
                return Ok(Some(ops()));
            }
            match session(state, headers).await? {
                Some(s) if s.is_admin() => Ok(Some(s)),
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
            let cron_ok = match (&state.config.cron_secret, bearer(headers)) {
                (Some(secret), Some(b)) => {
                    bool::from(sha256(b.as_bytes()).ct_eq(&sha256(&secret.0)))
                }
                _ => false,
            };
            if cron_ok {
                return Ok(Some(Session {
                    email: "cron".into(),
                    role: Role::Admin,
                    via: Via::Cron,
                }));
            }
            Err(ApiError::auth_required())
        }
        AuthLevel::Session => session(state, headers)
            .await?
            .map(Some)
            .ok_or_else(ApiError::auth_required),
        AuthLevel::Admin => match session(state, headers).await? {
            Some(s) if s.is_admin() => Ok(Some(s)),
            Some(_) => Err(ApiError::forbidden("an admin session is required")),
            None => Err(ApiError::auth_required()),
        },
    }
}
