//! The deployment descriptors agree with the route table and with each other: every route of
//! `phase1_app::http::specs()` reaches a function on Vercel (`vercel.json` rewrites) and on
//! Lambda (`template.yaml` HttpApi events), the same route group on both, and every function
//! named there is a binary of this workspace.

use serde_json::Value;
use std::collections::BTreeMap;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A concrete path for a route pattern (`{name}` segments become `x`).
fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether a Vercel rewrite source (`:name` one segment, `:name*` the rest) matches `path`.
fn vercel_matches(source: &str, path: &str) -> bool {
    let (src, segs): (Vec<&str>, Vec<&str>) =
        (source.split('/').collect(), path.split('/').collect());
    for (i, s) in src.iter().enumerate() {
        if s.starts_with(':') && s.ends_with('*') {
            return true;
        }
        match segs.get(i) {
            Some(p) if s.starts_with(':') || s == p => {}
            _ => return false,
        }
    }
    src.len() == segs.len()
}

/// Whether an HTTP API route path (`{name}` one segment) matches `path`.
fn sam_matches(route: &str, path: &str) -> bool {
    let (r, p): (Vec<&str>, Vec<&str>) = (route.split('/').collect(), path.split('/').collect());
    r.len() == p.len() && r.iter().zip(&p).all(|(a, b)| a.starts_with('{') || a == b)
}

/// The Vercel function (`api/<name>`) a public path is rewritten to.
fn vercel_function(config: &Value, path: &str) -> String {
    config["rewrites"]
        .as_array()
        .expect("rewrites")
        .iter()
        .find(|r| vercel_matches(r["source"].as_str().unwrap_or_default(), path))
        .and_then(|r| r["destination"].as_str())
        .unwrap_or_else(|| panic!("vercel.json: no rewrite for {path}"))
        .trim_start_matches("/api/")
        .to_string()
}

/// The functions of template.yaml: logical id → (binary, HttpApi paths, has a `$default`
/// event). Reads the template's own layout: resources at two spaces under `Resources:`, one
/// event per line.
fn sam_functions(template: &str) -> BTreeMap<String, (String, Vec<String>, bool)> {
    let mut out: BTreeMap<String, (String, Vec<String>, bool)> = BTreeMap::new();
    let mut current = None;
    let mut in_resources = false;
    for line in template.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_resources = line == "Resources:";
            current = None;
            continue;
        }
        if !in_resources {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            if !name.starts_with(' ') && name.ends_with("Function") {
                current = Some(name.to_string());
                out.entry(name.to_string()).or_default();
            } else if !name.starts_with(' ') {
                current = None;
            }
            continue;
        }
        let Some(f) = current.as_ref().and_then(|c| out.get_mut(c)) else {
            continue;
        };
        let t = line.trim();
        if let Some(bin) = t.strip_prefix("Binary: ") {
            f.0 = bin.to_string();
        } else if t.contains("Type: HttpApi") {
            match t.split("Path: ").nth(1) {
                Some(rest) => f.1.push(
                    rest.trim_end_matches('}')
                        .trim_end_matches('}')
                        .trim()
                        .trim_matches('"')
                        .to_string(),
                ),
                None => f.2 = true,
            }
        }
    }
    out
}

#[test]
fn every_route_reaches_the_same_group_on_vercel_and_on_lambda() {
    let vercel: Value = serde_json::from_str(&read("vercel.json")).expect("vercel.json is JSON");
    let sam = sam_functions(&read("template.yaml"));
    let defaults: Vec<&String> = sam.iter().filter(|(_, f)| f.2).map(|(n, _)| n).collect();
    assert_eq!(defaults.len(), 1, "one $default route: {defaults:?}");

    for spec in phase1_app::http::specs() {
        let path = concrete(spec.path);
        let on_vercel = vercel_function(&vercel, &path);
        let on_lambda = sam
            .iter()
            .find(|(_, f)| f.1.iter().any(|r| sam_matches(r, &path)))
            .map(|(n, _)| n)
            .unwrap_or(defaults[0]);
        assert_eq!(
            on_lambda.trim_end_matches("Function").to_lowercase(),
            on_vercel,
            "{} {}: Vercel sends it to api/{on_vercel}, Lambda to {on_lambda}",
            spec.method,
            spec.path
        );
    }
}

#[test]
fn every_function_named_is_a_binary_of_the_workspace() {
    let vercel: Value = serde_json::from_str(&read("vercel.json")).expect("vercel.json is JSON");
    let root = read("Cargo.toml");
    let lambda = read("lambda/Cargo.toml");

    let functions = vercel["functions"].as_object().expect("functions");
    for file in functions.keys() {
        assert!(
            root.contains(&format!("path = \"{file}\"")),
            "vercel.json names {file}, which is no [[bin]] of the root package"
        );
    }
    for r in vercel["rewrites"].as_array().expect("rewrites") {
        let dest = r["destination"].as_str().expect("destination");
        if dest.ends_with(".html") {
            // A screen of the web UI: a page of public/ (the next test checks them).
            continue;
        }
        let file = format!("{}.rs", dest.trim_start_matches('/'));
        assert!(functions.contains_key(&file), "{dest} is not a function");
    }
    for (name, (bin, _, _)) in sam_functions(&read("template.yaml")) {
        assert!(
            lambda.contains(&format!("name = \"{bin}\"")),
            "{name} builds {bin:?}, which is no [[bin]] of phase1-lambda"
        );
    }
}

#[test]
fn the_crons_reach_a_function_and_the_worker_cron_is_a_get_route() {
    let vercel: Value = serde_json::from_str(&read("vercel.json")).expect("vercel.json is JSON");
    let crons = vercel["crons"].as_array().expect("crons");
    for c in crons {
        vercel_function(&vercel, c["path"].as_str().expect("path"));
    }
    let worker = "/api/phase1/internal/worker";
    assert!(crons
        .iter()
        .any(|c| c["path"] == worker && c["schedule"] == "* * * * *"));
    assert!(
        phase1_app::http::specs()
            .iter()
            .any(|s| s.method == "GET" && s.path == worker),
        "Vercel crons call with GET"
    );
    let template = read("template.yaml");
    assert!(template.contains("Type: ScheduleV2") && template.contains("rate(1 minute)"));
}

#[test]
fn the_screens_are_rewritten_to_the_same_pages_on_vercel_and_in_phase1_serve() {
    let vercel: Value = serde_json::from_str(&read("vercel.json")).expect("vercel.json is JSON");
    assert_eq!(
        vercel["cleanUrls"], true,
        "pages are served at their clean URLs"
    );
    let screens: Vec<(String, String)> = vercel["rewrites"]
        .as_array()
        .expect("rewrites")
        .iter()
        .filter_map(|r| {
            let source = r["source"].as_str()?;
            let dest = r["destination"].as_str()?;
            dest.ends_with(".html").then(|| {
                let pattern = source
                    .split('/')
                    .map(|s| match s.strip_prefix(':') {
                        Some(name) => format!("{{{name}}}"),
                        None => s.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                (pattern, dest.trim_start_matches('/').to_string())
            })
        })
        .collect();
    let served: Vec<(String, String)> = phase1_app::http::web::SCREENS
        .iter()
        .map(|(p, f)| (p.to_string(), f.to_string()))
        .collect();
    assert_eq!(screens, served, "vercel.json rewrites and web::SCREENS");
    for (_, page) in &screens {
        let file = format!("{}/public/{page}", env!("CARGO_MANIFEST_DIR"));
        assert!(std::path::Path::new(&file).is_file(), "{file} is missing");
    }
}
