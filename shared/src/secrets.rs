//! Secrets: minted from the OS RNG, shown once, kept only as SHA-256 digests.
//!
//! A credential is found by the digest of the secret presented (one `GetItem` by key), so no stored
//! secret is ever compared byte by byte in process: there is nothing for a timing attack to measure.

use sha2::{Digest, Sha256};

use crate::ids;

/// A fresh secret: `prefix` followed by `hex_len` lowercase hex characters (128 bits or more of entropy).
pub fn mint(prefix: &str, hex_len: usize) -> String {
    format!("{prefix}{}", ids::random_hex(hex_len))
}

/// The digest under which a secret is stored: lowercase hex SHA-256.
pub fn digest(secret: &str) -> String {
    ids::hex(&Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn minted_secrets_are_fresh_and_well_formed() {
        let a = mint("cal_", 32);
        assert!(a.starts_with("cal_") && a.len() == 36);
        assert_ne!(a, mint("cal_", 32));
    }
}
