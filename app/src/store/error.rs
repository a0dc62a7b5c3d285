//! Store errors: what a caller can do something about, typed.

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or did not answer in time (HTTP 503
    /// STORE_UNAVAILABLE). Nothing was written, or the write is safe to retry.
    #[error("{store} store unavailable: {reason}")]
    Unavailable {
        /// Which store: "mongodb", "redis" or "embedded".
        store: &'static str,
        /// What went wrong, for logs (never a credential).
        reason: String,
    },
    /// An optimistic-concurrency check failed: the stored version is not the expected one
    /// (HTTP 412 VERSION_CONFLICT).
    #[error("version conflict: expected {expected:?}, found {found:?}")]
    VersionConflict {
        /// The version the caller expected (None: expected no record).
        expected: Option<u64>,
        /// The version found (None: no record).
        found: Option<u64>,
    },
    /// A unique key is already taken (HTTP 409).
    #[error("{what} already exists")]
    Duplicate {
        /// What collided, e.g. "user alice@example.com".
        what: String,
    },
    /// A stored record could not be read back: a bug or a hand-edited store.
    #[error("corrupt record in {store}: {reason}")]
    Corrupt {
        /// Which store.
        store: &'static str,
        /// What could not be decoded.
        reason: String,
    },
}

impl StoreError {
    /// An unavailable-store error.
    pub fn unavailable(store: &'static str, reason: impl std::fmt::Display) -> StoreError {
        StoreError::Unavailable {
            store,
            reason: reason.to_string(),
        }
    }

    /// A corrupt-record error.
    pub fn corrupt(store: &'static str, reason: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            store,
            reason: reason.to_string(),
        }
    }

    /// The stable problem code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Unavailable { .. } => "STORE_UNAVAILABLE",
            StoreError::VersionConflict { .. } => "VERSION_CONFLICT",
            StoreError::Duplicate { .. } => "CONFLICT",
            StoreError::Corrupt { .. } => "STORE_CORRUPT",
        }
    }
}

/// Runs a store future under the operation timeout, turning a timeout into
/// [`StoreError::Unavailable`], and reports the call's duration (timeout included) to
/// [`super::slow`] under `op`, the operation's name (the trait method, e.g. "save_run").
pub async fn with_timeout<T>(
    store: &'static str,
    op: &'static str,
    timeout: std::time::Duration,
    fut: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let start = std::time::Instant::now();
    let out = match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(StoreError::unavailable(
            store,
            format!("no answer within {} ms", timeout.as_millis()),
        )),
    };
    super::slow::note(store, op, start.elapsed());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::slow::seen;
    use std::time::Duration;

    #[tokio::test]
    async fn with_timeout_reports_the_call_under_its_name_timeout_included() {
        let _ = seen::take();
        let ok = with_timeout("redis", "ping", Duration::from_secs(5), async { Ok(7) }).await;
        assert_eq!(ok, Ok(7));
        let err = with_timeout("mongodb", "save_run", Duration::from_millis(30), async {
            std::future::pending::<Result<(), StoreError>>().await
        })
        .await
        .unwrap_err();
        assert_eq!(err.code(), "STORE_UNAVAILABLE");
        assert!(err.to_string().contains("no answer within 30 ms"), "{err}");
        let failed = with_timeout("embedded", "get_run", Duration::from_secs(5), async {
            Err::<(), _>(StoreError::corrupt("embedded", "bad"))
        })
        .await;
        assert!(matches!(failed, Err(StoreError::Corrupt { .. })));
        let calls = seen::take();
        let names: Vec<_> = calls.iter().map(|c| (c.store, c.op)).collect();
        assert_eq!(
            names,
            [
                ("redis", "ping"),
                ("mongodb", "save_run"),
                ("embedded", "get_run")
            ]
        );
        assert!(calls[1].ms >= 30.0, "{calls:?}");
    }
}
