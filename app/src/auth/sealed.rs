//! Secrets at rest (TOTP seeds), sealed with AES-256-GCM under `PHASE1_ENCRYPTION_KEY`.
//!
//! A sealed value is `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`: a fresh random
//! 96-bit nonce per value, the record it belongs to (a user's email) as associated data, so
//! a sealed value copied onto another record does not open. The key id (8 hex digits of a
//! SHA-256 of the key) says which key sealed it: during a rotation
//! (`PHASE1_ENCRYPTION_KEY_PREVIOUS` set) values under the previous key still open, and
//! [`Opened::stale`] tells the caller to seal them again under the current one.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use sha2::{Digest, Sha256};

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

/// The current sealing key and, during a rotation, the previous one.
#[derive(Clone, PartialEq, Eq)]
pub struct Keyring {
    current: [u8; 32],
    previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &key_id(&self.current))
            .field("previous", &self.previous.as_ref().map(key_id))
            .finish()
    }
}

/// Why a sealed value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Not of the form `v1.<id>.<data>`.
    #[error("not a sealed value")]
    Malformed,
    /// Sealed under a key this keyring does not hold.
    #[error("sealed under key {0}, which is neither the current nor the previous key")]
    UnknownKey(String),
    /// The key matched but authentication failed (tampered, or another record's value).
    #[error("the sealed value does not authenticate")]
    Tampered,
}

/// An opened value.
#[derive(PartialEq, Eq)]
pub struct Opened {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// Sealed under the previous key: seal it again under the current one.
    pub stale: bool,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("plaintext", &"<redacted>")
            .field("stale", &self.stale)
            .finish()
    }
}

/// The public id of a key: 8 hex digits of SHA-256("phase1-key-id" ‖ key).
fn key_id(key: &[u8; 32]) -> String {
    let digest = Sha256::new()
        .chain_update(b"phase1-key-id")
        .chain_update(key)
        .finalize();
    hex::encode(&digest[..4])
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
}

impl Keyring {
    /// A keyring with `current` and, during a rotation, `previous`.
    pub fn new(current: [u8; 32], previous: Option<[u8; 32]>) -> Keyring {
        Keyring { current, previous }
    }

    /// Whether a previous key is held.
    pub fn has_previous(&self) -> bool {
        self.previous.is_some()
    }

    /// The current key's id.
    pub fn current_id(&self) -> String {
        key_id(&self.current)
    }

    /// Seals `plaintext` for the record `aad` under the current key.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption fails only for messages over 64 GiB; a TOTP seed is 20 bytes.
        let sealed = cipher(&self.current)
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_default();
        let mut data = nonce.to_vec();
        data.extend_from_slice(&sealed);
        format!(
            "{VERSION}.{}.{}",
            key_id(&self.current),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
        )
    }

    /// Opens a value sealed for the record `aad` under the current or the previous key.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Opened, SealError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(id), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::Malformed);
        };
        let data = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| SealError::Malformed)?;
        if data.len() < NONCE_LEN {
            return Err(SealError::Malformed);
        }
        let (key, stale) = if id == key_id(&self.current) {
            (&self.current, false)
        } else {
            match &self.previous {
                Some(p) if id == key_id(p) => (p, true),
                _ => return Err(SealError::UnknownKey(id.to_string())),
            }
        };
        let (nonce, ciphertext) = data.split_at(NONCE_LEN);
        let plaintext = cipher(key)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| SealError::Tampered)?;
        Ok(Opened { plaintext, stale })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> [u8; 32] {
        std::array::from_fn(|i| b.wrapping_add(i as u8))
    }

    #[test]
    fn sealed_values_open_only_for_their_record() {
        let ring = Keyring::new(key(1), None);
        let a = ring.seal(b"seed-bytes", b"ada@example.com");
        let b = ring.seal(b"seed-bytes", b"ada@example.com");
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("seed"));
        let opened = ring.open(&a, b"ada@example.com").expect("opens");
        assert_eq!(opened.plaintext, b"seed-bytes");
        assert!(!opened.stale);
        assert_eq!(
            ring.open(&a, b"eve@example.com"),
            Err(SealError::Tampered),
            "another record's value"
        );
    }

    #[test]
    fn tampering_and_garbage_are_refused() {
        let ring = Keyring::new(key(1), None);
        let sealed = ring.seal(b"seed", b"r");
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("ascii");
        assert_eq!(ring.open(&tampered, b"r"), Err(SealError::Tampered));
        for bad in ["", "v1", "v2.x.y", "v1.abc", "v1.id.***", "v1.id.AAAA"] {
            assert!(ring.open(bad, b"r").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_rotation_opens_old_values_and_marks_them_stale() {
        let old = Keyring::new(key(1), None);
        let sealed = old.seal(b"seed", b"r");
        let rotated = Keyring::new(key(9), Some(key(1)));
        let opened = rotated.open(&sealed, b"r").expect("previous key");
        assert!(opened.stale);
        assert_eq!(opened.plaintext, b"seed");
        let resealed = rotated.seal(&opened.plaintext, b"r");
        assert!(!rotated.open(&resealed, b"r").expect("current").stale);
        let after = Keyring::new(key(9), None);
        assert!(matches!(
            after.open(&sealed, b"r"),
            Err(SealError::UnknownKey(_))
        ));
        assert!(after.open(&resealed, b"r").is_ok());
        assert!(!format!("{rotated:?}").contains(&format!("{:?}", key(9))));
    }
}
