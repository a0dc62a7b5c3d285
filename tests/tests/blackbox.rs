//! Black-box HTTP tests: each test starts `phase1 serve` (target/<profile>/phase1) on a
//! loopback port and speaks HTTP to it. The route suite runs once on the embedded store
//! and once on MongoDB + Redis (`MONGODB_URI`, `REDIS_URL`, exported by scripts/test.sh;
//! without them the `real::` tests fail).

mod harness;
mod suite;

/// One test per case on the embedded store (`embedded::case`) and one on the real stores
/// (`real::case`).
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::suite::$case(crate::harness::Backend::Embedded).await;
                }
            )*
        }
        mod real {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::suite::$case(crate::harness::Backend::Real).await;
                }
            )*
        }
    };
}

on_both_backends!(
    probes,
    route_list_and_openapi,
    request_ids,
    projects,
    presets_and_cardinality,
    run_and_results,
    term_sheets,
    term_sheet_errors,
    consistency,
    rules,
    validation_lists_every_field,
    grid_too_large,
    transport_errors,
    auth_required,
    idempotent_replay,
    cached_repeat,
    analysts_see_only_their_own,
    async_run,
    cancel_run,
    sharded_equals_unsharded,
    failing_shard,
    failing_shard_is_retried,
    shard_route_refuses_bad_signatures,
    worker_killed_and_run_reclaimed,
    worker_gives_up_after_three_attempts,
    fixtures_match_cli,
    sign_in_flow,
    mfa_codes_are_single_use,
    roles_and_user_admin,
    password_change,
    rate_limits_exact_under_concurrency,
    blocks_engage_on_the_third_violation,
    ops_allowlist_and_cors,
    flag_writes_are_versioned_and_audited,
    flag_evaluation_and_gating,
    canary_rolls_back_on_errors,
    rollout_plan_and_execute,
    metrics_are_shared_and_parse,
    synthetic_monitor_alerts_once,
    log_lines_carry_the_fields,
    h1_one_caller_cannot_force_a_rollback,
    m1_random_methods_and_paths_create_no_series,
    m2_failures_lock_the_account_across_addresses,
    l3_shard_calls_cannot_be_replayed,
    l4_l5_refresh_tokens_end_only_their_own_session,
    l6_cross_site_writes_are_refused,
    l7_consistency_counts_in_the_run_class,
    web_pages_match_vercel,
    web_first_loads_are_light_and_shallow,
    operators_sign_in_from_a_cookie_jar,
    runs_name_their_ruleset_and_features,
    requests_without_a_project_use_the_current_one,
    daily_report_sums_the_day,
    alerts_are_delivered_signed_retried_and_dead_lettered,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l1_l2_a_deployment_without_app_env_is_prod() {
    suite::l1_l2_a_deployment_without_app_env_is_prod().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l8_the_embedded_store_is_private() {
    suite::l8_the_embedded_store_is_private().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_503_when_redis_stops() {
    suite::readyz_503_when_redis_stops().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_fails_closed_when_redis_stops() {
    suite::auth_fails_closed_when_redis_stops().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ui_analyst() {
    suite::web_ui_analyst().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ui_operator() {
    suite::web_ui_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_script_checks_a_deployment() {
    suite::smoke_script_checks_a_deployment(harness::Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_report_on_the_command_line() {
    suite::daily_report_on_the_command_line().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runbooks_run_as_written() {
    suite::runbooks_run_as_written(harness::Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prod_mode() {
    suite::prod_mode().await;
}
