//! Sign-in primitives, each a thin layer over a well-kept crate, with no I/O of its own:
//!
//! - [`email`]: `Email::parse`, the lower-cased address every record and comparison uses;
//! - [`password`]: the password policy and argon2id hashing (`argon2`);
//! - [`totp`]: RFC 6238 codes, the step a code matches, provisioning URIs (`totp-rs`);
//! - [`sealed`]: AES-256-GCM sealing of secrets at rest under a current and a previous key
//!   (`aes-gcm`);
//! - [`tokens`]: access and MFA tokens (HS256 JWTs, `jsonwebtoken`) and opaque refresh tokens;
//! - [`random`]: bytes from the operating system's generator.
//!
//! The flows that use them (login, MFA, refresh, users) are in [`crate::service::sessions`]
//! and [`crate::service::users`].

pub mod email;
pub mod password;
pub mod random;
pub mod sealed;
pub mod tokens;
pub mod totp;
