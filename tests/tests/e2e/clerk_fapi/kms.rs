//! The deployed stack's session-token signer (`KmsSigner`, feature `kms`) against a KMS emulator: moto's
//! server mode, a process of each test's own. The key is made by `CreateKey` as the stack's template makes
//! it (RSA_2048, SIGN_VERIFY); the signer reads its public key once and signs with `Sign`.
//!
//! moto 5.2.6 (the pinned version, the newest) reads `MessageType` and then ignores it
//! (`moto/kms/responses.py` `sign`, `moto/kms/utils.py` `RSAPrivateKey.sign`: `private_key.sign(message,
//! PKCS1v15(), SHA256())` hashes whatever it is given), so a `DIGEST` request has its digest hashed again:
//! its signature is RS256 over the 32-byte digest, not over the token. Real KMS signs the digest as given
//! (API_Sign: "DIGEST … KMS skips the hashing step"); upstream's fix is getmoto/moto#10202 (open). So the
//! test checks what the signer sends (`Message` = SHA-256 of `header.claims`, `DIGEST`,
//! `RSASSA_PKCS1_V1_5_SHA_256`, on the wire) and that moto's signature is that digest's under the key the
//! JWK publishes; and it asserts moto's deviation, so that a moto that signs digests as KMS does fails here
//! and the token itself is then verified instead.

use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{RsaPublicKeyComponents, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use aws_sdk_kms::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_kms::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_kms::error::BoxError;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use clerk_fapi::signer::{KmsSigner, Signer};
use orgmint_tests::kms::Moto;
use serde_json::{json, Value};

/// Every KMS request a client sends, as it goes on the wire: (`X-Amz-Target`, JSON body).
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(String, Value)>>>);

impl Recorder {
    fn of(&self, target: &str) -> Vec<Value> {
        let requests = self.0.lock().unwrap();
        requests
            .iter()
            .filter(|(t, _)| t == &format!("TrentService.{target}"))
            .map(|(_, b)| b.clone())
            .collect()
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request.headers().get("x-amz-target").unwrap_or_default().to_owned();
        let body = serde_json::from_slice(request.body().bytes().unwrap_or_default()).unwrap_or(Value::Null);
        self.0.lock().unwrap().push((target, body));
        Ok(())
    }
}

async fn create_key(client: &aws_sdk_kms::Client, spec: KeySpec, usage: KeyUsageType) -> String {
    let out = client.create_key().key_spec(spec).key_usage(usage).send().await.expect("CreateKey");
    out.key_metadata.expect("the key's metadata").key_id
}

fn b64url(value: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(value.as_str().expect("a string")).expect("base64url")
}

#[tokio::test]
async fn the_kms_signer_publishes_the_kms_key_and_signs_the_tokens_digest_with_it() {
    let moto = Moto::start();
    let oracle = moto.client();
    let key_id = create_key(&oracle, KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let requests = Recorder::default();
    let client = aws_sdk_kms::Client::from_conf(moto.config().interceptor(requests.clone()).build());
    let signer = Signer::Kms(KmsSigner::with_client(client, &key_id).await.expect("the KMS signer"));

    // The JWK is the key KMS holds: its n and e, encoded by aws-lc as an X.509 SubjectPublicKeyInfo, are
    // byte for byte what GetPublicKey returns; its kid is the RFC 7638 thumbprint, and the signer's kid.
    let spki = oracle.get_public_key().key_id(&key_id).send().await.unwrap().public_key.unwrap().into_inner();
    let jwk = signer.jwk().clone();
    assert_eq!((&jwk["kty"], &jwk["alg"], &jwk["use"]), (&json!("RSA"), &json!("RS256"), &json!("sig")));
    assert_eq!(jwk["e"], "AQAB", "KMS RSA keys have the exponent 65537");
    let (n, e) = (b64url(&jwk["n"]), b64url(&jwk["e"]));
    assert_eq!(n.len(), 256, "RSA_2048: a 2048-bit modulus without a leading zero byte");
    assert!(n[0] & 0x80 != 0);
    let published = RsaPublicKeyComponents { n, e };
    assert_eq!(published.as_der().expect("n and e form an RSA key").as_ref(), spki.as_slice());
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        jwk["e"].as_str().unwrap(),
        jwk["n"].as_str().unwrap()
    );
    let thumbprint = URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()));
    assert_eq!(jwk["kid"], thumbprint);
    assert_eq!(signer.kid(), thumbprint);

    let claims = json!({"sub": "user_1", "sid": "sess_1", "iat": 1_700_000_000, "exp": 1_700_000_060,
                        "o": {"id": "org_1", "rol": "admin", "slg": "acme"}});
    let token = signer.sign(&claims).await.expect("a token");
    let second = signer.sign(&json!({"sub": "user_2"})).await.expect("a second token");
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let (header, body) = signed.split_once('.').unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    assert_eq!(header, json!({"alg": "RS256", "kid": thumbprint, "typ": "JWT"}));
    assert_eq!(serde_json::from_slice::<Value>(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap(), claims);
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    assert_eq!(signature.len(), 256);

    // On the wire: the public key read once (not per token), and each Sign the request real KMS answers
    // with the token's RS256 signature: the SHA-256 of `header.claims` as a DIGEST, PKCS#1 v1.5 SHA-256.
    assert_eq!(requests.of("GetPublicKey"), vec![json!({"KeyId": key_id})]);
    let signs = requests.of("Sign");
    assert_eq!(signs.len(), 2);
    let token_digest = digest(&SHA256, signed.as_bytes());
    assert_eq!(
        signs[0],
        json!({
            "KeyId": key_id,
            "Message": STANDARD.encode(token_digest.as_ref()),
            "MessageType": "DIGEST",
            "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256",
        })
    );
    let second_signed = second.rsplit_once('.').unwrap().0;
    assert_eq!(signs[1]["Message"], STANDARD.encode(digest(&SHA256, second_signed.as_bytes()).as_ref()));

    // What moto signed: RSASSA-PKCS1-v1_5 SHA-256 over that digest (its deviation, see the module's doc),
    // checked with the JWK's numbers and, independently, with the SPKI as aws-lc parses it; not over the
    // digest of other claims.
    let by_spki = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &spki);
    for (name, key) in [("the JWK", &published as &dyn Verify), ("GetPublicKey's SPKI", &by_spki)] {
        assert!(key.verifies(token_digest.as_ref(), &signature), "{name}: moto's signature of the digest");
        let altered = format!(
            "{}.{}",
            signed.split('.').next().unwrap(),
            URL_SAFE_NO_PAD.encode(r#"{"sub":"user_2"}"#)
        );
        let altered_digest = digest(&SHA256, altered.as_bytes());
        assert!(!key.verifies(altered_digest.as_ref(), &signature), "{name}: altered claims");
        assert!(!key.verifies(altered.as_bytes(), &signature), "{name}: altered claims");
    }
    assert!(
        !published.verifies(signed.as_bytes(), &signature),
        "moto now signs a DIGEST message as KMS does (getmoto/moto#10202): the token itself verifies. Check \
         it here with the JWK (and altered claims failing) in place of moto's double hash, and update the \
         module's doc"
    );
}

/// RSASSA-PKCS1-v1_5 SHA-256 verification by a key in either form.
trait Verify {
    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool;
}

impl Verify for RsaPublicKeyComponents<Vec<u8>> {
    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verify(&RSA_PKCS1_2048_8192_SHA256, message, signature).is_ok()
    }
}

impl Verify for UnparsedPublicKey<&Vec<u8>> {
    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verify(message, signature).is_ok()
    }
}

#[tokio::test]
async fn a_kms_key_the_signer_cannot_use_is_a_signer_error_naming_the_call() {
    let moto = Moto::start();
    let client = moto.client();
    // No such key: GetPublicKey's NotFoundException, when the signer is made.
    let missing = KmsSigner::with_client(client.clone(), "00000000-0000-0000-0000-000000000000").await;
    let error = missing.err().expect("no signer of a missing key").0;
    assert!(error.starts_with("KMS GetPublicKey: NotFoundException: "), "{error}");
    assert!(error.len() < 300, "a log line's cause, not the raw answer: {error}");
    // A key that is not RSA: its public key is refused.
    let ecc = create_key(&client, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let error = KmsSigner::with_client(client.clone(), &ecc).await.err().expect("no signer of an EC key").0;
    assert_eq!(error, "KMS GetPublicKey: not an RSA public key");
    // An RSA key for encryption: the signer is made (GetPublicKey answers), but Sign is refused.
    let encrypting = create_key(&client, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let signer = Signer::Kms(KmsSigner::with_client(client, &encrypting).await.expect("a signer"));
    let error = signer.sign(&json!({"sub": "user_1"})).await.expect_err("no token").0;
    assert!(error.starts_with("KMS Sign: "), "{error}");
}
