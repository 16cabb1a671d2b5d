//! Idempotent retries: a client may send `Idempotency-Key`; the same key with the same request within
//! [`RETENTION_S`] gets the first create's answer again, without creating again.
//!
//! - The record is written by the create's own transaction (`attribute_not_exists`), so a request either
//!   created an org *and* its record or neither, and of concurrent duplicates exactly one commits.
//! - The record is read in the authentication round trip (one more key in the same `BatchGetItem`), so a
//!   successful create stays at two round trips.
//! - A key is bound to the caller: its record id is a digest of the vendor, the caller's scope material
//!   (the secrets presented, or the account a session names) and the key. Another caller's key never finds
//!   it.
//! - The first answer can carry minted secrets (Datadog's keys, Cal.com's OAuth client secret). It is
//!   stored sealed (ChaCha20-Poly1305) under a key derived from the same inputs, none of which is stored:
//!   reading the table does not reveal it, and only the caller, presenting the same secrets and the same
//!   `Idempotency-Key`, can have it replayed.
//! - The request's fingerprint (path and body) is stored beside it: the same key with another request is
//!   refused ([`IdempotencyProblem::Reused`]).

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use sha2::{Digest, Sha256};

use crate::error::{Error, IdempotencyProblem};
use crate::ids;
use crate::model::Vendor;

/// The request header (IETF draft `draft-ietf-httpapi-idempotency-key-header`, as Stripe and others use it).
pub const HEADER: &str = "idempotency-key";
/// The answer header that marks a replay.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
/// How long a key is remembered.
pub const RETENTION_S: i64 = 24 * 3600;
/// The longest key accepted (Stripe's limit).
pub const MAX_KEY_LEN: usize = 255;

const NONCE_LEN: usize = 12;

/// A request's `Idempotency-Key`, bound to its caller and to the request.
#[derive(Clone)]
pub struct IdempotencyKey {
    /// The record's id: hex SHA-256 over the vendor, the caller's scope and the key.
    pub id: String,
    /// Hex SHA-256 over the request's path and body.
    pub fingerprint: String,
    seal_key: [u8; 32],
}

// The seal key must never reach a log line.
impl std::fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyKey").field("id", &self.id).finish_non_exhaustive()
    }
}

/// A stored record: the first answer, sealed, and what it was an answer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub id: String,
    pub fingerprint: String,
    /// Nonce followed by the ChaCha20-Poly1305 ciphertext of the status (2 bytes, big-endian) and body.
    pub sealed: Vec<u8>,
    /// Unix seconds after which the record is forgotten (the table's TTL attribute).
    pub expires_s: i64,
}

/// The first answer, as replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub body: String,
}

impl IdempotencyKey {
    /// The key as sent, checked: 1 to [`MAX_KEY_LEN`] visible ASCII characters. `scope` is what makes the
    /// key the caller's own (the secrets it presented, or the account a session names); `path` and `body`
    /// are the request the key stands for.
    pub fn new(vendor: Vendor, key: &str, scope: &[&str], path: &str, body: &[u8]) -> Result<Self, Error> {
        if key.is_empty()
            || key.len() > MAX_KEY_LEN
            || !key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        {
            return Err(Error::Idempotency(IdempotencyProblem::Malformed));
        }
        let derive = |purpose: &str| {
            let mut h = Sha256::new();
            for part in [purpose, vendor.as_str(), key].into_iter().chain(scope.iter().copied()) {
                // Length-prefixed, so that no two different inputs hash alike.
                h.update((part.len() as u64).to_be_bytes());
                h.update(part.as_bytes());
            }
            h.finalize()
        };
        let mut fingerprint = Sha256::new();
        fingerprint.update((path.len() as u64).to_be_bytes());
        fingerprint.update(path.as_bytes());
        fingerprint.update(body);
        Ok(IdempotencyKey {
            // The vendor leads the record's key (`IDEM#<vendor>#…`), which IAM limits each function to.
            id: format!("{vendor}#{}", ids::hex(&derive("orgmint idempotency record v1"))),
            fingerprint: ids::hex(&fingerprint.finalize()),
            seal_key: derive("orgmint idempotency seal v1").into(),
        })
    }

    /// The record of a create's answer, to be written by the create's transaction.
    pub fn record(&self, status: u16, body: &str, now_s: i64) -> IdempotencyRecord {
        let mut plain = Vec::with_capacity(2 + body.len());
        plain.extend_from_slice(&status.to_be_bytes());
        plain.extend_from_slice(body.as_bytes());
        let nonce = ids::random_bytes::<NONCE_LEN>();
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.seal_key));
        let mut sealed = nonce.to_vec();
        sealed.extend(
            cipher
                .encrypt(Nonce::from_slice(&nonce), plain.as_slice())
                .expect("in-memory encryption cannot fail"),
        );
        IdempotencyRecord {
            id: self.id.clone(),
            fingerprint: self.fingerprint.clone(),
            sealed,
            expires_s: now_s + RETENTION_S,
        }
    }

    /// What a found record means for this request: the first answer to replay, or why not.
    pub fn replay(&self, record: &IdempotencyRecord) -> Result<StoredAnswer, Error> {
        let reused = Error::Idempotency(IdempotencyProblem::Reused);
        if record.fingerprint != self.fingerprint || record.sealed.len() < NONCE_LEN {
            return Err(reused);
        }
        let (nonce, ciphertext) = record.sealed.split_at(NONCE_LEN);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.seal_key));
        // The id already binds vendor, scope and key: a failure here means a corrupt record.
        let plain = cipher.decrypt(Nonce::from_slice(nonce), ciphertext).map_err(|_| reused.clone())?;
        if plain.len() < 2 {
            return Err(reused);
        }
        let status = u16::from_be_bytes([plain[0], plain[1]]);
        let body = String::from_utf8(plain[2..].to_vec()).map_err(|_| reused)?;
        Ok(StoredAnswer { status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str, scope: &[&str], body: &[u8]) -> IdempotencyKey {
        IdempotencyKey::new(Vendor::Datadog, k, scope, "/api/v1/org", body).unwrap()
    }

    #[test]
    fn a_record_replays_for_the_same_caller_key_and_request() {
        let first = key("k-1", &["secret"], b"{}");
        let record = first.record(201, r#"{"key":"abc"}"#, 1_000);
        assert_eq!(record.expires_s, 1_000 + RETENTION_S);
        let again = key("k-1", &["secret"], b"{}");
        assert_eq!(again.id, first.id);
        assert_eq!(
            again.replay(&record).unwrap(),
            StoredAnswer { status: 201, body: r#"{"key":"abc"}"#.into() }
        );
    }

    #[test]
    fn the_sealed_answer_does_not_contain_the_body() {
        let record = key("k", &["s"], b"{}").record(200, "minted-secret-value", 0);
        assert!(!record.sealed.windows(6).any(|w| w == b"minted"));
    }

    #[test]
    fn another_body_is_refused_and_another_caller_has_another_record() {
        let record = key("k", &["s"], b"{}").record(200, "x", 0);
        assert_eq!(
            key("k", &["s"], b"{\"a\":1}").replay(&record),
            Err(Error::Idempotency(IdempotencyProblem::Reused))
        );
        assert_ne!(key("k", &["other"], b"{}").id, record.id);
        assert_ne!(key("k2", &["s"], b"{}").id, record.id);
        // Length prefixes: moving a byte between key and scope changes the id.
        assert_ne!(key("ab", &["c"], b"").id, key("a", &["bc"], b"").id);
    }

    #[test]
    fn a_tampered_record_is_refused() {
        let mut record = key("k", &["s"], b"{}").record(200, "x", 0);
        let last = record.sealed.len() - 1;
        record.sealed[last] ^= 1;
        assert!(key("k", &["s"], b"{}").replay(&record).is_err());
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in ["", "tab\there", "é", &"x".repeat(MAX_KEY_LEN + 1)] {
            assert_eq!(
                IdempotencyKey::new(Vendor::Devin, bad, &[], "/", b"").unwrap_err(),
                Error::Idempotency(IdempotencyProblem::Malformed),
                "{bad:?}"
            );
        }
        assert!(IdempotencyKey::new(Vendor::Devin, &"x".repeat(MAX_KEY_LEN), &[], "/", b"").is_ok());
        assert!(
            IdempotencyKey::new(Vendor::Devin, "8e03978e-40d5-43e8-bc93-6894a57f9324", &[], "/", b"").is_ok()
        );
    }
}
