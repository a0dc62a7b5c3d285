//! The test cases. Each takes the backend it runs on; `blackbox.rs` generates one test per
//! case and backend.

pub mod auth;
pub mod browser;
pub mod documents;
pub mod errors;
pub mod fanout;
pub mod fixtures;
pub mod limits;
pub mod operators;
pub mod ops;
pub mod ready;
pub mod routes;
pub mod runbooks;
pub mod runs;
pub mod security;
pub mod web;
pub mod worker;

pub use auth::*;
pub use browser::*;
pub use documents::*;
pub use errors::*;
pub use fanout::*;
pub use fixtures::*;
pub use limits::*;
pub use operators::*;
pub use ops::*;
pub use ready::*;
pub use routes::*;
pub use runbooks::*;
pub use runs::*;
pub use security::*;
pub use web::*;
pub use worker::*;

use crate::harness::{cli, wait, Api, Auth, Backend, Server, Store};
use serde_json::Value;

/// A server and an admin (dev-bridge) client for it.
pub struct Env {
    /// The server; killed when the env drops.
    server: Server,
    /// A client sending `X-Admin-Token`.
    pub admin: Api,
}

impl Env {
    /// A server on fresh stores of `backend`, with `overrides` in its environment.
    pub fn start(backend: Backend, overrides: &[(&str, &str)]) -> Env {
        Env::over(Server::start(&Store::new(backend), overrides))
    }

    /// The env of an already started server.
    pub fn over(server: Server) -> Env {
        let admin = Api::new(&server.base, Auth::Admin);
        Env { server, admin }
    }

    /// Everything the server logged before this call: a marker request goes last, and the
    /// log is read once the marker's line is in (the lines of every answered request are
    /// written before their answers, on one pipe, so they all are in by then).
    pub async fn settled_log(&self) -> String {
        let marker = format!("log-marker-{}", uuid::Uuid::new_v4().simple());
        let anon = self.client(Auth::Anonymous);
        anon.send(
            anon.request(reqwest::Method::GET, "/healthz")
                .header("x-request-id", &marker),
        )
        .await
        .expect(200);
        wait::until(
            "the marker in the server log",
            std::time::Duration::from_secs(10),
            || {
                let log = self.server.log();
                let found = log.contains(&marker);
                async move { found.then_some(log) }
            },
        )
        .await
    }

    /// `http://127.0.0.1:PORT` of the server.
    pub fn base(&self) -> &str {
        &self.server.base
    }

    /// A client for this server as `auth`.
    pub fn client(&self, auth: Auth) -> Api {
        self.admin.as_caller(auth)
    }
}

/// A fixture file of the workspace, parsed.
pub fn fixture(name: &str) -> Value {
    let path = cli::workspace_root().join(format!("fixtures/{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("the fixture is JSON")
}

/// The project of the london-dc-alpha fixture.
pub fn london_project() -> Value {
    fixture("london-dc-alpha")["project"].clone()
}

/// The `run_id` of a run answer.
#[track_caller]
pub fn run_id(doc: &Value) -> String {
    doc["run_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no run_id in {doc}"))
        .to_string()
}
