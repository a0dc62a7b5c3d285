//! Rate-limit classes and their limits (api.md, "Rate limits"): every `/api/` request is
//! counted per client IP and route class in fixed one-minute windows; a refused request is a
//! violation, and the third violation within ten minutes blocks the IP for 24 hours.
//!
//! The per-minute counts are configuration (`PHASE1_RATE_LIMITS`, e.g. `auth=5,run=20`), with
//! the spec's values as defaults.

use serde::Serialize;

/// The route classes a request is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateClass {
    /// Sign-in: login, MFA, refresh, password change.
    Auth,
    /// User creation.
    Users,
    /// Engine runs (`POST /api/phase1/run`).
    Run,
    /// Flag writes.
    Flags,
    /// Every other `/api/` request.
    Api,
}

impl RateClass {
    /// Every class, in the order of `PHASE1_RATE_LIMITS`.
    pub const ALL: [RateClass; 5] = [
        RateClass::Auth,
        RateClass::Users,
        RateClass::Run,
        RateClass::Flags,
        RateClass::Api,
    ];

    /// The class's name, as in keys and `PHASE1_RATE_LIMITS`.
    pub fn as_str(self) -> &'static str {
        match self {
            RateClass::Auth => "auth",
            RateClass::Users => "users",
            RateClass::Run => "run",
            RateClass::Flags => "flags",
            RateClass::Api => "api",
        }
    }

    /// Sign-in classes fail closed when the key-value store is down; the others fail open.
    pub fn fails_closed(self) -> bool {
        self == RateClass::Auth
    }
}

/// The limits: requests per window per class, and the blocking policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per window, by class (in [`RateClass::ALL`] order).
    per_window: [u64; 5],
    /// Window length.
    pub window_ms: i64,
    /// Violations that block an IP…
    pub violations_to_block: u64,
    /// …within this period.
    pub violation_period_ms: i64,
    /// How long a block lasts.
    pub block_ms: i64,
}

impl Default for RateLimits {
    /// api.md: auth 5/min, user creation 3/min, run 20/min, flag writes 5/min, other /api/
    /// 50/min; three violations within 10 minutes block for 24 h.
    fn default() -> RateLimits {
        RateLimits {
            per_window: [5, 3, 20, 5, 50],
            window_ms: 60_000,
            violations_to_block: 3,
            violation_period_ms: 10 * 60_000,
            block_ms: 24 * 3_600_000,
        }
    }
}

impl RateLimits {
    /// Requests allowed per window for `class`.
    pub fn limit(&self, class: RateClass) -> u64 {
        self.per_window[class as usize]
    }

    /// The defaults with the overrides of `PHASE1_RATE_LIMITS`: comma-separated
    /// `class=count` pairs (count 1..=1,000,000 per minute).
    pub fn parse(spec: &str) -> Result<RateLimits, String> {
        let mut limits = RateLimits::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, count)) = part.split_once('=') else {
                return Err(format!("{part:?} is not class=count"));
            };
            let class = RateClass::ALL
                .into_iter()
                .find(|c| c.as_str() == name.trim())
                .ok_or_else(|| {
                    format!(
                        "unknown class {:?} (classes: auth, users, run, flags, api)",
                        name.trim()
                    )
                })?;
            let n = count
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| {
                    format!(
                        "{}: count must be an integer from 1 to 1000000",
                        class.as_str()
                    )
                })?;
            limits.per_window[class as usize] = n;
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_values() {
        let l = RateLimits::default();
        let got: Vec<u64> = RateClass::ALL.iter().map(|c| l.limit(*c)).collect();
        assert_eq!(got, [5, 3, 20, 5, 50]);
        assert_eq!(l.violations_to_block, 3);
        assert_eq!(l.violation_period_ms, 600_000);
        assert_eq!(l.block_ms, 86_400_000);
    }

    #[test]
    fn overrides_change_only_the_named_classes() {
        let l = RateLimits::parse(" auth=100, api=7 ").expect("valid");
        assert_eq!(l.limit(RateClass::Auth), 100);
        assert_eq!(l.limit(RateClass::Api), 7);
        assert_eq!(l.limit(RateClass::Run), 20);
        assert_eq!(RateLimits::parse("").expect("empty"), RateLimits::default());
    }

    #[test]
    fn bad_overrides_say_what_is_wrong() {
        assert!(RateLimits::parse("auth")
            .unwrap_err()
            .contains("not class=count"));
        assert!(RateLimits::parse("login=5")
            .unwrap_err()
            .contains("unknown class"));
        assert!(RateLimits::parse("run=0").unwrap_err().contains("run"));
        assert!(RateLimits::parse("run=x").unwrap_err().contains("run"));
    }
}
