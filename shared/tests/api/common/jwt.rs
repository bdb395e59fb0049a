//! JWTs signed as the token endpoint signs them, for the tests that make their own (ID token
//! hints, forged or replayed tokens).

use auth_core::store::SigningKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// `claims` signed RS256 with the private half of `key`, under this `typ` and the key's `kid`.
pub fn signed(key: &SigningKey, typ: &str, claims: &impl Serialize) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some(typ.into());
    header.kid = Some(key.kid.clone());
    let pem = key.private_pem.as_ref().map(|p| p.expose().to_string());
    let encoding_key = match EncodingKey::from_rsa_pem(pem.unwrap_or_default().as_bytes()) {
        Ok(key) => key,
        Err(error) => panic!("unreadable PEM: {error}"),
    };
    match jsonwebtoken::encode(&header, claims, &encoding_key) {
        Ok(token) => token,
        Err(error) => panic!("signing failed: {error}"),
    }
}
