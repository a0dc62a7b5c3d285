//! Admin routes: users (an admin session — a person) and IP blocks (ops).

use super::origin;
use crate::http::auth::Session;
use crate::http::body::JsonObject;
use crate::http::client_ip::ClientIp;
use crate::http::problem::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::service::audit::{self, Event};
use crate::service::users::{self, NewUser};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phase1_core::error::FieldError;
use serde_json::{json, Value};

/// The provisioning answer: never cached by anyone.
fn provisioned(status: StatusCode, p: &users::Provisioned) -> Response {
    let mut res = (
        status,
        Json(json!({
            "email": p.email,
            "role": p.role,
            "provisioning_uri": p.provisioning_uri,
            "note": "the provisioning URI is shown this once: add it to an authenticator app now",
        })),
    )
        .into_response();
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

/// `GET /api/admin/users`.
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let users = users::list(&state).await?;
    Ok(Json(json!({"count": users.len(), "users": users})))
}

/// `POST /api/admin/users`: 201 with the provisioning URI, shown once.
pub async fn create(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    ip: Option<Extension<ClientIp>>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let new = NewUser::parse(&body).map_err(ApiError::validation)?;
    let origin = origin("/api/admin/users", ip);
    let p = users::create(&state, new, &session.email, &origin).await?;
    Ok(provisioned(StatusCode::CREATED, &p))
}

/// `POST /api/admin/users/{email}/reset-mfa`.
pub async fn reset_mfa(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    ip: Option<Extension<ClientIp>>,
    Path(email): Path<String>,
) -> ApiResult<Response> {
    let email = users::path_email(&email)?;
    let origin = origin("/api/admin/users/{email}/reset-mfa", ip);
    let p = users::reset_mfa(&state, &email, &session.email, &origin).await?;
    Ok(provisioned(StatusCode::OK, &p))
}

/// `POST /api/admin/users/{email}/unlock`: lifts the account's sign-in lock and forgets its
/// failures; 404 when it had neither.
pub async fn unlock(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    ip: Option<Extension<ClientIp>>,
    Path(email): Path<String>,
) -> ApiResult<Json<Value>> {
    let email = users::path_email(&email)?;
    let origin = origin("/api/admin/users/{email}/unlock", ip);
    if !users::unlock(&state, &email, &session.email, &origin).await? {
        return Err(ApiError::not_found(format!(
            "{} has no sign-in lock or failures",
            email.as_str()
        )));
    }
    Ok(Json(json!({"email": email.as_str(), "unlocked": true})))
}

/// `DELETE /api/admin/users/{email}`: disables the user, revokes their sessions.
pub async fn disable(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    ip: Option<Extension<ClientIp>>,
    Path(email): Path<String>,
) -> ApiResult<Json<Value>> {
    let email = users::path_email(&email)?;
    let origin = origin("/api/admin/users/{email}", ip);
    let user = users::disable(&state, &email, &session.email, &origin).await?;
    Ok(Json(json!({"user": user, "sessions_revoked": true})))
}

/// `DELETE /api/admin/ip-blocks/{ip}`: lifts a block (and forgets the violations); 404 when
/// the address is not blocked. An IPv6 address (or `<network>/64`, `/` written `%2F`) lifts
/// the block of its /64, the unit clients are limited in.
pub async fn unblock(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    client: Option<Extension<ClientIp>>,
    Path(ip): Path<String>,
) -> ApiResult<Json<Value>> {
    let parsed: std::net::IpAddr = ip.trim().trim_end_matches("/64").parse().map_err(|_| {
        ApiError::validation(vec![FieldError::new(
            "ip",
            "must be an IPv4 or IPv6 address (an IPv6 client is blocked as its /64)",
        )])
    })?;
    let ip = crate::http::client_ip::limit_key(parsed);
    if !state.stores.kv.unblock(&ip).await? {
        return Err(ApiError::not_found(format!("{ip} is not blocked")));
    }
    let origin = origin("/api/admin/ip-blocks/{ip}", client);
    audit::record(
        &state,
        &origin,
        Event::new("ip.unblock", &session.email)
            .subject(&ip)
            .change(json!({"blocked": true}), json!({"blocked": false})),
    )
    .await;
    Ok(Json(json!({"ip": ip, "unblocked": true})))
}
