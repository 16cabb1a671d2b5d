//! Client tokens: the RS256 JWT an instance signs for each client (browser or device) it signs in, which
//! FAPI authenticates every request by. Verified with the RSA code already linked for the SDK's TLS
//! (aws-lc-rs through rustls): a general JWT library brought ECDSA, EdDSA and HMAC code these functions
//! never run, about 0.4 MB of a zip.

use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;

/// The claims of a client token: the instance's issuer, the client's id (as Clerk's `id` claim), and the
/// user its session is of (`sub`, orgmint's: it names the account to read in the same round trip). A token
/// without any of them is refused; `exp` is the session's end when present.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub id: String,
    pub sub: String,
    pub iat: i64,
    #[serde(default)]
    pub exp: Option<i64>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// A token split and decoded, its signature not yet checked: its claims say only which keys to read.
pub struct Unverified<'a> {
    claims: Claims,
    signed: &'a str,
    signature: Vec<u8>,
}

impl<'a> Unverified<'a> {
    /// `None` unless `token` is three base64url segments, the header names RS256 (a token naming `none`,
    /// or HS256 keyed with the public PEM, never reaches a key) and the payload holds every claim.
    pub fn parse(token: &'a str) -> Option<Self> {
        let (signed, signature) = token.rsplit_once('.')?;
        let (header, payload) = signed.split_once('.')?;
        let header: Header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
        if header.alg != "RS256" {
            return None;
        }
        let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        Some(Self { claims, signed, signature })
    }

    /// What the token claims, before verification.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The claims, once the signature verifies with `public_pem` (SPKI or PKCS#1 PEM, 2048 bits or more),
    /// the issuer is `issuer`, and `now_s` is not before `iat` nor after `exp` (when present), give or take
    /// `leeway_s`.
    pub fn verify(self, public_pem: &str, issuer: &str, now_s: i64, leeway_s: i64) -> Option<Claims> {
        let key = pem_body(public_pem)?;
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
            .verify(self.signed.as_bytes(), &self.signature)
            .ok()?;
        let claims = self.claims;
        let current = claims.exp.is_none_or(|exp| exp >= now_s - leeway_s) && claims.iat <= now_s + leeway_s;
        (current && claims.iss == issuer).then_some(claims)
    }
}

/// The DER inside a PEM block (`-----BEGIN …-----`, base64 lines, `-----END …-----`).
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body = pem.trim().strip_prefix("-----BEGIN ")?;
    let (_, body) = body.split_once("-----")?;
    let (body, _) = body.split_once("-----END ")?;
    let base64: String = body.split_ascii_whitespace().collect();
    STANDARD.decode(base64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2048-bit key, and an RS256 token over `{"iss":"https://clerk.example","id":"client_1","sub":"user_1",
    /// "rotating_token":"r1","iat":1000,"exp":1060}` signed with it (by openssl, outside this code).
    const PUBLIC_PEM: &str = include_str!("../testdata/public.pem");
    const PUBLIC_PKCS1_PEM: &str = include_str!("../testdata/public-pkcs1.pem");
    const TOKEN: &str = include_str!("../testdata/token.jwt");
    const ISSUER: &str = "https://clerk.example";

    fn token() -> &'static str {
        TOKEN.trim()
    }

    #[test]
    fn a_token_signed_by_the_key_verifies_within_its_lifetime() {
        for pem in [PUBLIC_PEM, PUBLIC_PKCS1_PEM] {
            let claims = Unverified::parse(token()).unwrap().verify(pem, ISSUER, 1030, 5).unwrap();
            assert_eq!((claims.id.as_str(), claims.sub.as_str()), ("client_1", "user_1"));
        }
    }

    #[test]
    fn lifetime_and_issuer_are_enforced_with_leeway() {
        let verify = |now, issuer| Unverified::parse(token()).unwrap().verify(PUBLIC_PEM, issuer, now, 5);
        assert!(verify(1065, ISSUER).is_some(), "exp + leeway");
        assert!(verify(1066, ISSUER).is_none(), "expired");
        assert!(verify(995, ISSUER).is_some(), "iat - leeway");
        assert!(verify(994, ISSUER).is_none(), "issued in the future");
        assert!(verify(1030, "https://clerk.other").is_none(), "another issuer");
    }

    #[test]
    fn any_changed_byte_breaks_the_signature() {
        let token = token();
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let (header, payload) = signed.split_once('.').unwrap();
        // The same claims but `sub` changed, under the original signature.
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let mut forged = claims.clone();
        forged["sub"] = "user_2".into();
        let forged = URL_SAFE_NO_PAD.encode(forged.to_string());
        let token = format!("{header}.{forged}.{signature}");
        assert!(Unverified::parse(&token).unwrap().verify(PUBLIC_PEM, ISSUER, 1030, 5).is_none());
        // The original claims, one signature bit flipped.
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        bytes[17] ^= 1;
        let token = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes));
        assert!(Unverified::parse(&token).unwrap().verify(PUBLIC_PEM, ISSUER, 1030, 5).is_none());
    }

    #[test]
    fn other_algorithms_and_malformed_tokens_are_refused_before_any_key() {
        let (_, rest) = token().split_once('.').unwrap();
        for alg in ["none", "HS256", "RS384", "ES256", "rs256"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            assert!(Unverified::parse(&format!("{header}.{rest}")).is_none(), "{alg}");
        }
        for token in ["", "a.b", "a.b.c", "..", &format!("{}=", token()), &format!("{}.x", token())] {
            assert!(Unverified::parse(token).is_none(), "{token:?}");
        }
    }

    #[test]
    fn a_key_that_is_not_pem_verifies_nothing() {
        for pem in ["", "-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----", &PUBLIC_PEM[30..]] {
            assert!(Unverified::parse(token()).unwrap().verify(pem, ISSUER, 1030, 5).is_none());
        }
    }
}
