//! Flag routes (ops): read with an ETag, versioned and audited writes, the allowlist, the
//! evaluation explained, the audit log.
//!
//! The write routes check their keys before anything else (api.md: "unknown or
//! non-snake_case keys → 400 listing invalid_keys (checked before version or permission)"),
//! so their guard leaves authorisation to the handler, which does it right after.

use super::{origin, PageQuery};
use crate::flags::{self as model, invalid_keys, parse_changes, Caller, FlagChange};
use crate::http::auth::{authorize, AuthLevel, Session};
use crate::http::body::JsonObject;
use crate::http::client_ip::ClientIp;
use crate::http::problem::{ApiError, ApiResult};
use crate::http::state::AppState;
use crate::service::flags;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use phase1_core::error::FieldError;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A JSON answer with `ETag: "<version>"`.
pub fn with_etag(version: u64, body: Value) -> Response {
    let mut res = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        res.headers_mut().insert(axum::http::header::ETAG, v);
    }
    res
}

/// The version of `If-Match` (`3`, `"3"` or `W/"3"`): None when absent (or `*`: the write
/// applies to the current version, recorded as unconditional), 412 when it is not a
/// version at all.
pub fn if_match(headers: &HeaderMap) -> ApiResult<Option<u64>> {
    let Some(raw) = headers
        .get(axum::http::header::IF_MATCH)
        .map(|v| v.to_str().map(str::trim).unwrap_or("?"))
        .filter(|v| !v.is_empty() && *v != "*")
    else {
        return Ok(None);
    };
    raw.trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .map(Some)
        .map_err(|_| {
            ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "VERSION_CONFLICT",
                "Version conflict",
                format!("If-Match {raw:?} is not a current version"),
            )
        })
}

/// 422 VALIDATION_FAILED from `(field, message)` pairs.
pub fn problems(list: Vec<(String, String)>) -> ApiError {
    ApiError::validation(
        list.into_iter()
            .map(|(f, m)| FieldError::new(&f, m))
            .collect(),
    )
}

fn bad_keys(keys: Vec<String>) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "INVALID_KEYS",
        "Invalid keys",
        format!("unknown or non-snake_case keys: {}", keys.join(", ")),
    )
    .with_extension("invalid_keys", json!(keys))
}

/// `GET /api/phase1/flags`: `{version, flags}`, ETag = version.
pub async fn get(State(state): State<AppState>) -> ApiResult<Response> {
    let stored = flags::load(state.stores.doc.as_ref()).await?;
    Ok(with_etag(stored.version, stored.to_json()))
}

/// The changes of a write body (`changes` or `updates`, or the map of changes alone, whose
/// field paths then have no prefix): keys checked first.
fn changes_of(body: &Map<String, Value>) -> ApiResult<(&'static str, &Map<String, Value>)> {
    let wrapped = ["changes", "updates"];
    if !body.is_empty() && !body.keys().any(|k| wrapped.contains(&k.as_str())) {
        let bad = invalid_keys(body);
        if !bad.is_empty() {
            return Err(bad_keys(bad));
        }
        return Ok(("", body));
    }
    let mut bad: Vec<String> = body
        .keys()
        .filter(|k| !wrapped.contains(&k.as_str()))
        .cloned()
        .collect();
    let field = if body.contains_key("changes") {
        "changes"
    } else {
        "updates"
    };
    let Some(Value::Object(changes)) = body.get(field) else {
        if !bad.is_empty() {
            return Err(bad_keys(bad));
        }
        return Err(problems(vec![(
            field.into(),
            "must be an object {flag: true | false | {enabled, admin_only, rollout_percentage, allowlist}}".into(),
        )]));
    };
    bad.extend(invalid_keys(changes));
    if !bad.is_empty() {
        return Err(bad_keys(bad));
    }
    Ok((field, changes))
}

/// `POST /api/phase1/flags` and `POST /api/admin/flags/update`: keys, then ops auth, then
/// If-Match, then values; one versioned write and one audit row.
pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
    uri: axum::http::Uri,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let (field, changes) = changes_of(&body)?;
    let session = ops(&state, &headers, ip.as_ref()).await?;
    let expected = if_match(&headers)?;
    let parsed = parse_changes(changes, field).map_err(problems)?;
    let route = crate::http::route_for("POST", uri.path()).map_or("flags", |r| r.path);
    let applied = flags::update(
        &state,
        &origin(route, ip),
        &session.email,
        "flags.update",
        expected,
        &parsed,
    )
    .await?;
    Ok(Json(json!({
        "version": applied.version,
        "applied": applied.applied,
        "audit_id": applied.audit_id,
    })))
}

async fn ops(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<&Extension<ClientIp>>,
) -> ApiResult<Session> {
    let ip = ip.map(|Extension(ClientIp(ip))| *ip);
    authorize(state, AuthLevel::Ops, headers, ip)
        .await?
        .ok_or_else(ApiError::auth_required)
}

/// `POST /api/admin/allowlist/update`: `{allowlist: [emails], percentage, ips: [CIDRs],
/// flags?}` sets those flags' allowlist and rollout percentage in one versioned change.
pub async fn allowlist(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let known = ["allowlist", "percentage", "ips", "flags"];
    let bad: Vec<String> = body
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    if !bad.is_empty() {
        return Err(bad_keys(bad));
    }
    let expected = if_match(&headers)?;
    let mut errs = Vec::new();
    fn take<T>(r: Result<T, Vec<(String, String)>>, errs: &mut Vec<(String, String)>) -> Option<T> {
        r.map_err(|p| errs.extend(p)).ok()
    }
    let emails = body
        .get("allowlist")
        .map(|v| take(model::emails(v, "allowlist"), &mut errs));
    let ips = body
        .get("ips")
        .map(|v| take(model::networks(v, "ips"), &mut errs));
    let percentage = match body.get("percentage") {
        None => None,
        Some(v) => match model::percentage(v) {
            Ok(p) => Some(p),
            Err(m) => {
                errs.push(("percentage".into(), m));
                None
            }
        },
    };
    let targets: Vec<String> = match body.get("flags") {
        None => crate::service::canary::load(&state).await?.1.controls,
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(
                |(i, f)| match f.as_str().filter(|f| model::FLAGS.contains(f)) {
                    Some(f) => Some(f.to_string()),
                    None => {
                        errs.push((format!("flags[{i}]"), "is not a Phase-1 flag".into()));
                        None
                    }
                },
            )
            .collect(),
        Some(_) => {
            errs.push(("flags".into(), "must be a list of flag names".into()));
            Vec::new()
        }
    };
    if !errs.is_empty() {
        return Err(problems(errs));
    }
    let change = FlagChange {
        rollout_percentage: percentage,
        emails: emails.flatten(),
        ips: ips.flatten(),
        ..FlagChange::default()
    };
    let changes: BTreeMap<String, FlagChange> =
        targets.into_iter().map(|f| (f, change.clone())).collect();
    let applied = flags::update(
        &state,
        &origin("/api/admin/allowlist/update", ip),
        &session.email,
        "flags.allowlist",
        expected,
        &changes,
    )
    .await?;
    Ok(Json(json!({
        "version": applied.version,
        "applied": applied.applied,
        "audit_id": applied.audit_id,
    })))
}

/// `?email&role&ip` of `flags/evaluate`.
#[derive(Debug, Deserialize)]
pub struct EvaluateQuery {
    /// The user's email.
    pub email: Option<String>,
    /// `admin` or `analyst` (default analyst).
    pub role: Option<String>,
    /// The client address.
    pub ip: Option<String>,
}

/// `GET /api/phase1/flags/evaluate`: every flag for that user, with the reason.
pub async fn evaluate(
    State(state): State<AppState>,
    Query(q): Query<EvaluateQuery>,
) -> ApiResult<Json<Value>> {
    let mut errs = Vec::new();
    let email = match q.email.as_deref() {
        None => None,
        Some(e) => match crate::auth::email::Email::parse(e) {
            Ok(e) => Some(e.as_str().to_string()),
            Err(m) => {
                errs.push(("email".to_string(), m));
                None
            }
        },
    };
    let admin = match q.role.as_deref() {
        None | Some("analyst") => false,
        Some("admin") => true,
        Some(_) => {
            errs.push(("role".into(), "must be admin or analyst".into()));
            false
        }
    };
    let ip = match q.ip.as_deref() {
        None => None,
        Some(s) => match s.parse() {
            Ok(ip) => Some(ip),
            Err(_) => {
                errs.push(("ip".into(), format!("{s:?} is not an IP address")));
                None
            }
        },
    };
    if !errs.is_empty() {
        return Err(problems(errs));
    }
    let caller = Caller { email, admin, ip };
    let evaluated = flags::Evaluated::load(state.stores.doc.as_ref(), caller.clone()).await?;
    Ok(Json(json!({
        "version": evaluated.version(),
        "email": caller.email,
        "role": if admin { "admin" } else { "analyst" },
        "ip": caller.ip.map(|i| i.to_string()),
        "flags": evaluated.explained(),
    })))
}

/// `GET /api/phase1/flags/audit`: the audit log, newest first, paginated.
pub async fn audit(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<Value>> {
    let page = page.page();
    let rows = state.stores.doc.list_audit(page).await?;
    Ok(Json(json!({
        "offset": page.offset,
        "limit": page.limit,
        "rows": rows,
    })))
}
