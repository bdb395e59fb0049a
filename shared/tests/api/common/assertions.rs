//! `private_key_jwt` as a client does it: a key pair (RS256 or ES256) whose public half the
//! client registers, and assertions (RFC 7523 2.2) signed with its private half.

use auth_core::client_assertion::CLIENT_ASSERTION_TYPE;
use auth_core::keys::generate_signing_key;
use auth_core::secret::{now, random_id};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// A client's key pair: the private half signs, `public` is its JWK.
pub struct ClientKey {
    pub alg: Algorithm,
    pub kid: String,
    key: EncodingKey,
    pub public: Value,
}

/// An RSA-2048 key for RS256.
pub fn rsa_key(kid: &str) -> ClientKey {
    let key = generate_signing_key().unwrap_or_else(|e| panic!("{e}"));
    let pem = key.private_pem.as_ref().map(|p| p.expose().to_string());
    ClientKey {
        alg: Algorithm::RS256,
        kid: kid.into(),
        key: EncodingKey::from_rsa_pem(pem.unwrap_or_default().as_bytes())
            .unwrap_or_else(|e| panic!("{e}")),
        public: json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": key.n, "e": key.e}),
    }
}

/// An EC P-256 key for ES256.
pub fn ec_key(kid: &str) -> ClientKey {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap_or_else(|e| panic!("{e}"));
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .unwrap_or_else(|e| panic!("{e}"));
    let point = pair.public_key().as_ref().to_vec();
    ClientKey {
        alg: Algorithm::ES256,
        kid: kid.into(),
        key: EncodingKey::from_ec_der(pkcs8.as_ref()),
        public: json!({"kty": "EC", "crv": "P-256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
    }
}

/// The JWKS of these keys' public halves.
pub fn jwks_of(keys: &[&ClientKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.public.clone()).collect::<Vec<_>>() })
}

/// The claims of a good assertion of `client_id` for `aud`: a fresh `jti`, a minute to live.
pub fn assertion_claims(client_id: &str, aud: &str) -> Value {
    let t = now();
    json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": t, "exp": t + 60, "jti": random_id()})
}

/// `claims` with `changes` applied: a `null` removes the claim.
pub fn changed(mut claims: Value, changes: Value) -> Value {
    if let (Some(claims), Some(changes)) = (claims.as_object_mut(), changes.as_object()) {
        for (name, value) in changes {
            if value.is_null() {
                claims.remove(name);
            } else {
                claims.insert(name.clone(), value.clone());
            }
        }
    }
    claims
}

impl ClientKey {
    /// `claims` signed with this key, its `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// The form parameters of `private_key_jwt` for this assertion.
pub fn assertion_params(assertion: &str) -> [(&'static str, &str); 2] {
    [
        ("client_assertion_type", CLIENT_ASSERTION_TYPE),
        ("client_assertion", assertion),
    ]
}
