//! Document-store contract cases: each takes a fresh store and its manual clock.

use phase1_app::clock::Clock;
use phase1_app::clock::ManualClock;
use phase1_app::store::model::{
    AttemptOutcome, AuditRow, Delivery, DeliveryStats, DeliveryStatus, MonitorConfig,
    MonitorResult, Page, ProjectRecord, Role, RunRecord, RunStatus, UserRecord,
};
use phase1_app::store::{DocStore, StoreError};
use serde_json::json;
use std::sync::Arc;

const DAY: i64 = 86_400_000;

fn project(id: &str, owner: &str, at: i64) -> ProjectRecord {
    ProjectRecord {
        id: id.into(),
        owner: owner.into(),
        created_at: at,
        project: json!({"title": id, "lease_years": 25}),
        derived: json!({"funding_need": 1.5e8}),
    }
}

fn run(id: &str, owner: &str, at: i64) -> RunRecord {
    RunRecord {
        id: id.into(),
        owner: owner.into(),
        project_id: None,
        status: RunStatus::Queued,
        progress_pct: 0.0,
        cardinality: 1920,
        created_at: at,
        finished_at: None,
        request: json!({"fixture": "london-dc-alpha"}),
        cache_key: Some(format!("key-{id}")),
        attempts: 0,
        worker: None,
        lease_until: None,
        error: None,
    }
}

fn user(email: &str, at: i64) -> UserRecord {
    UserRecord {
        email: email.into(),
        role: Role::Analyst,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        totp_secret: "sealed".into(),
        disabled: false,
        created_at: at,
        last_login_at: None,
        version: 1,
    }
}

pub async fn projects_round_trip(s: Arc<dyn DocStore>, c: Arc<ManualClock>) {
    let now = c.now_ms();
    for (i, owner) in ["a@x.io", "b@x.io", "a@x.io", "a@x.io"].iter().enumerate() {
        s.save_project(&project(&format!("p{i}"), owner, now + i as i64))
            .await
            .expect("save");
    }
    let got = s.get_project("p1").await.expect("get").expect("present");
    assert_eq!(got, project("p1", "b@x.io", now + 1));
    assert!(s.get_project("nope").await.expect("get").is_none());
    let mine = s
        .list_projects(Some("a@x.io"), Page::default())
        .await
        .expect("list");
    assert_eq!(
        mine.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["p3", "p2", "p0"]
    );
    let all = s
        .list_projects(
            None,
            Page {
                offset: 1,
                limit: 2,
            },
        )
        .await
        .expect("page");
    assert_eq!(
        all.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["p2", "p1"]
    );
    let dup = s.save_project(&project("p1", "b@x.io", now)).await;
    assert!(matches!(dup, Err(StoreError::Duplicate { .. })), "{dup:?}");
    assert!(s.delete_project("p2").await.expect("delete"));
    assert!(!s.delete_project("p2").await.expect("delete again"));
    assert_eq!(
        s.list_projects(Some("a@x.io"), Page::default())
            .await
            .expect("list")
            .len(),
        2
    );
}

pub async fn run_lifecycle_and_result_visibility(s: Arc<dyn DocStore>, c: Arc<ManualClock>) {
    let now = c.now_ms();
    s.create_run(&run("r1", "a@x.io", now))
        .await
        .expect("create");
    assert!(matches!(
        s.create_run(&run("r1", "a@x.io", now)).await,
        Err(StoreError::Duplicate { .. })
    ));
    assert!(
        s.get_result("r1").await.expect("result").is_none(),
        "no result before done"
    );
    let claimed = s
        .claim_run("w1", now, 16_000, 3)
        .await
        .expect("claim")
        .expect("a run");
    assert_eq!(
        (claimed.id.as_str(), claimed.status, claimed.attempts),
        ("r1", RunStatus::Running, 1)
    );
    assert_eq!(claimed.worker.as_deref(), Some("w1"));
    assert_eq!(claimed.lease_until, Some(now + 16_000));
    assert!(
        s.claim_run("w2", now, 16_000, 3)
            .await
            .expect("claim")
            .is_none(),
        "held by w1"
    );
    assert!(!s
        .update_progress("r1", "w2", 50.0, now + 20_000)
        .await
        .expect("progress"));
    assert!(s
        .update_progress("r1", "w1", 50.0, now + 20_000)
        .await
        .expect("progress"));
    assert_eq!(
        s.get_run("r1")
            .await
            .expect("get")
            .expect("run")
            .progress_pct,
        50.0
    );
    assert!(
        !s.finish_run("r1", Some("w2"), &json!({"top": []}), now + 1)
            .await
            .expect("finish"),
        "w2 holds no lease"
    );
    assert!(s
        .finish_run("r1", Some("w1"), &json!({"top": [1, 2]}), now + 2)
        .await
        .expect("finish"));
    let done = s.get_run("r1").await.expect("get").expect("run");
    assert_eq!(
        (done.status, done.progress_pct, done.finished_at),
        (RunStatus::Done, 100.0, Some(now + 2))
    );
    assert_eq!(
        s.get_result("r1").await.expect("result"),
        Some(json!({"top": [1, 2]}))
    );
    assert!(!s
        .finish_run("r1", None, &json!({"top": []}), now + 3)
        .await
        .expect("again"));
    assert!(!s.cancel_run("r1", now + 3).await.expect("cancel done"));
    assert_eq!(
        s.get_result("r1").await.expect("result"),
        Some(json!({"top": [1, 2]}))
    );
    let cached = s
        .find_cached_run("key-r1")
        .await
        .expect("cache")
        .expect("hit");
    assert_eq!(cached.id, "r1");
    assert!(s
        .find_cached_run("key-none")
        .await
        .expect("cache")
        .is_none());

    s.create_run(&run("r2", "a@x.io", now + 5))
        .await
        .expect("create");
    assert!(s.cancel_run("r2", now + 6).await.expect("cancel"));
    assert!(!s
        .finish_run("r2", None, &json!({"late": true}), now + 7)
        .await
        .expect("finish cancelled"));
    assert!(
        s.get_result("r2").await.expect("result").is_none(),
        "a cancelled run has no result"
    );
    assert!(s.find_cached_run("key-r2").await.expect("cache").is_none());
    assert_eq!(
        s.get_run("r2").await.expect("get").expect("run").status,
        RunStatus::Cancelled
    );

    s.create_run(&run("r3", "b@x.io", now + 8))
        .await
        .expect("create");
    assert!(s
        .fail_run("r3", &json!({"code": "SHARD_FAILED"}), now + 9)
        .await
        .expect("fail"));
    let failed = s.get_run("r3").await.expect("get").expect("run");
    assert_eq!(
        (failed.status, failed.error),
        (RunStatus::Failed, Some(json!({"code": "SHARD_FAILED"})))
    );

    let mine = s
        .list_runs(Some("a@x.io"), Page::default())
        .await
        .expect("list");
    assert_eq!(
        mine.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["r2", "r1"]
    );
    assert!(s.delete_run("r1").await.expect("delete"));
    assert!(s.get_run("r1").await.expect("get").is_none());
    assert!(s.get_result("r1").await.expect("result").is_none());
    assert!(!s.delete_run("r1").await.expect("delete again"));
}

pub async fn expired_leases_are_reclaimed_up_to_max_attempts(
    s: Arc<dyn DocStore>,
    c: Arc<ManualClock>,
) {
    let now = c.now_ms();
    s.create_run(&run("r1", "a@x.io", now))
        .await
        .expect("create");
    let first = s
        .claim_run("w1", now, 1_000, 2)
        .await
        .expect("claim")
        .expect("run");
    assert_eq!(first.attempts, 1);
    assert!(
        s.claim_run("w2", now + 999, 1_000, 2)
            .await
            .expect("claim")
            .is_none(),
        "lease still held"
    );
    let second = s
        .claim_run("w2", now + 1_001, 1_000, 2)
        .await
        .expect("claim")
        .expect("reclaimed");
    assert_eq!((second.attempts, second.worker.as_deref()), (2, Some("w2")));
    assert!(
        !s.update_progress("r1", "w1", 10.0, now + 5_000)
            .await
            .expect("old worker"),
        "w1 lost the lease"
    );
    assert!(
        s.claim_run("w3", now + 5_000, 1_000, 2)
            .await
            .expect("claim")
            .is_none(),
        "attempts exhausted"
    );
    let error = json!({"code": "RUN_ABANDONED"});
    assert_eq!(
        s.fail_abandoned_runs(now + 1_500, 2, &error)
            .await
            .expect("sweep"),
        0,
        "w2's lease still holds"
    );
    assert_eq!(
        s.fail_abandoned_runs(now + 5_000, 2, &error)
            .await
            .expect("sweep"),
        1
    );
    let failed = s.get_run("r1").await.expect("get").expect("run");
    assert_eq!(
        (failed.status, failed.error),
        (RunStatus::Failed, Some(error.clone()))
    );
    assert_eq!(
        s.fail_abandoned_runs(now + 6_000, 2, &error)
            .await
            .expect("sweep"),
        0
    );
}

pub async fn concurrent_claims_never_share_a_run(s: Arc<dyn DocStore>, c: Arc<ManualClock>) {
    let now = c.now_ms();
    for i in 0..5 {
        s.create_run(&run(&format!("r{i}"), "a@x.io", now + i))
            .await
            .expect("create");
    }
    let tasks: Vec<_> = (0..20)
        .map(|w| {
            let s = s.clone();
            tokio::spawn(async move { s.claim_run(&format!("w{w}"), now + 10, 60_000, 3).await })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        if let Some(r) = t.await.expect("task").expect("claim") {
            ids.push(r.id);
        }
    }
    ids.sort();
    assert_eq!(ids, ["r0", "r1", "r2", "r3", "r4"]);
}

pub async fn users_are_unique_and_versioned(s: Arc<dyn DocStore>, c: Arc<ManualClock>) {
    let now = c.now_ms();
    s.create_user(&user("zoe@x.io", now)).await.expect("create");
    s.create_user(&user("amy@x.io", now)).await.expect("create");
    let dup = s.create_user(&user("zoe@x.io", now)).await;
    assert!(matches!(dup, Err(StoreError::Duplicate { .. })), "{dup:?}");
    let users = s.list_users().await.expect("list");
    assert_eq!(
        users.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(),
        ["amy@x.io", "zoe@x.io"]
    );
    let mut zoe = s.get_user("zoe@x.io").await.expect("get").expect("zoe");
    zoe.disabled = true;
    s.update_user_if_version(&zoe, 1).await.expect("update");
    let stored = s.get_user("zoe@x.io").await.expect("get").expect("zoe");
    assert!(stored.disabled);
    assert_eq!(stored.version, 2);
    let stale = s.update_user_if_version(&zoe, 1).await;
    assert_eq!(
        stale,
        Err(StoreError::VersionConflict {
            expected: Some(1),
            found: Some(2)
        })
    );
    let ghost = s.update_user_if_version(&user("ghost@x.io", now), 1).await;
    assert_eq!(
        ghost,
        Err(StoreError::VersionConflict {
            expected: Some(1),
            found: None
        })
    );
    assert!(s.get_user("ghost@x.io").await.expect("get").is_none());
}

pub async fn versioned_settings_check_the_version_in_the_write(
    s: Arc<dyn DocStore>,
    _c: Arc<ManualClock>,
) {
    assert!(s.get_flags().await.expect("get").is_none());
    assert_eq!(
        s.put_versioned_if("flags", None, &json!({"gates_ab": true}))
            .await
            .expect("init"),
        1
    );
    assert_eq!(
        s.put_versioned_if("flags", None, &json!({})).await,
        Err(StoreError::VersionConflict {
            expected: None,
            found: Some(1)
        })
    );
    assert_eq!(
        s.bump_flags_if_version(1, &json!({"gates_ab": false}))
            .await
            .expect("bump"),
        2
    );
    assert_eq!(
        s.bump_flags_if_version(1, &json!({})).await,
        Err(StoreError::VersionConflict {
            expected: Some(1),
            found: Some(2)
        })
    );
    let flags = s.get_flags().await.expect("get").expect("flags");
    assert_eq!(
        (flags.version, flags.value),
        (2, json!({"gates_ab": false}))
    );
    assert_eq!(
        s.bump_canary_if_version(1, &json!({"phase": "FULL"})).await,
        Err(StoreError::VersionConflict {
            expected: Some(1),
            found: None
        })
    );
    assert!(s.delete_versioned("flags").await.expect("delete"));
    assert!(!s.delete_versioned("flags").await.expect("delete again"));
}

pub async fn concurrent_versioned_writes_have_one_winner(
    s: Arc<dyn DocStore>,
    _c: Arc<ManualClock>,
) {
    s.put_versioned_if("canary", None, &json!({"phase": "ADMIN_ONLY"}))
        .await
        .expect("init");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.bump_canary_if_version(1, &json!({"writer": i})).await })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(v) => {
                assert_eq!(v, 2);
                wins += 1;
            }
            Err(e) => assert!(matches!(e, StoreError::VersionConflict { .. }), "{e:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(
        s.get_canary().await.expect("get").expect("canary").version,
        2
    );
}

pub async fn audit_is_append_only_and_newest_first(s: Arc<dyn DocStore>, c: Arc<ManualClock>) {
    let now = c.now_ms();
    for i in 0..5 {
        s.append_audit(&AuditRow {
            audit_id: format!("a{i}"),
            actor: "ops-token".into(),
            when: now + i,
            action: "flags.update".into(),
            route: "/api/phase1/flags".into(),
            request_id: format!("req-{i}"),
            old: json!({"v": i}),
            new: json!({"v": i + 1}),
            version_before: Some(i as u64 + 1),
            version_after: Some(i as u64 + 2),
            conditional: (i % 2 == 0).then_some(i == 0),
        })
        .await
        .expect("append");
    }
    let rows = s
        .list_audit(Page {
            offset: 1,
            limit: 3,
        })
        .await
        .expect("list");
    assert_eq!(
        rows.iter().map(|r| r.audit_id.as_str()).collect::<Vec<_>>(),
        ["a3", "a2", "a1"]
    );
    assert_eq!(rows[0].version_after, Some(5));
    assert_eq!(
        rows.iter().map(|r| r.conditional).collect::<Vec<_>>(),
        [None, Some(false), None],
        "conditional is kept when set and absent otherwise"
    );
    let again = s.list_audit(Page::default()).await.expect("list");
    assert_eq!(again.len(), 5);
    c.advance(366 * DAY);
    assert!(
        s.list_audit(Page::default())
            .await
            .expect("list")
            .is_empty(),
        "audit expires after 365 days"
    );
}

pub async fn monitors_and_results(s: Arc<dyn DocStore>, c: Arc<ManualClock>) {
    let now = c.now_ms();
    let mut m = MonitorConfig {
        id: "default".into(),
        interval_s: 300,
        actions: vec!["validate".into(), "run".into()],
        alert_threshold: json!({"error_rate": 0.1, "p95_ms": 2000}),
        updated_at: now,
    };
    s.save_monitor(&m).await.expect("save");
    m.interval_s = 60;
    s.save_monitor(&m).await.expect("replace");
    assert_eq!(s.get_monitor("default").await.expect("get"), Some(m));
    for i in 0..4 {
        s.record_monitor_result(&MonitorResult {
            id: format!("m{i}"),
            monitor_id: "default".into(),
            at: now + i,
            action: "run".into(),
            ok: i != 2,
            latency_ms: 12.5 + i as f64,
            error: (i == 2).then(|| "503".to_string()),
        })
        .await
        .expect("record");
    }
    let recent = s.list_monitor_results("default", 2).await.expect("list");
    assert_eq!(
        recent.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["m3", "m2"]
    );
    assert_eq!(recent[1].error.as_deref(), Some("503"));
    assert!(s
        .list_monitor_results("other", 10)
        .await
        .expect("list")
        .is_empty());
}

pub async fn retention_hides_old_records(s: Arc<dyn DocStore>, c: Arc<ManualClock>) {
    let now = c.now_ms();
    s.save_project(&project("old", "a@x.io", now))
        .await
        .expect("save");
    s.create_run(&run("old", "a@x.io", now))
        .await
        .expect("create");
    assert!(s
        .finish_run("old", None, &json!({"ok": true}), now)
        .await
        .expect("finish"));
    c.advance(29 * DAY);
    s.save_project(&project("new", "a@x.io", c.now_ms()))
        .await
        .expect("save");
    assert!(s.get_project("old").await.expect("get").is_some());
    assert!(s.get_result("old").await.expect("result").is_some());
    c.advance(2 * DAY);
    assert!(
        s.get_project("old").await.expect("get").is_none(),
        "expired after 30 days"
    );
    assert!(s.get_run("old").await.expect("get").is_none());
    assert!(s.get_result("old").await.expect("result").is_none());
    assert!(s.find_cached_run("key-old").await.expect("cache").is_none());
    let left = s.list_projects(None, Page::default()).await.expect("list");
    assert_eq!(
        left.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
    assert!(s
        .list_runs(None, Page::default())
        .await
        .expect("list")
        .is_empty());
}

pub async fn migrate_is_idempotent_and_schema_checks_pass(
    s: Arc<dyn DocStore>,
    _c: Arc<ManualClock>,
) {
    s.migrate().await.expect("migrate");
    assert!(
        s.migrate().await.expect("migrate again").is_empty(),
        "a second migrate changes nothing"
    );
    let checks = s.check_schema().await.expect("schema");
    assert!(!checks.is_empty());
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    assert!(
        checks.iter().any(|c| c.collection == "audit"
            && (c.details.contains("365") || c.details.contains("31536000"))),
        "the audit TTL is reported: {checks:?}"
    );
    assert!(s.ping().await.is_ok());
}

fn delivery(id: &str, created_at: i64) -> Delivery {
    Delivery {
        id: id.into(),
        alert_id: format!("alert-{id}"),
        kind: "ip.block".into(),
        target: "sha256:abc".into(),
        payload: json!({"text": id}),
        status: DeliveryStatus::Pending,
        attempts: 0,
        created_at,
        next_attempt_at: created_at,
        worker: None,
        lease_until: None,
        delivered_at: None,
        last_error: None,
        updated_at: None,
    }
}

pub async fn deliveries_are_claimed_once_retried_and_dead_lettered(
    s: Arc<dyn DocStore>,
    c: Arc<ManualClock>,
) {
    let now = c.now_ms();
    assert_eq!(
        s.delivery_stats().await.expect("stats"),
        DeliveryStats::default()
    );
    s.enqueue_deliveries(&[delivery("d1", now), delivery("d2", now + 1)])
        .await
        .expect("enqueue");
    assert!(
        s.enqueue_deliveries(&[delivery("d1", now)]).await.is_err(),
        "ids are unique"
    );
    // Claimed in due order, each by one worker at a time.
    let first = s
        .claim_delivery("w1", now + 1, 10_000)
        .await
        .expect("claim")
        .expect("d1");
    assert_eq!(first.id, "d1");
    let second = s
        .claim_delivery("w2", now + 1, 10_000)
        .await
        .expect("claim")
        .expect("d2");
    assert_eq!(second.id, "d2");
    assert_eq!(
        s.claim_delivery("w3", now + 1, 10_000)
            .await
            .expect("claim"),
        None
    );
    // Only the holder finishes; a retry is due later.
    let retry = AttemptOutcome::Retry {
        next_at: now + 60_000,
        error: "HTTP 500".into(),
    };
    assert!(!s
        .finish_delivery("d1", "w2", now + 2, &retry)
        .await
        .expect("not the holder"));
    assert!(s
        .finish_delivery("d1", "w1", now + 2, &retry)
        .await
        .expect("finish"));
    assert!(s
        .finish_delivery("d2", "w2", now + 3, &AttemptOutcome::Delivered)
        .await
        .expect("finish"));
    assert!(!s
        .finish_delivery("d2", "w2", now + 4, &AttemptOutcome::Delivered)
        .await
        .expect("twice"));
    assert_eq!(
        s.claim_delivery("w1", now + 59_999, 10_000)
            .await
            .expect("claim"),
        None,
        "not due yet"
    );
    let stats = s.delivery_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.delivered, stats.dead), (1, 1, 0));
    assert_eq!(stats.oldest_pending_at, Some(now));
    assert_eq!(stats.last_error, Some((now + 2, "HTTP 500".to_string())));
    // A worker that dies: its hold runs out and another claims the delivery.
    let held = s
        .claim_delivery("w1", now + 60_000, 1_000)
        .await
        .expect("claim")
        .expect("due");
    assert_eq!((held.id.as_str(), held.attempts), ("d1", 1));
    assert_eq!(
        s.claim_delivery("w2", now + 60_500, 1_000)
            .await
            .expect("claim"),
        None,
        "held"
    );
    let again = s
        .claim_delivery("w2", now + 61_001, 1_000)
        .await
        .expect("claim")
        .expect("expired hold");
    assert_eq!(again.worker.as_deref(), Some("w2"));
    assert!(!s
        .finish_delivery("d1", "w1", now + 61_002, &AttemptOutcome::Delivered)
        .await
        .expect("late"));
    let dead = AttemptOutcome::Dead {
        error: "HTTP 503".into(),
    };
    assert!(s
        .finish_delivery("d1", "w2", now + 61_003, &dead)
        .await
        .expect("dead"));
    assert_eq!(
        s.claim_delivery("w1", now + 10_000_000, 1_000)
            .await
            .expect("claim"),
        None
    );
    let stats = s.delivery_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.delivered, stats.dead), (0, 1, 1));
    assert_eq!(stats.oldest_pending_at, None);
    assert_eq!(
        stats.last_error,
        Some((now + 61_003, "HTTP 503".to_string()))
    );
    // Kept 30 days.
    c.advance(30 * DAY + 1);
    let stats = s.delivery_stats().await.expect("stats");
    assert_eq!((stats.pending, stats.delivered, stats.dead), (0, 0, 0));
}
