//! Access and MFA tokens, and the attacks on them: every one is refused.

use super::*;
use base64::Engine;
use serde_json::{json, Value};

const KEY: &[u8] = b"unit-test-signing-key-0123456789abcdef";
const NOW: Millis = 1_800_000_000_000;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token assembled by hand: any header, any claims, an HMAC-SHA256 signature under `key`
/// (or none).
fn forge(header: &Value, claims: &Value, key: Option<&[u8]>) -> String {
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match key {
        None => String::new(),
        Some(k) => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(k).expect("any key");
            mac.update(signing_input.as_bytes());
            b64(&mac.finalize().into_bytes())
        }
    };
    format!("{signing_input}.{signature}")
}

fn good_claims() -> Value {
    serde_json::to_value(issue_access("ada@example.com", Role::Analyst, "fam", NOW))
        .expect("claims serialise")
}

fn hs256() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

#[test]
fn issued_tokens_verify_with_every_claim() {
    let claims = issue_access("ada@example.com", Role::Admin, "fam-1", NOW);
    assert_eq!(claims.exp_ms() - claims.iat_ms, ACCESS_TTL_MS);
    let token = encode_access(KEY, &claims);
    let back = verify_access(KEY, &token, NOW + 1).expect("valid");
    assert_eq!(back, claims);
    assert!(back.mfa);
    assert_eq!(back.sid, "fam-1");
    // A hand-made token with the same claims and key is the same token.
    let hand = forge(
        &hs256(),
        &serde_json::to_value(&claims).expect("json"),
        Some(KEY),
    );
    assert!(verify_access(KEY, &hand, NOW).is_ok());
}

#[test]
fn alg_none_is_refused() {
    for alg in ["none", "None", "NONE"] {
        let t = forge(&json!({"alg": alg, "typ": "JWT"}), &good_claims(), None);
        assert!(
            matches!(verify_access(KEY, &t, NOW), Err(TokenError::Invalid(_))),
            "alg {alg}"
        );
    }
}

#[test]
fn another_key_is_refused() {
    let t = forge(
        &hs256(),
        &good_claims(),
        Some(b"another-key-that-is-also-long-enough"),
    );
    assert!(matches!(
        verify_access(KEY, &t, NOW),
        Err(TokenError::Invalid(_))
    ));
}

#[test]
fn rs_hs_confusion_and_other_algorithms_are_refused() {
    // RS256 in the header with an HMAC signature under our own key (what an attacker who
    // confuses a verifier into using the key as an RSA public key would send), and the
    // other HMAC and asymmetric algorithms.
    for alg in [
        "RS256", "RS512", "PS256", "ES256", "HS384", "HS512", "EdDSA",
    ] {
        let t = forge(
            &json!({"alg": alg, "typ": "JWT"}),
            &good_claims(),
            Some(KEY),
        );
        assert!(
            matches!(verify_access(KEY, &t, NOW), Err(TokenError::Invalid(_))),
            "alg {alg}"
        );
    }
}

#[test]
fn expired_and_not_yet_valid_are_refused() {
    let mut c = good_claims();
    c["exp"] = json!(NOW / 1000);
    let t = forge(&hs256(), &c, Some(KEY));
    assert_eq!(verify_access(KEY, &t, NOW), Err(TokenError::Expired));
    let claims = issue_access("ada@example.com", Role::Analyst, "fam", NOW);
    let t = encode_access(KEY, &claims);
    assert_eq!(
        verify_access(KEY, &t, NOW + ACCESS_TTL_MS),
        Err(TokenError::Expired),
        "15 minutes later"
    );
    let mut c = good_claims();
    c["nbf"] = json!(NOW / 1000 + 60);
    let t = forge(&hs256(), &c, Some(KEY));
    assert_eq!(verify_access(KEY, &t, NOW), Err(TokenError::NotYetValid));
    let mut c = good_claims();
    c["iat_ms"] = json!(NOW + 10 * 60_000);
    let t = forge(&hs256(), &c, Some(KEY));
    assert_eq!(verify_access(KEY, &t, NOW), Err(TokenError::NotYetValid));
}

#[test]
fn a_tampered_payload_is_refused() {
    let t = encode_access(
        KEY,
        &issue_access("ada@example.com", Role::Analyst, "fam", NOW),
    );
    let parts: Vec<&str> = t.split('.').collect();
    let mut c = good_claims();
    c["role"] = json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(c.to_string().as_bytes()),
        parts[2]
    );
    assert!(matches!(
        verify_access(KEY, &tampered, NOW),
        Err(TokenError::Invalid(_))
    ));
}

#[test]
fn a_missing_or_false_mfa_claim_is_refused() {
    let mut c = good_claims();
    c.as_object_mut().expect("object").remove("mfa");
    let t = forge(&hs256(), &c, Some(KEY));
    assert!(matches!(
        verify_access(KEY, &t, NOW),
        Err(TokenError::Invalid(_))
    ));
    let mut c = good_claims();
    c["mfa"] = json!(false);
    let t = forge(&hs256(), &c, Some(KEY));
    assert_eq!(verify_access(KEY, &t, NOW), Err(TokenError::MfaMissing));
}

#[test]
fn mfa_tokens_and_access_tokens_never_pass_for_each_other() {
    let (mfa, claims) = issue_mfa(KEY, "ada@example.com", NOW);
    assert_eq!(claims.exp * 1000 - claims.iat * 1000, MFA_TTL_MS);
    assert_eq!(
        verify_mfa(KEY, &mfa, NOW).expect("valid").sub,
        "ada@example.com"
    );
    assert!(verify_access(KEY, &mfa, NOW).is_err());
    let access = encode_access(
        KEY,
        &issue_access("ada@example.com", Role::Admin, "fam", NOW),
    );
    assert!(verify_mfa(KEY, &access, NOW).is_err());
    assert_eq!(
        verify_mfa(KEY, &mfa, NOW + MFA_TTL_MS),
        Err(TokenError::Expired)
    );
    assert!(verify_mfa(b"another-key-that-is-also-long-enough", &mfa, NOW).is_err());
}

#[test]
fn refresh_tokens_name_their_family_and_key_and_hash_under_it() {
    let first = RefreshToken::new_family(KEY);
    let next = RefreshToken::next_in(first.family(), KEY);
    assert_eq!(first.family(), next.family());
    assert_ne!(first.hash(KEY), next.hash(KEY));
    assert_eq!(first.hash(KEY).len(), 64);
    let other_key: &[u8] = b"another-key-that-is-also-long-enough";
    assert_ne!(first.hash(KEY), first.hash(other_key), "keyed");
    assert!(first.issued_under(KEY));
    assert!(!first.issued_under(other_key));
    assert_eq!(RefreshToken::parse(first.expose()), Some(first.clone()));
    let secret = first.expose().rsplit('.').next().unwrap_or("x").to_string();
    assert!(!format!("{first:?}").contains(&secret));
    let two_parts = format!("{}.{secret}", first.family());
    for bad in [
        "",
        "x.y.z",
        "nodot",
        &two_parts,
        &format!("{}.x", first.expose()),
    ] {
        assert_eq!(RefreshToken::parse(bad), None, "{bad:?}");
    }
}
