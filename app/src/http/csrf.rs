//! Cross-site request refusal: the second defence against CSRF, beside the session cookies'
//! `SameSite=Strict`.
//!
//! `SameSite` keeps cookies off requests from another *site*, but a sibling subdomain of the
//! same registrable domain is the same site, some clients ignore the attribute, and any
//! content type is read as JSON (a `text/plain` form can post valid JSON). So every request
//! with an unsafe method (anything but GET, HEAD and OPTIONS) that a browser could send on
//! its own — one that does not authenticate with `Authorization: Bearer` or `X-Admin-Token`,
//! headers no cross-origin page can set without a CORS preflight — is refused (403
//! `CROSS_SITE_REQUEST`) when the browser says it comes from elsewhere:
//!
//! - `Sec-Fetch-Site: cross-site` or `same-site`, unless its `Origin` is an allowed CORS
//!   origin (`PHASE1_CORS_ORIGINS`: those are trusted by configuration);
//! - an `Origin` that is neither this server's own (its `Host`, either scheme) nor an
//!   allowed CORS origin (`Origin: null` included).
//!
//! A request with neither header is not from a browser (curl with a cookie jar, scripts,
//! server-to-server calls) and passes, so cookie-jar commands keep working. The sign-in
//! routes are covered too (they carry no session, but a cross-site login would sign the
//! victim in as someone else).

use super::problem::ApiError;
use super::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The middleware.
pub async fn refuse_cross_site(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    match verdict(req.method(), req.headers(), &state.config.cors_origins) {
        Ok(()) => next.run(req).await,
        Err(why) => ApiError::new(
            StatusCode::FORBIDDEN,
            "CROSS_SITE_REQUEST",
            "Cross-site request refused",
            why,
        )
        .into_response(),
    }
}

/// Whether a request may go on; the reason when it may not.
pub fn verdict(method: &Method, headers: &HeaderMap, cors: &[String]) -> Result<(), String> {
    let safe = [Method::GET, Method::HEAD, Method::OPTIONS].contains(method);
    let by_header = headers.contains_key("x-admin-token")
        || super::auth::bearer(headers).is_some_and(|t| !t.is_empty());
    if safe || by_header {
        return Ok(());
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let trusted = origin.is_some_and(|o| cors.iter().any(|c| c == o));
    let own = origin.is_some_and(|o| own_origin(o, text("host")));
    if let Some(site) = text("sec-fetch-site") {
        if (site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site"))
            && !trusted
        {
            return Err(format!(
                "a {site} request from a browser cannot change state here (Sec-Fetch-Site)"
            ));
        }
    }
    match origin {
        Some(o) if !own && !trusted => Err(format!(
            "requests from the origin {o:?} cannot change state here (it is not this site nor \
             one of PHASE1_CORS_ORIGINS)"
        )),
        _ => Ok(()),
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the host the request was sent to.
fn own_origin(origin: &str, host: Option<&str>) -> bool {
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match (authority, host) {
        (Some(a), Some(h)) => !a.is_empty() && a.eq_ignore_ascii_case(h.trim()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("api.example.com"));
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    fn post(pairs: &[(&'static str, &str)]) -> Result<(), String> {
        let cors = ["https://app.example.com".to_string()];
        verdict(&Method::POST, &headers(pairs), &cors)
    }

    /// L6 of the 2026-12-03 audit: a cross-origin `text/plain` POST with the cookie was
    /// accepted, and so was a logout with `Sec-Fetch-Site: cross-site`.
    #[test]
    fn browsers_from_elsewhere_are_refused_on_unsafe_methods() {
        assert!(post(&[("origin", "https://evil.example")]).is_err());
        assert!(post(&[("origin", "null")]).is_err());
        assert!(post(&[("sec-fetch-site", "cross-site")]).is_err());
        assert!(post(&[("sec-fetch-site", "same-site")]).is_err());
        assert!(post(&[
            ("origin", "https://api.example.com"),
            ("sec-fetch-site", "cross-site")
        ])
        .is_err());
        assert!(verdict(
            &Method::DELETE,
            &headers(&[("origin", "https://evil.example")]),
            &[]
        )
        .is_err());
    }

    #[test]
    fn this_site_allowed_origins_scripts_and_safe_methods_pass() {
        assert!(post(&[]).is_ok(), "curl and scripts send neither header");
        assert!(post(&[("origin", "https://api.example.com")]).is_ok());
        assert!(post(&[("origin", "http://API.example.com")]).is_ok());
        assert!(post(&[
            ("origin", "https://api.example.com"),
            ("sec-fetch-site", "same-origin")
        ])
        .is_ok());
        assert!(post(&[("sec-fetch-site", "none")]).is_ok());
        assert!(post(&[
            ("origin", "https://app.example.com"),
            ("sec-fetch-site", "same-site")
        ])
        .is_ok());
        assert!(post(&[
            ("origin", "https://evil.example"),
            ("authorization", "Bearer abc")
        ])
        .is_ok());
        assert!(post(&[("origin", "https://evil.example"), ("x-admin-token", "t")]).is_ok());
        assert!(verdict(
            &Method::GET,
            &headers(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site")
            ]),
            &[]
        )
        .is_ok());
        assert!(post(&[("origin", "https://api.example.com.evil.example")]).is_err());
    }
}
