//! Sign-in: password → MFA token → TOTP code → session (access token + refresh family);
//! refresh rotation with reuse detection; logout; password change.
//!
//! - `login` answers one 401 for an unknown email, a disabled user and a wrong password, and
//!   spends the same argon2 work on each.
//! - `mfa` accepts a code of the current step or one either side, each step's code once per
//!   user; every attempt on an MFA token is counted, and after 5 wrong codes the token is
//!   void. A code of the window ends the MFA token: it starts the session, or, when that
//!   step's code was already used (a replay), voids the token.
//! - Wrong passwords and wrong codes also count against the account, from whatever address:
//!   [`LOCKOUT`] failures lock its sign-in (both steps, even with the right code) until an
//!   admin lifts the lock or it runs out.
//! - `refresh` rotates the family's token; presenting an older one revokes the family and
//!   every access token issued in it.
//! - Access tokens are refused once their id, their family (`sid`), or every session of their
//!   user (a cut-off time) is revoked.

use super::audit::{self, Event, Origin};
use super::users::{self, not_configured};
use crate::auth::email::Email;
use crate::auth::password::{self, NewPassword};
use crate::auth::tokens::{self, AccessClaims, RefreshToken, TokenError};
use crate::auth::totp::{Totp, STEP_S};
use crate::http::auth::Session;
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::store::model::{LockPolicy, Role, Rotation, UserRecord};
use axum::http::StatusCode;
use phase1_core::error::FieldError;
use serde_json::json;
use std::time::Duration;

/// Wrong codes an MFA token survives.
pub const MAX_MFA_ATTEMPTS: u64 = 5;

/// Sign-in failures (wrong passwords and wrong TOTP codes, from any address) that lock an
/// account: 10 within 15 minutes lock its sign-in for 15 minutes. Per-address limits alone
/// let a holder of the password guess codes from many addresses (48 wrong codes from 12
/// addresses in 0.4 s, then the right one, in the 2026-12-03 audit).
pub const LOCKOUT: LockPolicy = LockPolicy {
    threshold: 10,
    window_ms: 15 * 60_000,
    lock_ms: 15 * 60_000,
};

/// The key an account's sign-in failures are counted under: a digest of the email as
/// typed, lower-cased. Any string is counted, known account or not, so a lock-out says
/// nothing about which emails exist, and no typed string is stored as it was sent.
pub fn account_key(email: &str) -> String {
    let typed = email.trim().to_lowercase();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(
        [b"phase1-account:".as_slice(), typed.as_bytes()].concat(),
    );
    hex::encode(&digest[..16])
}

/// 429 ACCOUNT_LOCKED until `until`, with `Retry-After`.
fn locked(until: crate::clock::Millis, now: crate::clock::Millis) -> ApiError {
    let wait_s = ((until - now).max(0) + 999) / 1000;
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "ACCOUNT_LOCKED",
        "Account locked",
        format!(
            "too many failed sign-ins: this account's sign-in is locked until {} (retry in {wait_s} s); an admin can lift the lock",
            crate::service::runs::rfc3339(until)
        ),
    )
    .with_header("retry-after", wait_s.to_string())
}

/// Refuses sign-in to a locked account.
async fn refuse_if_locked(state: &AppState, account: &str) -> Result<(), ApiError> {
    let now = state.clock.now_ms();
    match state.stores.kv.account_locked_until(account, now).await? {
        Some(until) => Err(locked(until, now)),
        None => Ok(()),
    }
}

/// Counts a sign-in failure against `email`'s account; when it locks the account, an
/// `account.lock` audit row and the ACCOUNT_LOCKED answer, else `otherwise`.
async fn count_failure(
    state: &AppState,
    origin: &Origin,
    email: &str,
    trigger: &str,
    otherwise: ApiError,
) -> ApiError {
    let now = state.clock.now_ms();
    let lock = match state
        .stores
        .kv
        .record_signin_failure(&account_key(email), &LOCKOUT, now)
        .await
    {
        Ok(l) => l,
        Err(e) => return e.into(),
    };
    match lock.locked_until {
        Some(until) if lock.newly_locked => {
            let subject = email.trim().to_lowercase();
            audit::record(
                state,
                origin,
                Event::new("account.lock", "system")
                    .subject(&subject)
                    .change(
                        json!({"locked": false}),
                        json!({"locked": true, "until": crate::service::runs::rfc3339(until),
                               "failures": LOCKOUT.threshold, "trigger": trigger}),
                    ),
            )
            .await;
            locked(until, now)
        }
        _ => otherwise,
    }
}

/// A new session: the access token, its claims, and the refresh token.
#[derive(Debug)]
pub struct Issued {
    /// The signed access token.
    pub access_token: String,
    /// Its claims.
    pub claims: AccessClaims,
    /// The refresh token (for the cookie).
    pub refresh: RefreshToken,
}

impl Issued {
    /// Seconds the access token lives.
    pub fn expires_in(&self) -> i64 {
        tokens::ACCESS_TTL_MS / 1000
    }

    /// The session's role.
    pub fn role(&self) -> Role {
        self.claims.role
    }
}

fn secret(state: &AppState) -> Result<&[u8], ApiError> {
    state
        .config
        .secret_key
        .as_ref()
        .map(|k| k.0.as_slice())
        .ok_or_else(|| not_configured("SECRET_KEY is not set: sessions cannot be signed"))
}

fn unauthorized(code: &'static str, detail: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        code,
        "Authentication failed",
        detail,
    )
}

/// 401 INVALID_CREDENTIALS: one answer for every login failure.
fn bad_credentials() -> ApiError {
    unauthorized("INVALID_CREDENTIALS", "the email or the password is wrong")
}

/// 401 MFA_TOKEN_INVALID.
fn bad_mfa_token() -> ApiError {
    unauthorized(
        "MFA_TOKEN_INVALID",
        "the MFA token is invalid, expired, used or void after 5 wrong codes: sign in again",
    )
}

/// 401 AUTH_REQUIRED for a refresh that cannot go on.
fn sign_in_again() -> ApiError {
    unauthorized("AUTH_REQUIRED", "the session has ended: sign in again")
}

/// Verifies a password on a blocking thread; for no user, spends the same work and fails.
async fn password_matches(password: String, hash: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => password::verify(&password, &h),
        None => password::verify_decoy(&password),
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))
}

/// `POST /api/auth/login`: a correct password gives a 5-minute MFA token bound to the user.
pub async fn login(
    state: &AppState,
    email: &str,
    password: String,
    origin: &Origin,
) -> Result<String, ApiError> {
    let key = secret(state)?;
    let account = account_key(email);
    refuse_if_locked(state, &account).await?;
    let typed = email;
    let email = Email::parse(email).ok();
    let user = match &email {
        Some(e) => state.stores.doc.get_user(e.as_str()).await?,
        None => None,
    };
    let usable = user.as_ref().filter(|u| !u.disabled);
    let ok = password_matches(password, usable.map(|u| u.password_hash.clone())).await?;
    let actor = email.as_ref().map_or("anonymous", Email::as_str);
    match usable {
        Some(u) if ok => {
            let (token, _) = tokens::issue_mfa(key, &u.email, state.clock.now_ms());
            Ok(token)
        }
        _ => {
            let reason = match (&user, ok) {
                (None, _) => "unknown user",
                (Some(u), _) if u.disabled => "disabled user",
                _ => "wrong password",
            };
            audit::record(
                state,
                origin,
                Event::new("login.failure", actor)
                    .change(serde_json::Value::Null, json!({"reason": reason})),
            )
            .await;
            Err(count_failure(state, origin, typed, "password", bad_credentials()).await)
        }
    }
}

/// `POST /api/auth/mfa`: a correct, unused code for the MFA token's user starts a session.
pub async fn mfa(
    state: &AppState,
    mfa_token: &str,
    code: &str,
    origin: &Origin,
) -> Result<Issued, ApiError> {
    let key = secret(state)?;
    let keys = users::keyring(state)?;
    let now = state.clock.now_ms();
    let claims = tokens::verify_mfa(key, mfa_token, now).map_err(|_| bad_mfa_token())?;
    let ttl = Duration::from_millis(tokens::MFA_TTL_MS as u64);
    let attempts = state
        .stores
        .kv
        .count_attempt("mfa", &claims.jti, ttl)
        .await?;
    if attempts > MAX_MFA_ATTEMPTS {
        return Err(bad_mfa_token());
    }
    let user = match state.stores.doc.get_user(&claims.sub).await? {
        Some(u) if !u.disabled => u,
        _ => return Err(bad_mfa_token()),
    };
    refuse_if_locked(state, &account_key(&user.email)).await?;
    let opened = keys
        .open(&user.totp_secret, user.email.as_bytes())
        .map_err(|e| {
            tracing::error!(target: "phase1::security", error = %e, "a TOTP secret does not open");
            ApiError::internal("the TOTP secret cannot be opened with the configured keys")
        })?;
    if opened.stale {
        if let Err(e) = users::reseal(state, keys, &user.email).await {
            tracing::warn!(target: "phase1::security", error = %e.detail, "re-sealing a TOTP secret failed");
        }
    }
    // Marks are per seed as well as per user: after an MFA reset the new seed's codes are
    // fresh even within the old seed's window.
    let seed_id = hex::encode(
        &<sha2::Sha256 as sha2::Digest>::digest(
            [b"phase1-seed:".as_slice(), &opened.plaintext].concat(),
        )[..8],
    );
    let totp = Totp::for_user(opened.plaintext, &user.email).map_err(ApiError::internal)?;
    let now_s = u64::try_from(now.div_euclid(1000)).unwrap_or(0);
    let Some(step) = totp.matching_step(code, now_s) else {
        let void = attempts >= MAX_MFA_ATTEMPTS;
        let detail = if void {
            "the code is wrong; the MFA token is now void: sign in again"
        } else {
            "the code is wrong"
        };
        let facts = json!({"attempt": attempts, "mfa_token_void": void});
        let refused = code_refused(state, origin, &user.email, facts, detail).await;
        return Err(count_failure(state, origin, &user.email, "mfa", refused).await);
    };
    // The MFA token ends here, before the code's step is marked: a used token consumes no
    // code, and a replayed code voids the token it was tried with.
    if !state
        .stores
        .kv
        .use_once("mfa-token", &claims.jti, ttl)
        .await?
    {
        return Err(bad_mfa_token());
    }
    // A step's code stays acceptable until two steps after it: its mark lives as long.
    let mark_ttl = Duration::from_secs(3 * STEP_S + 30);
    let mark = format!("{}:{seed_id}:{step}", user.email);
    if !state.stores.kv.use_once("totp", &mark, mark_ttl).await? {
        let detail = "the code was already used; the MFA token is now void: sign in again";
        let facts = json!({"attempt": attempts, "replayed_code": true, "mfa_token_void": true});
        let refused = code_refused(state, origin, &user.email, facts, detail).await;
        return Err(count_failure(state, origin, &user.email, "mfa", refused).await);
    }
    let issued = start_session(state, key, &user).await?;
    // A completed sign-in forgets the account's failures (a password alone does not).
    state
        .stores
        .kv
        .clear_signin_failures(&account_key(&user.email))
        .await?;
    let last_login = now;
    if let Err(e) = users::modify(state, &user.email, |u| {
        u.last_login_at = Some(last_login);
        Ok(())
    })
    .await
    {
        tracing::warn!(error = %e.detail, "last_login_at not recorded");
    }
    audit::record(
        state,
        origin,
        Event::new("login.success", &user.email)
            .change(serde_json::Value::Null, json!({"role": user.role})),
    )
    .await;
    Ok(issued)
}

/// Records an `mfa.failure` for `email` with `facts`, and the 401 INVALID_MFA_CODE answer.
async fn code_refused(
    state: &AppState,
    origin: &Origin,
    email: &str,
    facts: serde_json::Value,
    detail: &str,
) -> ApiError {
    audit::record(
        state,
        origin,
        Event::new("mfa.failure", email).change(serde_json::Value::Null, facts),
    )
    .await;
    unauthorized("INVALID_MFA_CODE", detail).field("code", detail)
}

/// A new refresh family and an access token in it.
async fn start_session(
    state: &AppState,
    key: &[u8],
    user: &UserRecord,
) -> Result<Issued, ApiError> {
    let refresh = RefreshToken::new_family(key);
    let ttl = Duration::from_millis(tokens::REFRESH_TTL_MS as u64);
    state
        .stores
        .kv
        .create_refresh_family(refresh.family(), &user.email, &refresh.hash(key), ttl)
        .await?;
    let claims = tokens::issue_access(
        &user.email,
        user.role,
        refresh.family(),
        state.clock.now_ms(),
    );
    Ok(Issued {
        access_token: tokens::encode_access(key, &claims),
        claims,
        refresh,
    })
}

/// The revocation id of a whole family's access tokens.
fn family_mark(sid: &str) -> String {
    format!("sid:{sid}")
}

/// Revokes a family: its refresh token and every access token issued in it.
async fn revoke_family(state: &AppState, sid: &str) -> Result<(), ApiError> {
    state.stores.kv.revoke_family(sid).await?;
    let ttl = Duration::from_millis(tokens::ACCESS_TTL_MS as u64);
    state.stores.kv.revoke_token(&family_mark(sid), ttl).await?;
    Ok(())
}

/// `POST /api/auth/refresh`: rotates the refresh token and issues a new access token.
pub async fn refresh(
    state: &AppState,
    presented: Option<&str>,
    origin: &Origin,
) -> Result<Issued, ApiError> {
    let key = secret(state)?;
    // A token of another SECRET_KEY (the key changed) is refused without touching its
    // family, which simply expires.
    let presented = presented
        .and_then(RefreshToken::parse)
        .filter(|t| t.issued_under(key))
        .ok_or_else(sign_in_again)?;
    let family = presented.family().to_string();
    let next = RefreshToken::next_in(&family, key);
    let ttl = Duration::from_millis(tokens::REFRESH_TTL_MS as u64);
    let rotation = state
        .stores
        .kv
        .rotate_refresh(&family, &presented.hash(key), Some(&next.hash(key)), ttl)
        .await?;
    match rotation {
        Rotation::Rotated { user } => {
            let record = match state.stores.doc.get_user(&user).await? {
                Some(u) if !u.disabled => u,
                _ => {
                    revoke_family(state, &family).await?;
                    return Err(sign_in_again());
                }
            };
            let claims =
                tokens::issue_access(&record.email, record.role, &family, state.clock.now_ms());
            Ok(Issued {
                access_token: tokens::encode_access(key, &claims),
                claims,
                refresh: next,
            })
        }
        Rotation::Reused { user } => {
            family_reused(state, origin, &family, &user).await?;
            Err(sign_in_again())
        }
        Rotation::Unknown => Err(sign_in_again()),
    }
}

/// A rotated-away token of `family` came back: the family and its access tokens are
/// revoked, and a `refresh.reuse` audit row says so.
async fn family_reused(
    state: &AppState,
    origin: &Origin,
    family: &str,
    user: &str,
) -> Result<(), ApiError> {
    revoke_family(state, family).await?;
    audit::record(
        state,
        origin,
        Event::new("refresh.reuse", user)
            .change(serde_json::Value::Null, json!({"family_revoked": true})),
    )
    .await;
    Ok(())
}

/// `POST /api/auth/logout`: revokes the caller's access token and its family, and the
/// family of the refresh cookie. The refresh cookie alone is enough (an access token
/// expires after 15 idle minutes; the refresh session would otherwise live on), but only
/// the family's current token ends it: a made-up token naming a family changes nothing.
/// Returns whether the caller was signed in (a session, or a refresh cookie that ended
/// its family).
pub async fn logout(
    state: &AppState,
    session: Option<&Session>,
    refresh_cookie: Option<&str>,
    origin: &Origin,
) -> Result<bool, ApiError> {
    let access = session.and_then(|s| s.access.as_ref());
    if let Some(c) = access {
        let ttl = Duration::from_millis(
            u64::try_from(c.exp_ms() - state.clock.now_ms()).unwrap_or(0) + 1000,
        );
        state.stores.kv.revoke_token(&c.jti, ttl).await?;
        revoke_family(state, &c.sid).await?;
    }
    let Ok(key) = secret(state) else {
        return Ok(session.is_some());
    };
    let presented = refresh_cookie
        .and_then(RefreshToken::parse)
        .filter(|t| t.issued_under(key))
        .filter(|t| access.is_none_or(|c| c.sid != t.family()));
    let Some(presented) = presented else {
        return Ok(session.is_some());
    };
    let family = presented.family().to_string();
    let ttl = Duration::from_millis(tokens::REFRESH_TTL_MS as u64);
    let ended = match state
        .stores
        .kv
        .rotate_refresh(&family, &presented.hash(key), None, ttl)
        .await?
    {
        Rotation::Rotated { .. } => {
            revoke_family(state, &family).await?;
            true
        }
        Rotation::Reused { user } => {
            family_reused(state, origin, &family, &user).await?;
            true
        }
        Rotation::Unknown => false,
    };
    Ok(session.is_some() || ended)
}

/// Whether an access token verified by signature and time is still live: its id, its
/// family and its user's sessions not revoked.
pub async fn is_live(state: &AppState, claims: &AccessClaims) -> Result<bool, ApiError> {
    let kv = &state.stores.kv;
    if kv.is_token_revoked(&claims.jti).await?
        || kv.is_token_revoked(&family_mark(&claims.sid)).await?
    {
        return Ok(false);
    }
    Ok(match kv.sessions_revoked_at(&claims.sub).await? {
        Some(cutoff) => claims.iat_ms >= cutoff,
        None => true,
    })
}

/// Verifies an access token: signature, times, MFA, revocation. An MFA token presented as
/// an access token is answered 401 MFA_REQUIRED.
pub async fn verify(state: &AppState, token: &str) -> Result<AccessClaims, ApiError> {
    let key = state
        .config
        .secret_key
        .as_ref()
        .map(|k| k.0.as_slice())
        .ok_or_else(ApiError::auth_required)?;
    let now = state.clock.now_ms();
    let claims = match tokens::verify_access(key, token, now) {
        Ok(c) => c,
        Err(TokenError::Invalid(_)) if tokens::verify_mfa(key, token, now).is_ok() => {
            return Err(unauthorized(
                "MFA_REQUIRED",
                "complete sign-in with POST /api/auth/mfa first",
            ))
        }
        Err(_) => return Err(ApiError::auth_required()),
    };
    if !is_live(state, &claims).await? {
        return Err(ApiError::auth_required());
    }
    Ok(claims)
}

/// `POST /api/auth/password`: checks the current password, stores the new one, revokes
/// every session of the user and starts a new one for the caller.
pub async fn change_password(
    state: &AppState,
    session: &Session,
    current: String,
    new: &str,
    origin: &Origin,
) -> Result<Issued, ApiError> {
    let key = secret(state)?;
    let new = NewPassword::parse(new)
        .map_err(|m| ApiError::validation(vec![FieldError::new("new_password", m)]))?;
    let Some(user) = state.stores.doc.get_user(&session.email).await? else {
        return Err(ApiError::not_found(format!(
            "{} is not a user account (the ops token signs in no one)",
            session.email
        )));
    };
    if !password_matches(current, Some(user.password_hash.clone())).await? {
        audit::record(
            state,
            origin,
            Event::new("user.password", &user.email).change(
                serde_json::Value::Null,
                json!({"changed": false, "reason": "wrong current password"}),
            ),
        )
        .await;
        return Err(bad_credentials().field("current_password", "is wrong"));
    }
    let hash = users::hash_password(new).await?;
    let (_, after) = users::modify(state, &user.email, |u| {
        u.password_hash = hash.clone();
        Ok(())
    })
    .await?;
    users::revoke_sessions(state, &user.email).await?;
    let issued = start_session(state, key, &after).await?;
    audit::record(
        state,
        origin,
        Event::new("user.password", &user.email).change(
            serde_json::Value::Null,
            json!({"changed": true, "sessions_revoked": true}),
        ),
    )
    .await;
    Ok(issued)
}
