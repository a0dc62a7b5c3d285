//! The canary by the injectable clock, over the embedded store: business traffic of an
//! analyst goes through the whole router in-process, and the canary's windows, minimum
//! runtime and decisions move only when the test advances time.

use axum::body::Body;
use axum::http::Request;
use phase1_app::auth::tokens;
use phase1_app::canary::{Decision, Phase};
use phase1_app::clock::{Clock, ManualClock, Millis};
use phase1_app::config::Config;
use phase1_app::http::state::AppState;
use phase1_app::service::audit::Origin;
use phase1_app::service::{canary, flags, metrics};
use phase1_app::store::model::Role;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tower::ServiceExt;

const SECRET: &str = "canary-test-signing-key-0123456789abcdef";
/// 2027-01-15T08:00:10Z.
const T0: Millis = 1_800_000_010_000;
const MINUTE: i64 = 60_000;

struct Fixture {
    state: AppState,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let vars: HashMap<String, String> = [
        ("SECRET_KEY", SECRET.to_string()),
        ("PHASE1_RATE_LIMITS", "api=100000".to_string()),
        (
            "PHASE1_EMBEDDED_PATH",
            dir.path().join("phase1.redb").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = Config::from_lookup(&|k| vars.get(k).cloned()).expect("valid configuration");
    let clock = ManualClock::new(T0);
    let state = AppState::new(config, clock.clone())
        .await
        .expect("the embedded store opens");
    Fixture {
        state,
        clock,
        _dir: dir,
    }
}

fn origin() -> Origin {
    Origin::http("/api/phase1/canary/test", None)
}

impl Fixture {
    /// `n` project validations by an analyst, each answered 200.
    async fn traffic(&self, n: usize) {
        let project =
            phase1_app::service::fixtures::get("small").expect("fixture")["project"].clone();
        let body = json!({"project": project}).to_string();
        for _ in 0..n {
            let claims = tokens::issue_access(
                "analyst@example.com",
                Role::Analyst,
                "sid-canary-test",
                self.clock.now_ms(),
            );
            let token = tokens::encode_access(SECRET.as_bytes(), &claims);
            let req = Request::post("/api/phase1/projects/validate")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(Body::from(body.clone()))
                .expect("a request");
            let res = phase1_app::http::router(self.state.clone())
                .oneshot(req)
                .await
                .expect("an answer");
            assert_eq!(res.status(), 200);
        }
    }

    async fn evaluate(&self) -> Value {
        canary::evaluate(&self.state, &origin(), "test")
            .await
            .expect("evaluated")
    }

    fn advance(&self, minutes: i64) {
        self.clock.advance(minutes * MINUTE);
    }
}

fn decision(v: &Value) -> Decision {
    serde_json::from_value(v["decision"].clone()).expect("a decision")
}

#[tokio::test]
async fn clean_traffic_holds_until_the_minimum_runtime_then_goes() {
    let f = fixture().await;
    canary::enter(
        &f.state,
        &origin(),
        "test",
        (Some(1), true),
        Phase::Canary1,
        "start",
    )
    .await
    .expect("entered");
    let set = flags::load(f.state.stores.doc.as_ref())
        .await
        .expect("flags");
    let controlled = set.set.get("gates_ab").expect("gates_ab");
    assert_eq!(
        (controlled.rollout_percentage, controlled.admin_only),
        (1, false)
    );
    assert_eq!(
        set.set.get("phase1_core").map(|f| f.rollout_percentage),
        Some(100)
    );

    f.traffic(60).await;
    let j = f.evaluate().await;
    assert_eq!(decision(&j), Decision::Hold, "{j}");
    assert_eq!(j["measured"]["successes"], json!(60.0));

    f.advance(30);
    f.traffic(60).await;
    f.advance(29);
    let j = f.evaluate().await;
    assert_eq!(decision(&j), Decision::Hold, "59 minutes in: {j}");
    let reasons = j["reasons"].as_array().expect("reasons");
    assert_eq!(reasons.len(), 1, "{j}");
    assert!(reasons[0]
        .as_str()
        .is_some_and(|r| r.starts_with("minutes_in_phase")));

    f.advance(1);
    let j = f.evaluate().await;
    assert_eq!(
        decision(&j),
        Decision::Go,
        "60 minutes in, 120 clean requests: {j}"
    );

    // The window is capped at the last 60 minutes: traffic from more than an hour ago no
    // longer counts.
    f.advance(65);
    let j = f.evaluate().await;
    assert_eq!(decision(&j), Decision::Hold, "{j}");
    assert_eq!(j["measured"]["successes"], json!(0.0), "{j}");

    // Entering the next phase starts a new window.
    let (version, _) = canary::load(&f.state).await.expect("canary");
    canary::enter(
        &f.state,
        &origin(),
        "test",
        (Some(version), true),
        Phase::Canary25,
        "next",
    )
    .await
    .expect("entered");
    f.traffic(5).await;
    let j = f.evaluate().await;
    assert_eq!(j["measured"]["successes"], json!(5.0), "{j}");
    assert!(j["measured"]["minutes_in_phase"]
        .as_f64()
        .is_some_and(|m| m < 1.0));
    // A stale version loses.
    let stale = canary::enter(
        &f.state,
        &origin(),
        "test",
        (Some(version), true),
        Phase::Full,
        "x",
    )
    .await;
    assert!(stale.is_err());
}

#[tokio::test]
async fn errors_in_the_last_five_minutes_roll_back() {
    let f = fixture().await;
    canary::enter(
        &f.state,
        &origin(),
        "test",
        (Some(1), true),
        Phase::Canary25,
        "start",
    )
    .await
    .expect("entered");
    // 51 business errors recorded as the envelope records a 5xx of a business route: from
    // one user first, which is not enough to roll back for everyone…
    let errors = |users: &[&str]| {
        let mut s = metrics::Samples::new();
        for i in 0..51 {
            let business = metrics::Business {
                user: users[i % users.len()],
                latency_ms: Some(40.0),
                slow_ms: 5000.0,
            };
            let one =
                metrics::request_samples("/api/phase1/run", "POST", 502, 40.0, Some(business));
            for (k, v) in one.as_pairs() {
                s.count(k, &[], v);
            }
        }
        s
    };
    metrics::add(&f.state, &errors(&["u1"]))
        .await
        .expect("recorded");
    let j = f.evaluate().await;
    assert_eq!(decision(&j), Decision::Hold, "{j}");
    assert!(
        j["reasons"].as_array().is_some_and(|r| r.iter().any(|r| r
            .as_str()
            .is_some_and(|r| r.starts_with("not rolled back: errors_5m")))),
        "{j}"
    );
    // …then from three users.
    metrics::add(&f.state, &errors(&["u1", "u2", "u3"]))
        .await
        .expect("recorded");
    let j = f.evaluate().await;
    assert_eq!(decision(&j), Decision::Rollback, "{j}");
    assert!(
        j["reasons"].as_array().is_some_and(|r| r.iter().any(|r| r
            .as_str()
            .is_some_and(|r| r.starts_with("rollback: errors_5m")))),
        "{j}"
    );
    let (_, c) = canary::load(&f.state).await.expect("canary");
    assert_eq!(c.phase, Phase::RolledBack);
    let set = flags::load(f.state.stores.doc.as_ref())
        .await
        .expect("flags");
    assert!(!set.set.get("gates_ab").expect("flag").enabled);
    assert!(set.set.get("phase1_core").expect("flag").enabled);
    // Six minutes later the errors have left the five-minute window, but the canary stays
    // rolled back until someone starts it again.
    f.advance(6);
    let j = f.evaluate().await;
    assert_eq!(decision(&j), Decision::Hold, "{j}");
}
