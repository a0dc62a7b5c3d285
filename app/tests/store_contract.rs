//! One contract suite for every store backend: the same cases run against the embedded
//! store, MongoDB (`MONGODB_URI`) and Redis (`REDIS_URL`). Each test gets its own database
//! or key prefix, so the tests run in parallel.

#[path = "contract/backends.rs"]
mod backends;
#[path = "contract/doc_cases.rs"]
mod doc_cases;
#[path = "contract/kv_cases.rs"]
mod kv_cases;

macro_rules! doc_contract {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let (store, clock, fixture) = crate::backends::doc_fixture(stringify!($backend)).await;
                    crate::doc_cases::$case(store, clock).await;
                    fixture.finish().await;
                }
            )*
        }
    };
}

macro_rules! kv_contract {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let (store, clock, fixture) = crate::backends::kv_fixture(stringify!($backend)).await;
                    crate::kv_cases::$case(store, clock).await;
                    fixture.finish().await;
                }
            )*
        }
    };
}

macro_rules! doc_cases {
    ($($backend:ident),*) => {
        $(doc_contract!($backend:
            projects_round_trip,
            run_lifecycle_and_result_visibility,
            expired_leases_are_reclaimed_up_to_max_attempts,
            concurrent_claims_never_share_a_run,
            users_are_unique_and_versioned,
            versioned_settings_check_the_version_in_the_write,
            concurrent_versioned_writes_have_one_winner,
            audit_is_append_only_and_newest_first,
            deliveries_are_claimed_once_retried_and_dead_lettered,
            monitors_and_results,
            retention_hides_old_records,
            migrate_is_idempotent_and_schema_checks_pass,
        );)*
    };
}

macro_rules! kv_cases {
    ($($backend:ident),*) => {
        $(kv_contract!($backend:
            refresh_families_rotate_and_detect_reuse,
            refresh_families_expire,
            only_an_issued_token_counts_as_reuse,
            the_current_token_ends_its_family,
            sign_in_failures_lock_the_account,
            user_sessions_are_revoked_together,
            token_ids_are_revoked_until_expiry,
            codes_are_used_once,
            attempts_count_exactly_under_concurrency,
            rate_limits_count_violations_and_block,
            violations_outside_the_period_do_not_block,
            a_costly_request_counts_as_many,
            rate_limits_are_exact_under_concurrency,
            metrics_sum_per_minute,
            canary_window_and_idempotency,
            drafts_are_per_owner_replaced_and_expire_by_the_clock,
            rotation_keeps_the_user_sessions_revocable,
            a_max_series_keeps_the_largest_value_and_the_others_sum,
            recent_lists_keep_the_newest_entries_and_expire_by_the_clock,
            concurrent_pushes_keep_exactly_the_newest,
        );)*
    };
}

mod doc {
    doc_cases!(embedded, mongodb);
}

mod kv {
    kv_cases!(embedded, redis);
}

/// The embedded store keeps its data across a close and reopen of the file.
#[tokio::test]
async fn embedded_data_survives_reopening() {
    use phase1_app::clock::{Clock, ManualClock, SharedClock};
    use phase1_app::store::embedded::Embedded;
    use phase1_app::store::{DocStore, KvStore, StoreSettings};
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("store.redb");
    let clock = ManualClock::new(backends::T0);
    let shared: SharedClock = clock.clone();
    let settings = StoreSettings::default();
    {
        let s = Embedded::open_at(&path, &settings, shared.clone())
            .await
            .expect("open");
        s.put_versioned_if("flags", None, &serde_json::json!({"a": 1}))
            .await
            .expect("put");
        assert!(s
            .use_once("totp", "x", std::time::Duration::from_secs(60))
            .await
            .expect("once"));
        let again = Embedded::open_at(&path, &settings, shared.clone()).await;
        assert!(
            again.is_err(),
            "a second open of the same file is refused while it is open"
        );
    }
    let s = Embedded::open_at(&path, &settings, shared)
        .await
        .expect("reopen");
    let flags = s.get_flags().await.expect("get").expect("kept");
    assert_eq!(
        (flags.version, flags.value),
        (1, serde_json::json!({"a": 1}))
    );
    assert!(!s
        .use_once("totp", "x", std::time::Duration::from_secs(60))
        .await
        .expect("still used"));
    assert!(clock.now_ms() > 0);
}
