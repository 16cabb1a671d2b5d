//! RS256 JWTs for Clerk session tokens, with aws-lc-rs: the RSA the SDK's TLS already links, the same code
//! the function verifies with. (The pure-Rust `rsa` crate has an advisory with no fixed release,
//! RUSTSEC-2023-0071.)

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clerk_fapi::signer::{pem, pem_der};
use serde::Serialize;
use serde_json::{json, Value};

/// A fresh 2048-bit RSA key pair: (private key as PKCS#8 PEM, public key as SPKI PEM).
pub fn generate_key() -> Result<(String, String), String> {
    let key = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| "RSA key generation failed")?;
    let private = key.as_der().map_err(|_| "PKCS#8 encoding failed")?;
    let public = key.public_key().as_der().map_err(|_| "SPKI encoding failed")?;
    Ok((pem("PRIVATE KEY", private.as_ref()), pem("PUBLIC KEY", public.as_ref())))
}

/// An RS256 JWT of `claims` signed with `private_pem` (PKCS#8), with `kid` in the header as Clerk sends.
pub fn sign_rs256<C: Serialize>(private_pem: &str, kid: &str, claims: &C) -> Result<String, String> {
    let der = pem_der(private_pem).ok_or("the signing key is not a PEM block")?;
    let key = RsaKeyPair::from_pkcs8(&der).map_err(|e| format!("the signing key is not RSA PKCS#8: {e}"))?;
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
    encode(&header, claims, |signed| {
        let mut signature = vec![0; key.public_modulus_len()];
        key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signed, &mut signature)
            .map_err(|_| "RSA signing failed".to_owned())?;
        Ok(signature)
    })
}

/// `header.claims.signature`, each part unpadded base64url, the signature made by `sign` over the first two
/// parts. Any header goes: the tests forge tokens (`none`, HS256) with it.
pub fn encode<C: Serialize>(
    header: &Value,
    claims: &C,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<String, String> {
    let claims = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
    let signed = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims));
    let signature = sign(signed.as_bytes())?;
    Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// The claims of a JWT, unverified: for tests and tools that read a token they were handed.
pub fn claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    #[test]
    fn a_signed_token_verifies_with_the_public_key_and_not_once_changed() {
        let (private, public) = generate_key().unwrap();
        assert!(private.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{private}");
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{public}");
        let token = sign_rs256(&private, "ins_1", &json!({"sub": "user_1", "exp": 2})).unwrap();
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(signed.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": "ins_1"}));
        assert_eq!(claims(&token), Some(json!({"sub": "user_1", "exp": 2})));
        let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, pem_der(&public).unwrap());
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert!(key.verify(signed.as_bytes(), &signature).is_ok());
        let (head, _) = signed.split_once('.').unwrap();
        let other = format!("{head}.{}", URL_SAFE_NO_PAD.encode(r#"{"sub":"user_2","exp":2}"#));
        assert!(key.verify(other.as_bytes(), &signature).is_err());
    }

    #[test]
    fn a_key_that_is_not_pkcs8_rsa_is_refused_with_a_reason() {
        assert!(sign_rs256("not a key", "k", &json!({})).unwrap_err().contains("PEM"));
        let (_, public) = generate_key().unwrap();
        assert!(sign_rs256(&public, "k", &json!({})).unwrap_err().contains("PKCS#8"));
    }
}
