//! Ids and random material from the OS RNG. Nothing here reads the table: uniqueness of what matters is
//! proven by the create transaction's `attribute_not_exists` conditions.

/// `n` bytes from the operating system's RNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS RNG failing means the machine cannot mint secrets at all; there is no safe fallback.
    getrandom::fill(&mut buf).expect("the OS random number generator failed");
    buf
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// `len` lowercase hex characters of fresh randomness (`len` even).
pub fn random_hex(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        out.push_str(&hex(&random_bytes::<16>()));
    }
    out.truncate(len);
    out
}

/// `len` characters of `alphabet`, uniformly drawn (rejection sampling keeps it unbiased).
pub fn random_from(alphabet: &[u8], len: usize) -> String {
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<32>() {
            if usize::from(b) < limit && out.len() < len {
                out.push(alphabet[usize::from(b) % alphabet.len()] as char);
            }
        }
    }
    out
}

pub const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A random positive integer below 2^31: a Postgres `int4` id, as Cal.com's are. 31 bits collide sooner than
/// 53: creates that use them must prove them unique (a conditional put) and draw again on a collision.
pub fn random_int4_id() -> u32 {
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>()) >> 1;
        if n != 0 {
            return n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_of_the_asked_length() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
        let h = random_hex(40);
        assert_eq!(h.len(), 40);
        assert!(h.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_ne!(random_hex(32), random_hex(32));
    }

    #[test]
    fn draws_only_from_the_alphabet() {
        let s = random_from(BASE62, 27);
        assert_eq!(s.len(), 27);
        assert!(s.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!(random_from(BASE36, 100).bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }

    #[test]
    fn js_safe_ids_are_positive_and_below_2_pow_53() {
        for _ in 0..1000 {
            let id = random_int4_id();
            assert!(id > 0 && id < (1 << 31));
        }
    }
}

/// Properties of the id formats: the shapes the vendors' ids and keys are built from (wire.md): `hex` is
/// lowercase hex of the bytes, `random_hex(n)` exactly `n` of it, `random_from` only its alphabet.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn is_lower_hex(s: &str) -> bool {
        s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let text = hex(&bytes);
            prop_assert_eq!(text.len(), bytes.len() * 2);
            prop_assert!(is_lower_hex(&text));
            let back: Vec<u8> = (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect();
            prop_assert_eq!(back, bytes);
        }

        #[test]
        fn random_hex_has_the_asked_length(len in 0usize..100) {
            let h = random_hex(len);
            prop_assert!(h.len() == len && is_lower_hex(&h), "{h}");
        }

        #[test]
        fn random_from_draws_only_from_the_alphabet(len in 0usize..64, base62 in any::<bool>()) {
            let alphabet = if base62 { BASE62 } else { BASE36 };
            let s = random_from(alphabet, len);
            prop_assert!(s.len() == len && s.bytes().all(|b| alphabet.contains(&b)), "{s}");
        }
    }

    /// The vendors' shapes as the functions mint them: Devin `org-` + 32 hex, Datadog `public_id` 12 hex,
    /// API key 32 and application key 40 hex, Clerk `org_` + 27 base62, Cal.com ids in 1..2^31.
    #[test]
    fn vendor_shapes() {
        for _ in 0..200 {
            for len in [12, 32, 40] {
                let h = random_hex(len);
                assert!(h.len() == len && is_lower_hex(&h));
            }
            let clerk = format!("org_{}", random_from(BASE62, 27));
            assert!(clerk.len() == 31 && clerk[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
            assert!((1..1 << 31).contains(&random_int4_id()));
        }
    }
}
