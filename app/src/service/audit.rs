//! Security and administrative events: each is one audit row in the document store and one
//! JSON log line (target `phase1::security`). The log line names the user only by
//! [`crate::logging::user_hash`]; neither carries a password, token, code or secret.
//!
//! Recording never fails the request it belongs to: a store error is logged instead.

use crate::http::problem::current_request_id;
use crate::http::state::AppState;
use crate::logging::user_hash;
use crate::store::model::AuditRow;
use serde_json::{json, Value};
use std::net::IpAddr;

/// Where a request came from: its route and client address (none for the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The route pattern, or `cli`.
    pub route: String,
    /// The client's address.
    pub ip: Option<IpAddr>,
}

impl Origin {
    /// A request to `route` from `ip`.
    pub fn http(route: &str, ip: Option<IpAddr>) -> Origin {
        Origin {
            route: route.to_string(),
            ip,
        }
    }

    /// The `phase1` command line.
    pub fn cli() -> Origin {
        Origin {
            route: "cli".into(),
            ip: None,
        }
    }
}

/// One event.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// What happened: `login.success`, `login.failure`, `mfa.failure`, `refresh.reuse`,
    /// `ip.block`, `ip.unblock`, `user.create`, `user.disable`, `user.reset_mfa`,
    /// `user.password`, `keys.rotate`, `flags.update`, `flags.allowlist`, `flags.rollback`,
    /// `canary.update`, `canary.rollback`, `synthetic.start`, `synthetic.alert`.
    pub action: &'static str,
    /// Who did it (an email, `ops`, `cli`, `anonymous`).
    pub actor: &'a str,
    /// Whom or what it concerns (an email, an IP), when not the actor.
    pub subject: Option<&'a str>,
    /// State before, when something changed.
    pub old: Value,
    /// State after, or the event's details.
    pub new: Value,
    /// The versioned setting's version before and after, for changes to one.
    pub versions: Option<(u64, u64)>,
    /// For a versioned write: whether If-Match made it conditional.
    pub conditional: Option<bool>,
}

impl<'a> Event<'a> {
    /// An event with no state change.
    pub fn new(action: &'static str, actor: &'a str) -> Event<'a> {
        Event {
            action,
            actor,
            subject: None,
            old: Value::Null,
            new: Value::Null,
            versions: None,
            conditional: None,
        }
    }

    /// Records whether a versioned write was conditional (If-Match) or not.
    pub fn conditional(mut self, conditional: bool) -> Event<'a> {
        self.conditional = Some(conditional);
        self
    }

    /// Names whom it concerns.
    pub fn subject(mut self, subject: &'a str) -> Event<'a> {
        self.subject = Some(subject);
        self
    }

    /// Names the versions before and after a change to a versioned setting.
    pub fn versions(mut self, before: u64, after: u64) -> Event<'a> {
        self.versions = Some((before, after));
        self
    }

    /// Adds the state before and after.
    pub fn change(mut self, old: Value, new: Value) -> Event<'a> {
        self.old = old;
        self.new = new;
        self
    }
}

/// Writes the audit row and the log line; returns the row's id.
pub async fn record(state: &AppState, origin: &Origin, event: Event<'_>) -> String {
    let request_id = current_request_id();
    let ip = origin.ip.map(|i| i.to_string());
    let mut new = event.new.clone();
    if let Value::Object(m) = &mut new {
        if let Some(ip) = &ip {
            m.insert("ip".into(), json!(ip));
        }
        if let Some(s) = event.subject {
            m.insert("subject".into(), json!(s));
        }
    } else if new.is_null() {
        new = json!({"ip": ip, "subject": event.subject});
    }
    let row = AuditRow {
        audit_id: uuid::Uuid::new_v4().to_string(),
        actor: event.actor.to_string(),
        when: state.clock.now_ms(),
        action: event.action.to_string(),
        route: origin.route.clone(),
        request_id: request_id.clone(),
        old: event.old,
        new,
        version_before: event.versions.map(|v| v.0),
        version_after: event.versions.map(|v| v.1),
        conditional: event.conditional,
    };
    let written = state.stores.doc.append_audit(&row).await;
    let mut counted = crate::service::metrics::Samples::new();
    counted.count("audit_events_total", &[("action", event.action)], 1.0);
    crate::service::metrics::add_or_log(state, &counted).await;
    let subject_hash = event
        .subject
        .filter(|s| s.contains('@'))
        .map(user_hash)
        .or_else(|| event.subject.map(str::to_string));
    tracing::info!(
        target: "phase1::security",
        event = event.action,
        user = %user_hash(event.actor),
        subject = subject_hash.as_deref(),
        ip = ip.as_deref(),
        route = %origin.route,
        request_id = %request_id,
        audit_id = %row.audit_id,
        "security event"
    );
    if let Err(e) = written {
        tracing::error!(
            target: "phase1::security",
            event = event.action,
            request_id = %request_id,
            error = %e,
            "audit row not written"
        );
    }
    row.audit_id
}
