//! The web UI's files as `phase1 serve` serves them: the pages at their clean URLs and screen
//! URLs, the same headers as `vercel.json` gives them on Vercel, compression and revalidation,
//! and the weight and depth of each screen's first load.

use super::Env;
use crate::harness::cli::workspace_root;
use crate::harness::Backend;
use regex::Regex;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The screens: URL → the page file that draws it.
const SCREENS: &[(&str, &str)] = &[
    ("/", "index.html"),
    ("/login", "login.html"),
    ("/projects", "projects.html"),
    ("/projects/new", "project.html"),
    ("/projects/0123abcd", "project.html"),
    ("/runs", "runs.html"),
    ("/runs/0123abcd", "run.html"),
    ("/runs/0123abcd/structures/3", "structure.html"),
    ("/compare", "compare.html"),
    ("/ops", "ops.html"),
    ("/ops/flags", "ops/flags.html"),
    ("/ops/audit", "ops/audit.html"),
    ("/ops/monitors", "ops/monitors.html"),
    ("/ops/users", "ops/users.html"),
];

/// Our own JS and CSS a screen may load first, compressed (vendored libraries apart).
const FIRST_LOAD_BUDGET: usize = 100 * 1024;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

fn public(path: &str) -> String {
    let file = workspace_root().join("public").join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The headers `vercel.json` gives `path`: every rule whose source matches, in order, a
/// later rule's value replacing an earlier one's for the same key.
fn vercel_headers(config: &Value, path: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for rule in config["headers"].as_array().expect("headers") {
        let source = rule["source"].as_str().expect("source");
        let re = Regex::new(&format!("^{source}$")).expect("a source pattern");
        if re.is_match(path) {
            for h in rule["headers"].as_array().expect("headers of a rule") {
                out.insert(
                    h["key"].as_str().expect("key").to_ascii_lowercase(),
                    h["value"].as_str().expect("value").to_string(),
                );
            }
        }
    }
    out
}

fn assert_vercel_headers(config: &Value, path: &str, got: &HeaderMap) {
    let want = vercel_headers(config, path);
    assert!(
        want.contains_key("content-security-policy"),
        "vercel.json gives {path} no Content-Security-Policy"
    );
    for (key, value) in &want {
        assert_eq!(
            got.get(key).and_then(|v| v.to_str().ok()),
            Some(value.as_str()),
            "{path}: {key} differs from vercel.json"
        );
    }
}

/// Every screen and file is served with the headers vercel.json gives it on Vercel; pages
/// have clean URLs; files are compressed and revalidated by ETag.
pub async fn web_pages_match_vercel(backend: Backend) {
    let env = Env::start(backend, &[]);
    let base = env.base().to_string();
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("vercel.json")).expect("vercel.json"),
    )
    .expect("vercel.json is JSON");
    let http = http();

    for (url, file) in SCREENS {
        let res = http
            .get(format!("{base}{url}"))
            .send()
            .await
            .expect("a page");
        assert_eq!(res.status(), 200, "{url}");
        assert_vercel_headers(&config, url, res.headers());
        assert_eq!(
            res.headers()["content-type"],
            "text/html; charset=utf-8",
            "{url}"
        );
        assert_eq!(res.headers()["cache-control"], "no-cache", "{url}");
        let body = res.text().await.expect("the page");
        assert_eq!(body, public(file), "{url} is {file}");
    }
    // Files, the API and the probes: vercel.json's headers too (the API's own policy).
    for url in [
        "/css/app.css",
        "/js/api.js",
        "/vendor/chart-4.6.1.umd.min.js",
        "/favicon.svg",
        "/api/phase1/health",
        "/api/phase1/nothing-here",
        "/healthz",
        "/readyz",
        "/health",
    ] {
        let res = http
            .get(format!("{base}{url}"))
            .send()
            .await
            .expect("an answer");
        assert!(
            res.status() == 200 || res.status() == 404,
            "{url}: {}",
            res.status()
        );
        assert_vercel_headers(&config, url, res.headers());
    }
    // Unknown paths outside the API stay the API's JSON 404.
    let res = http
        .get(format!("{base}/no-such-screen"))
        .send()
        .await
        .expect("404");
    assert_eq!(res.status(), 404);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("json"));

    // Clean URLs: a page asked for by its file name redirects to its URL.
    for (from, to) in [
        ("/login.html", "/login"),
        ("/index.html", "/"),
        ("/ops/flags.html", "/ops/flags"),
    ] {
        let res = http
            .get(format!("{base}{from}"))
            .send()
            .await
            .expect("a redirect");
        assert_eq!(res.status(), 308, "{from}");
        assert_eq!(res.headers()["location"], to, "{from}");
    }

    // Compressed on request, and revalidated by ETag.
    let res = http
        .get(format!("{base}/js/api.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("a file");
    assert_eq!(res.headers()["content-encoding"], "gzip");
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let compressed = res.bytes().await.expect("the body").len();
    assert!(
        compressed < public("js/api.js").len(),
        "gzip makes it smaller"
    );
    let res = http
        .get(format!("{base}/js/api.js"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("a revalidation");
    assert_eq!(res.status(), 304);
    let res = http
        .get(format!("{base}/vendor/chart-4.6.1.umd.min.js"))
        .send()
        .await
        .expect("a vendored file");
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
}

/// Local module imports of a script (`import … from "./x.js"` and `import "../y.js"`),
/// resolved against its own path.
fn imports(path: &str, source: &str) -> Vec<String> {
    let re = Regex::new(r#"(?m)^\s*import\s+(?:[^"';]*?\s+from\s+)?["']([^"']+)["']"#).unwrap();
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    re.captures_iter(source)
        .map(|c| resolve(dir, &c[1]))
        .collect()
}

fn resolve(dir: &str, spec: &str) -> String {
    if let Some(abs) = spec.strip_prefix('/') {
        return abs.to_string();
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in spec.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// Every screen's first load: every module it imports (at any depth) is preloaded by the
/// page itself, so no request waits on another more than two deep (the page, then its files
/// at once; then the API); our own JS and CSS weigh under 100 KB compressed.
pub async fn web_first_loads_are_light_and_shallow(backend: Backend) {
    let env = Env::start(backend, &[]);
    let base = env.base().to_string();
    let http = http();
    let attr = Regex::new(r#"<(?:script|link)[^>]*?(?:src|href)="(/[^"]+)"[^>]*>"#).unwrap();
    for (url, file) in SCREENS {
        let html = public(file);
        let direct: BTreeSet<String> = attr
            .captures_iter(&html)
            .map(|c| c[1].trim_start_matches('/').to_string())
            .collect();
        let mut all: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = direct
            .iter()
            .filter(|f| f.ends_with(".js") || f.ends_with(".mjs"))
            .cloned()
            .collect();
        while let Some(f) = todo.pop() {
            if !all.insert(f.clone()) {
                continue;
            }
            todo.extend(imports(&f, &public(&f)));
        }
        let missing: Vec<&String> = all.iter().filter(|f| !direct.contains(*f)).collect();
        assert!(
            missing.is_empty(),
            "{file}: imports {missing:?} without preloading them (a waterfall)"
        );
        let mut own = 0;
        for f in direct.iter().filter(|f| !f.starts_with("vendor/")) {
            if !(f.ends_with(".js") || f.ends_with(".css")) {
                continue;
            }
            let res = http
                .get(format!("{base}/{f}"))
                .header("accept-encoding", "gzip")
                .send()
                .await
                .expect("a file");
            assert_eq!(res.status(), 200, "{url}: /{f}");
            own += res.bytes().await.expect("the body").len();
        }
        assert!(
            own < FIRST_LOAD_BUDGET,
            "{url}: {own} bytes of our own JS and CSS, compressed"
        );
    }
}
