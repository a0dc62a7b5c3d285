//! Signing in as a real user: accounts created through the admin API (as the dev-bridge
//! admin), codes computed from their provisioning URIs as an authenticator app would
//! (`totp-rs` reading the otpauth:// URI), sessions read from the answers.

use super::client::{Api, Reply};
use serde_json::json;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use totp_rs::TOTP;

/// Seconds per TOTP step.
const STEP: u64 = 30;

/// A user the test created, with what it needs to sign in.
pub struct User {
    /// Lower-cased email.
    pub email: String,
    /// The password.
    pub password: String,
    /// The provisioning URI the server returned.
    pub uri: String,
    totp: TOTP,
    /// Steps whose code was accepted (each is accepted once).
    used: Mutex<HashSet<u64>>,
}

/// Seconds since the epoch.
fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .expect("the clock is after 1970")
}

/// The current TOTP step.
pub fn step_now() -> u64 {
    now_s() / STEP
}

impl User {
    /// Creates a user with `role` through `admin` (an admin caller); asserts 201.
    pub async fn create(admin: &Api, role: &str) -> User {
        let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = format!("pw {} long enough", uuid::Uuid::new_v4().simple());
        let reply = admin
            .post(
                "/api/admin/users",
                &json!({"email": email.to_uppercase(), "role": role, "password": password}),
            )
            .await;
        let body = reply.expect(201);
        assert_eq!(body["email"], email.as_str(), "emails are lower-cased");
        assert_eq!(body["role"], role);
        let uri = body["provisioning_uri"]
            .as_str()
            .expect("a provisioning URI")
            .to_string();
        User::from_uri(email, password, uri)
    }

    /// A user whose provisioning URI is `uri`.
    pub fn from_uri(email: String, password: String, uri: String) -> User {
        let totp = TOTP::from_url(&uri).unwrap_or_else(|e| panic!("{uri} does not parse: {e}"));
        assert_eq!(totp.digits, 6);
        assert_eq!(totp.step, STEP);
        User {
            email,
            password,
            uri,
            totp,
            used: Mutex::new(HashSet::new()),
        }
    }

    /// Replaces the seed (after an MFA reset).
    pub fn reprovision(&mut self, uri: String) {
        *self = User::from_uri(self.email.clone(), self.password.clone(), uri);
    }

    /// The seed as the URI carries it (base32), to look for in logs.
    pub fn seed_base32(&self) -> String {
        self.totp.get_secret_base32()
    }

    /// The code of `step`.
    pub fn code_of(&self, step: u64) -> String {
        self.totp.generate(step * STEP)
    }

    /// An unused code the server accepts now: of the current step or the next (never the
    /// previous one, which could expire while the request travels). When both are used,
    /// waits for the next step.
    pub fn code(&self) -> (String, u64) {
        loop {
            let now = now_s() / STEP;
            let mut used = self.used.lock().expect("lock");
            if let Some(step) = [now, now + 1].into_iter().find(|s| !used.contains(s)) {
                used.insert(step);
                return (self.code_of(step), step);
            }
            drop(used);
            let wait = STEP - now_s() % STEP;
            std::thread::sleep(Duration::from_secs(wait) + Duration::from_millis(200));
        }
    }

    /// A 6-digit code no step near now has.
    pub fn wrong_code(&self) -> String {
        let now = now_s() / STEP;
        let near: Vec<String> = (now.saturating_sub(2)..=now + 3)
            .map(|s| self.code_of(s))
            .collect();
        (0..1_000_000u32)
            .map(|n| format!("{:06}", (n * 7919 + 123_457) % 1_000_000))
            .find(|c| !near.contains(c))
            .expect("a wrong code")
    }
}

/// A signed-in session, as the MFA answer gave it.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The access token (body and `phase1_access` cookie).
    pub access: String,
    /// The refresh token (`phase1_refresh` cookie).
    pub refresh: String,
    /// `role` of the answer.
    pub role: String,
}

/// `POST /api/auth/login`.
pub async fn login(api: &Api, email: &str, password: &str) -> Reply {
    api.post(
        "/api/auth/login",
        &json!({"email": email, "password": password}),
    )
    .await
}

/// `POST /api/auth/mfa`.
pub async fn mfa(api: &Api, mfa_token: &str, code: &str) -> Reply {
    api.post(
        "/api/auth/mfa",
        &json!({"mfa_token": mfa_token, "code": code}),
    )
    .await
}

/// The MFA token of a successful login.
#[track_caller]
pub fn mfa_token(reply: &Reply) -> String {
    let body = reply.expect(200);
    assert_eq!(body["mfa_required"], true);
    body["mfa_token"].as_str().expect("mfa_token").to_string()
}

/// The session of a successful MFA (or refresh) answer, with its cookies checked.
#[track_caller]
pub fn session(reply: &Reply) -> Signed {
    let body = reply.expect(200);
    let access = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    assert_eq!(body["expires_in"], 900);
    let (cookie_access, a_attrs) = reply.set_cookie("phase1_access").expect("access cookie");
    let (refresh, r_attrs) = reply.set_cookie("phase1_refresh").expect("refresh cookie");
    assert_eq!(cookie_access, access, "the cookie carries the body's token");
    for attrs in [&a_attrs, &r_attrs] {
        for want in ["HttpOnly", "Secure", "SameSite=Strict"] {
            assert!(
                attrs.contains(want),
                "cookie attributes {attrs:?} lack {want}"
            );
        }
    }
    assert!(
        a_attrs.contains("Path=/;") && a_attrs.contains("Max-Age=900"),
        "{a_attrs}"
    );
    assert!(
        r_attrs.contains("Path=/api/auth;") && r_attrs.contains("Max-Age=86400"),
        "{r_attrs}"
    );
    Signed {
        access,
        refresh,
        role: body["role"].as_str().expect("role").to_string(),
    }
}

/// Login and MFA with a fresh code; asserts both succeed.
pub async fn sign_in(api: &Api, user: &User) -> Signed {
    let token = mfa_token(&login(api, &user.email, &user.password).await);
    let (code, _) = user.code();
    session(&mfa(api, &token, &code).await)
}

/// `POST /api/auth/refresh` with `refresh` as the cookie.
pub async fn refresh(api: &Api, refresh: &str) -> Reply {
    api.send(
        api.request(reqwest::Method::POST, "/api/auth/refresh")
            .header("cookie", format!("phase1_refresh={refresh}")),
    )
    .await
}
