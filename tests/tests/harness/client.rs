//! The HTTP client of the tests. Every answer is checked for the envelope every response
//! must carry (api.md, Conventions): `X-Request-ID`, `X-Commit-SHA`, `X-Build-ID`,
//! `X-Ruleset-Version`, `X-Env`, and for errors an RFC 9457 problem document whose
//! `request_id` is the header's.

use super::{token, ADMIN_TOKEN, BUILD_ID, COMMIT_SHA, RULESET_VERSION};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::Value;
use std::time::Duration;

/// The longest any single request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Who a request is sent as.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credentials.
    Anonymous,
    /// `X-Admin-Token` (ops, and an admin session outside prod).
    Admin,
    /// `Authorization: Bearer` with this access token.
    Bearer(String),
}

impl Auth {
    /// A fresh analyst: their email and a bearer token.
    pub fn analyst() -> (String, Auth) {
        let (email, token) = token::new_analyst();
        (email, Auth::Bearer(token))
    }
}

/// A client for one server, as one caller.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    auth: Auth,
    env: &'static str,
}

/// One answer, read in full.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub text: String,
    /// The body as JSON (`Null` when it is empty or not JSON).
    pub json: Value,
}

impl Api {
    /// A client for the server at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str, auth: Auth) -> Api {
        Api {
            http: client(None),
            base: base.to_string(),
            auth,
            env: "dev",
        }
    }

    /// The same caller, connecting from the loopback address `ip` (any of 127.0.0.0/8), so
    /// the server sees another client address.
    pub fn connecting_from(&self, ip: std::net::IpAddr) -> Api {
        Api {
            http: client(Some(ip)),
            ..self.clone()
        }
    }

    /// The same caller, expecting `X-Env: env` on every answer.
    pub fn expecting_env(&self, env: &'static str) -> Api {
        Api {
            env,
            ..self.clone()
        }
    }

    /// The same server, as another caller.
    pub fn as_caller(&self, auth: Auth) -> Api {
        Api {
            auth,
            ..self.clone()
        }
    }

    /// A request to `path`, with this caller's credentials.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let rb = self.http.request(method, format!("{}{path}", self.base));
        match &self.auth {
            Auth::Anonymous => rb,
            Auth::Admin => rb.header("x-admin-token", ADMIN_TOKEN),
            Auth::Bearer(t) => rb.bearer_auth(t),
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(Method::GET, path)).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.request(Method::POST, path).json(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.request(Method::DELETE, path)).await
    }

    /// Sends a request, reads the answer and checks its envelope.
    pub async fn send(&self, rb: RequestBuilder) -> Reply {
        let res = rb.send().await.expect("the server answers");
        let status = res.status().as_u16();
        let path = res.url().path().to_string();
        let headers = res.headers().clone();
        let text = res.text().await.expect("the body reads");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        let reply = Reply {
            status,
            headers,
            text,
            json,
        };
        reply.check_envelope(&path, self.env);
        reply
    }
}

fn client(local: Option<std::net::IpAddr>) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .no_proxy()
        .local_address(local)
        .build()
        .expect("an HTTP client")
}

impl Reply {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `X-Request-ID`.
    pub fn request_id(&self) -> &str {
        self.header("x-request-id").unwrap_or_default()
    }

    /// The headers every response carries, and the problem shape of every error (but the
    /// readiness document, whose 503 reports the components instead).
    fn check_envelope(&self, path: &str, env: &str) {
        let what = format!("HTTP {} answer {}", self.status, self.snippet());
        assert!(!self.request_id().is_empty(), "{what}: no X-Request-ID");
        for (name, want) in [
            ("x-commit-sha", COMMIT_SHA),
            ("x-build-id", BUILD_ID),
            ("x-ruleset-version", RULESET_VERSION),
            ("x-env", env),
        ] {
            assert_eq!(self.header(name), Some(want), "{what}: header {name}");
        }
        if self.status >= 400 && path != "/readyz" {
            self.check_problem(&what);
        }
    }

    /// An error body is an RFC 9457 problem document with a code and the request id.
    fn check_problem(&self, what: &str) {
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/problem+json"),
            "{what}: content type {ct:?}, want application/problem+json"
        );
        let p = &self.json;
        for field in ["type", "title", "detail"] {
            assert!(p[field].is_string(), "{what}: problem without {field}");
        }
        assert_eq!(p["status"].as_u64(), Some(u64::from(self.status)), "{what}");
        let code = p["code"].as_str().unwrap_or_default();
        assert!(
            !code.is_empty()
                && code
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
            "{what}: code {code:?} is not UPPER_SNAKE"
        );
        assert_eq!(
            p["request_id"].as_str(),
            Some(self.request_id()),
            "{what}: request_id differs from X-Request-ID"
        );
        assert!(p["errors"].is_array(), "{what}: errors is not a list");
    }

    /// The value of the `Set-Cookie` named `name`, with its attributes.
    pub fn set_cookie(&self, name: &str) -> Option<(String, String)> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                let (pair, attributes) = c.split_once(';').unwrap_or((c, ""));
                let value = pair.strip_prefix(name)?.strip_prefix('=')?;
                Some((value.to_string(), attributes.trim().to_string()))
            })
    }

    /// The start of the body, for messages.
    pub fn snippet(&self) -> String {
        self.text.chars().take(600).collect()
    }

    /// Asserts the status; returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status,
            status,
            "want HTTP {status}, got {}: {}",
            self.status,
            self.snippet()
        );
        &self.json
    }

    /// Asserts an error with this status and problem `code`; returns the problem.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> &Value {
        self.expect(status);
        assert_eq!(
            self.json["code"].as_str(),
            Some(code),
            "problem code: {}",
            self.snippet()
        );
        &self.json
    }

    /// The `field` of every entry of a problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.json["errors"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|x| x["field"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}
