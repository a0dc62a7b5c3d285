//! Users: creation with a TOTP seed (its provisioning URI shown once), listing, MFA reset,
//! disabling, password changes, and re-sealing every seed under the current encryption key.
//! Called by the admin routes and by `phase1 admin`.

use super::audit::{self, Event, Origin};
use crate::auth::email::Email;
use crate::auth::password::NewPassword;
use crate::auth::sealed::Keyring;
use crate::auth::totp::{self, Totp};
use crate::http::problem::ApiError;
use crate::http::state::AppState;
use crate::store::model::{Role, UserRecord};
use crate::store::StoreError;
use axum::http::StatusCode;
use phase1_core::error::FieldError;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// How long revocation marks are kept: as long as the longest-lived token they cut off.
pub const REVOCATION_TTL: Duration = Duration::from_secs(24 * 3600);

/// A user to create, parsed.
#[derive(Debug)]
pub struct NewUser {
    /// The address.
    pub email: Email,
    /// The role.
    pub role: Role,
    /// The password.
    pub password: NewPassword,
}

/// Parses a role name.
pub fn parse_role(raw: &str) -> Result<Role, String> {
    match raw.trim() {
        "admin" => Ok(Role::Admin),
        "analyst" => Ok(Role::Analyst),
        _ => Err("must be admin or analyst".into()),
    }
}

impl NewUser {
    /// Parses `{email, role, password}`, reporting every problem.
    pub fn parse(body: &Map<String, Value>) -> Result<NewUser, Vec<FieldError>> {
        let mut errors = crate::http::body::unknown_keys(body, &["email", "role", "password"]);
        let text = |name: &str, errors: &mut Vec<FieldError>| {
            crate::http::body::required_string(body, name, errors)
        };
        let email = text("email", &mut errors).and_then(|s| {
            Email::parse(&s)
                .map_err(|m| errors.push(FieldError::new("email", m)))
                .ok()
        });
        let role = text("role", &mut errors).and_then(|s| {
            parse_role(&s)
                .map_err(|m| errors.push(FieldError::new("role", m)))
                .ok()
        });
        let password = text("password", &mut errors).and_then(|s| {
            NewPassword::parse(&s)
                .map_err(|m| errors.push(FieldError::new("password", m)))
                .ok()
        });
        match (email, role, password) {
            (Some(email), Some(role), Some(password)) if errors.is_empty() => Ok(NewUser {
                email,
                role,
                password,
            }),
            _ => Err(errors),
        }
    }
}

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserView {
    /// The address.
    pub email: String,
    /// The role.
    pub role: Role,
    /// Disabled users cannot sign in.
    pub disabled: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, when they have signed in.
    pub last_login_at: Option<String>,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> UserView {
        UserView {
            email: u.email.clone(),
            role: u.role,
            disabled: u.disabled,
            created_at: super::runs::rfc3339(u.created_at),
            last_login_at: u.last_login_at.map(super::runs::rfc3339),
        }
    }
}

/// A user with a fresh TOTP seed: the provisioning URI is shown this once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Provisioned {
    /// The address.
    pub email: String,
    /// The role.
    pub role: Role,
    /// The otpauth:// URI for an authenticator app.
    pub provisioning_uri: String,
}

/// The keyring, or 503 naming the variable that is missing.
pub fn keyring(state: &AppState) -> Result<&Keyring, ApiError> {
    state.config.encryption.as_ref().ok_or_else(|| {
        not_configured("PHASE1_ENCRYPTION_KEY is not set: TOTP secrets cannot be sealed")
    })
}

/// 503 AUTH_NOT_CONFIGURED.
pub fn not_configured(detail: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "AUTH_NOT_CONFIGURED",
        "Sign-in is not configured",
        detail,
    )
}

/// A new seed sealed for `email`, and its provisioning URI.
fn new_seed(keys: &Keyring, email: &str) -> Result<(String, String), ApiError> {
    let seed = totp::new_seed();
    let uri = Totp::for_user(seed.clone(), email)
        .map_err(ApiError::internal)?
        .provisioning_uri();
    Ok((keys.seal(&seed, email.as_bytes()), uri))
}

/// Hashes a password on a blocking thread (argon2 is slow on purpose).
pub async fn hash_password(password: NewPassword) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || password.hash())
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::internal)
}

/// Creates a user; 409 CONFLICT when the email is taken.
pub async fn create(
    state: &AppState,
    new: NewUser,
    actor: &str,
    origin: &Origin,
) -> Result<Provisioned, ApiError> {
    let keys = keyring(state)?;
    let email = new.email.as_str().to_string();
    let (sealed, uri) = new_seed(keys, &email)?;
    let record = UserRecord {
        email: email.clone(),
        role: new.role,
        password_hash: hash_password(new.password).await?,
        totp_secret: sealed,
        disabled: false,
        created_at: state.clock.now_ms(),
        last_login_at: None,
        version: 1,
    };
    match state.stores.doc.create_user(&record).await {
        Ok(()) => {}
        Err(StoreError::Duplicate { .. }) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "CONFLICT",
                "Already exists",
                format!("a user {email} already exists"),
            )
            .field("email", "is taken"))
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        state,
        origin,
        Event::new("user.create", actor)
            .subject(&email)
            .change(Value::Null, json!({"email": email, "role": new.role})),
    )
    .await;
    Ok(Provisioned {
        email,
        role: new.role,
        provisioning_uri: uri,
    })
}

/// Every user, by email.
pub async fn list(state: &AppState) -> Result<Vec<UserView>, ApiError> {
    Ok(state
        .stores
        .doc
        .list_users()
        .await?
        .iter()
        .map(UserView::from)
        .collect())
}

/// Reads `email`, applies `change`, and writes it back under the version it read, retrying
/// when another writer got there first. 404 when there is no such user.
pub async fn modify(
    state: &AppState,
    email: &str,
    mut change: impl FnMut(&mut UserRecord) -> Result<(), ApiError>,
) -> Result<(UserRecord, UserRecord), ApiError> {
    for _ in 0..5 {
        let Some(before) = state.stores.doc.get_user(email).await? else {
            return Err(ApiError::not_found(format!("no user {email}")));
        };
        let mut after = before.clone();
        change(&mut after)?;
        match state
            .stores
            .doc
            .update_user_if_version(&after, before.version)
            .await
        {
            Ok(()) => {
                after.version = before.version + 1;
                return Ok((before, after));
            }
            Err(StoreError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "CONFLICT",
        "Conflict",
        format!("user {email} kept changing under this update; try again"),
    ))
}

/// Revokes every session of `email` now: refresh families deleted, access tokens issued
/// before now refused.
pub async fn revoke_sessions(state: &AppState, email: &str) -> Result<u64, ApiError> {
    let now = state.clock.now_ms();
    Ok(state
        .stores
        .kv
        .revoke_user_sessions(email, now, REVOCATION_TTL)
        .await?)
}

/// The email in a path, parsed (422 naming `email`).
pub fn path_email(raw: &str) -> Result<Email, ApiError> {
    Email::parse(raw).map_err(|m| ApiError::validation(vec![FieldError::new("email", m)]))
}

/// A new TOTP seed for `email`; revokes their sessions.
pub async fn reset_mfa(
    state: &AppState,
    email: &Email,
    actor: &str,
    origin: &Origin,
) -> Result<Provisioned, ApiError> {
    let keys = keyring(state)?;
    let (sealed, uri) = new_seed(keys, email.as_str())?;
    let (_, after) = modify(state, email.as_str(), |u| {
        u.totp_secret = sealed.clone();
        Ok(())
    })
    .await?;
    revoke_sessions(state, email.as_str()).await?;
    audit::record(
        state,
        origin,
        Event::new("user.reset_mfa", actor).subject(email.as_str()),
    )
    .await;
    Ok(Provisioned {
        email: after.email,
        role: after.role,
        provisioning_uri: uri,
    })
}

/// Lifts the sign-in lock of `email`'s account and forgets its failures (audited); false
/// when it had neither.
pub async fn unlock(
    state: &AppState,
    email: &Email,
    actor: &str,
    origin: &Origin,
) -> Result<bool, ApiError> {
    let account = crate::service::sessions::account_key(email.as_str());
    let now = state.clock.now_ms();
    let until = state.stores.kv.account_locked_until(&account, now).await?;
    let had = state.stores.kv.clear_signin_failures(&account).await?;
    if had {
        audit::record(
            state,
            origin,
            Event::new("account.unlock", actor)
                .subject(email.as_str())
                .change(json!({"locked": until.is_some()}), json!({"locked": false})),
        )
        .await;
    }
    Ok(had)
}

/// Disables `email` and revokes their sessions. Refuses to disable the actor themselves
/// (409), so an admin cannot lock the last door behind them by mistake.
pub async fn disable(
    state: &AppState,
    email: &Email,
    actor: &str,
    origin: &Origin,
) -> Result<UserView, ApiError> {
    if email.as_str() == actor {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "CONFLICT",
            "Conflict",
            "you cannot disable your own account",
        ));
    }
    let (before, after) = modify(state, email.as_str(), |u| {
        u.disabled = true;
        Ok(())
    })
    .await?;
    revoke_sessions(state, email.as_str()).await?;
    audit::record(
        state,
        origin,
        Event::new("user.disable", actor)
            .subject(email.as_str())
            .change(
                json!({"disabled": before.disabled}),
                json!({"disabled": true}),
            ),
    )
    .await;
    Ok(UserView::from(&after))
}

/// What a key rotation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RotationReport {
    /// The current key's id.
    pub key_id: String,
    /// Seeds re-sealed under the current key.
    pub resealed: u64,
    /// Seeds already under it.
    pub current: u64,
    /// Users whose seed opens under neither key, with the reason (left untouched).
    pub failed: Vec<(String, String)>,
}

/// Re-seals every user's TOTP seed under the current key (`phase1 admin
/// rotate-encryption-key`); afterwards `PHASE1_ENCRYPTION_KEY_PREVIOUS` can be removed.
pub async fn rotate_keys(state: &AppState, origin: &Origin) -> Result<RotationReport, ApiError> {
    let keys = keyring(state)?;
    let mut report = RotationReport {
        key_id: keys.current_id(),
        resealed: 0,
        current: 0,
        failed: Vec::new(),
    };
    for user in state.stores.doc.list_users().await? {
        match keys.open(&user.totp_secret, user.email.as_bytes()) {
            Ok(opened) if !opened.stale => report.current += 1,
            Ok(_) => {
                reseal(state, keys, &user.email).await?;
                report.resealed += 1;
            }
            Err(e) => report.failed.push((user.email.clone(), e.to_string())),
        }
    }
    audit::record(
        state,
        origin,
        Event::new("keys.rotate", "cli").change(
            Value::Null,
            json!({"key_id": report.key_id, "resealed": report.resealed,
                   "failed": report.failed.len()}),
        ),
    )
    .await;
    Ok(report)
}

/// Re-seals one user's seed under the current key (a no-op when it already is).
pub async fn reseal(state: &AppState, keys: &Keyring, email: &str) -> Result<(), ApiError> {
    modify(state, email, |u| {
        let opened = keys
            .open(&u.totp_secret, u.email.as_bytes())
            .map_err(|e| ApiError::internal(format!("TOTP secret of {}: {e}", u.email)))?;
        if opened.stale {
            u.totp_secret = keys.seal(&opened.plaintext, u.email.as_bytes());
        }
        Ok(())
    })
    .await
    .map(|_| ())
}
