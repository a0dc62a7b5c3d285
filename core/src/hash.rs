//! Stable content hashes (SHA-256, hex) for the ruleset, projects, ranges and permutations.

use sha2::{Digest, Sha256};

/// Lower-case hex of the SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A hasher primed with a common prefix, from which many short ids are derived cheaply.
#[derive(Clone)]
pub struct IdHasher {
    prefix: Sha256,
}

impl IdHasher {
    /// Starts from the given parts, each length-prefixed so that boundaries cannot collide.
    pub fn new(parts: &[&[u8]]) -> IdHasher {
        let mut prefix = Sha256::new();
        for p in parts {
            prefix.update((p.len() as u64).to_le_bytes());
            prefix.update(p);
        }
        IdHasher { prefix }
    }

    /// 16 hex digits identifying `index` under this prefix.
    pub fn id(&self, index: u64) -> String {
        let mut h = self.prefix.clone();
        h.update(index.to_le_bytes());
        hex(&h.finalize()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let h = IdHasher::new(&[b"v1.0", b"project"]);
        assert_eq!(h.id(7), h.id(7));
        assert_ne!(h.id(7), h.id(8));
        assert_eq!(h.id(7).len(), 16);
        let other = IdHasher::new(&[b"v1.0p", b"roject"]);
        assert_ne!(h.id(7), other.id(7));
    }
}
