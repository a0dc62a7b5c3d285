//! Bounded waiting: every wait in these tests has a deadline.

use std::future::Future;
use std::time::{Duration, Instant};

/// Pause between two tries of a poll.
pub const POLL_EVERY: Duration = Duration::from_millis(25);

/// Calls `try_once` until it returns `Some`, at most for `timeout`; panics naming `what`
/// when the deadline passes.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, mut try_once: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = try_once().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}
