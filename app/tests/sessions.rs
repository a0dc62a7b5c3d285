//! Sign-in by the injectable clock, over the embedded store: MFA tokens, access tokens and
//! refresh tokens expire exactly when they should, the code window is one step either side,
//! revocations cut tokens off, key rotation re-seals on use, and every security event is an
//! audit row. Time moves only when a test advances it.

use phase1_app::auth::email::Email;
use phase1_app::auth::password::NewPassword;
use phase1_app::auth::tokens;
use phase1_app::clock::{Clock, ManualClock, Millis};
use phase1_app::config::Config;
use phase1_app::http::auth::{Session, Via};
use phase1_app::http::problem::ApiError;
use phase1_app::http::state::AppState;
use phase1_app::service::audit::Origin;
use phase1_app::service::sessions::{self, Issued};
use phase1_app::service::users::{self, NewUser};
use phase1_app::store::model::{Page, Role};
use std::collections::HashMap;
use std::sync::Arc;
use totp_rs::TOTP;

const KEY_A: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const KEY_B: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
const SECRET: &str = "sessions-test-signing-key-0123456789abcdef";
const PASSWORD: &str = "a long enough password";
/// 2027-01-15T08:00:10Z: ten seconds into a TOTP step.
const T0: Millis = 1_800_000_010_000;

struct Fixture {
    state: AppState,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn fixture_with(
    dir: tempfile::TempDir,
    clock: Arc<ManualClock>,
    keys: &[(&str, &str)],
) -> Fixture {
    let mut vars: HashMap<String, String> =
        [("SECRET_KEY", SECRET), ("PHASE1_ENCRYPTION_KEY", KEY_A)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    for (k, v) in keys {
        vars.insert(k.to_string(), v.to_string());
    }
    vars.insert(
        "PHASE1_EMBEDDED_PATH".into(),
        dir.path().join("phase1.redb").display().to_string(),
    );
    let config = Config::from_lookup(&|k| vars.get(k).cloned()).expect("valid configuration");
    let state = AppState::new(config, clock.clone())
        .await
        .expect("the embedded store opens");
    Fixture {
        state,
        clock,
        _dir: dir,
    }
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    fixture_with(dir, ManualClock::new(T0), &[]).await
}

fn origin() -> Origin {
    Origin::http("/api/auth/test", Some("192.0.2.10".parse().expect("ip")))
}

impl Fixture {
    /// Creates an analyst; returns their code generator.
    async fn user(&self, email: &str) -> TOTP {
        let new = NewUser {
            email: Email::parse(email).expect("email"),
            role: Role::Analyst,
            password: NewPassword::parse(PASSWORD).expect("password"),
        };
        let p = users::create(&self.state, new, "admin@example.com", &origin())
            .await
            .expect("created");
        TOTP::from_url(&p.provisioning_uri).expect("the URI parses")
    }

    /// The user's TOTP secret as stored (sealed).
    async fn stored_secret(&self, email: &str) -> String {
        self.state
            .stores
            .doc
            .get_user(email)
            .await
            .expect("read")
            .expect("user")
            .totp_secret
    }

    fn now_s(&self) -> u64 {
        u64::try_from(self.clock.now_ms() / 1000).expect("after 1970")
    }

    async fn login(&self, email: &str) -> String {
        sessions::login(&self.state, email, PASSWORD.into(), &origin())
            .await
            .expect("the password is right")
    }

    async fn sign_in(&self, email: &str, totp: &TOTP, step_offset: i64) -> Issued {
        let token = self.login(email).await;
        let at = (self.now_s() as i64 + step_offset * 30) as u64;
        sessions::mfa(&self.state, &token, &totp.generate(at), &origin())
            .await
            .expect("the code is right")
    }

    /// The newest 100 audit rows.
    async fn audit_rows(&self) -> Vec<phase1_app::store::model::AuditRow> {
        self.state
            .stores
            .doc
            .list_audit(Page {
                offset: 0,
                limit: 100,
            })
            .await
            .expect("audit rows")
    }

    async fn verify(&self, issued: &Issued) -> Result<(), &'static str> {
        sessions::verify(&self.state, &issued.access_token)
            .await
            .map(|_| ())
            .map_err(|e: ApiError| e.code)
    }
}

#[tokio::test]
async fn mfa_tokens_live_five_minutes() {
    let f = fixture().await;
    let totp = f.user("ada@example.com").await;
    let token = f.login("ada@example.com").await;
    f.clock.advance(5 * 60_000);
    let code = totp.generate(f.now_s());
    let late = sessions::mfa(&f.state, &token, &code, &origin()).await;
    assert_eq!(
        late.map(|_| ()).map_err(|e| e.code),
        Err("MFA_TOKEN_INVALID")
    );
    let token = f.login("ada@example.com").await;
    f.clock.advance(5 * 60_000 - 1_000);
    let code = totp.generate(f.now_s());
    assert!(sessions::mfa(&f.state, &token, &code, &origin())
        .await
        .is_ok());
}

#[tokio::test]
async fn codes_are_accepted_one_step_either_side_only() {
    let f = fixture().await;
    let totp = f.user("ada@example.com").await;
    for (offset, ok) in [(-2, false), (2, false), (-1, true), (1, true), (0, true)] {
        let token = f.login("ada@example.com").await;
        let at = (f.now_s() as i64 + offset * 30) as u64;
        let r = sessions::mfa(&f.state, &token, &totp.generate(at), &origin()).await;
        assert_eq!(r.is_ok(), ok, "step offset {offset}");
    }
}

#[tokio::test]
async fn access_tokens_live_fifteen_minutes_and_refresh_tokens_a_day() {
    let f = fixture().await;
    let totp = f.user("ada@example.com").await;
    let issued = f.sign_in("ada@example.com", &totp, 0).await;
    assert_eq!(issued.expires_in(), 900);
    f.clock.advance(15 * 60_000 - 1_000);
    assert_eq!(f.verify(&issued).await, Ok(()));
    f.clock.advance(1_000);
    assert_eq!(f.verify(&issued).await, Err("AUTH_REQUIRED"));

    // A refresh within the day works and restarts the day; a day without one ends it.
    let next = sessions::refresh(&f.state, Some(issued.refresh.expose()), &origin())
        .await
        .expect("refreshed");
    assert_eq!(f.verify(&next).await, Ok(()));
    f.clock.advance(24 * 3_600_000 - 1_000);
    let last = sessions::refresh(&f.state, Some(next.refresh.expose()), &origin())
        .await
        .expect("refreshed within the day");
    f.clock.advance(24 * 3_600_000);
    let ended = sessions::refresh(&f.state, Some(last.refresh.expose()), &origin()).await;
    assert_eq!(ended.map(|_| ()).map_err(|e| e.code), Err("AUTH_REQUIRED"));
}

#[tokio::test]
async fn revocations_cut_tokens_off() {
    let f = fixture().await;
    let totp = f.user("ada@example.com").await;
    let a = f.sign_in("ada@example.com", &totp, 0).await;
    let b = f.sign_in("ada@example.com", &totp, 1).await;
    // Logout of one session revokes its token id and family, not the other session.
    let session = Session {
        email: "ada@example.com".into(),
        role: Role::Analyst,
        via: Via::AccessToken,
        access: Some(a.claims.clone()),
    };
    let signed_in = sessions::logout(&f.state, Some(&session), None, &origin())
        .await
        .expect("logout");
    assert!(signed_in);
    assert_eq!(f.verify(&a).await, Err("AUTH_REQUIRED"));
    assert_eq!(f.verify(&b).await, Ok(()));
    // Disabling revokes every session issued before it.
    f.clock.advance(1);
    users::disable(
        &f.state,
        &Email::parse("ada@example.com").expect("email"),
        "admin@example.com",
        &origin(),
    )
    .await
    .expect("disabled");
    assert_eq!(f.verify(&b).await, Err("AUTH_REQUIRED"));
    let r = sessions::refresh(&f.state, Some(b.refresh.expose()), &origin()).await;
    assert_eq!(r.map(|_| ()).map_err(|e| e.code), Err("AUTH_REQUIRED"));
}

/// L4 of the 2026-12-03 audit: after 15 idle minutes the access token has expired, and a
/// logout with the refresh cookie alone left the 24-hour session alive.
#[tokio::test]
async fn logout_with_the_refresh_cookie_alone_ends_the_session() {
    let f = fixture().await;
    let totp = f.user("ada@example.com").await;
    let a = f.sign_in("ada@example.com", &totp, 0).await;
    f.clock.advance(tokens::ACCESS_TTL_MS + 60_000);
    assert_eq!(
        f.verify(&a).await,
        Err("AUTH_REQUIRED"),
        "the access token expired"
    );
    let signed_in = sessions::logout(&f.state, None, Some(a.refresh.expose()), &origin())
        .await
        .expect("logout");
    assert!(signed_in);
    let r = sessions::refresh(&f.state, Some(a.refresh.expose()), &origin()).await;
    assert_eq!(r.map(|_| ()).map_err(|e| e.code), Err("AUTH_REQUIRED"));
    // Nothing to end: not signed in.
    let again = sessions::logout(&f.state, None, Some(a.refresh.expose()), &origin())
        .await
        .expect("logout again");
    assert!(!again);
}

/// L5 of the 2026-12-03 audit: the family id is readable in the access token (`sid`); a
/// refresh token made up around it revoked the victim's session.
#[tokio::test]
async fn a_made_up_refresh_token_naming_a_family_revokes_nothing() {
    let f = fixture().await;
    let totp = f.user("ada@example.com").await;
    let victim = f.sign_in("ada@example.com", &totp, 0).await;
    let attacker = f.sign_in("ada@example.com", &totp, 1).await;
    let kid = attacker
        .refresh
        .expose()
        .split('.')
        .nth(1)
        .expect("a key id")
        .to_string();
    let forged = format!("{}.{kid}.{}", victim.claims.sid, "A".repeat(43));
    let r = sessions::refresh(&f.state, Some(&forged), &origin()).await;
    assert_eq!(r.map(|_| ()).map_err(|e| e.code), Err("AUTH_REQUIRED"));
    let ended = sessions::logout(&f.state, None, Some(&forged), &origin())
        .await
        .expect("logout");
    assert!(!ended, "a forged cookie signs no one out");
    assert_eq!(
        f.verify(&victim).await,
        Ok(()),
        "the victim is still signed in"
    );
    let next = sessions::refresh(&f.state, Some(victim.refresh.expose()), &origin())
        .await
        .expect("the victim still refreshes");
    // The victim's rotated-away token is reuse: that still revokes the family.
    let reuse = sessions::refresh(&f.state, Some(victim.refresh.expose()), &origin()).await;
    assert_eq!(reuse.map(|_| ()).map_err(|e| e.code), Err("AUTH_REQUIRED"));
    assert_eq!(f.verify(&next).await, Err("AUTH_REQUIRED"));
}

/// M2 of the 2026-12-03 audit: 48 wrong codes on fresh MFA tokens (from 12 addresses), and
/// then the right code still signed in. Ten failures now lock the account's sign-in.
#[tokio::test]
async fn ten_failures_lock_the_account_even_against_the_right_code() {
    let f = fixture().await;
    let totp = f.user("ada@example.com").await;
    let wrong = |code: &str| {
        if code == "000000" {
            "111111".to_string()
        } else {
            "000000".to_string()
        }
    };
    let mut last = None;
    for i in 0..10 {
        let token = f.login("ada@example.com").await;
        let code = wrong(&totp.generate(f.now_s()));
        let from = Origin::http(
            "/api/auth/mfa",
            Some(format!("192.0.2.{i}").parse().expect("ip")),
        );
        last = Some(
            sessions::mfa(&f.state, &token, &code, &from)
                .await
                .map(|_| ())
                .map_err(|e| e.code),
        );
        if i < 9 {
            assert_eq!(last, Some(Err("INVALID_MFA_CODE")), "failure {i}");
        }
    }
    assert_eq!(last, Some(Err("ACCOUNT_LOCKED")), "the tenth failure locks");
    // The password step is refused, and so is the right code on a token from before.
    let refused = sessions::login(&f.state, "ada@example.com", PASSWORD.into(), &origin()).await;
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.code),
        Err("ACCOUNT_LOCKED")
    );
    let rows = f.audit_rows().await;
    assert!(
        rows.iter().any(|r| r.action == "account.lock"
            && r.new["subject"] == serde_json::json!("ada@example.com")
            && r.new["trigger"] == serde_json::json!("mfa")),
        "the lock is audited"
    );
    // After 15 minutes the account signs in again.
    f.clock.advance(15 * 60_000);
    let token = f.login("ada@example.com").await;
    sessions::mfa(&f.state, &token, &totp.generate(f.now_s()), &origin())
        .await
        .expect("unlocked by time");

    // An admin lifts a lock at once.
    for _ in 0..10 {
        let _ = sessions::login(
            &f.state,
            "ada@example.com",
            "wrong-password-xyz".into(),
            &origin(),
        )
        .await;
    }
    let refused = sessions::login(&f.state, "ada@example.com", PASSWORD.into(), &origin()).await;
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.code),
        Err("ACCOUNT_LOCKED")
    );
    let email = Email::parse("ada@example.com").expect("email");
    assert!(
        users::unlock(&f.state, &email, "admin@example.com", &origin())
            .await
            .expect("unlocked")
    );
    f.login("ada@example.com").await;

    // An unknown email locks the same way, so a lock-out tells nothing about which exist.
    let mut codes = Vec::new();
    for _ in 0..11 {
        let r = sessions::login(
            &f.state,
            "nobody@example.com",
            "wrong-password-xyz".into(),
            &origin(),
        )
        .await;
        codes.push(r.map(|_| ()).map_err(|e| e.code));
    }
    assert_eq!(codes[8], Err("INVALID_CREDENTIALS"));
    assert_eq!(codes[9], Err("ACCOUNT_LOCKED"));
    assert_eq!(codes[10], Err("ACCOUNT_LOCKED"));
}

#[tokio::test]
async fn a_rotated_key_reseals_on_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(T0);
    let f = fixture_with(dir, clock.clone(), &[]).await;
    let totp = f.user("ada@example.com").await;
    let sealed_a = f.stored_secret("ada@example.com").await;
    // Restart over the same file with a new key, the old one as previous.
    let dir = f._dir;
    drop(f.state);
    let rotated = fixture_with(
        dir,
        clock.clone(),
        &[
            ("PHASE1_ENCRYPTION_KEY", KEY_B),
            ("PHASE1_ENCRYPTION_KEY_PREVIOUS", KEY_A),
        ],
    )
    .await;
    rotated.sign_in("ada@example.com", &totp, 0).await;
    let sealed_b = rotated.stored_secret("ada@example.com").await;
    assert_ne!(sealed_a, sealed_b, "re-sealed under the new key on use");
    let keys = phase1_app::auth::sealed::Keyring::new(hex_key(KEY_B), None);
    let opened = keys
        .open(&sealed_b, b"ada@example.com")
        .expect("opens under the new key alone");
    assert!(!opened.stale);
}

fn hex_key(h: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    bytes.try_into().expect("32 bytes")
}

#[tokio::test]
async fn security_events_are_audit_rows() {
    let f = fixture().await;
    let totp = f.user("ada@example.com").await;
    let wrong = sessions::login(
        &f.state,
        "ada@example.com",
        "not the password".into(),
        &origin(),
    )
    .await;
    assert_eq!(
        wrong.map(|_| ()).map_err(|e| e.code),
        Err("INVALID_CREDENTIALS")
    );
    let unknown = sessions::login(&f.state, "eve@example.com", PASSWORD.into(), &origin()).await;
    assert_eq!(
        unknown.map(|_| ()).map_err(|e| e.code),
        Err("INVALID_CREDENTIALS")
    );
    let token = f.login("ada@example.com").await;
    let bad = sessions::mfa(&f.state, &token, "000000x", &origin()).await;
    assert_eq!(bad.map(|_| ()).map_err(|e| e.code), Err("INVALID_MFA_CODE"));
    let issued = f.sign_in("ada@example.com", &totp, 0).await;
    let next = sessions::refresh(&f.state, Some(issued.refresh.expose()), &origin())
        .await
        .expect("refreshed");
    let reuse = sessions::refresh(&f.state, Some(issued.refresh.expose()), &origin()).await;
    assert!(reuse.is_err());
    assert_eq!(
        f.verify(&next).await,
        Err("AUTH_REQUIRED"),
        "the family is revoked"
    );

    let rows = f.audit_rows().await;
    let mut actions: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.action.clone(), r.actor.clone()))
        .collect();
    // The clock stands still here, so rows share one time: compare them as a set.
    actions.sort();
    let want = [
        ("user.create", "admin@example.com"),
        ("login.failure", "ada@example.com"),
        ("login.failure", "eve@example.com"),
        ("mfa.failure", "ada@example.com"),
        ("login.success", "ada@example.com"),
        ("refresh.reuse", "ada@example.com"),
    ];
    let mut want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    want.sort();
    assert_eq!(actions, want);
    for r in &rows {
        assert_eq!(r.route, "/api/auth/test");
        assert_eq!(r.new["ip"], "192.0.2.10", "{r:?}");
        let text = serde_json::to_string(r).expect("json");
        assert!(!text.contains(PASSWORD) && !text.contains(&issued.access_token));
    }
    let failure = rows
        .iter()
        .find(|r| r.actor == "eve@example.com")
        .expect("row");
    assert_eq!(failure.new["reason"], "unknown user");
}

#[tokio::test]
async fn a_new_secret_key_ends_every_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(T0);
    let f = fixture_with(dir, clock.clone(), &[]).await;
    let totp = f.user("ada@example.com").await;
    let issued = f.sign_in("ada@example.com", &totp, 0).await;
    let mfa_token = f.login("ada@example.com").await;
    let dir = f._dir;
    drop(f.state);
    let rekeyed = fixture_with(
        dir,
        clock,
        &[("SECRET_KEY", "another-signing-key-9876543210zyxwvutsrqp")],
    )
    .await;
    assert_eq!(rekeyed.verify(&issued).await, Err("AUTH_REQUIRED"));
    let r = sessions::refresh(&rekeyed.state, Some(issued.refresh.expose()), &origin()).await;
    assert_eq!(r.map(|_| ()).map_err(|e| e.code), Err("AUTH_REQUIRED"));
    let code = totp.generate(rekeyed.now_s() + 30);
    let r = sessions::mfa(&rekeyed.state, &mfa_token, &code, &origin()).await;
    assert_eq!(r.map(|_| ()).map_err(|e| e.code), Err("MFA_TOKEN_INVALID"));
    // Signing in again works under the new key.
    let fresh = rekeyed.sign_in("ada@example.com", &totp, 1).await;
    assert_eq!(rekeyed.verify(&fresh).await, Ok(()));
}
