//! Configuration: environment variables, read and validated once at start-up. A bad value
//! stops start-up with a message naming the variable.

use crate::store::StoreSettings;
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

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `APP_ENV`.
    pub env: AppEnv,
    /// Store settings.
    pub stores: StoreSettings,
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
        let env = match get("APP_ENV").as_deref().map(str::trim) {
            None | Some("") | Some("dev") => AppEnv::Dev,
            Some("prod") => AppEnv::Prod,
            Some(other) => {
                errors.push(ConfigError {
                    variable: "APP_ENV",
                    message: format!("must be dev or prod, got {other:?}"),
                });
                AppEnv::Dev
            }
        };
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
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Config {
            env,
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

    #[test]
    fn prod_requires_the_real_stores() {
        let errs = load(&[("APP_ENV", "prod")]).expect_err("refused");
        let vars: Vec<&str> = errs.iter().map(|e| e.variable).collect();
        assert_eq!(vars, ["MONGODB_URI", "REDIS_URL"]);
        let ok = load(&[
            ("APP_ENV", "prod"),
            ("MONGODB_URI", "mongodb+srv://u:p@cluster.example.net/"),
            ("REDIS_URL", "rediss://default:p@eu1.example.io:6379"),
        ])
        .expect("valid");
        assert_eq!(ok.stores.key_prefix, "phase1:prod:");
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
