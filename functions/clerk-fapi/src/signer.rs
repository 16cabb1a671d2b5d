//! Session tokens: signed by the stack's key, published by `GET /v1/jwks`. The key is never a table item a
//! function reads: in AWS it is a KMS asymmetric key (`ORGMINT_CLERK_KMS_KEY_ID`, feature `kms`) that only
//! the token function may sign with; locally, where there is no KMS, a PEM file that `make dev` (and the
//! tests) create, named by `ORGMINT_CLERK_SIGNING_KEY`. Both are one [`Signer`].

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The file holding the local signing key (PKCS#8 PEM).
pub const KEY_FILE_ENV: &str = "ORGMINT_CLERK_SIGNING_KEY";
/// The KMS key (id, ARN or alias) of the deployed stack; it wins over the key file.
pub const KMS_KEY_ENV: &str = "ORGMINT_CLERK_KMS_KEY_ID";

/// The stack's session-token signer.
pub enum Signer {
    Local(LocalSigner),
    #[cfg(feature = "kms")]
    Kms(kms::KmsSigner),
}

impl Signer {
    /// KMS when `ORGMINT_CLERK_KMS_KEY_ID` is set (and the crate has the `kms` feature), else the key file.
    pub async fn from_env() -> Result<Self, SignerError> {
        match std::env::var(KMS_KEY_ENV) {
            #[cfg(feature = "kms")]
            Ok(key_id) => Ok(Signer::Kms(kms::KmsSigner::new(&key_id).await?)),
            #[cfg(not(feature = "kms"))]
            Ok(_) => Err(SignerError(format!("{KMS_KEY_ENV} is set but this build has no KMS signer"))),
            Err(_) => LocalSigner::from_env().map(Signer::Local),
        }
    }

    pub fn kid(&self) -> &str {
        match self {
            Signer::Local(signer) => signer.kid(),
            #[cfg(feature = "kms")]
            Signer::Kms(signer) => &signer.kid,
        }
    }

    pub fn jwk(&self) -> &Value {
        match self {
            Signer::Local(signer) => signer.jwk(),
            #[cfg(feature = "kms")]
            Signer::Kms(signer) => &signer.jwk,
        }
    }

    /// An RS256 JWT of `claims`, its header naming the key.
    pub async fn sign(&self, claims: &Value) -> Result<String, SignerError> {
        let signed = signing_input(self.kid(), claims);
        let signature = match self {
            Signer::Local(signer) => signer.signature(signed.as_bytes())?,
            #[cfg(feature = "kms")]
            Signer::Kms(signer) => signer.signature(signed.as_bytes()).await?,
        };
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// The process's signer, made on first use and kept (a failure is tried again next time).
pub async fn stack() -> Result<&'static Signer, SignerError> {
    static SIGNER: tokio::sync::OnceCell<Signer> = tokio::sync::OnceCell::const_new();
    SIGNER.get_or_try_init(Signer::from_env).await
}

/// `header.claims`, base64url: what an RS256 signature signs.
fn signing_input(kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "RS256", "kid": kid, "typ": "JWT"});
    format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// The JWK of an RSA public key from its modulus and exponent (big-endian), and its RFC 7638 kid.
fn rsa_jwk(n: &[u8], e: &[u8]) -> (String, Value) {
    let unsigned = |bytes: &[u8]| {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
        URL_SAFE_NO_PAD.encode(&bytes[start..])
    };
    let (n, e) = (unsigned(n), unsigned(e));
    let kid = thumbprint(&n, &e);
    let jwk = json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e});
    (kid, jwk)
}

/// Why no token can be signed (the log line's cause; never key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerError(pub String);

/// An RSA key that signs session tokens (RS256).
pub struct LocalSigner {
    key: RsaKeyPair,
    kid: String,
    jwk: Value,
}

impl LocalSigner {
    /// The signer of a PKCS#8 PEM key.
    pub fn from_pem(pem: &str) -> Result<Self, SignerError> {
        let der = pem_der(pem).ok_or_else(|| SignerError("the signing key is not a PEM block".into()))?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|_| SignerError("the signing key is not an RSA PKCS#8 key".into()))?;
        let (n, e) = rsa_public_numbers(key.public_key().as_ref())
            .ok_or_else(|| SignerError("the public key does not read as PKCS#1".into()))?;
        let (kid, jwk) = rsa_jwk(n, e);
        Ok(LocalSigner { key, kid, jwk })
    }

    /// The signer of the key file named by `ORGMINT_CLERK_SIGNING_KEY`.
    pub fn from_env() -> Result<Self, SignerError> {
        let path = std::env::var(KEY_FILE_ENV)
            .map_err(|_| SignerError(format!("{KEY_FILE_ENV} names no signing key file")))?;
        let pem = std::fs::read_to_string(&path)
            .map_err(|e| SignerError(format!("cannot read the signing key file {path}: {e}")))?;
        Self::from_pem(&pem)
    }

    /// A fresh 2048-bit key as PKCS#8 PEM (what `make dev` writes to its key file).
    pub fn generate_pem() -> Result<String, SignerError> {
        let key = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| SignerError("RSA key generation failed".into()))?;
        let der = key.as_der().map_err(|_| SignerError("PKCS#8 encoding failed".into()))?;
        Ok(pem("PRIVATE KEY", der.as_ref()))
    }

    /// The key id tokens carry: the key's JWK thumbprint (RFC 7638).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// The RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    fn signature(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut signature)
            .map_err(|_| SignerError("RSA signing failed".into()))?;
        Ok(signature)
    }
}

#[cfg(feature = "kms")]
pub use kms::KmsSigner;

#[cfg(feature = "kms")]
mod kms {
    use super::*;
    use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};

    /// What KMS said, short enough for a log line's cause (its code and message), or why no answer came.
    pub(super) fn kms_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> String {
        match err {
            SdkError::ServiceError(_) => {
                format!("{}: {}", err.code().unwrap_or("unknown error"), err.message().unwrap_or(""))
            }
            SdkError::TimeoutError(_) => "timeout".to_owned(),
            SdkError::DispatchFailure(_) => "no answer (dispatch failure)".to_owned(),
            SdkError::ResponseError(_) => "unreadable answer".to_owned(),
            SdkError::ConstructionFailure(_) => "request not built (configuration)".to_owned(),
            _ => "failed".to_owned(),
        }
    }
    use aws_sdk_kms::primitives::Blob;
    use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};

    /// A KMS asymmetric key (RSA, SIGN_VERIFY): KMS signs the digest; the private key never leaves it.
    pub struct KmsSigner {
        client: aws_sdk_kms::Client,
        key_id: String,
        pub(super) kid: String,
        pub(super) jwk: Value,
    }

    impl KmsSigner {
        /// The signer of `key_id` with a client from the environment (as the functions run in AWS).
        pub async fn new(key_id: &str) -> Result<Self, SignerError> {
            let sdk = orgmint::Store::sdk_loader().load().await;
            Self::with_client(aws_sdk_kms::Client::new(&sdk), key_id).await
        }

        /// The signer of `key_id` through `client` (the tests' client of a KMS emulator), its public key
        /// read once (`GetPublicKey`).
        pub async fn with_client(client: aws_sdk_kms::Client, key_id: &str) -> Result<Self, SignerError> {
            let out = client
                .get_public_key()
                .key_id(key_id)
                .send()
                .await
                .map_err(|e| SignerError(format!("KMS GetPublicKey: {}", kms_failure(&e))))?;
            let spki = out.public_key.ok_or_else(|| SignerError("KMS GetPublicKey: no key".into()))?;
            let (n, e) = spki_rsa_numbers(spki.as_ref())
                .ok_or_else(|| SignerError("KMS GetPublicKey: not an RSA public key".into()))?;
            let (kid, jwk) = rsa_jwk(n, e);
            Ok(KmsSigner { client, key_id: key_id.to_owned(), kid, jwk })
        }

        pub(super) async fn signature(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
            let out = self
                .client
                .sign()
                .key_id(&self.key_id)
                .message(Blob::new(Sha256::digest(message).to_vec()))
                .message_type(MessageType::Digest)
                .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
                .send()
                .await
                .map_err(|e| SignerError(format!("KMS Sign: {}", kms_failure(&e))))?;
            out.signature.map(Blob::into_inner).ok_or_else(|| SignerError("KMS Sign: no signature".into()))
        }
    }
}

/// The modulus and exponent of an X.509 `SubjectPublicKeyInfo` holding an RSA key (what KMS returns).
pub fn spki_rsa_numbers(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, body, _) = der_element(der)?;
    let (_, _, rest) = der_element(body.filter(|_| tag == 0x30)?)?;
    let (bits_tag, bits, _) = der_element(rest)?;
    let bits = bits.filter(|_| bits_tag == 0x03)?;
    let (unused, key) = bits.split_first()?;
    (*unused == 0).then_some(())?;
    rsa_public_numbers(key)
}

/// RFC 7638's thumbprint of an RSA key: SHA-256 of `{"e","kty","n"}` in that order, base64url.
pub fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The modulus and exponent of a PKCS#1 `RSAPublicKey` (DER `SEQUENCE { INTEGER n, INTEGER e }`).
pub fn rsa_public_numbers(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (tag, body, _) = der_element(der)?;
    let (n_tag, n, rest) = der_element(body.filter(|_| tag == 0x30)?)?;
    let (e_tag, e, _) = der_element(rest)?;
    (n_tag == 0x02 && e_tag == 0x02).then_some((n?, e?))
}

/// A DER element: its tag, its contents and what follows it.
type Element<'a> = (u8, Option<&'a [u8]>, &'a [u8]);

fn der_element(der: &[u8]) -> Option<Element<'_>> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        short @ 0..=0x7f => (usize::from(short), rest),
        long => {
            let count = usize::from(long & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let len = rest[..count].iter().fold(0usize, |len, b| (len << 8) | usize::from(*b));
            (len, &rest[count..])
        }
    };
    (rest.len() >= len).then(|| (tag, Some(&rest[..len]), &rest[len..]))
}

/// A PEM block of `der` under `label`, 64 characters a line.
pub fn pem(label: &str, der: &[u8]) -> String {
    let base64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside the first PEM block of `pem`.
pub fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let body = pem.split("-----").nth(2)?;
    STANDARD.decode(body.split_ascii_whitespace().collect::<String>()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};

    #[test]
    fn a_token_verifies_with_the_published_jwk_and_names_its_kid() {
        let pem = LocalSigner::generate_pem().unwrap();
        let signer = LocalSigner::from_pem(&pem).unwrap();
        let token = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(Signer::Local(signer).sign(&json!({"sub": "user_1"})))
            .unwrap();
        let signer = LocalSigner::from_pem(&pem).unwrap();
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(signed.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(header["kid"], signer.jwk()["kid"]);
        let jwk = signer.jwk();
        let part = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
        let key = RsaPublicKeyComponents { n: part("n"), e: part("e") };
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert!(key.verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &signature).is_ok());
        assert!(key.verify(&RSA_PKCS1_2048_8192_SHA256, b"other", &signature).is_err());
    }

    #[test]
    fn kms_public_keys_read_as_spki() {
        // The SPKI of a key (what KMS's GetPublicKey returns) names the same numbers as its PKCS#1 form.
        let key = RsaKeyPair::from_pkcs8(&pem_der(&LocalSigner::generate_pem().unwrap()).unwrap()).unwrap();
        let spki = key.public_key().as_der().unwrap();
        assert_eq!(spki_rsa_numbers(spki.as_ref()), rsa_public_numbers(key.public_key().as_ref()));
        assert!(spki_rsa_numbers(key.public_key().as_ref()).is_none(), "PKCS#1 is not SPKI");
        assert!(spki_rsa_numbers(&spki.as_ref()[..40]).is_none(), "truncated");
    }

    #[test]
    fn the_kid_is_the_rfc7638_thumbprint() {
        // RFC 7638, section 3.1's example key and thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(thumbprint(n, "AQAB"), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn a_key_that_is_not_pkcs8_rsa_is_refused_with_a_reason() {
        assert!(LocalSigner::from_pem("not a key").err().unwrap().0.contains("PEM"));
        let other = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(LocalSigner::from_pem(other).err().unwrap().0.contains("PKCS#8"));
    }
}
