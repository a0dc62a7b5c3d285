//! `phase1 admin`: accounts from the command line — the very first admin, disabling a user,
//! and re-sealing every TOTP secret under the current encryption key. The same services the
//! admin routes call, over the stores the environment names.
//!
//! The provisioning URI of a new user is printed once, with a QR code when stdout is a
//! terminal; the password is read from stdin, never from an argument (which `ps` would show).

use crate::input::Failure;
use crate::{emit, print_json};
use phase1_app::auth::email::Email;
use phase1_app::auth::password::NewPassword;
use phase1_app::config::Config;
use phase1_app::http::problem::ApiError;
use phase1_app::http::state::AppState;
use phase1_app::service::audit::Origin;
use phase1_app::service::users::{self, NewUser};
use phase1_core::error::{FieldError, Problem};
use serde_json::json;
use std::io::{IsTerminal, Read};
use std::process::ExitCode;

/// The actor the command line records in the audit log.
const ACTOR: &str = "cli";

pub(crate) fn api_failure(e: ApiError) -> Failure {
    Failure::problem(Problem::new(
        e.code,
        e.status.as_u16(),
        e.title,
        e.detail,
        e.errors,
    ))
}

pub(crate) fn invalid(field: &str, message: String) -> Failure {
    api_failure(ApiError::validation(vec![FieldError::new(field, message)]))
}

/// Runs `work` over the app state of this environment.
pub(crate) fn with_state<T>(
    work: impl AsyncFnOnce(AppState) -> Result<T, ApiError>,
) -> Result<T, Failure> {
    let config = Config::from_env().map_err(|e| Failure::config(&e))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::internal)?;
    rt.block_on(async {
        let state = AppState::new(config, phase1_app::clock::system())
            .await
            .map_err(|e| api_failure(ApiError::from(e)))?;
        work(state).await.map_err(api_failure)
    })
}

/// The password on stdin, without its line ending.
fn read_password() -> Result<String, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .take(phase1_app::auth::password::MAX_BYTES as u64 + 2)
        .read_to_string(&mut text)
        .map_err(|e| invalid("password", format!("cannot be read from stdin: {e}")))?;
    let line = text.strip_suffix('\n').unwrap_or(&text);
    Ok(line.strip_suffix('\r').unwrap_or(line).to_string())
}

/// `phase1 admin create-user --email E --role admin|analyst --password-stdin`.
pub fn create_user(
    email: &str,
    role: &str,
    password_stdin: bool,
    json: bool,
) -> Result<ExitCode, Failure> {
    if !password_stdin {
        return Err(invalid(
            "password",
            "is read from stdin: pass --password-stdin (printf '%s' \"$PW\" | phase1 admin create-user …)".into(),
        ));
    }
    let mut errors = Vec::new();
    let email = Email::parse(email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let role = users::parse_role(role)
        .map_err(|m| errors.push(FieldError::new("role", m)))
        .ok();
    let password = NewPassword::parse(&read_password()?)
        .map_err(|m| errors.push(FieldError::new("password", m)))
        .ok();
    let (Some(email), Some(role), Some(password)) = (email, role, password) else {
        return Err(api_failure(ApiError::validation(errors)));
    };
    let new = NewUser {
        email,
        role,
        password,
    };
    let p = with_state(async |state| users::create(&state, new, ACTOR, &Origin::cli()).await)?;
    if json {
        print_json(
            &json!({"email": p.email, "role": p.role, "provisioning_uri": p.provisioning_uri}),
        )?;
    } else {
        let mut text = format!(
            "created {} {}\nprovisioning URI (shown once; add it to an authenticator app now):\n{}\n",
            p.role.as_str(),
            p.email,
            p.provisioning_uri
        );
        if std::io::stdout().is_terminal() {
            text += &qr(&p.provisioning_uri);
        }
        emit(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The URI as a QR code of Unicode half blocks.
fn qr(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let art = code
                .render::<qrcode::render::unicode::Dense1x2>()
                .quiet_zone(true)
                .build();
            format!("\n{art}\n")
        }
        Err(e) => format!("(no QR code: {e})\n"),
    }
}

/// `phase1 admin disable-user --email E`: disables the user and revokes their sessions.
pub fn disable_user(email: &str, json: bool) -> Result<ExitCode, Failure> {
    let email = Email::parse(email).map_err(|m| invalid("email", m))?;
    let user =
        with_state(async |state| users::disable(&state, &email, ACTOR, &Origin::cli()).await)?;
    if json {
        print_json(&json!({"user": user, "sessions_revoked": true}))?;
    } else {
        emit(&format!(
            "disabled {}; their sessions are revoked\n",
            user.email
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `phase1 admin rotate-encryption-key`: re-seals every TOTP secret under
/// `PHASE1_ENCRYPTION_KEY` (reading old ones with `PHASE1_ENCRYPTION_KEY_PREVIOUS`); exit 1
/// when a secret opens under neither key.
pub fn rotate_encryption_key(json: bool) -> Result<ExitCode, Failure> {
    let report = with_state(async |state| users::rotate_keys(&state, &Origin::cli()).await)?;
    if json {
        print_json(&report)?;
    } else {
        let mut text = format!(
            "key {}: {} re-sealed, {} already current, {} failed\n",
            report.key_id,
            report.resealed,
            report.current,
            report.failed.len()
        );
        for (email, why) in &report.failed {
            text += &format!("  {email}: {why}\n");
        }
        if report.failed.is_empty() {
            text += "every secret is under the current key: PHASE1_ENCRYPTION_KEY_PREVIOUS can be removed\n";
        }
        emit(&text)?;
    }
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
