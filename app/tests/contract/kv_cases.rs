//! Key-value-store contract cases: each takes a fresh store and its manual clock.

use phase1_app::clock::{Clock, ManualClock};
use phase1_app::store::model::{RateDecision, RateLimit, Rotation};
use phase1_app::store::KvStore;
use std::sync::Arc;
use std::time::Duration;

const MIN: Duration = Duration::from_secs(60);

fn limit(ip: &str, n: u64) -> RateLimit<'_> {
    RateLimit {
        ip,
        class: "auth",
        limit: n,
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
        s.rotate_refresh("f1", "h1", "h2", 24 * 60 * MIN)
            .await
            .expect("rotate"),
        Rotation::Rotated {
            user: "amy@x.io".into()
        }
    );
    assert_eq!(
        s.rotate_refresh("f1", "h2", "h3", 24 * 60 * MIN)
            .await
            .expect("rotate"),
        Rotation::Rotated {
            user: "amy@x.io".into()
        }
    );
    assert_eq!(
        s.rotate_refresh("f1", "h1", "hx", 24 * 60 * MIN)
            .await
            .expect("reuse"),
        Rotation::Reused {
            user: "amy@x.io".into()
        },
        "an old token revokes the family"
    );
    assert_eq!(
        s.rotate_refresh("f1", "h3", "h4", 24 * 60 * MIN)
            .await
            .expect("after"),
        Rotation::Unknown
    );
    assert_eq!(
        s.rotate_refresh("nope", "h", "h", MIN)
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

pub async fn refresh_families_expire(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    s.create_refresh_family("f1", "amy@x.io", "h1", MIN)
        .await
        .expect("create");
    c.advance(61_000);
    assert_eq!(
        s.rotate_refresh("f1", "h1", "h2", MIN)
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
        s.rotate_refresh("f1", "a", "a2", MIN)
            .await
            .expect("rotate"),
        Rotation::Unknown
    );
    assert_eq!(
        s.rotate_refresh("f3", "c", "c2", MIN)
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

pub async fn rotation_keeps_the_user_sessions_revocable(s: Arc<dyn KvStore>, c: Arc<ManualClock>) {
    s.create_refresh_family("f1", "kim@x.io", "a", 10 * MIN)
        .await
        .expect("create");
    c.advance(9 * 60_000);
    assert_eq!(
        s.rotate_refresh("f1", "a", "b", 10 * MIN)
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
        s.rotate_refresh("f1", "b", "c", 10 * MIN)
            .await
            .expect("rotate"),
        Rotation::Unknown
    );
}
