//! Feature flags as data: the flag set, its evaluation for one caller, and the parsing of
//! changes to it. Pure: no store, no clock (the stored set and its version are handled by
//! [`crate::service::flags`]).
//!
//! Evaluation follows api.md exactly: disabled → off; an allowlisted email or IP → on;
//! `admin_only` and not an admin → off; an admin → on; else on iff
//! `bucket ≤ rollout_percentage`, with
//! `bucket = murmur3_x86_32("flag_name:identity", seed 0) % 100 + 1` — Unleash's normalised
//! hash, so buckets agree with every Unleash SDK (the client-specification suite is run
//! against this module by `app/tests/unleash.rs`).

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Every Phase-1 flag.
pub const FLAGS: [&str; 7] = [
    "phase1_core",
    "reverse_dscr_engine",
    "gates_ab",
    "docs_exports",
    "input_hierarchy_processor",
    "repo_eligibility_rules",
    "viability_tiering",
];

/// Who is always let in, whatever the rollout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowlist {
    /// Lower-cased emails.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Networks (a single address is a /32 or /128).
    #[serde(default)]
    pub ips: Vec<IpNet>,
}

/// One flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// Off for everyone when false.
    pub enabled: bool,
    /// Only admins (and the allowlist) when true.
    #[serde(default)]
    pub admin_only: bool,
    /// The share of users (by bucket, 0..=100) it is on for.
    #[serde(default = "full")]
    pub rollout_percentage: u8,
    /// Always on for these.
    #[serde(default)]
    pub allowlist: Allowlist,
}

fn full() -> u8 {
    100
}

impl Flag {
    /// The initial state of api.md: enabled, not admin-only, 100 %, empty allowlists.
    pub fn initial() -> Flag {
        Flag {
            enabled: true,
            admin_only: false,
            rollout_percentage: 100,
            allowlist: Allowlist::default(),
        }
    }
}

/// The whole set: every flag of [`FLAGS`], always.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FlagSet(BTreeMap<String, Flag>);

impl FlagSet {
    /// Every flag in its initial state.
    pub fn initial() -> FlagSet {
        FlagSet(
            FLAGS
                .iter()
                .map(|f| (f.to_string(), Flag::initial()))
                .collect(),
        )
    }

    /// The set as stored. A flag the stored document does not mention (or mentions in a
    /// form that does not parse) takes its initial state; a bare boolean is `enabled`.
    pub fn from_stored(value: &Value) -> FlagSet {
        let mut set = FlagSet::initial();
        for (name, flag) in set.0.iter_mut() {
            match &value[name.as_str()] {
                Value::Bool(on) => flag.enabled = *on,
                v @ Value::Object(_) => {
                    if let Ok(f) = serde_json::from_value::<Flag>(v.clone()) {
                        *flag = f;
                    }
                }
                _ => {}
            }
        }
        set
    }

    /// The stored form.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// One flag (every name of [`FLAGS`] is present).
    pub fn get(&self, name: &str) -> Option<&Flag> {
        self.0.get(name)
    }

    /// One flag, to change it.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Flag> {
        self.0.get_mut(name)
    }

    /// The flags, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Flag)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Whom a flag is evaluated for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The lower-cased email (none for an anonymous caller).
    pub email: Option<String>,
    /// Whether the caller's role is admin.
    pub admin: bool,
    /// The client address.
    pub ip: Option<IpAddr>,
}

/// Why a flag is on or off for a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The flag is disabled.
    Disabled,
    /// The caller's email is allowlisted.
    AllowlistEmail,
    /// The caller's address is in an allowlisted network.
    AllowlistIp,
    /// The flag is admin-only and the caller is not an admin.
    AdminOnly,
    /// The caller is an admin.
    Admin,
    /// The caller's bucket against the rollout percentage.
    Bucket {
        /// 1..=100.
        bucket: u32,
        /// The rollout percentage.
        percentage: u8,
    },
    /// Nobody to place in a bucket (no email): off unless the rollout is 100 %.
    NoIdentity {
        /// The rollout percentage.
        percentage: u8,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Disabled => f.write_str("disabled"),
            Reason::AllowlistEmail => f.write_str("allowlist (email)"),
            Reason::AllowlistIp => f.write_str("allowlist (ip)"),
            Reason::AdminOnly => f.write_str("admin_only"),
            Reason::Admin => f.write_str("admin"),
            Reason::Bucket { bucket, percentage } if u32::from(*percentage) >= *bucket => {
                write!(f, "bucket {bucket} ≤ {percentage}")
            }
            Reason::Bucket { bucket, percentage } => write!(f, "bucket {bucket} > {percentage}"),
            Reason::NoIdentity { percentage } => write!(f, "no identity, rollout {percentage}"),
        }
    }
}

/// A flag's value for one caller, with the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// On or off.
    pub on: bool,
    /// Why.
    pub reason: Reason,
}

impl Decision {
    /// `{on, reason, bucket?}` for `flags/evaluate`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("on".into(), json!(self.on));
        m.insert("reason".into(), json!(self.reason.to_string()));
        if let Reason::Bucket { bucket, .. } = self.reason {
            m.insert("bucket".into(), json!(bucket));
        }
        Value::Object(m)
    }
}

/// Unleash's normalised hash: `murmur3_x86_32("prefix:identity", 0) % 100 + 1`, 1..=100.
pub fn bucket(prefix: &str, identity: &str) -> u32 {
    let key = format!("{prefix}:{identity}");
    let hash = murmur3::murmur3_32(&mut std::io::Cursor::new(key.as_bytes()), 0)
        .expect("hashing an in-memory buffer cannot fail");
    hash % 100 + 1
}

/// `flag` (named `name`, the hash prefix) for `caller`, bucketed by the caller's email.
pub fn evaluate(name: &str, flag: &Flag, caller: &Caller) -> Decision {
    evaluate_sticky(name, flag, caller, caller.email.as_deref())
}

/// The same evaluation with another stickiness: the rollout buckets `sticky` (a session
/// id, say) while the allowlist still matches the caller's email.
pub fn evaluate_sticky(name: &str, flag: &Flag, caller: &Caller, sticky: Option<&str>) -> Decision {
    let decide = |on, reason| Decision { on, reason };
    if !flag.enabled {
        return decide(false, Reason::Disabled);
    }
    if caller
        .email
        .as_ref()
        .is_some_and(|e| flag.allowlist.emails.iter().any(|a| a == e))
    {
        return decide(true, Reason::AllowlistEmail);
    }
    if caller
        .ip
        .is_some_and(|ip| flag.allowlist.ips.iter().any(|n| n.contains(&ip)))
    {
        return decide(true, Reason::AllowlistIp);
    }
    if flag.admin_only && !caller.admin {
        return decide(false, Reason::AdminOnly);
    }
    if caller.admin {
        return decide(true, Reason::Admin);
    }
    let percentage = flag.rollout_percentage;
    match sticky {
        Some(identity) => {
            let bucket = bucket(name, identity);
            decide(
                bucket <= u32::from(percentage),
                Reason::Bucket { bucket, percentage },
            )
        }
        None => decide(percentage >= 100, Reason::NoIdentity { percentage }),
    }
}

/// A change to one flag: the fields given replace the stored ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagChange {
    /// New `enabled`.
    pub enabled: Option<bool>,
    /// New `admin_only`.
    pub admin_only: Option<bool>,
    /// New `rollout_percentage`.
    pub rollout_percentage: Option<u8>,
    /// New allowlist emails.
    pub emails: Option<Vec<String>>,
    /// New allowlist networks.
    pub ips: Option<Vec<IpNet>>,
}

impl FlagChange {
    /// Applies the change.
    pub fn apply(&self, flag: &mut Flag) {
        if let Some(v) = self.enabled {
            flag.enabled = v;
        }
        if let Some(v) = self.admin_only {
            flag.admin_only = v;
        }
        if let Some(v) = self.rollout_percentage {
            flag.rollout_percentage = v;
        }
        if let Some(v) = &self.emails {
            flag.allowlist.emails.clone_from(v);
        }
        if let Some(v) = &self.ips {
            flag.allowlist.ips.clone_from(v);
        }
    }
}

/// A field problem: `(field path, message)`.
pub type Problem = (String, String);

const FLAG_FIELDS: [&str; 4] = ["enabled", "admin_only", "rollout_percentage", "allowlist"];
const ALLOWLIST_FIELDS: [&str; 2] = ["emails", "ips"];

/// The keys of a flag-write body that are not known flags or fields (paths like
/// `gates_ab.colour`): checked before anything else, so a typo never half-applies.
pub fn invalid_keys(changes: &Map<String, Value>) -> Vec<String> {
    let mut bad = Vec::new();
    for (name, change) in changes {
        if !FLAGS.contains(&name.as_str()) {
            bad.push(name.clone());
            continue;
        }
        let Value::Object(fields) = change else {
            continue;
        };
        for (field, v) in fields {
            if !FLAG_FIELDS.contains(&field.as_str()) {
                bad.push(format!("{name}.{field}"));
            } else if let ("allowlist", Value::Object(list)) = (field.as_str(), v) {
                bad.extend(
                    list.keys()
                        .filter(|k| !ALLOWLIST_FIELDS.contains(&k.as_str()))
                        .map(|k| format!("{name}.allowlist.{k}")),
                );
            }
        }
    }
    bad
}

/// Parses the changes of a flag-write body (keys already checked by [`invalid_keys`]):
/// every value problem at once, each with its field path under `prefix`.
pub fn parse_changes(
    changes: &Map<String, Value>,
    prefix: &str,
) -> Result<BTreeMap<String, FlagChange>, Vec<Problem>> {
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, v) in changes {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let mut change = FlagChange::default();
        match v {
            Value::Bool(on) => change.enabled = Some(*on),
            Value::Object(fields) => {
                let mut boolean = |key: &str| match fields.get(key) {
                    None => None,
                    Some(Value::Bool(b)) => Some(*b),
                    Some(_) => {
                        problems.push((format!("{path}.{key}"), "must be true or false".into()));
                        None
                    }
                };
                change.enabled = boolean("enabled");
                change.admin_only = boolean("admin_only");
                if let Some(p) = fields.get("rollout_percentage") {
                    match percentage(p) {
                        Ok(p) => change.rollout_percentage = Some(p),
                        Err(m) => problems.push((format!("{path}.rollout_percentage"), m)),
                    }
                }
                match fields.get("allowlist") {
                    None => {}
                    Some(Value::Object(list)) => {
                        let base = format!("{path}.allowlist");
                        if let Some(e) = list.get("emails") {
                            change.emails =
                                collect(emails(e, &format!("{base}.emails")), &mut problems);
                        }
                        if let Some(i) = list.get("ips") {
                            change.ips =
                                collect(networks(i, &format!("{base}.ips")), &mut problems);
                        }
                    }
                    Some(_) => problems.push((
                        format!("{path}.allowlist"),
                        "must be an object {emails, ips}".into(),
                    )),
                }
            }
            _ => problems.push((
                path,
                "must be true, false or {enabled, admin_only, rollout_percentage, allowlist}"
                    .into(),
            )),
        }
        out.insert(name.clone(), change);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn collect<T>(r: Result<T, Vec<Problem>>, problems: &mut Vec<Problem>) -> Option<T> {
    r.map_err(|p| problems.extend(p)).ok()
}

/// A rollout percentage: an integer 0..=100.
pub fn percentage(v: &Value) -> Result<u8, String> {
    v.as_u64()
        .filter(|p| *p <= 100)
        .and_then(|p| u8::try_from(p).ok())
        .ok_or_else(|| format!("must be an integer from 0 to 100, not {v}"))
}

/// A list of emails, lower-cased; every bad entry named by its index.
pub fn emails(v: &Value, path: &str) -> Result<Vec<String>, Vec<Problem>> {
    strings(v, path, |s| {
        crate::auth::email::Email::parse(s)
            .map(|e| e.as_str().to_string())
            .map_err(|e| e.to_string())
    })
}

/// A list of networks (CIDRs, IPv4 or IPv6, or single addresses); every bad entry named.
pub fn networks(v: &Value, path: &str) -> Result<Vec<IpNet>, Vec<Problem>> {
    strings(v, path, |s| {
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(|n| n.trunc())
            .map_err(|_| format!("{s:?} is not an IP address or CIDR (e.g. 10.0.0.0/8)"))
    })
}

fn strings<T>(
    v: &Value,
    path: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, Vec<Problem>> {
    let Value::Array(items) = v else {
        return Err(vec![(path.to_string(), "must be a list".into())]);
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.as_str().map(&parse) {
            Some(Ok(t)) => out.push(t),
            Some(Err(m)) => problems.push((format!("{path}[{i}]"), m)),
            None => problems.push((format!("{path}[{i}]"), "must be a string".into())),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(email: &str) -> Caller {
        Caller {
            email: Some(email.into()),
            admin: false,
            ip: None,
        }
    }

    #[test]
    fn buckets_are_unleash_normalised_hashes() {
        // Against an independent implementation (tikv's mur3).
        for i in 0..1000 {
            let identity = format!("user{i}@example.com");
            let key = format!("gates_ab:{identity}");
            let expected = mur3::murmurhash3_x86_32(key.as_bytes(), 0) % 100 + 1;
            assert_eq!(bucket("gates_ab", &identity), expected);
        }
    }

    #[test]
    fn evaluation_follows_the_order_of_the_spec() {
        let mut f = Flag::initial();
        let a = caller("a@example.com");
        assert!(evaluate("x", &f, &a).on);
        f.rollout_percentage = 0;
        let d = evaluate("x", &f, &a);
        assert!(!d.on);
        assert!(matches!(d.reason, Reason::Bucket { percentage: 0, .. }));
        f.allowlist.emails = vec!["a@example.com".into()];
        assert_eq!(evaluate("x", &f, &a).reason, Reason::AllowlistEmail);
        f.admin_only = true;
        assert!(evaluate("x", &f, &a).on, "the allowlist beats admin_only");
        let b = caller("b@example.com");
        assert_eq!(evaluate("x", &f, &b).reason, Reason::AdminOnly);
        let admin = Caller {
            admin: true,
            ..b.clone()
        };
        assert_eq!(evaluate("x", &f, &admin).reason, Reason::Admin);
        let from_net = Caller {
            ip: Some("10.1.2.3".parse().unwrap()),
            ..b
        };
        f.allowlist.ips = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(evaluate("x", &f, &from_net).reason, Reason::AllowlistIp);
        f.enabled = false;
        assert_eq!(evaluate("x", &f, &admin).reason, Reason::Disabled);
        assert_eq!(evaluate("x", &f, &a).reason, Reason::Disabled);
    }

    #[test]
    fn a_bucket_is_on_up_to_and_including_the_percentage() {
        let email = "someone@example.com";
        let b = bucket("gates_ab", email);
        let mut f = Flag::initial();
        f.rollout_percentage = u8::try_from(b).unwrap();
        assert!(evaluate("gates_ab", &f, &caller(email)).on);
        f.rollout_percentage -= 1;
        assert!(!evaluate("gates_ab", &f, &caller(email)).on);
        let text = evaluate("gates_ab", &f, &caller(email)).reason.to_string();
        assert_eq!(text, format!("bucket {b} > {}", b - 1));
    }

    #[test]
    fn stored_sets_fill_missing_flags_and_read_booleans() {
        let set = FlagSet::from_stored(&json!({"gates_ab": false, "docs_exports": {
            "enabled": true, "admin_only": true, "rollout_percentage": 5,
            "allowlist": {"emails": ["a@example.com"], "ips": ["::1/128"]}}}));
        assert!(!set.get("gates_ab").unwrap().enabled);
        let d = set.get("docs_exports").unwrap();
        assert!(d.admin_only);
        assert_eq!(d.rollout_percentage, 5);
        assert_eq!(set.get("phase1_core"), Some(&Flag::initial()));
        assert_eq!(FlagSet::from_stored(&set.to_value()), set);
        assert_eq!(set.iter().count(), FLAGS.len());
    }

    #[test]
    fn unknown_keys_are_named_with_their_path() {
        let body = json!({"gates_ab": {"enabled": true, "colour": 1,
            "allowlist": {"emails": [], "phones": []}}, "GatesAB": true, "nope": false});
        let mut bad = invalid_keys(body.as_object().unwrap());
        bad.sort();
        assert_eq!(
            bad,
            vec![
                "GatesAB",
                "gates_ab.allowlist.phones",
                "gates_ab.colour",
                "nope"
            ]
        );
        assert!(invalid_keys(json!({"gates_ab": true}).as_object().unwrap()).is_empty());
    }

    #[test]
    fn bad_values_are_all_reported() {
        let body = json!({"gates_ab": {"enabled": "yes", "rollout_percentage": 101,
            "allowlist": {"emails": ["not-an-email"], "ips": ["10.0.0.0/33", "::1"]}},
            "docs_exports": 3});
        let problems = parse_changes(body.as_object().unwrap(), "changes").unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "changes.gates_ab.enabled",
                "changes.gates_ab.rollout_percentage",
                "changes.gates_ab.allowlist.emails[0]",
                "changes.gates_ab.allowlist.ips[0]",
                "changes.docs_exports",
            ]
        );
    }

    #[test]
    fn changes_replace_only_the_fields_given() {
        let body = json!({"gates_ab": {"rollout_percentage": 25,
            "allowlist": {"emails": ["A@Example.com"], "ips": ["192.168.1.7", "2001:db8::/32"]}},
            "docs_exports": false});
        let changes = parse_changes(body.as_object().unwrap(), "changes").unwrap();
        let mut set = FlagSet::initial();
        for (name, c) in &changes {
            c.apply(set.get_mut(name).unwrap());
        }
        let g = set.get("gates_ab").unwrap();
        assert!(g.enabled);
        assert_eq!(g.rollout_percentage, 25);
        assert_eq!(g.allowlist.emails, vec!["a@example.com"]);
        assert_eq!(
            g.allowlist.ips,
            vec![
                "192.168.1.7/32".parse::<IpNet>().unwrap(),
                "2001:db8::/32".parse().unwrap()
            ]
        );
        assert!(!set.get("docs_exports").unwrap().enabled);
    }
}
