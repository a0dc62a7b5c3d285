//! `phase1 doctor` and `phase1 migrate`: the store housekeeping commands.

use crate::input::Failure;
use crate::{emit, print_json};
use phase1_app::clock;
use phase1_app::config::Config;
use phase1_app::store::Stores;
use serde::Serialize;
use std::process::ExitCode;

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::internal)
}

/// Runs every doctor check; exit 1 when one fails.
pub fn doctor(json: bool) -> Result<ExitCode, Failure> {
    let report = runtime()?.block_on(phase1_app::doctor::run(Config::from_env(), clock::system()));
    if json {
        print_json(&report)?;
    } else {
        let mut text = String::new();
        for c in &report.checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            let latency = c
                .latency_ms
                .map(|l| format!(" ({l:.1} ms)"))
                .unwrap_or_default();
            text += &format!(
                "{mark} {} · {}{latency}: {}\n",
                c.component, c.check, c.details
            );
        }
        text += if report.ok {
            "all checks passed\n"
        } else {
            "some checks failed\n"
        };
        emit(&text)?;
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[derive(Serialize)]
struct MigrateReport {
    document_store: &'static str,
    key_value_store: &'static str,
    changes: Vec<String>,
}

/// Creates indexes and TTLs; exit 1 naming the failure.
pub fn migrate(json: bool) -> Result<ExitCode, Failure> {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors {
                eprintln_safe(&format!("configuration: {e}"));
            }
            return Ok(ExitCode::from(1));
        }
    };
    let outcome = runtime()?.block_on(async {
        let stores = Stores::open(&config.stores, clock::system()).await?;
        let mut changes = stores.doc.migrate().await?;
        let doc = stores.doc.as_ref();
        if phase1_app::service::flags::seed(doc).await? {
            changes.push("wrote the initial flag set (version 1)".into());
        }
        if phase1_app::service::canary::seed(doc, clock::system().now_ms()).await? {
            changes.push("wrote the initial canary state (FULL, version 1)".into());
        }
        Ok::<_, phase1_app::store::StoreError>(MigrateReport {
            document_store: stores.doc.backend(),
            key_value_store: stores.kv.backend(),
            changes,
        })
    });
    match outcome {
        Ok(report) if json => print_json(&report).map(|()| ExitCode::SUCCESS),
        Ok(report) => {
            let mut text = format!(
                "document store {}, key-value store {}\n",
                report.document_store, report.key_value_store
            );
            if report.changes.is_empty() {
                text += "nothing to do: every index, TTL and initial state is in place\n";
            }
            for c in &report.changes {
                text += &format!("  {c}\n");
            }
            emit(&text).map(|()| ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln_safe(&format!("migrate failed: {e}"));
            Ok(ExitCode::from(1))
        }
    }
}

fn eprintln_safe(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Serves the app until Ctrl-C or SIGTERM; exit 1 when it cannot start.
pub fn serve(host: std::net::IpAddr, port: u16) -> Result<ExitCode, Failure> {
    let addr = std::net::SocketAddr::new(host, port);
    let documents = std::sync::Arc::new(phase1_documents::Renderer);
    let outcome = runtime()?.block_on(phase1_app::serve::serve(addr, documents, |bound| {
        eprintln_safe(&format!("phase1 listening on http://{bound}"));
    }));
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln_safe(&format!("phase1 serve: {e}"));
            Ok(ExitCode::from(1))
        }
    }
}
