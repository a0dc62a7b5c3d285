//! Self-inflicted waits: time a request spends waiting on its own caller rather than on the
//! service — reading a body the client sends slowly, or queueing behind the same user's
//! engine work on this instance. The canary judges latency without them, so one caller
//! cannot make the service look slow by slowing themselves down.
//!
//! The envelope opens a scope per request ([`measured`]); code on the request's task adds
//! to it with [`timed`]. Outside a scope nothing is recorded.

use std::cell::Cell;
use std::future::Future;
use std::time::Instant;

tokio::task_local! {
    /// Milliseconds waited on the caller in the current request.
    static WAITED_MS: Cell<f64>;
}

/// Runs `fut` in a fresh scope; returns its output and the milliseconds it waited on its
/// caller.
pub async fn measured<F: Future>(fut: F) -> (F::Output, f64) {
    WAITED_MS
        .scope(Cell::new(0.0), async move {
            let out = fut.await;
            (out, WAITED_MS.with(Cell::get))
        })
        .await
}

/// Awaits `fut`, counting its time as a wait on the caller.
pub async fn timed<F: Future>(fut: F) -> F::Output {
    let started = Instant::now();
    let out = fut.await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let _ = WAITED_MS.try_with(|w| w.set(w.get() + ms));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn only_timed_waits_inside_the_scope_count() {
        let ((), waited) = measured(async {
            timed(tokio::time::sleep(Duration::from_millis(30))).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
            timed(async {}).await;
        })
        .await;
        assert!(waited >= 30.0, "{waited}");
        // Outside a scope, nothing is recorded and nothing fails.
        timed(async {}).await;
        let ((), none) = measured(async {}).await;
        assert_eq!(none, 0.0);
    }
}
