//! Random bytes from the operating system's generator (through `rand_core`'s `OsRng`).

use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::aead::OsRng;

/// `N` random bytes.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    OsRng.fill_bytes(&mut out);
    out
}

/// `N` random bytes as URL-safe base64 without padding.
pub fn token<const N: usize>() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes::<N>())
}

#[cfg(test)]
mod tests {
    #[test]
    fn draws_differ() {
        assert_ne!(super::bytes::<32>(), super::bytes::<32>());
        assert_eq!(super::token::<32>().len(), 43);
    }
}
