//! Unleash compatibility: the cases of Unleash's public client-specification suite (npm
//! `@unleash/client-specification` 6.1.0, fetched by `scripts/unleash_spec.sh`) run against
//! `phase1_app::flags`.
//!
//! An adapter maps each feature of a spec file to our model (a [`Flag`], a hash prefix and
//! how the rollout is made sticky) only when every strategy and constraint of it is
//! expressible there; the cases of the other features are skipped, each with its reason, and
//! so are the cases whose context our model answers differently by design (a 100 % rollout
//! for a caller with no identity). Every case that is mapped must give Unleash's answer.
//!
//! Unleash answers true when any strategy is true; our model's "allowlist or rollout" is the
//! same OR, so strategies combine as: `default` (or no strategy at all) is everyone, a rollout
//! at 0 % is nobody, `userWithId` adds to the email allowlist (matched against `userId`),
//! `remoteAddress` and a `default` strategy constrained by `remoteAddress IN_CIDR` add to the
//! IP allowlist, and at most one rollout (percentage, groupId, stickiness) may remain.

use ipnet::IpNet;
use phase1_app::flags::{self, Allowlist, Caller, Decision, Flag};
use serde_json::{json, Map, Value};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The spec files run, by numeric prefix.
const FILES: [&str; 7] = ["01", "02", "03", "04", "06", "10", "22"];

/// The cases of [`FILES`] the adapter maps (47 of their 50 in 6.1.0), less a little slack:
/// an adapter that skips (nearly) everything fails.
const MIN_RAN: usize = 45;

/// The directory of the spec's JSON files.
fn spec_dir() -> PathBuf {
    let dir = std::env::var_os("UNLEASH_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target/unleash-client-specification-6.1.0/package/specifications")
        });
    assert!(
        dir.is_dir(),
        "Unleash's client specification is not at {}: run `bash scripts/unleash_spec.sh` \
         from the repository root (or set UNLEASH_SPEC_DIR to its specifications/ folder)",
        dir.display()
    );
    dir
}

/// The spec file whose name starts with `prefix-`.
fn spec_file(dir: &Path, prefix: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{prefix}-")) && n.ends_with(".json"))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one spec file {prefix}-*.json in {}: run `bash scripts/unleash_spec.sh`",
        dir.display()
    );
    found.remove(0)
}

/// Which context field a rollout hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stickiness {
    UserId,
    SessionId,
    /// `userId`, else `sessionId`, else a random value (flexibleRollout's `default`).
    Default,
}

/// A percentage rollout, 1..=100 % (0 % is [`Term::Nobody`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rollout {
    percentage: u8,
    group_id: String,
    stickiness: Stickiness,
}

/// What one strategy contributes to the OR of a feature.
enum Term {
    Everyone,
    Nobody,
    Users(Vec<String>),
    Ips(Vec<IpNet>),
    Rollout(Rollout),
}

/// A feature in our model.
struct Mapped {
    flag: Flag,
    /// The hash prefix: the rollout's groupId.
    prefix: String,
    /// The rollout, when one decides (none when everyone or nobody is in).
    rollout: Option<Rollout>,
}

/// Fails unless every key of `object` is in `known`.
fn only_keys(object: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), String> {
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("{what} has `{k}`")),
        None => Ok(()),
    }
}

/// A percentage parameter (a string or a number, as Unleash's `Number(...)` reads it), by
/// the app's own parser: an integer 0..=100.
fn percentage(v: Option<&Value>, what: &str) -> Result<u8, String> {
    let number = match v {
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(|n| json!(n))
            .map_err(|_| format!("{what} {s:?} is not an integer"))?,
        Some(n @ Value::Number(_)) => n.clone(),
        _ => return Err(format!("{what} is missing")),
    };
    flags::percentage(&number).map_err(|e| format!("{what}: {e}"))
}

/// An address or network by the app's own parser; `None` for an invalid entry, which Unleash
/// ignores.
fn network(entry: &str) -> Option<IpNet> {
    flags::networks(&json!([entry.trim()]), "ip")
        .ok()
        .and_then(|mut n| n.pop())
}

/// A comma-separated parameter, entries trimmed, empty ones dropped.
fn list(parameters: &Value, key: &str) -> Result<Vec<String>, String> {
    let text = parameters[key]
        .as_str()
        .ok_or_else(|| format!("parameter {key} is not a string"))?;
    Ok(text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect())
}

/// A rollout term: 0 % is nobody.
fn rollout(percentage: u8, group_id: &str, stickiness: Stickiness) -> Term {
    if percentage == 0 {
        Term::Nobody
    } else {
        Term::Rollout(Rollout {
            percentage,
            group_id: group_id.to_string(),
            stickiness,
        })
    }
}

/// One strategy of feature `feature`, or why it cannot be expressed.
fn map_strategy(feature: &str, strategy: &Value) -> Result<Term, String> {
    let object = strategy.as_object().ok_or("a strategy is not an object")?;
    // `variants` only pick a variant; they never change whether a feature is enabled.
    only_keys(
        object,
        &[
            "name",
            "parameters",
            "constraints",
            "variants",
            "title",
            "sortOrder",
            "id",
        ],
        "a strategy",
    )?;
    let name = strategy["name"].as_str().ok_or("a strategy has no name")?;
    let parameters = &strategy["parameters"];
    let constraints = match &strategy["constraints"] {
        Value::Null => &[][..],
        Value::Array(c) => &c[..],
        _ => return Err(format!("strategy {name}: constraints are not a list")),
    };
    if !constraints.is_empty() {
        // Only `default` AND `remoteAddress IN_CIDR [...]`: the IP allowlist.
        let [c] = constraints else {
            return Err(format!("strategy {name} has several constraints"));
        };
        let co = c.as_object().ok_or("a constraint is not an object")?;
        only_keys(
            co,
            &[
                "contextName",
                "operator",
                "values",
                "inverted",
                "caseInsensitive",
            ],
            "a constraint",
        )?;
        let (context, operator) = (c["contextName"].as_str(), c["operator"].as_str());
        if name != "default"
            || context != Some("remoteAddress")
            || operator != Some("IN_CIDR")
            || c["inverted"].as_bool().unwrap_or(false)
        {
            return Err(format!(
                "strategy {name} with constraint {} {}{}",
                context.unwrap_or("?"),
                if c["inverted"].as_bool() == Some(true) {
                    "NOT "
                } else {
                    ""
                },
                operator.unwrap_or("?")
            ));
        }
        let values = c["values"].as_array().ok_or("IN_CIDR without values")?;
        let entries = values
            .iter()
            .map(|v| v.as_str().ok_or("an IN_CIDR value is not a string"))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Term::Ips(entries.into_iter().filter_map(network).collect()));
    }
    match name {
        "default" => Ok(Term::Everyone),
        "userWithId" => Ok(Term::Users(list(parameters, "userIds")?)),
        "remoteAddress" => Ok(Term::Ips(
            list(parameters, "IPs")?
                .iter()
                .map(String::as_str)
                .filter_map(network)
                .collect(),
        )),
        "gradualRolloutUserId" | "gradualRolloutSessionId" => {
            // The SDKs default this groupId to "", not to the feature name: require it.
            let group_id = parameters["groupId"]
                .as_str()
                .ok_or_else(|| format!("strategy {name} has no groupId"))?;
            let stickiness = if name == "gradualRolloutUserId" {
                Stickiness::UserId
            } else {
                Stickiness::SessionId
            };
            let p = percentage(parameters.get("percentage"), "percentage")?;
            Ok(rollout(p, group_id, stickiness))
        }
        "flexibleRollout" => {
            let group_id = match parameters["groupId"].as_str() {
                Some(g) if !g.is_empty() => g,
                _ => feature,
            };
            let stickiness = match parameters["stickiness"].as_str() {
                None | Some("default") => Stickiness::Default,
                Some("userId") => Stickiness::UserId,
                Some("sessionId") => Stickiness::SessionId,
                Some(other) => return Err(format!("flexibleRollout with stickiness {other}")),
            };
            let p = percentage(parameters.get("rollout"), "rollout")?;
            Ok(rollout(p, group_id, stickiness))
        }
        other => Err(format!("strategy {other}")),
    }
}

/// A feature of a spec file's state, or why it cannot be expressed.
fn map_feature(feature: &Value) -> Result<Mapped, String> {
    let object = feature.as_object().ok_or("a feature is not an object")?;
    only_keys(
        object,
        &[
            "name",
            "description",
            "enabled",
            "strategies",
            "variants",
            "type",
            "project",
            "stale",
            "impressionData",
        ],
        "the feature",
    )?;
    let name = feature["name"].as_str().ok_or("a feature has no name")?;
    let enabled = feature["enabled"].as_bool().ok_or("no boolean `enabled`")?;
    let strategies = feature["strategies"]
        .as_array()
        .ok_or("no list of strategies")?;
    let terms = if strategies.is_empty() {
        // Unleash: an enabled feature with no strategy is on for everyone.
        vec![Term::Everyone]
    } else {
        strategies
            .iter()
            .map(|s| map_strategy(name, s))
            .collect::<Result<Vec<_>, _>>()?
    };
    let mut allowlist = Allowlist::default();
    let mut everyone = false;
    let mut rollouts: Vec<Rollout> = Vec::new();
    for term in terms {
        match term {
            Term::Everyone => everyone = true,
            Term::Nobody => {}
            Term::Users(u) => allowlist.emails.extend(u),
            Term::Ips(i) => allowlist.ips.extend(i),
            Term::Rollout(r) => {
                if !rollouts.contains(&r) {
                    rollouts.push(r);
                }
            }
        }
    }
    // Everyone subsumes any rollout; otherwise our model has room for one.
    let rollout = if everyone {
        None
    } else {
        match rollouts.len() {
            0 | 1 => rollouts.pop(),
            _ => return Err(format!("{} different rollouts", rollouts.len())),
        }
    };
    let percentage = match (&rollout, everyone) {
        (_, true) => 100,
        (Some(r), false) => r.percentage,
        (None, false) => 0,
    };
    Ok(Mapped {
        prefix: rollout.as_ref().map_or(name, |r| &r.group_id).to_string(),
        rollout,
        flag: Flag {
            enabled,
            admin_only: false,
            rollout_percentage: percentage,
            allowlist,
        },
    })
}

/// A context string field (`None` when absent or empty: the SDKs test it for falsiness).
fn context_str<'a>(context: &'a Value, key: &str) -> Result<Option<&'a str>, String> {
    match &context[key] {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(format!("context {key} is {other}")),
    }
}

/// Our decision for one test case, or why the case is skipped.
fn decide(features: &[Value], case: &Value) -> Result<Decision, String> {
    let toggle = case["toggleName"].as_str().ok_or("no toggleName")?;
    let feature = features
        .iter()
        .find(|f| f["name"].as_str() == Some(toggle))
        .ok_or_else(|| format!("unknown toggle {toggle:?}: not a flag in our model"))?;
    let mapped = map_feature(feature).map_err(|e| format!("{toggle}: {e}"))?;
    let context = &case["context"];
    let user_id = context_str(context, "userId")?;
    let session_id = context_str(context, "sessionId")?;
    let ip = match context_str(context, "remoteAddress")? {
        None => None,
        Some(a) => Some(
            a.parse::<IpAddr>()
                .map_err(|_| format!("remoteAddress {a:?} is not an address"))?,
        ),
    };
    let caller = Caller {
        email: user_id.map(String::from),
        admin: false,
        ip,
    };
    let Some(rollout) = &mapped.rollout else {
        // Everyone (100 %) or nobody (0 %): no bucket decides, so the email stickiness of
        // `evaluate` is as good as any.
        return Ok(flags::evaluate(&mapped.prefix, &mapped.flag, &caller));
    };
    let sticky = match rollout.stickiness {
        Stickiness::UserId => user_id,
        Stickiness::SessionId => session_id,
        Stickiness::Default => user_id.or(session_id),
    };
    if sticky.is_none() {
        match (rollout.stickiness, rollout.percentage) {
            // Unleash hashes a random value: on at 100 %, as ours; a coin toss below.
            (Stickiness::Default, 100) => {}
            (Stickiness::Default, _) => {
                return Err(format!(
                    "{toggle}: no userId or sessionId, so Unleash rolls a random {} %",
                    rollout.percentage
                ))
            }
            // Unleash: off without the identity; ours: on at 100 % only.
            (_, 100) => {
                return Err(format!(
                    "{toggle}: no {:?} at 100 %: Unleash is off, our model on",
                    rollout.stickiness
                ))
            }
            (_, _) => {}
        }
    }
    Ok(if sticky.is_some() && sticky == user_id {
        flags::evaluate(&rollout.group_id, &mapped.flag, &caller)
    } else {
        flags::evaluate_sticky(&rollout.group_id, &mapped.flag, &caller, sticky)
    })
}

#[test]
fn the_unleash_client_specification_passes_where_our_model_can_express_it() {
    let dir = spec_dir();
    let mut failures = Vec::new();
    let mut total_ran = 0;
    let mut total_skipped = 0;
    for prefix in FILES {
        let path = spec_file(&dir, prefix);
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let spec: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let features = spec["state"]["features"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: no state.features"));
        let cases = spec["tests"]
            .as_array()
            .unwrap_or_else(|| panic!("{file}: no tests"));
        let (mut ran, mut skipped) = (0, Vec::new());
        for case in cases {
            let description = case["description"].as_str().unwrap_or("?");
            let expected = case["expectedResult"]
                .as_bool()
                .unwrap_or_else(|| panic!("{file}: {description}: no boolean expectedResult"));
            match decide(features, case) {
                Err(why) => skipped.push(format!("{description} — {why}")),
                Ok(decision) => {
                    ran += 1;
                    if decision.on != expected {
                        failures.push(format!(
                            "{file}: {description}: {} expected {expected}, got {} ({})",
                            case["toggleName"], decision.on, decision.reason
                        ));
                    }
                }
            }
        }
        println!("{file}: ran {ran}, skipped {}", skipped.len());
        for why in &skipped {
            println!("    skipped: {why}");
        }
        assert!(ran > 0, "{file}: no case mapped");
        total_ran += ran;
        total_skipped += skipped.len();
    }
    println!("total: ran {total_ran}, skipped {total_skipped}");
    assert!(
        failures.is_empty(),
        "{} of {total_ran} Unleash cases disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        total_ran >= MIN_RAN,
        "only {total_ran} Unleash cases mapped (expected at least {MIN_RAN}): the adapter skips too much"
    );
}
