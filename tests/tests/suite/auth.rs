//! Sign-in over HTTP: login → MFA → session → refresh → reuse → logout; single-use codes and
//! voided MFA tokens; roles; user administration; password changes; prod mode. Every test
//! ends by reading the server's whole log: no password, token, code, secret or cookie in it.

use super::Env;
use crate::harness::signin::{self, login, mfa, mfa_token, refresh, session, Signed, User};
use crate::harness::{Auth, Backend, Server, Store, ADMIN_TOKEN, ENCRYPTION_KEY, SECRET_KEY};
use serde_json::{json, Value};

/// Sign-in routes are limited to 5 a minute per address; the flow tests make more.
pub const GENEROUS: &[(&str, &str)] = &[("PHASE1_RATE_LIMITS", "auth=1000,users=1000")];

/// What a test saw that must never be logged.
#[derive(Default)]
pub struct Secrets {
    /// Strings that may not appear anywhere.
    strings: Vec<String>,
    /// TOTP codes: may not appear as a number of their own.
    codes: Vec<String>,
}

impl Secrets {
    /// The server's own secrets.
    pub fn new() -> Secrets {
        let mut s = Secrets::default();
        for v in [SECRET_KEY, ENCRYPTION_KEY, ADMIN_TOKEN] {
            s.add(v);
        }
        s
    }

    /// One more secret.
    pub fn add(&mut self, v: &str) {
        if !v.is_empty() {
            self.strings.push(v.to_string());
        }
    }

    /// A user's password and seed.
    pub fn user(&mut self, u: &User) {
        self.add(&u.password);
        self.add(&u.seed_base32());
        self.add(&u.uri);
    }

    /// A session's tokens.
    pub fn session(&mut self, s: &Signed) {
        self.add(&s.access);
        self.add(&s.refresh);
        // The refresh token's secret half alone.
        self.add(s.refresh.rsplit('.').next().unwrap_or_default());
        // A JWT's signature alone.
        self.add(s.access.rsplit('.').next().unwrap_or_default());
    }

    /// A TOTP code.
    pub fn code(&mut self, c: &str) {
        self.codes.push(c.to_string());
    }

    /// Asserts that no secret appears in `log`, which must hold `events` (so the check is not
    /// vacuous).
    #[track_caller]
    pub fn assert_absent_from(&self, log: &str, events: &[&str]) {
        assert!(
            log.lines().count() > 5,
            "the server logged almost nothing:\n{log}"
        );
        for e in events {
            assert!(
                log.contains(&format!("\"event\":\"{e}\"")),
                "no {e} event in the log:\n{log}"
            );
        }
        for line in log.lines() {
            for s in &self.strings {
                assert!(
                    !line.contains(s.as_str()),
                    "a secret is in the log line: {line}"
                );
            }
            // Codes are 6 digits: look at whole numbers only, outside the timing fields.
            let mut v: Value = serde_json::from_str(line).unwrap_or(Value::String(line.into()));
            if let Value::Object(m) = &mut v {
                m.remove("timestamp");
                m.remove("duration_ms");
            }
            let text = v.to_string();
            let numbers: Vec<&str> = text
                .split(|c: char| !c.is_ascii_digit())
                .filter(|n| n.len() == 6)
                .collect();
            for c in &self.codes {
                assert!(!numbers.contains(&c.as_str()), "a TOTP code is in: {line}");
            }
        }
    }
}

/// The whole flow: create → login → MFA → me → refresh → reuse (family revoked) → login →
/// logout → 401.
pub async fn sign_in_flow(backend: Backend) {
    let env = Env::start(backend, GENEROUS);
    let mut secrets = Secrets::new();
    let user = User::create(&env.admin, "analyst").await;
    secrets.user(&user);
    let anon = env.client(Auth::Anonymous);

    // One answer for an unknown email and a wrong password.
    let unknown = login(&anon, "nobody@example.com", &user.password).await;
    let wrong = login(&anon, &user.email, "not the password at all").await;
    for r in [&unknown, &wrong] {
        r.expect_problem(401, "INVALID_CREDENTIALS");
    }
    assert_eq!(unknown.json["detail"], wrong.json["detail"]);
    assert_eq!(unknown.json["title"], wrong.json["title"]);
    let malformed = anon.post("/api/auth/login", &json!({"email": 5})).await;
    malformed.expect_problem(422, "VALIDATION_FAILED");
    assert_eq!(malformed.error_fields(), ["email", "password"]);

    // Login with the email in another case; the MFA token alone is no session.
    let reply = login(&anon, &user.email.to_uppercase(), &user.password).await;
    let token = mfa_token(&reply);
    secrets.add(&token);
    assert_eq!(reply.json["expires_in"], 300);
    env.client(Auth::Bearer(token.clone()))
        .get("/api/phase1/runs")
        .await
        .expect_problem(401, "MFA_REQUIRED");
    let wrong_code = user.wrong_code();
    secrets.code(&wrong_code);
    mfa(&anon, &token, &wrong_code)
        .await
        .expect_problem(401, "INVALID_MFA_CODE");
    let (code, _) = user.code();
    secrets.code(&code);
    let first = session(&mfa(&anon, &token, &code).await);
    secrets.session(&first);
    assert_eq!(first.role, "analyst");
    // The MFA token is used up.
    let (code2, _) = user.code();
    secrets.code(&code2);
    mfa(&anon, &token, &code2)
        .await
        .expect_problem(401, "MFA_TOKEN_INVALID");

    // The session works as a bearer token and as a cookie.
    let me = env.client(Auth::Bearer(first.access.clone()));
    let who = me.get("/api/auth/me").await;
    let who = who.expect(200);
    assert_eq!(who["email"], user.email.as_str());
    assert_eq!(who["role"], "analyst");
    assert_eq!(who["flags"]["phase1_core"], true);
    let by_cookie = anon
        .send(
            anon.request(reqwest::Method::GET, "/api/auth/me")
                .header("cookie", format!("phase1_access={}", first.access)),
        )
        .await;
    assert_eq!(by_cookie.expect(200)["email"], user.email.as_str());
    me.get("/api/phase1/runs").await.expect(200);

    // Refresh rotates; the old refresh token, presented again, ends the whole family.
    let second = session(&refresh(&anon, &first.refresh).await);
    secrets.session(&second);
    assert_ne!(second.refresh, first.refresh);
    assert_ne!(second.access, first.access);
    env.client(Auth::Bearer(second.access.clone()))
        .get("/api/auth/me")
        .await
        .expect(200);
    refresh(&anon, &first.refresh)
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    refresh(&anon, &second.refresh)
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    for access in [&first.access, &second.access] {
        env.client(Auth::Bearer(access.clone()))
            .get("/api/auth/me")
            .await
            .expect_problem(401, "AUTH_REQUIRED");
    }

    // A new sign-in; logout revokes it at once.
    let third = signin::sign_in(&anon, &user).await;
    secrets.session(&third);
    let api = env.client(Auth::Bearer(third.access.clone()));
    api.get("/api/auth/me").await.expect(200);
    let out = api
        .send(
            api.request(reqwest::Method::POST, "/api/auth/logout")
                .header("cookie", format!("phase1_refresh={}", third.refresh)),
        )
        .await;
    out.expect(204);
    let (cleared, attrs) = out.set_cookie("phase1_access").expect("cleared cookie");
    assert!(cleared.is_empty() && attrs.contains("Max-Age=0"), "{attrs}");
    api.get("/api/auth/me")
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    refresh(&anon, &third.refresh)
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    // No refresh cookie at all.
    anon.post("/api/auth/refresh", &json!({}))
        .await
        .expect_problem(401, "AUTH_REQUIRED");

    secrets.assert_absent_from(
        &env.settled_log().await,
        &[
            "login.failure",
            "mfa.failure",
            "login.success",
            "refresh.reuse",
            "user.create",
        ],
    );
}

/// A code is accepted once per user; five wrong codes void an MFA token.
pub async fn mfa_codes_are_single_use(backend: Backend) {
    let env = Env::start(backend, GENEROUS);
    let mut secrets = Secrets::new();
    let user = User::create(&env.admin, "analyst").await;
    secrets.user(&user);
    let anon = env.client(Auth::Anonymous);

    let token = mfa_token(&login(&anon, &user.email, &user.password).await);
    let (code, step) = user.code();
    secrets.code(&code);
    secrets.session(&session(&mfa(&anon, &token, &code).await));
    // The same code again, within its window, on a new login: refused, and the MFA token
    // it was tried with is void.
    let token = mfa_token(&login(&anon, &user.email, &user.password).await);
    let replay = mfa(&anon, &token, &code).await;
    replay.expect_problem(401, "INVALID_MFA_CODE");
    assert!(replay.text.contains("already used"), "{}", replay.snippet());
    let (other, other_step) = user.code();
    assert_ne!(other_step, step);
    secrets.code(&other);
    mfa(&anon, &token, &other)
        .await
        .expect_problem(401, "MFA_TOKEN_INVALID");
    // Another step's code on a new login: accepted (the void token did not consume it).
    let token = mfa_token(&login(&anon, &user.email, &user.password).await);
    secrets.session(&session(&mfa(&anon, &token, &other).await));

    // Five wrong codes, then even the right one is refused.
    let token = mfa_token(&login(&anon, &user.email, &user.password).await);
    for attempt in 1..=5 {
        let wrong = user.wrong_code();
        secrets.code(&wrong);
        let r = mfa(&anon, &token, &wrong).await;
        r.expect_problem(401, "INVALID_MFA_CODE");
        assert_eq!(
            r.json["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("void"),
            attempt == 5,
            "attempt {attempt}: {}",
            r.json["detail"]
        );
    }
    let (right, _) = user.code();
    secrets.code(&right);
    mfa(&anon, &token, &right)
        .await
        .expect_problem(401, "MFA_TOKEN_INVALID");
    mfa(&anon, "not-a-token", &right)
        .await
        .expect_problem(401, "MFA_TOKEN_INVALID");
    secrets.assert_absent_from(&env.settled_log().await, &["mfa.failure", "login.success"]);
}

/// Analysts are refused admin and ops routes; admins manage users; disabling and resetting
/// MFA revoke sessions.
pub async fn roles_and_user_admin(backend: Backend) {
    let env = Env::start(backend, GENEROUS);
    let mut secrets = Secrets::new();
    let anon = env.client(Auth::Anonymous);
    let admin_user = User::create(&env.admin, "admin").await;
    let mut analyst = User::create(&env.admin, "analyst").await;
    secrets.user(&admin_user);
    secrets.user(&analyst);

    let a = signin::sign_in(&anon, &analyst).await;
    secrets.session(&a);
    let analyst_api = env.client(Auth::Bearer(a.access.clone()));
    analyst_api.get("/api/phase1/runs").await.expect(200);
    for r in [
        analyst_api.get("/api/admin/users").await,
        analyst_api
            .post(
                "/api/admin/users",
                &json!({"email": "x@example.com", "role": "admin", "password": "long enough pw"}),
            )
            .await,
        analyst_api.delete("/api/admin/ip-blocks/192.0.2.1").await,
    ] {
        r.expect_problem(403, "FORBIDDEN");
    }

    let s = signin::sign_in(&anon, &admin_user).await;
    secrets.session(&s);
    let admin = env.client(Auth::Bearer(s.access.clone()));
    let listed = admin.get("/api/admin/users").await;
    let users = listed.expect(200)["users"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let emails: Vec<&str> = users.iter().filter_map(|u| u["email"].as_str()).collect();
    assert!(
        emails.contains(&analyst.email.as_str()) && emails.contains(&admin_user.email.as_str())
    );
    let row = users
        .iter()
        .find(|u| u["email"] == analyst.email.as_str())
        .expect("the analyst is listed");
    assert_eq!(row["disabled"], false);
    assert!(row["last_login_at"].is_string(), "{row}");
    assert!(row.get("password_hash").is_none() && row.get("totp_secret").is_none());

    // Bad input, duplicates, self-disable.
    let bad = admin
        .post(
            "/api/admin/users",
            &json!({"email": "not-an-email", "role": "root", "password": "short", "x": 1}),
        )
        .await;
    bad.expect_problem(422, "VALIDATION_FAILED");
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, ["email", "password", "role", "x"]);
    admin
        .post(
            "/api/admin/users",
            &json!({"email": analyst.email, "role": "analyst", "password": "another long pw"}),
        )
        .await
        .expect_problem(409, "CONFLICT");
    admin
        .delete(&format!("/api/admin/users/{}", admin_user.email))
        .await
        .expect_problem(409, "CONFLICT");
    admin
        .delete("/api/admin/users/nobody@example.com")
        .await
        .expect_problem(404, "NOT_FOUND");

    // Reset MFA: a new URI, the old sessions and the old seed's codes end.
    let reset = admin
        .post(
            &format!("/api/admin/users/{}/reset-mfa", analyst.email),
            &json!({}),
        )
        .await;
    let uri = reset.expect(200)["provisioning_uri"]
        .as_str()
        .expect("a new URI")
        .to_string();
    assert_ne!(uri, analyst.uri);
    analyst_api
        .get("/api/auth/me")
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    refresh(&anon, &a.refresh)
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    let now = signin::step_now();
    let old_seed_code = analyst.code_of(now);
    analyst.reprovision(uri);
    secrets.user(&analyst);
    secrets.code(&old_seed_code);
    let new_codes: Vec<String> = (now - 1..=now + 2).map(|s| analyst.code_of(s)).collect();
    if !new_codes.contains(&old_seed_code) {
        let token = mfa_token(&login(&anon, &analyst.email, &analyst.password).await);
        mfa(&anon, &token, &old_seed_code)
            .await
            .expect_problem(401, "INVALID_MFA_CODE");
    }
    let b = signin::sign_in(&anon, &analyst).await;
    secrets.session(&b);

    // Disable: the live session ends at once, and sign-in is refused with the same answer
    // as a wrong password.
    let disabled = admin
        .delete(&format!("/api/admin/users/{}", analyst.email))
        .await;
    assert_eq!(disabled.expect(200)["user"]["disabled"], true);
    env.client(Auth::Bearer(b.access.clone()))
        .get("/api/auth/me")
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    refresh(&anon, &b.refresh)
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    login(&anon, &analyst.email, &analyst.password)
        .await
        .expect_problem(401, "INVALID_CREDENTIALS");
    secrets.assert_absent_from(
        &env.settled_log().await,
        &[
            "user.create",
            "user.reset_mfa",
            "user.disable",
            "login.failure",
        ],
    );
}

/// A password change: 204 with a new session; every other session ends; the old password
/// no longer signs in.
pub async fn password_change(backend: Backend) {
    let env = Env::start(backend, GENEROUS);
    let mut secrets = Secrets::new();
    let anon = env.client(Auth::Anonymous);
    let user = User::create(&env.admin, "analyst").await;
    secrets.user(&user);
    let one = signin::sign_in(&anon, &user).await;
    let two = signin::sign_in(&anon, &user).await;
    secrets.session(&one);
    secrets.session(&two);
    let api = env.client(Auth::Bearer(one.access.clone()));
    let new_password = format!("new {} password", uuid::Uuid::new_v4().simple());
    secrets.add(&new_password);

    let wrong = api
        .post(
            "/api/auth/password",
            &json!({"current_password": "not it at all", "new_password": new_password}),
        )
        .await;
    wrong.expect_problem(401, "INVALID_CREDENTIALS");
    assert_eq!(wrong.error_fields(), ["current_password"]);
    let weak = api
        .post(
            "/api/auth/password",
            &json!({"current_password": user.password, "new_password": "short"}),
        )
        .await;
    weak.expect_problem(422, "VALIDATION_FAILED");
    assert_eq!(weak.error_fields(), ["new_password"]);

    let changed = api
        .post(
            "/api/auth/password",
            &json!({"current_password": user.password, "new_password": new_password}),
        )
        .await;
    changed.expect(204);
    let (access, _) = changed.set_cookie("phase1_access").expect("a new session");
    let (refresh_token, _) = changed.set_cookie("phase1_refresh").expect("a new session");
    secrets.add(&access);
    secrets.add(&refresh_token);
    for old in [&one.access, &two.access] {
        env.client(Auth::Bearer(old.clone()))
            .get("/api/auth/me")
            .await
            .expect_problem(401, "AUTH_REQUIRED");
    }
    refresh(&anon, &two.refresh)
        .await
        .expect_problem(401, "AUTH_REQUIRED");
    env.client(Auth::Bearer(access))
        .get("/api/auth/me")
        .await
        .expect(200);
    session(&refresh(&anon, &refresh_token).await);
    login(&anon, &user.email, &user.password)
        .await
        .expect_problem(401, "INVALID_CREDENTIALS");
    mfa_token(&login(&anon, &user.email, &new_password).await);
    secrets.assert_absent_from(
        &env.settled_log().await,
        &["user.password", "login.failure"],
    );
}

/// APP_ENV=prod: missing or weak secrets stop start-up naming each variable; with them, the
/// dev bridge is gone and the ops token stays an ops token only.
pub async fn prod_mode() {
    let store = Store::new(Backend::Real);
    let (code, stderr) = Server::refuses(
        &store,
        &[
            ("APP_ENV", "prod"),
            ("SECRET_KEY", ""),
            ("PHASE1_ENCRYPTION_KEY", ""),
            ("PHASE1_ADMIN_TOKEN", ""),
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    for var in ["SECRET_KEY", "PHASE1_ENCRYPTION_KEY", "PHASE1_ADMIN_TOKEN"] {
        assert!(stderr.contains(var), "{var} not named: {stderr}");
    }
    let (code, stderr) = Server::refuses(&store, &[("APP_ENV", "prod")]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("PHASE1_ADMIN_TOKEN") && !stderr.contains(ADMIN_TOKEN),
        "a weak ops token is refused, and not echoed: {stderr}"
    );
    let (code, stderr) = Server::refuses(
        &store,
        &[("APP_ENV", "prod"), ("SECRET_KEY", &"a".repeat(40))],
    );
    assert_eq!(code, Some(1));
    assert!(stderr.contains("SECRET_KEY"), "{stderr}");

    let strong = "prod-ops-token-0123456789abcdefghijklmnopqrstuv";
    let server = Server::start(
        &store,
        &[("APP_ENV", "prod"), ("PHASE1_ADMIN_TOKEN", strong)],
    );
    let env = Env::over(server);
    let ops = env.client(Auth::Anonymous).expecting_env("prod");
    let with_token = |path: &str, method: reqwest::Method, token: &str| {
        ops.request(method, path)
            .header("x-admin-token", token.to_string())
    };
    // The ops token reaches ops routes…
    ops.send(with_token(
        "/api/admin/ip-blocks/192.0.2.7",
        reqwest::Method::DELETE,
        strong,
    ))
    .await
    .expect_problem(404, "NOT_FOUND");
    // …but is no session: business and user routes refuse it.
    for (path, method) in [
        ("/api/phase1/runs", reqwest::Method::GET),
        ("/api/admin/users", reqwest::Method::GET),
        ("/api/auth/me", reqwest::Method::GET),
    ] {
        ops.send(with_token(path, method, strong))
            .await
            .expect_problem(401, "AUTH_REQUIRED");
    }
    ops.send(with_token(
        "/api/admin/ip-blocks/192.0.2.7",
        reqwest::Method::DELETE,
        "wrong-token",
    ))
    .await
    .expect_problem(401, "AUTH_REQUIRED");
}
