//! Sign-in routes: login, MFA, refresh, logout, me, password. The session is returned both
//! in the body (`access_token`, for API clients sending `Authorization: Bearer`) and as
//! cookies: `phase1_access` (15 minutes, path /) and `phase1_refresh` (24 hours, path
//! /api/auth), both HttpOnly, Secure, SameSite=Strict.
//!
//! Login and MFA also serve curl's cookie jar (`curl -c jar -b jar -d "email=…" …`): they take
//! form-encoded bodies, login takes `username` for `email`, and login sets the MFA token as
//! a cookie too (`phase1_mfa`, 5 minutes, HttpOnly, Secure, SameSite=Strict), which MFA reads
//! when the body carries no `mfa_token`.

use super::origin;
use crate::auth::tokens;
use crate::http::auth::{authorize, cookie, AuthLevel, Session};
use crate::http::body::{required_string, unknown_keys, FormOrJson, JsonObject};
use crate::http::client_ip::ClientIp;
use crate::http::problem::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::service::flags::Evaluated;
use crate::service::sessions::{self, Issued};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phase1_core::error::FieldError;
use serde_json::{json, Map, Value};

/// The access cookie's name.
pub const ACCESS_COOKIE: &str = "phase1_access";
/// The refresh cookie's name.
pub const REFRESH_COOKIE: &str = "phase1_refresh";
/// The cookie that carries the MFA step between login and MFA.
pub const MFA_COOKIE: &str = "phase1_mfa";

/// A `Set-Cookie` value for one of the session cookies (an empty value and age 0 clear it).
fn set_cookie(name: &str, value: &str, path: &str, max_age_s: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age_s}; HttpOnly; Secure; SameSite=Strict"
    ))
    .ok()
}

fn with_cookies(mut res: Response, cookies: [Option<HeaderValue>; 2]) -> Response {
    for c in cookies.into_iter().flatten() {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn session_cookies(issued: &Issued) -> [Option<HeaderValue>; 2] {
    [
        set_cookie(
            ACCESS_COOKIE,
            &issued.access_token,
            "/",
            tokens::ACCESS_TTL_MS / 1000,
        ),
        set_cookie(
            REFRESH_COOKIE,
            issued.refresh.expose(),
            "/api/auth",
            tokens::REFRESH_TTL_MS / 1000,
        ),
    ]
}

/// The answer of a started or refreshed session: the body and both cookies.
fn session_response(issued: &Issued) -> Response {
    let body = json!({
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in(),
        "role": issued.role(),
    });
    with_cookies(Json(body).into_response(), session_cookies(issued))
}

/// Two required string fields, and nothing else.
fn two_strings(body: &Map<String, Value>, a: &str, b: &str) -> ApiResult<(String, String)> {
    let mut errors = unknown_keys(body, &[a, b]);
    let first = required_string(body, a, &mut errors);
    let second = required_string(body, b, &mut errors);
    match (first, second) {
        (Some(x), Some(y)) if errors.is_empty() => Ok((x, y)),
        _ => Err(ApiError::validation(errors)),
    }
}

/// `{email (or username), password}` of a login.
fn credentials(body: &mut Map<String, Value>) -> ApiResult<(String, String)> {
    if let Some(name) = body.remove("username") {
        if body.contains_key("email") {
            return Err(ApiError::validation(vec![FieldError::new(
                "username",
                "give email or username, not both",
            )]));
        }
        body.insert("email".into(), name);
    }
    two_strings(body, "email", "password")
}

/// `POST /api/auth/login` (and `/auth/login`): JSON or form-encoded.
pub async fn login(
    State(state): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    uri: axum::http::Uri,
    FormOrJson(mut body): FormOrJson,
) -> ApiResult<Response> {
    let (email, password) = credentials(&mut body)?;
    let origin = origin(route_of(&uri, "/api/auth/login"), ip);
    let mfa_token = sessions::login(&state, &email, password, &origin).await?;
    let cookie = set_cookie(MFA_COOKIE, &mfa_token, "/", tokens::MFA_TTL_MS / 1000);
    let body = json!({
        "mfa_required": true,
        "mfa_token": mfa_token,
        "expires_in": tokens::MFA_TTL_MS / 1000,
    });
    Ok(with_cookies(Json(body).into_response(), [cookie, None]))
}

/// `POST /api/auth/mfa` (and `/auth/mfa`): JSON or form-encoded; the MFA token from the body,
/// else from login's cookie.
pub async fn mfa(
    State(state): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    FormOrJson(mut body): FormOrJson,
) -> ApiResult<Response> {
    if body.get("mfa_token").is_none_or(Value::is_null) {
        if let Some(token) = cookie(&headers, MFA_COOKIE).filter(|t| !t.is_empty()) {
            body.insert("mfa_token".into(), json!(token));
        }
    }
    let (token, code) = two_strings(&body, "mfa_token", "code")?;
    let origin = origin(route_of(&uri, "/api/auth/mfa"), ip);
    let issued = sessions::mfa(&state, &token, &code, &origin).await?;
    let mut res = session_response(&issued);
    if let Some(cleared) = set_cookie(MFA_COOKIE, "", "/", 0) {
        res.headers_mut().append(header::SET_COOKIE, cleared);
    }
    Ok(res)
}

/// The route pattern a request reached (an alias names itself), for audit rows.
fn route_of(uri: &axum::http::Uri, default: &'static str) -> &'static str {
    crate::http::route_for("POST", uri.path()).map_or(default, |r| r.path)
}

/// `POST /api/auth/refresh`: the refresh cookie rotates.
pub async fn refresh(
    State(state): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let origin = origin("/api/auth/refresh", ip);
    let issued = sessions::refresh(&state, cookie(&headers, REFRESH_COOKIE), &origin).await?;
    Ok(session_response(&issued))
}

/// `POST /api/auth/logout`: 204, the session revoked and its cookies cleared. The route
/// authorises itself: a live access token, or the refresh cookie alone (the session of a
/// user idle for more than the access token's 15 minutes). Without either, 401 — and the
/// cookies are cleared all the same.
pub async fn logout(
    State(state): State<AppState>,
    ip: Option<Extension<ClientIp>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let client = ip.as_ref().map(|Extension(ClientIp(ip))| *ip);
    let refresh = cookie(&headers, REFRESH_COOKIE);
    let session = match authorize(&state, AuthLevel::Session, &headers, client).await {
        Ok(s) => s,
        Err(_) if refresh.is_some() => None,
        Err(e) => return Err(e),
    };
    let origin = origin("/api/auth/logout", ip);
    let signed_in = sessions::logout(&state, session.as_ref(), refresh, &origin).await?;
    let cleared = [
        set_cookie(ACCESS_COOKIE, "", "/", 0),
        set_cookie(REFRESH_COOKIE, "", "/api/auth", 0),
    ];
    if !signed_in {
        return Ok(with_cookies(
            ApiError::auth_required().into_response(),
            cleared,
        ));
    }
    Ok(with_cookies(
        StatusCode::NO_CONTENT.into_response(),
        cleared,
    ))
}

/// `GET /api/auth/me`: the caller and the flags as they evaluate for them.
pub async fn me(
    Extension(session): Extension<Session>,
    Extension(flags): Extension<Evaluated>,
) -> ApiResult<Json<Value>> {
    let on = flags.all();
    Ok(Json(json!({
        "email": session.email,
        "role": session.role,
        "via": session.via,
        "expires_at": session.access.as_ref().map(|c| crate::service::runs::rfc3339(c.exp_ms())),
        "flags": on,
    })))
}

/// `POST /api/auth/password`: 204 with a new session's cookies; every other session ends.
pub async fn password(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    ip: Option<Extension<ClientIp>>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let (current, new) = two_strings(&body, "current_password", "new_password")?;
    let origin = origin("/api/auth/password", ip);
    let issued = sessions::change_password(&state, &session, current, &new, &origin).await?;
    Ok(with_cookies(
        StatusCode::NO_CONTENT.into_response(),
        session_cookies(&issued),
    ))
}
