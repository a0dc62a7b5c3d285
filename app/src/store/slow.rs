//! Slow store calls: a process-wide, bounded record of the store operations that took
//! longer than a threshold.
//!
//! Every backend reports each operation through one chokepoint
//! ([`super::error::with_timeout`], which the MongoDB, Redis and embedded stores all run
//! their calls under) with the store's name and the operation's name (the trait method,
//! e.g. `save_run`, `rate_limit`). The duration covers the whole call, timeout included. A
//! call over the threshold ([`set_threshold_ms`], default [`DEFAULT_THRESHOLD_MS`]) is kept
//! in a buffer of at most [`CAPACITY`] entries, the oldest dropped first, until [`drain`]
//! takes them.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::Duration;

/// How many slow calls the buffer holds; older ones are dropped.
pub const CAPACITY: usize = 256;

/// The threshold until [`set_threshold_ms`] changes it, in milliseconds.
pub const DEFAULT_THRESHOLD_MS: u64 = 100;

/// One store call that took longer than the threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowCall {
    /// Which store: "mongodb", "redis" or "embedded".
    pub store: &'static str,
    /// The operation, e.g. "save_run".
    pub op: &'static str,
    /// How long it took, in milliseconds.
    pub ms: f64,
}

/// A threshold and a bounded buffer: the process has one (`GLOBAL`); tests make their own.
struct SlowLog {
    threshold_ms: AtomicU64,
    calls: Mutex<VecDeque<SlowCall>>,
    capacity: usize,
}

impl SlowLog {
    fn new(threshold_ms: u64, capacity: usize) -> SlowLog {
        SlowLog {
            threshold_ms: AtomicU64::new(threshold_ms),
            calls: Mutex::new(VecDeque::new()),
            capacity,
        }
    }

    fn calls(&self) -> MutexGuard<'_, VecDeque<SlowCall>> {
        // A panic while holding the lock cannot leave the buffer inconsistent.
        self.calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn set_threshold_ms(&self, ms: u64) {
        self.threshold_ms.store(ms, Ordering::Relaxed);
    }

    fn threshold_ms(&self) -> u64 {
        self.threshold_ms.load(Ordering::Relaxed)
    }

    /// Whether a call of `elapsed` is slow: over the threshold, or any call at threshold 0.
    fn is_slow(&self, elapsed: Duration) -> bool {
        let threshold = self.threshold_ms();
        threshold == 0 || elapsed > Duration::from_millis(threshold)
    }

    fn note(&self, store: &'static str, op: &'static str, elapsed: Duration) {
        if !self.is_slow(elapsed) {
            return;
        }
        let call = SlowCall {
            store,
            op,
            ms: ms(elapsed),
        };
        let mut calls = self.calls();
        while calls.len() >= self.capacity.max(1) {
            calls.pop_front();
        }
        calls.push_back(call);
    }

    fn drain(&self) -> Vec<SlowCall> {
        self.calls().drain(..).collect()
    }
}

/// A duration in milliseconds; exact for whole milliseconds.
fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

/// The process-wide record.
static GLOBAL: LazyLock<SlowLog> = LazyLock::new(|| SlowLog::new(DEFAULT_THRESHOLD_MS, CAPACITY));

/// Sets the threshold in milliseconds: calls taking longer are recorded (0: every call).
pub fn set_threshold_ms(ms: u64) {
    GLOBAL.set_threshold_ms(ms);
}

/// The current threshold in milliseconds.
pub fn threshold_ms() -> u64 {
    GLOBAL.threshold_ms()
}

/// Reports one store call of `store` (its name in errors) and `op` (the operation) that took
/// `elapsed`; recorded when it is over the threshold.
pub fn note(store: &'static str, op: &'static str, elapsed: Duration) {
    #[cfg(test)]
    seen::push(SlowCall {
        store,
        op,
        ms: ms(elapsed),
    });
    GLOBAL.note(store, op, elapsed);
}

/// Takes every slow call recorded so far, oldest first, leaving the buffer empty.
pub fn drain() -> Vec<SlowCall> {
    GLOBAL.drain()
}

/// Tests: every call reported on this thread, whatever its duration, so a test can check
/// which operation names a store reports without touching the process-wide threshold or
/// buffer (which tests running in parallel share).
#[cfg(test)]
pub(crate) mod seen {
    use super::SlowCall;
    use std::cell::RefCell;

    thread_local! {
        static SEEN: RefCell<Vec<SlowCall>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn push(call: SlowCall) {
        SEEN.with(|s| s.borrow_mut().push(call));
    }

    /// Takes the calls reported on this thread so far, slow or not.
    pub(crate) fn take() -> Vec<SlowCall> {
        SEEN.with(|s| std::mem::take(&mut *s.borrow_mut()))
    }

    /// Takes the (store, op) names of the calls reported on this thread so far.
    pub(crate) fn names() -> Vec<(&'static str, &'static str)> {
        take().into_iter().map(|c| (c.store, c.op)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn threshold_zero_records_every_call_and_a_high_one_none() {
        let log = SlowLog::new(0, CAPACITY);
        log.note("redis", "ping", Duration::ZERO);
        log.note("redis", "rate_limit", MS * 3);
        assert_eq!(
            log.drain(),
            vec![
                SlowCall {
                    store: "redis",
                    op: "ping",
                    ms: 0.0
                },
                SlowCall {
                    store: "redis",
                    op: "rate_limit",
                    ms: 3.0
                },
            ]
        );

        log.set_threshold_ms(u64::MAX);
        assert_eq!(log.threshold_ms(), u64::MAX);
        log.note("mongodb", "save_run", Duration::from_secs(3_600));
        assert!(log.drain().is_empty());

        // Over, not at, the threshold.
        log.set_threshold_ms(100);
        log.note("embedded", "get_run", MS * 100);
        log.note("embedded", "get_run", MS * 100 + Duration::from_micros(1));
        let calls = log.drain();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].ms, 100.001);
    }

    #[test]
    fn drain_empties_the_buffer() {
        let log = SlowLog::new(0, CAPACITY);
        for _ in 0..3 {
            log.note("embedded", "save_project", MS);
        }
        assert_eq!(log.drain().len(), 3);
        assert!(log.drain().is_empty());
        log.note("embedded", "get_project", MS);
        assert_eq!(log.drain()[0].op, "get_project");
    }

    #[test]
    fn the_buffer_keeps_the_newest_calls_up_to_its_capacity() {
        let log = SlowLog::new(0, CAPACITY);
        for i in 0..CAPACITY as u64 + 10 {
            log.note("redis", "add_metrics", MS * i as u32);
        }
        let calls = log.drain();
        assert_eq!(calls.len(), CAPACITY);
        assert_eq!(calls[0].ms, 10.0, "the 10 oldest were dropped");
        assert_eq!(calls[CAPACITY - 1].ms, (CAPACITY + 9) as f64);
    }

    #[test]
    fn a_slow_call_serializes_as_json() {
        let call = SlowCall {
            store: "mongodb",
            op: "claim_run",
            ms: 150.5,
        };
        assert_eq!(
            serde_json::to_value(&call).unwrap(),
            serde_json::json!({"store": "mongodb", "op": "claim_run", "ms": 150.5})
        );
    }

    #[test]
    fn note_reports_every_call_on_this_thread() {
        // Leaves the shared threshold and buffer alone: other tests use them concurrently.
        let _ = seen::take();
        note("embedded", "ping", MS * 2);
        assert_eq!(
            seen::take(),
            vec![SlowCall {
                store: "embedded",
                op: "ping",
                ms: 2.0
            }]
        );
        assert!(seen::names().is_empty());
    }
}
