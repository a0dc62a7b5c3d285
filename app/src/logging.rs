//! Structured logs: JSON lines on stderr (`tracing` with `tracing-subscriber`'s JSON format),
//! one object per event with its fields flattened beside `timestamp`, `level`, `target` and
//! `message`. Users appear only as [`user_hash`]; passwords, tokens, TOTP codes, secrets and
//! cookies are never logged.

use sha2::{Digest, Sha256};

/// Installs the JSON subscriber for this process (a second call does nothing). The level is
/// `PHASE1_LOG` (error, warn, info, debug; default info).
pub fn init() {
    let level = match std::env::var("PHASE1_LOG").as_deref().map(str::trim) {
        Ok("error") => tracing::Level::ERROR,
        Ok("warn") => tracing::Level::WARN,
        Ok("debug") => tracing::Level::DEBUG,
        _ => tracing::Level::INFO,
    };
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .try_init();
}

/// How a user appears in logs: 16 hex digits of SHA-256("phase1-user:" ‖ email).
pub fn user_hash(email: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"phase1-user:")
        .chain_update(email.as_bytes())
        .finalize();
    hex::encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    #[test]
    fn user_hashes_are_stable_and_hide_the_email() {
        let h = super::user_hash("ada@example.com");
        assert_eq!(h.len(), 16);
        assert_eq!(h, super::user_hash("ada@example.com"));
        assert_ne!(h, super::user_hash("eve@example.com"));
        assert!(!h.contains("ada"));
    }
}
