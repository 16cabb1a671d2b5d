//! Secrets: minted from the OS RNG, shown once, kept only as SHA-256 digests.
//!
//! A credential is found by the digest of the secret presented (a key lookup in DynamoDB), so no stored
//! secret is ever compared byte by byte in process: there is nothing for a timing attack to measure.
//! Where a digest or a secret is compared in process all the same (matching the items a batch read
//! returned to the digests asked for), it is compared with [`equal`], in constant time. Clerk's session
//! signatures are checked by `rsa` (RS256 only), which compares in constant time too (`subtle`).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids;

/// A fresh secret: `prefix` followed by `hex_len` lowercase hex characters (128 bits or more of entropy).
pub fn mint(prefix: &str, hex_len: usize) -> String {
    format!("{prefix}{}", ids::random_hex(hex_len))
}

/// The digest under which a secret is stored: lowercase hex SHA-256.
pub fn digest(secret: &str) -> String {
    ids::hex(&Sha256::digest(secret.as_bytes()))
}

/// Constant-time equality of secrets or digests: the time taken does not depend on where they differ
/// (only on their lengths, which are public: every secret of a kind has the same length).
pub fn equal(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn equal_is_equality() {
        assert!(equal("", ""));
        assert!(equal(&digest("a"), &digest("a")));
        assert!(!equal(&digest("a"), &digest("b")));
        assert!(!equal("abc", "abcd"));
        assert!(!equal("abcd", "abc"));
    }

    #[test]
    fn minted_secrets_are_fresh_and_well_formed() {
        let a = mint("cal_", 32);
        assert!(a.starts_with("cal_") && a.len() == 36);
        assert_ne!(a, mint("cal_", 32));
    }
}

/// Properties of secrets and their digests over arbitrary input.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn digests_are_64_hex_and_tell_secrets_apart(a in any::<String>(), b in any::<String>()) {
            let (da, db) = (digest(&a), digest(&b));
            prop_assert!(da.len() == 64 && da.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
            prop_assert_eq!(da == db, a == b);
            prop_assert_eq!(digest(&a), da);
        }

        #[test]
        fn equal_agrees_with_equality(a in "\\PC{0,40}", b in "\\PC{0,40}") {
            prop_assert!(equal(&a, &a));
            prop_assert_eq!(equal(&a, &b), a == b);
        }

        #[test]
        fn minted_secrets_have_the_vendor_shape(prefix in prop::sample::select(vec!["cal_", "apk_user_", ""]), len in prop::sample::select(vec![32usize, 40, 64])) {
            let secret = mint(prefix, len);
            let rest = secret.strip_prefix(prefix).unwrap();
            prop_assert!(rest.len() == len && rest.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        }
    }
}
