//! The web UI's files (`public/`), served by `phase1 serve` the way Vercel serves them from its
//! CDN: clean URLs (`/login` is `login.html`, `/login.html` redirects to `/login`), the screen
//! rewrites of `vercel.json` (`/runs/{run_id}` is `run.html`, …), and the same security
//! headers (`vercel.json` "headers"; a black-box test checks that the two agree).
//!
//! Release builds embed the files in the binary; debug builds read them from `public/`;
//! `PHASE1_PUBLIC_DIR` serves another directory (working on the UI without a rebuild).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use rust_embed::Embed;
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::OnceLock;
use tower::ServiceExt;

#[derive(Embed)]
#[folder = "../public"]
struct Public;

/// The headers `vercel.json` sets on every path.
pub const COMMON_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains; preload",
    ),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    ),
];

/// The Content-Security-Policy of the pages and their files: only this origin, no inline
/// script or style, no `eval`, no framing.
pub const PAGE_CSP: &str = "default-src 'self'; base-uri 'self'; form-action 'self'; \
                            frame-ancestors 'none'; object-src 'none'";

/// The Content-Security-Policy of the API and the probes: nothing at all.
pub const API_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The screens whose URLs carry an id, and the page that draws each (`vercel.json`
/// "rewrites" hold the same list, `:name` for `{name}`).
pub const SCREENS: &[(&str, &str)] = &[
    ("/projects/{id}", "project.html"),
    ("/runs/{run_id}", "run.html"),
    ("/runs/{run_id}/structures/{rank}", "structure.html"),
];

/// The app's routes outside `/api/`: the probes and the operators' aliases.
pub const APP_PATHS_OUTSIDE_API: &[&str] =
    &["/healthz", "/readyz", "/health", "/auth/login", "/auth/mfa"];

/// The Content-Security-Policy `vercel.json` gives `path`.
pub fn csp_for(path: &str) -> &'static str {
    if path.starts_with("/api/") || APP_PATHS_OUTSIDE_API.contains(&path) {
        API_CSP
    } else {
        PAGE_CSP
    }
}

/// Middleware: the security headers of `vercel.json` on every response.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let csp = csp_for(req.uri().path());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (name, value) in COMMON_HEADERS {
        h.insert(*name, HeaderValue::from_static(value));
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    res
}

/// Where the files come from: built into the binary, or a directory on disk
/// (`PHASE1_PUBLIC_DIR`, for working on the UI without a rebuild).
#[derive(Debug, Clone, Default)]
pub struct Files {
    dir: Option<PathBuf>,
}

/// One file, ready to send.
#[derive(Clone)]
struct Found {
    name: String,
    data: Cow<'static, [u8]>,
    etag: String,
}

impl Files {
    /// The files built into the binary (`public/` at build time).
    pub fn embedded() -> Files {
        Files { dir: None }
    }

    /// The files of `dir`, read on every request.
    pub fn from_dir(dir: PathBuf) -> Files {
        Files { dir: Some(dir) }
    }

    fn exists(&self, name: &str) -> bool {
        match &self.dir {
            None => Public::get(name).is_some(),
            Some(dir) => dir.join(name).is_file(),
        }
    }

    fn get(&self, name: &str) -> Option<Found> {
        let (data, digest): (Cow<'static, [u8]>, [u8; 32]) = match &self.dir {
            None => {
                let f = Public::get(name)?;
                let digest = f.metadata.sha256_hash();
                (f.data, digest)
            }
            Some(dir) => {
                let bytes = std::fs::read(dir.join(name)).ok()?;
                let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes).into();
                (Cow::Owned(bytes), digest)
            }
        };
        Some(Found {
            name: name.to_string(),
            data,
            etag: format!("\"{}\"", hex::encode(&digest[..16])),
        })
    }
}

/// Middleware: answers GET and HEAD requests for pages and files of `public/`; everything
/// else (the API, the probes, unknown paths) goes on to the app.
pub async fn site(State(files): State<Files>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    match locate(req.uri().path(), &|name| files.exists(name)) {
        Located::File(name) => match files.get(&name) {
            Some(found) => {
                let mut req = req;
                req.extensions_mut().insert(found);
                compressed()
                    .clone()
                    .oneshot(req)
                    .await
                    .unwrap_or_else(|never| match never {})
            }
            None => next.run(req).await,
        },
        Located::Redirect(to) => match HeaderValue::from_str(&to) {
            Ok(location) => (
                StatusCode::PERMANENT_REDIRECT,
                [(header::LOCATION, location)],
            )
                .into_response(),
            Err(_) => next.run(req).await,
        },
        Located::Elsewhere => next.run(req).await,
    }
}

/// Where a path leads.
#[derive(Debug, PartialEq, Eq)]
enum Located {
    /// A file of `public/`.
    File(String),
    /// The clean URL of a page asked for by its file name.
    Redirect(String),
    /// Not a page or file: the app's.
    Elsewhere,
}

fn locate(path: &str, exists: &dyn Fn(&str) -> bool) -> Located {
    if path.starts_with("/api/") || path.contains("..") || path.contains("//") {
        return Located::Elsewhere;
    }
    let name = path.trim_start_matches('/');
    if name.is_empty() {
        return Located::File("index.html".into());
    }
    if let Some(page) = name.strip_suffix(".html") {
        if exists(name) {
            let clean = if page == "index" { "" } else { page };
            return Located::Redirect(format!("/{clean}"));
        }
        return Located::Elsewhere;
    }
    if exists(name) {
        return Located::File(name.into());
    }
    let page = format!("{}.html", name.trim_end_matches('/'));
    if exists(&page) {
        return Located::File(page);
    }
    SCREENS
        .iter()
        .find(|(pattern, _)| crate::http::matches_path(pattern, path))
        .map_or(Located::Elsewhere, |(_, page)| {
            Located::File((*page).into())
        })
}

/// The file responder, with gzip for clients that accept it.
fn compressed() -> &'static Router {
    static FILES: OnceLock<Router> = OnceLock::new();
    FILES.get_or_init(|| {
        Router::new()
            .fallback(file)
            .layer(tower_http::compression::CompressionLayer::new())
    })
}

async fn file(req: Request) -> Response {
    let Some(found) = req.extensions().get::<Found>().cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let cache = if found.name.starts_with("vendor/") {
        // Vendored files carry their version in their name.
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&found.etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&found.name)),
    );
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == found.etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, found.data.into_owned()).into_response()
}

/// The content type of a file of `public/`, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("md") => "text/markdown; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ if name.ends_with("SHA256SUMS") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locate(path: &str) -> Located {
        let files = Files::embedded();
        super::locate(path, &|name| files.exists(name))
    }

    #[test]
    fn paths_lead_to_pages_files_or_the_app() {
        assert_eq!(locate("/"), Located::File("index.html".into()));
        assert_eq!(locate("/login"), Located::File("login.html".into()));
        assert_eq!(locate("/login.html"), Located::Redirect("/login".into()));
        assert_eq!(locate("/index.html"), Located::Redirect("/".into()));
        assert_eq!(locate("/ops/flags"), Located::File("ops/flags.html".into()));
        assert_eq!(
            locate("/projects/new"),
            Located::File("project.html".into())
        );
        assert_eq!(locate("/runs/abc"), Located::File("run.html".into()));
        assert_eq!(
            locate("/runs/abc/structures/3"),
            Located::File("structure.html".into())
        );
        assert_eq!(locate("/js/api.js"), Located::File("js/api.js".into()));
        assert_eq!(locate("/api/phase1/health"), Located::Elsewhere);
        assert_eq!(locate("/healthz"), Located::Elsewhere);
        assert_eq!(locate("/nothing-here"), Located::Elsewhere);
        assert_eq!(locate("/js/../Cargo.toml"), Located::Elsewhere);
        assert_eq!(locate("//etc/passwd"), Located::Elsewhere);
    }

    #[test]
    fn the_api_and_probes_get_the_empty_policy_and_pages_their_own() {
        assert_eq!(csp_for("/api/phase1/health"), API_CSP);
        assert_eq!(csp_for("/healthz"), API_CSP);
        assert_eq!(csp_for("/health"), API_CSP);
        assert_eq!(csp_for("/auth/login"), API_CSP);
        assert_eq!(csp_for("/runs/x"), PAGE_CSP);
        assert_eq!(csp_for("/"), PAGE_CSP);
    }
}
