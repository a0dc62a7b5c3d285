//! Configuration: environment variables, read and validated once at start-up. A bad value
//! stops start-up with a message naming the variable.

use crate::auth::sealed::Keyring;
use crate::limits::RateLimits;
use crate::store::StoreSettings;
use ipnet::IpNet;
use std::path::PathBuf;
use std::time::Duration;

/// Which environment the app runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppEnv {
    /// Local or test: the embedded store is allowed.
    Dev,
    /// Production: the real stores are required.
    Prod,
}

impl AppEnv {
    /// The value as written in `APP_ENV`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppEnv::Dev => "dev",
            AppEnv::Prod => "prod",
        }
    }
}

/// One problem with one variable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// What is wrong with it (never its value when it may be a secret).
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Build identity, echoed in headers and `/version`.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildInfo {
    /// `COMMIT_SHA` (default "dev").
    pub commit_sha: String,
    /// `BUILD_ID` (default "local").
    pub build_id: String,
    /// `BUILD_TIME` (RFC 3339), when the build system provides it.
    pub build_time: Option<String>,
}

/// How the ops token is configured: the token itself, or its SHA-256.
#[derive(Clone, PartialEq)]
pub enum AdminToken {
    /// `PHASE1_ADMIN_TOKEN`.
    Plain(String),
    /// `PHASE1_ADMIN_TOKEN_SHA256`: 64 hex characters.
    Sha256([u8; 32]),
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// Engine budgets and fan-out settings.
#[derive(Clone, PartialEq)]
pub struct EngineSettings {
    /// `PHASE1_MAX_CARD`: the grid guardrail per request.
    pub max_card: u64,
    /// `PHASE1_RUN_BUDGET_MS`: a function's time budget.
    pub run_budget_ms: u64,
    /// `PHASE1_MEMORY_BUDGET_MB`.
    pub memory_budget_mb: u64,
    /// `PHASE1_SHARD_SIZE`: positions per shard.
    pub shard_size: u64,
    /// `PHASE1_SHARD_URL`: base URL of the deployment shards are sent to.
    pub shard_url: Option<String>,
    /// `PHASE1_INTERNAL_KEY`: HMAC key of the shard route.
    pub internal_key: Option<Vec<u8>>,
    /// `PHASE1_EST_PERMS_PER_SEC`: the throughput the async decision assumes.
    pub est_perms_per_sec: u64,
}

impl std::fmt::Debug for EngineSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSettings")
            .field("max_card", &self.max_card)
            .field("run_budget_ms", &self.run_budget_ms)
            .field("shard_size", &self.shard_size)
            .field("shard_url", &self.shard_url)
            .finish_non_exhaustive()
    }
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `APP_ENV`.
    pub env: AppEnv,
    /// Store settings.
    pub stores: StoreSettings,
    /// Build identity.
    pub build: BuildInfo,
    /// The ops token, when configured.
    pub admin_token: Option<AdminToken>,
    /// `SECRET_KEY`: signs access tokens (≥ 32 bytes).
    pub secret_key: Option<Secret>,
    /// `CRON_SECRET`: the bearer token of scheduled calls.
    pub cron_secret: Option<Secret>,
    /// Engine budgets and fan-out.
    pub engine: EngineSettings,
    /// `PHASE1_ENCRYPTION_KEY` (and `PHASE1_ENCRYPTION_KEY_PREVIOUS`): seal TOTP secrets.
    pub encryption: Option<Keyring>,
    /// `PHASE1_OPS_ALLOWLIST`: when not empty, ops calls must come from these networks.
    pub ops_allowlist: Vec<IpNet>,
    /// `PHASE1_CORS_ORIGINS`: the browser origins allowed to call the API with credentials.
    pub cors_origins: Vec<String>,
    /// `PHASE1_RATE_LIMITS`: requests per minute by route class.
    pub rate_limits: RateLimits,
    /// `PHASE1_PUBLIC_DIR`: `phase1 serve` serves the web UI's files from this directory
    /// instead of the copies built into the binary (for working on the UI without a rebuild).
    pub public_dir: Option<std::path::PathBuf>,
    /// `PHASE1_CANARY_THRESHOLDS`: canary progress and rollback thresholds.
    pub canary: crate::canary::Thresholds,
    /// `PHASE1_SLOW_MS`: store calls slower than this are reported (default 100).
    pub slow_ms: u64,
    /// `PHASE1_ALERT_WEBHOOKS`, `PHASE1_ALERT_SECRET`, `PHASE1_ALERT_BACKOFF_MS`: where
    /// operator alerts are delivered, and how.
    pub alerts: AlertSettings,
}

/// Alert delivery: the webhooks, the key that signs each delivery, the first retry's wait.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertSettings {
    /// The webhooks every alert goes to (Slack-compatible incoming webhooks).
    pub webhooks: Vec<Webhook>,
    /// Signs each delivery (HMAC-SHA256); required with webhooks.
    pub secret: Option<Secret>,
    /// The wait before the first retry, in ms (doubling after each failure, at most an
    /// hour); default 30,000.
    pub backoff_ms: u64,
}

/// A webhook URL. It carries a credential (a Slack webhook's path is its token), so it
/// prints only as its host.
#[derive(Clone, PartialEq)]
pub struct Webhook(pub String);

impl Webhook {
    /// The URL's host, for messages.
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or(self.0.as_str(), |(_, r)| r);
        rest.split(['/', '?', '#']).next().unwrap_or_default()
    }
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({}/<redacted>)", self.host())
    }
}

/// The webhooks of `PHASE1_ALERT_WEBHOOKS` (comma-separated): https, or http to a loopback
/// host (a local receiver). URLs are never echoed in errors.
fn webhooks(get: Lookup, errors: &mut Vec<ConfigError>) -> Vec<Webhook> {
    let var = "PHASE1_ALERT_WEBHOOKS";
    let Some(list) = get(var) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, url) in list
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .enumerate()
    {
        let hook = Webhook(url.to_string());
        let loopback = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .any(|h| hook.host() == *h || hook.host().starts_with(&format!("{h}:")));
        if url.starts_with("https://") || (url.starts_with("http://") && loopback) {
            out.push(hook);
        } else {
            errors.push(ConfigError {
                variable: var,
                message: format!(
                    "webhook {} must be an https:// URL (http:// only to a loopback host)",
                    i + 1
                ),
            });
        }
    }
    out
}

/// A secret value that never prints.
#[derive(Clone, PartialEq)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Reads one variable (an environment lookup, or a map in tests).
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn bounded(
    get: Lookup,
    var: &'static str,
    default: u64,
    lo: u64,
    hi: u64,
    errors: &mut Vec<ConfigError>,
) -> u64 {
    match get(var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    {
        None => default,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (lo..=hi).contains(&n) => n,
            _ => {
                errors.push(ConfigError {
                    variable: var,
                    message: format!("must be an integer from {lo} to {hi}, got {v:?}"),
                });
                default
            }
        },
    }
}

/// A URL variable with one of the allowed schemes. Its value is never echoed (it may hold a
/// password).
fn url(
    get: Lookup,
    var: &'static str,
    schemes: &[&str],
    errors: &mut Vec<ConfigError>,
) -> Option<String> {
    let v = get(var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())?;
    if schemes.iter().any(|s| v.starts_with(s)) {
        Some(v)
    } else {
        errors.push(ConfigError {
            variable: var,
            message: format!("must start with {}", schemes.join(" or ")),
        });
        None
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, Vec<ConfigError>> {
        Config::from_lookup(&|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get`; every problem is reported at once.
    pub fn from_lookup(get: Lookup) -> Result<Config, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let env = app_env(get, &mut errors);
        let mongodb_uri = url(
            get,
            "MONGODB_URI",
            &["mongodb://", "mongodb+srv://"],
            &mut errors,
        );
        let redis_url = url(get, "REDIS_URL", &["redis://", "rediss://"], &mut errors);
        let mongodb_db = get("MONGODB_DB").unwrap_or_else(|| "phase1".into());
        let valid_db = !mongodb_db.is_empty()
            && mongodb_db.len() <= 63
            && mongodb_db
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_db {
            errors.push(ConfigError {
                variable: "MONGODB_DB",
                message: "must be 1 to 63 letters, digits, '_' or '-'".into(),
            });
        }
        if env == AppEnv::Prod {
            for (var, given) in [
                ("MONGODB_URI", get("MONGODB_URI")),
                ("REDIS_URL", get("REDIS_URL")),
            ] {
                if given.is_none_or(|v| v.trim().is_empty()) {
                    errors.push(ConfigError {
                        variable: var,
                        message: "is required when APP_ENV=prod (the embedded store is for local use only)".into(),
                    });
                }
            }
        }
        let retention_days = bounded(get, "PHASE1_RETENTION_DAYS", 30, 1, 3650, &mut errors);
        let connect = bounded(
            get,
            "PHASE1_STORE_CONNECT_TIMEOUT_MS",
            2000,
            50,
            60_000,
            &mut errors,
        );
        let op = bounded(
            get,
            "PHASE1_STORE_OP_TIMEOUT_MS",
            5000,
            50,
            120_000,
            &mut errors,
        );
        let key_prefix =
            get("PHASE1_KEY_PREFIX").unwrap_or_else(|| format!("phase1:{}:", env.as_str()));
        let embedded_path = get("PHASE1_EMBEDDED_PATH")
            .filter(|p| !p.trim().is_empty())
            .map_or_else(|| PathBuf::from(".phase1/phase1.redb"), PathBuf::from);
        let nonempty = |var: &str| get(var).filter(|v| !v.trim().is_empty());
        let admin_token = match (
            nonempty("PHASE1_ADMIN_TOKEN"),
            nonempty("PHASE1_ADMIN_TOKEN_SHA256"),
        ) {
            (Some(t), _) => Some(AdminToken::Plain(t)),
            (None, Some(h)) => match hex::decode(h.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
            {
                Some(d) => Some(AdminToken::Sha256(d)),
                None => {
                    errors.push(ConfigError {
                        variable: "PHASE1_ADMIN_TOKEN_SHA256",
                        message: "must be 64 hexadecimal characters".into(),
                    });
                    None
                }
            },
            (None, None) => None,
        };
        let secret_key = nonempty("SECRET_KEY").map(|k| Secret(k.into_bytes()));
        if let Some(why) = secret_key.as_ref().and_then(|k| weakness(&k.0)) {
            errors.push(ConfigError {
                variable: "SECRET_KEY",
                message: why,
            });
        }
        let encryption = encryption_keys(get, &mut errors);
        let ops_allowlist = nonempty("PHASE1_OPS_ALLOWLIST")
            .map(|v| networks(&v, "PHASE1_OPS_ALLOWLIST", &mut errors))
            .unwrap_or_default();
        let cors_origins = nonempty("PHASE1_CORS_ORIGINS")
            .map(|v| origins(&v, &mut errors))
            .unwrap_or_default();
        let public_dir = nonempty("PHASE1_PUBLIC_DIR").map(std::path::PathBuf::from);
        if let Some(dir) = public_dir.as_ref().filter(|d| !d.is_dir()) {
            errors.push(ConfigError {
                variable: "PHASE1_PUBLIC_DIR",
                message: format!("{} is not a directory", dir.display()),
            });
        }
        let rate_limits = match nonempty("PHASE1_RATE_LIMITS") {
            None => RateLimits::default(),
            Some(v) => RateLimits::parse(&v).unwrap_or_else(|message| {
                errors.push(ConfigError {
                    variable: "PHASE1_RATE_LIMITS",
                    message,
                });
                RateLimits::default()
            }),
        };
        let canary = match nonempty("PHASE1_CANARY_THRESHOLDS") {
            None => crate::canary::Thresholds::default(),
            Some(v) => crate::canary::Thresholds::parse(&v).unwrap_or_else(|message| {
                errors.push(ConfigError {
                    variable: "PHASE1_CANARY_THRESHOLDS",
                    message,
                });
                crate::canary::Thresholds::default()
            }),
        };
        let slow_ms = bounded(get, "PHASE1_SLOW_MS", 100, 1, 600_000, &mut errors);
        let alerts = AlertSettings {
            webhooks: webhooks(get, &mut errors),
            secret: nonempty("PHASE1_ALERT_SECRET").map(|s| Secret(s.into_bytes())),
            backoff_ms: bounded(
                get,
                "PHASE1_ALERT_BACKOFF_MS",
                30_000,
                10,
                3_600_000,
                &mut errors,
            ),
        };
        if !alerts.webhooks.is_empty() && alerts.secret.is_none() {
            errors.push(ConfigError {
                variable: "PHASE1_ALERT_SECRET",
                message: "is required when PHASE1_ALERT_WEBHOOKS is set (deliveries are signed)"
                    .into(),
            });
        }
        if env == AppEnv::Prod {
            prod_secrets(
                secret_key.is_some(),
                nonempty("PHASE1_ENCRYPTION_KEY").is_some(),
                admin_token.as_ref(),
                &mut errors,
            );
        }
        let shard_url = url(
            get,
            "PHASE1_SHARD_URL",
            &["http://", "https://"],
            &mut errors,
        )
        .map(|u| u.trim_end_matches('/').to_string());
        let internal_key = nonempty("PHASE1_INTERNAL_KEY").map(String::into_bytes);
        let cron_secret = nonempty("CRON_SECRET").map(|s| Secret(s.into_bytes()));
        if env == AppEnv::Prod {
            for (variable, value) in [
                ("CRON_SECRET", cron_secret.as_ref().map(|s| s.0.as_slice())),
                ("PHASE1_INTERNAL_KEY", internal_key.as_deref()),
                (
                    "PHASE1_ALERT_SECRET",
                    alerts.secret.as_ref().map(|s| s.0.as_slice()),
                ),
            ] {
                if let Some(why) = value.and_then(weakness) {
                    errors.push(ConfigError {
                        variable,
                        message: format!("{why} when APP_ENV=prod"),
                    });
                }
            }
        }
        if shard_url.is_some() && internal_key.is_none() {
            errors.push(ConfigError {
                variable: "PHASE1_INTERNAL_KEY",
                message: "is required when PHASE1_SHARD_URL is set (shard calls are signed)".into(),
            });
        }
        let engine = EngineSettings {
            max_card: bounded(
                get,
                "PHASE1_MAX_CARD",
                250_000,
                1,
                10_000_000_000,
                &mut errors,
            ),
            run_budget_ms: bounded(
                get,
                "PHASE1_RUN_BUDGET_MS",
                8_000,
                100,
                900_000,
                &mut errors,
            ),
            memory_budget_mb: bounded(get, "PHASE1_MEMORY_BUDGET_MB", 512, 64, 10_240, &mut errors),
            shard_size: bounded(
                get,
                "PHASE1_SHARD_SIZE",
                50_000,
                1,
                10_000_000_000,
                &mut errors,
            ),
            shard_url,
            internal_key,
            est_perms_per_sec: bounded(
                get,
                "PHASE1_EST_PERMS_PER_SEC",
                1_000_000,
                1,
                1_000_000_000,
                &mut errors,
            ),
        };
        let build = BuildInfo {
            commit_sha: nonempty("COMMIT_SHA").unwrap_or_else(|| "dev".into()),
            build_id: nonempty("BUILD_ID").unwrap_or_else(|| "local".into()),
            build_time: nonempty("BUILD_TIME"),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Config {
            build,
            admin_token,
            secret_key,
            cron_secret,
            engine,
            env,
            encryption,
            ops_allowlist,
            cors_origins,
            public_dir,
            rate_limits,
            canary,
            slow_ms,
            alerts,
            stores: StoreSettings {
                mongodb_uri,
                mongodb_db,
                redis_url,
                key_prefix,
                embedded_path,
                retention_days: retention_days as u32,
                audit_retention_days: 365,
                connect_timeout: Duration::from_millis(connect),
                op_timeout: Duration::from_millis(op),
            },
        })
    }
}

/// Variables that say the process runs on a serverless platform: Vercel's, and AWS
/// Lambda's (set by the runtime for every function).
pub const PLATFORM_VARIABLES: [&str; 4] = [
    "VERCEL",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_EXECUTION_ENV",
];

/// `APP_ENV`. When it is unset, prod wherever the process is deployed — on Vercel or AWS
/// Lambda (their own variables), or with a real store configured — and dev only on a
/// laptop with the embedded store: dev (the ops token as an admin session, no secret
/// checks) must be asked for where real data lives.
fn app_env(get: Lookup, errors: &mut Vec<ConfigError>) -> AppEnv {
    let set = |var: &str| get(var).is_some_and(|v| !v.trim().is_empty());
    match get("APP_ENV").as_deref().map(str::trim) {
        Some("dev") => AppEnv::Dev,
        Some("prod") => AppEnv::Prod,
        None | Some("") => {
            let deployed =
                PLATFORM_VARIABLES.iter().any(|v| set(v)) || set("MONGODB_URI") || set("REDIS_URL");
            if deployed {
                AppEnv::Prod
            } else {
                AppEnv::Dev
            }
        }
        Some(other) => {
            errors.push(ConfigError {
                variable: "APP_ENV",
                message: format!("must be dev or prod, got {other:?}"),
            });
            AppEnv::Dev
        }
    }
}

/// Why a secret is too weak to sign or seal with, if it is: shorter than 32 bytes, or fewer
/// than 10 distinct bytes (a repeated character, a placeholder).
fn weakness(secret: &[u8]) -> Option<String> {
    let distinct = secret
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if secret.len() < 32 {
        Some("must be at least 32 bytes".into())
    } else if distinct < 10 {
        Some("is too repetitive to be a secret (fewer than 10 distinct characters)".into())
    } else {
        None
    }
}

/// A 32-byte key written as 64 hexadecimal characters.
fn hex_key(value: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(value.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| "must be 32 bytes written as 64 hexadecimal characters".to_string())?;
    match weakness(&bytes) {
        Some(_) => Err("is too repetitive to be a key (fewer than 10 distinct bytes)".into()),
        None => Ok(bytes),
    }
}

/// `PHASE1_ENCRYPTION_KEY` and, during a rotation, `PHASE1_ENCRYPTION_KEY_PREVIOUS`.
fn encryption_keys(get: Lookup, errors: &mut Vec<ConfigError>) -> Option<Keyring> {
    let read = |var: &'static str, errors: &mut Vec<ConfigError>| {
        let v = get(var).filter(|v| !v.trim().is_empty())?;
        hex_key(&v)
            .map_err(|message| {
                errors.push(ConfigError {
                    variable: var,
                    message,
                })
            })
            .ok()
    };
    let current = read("PHASE1_ENCRYPTION_KEY", errors);
    let previous = read("PHASE1_ENCRYPTION_KEY_PREVIOUS", errors);
    match (current, previous) {
        (Some(c), p) => Some(Keyring::new(c, p)),
        (None, Some(_)) => {
            errors.push(ConfigError {
                variable: "PHASE1_ENCRYPTION_KEY",
                message: "is required when PHASE1_ENCRYPTION_KEY_PREVIOUS is set".into(),
            });
            None
        }
        (None, None) => None,
    }
}

/// Comma-separated CIDRs or single addresses.
pub fn networks(value: &str, var: &'static str, errors: &mut Vec<ConfigError>) -> Vec<IpNet> {
    let mut nets = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parsed = entry
            .parse::<IpNet>()
            .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from));
        match parsed {
            Ok(n) => nets.push(n.trunc()),
            Err(_) => errors.push(ConfigError {
                variable: var,
                message: format!("{entry:?} is not an IP address or CIDR (e.g. 10.0.0.0/8)"),
            }),
        }
    }
    nets
}

/// Comma-separated origins: `http(s)://host[:port]`, no path, no wildcard.
fn origins(value: &str, errors: &mut Vec<ConfigError>) -> Vec<String> {
    let mut out = Vec::new();
    for entry in value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let rest = entry
            .strip_prefix("https://")
            .or_else(|| entry.strip_prefix("http://"));
        let ok = rest.is_some_and(|host| {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
        if ok {
            out.push(entry.to_string());
        } else {
            errors.push(ConfigError {
                variable: "PHASE1_CORS_ORIGINS",
                message: format!(
                    "{entry:?} is not an origin: http(s)://host[:port], without path or wildcard"
                ),
            });
        }
    }
    out
}

/// With APP_ENV=prod: the signing key, the sealing key and the ops token must all be set
/// (`secret_key` and `encryption` say whether they are; their values are checked where they
/// are read), and the ops token must be strong.
fn prod_secrets(
    secret_key: bool,
    encryption: bool,
    admin_token: Option<&AdminToken>,
    errors: &mut Vec<ConfigError>,
) {
    let required = |variable: &'static str, what: &str| ConfigError {
        variable,
        message: format!("is required when APP_ENV=prod ({what})"),
    };
    if !secret_key {
        errors.push(required("SECRET_KEY", "it signs the access tokens"));
    }
    if !encryption {
        errors.push(required(
            "PHASE1_ENCRYPTION_KEY",
            "it seals the TOTP secrets",
        ));
    }
    match admin_token {
        None => errors.push(required(
            "PHASE1_ADMIN_TOKEN",
            "or PHASE1_ADMIN_TOKEN_SHA256: the ops token",
        )),
        Some(AdminToken::Plain(t)) => {
            if let Some(why) = weakness(t.as_bytes()) {
                errors.push(ConfigError {
                    variable: "PHASE1_ADMIN_TOKEN",
                    message: format!("{why} when APP_ENV=prod"),
                });
            }
        }
        Some(AdminToken::Sha256(_)) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<Config, Vec<ConfigError>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(&|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_local_and_embedded() {
        let c = load(&[]).expect("valid");
        assert_eq!(c.env, AppEnv::Dev);
        assert_eq!(c.stores.mongodb_uri, None);
        assert_eq!(c.stores.retention_days, 30);
        assert_eq!(c.stores.key_prefix, "phase1:dev:");
        assert_eq!(c.stores.connect_timeout, Duration::from_secs(2));
        assert_eq!(c.stores.op_timeout, Duration::from_secs(5));
    }

    const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const SECRET: &str = "prod-signing-key-0123456789abcdefghijklmnop";
    const TOKEN: &str = "prod-ops-token-0123456789abcdefghijklmnop";

    fn prod(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars = vec![
            ("APP_ENV", "prod"),
            ("MONGODB_URI", "mongodb+srv://u:p@cluster.example.net/"),
            ("REDIS_URL", "rediss://default:p@eu1.example.io:6379"),
            ("SECRET_KEY", SECRET),
            ("PHASE1_ENCRYPTION_KEY", KEY_HEX),
            ("PHASE1_ADMIN_TOKEN", TOKEN),
        ];
        for (k, v) in extra {
            vars.retain(|(name, _)| name != k);
            if !v.is_empty() {
                vars.push((k, v));
            }
        }
        vars
    }

    fn refused_vars(pairs: &[(&str, &str)]) -> Vec<&'static str> {
        load(pairs)
            .expect_err("refused")
            .iter()
            .map(|e| e.variable)
            .collect()
    }

    #[test]
    fn prod_requires_the_real_stores_and_every_secret() {
        assert_eq!(
            refused_vars(&[("APP_ENV", "prod")]),
            [
                "MONGODB_URI",
                "REDIS_URL",
                "SECRET_KEY",
                "PHASE1_ENCRYPTION_KEY",
                "PHASE1_ADMIN_TOKEN"
            ]
        );
        let ok = load(&prod(&[])).expect("valid");
        assert_eq!(ok.stores.key_prefix, "phase1:prod:");
        assert!(ok.encryption.is_some());
        let hashed = load(&prod(&[
            ("PHASE1_ADMIN_TOKEN", ""),
            ("PHASE1_ADMIN_TOKEN_SHA256", KEY_HEX),
        ]));
        assert!(hashed.is_ok(), "the token's SHA-256 stands in for it");
    }

    #[test]
    fn prod_refuses_weak_secrets_naming_each() {
        for (var, value) in [
            ("SECRET_KEY", "short-key"),
            ("SECRET_KEY", "abababababababababababababababababab"),
            ("PHASE1_ADMIN_TOKEN", "local-dev-token"),
            (
                "PHASE1_ADMIN_TOKEN",
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            ),
            ("PHASE1_ENCRYPTION_KEY", "00ff"),
            (
                "PHASE1_ENCRYPTION_KEY",
                "0000000000000000000000000000000000000000000000000000000000000000",
            ),
        ] {
            let errs = load(&prod(&[(var, value)])).expect_err(var);
            assert_eq!(errs.len(), 1, "{var}={value}: {errs:?}");
            assert_eq!(errs[0].variable, var);
            assert!(!errs[0].message.contains(value), "the value is not echoed");
        }
    }

    /// L2 of the 2026-12-03 audit: `CRON_SECRET=x` and `PHASE1_INTERNAL_KEY=x` passed in
    /// prod.
    #[test]
    fn prod_refuses_a_weak_cron_secret_or_internal_key() {
        for var in ["CRON_SECRET", "PHASE1_INTERNAL_KEY"] {
            for weak in ["x", "abababababababababababababababababab"] {
                let errs = load(&prod(&[(var, weak)])).expect_err(var);
                assert_eq!(errs.len(), 1, "{var}={weak}: {errs:?}");
                assert_eq!(errs[0].variable, var);
                assert!(errs[0].message.contains("APP_ENV=prod"), "{errs:?}");
            }
        }
        let strong = "cron-secret-0123456789abcdefghijklmnopq";
        let ok = load(&prod(&[
            ("CRON_SECRET", strong),
            ("PHASE1_INTERNAL_KEY", strong),
        ]));
        assert!(ok.is_ok(), "{ok:?}");
        assert!(
            load(&[("CRON_SECRET", "x"), ("PHASE1_INTERNAL_KEY", "x")]).is_ok(),
            "dev does not judge them"
        );
    }

    #[test]
    fn alert_webhooks_are_https_or_loopback_need_a_secret_and_never_print() {
        let hooks = "https://hooks.example.net/services/T0/B0/tok3n, http://127.0.0.1:9999/hook";
        let c = load(&[
            ("PHASE1_ALERT_WEBHOOKS", hooks),
            ("PHASE1_ALERT_SECRET", "a"),
        ])
        .expect("valid");
        assert_eq!(c.alerts.webhooks.len(), 2);
        assert_eq!(c.alerts.webhooks[0].host(), "hooks.example.net");
        assert_eq!(c.alerts.webhooks[1].host(), "127.0.0.1:9999");
        assert_eq!(c.alerts.backoff_ms, 30_000);
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("tok3n") && !shown.contains("/hook"),
            "{shown}"
        );
        let errs = load(&[("PHASE1_ALERT_WEBHOOKS", hooks)]).expect_err("no secret");
        assert_eq!(errs[0].variable, "PHASE1_ALERT_SECRET");
        let errs = load(&[
            (
                "PHASE1_ALERT_WEBHOOKS",
                "http://hooks.example.com/x/secret-path",
            ),
            ("PHASE1_ALERT_SECRET", "a"),
        ])
        .expect_err("plain http elsewhere");
        assert_eq!(errs[0].variable, "PHASE1_ALERT_WEBHOOKS");
        assert!(!errs[0].message.contains("secret-path"), "{errs:?}");
        let errs = load(&prod(&[
            ("PHASE1_ALERT_WEBHOOKS", "https://hooks.example.com/x"),
            ("PHASE1_ALERT_SECRET", "short"),
        ]))
        .expect_err("weak in prod");
        assert_eq!(errs[0].variable, "PHASE1_ALERT_SECRET");
    }

    /// L1 of the 2026-12-03 audit: without APP_ENV, a deployment with real stores ran in
    /// dev, where `X-Admin-Token: changeme` is an admin session.
    #[test]
    fn without_app_env_a_deployment_is_prod_and_dev_must_be_asked_for() {
        let stores = [
            ("MONGODB_URI", "mongodb+srv://u:p@cluster.example.net/"),
            ("REDIS_URL", "rediss://default:p@eu1.example.io:6379"),
        ];
        let platform = |var: &'static str, value: &'static str| {
            let mut vars = stores.to_vec();
            vars.push((var, value));
            vars.push(("PHASE1_ADMIN_TOKEN", "changeme"));
            vars
        };
        for (var, value) in [
            ("VERCEL", "1"),
            ("AWS_LAMBDA_FUNCTION_NAME", "phase1-run"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ] {
            let refused = refused_vars(&platform(var, value));
            assert!(
                refused.contains(&"PHASE1_ADMIN_TOKEN") && refused.contains(&"SECRET_KEY"),
                "{var}: {refused:?}"
            );
        }
        for store in stores {
            let refused = refused_vars(&[store, ("PHASE1_ADMIN_TOKEN", "changeme")]);
            assert!(
                refused.contains(&"PHASE1_ADMIN_TOKEN"),
                "{store:?}: {refused:?}"
            );
        }
        let mut asked = stores.to_vec();
        asked.push(("APP_ENV", "dev"));
        assert_eq!(load(&asked).expect("dev when asked").env, AppEnv::Dev);
        let c = load(&prod(&[("APP_ENV", "")])).expect("valid without APP_ENV");
        assert_eq!(c.env, AppEnv::Prod);
        assert_eq!(c.stores.key_prefix, "phase1:prod:");
        assert_eq!(load(&[("VERCEL", "")]).expect("valid").env, AppEnv::Dev);
    }

    #[test]
    fn dev_allows_a_short_ops_token_but_not_a_short_signing_key() {
        assert!(load(&[("PHASE1_ADMIN_TOKEN", "local-dev-token")]).is_ok());
        assert_eq!(refused_vars(&[("SECRET_KEY", "short")]), ["SECRET_KEY"]);
    }

    #[test]
    fn encryption_keys_rotate_only_with_a_current_key() {
        let c = load(&[
            ("PHASE1_ENCRYPTION_KEY", KEY_HEX),
            (
                "PHASE1_ENCRYPTION_KEY_PREVIOUS",
                "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100",
            ),
        ])
        .expect("valid");
        assert!(c.encryption.expect("keys").has_previous());
        assert_eq!(
            refused_vars(&[("PHASE1_ENCRYPTION_KEY_PREVIOUS", KEY_HEX)]),
            ["PHASE1_ENCRYPTION_KEY"]
        );
    }

    #[test]
    fn allowlist_origins_and_rate_limits_parse() {
        let c = load(&[
            (
                "PHASE1_OPS_ALLOWLIST",
                "10.0.0.0/8, 192.168.1.7, 2001:db8::/32",
            ),
            (
                "PHASE1_CORS_ORIGINS",
                "https://app.example.com,http://localhost:5173",
            ),
            ("PHASE1_RATE_LIMITS", "auth=50"),
        ])
        .expect("valid");
        let nets: Vec<String> = c.ops_allowlist.iter().map(ToString::to_string).collect();
        assert_eq!(nets, ["10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32"]);
        assert_eq!(
            c.cors_origins,
            ["https://app.example.com", "http://localhost:5173"]
        );
        assert_eq!(c.rate_limits.limit(crate::limits::RateClass::Auth), 50);
        assert_eq!(
            refused_vars(&[
                ("PHASE1_OPS_ALLOWLIST", "10.0.0.0/33"),
                ("PHASE1_CORS_ORIGINS", "*"),
                ("PHASE1_RATE_LIMITS", "auth=zero"),
            ]),
            [
                "PHASE1_OPS_ALLOWLIST",
                "PHASE1_CORS_ORIGINS",
                "PHASE1_RATE_LIMITS"
            ]
        );
        assert_eq!(
            refused_vars(&[("PHASE1_CORS_ORIGINS", "https://app.example.com/path")]),
            ["PHASE1_CORS_ORIGINS"]
        );
    }

    #[test]
    fn bad_values_name_their_variable_and_hide_secrets() {
        let errs = load(&[
            ("APP_ENV", "staging"),
            ("MONGODB_URI", "postgres://secret@host"),
            ("PHASE1_RETENTION_DAYS", "0"),
            ("PHASE1_STORE_OP_TIMEOUT_MS", "soon"),
            ("MONGODB_DB", "bad name"),
        ])
        .expect_err("refused");
        let vars: Vec<&str> = errs.iter().map(|e| e.variable).collect();
        assert_eq!(
            vars,
            [
                "APP_ENV",
                "MONGODB_URI",
                "MONGODB_DB",
                "PHASE1_RETENTION_DAYS",
                "PHASE1_STORE_OP_TIMEOUT_MS"
            ]
        );
        assert!(errs.iter().all(|e| !e.message.contains("secret")));
    }
}
