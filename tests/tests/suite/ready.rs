//! Readiness follows the stores: a Redis stopped under a running app makes /readyz 503.

use crate::harness::{wait, Api, Auth, Server};
use std::time::Duration;

/// How long readiness may take to notice a dead store.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(30);

/// /readyz: 200 with Redis up; 503 naming the key-value store once Redis is killed.
pub async fn readyz_503_when_redis_stops() {
    let (mut redis, server) = Server::over_private_redis();
    let api = Api::new(&server.base, Auth::Anonymous);
    let up = api.get("/readyz").await;
    let u = up.expect(200);
    assert_eq!(u["components"]["key_value_store"]["backend"], "redis");
    assert_eq!(u["components"]["key_value_store"]["status"], "ok");
    assert_eq!(u["components"]["document_store"]["backend"], "embedded");

    redis.kill();
    let down = wait::until("/readyz to answer 503", NOTICE_TIMEOUT, || async {
        let r = api.get("/readyz").await;
        (r.status != 200).then_some(r)
    })
    .await;
    let d = down.expect(503);
    assert_eq!(d["status"], "not_ready");
    let kv = &d["components"]["key_value_store"];
    assert_eq!(kv["status"], "unavailable", "{d}");
    assert!(kv["error"].is_string(), "{d}");
    assert_eq!(d["components"]["document_store"]["status"], "ok", "{d}");
    assert_eq!(d["components"]["ruleset"]["status"], "ok", "{d}");
    api.get("/healthz").await.expect(200);
}
