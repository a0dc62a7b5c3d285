//! Key-value-store contract cases: each takes a fresh store and its manual clock.

use phase1_app::clock::{Clock, ManualClock};
use phase1_app::store::model::{AccountLock, LockPolicy, RateDecision, RateLimit, Rotation};
use phase1_app::store::KvStore;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const MIN: Duration = Duration::from_secs(60);

fn limit(ip: &str, n: u64) -> RateLimit<'_> {
    RateLimit {
        ip,
        class: "auth",
        limit: n,
        cost: 1,
        window_ms: 60_000,
        violations_to_block: 3,
        violation_period_ms: 600_000,
        block_ms: 86_400_000,
    }
}

pub async fn refresh_families_rotate_and_detect_reuse(s: Arc<dyn KvStore>, _c: Arc<ManualClock>) {
    s.create_refresh_family("f1", "amy@x.io", "h1", 24 * 60 * MIN)
        .await
        .expect("create");
    assert_eq!(
        s.rotate_refresh("f1", "h1", Some("h2"), 24 * 60 * MIN)
            .await
            .expect("rotate"),
        Rotation::Rotated {
            user: "amy@x.io".into()
        }
    );
    assert_eq!(
        s.rotate_refresh("f1", "h2", Some("h3"), 24 * 60 * MIN)
            .await
            .expect("rotate"),
        Rotation::Rotated {
            user: "amy@x.io".into()
        }
    );
    assert_eq!(
        s.rotate_refresh("f1", "h1", Some("hx"), 24 * 60 * MIN)
            .await
            .expect("reuse"),
        Rotation::Reused {
            user: "amy@x.io".into()
        },
        "an old token revokes the family"
    );
    assert_eq!(
        s.rotate_refresh("f1", "h3", Some("h4"), 24 * 60 * MIN)
            .await
            .expect("after"),
        Rotation::Unknown
    );
    assert_eq!(
        s.rotate_refresh("nope", "h", Some("h"), MIN)
            .await
            .expect("unknown"),
        Rotation::Unknown
    );
    s.create_refresh_family("f2", "amy@x.io", "k1", MIN)
        .await
        .expect("create");
    assert!(s.revoke_family("f2").await.expect("revoke"));
    assert!(!s.revoke_family("f2").await.expect("revoke again"));
}

/// L5 of the 2026-12-03 audit: a made-up token naming a family (its id is the access
/// token's `sid`) revoked it. Only a hash the family issued counts as reuse.
pub async fn only_an_issued_token_counts_as_reuse(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    let day = 24 * 60 * MIN;
    s.create_refresh_family("f1", "amy@x.io", "h1", day)
        .await
        .expect("create");
    assert_eq!(
        s.rotate_refresh("f1", "forged", Some("hx"), day)
            .await
            .expect("forged"),
        Rotation::Unknown,
        "a hash the family never issued changes nothing"
    );
    assert!(matches!(
        s.rotate_refresh("f1", "h1", Some("h2"), day)
            .await
            .expect("the holder still rotates"),
        Rotation::Rotated { .. }
    ));
    assert_eq!(
        s.rotate_refresh("f1", "forged-again", None, day)
            .await
            .expect("forged end"),
        Rotation::Unknown,
        "nor can a made-up token end it"
    );
    // A rotated token is remembered until its own expiry: within it, reuse revokes.
    for (i, (from, to)) in [("h2", "h3"), ("h3", "h4")].into_iter().enumerate() {
        c.advance(60_000);
        assert!(
            matches!(
                s.rotate_refresh("f1", from, Some(to), day)
                    .await
                    .expect("rotate"),
                Rotation::Rotated { .. }
            ),
            "rotation {i}"
        );
    }
    assert_eq!(
        s.rotate_refresh("f1", "h2", Some("hz"), day)
            .await
            .expect("reuse"),
        Rotation::Reused {
            user: "amy@x.io".into()
        }
    );
    assert_eq!(
        s.rotate_refresh("f1", "h4", Some("h5"), day)
            .await
            .expect("revoked"),
        Rotation::Unknown
    );

    // Once a rotated token has expired on its own, presenting it is not reuse.
    s.create_refresh_family("f2", "amy@x.io", "a", 10 * MIN)
        .await
        .expect("create");
    c.advance(5 * 60_000);
    assert!(matches!(
        s.rotate_refresh("f2", "a", Some("b"), 10 * MIN)
            .await
            .expect("rotate"),
        Rotation::Rotated { .. }
    ));
    c.advance(6 * 60_000);
    assert_eq!(
        s.rotate_refresh("f2", "a", Some("x"), 10 * MIN)
            .await
            .expect("expired token"),
        Rotation::Unknown
    );
    assert!(matches!(
        s.rotate_refresh("f2", "b", Some("c"), 10 * MIN)
            .await
            .expect("the family lives on"),
        Rotation::Rotated { .. }
    ));
}

/// L4 of the 2026-12-03 audit: the refresh token alone ends its family (logout after the
/// access token has expired), and only the current token does.
pub async fn the_current_token_ends_its_family(s: Arc<dyn KvStore>, _c: Arc<ManualClock>) {
    s.create_refresh_family("f1", "amy@x.io", "h1", MIN)
        .await
        .expect("create");
    s.rotate_refresh("f1", "h1", Some("h2"), MIN)
        .await
        .expect("rotate");
    assert_eq!(
        s.rotate_refresh("f1", "h2", None, MIN).await.expect("end"),
        Rotation::Rotated {
            user: "amy@x.io".into()
        }
    );
    assert_eq!(
        s.rotate_refresh("f1", "h2", Some("h3"), MIN)
            .await
            .expect("after the end"),
        Rotation::Unknown
    );
    assert!(!s.revoke_family("f1").await.expect("gone"));
    // An old token presented to end the family is reuse: it revokes the family too.
    s.create_refresh_family("f2", "amy@x.io", "a", MIN)
        .await
        .expect("create");
    s.rotate_refresh("f2", "a", Some("b"), MIN)
        .await
        .expect("rotate");
    assert_eq!(
        s.rotate_refresh("f2", "a", None, MIN).await.expect("reuse"),
        Rotation::Reused {
            user: "amy@x.io".into()
        }
    );
    assert!(!s.revoke_family("f2").await.expect("gone"));
}

/// M2 of the 2026-12-03 audit: wrong codes were counted per MFA token only, so fresh
/// tokens from fresh addresses guessed on. Failures now count per account.
pub async fn sign_in_failures_lock_the_account(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    let policy = LockPolicy {
        threshold: 3,
        window_ms: 15 * 60_000,
        lock_ms: 10 * 60_000,
    };
    let now = c.now_ms();
    for n in 1..=2 {
        assert_eq!(
            s.record_signin_failure("amy", &policy, now)
                .await
                .expect("count"),
            AccountLock {
                failures: n,
                locked_until: None,
                newly_locked: false
            }
        );
    }
    assert_eq!(
        s.account_locked_until("amy", now).await.expect("read"),
        None
    );
    let locked = s
        .record_signin_failure("amy", &policy, now)
        .await
        .expect("lock");
    assert_eq!(
        locked,
        AccountLock {
            failures: 0,
            locked_until: Some(now + 10 * 60_000),
            newly_locked: true
        }
    );
    assert_eq!(
        s.account_locked_until("amy", now + 1).await.expect("read"),
        Some(now + 10 * 60_000)
    );
    let again = s
        .record_signin_failure("amy", &policy, now + 1)
        .await
        .expect("while locked");
    assert!(!again.newly_locked && again.locked_until == Some(now + 10 * 60_000));
    assert_eq!(
        s.account_locked_until("bob", now).await.expect("other"),
        None
    );
    // The lock ends by the clock, and the count starts again.
    c.advance(10 * 60_000);
    let later = c.now_ms();
    assert_eq!(
        s.account_locked_until("amy", later).await.expect("read"),
        None
    );
    assert_eq!(
        s.record_signin_failure("amy", &policy, later)
            .await
            .expect("fresh")
            .failures,
        1
    );
    // Failures older than the window are forgotten.
    c.advance(16 * 60_000);
    assert_eq!(
        s.record_signin_failure("amy", &policy, c.now_ms())
            .await
            .expect("new window")
            .failures,
        1
    );
    // An admin lifts a lock.
    for _ in 0..2 {
        s.record_signin_failure("amy", &policy, c.now_ms())
            .await
            .expect("lock");
    }
    assert!(s
        .account_locked_until("amy", c.now_ms())
        .await
        .expect("read")
        .is_some());
    assert!(s.clear_signin_failures("amy").await.expect("clear"));
    assert_eq!(
        s.account_locked_until("amy", c.now_ms())
            .await
            .expect("read"),
        None
    );
    assert!(!s.clear_signin_failures("nobody").await.expect("clear"));
}

pub async fn refresh_families_expire(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    s.create_refresh_family("f1", "amy@x.io", "h1", MIN)
        .await
        .expect("create");
    c.advance(61_000);
    assert_eq!(
        s.rotate_refresh("f1", "h1", Some("h2"), MIN)
            .await
            .expect("rotate"),
        Rotation::Unknown
    );
}

pub async fn user_sessions_are_revoked_together(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    s.create_refresh_family("f1", "bob@x.io", "a", 60 * MIN)
        .await
        .expect("create");
    s.create_refresh_family("f2", "bob@x.io", "b", 60 * MIN)
        .await
        .expect("create");
    s.create_refresh_family("f3", "eve@x.io", "c", 60 * MIN)
        .await
        .expect("create");
    assert_eq!(
        s.sessions_revoked_at("bob@x.io").await.expect("cutoff"),
        None
    );
    let at = c.now_ms();
    assert_eq!(
        s.revoke_user_sessions("bob@x.io", at, 15 * MIN)
            .await
            .expect("revoke"),
        2
    );
    assert_eq!(
        s.rotate_refresh("f1", "a", Some("a2"), MIN)
            .await
            .expect("rotate"),
        Rotation::Unknown
    );
    assert_eq!(
        s.rotate_refresh("f3", "c", Some("c2"), MIN)
            .await
            .expect("rotate"),
        Rotation::Rotated {
            user: "eve@x.io".into()
        }
    );
    assert_eq!(
        s.sessions_revoked_at("bob@x.io").await.expect("cutoff"),
        Some(at)
    );
    c.advance(16 * 60_000);
    assert_eq!(
        s.sessions_revoked_at("bob@x.io").await.expect("cutoff"),
        None
    );
}

pub async fn token_ids_are_revoked_until_expiry(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    assert!(!s.is_token_revoked("jti-1").await.expect("check"));
    s.revoke_token("jti-1", 15 * MIN).await.expect("revoke");
    assert!(s.is_token_revoked("jti-1").await.expect("check"));
    assert!(!s.is_token_revoked("jti-2").await.expect("check"));
    c.advance(15 * 60_000 + 1);
    assert!(!s.is_token_revoked("jti-1").await.expect("check"));
}

pub async fn codes_are_used_once(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    assert!(s
        .use_once("totp", "amy:123456", Duration::from_secs(90))
        .await
        .expect("first"));
    assert!(!s
        .use_once("totp", "amy:123456", Duration::from_secs(90))
        .await
        .expect("replay"));
    assert!(s
        .use_once("totp", "bob:123456", Duration::from_secs(90))
        .await
        .expect("other user"));
    c.advance(91_000);
    assert!(s
        .use_once("totp", "amy:123456", Duration::from_secs(90))
        .await
        .expect("after expiry"));
}

pub async fn attempts_count_exactly_under_concurrency(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                s.count_attempt("mfa", "token-1", Duration::from_secs(300))
                    .await
            })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.expect("task").expect("count"));
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=100).collect::<Vec<u64>>());
    c.advance(301_000);
    assert_eq!(
        s.count_attempt("mfa", "token-1", Duration::from_secs(300))
            .await
            .expect("count"),
        1
    );
}

pub async fn rate_limits_count_violations_and_block(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    // Start at the beginning of a minute so the window is predictable.
    let start = c.now_ms() - c.now_ms().rem_euclid(60_000) + 60_000;
    c.advance(start - c.now_ms());
    let now = c.now_ms();
    for expected in (0..5).rev() {
        let d = s
            .rate_limit(&limit("10.0.0.1", 5), now)
            .await
            .expect("check");
        assert_eq!(
            d,
            RateDecision::Allowed {
                remaining: expected,
                reset_at: now + 60_000
            }
        );
    }
    assert_eq!(
        s.rate_limit(&limit("10.0.0.1", 5), now)
            .await
            .expect("check"),
        RateDecision::Limited {
            reset_at: now + 60_000,
            blocked: false
        }
    );
    assert!(matches!(
        s.rate_limit(&limit("10.0.0.2", 5), now)
            .await
            .expect("other ip"),
        RateDecision::Allowed { remaining: 4, .. }
    ));
    c.advance(60_000);
    let later = c.now_ms();
    assert!(matches!(
        s.rate_limit(&limit("10.0.0.1", 5), later)
            .await
            .expect("new window"),
        RateDecision::Allowed { remaining: 4, .. }
    ));
    for _ in 0..4 {
        s.rate_limit(&limit("10.0.0.1", 5), later)
            .await
            .expect("fill");
    }
    assert_eq!(
        s.rate_limit(&limit("10.0.0.1", 5), later)
            .await
            .expect("second violation"),
        RateDecision::Limited {
            reset_at: later + 60_000,
            blocked: false
        }
    );
    assert_eq!(
        s.rate_limit(&limit("10.0.0.1", 5), later)
            .await
            .expect("third violation"),
        RateDecision::Limited {
            reset_at: later + 60_000,
            blocked: true
        }
    );
    let until = later + 86_400_000;
    assert_eq!(
        s.rate_limit(&limit("10.0.0.1", 5), later + 1)
            .await
            .expect("blocked"),
        RateDecision::Blocked { until }
    );
    assert_eq!(
        s.blocked_until("10.0.0.1", later + 1)
            .await
            .expect("blocked"),
        Some(until)
    );
    assert_eq!(
        s.blocked_until("10.0.0.2", later + 1)
            .await
            .expect("not blocked"),
        None
    );
    assert!(s.unblock("10.0.0.1").await.expect("unblock"));
    assert!(!s.unblock("10.0.0.1").await.expect("unblock again"));
    assert_eq!(
        s.blocked_until("10.0.0.1", later + 2)
            .await
            .expect("lifted"),
        None
    );
    c.advance(60_000);
    assert!(matches!(
        s.rate_limit(&limit("10.0.0.1", 5), c.now_ms())
            .await
            .expect("allowed"),
        RateDecision::Allowed { .. }
    ));
}

/// A request that costs several (a consistency check of n runs) counts n in its window.
pub async fn a_costly_request_counts_as_many(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    let start = c.now_ms() - c.now_ms().rem_euclid(60_000) + 60_000;
    c.advance(start - c.now_ms());
    let now = c.now_ms();
    let costly = |cost| RateLimit {
        cost,
        ..limit("10.0.0.7", 20)
    };
    assert_eq!(
        s.rate_limit(&costly(10), now).await.expect("check"),
        RateDecision::Allowed {
            remaining: 10,
            reset_at: now + 60_000
        }
    );
    assert!(matches!(
        s.rate_limit(&costly(1), now).await.expect("check"),
        RateDecision::Allowed { remaining: 9, .. }
    ));
    assert_eq!(
        s.rate_limit(&costly(10), now).await.expect("over"),
        RateDecision::Limited {
            reset_at: now + 60_000,
            blocked: false
        }
    );
    assert!(matches!(
        s.rate_limit(&costly(1), now).await.expect("still over"),
        RateDecision::Limited { .. }
    ));
    c.advance(60_000);
    assert!(matches!(
        s.rate_limit(&costly(10), c.now_ms())
            .await
            .expect("new window"),
        RateDecision::Allowed { remaining: 10, .. }
    ));
}

pub async fn violations_outside_the_period_do_not_block(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    for _ in 0..2 {
        let now = c.now_ms();
        s.rate_limit(&limit("10.0.0.9", 1), now)
            .await
            .expect("allowed");
        assert!(matches!(
            s.rate_limit(&limit("10.0.0.9", 1), now)
                .await
                .expect("violation"),
            RateDecision::Limited { blocked: false, .. }
        ));
        c.advance(6 * 60_000);
    }
    let now = c.now_ms();
    s.rate_limit(&limit("10.0.0.9", 1), now)
        .await
        .expect("allowed");
    assert!(
        matches!(
            s.rate_limit(&limit("10.0.0.9", 1), now)
                .await
                .expect("violation"),
            RateDecision::Limited { blocked: false, .. }
        ),
        "the first violation is more than 10 minutes old"
    );
}

pub async fn rate_limits_are_exact_under_concurrency(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    let now = c.now_ms() - c.now_ms().rem_euclid(60_000) + 60_000;
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move {
                let check = RateLimit {
                    class: "run",
                    ..limit("10.1.1.1", 20)
                };
                s.rate_limit(&check, now).await
            })
        })
        .collect();
    let mut allowed = 0;
    let mut blocked_now = 0;
    for t in tasks {
        match t.await.expect("task").expect("check") {
            RateDecision::Allowed { .. } => allowed += 1,
            RateDecision::Limited { blocked: true, .. } => blocked_now += 1,
            _ => {}
        }
    }
    assert_eq!(allowed, 20);
    assert_eq!(blocked_now, 1, "exactly one violation blocks the IP");
}

pub async fn metrics_sum_per_minute(s: Arc<dyn KvStore>, _c: Arc<ManualClock>) {
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.add_metrics(
                    1000 + i % 2,
                    &[("requests", 1.0), ("ms_sum", 2.5)],
                    Duration::from_secs(7200),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("add");
    }
    let b = s.read_metrics(999, 1001).await.expect("read");
    assert_eq!(b.keys().copied().collect::<Vec<_>>(), [1000, 1001]);
    assert_eq!(b[&1000]["requests"], 25.0);
    assert_eq!(b[&1001]["ms_sum"], 62.5);
    assert!(s.read_metrics(2000, 2010).await.expect("read").is_empty());
}

pub async fn canary_window_and_idempotency(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    assert_eq!(s.canary_window().await.expect("window"), None);
    s.set_canary_window(c.now_ms()).await.expect("set");
    assert_eq!(s.canary_window().await.expect("window"), Some(c.now_ms()));
    let day = Duration::from_secs(86_400);
    assert_eq!(
        s.claim_idempotency("key-1", "run-1", day)
            .await
            .expect("claim"),
        None
    );
    assert_eq!(
        s.claim_idempotency("key-1", "run-2", day)
            .await
            .expect("replay"),
        Some("run-1".into())
    );
    c.advance(86_400_001);
    assert_eq!(
        s.claim_idempotency("key-1", "run-3", day)
            .await
            .expect("after a day"),
        None
    );
}

pub async fn drafts_are_per_owner_replaced_and_expire_by_the_clock(
    s: Arc<dyn KvStore>,
    c: Arc<ManualClock>,
) {
    let day = Duration::from_secs(86_400);
    assert_eq!(s.get_draft("kim@x.io").await.expect("none yet"), None);
    s.put_draft("kim@x.io", &json!({"name": "first"}), day)
        .await
        .expect("put");
    s.put_draft("kim@x.io", &json!({"name": "second"}), day)
        .await
        .expect("replace");
    s.put_draft("lee@x.io", &json!({"name": "other"}), day)
        .await
        .expect("put other");
    assert_eq!(
        s.get_draft("kim@x.io").await.expect("get"),
        Some(json!({"name": "second"}))
    );
    assert_eq!(
        s.get_draft("lee@x.io").await.expect("get other"),
        Some(json!({"name": "other"}))
    );
    c.advance(86_400_001);
    assert_eq!(s.get_draft("kim@x.io").await.expect("expired"), None);
}

pub async fn rotation_keeps_the_user_sessions_revocable(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    s.create_refresh_family("f1", "kim@x.io", "a", 10 * MIN)
        .await
        .expect("create");
    c.advance(9 * 60_000);
    assert_eq!(
        s.rotate_refresh("f1", "a", Some("b"), 10 * MIN)
            .await
            .expect("rotate"),
        Rotation::Rotated {
            user: "kim@x.io".into()
        }
    );
    c.advance(5 * 60_000);
    assert_eq!(
        s.revoke_user_sessions("kim@x.io", c.now_ms(), 15 * MIN)
            .await
            .expect("revoke"),
        1,
        "a family kept alive by rotation is still found through its user"
    );
    assert_eq!(
        s.rotate_refresh("f1", "b", Some("c"), 10 * MIN)
            .await
            .expect("rotate"),
        Rotation::Unknown
    );
}

pub async fn a_max_series_keeps_the_largest_value_and_the_others_sum(
    s: Arc<dyn KvStore>,
    clock: Arc<ManualClock>,
) {
    for v in [3.0, 7.0, 5.0] {
        s.add_metrics(100, &[("max:mem", v), ("req", v)], MIN)
            .await
            .unwrap();
    }
    s.add_metrics(
        100,
        &[
            ("max:mem", f64::NAN),
            ("max:mem", f64::INFINITY),
            ("req", f64::NAN),
            ("max:neg", -4.5),
            ("max:neg", -2.25),
            ("max:neg", -9.0),
            ("max", 1.0),
            ("max", 1.0),
            ("a:max:b", 2.0),
            ("a:max:b", 2.0),
        ],
        MIN,
    )
    .await
    .unwrap();
    s.add_metrics(101, &[("max:mem", 1.0)], MIN).await.unwrap();
    let m = s.read_metrics(100, 101).await.unwrap();
    assert_eq!(m[&100]["max:mem"], 7.0);
    assert_eq!(m[&100]["req"], 15.0, "NaN is not added");
    assert_eq!(
        m[&100]["max:neg"], -2.25,
        "the first value, not 0, is the start"
    );
    assert_eq!(m[&100]["max"], 2.0, "only the `max:` prefix keeps maxima");
    assert_eq!(m[&100]["a:max:b"], 4.0);
    assert_eq!(m[&101]["max:mem"], 1.0);

    // An expired bucket starts again: a lower maximum than before.
    clock.advance(60_000);
    s.add_metrics(100, &[("max:mem", 2.0)], MIN).await.unwrap();
    assert_eq!(
        s.read_metrics(100, 100).await.unwrap()[&100],
        BTreeMap::from([("max:mem".to_string(), 2.0)])
    );
}

pub async fn recent_lists_keep_the_newest_entries_and_expire_by_the_clock(
    s: Arc<dyn KvStore>,
    clock: Arc<ManualClock>,
) {
    assert!(s.recent("events", 10).await.unwrap().is_empty());
    for i in 0..5 {
        s.push_recent("events", &json!({ "i": i }), 3, MIN)
            .await
            .unwrap();
    }
    let newest =
        |from: i64, n: i64| -> Vec<Value> { (0..n).map(|k| json!({ "i": from - k })).collect() };
    assert_eq!(s.recent("events", 10).await.unwrap(), newest(4, 3));
    assert_eq!(s.recent("events", 2).await.unwrap(), newest(4, 2));
    assert!(s.recent("events", 0).await.unwrap().is_empty());
    assert!(s.recent("other", 10).await.unwrap().is_empty());

    // Any JSON value round-trips.
    let odd = json!(["a", 1.5, null, { "n": [true] }, 9_007_199_254_740_993_u64, "ünï"]);
    s.push_recent("odd", &odd, 10, MIN).await.unwrap();
    s.push_recent("odd", &json!("plain"), 10, MIN)
        .await
        .unwrap();
    assert_eq!(
        s.recent("odd", u64::MAX).await.unwrap(),
        vec![json!("plain"), odd]
    );

    // A push extends the list's life to `ttl` after it; expiry is by the clock.
    clock.advance(50_000);
    s.push_recent("events", &json!({ "i": 5 }), 3, MIN)
        .await
        .unwrap();
    clock.advance(50_000);
    assert_eq!(s.recent("events", 10).await.unwrap(), newest(5, 3));
    assert!(s.recent("odd", 10).await.unwrap().is_empty());
    clock.advance(10_000);
    assert!(s.recent("events", 10).await.unwrap().is_empty());

    // A push after expiry starts a new list; a smaller `keep` trims, 0 keeps nothing.
    s.push_recent("events", &json!({ "i": 6 }), 3, MIN)
        .await
        .unwrap();
    assert_eq!(s.recent("events", 10).await.unwrap(), newest(6, 1));
    s.push_recent("events", &json!({ "i": 7 }), 3, MIN)
        .await
        .unwrap();
    s.push_recent("events", &json!({ "i": 8 }), 1, MIN)
        .await
        .unwrap();
    assert_eq!(s.recent("events", 10).await.unwrap(), newest(8, 1));
    s.push_recent("events", &json!({ "i": 9 }), 0, MIN)
        .await
        .unwrap();
    assert!(s.recent("events", 10).await.unwrap().is_empty());
    s.push_recent("events", &json!({ "i": 10 }), u64::MAX, Duration::MAX)
        .await
        .unwrap();
    assert_eq!(s.recent("events", 10).await.unwrap(), newest(10, 1));

    // The last push's TTL counts, even when shorter.
    s.push_recent("short", &json!(1), 5, MIN).await.unwrap();
    s.push_recent("short", &json!(2), 5, Duration::from_secs(1))
        .await
        .unwrap();
    clock.advance(1_000);
    assert!(s.recent("short", 5).await.unwrap().is_empty());
}

pub async fn concurrent_pushes_keep_exactly_the_newest(
    s: Arc<dyn KvStore>,
    _clock: Arc<ManualClock>,
) {
    let mut tasks = Vec::new();
    for i in 0..100 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.push_recent("busy", &json!(i), 20, MIN).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let got = s.recent("busy", 1_000).await.unwrap();
    assert_eq!(got.len(), 20);
    let mut ids: Vec<u64> = got.iter().map(|v| v.as_u64().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20);
}
