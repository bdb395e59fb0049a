//! RSA signing keys: generation (for `authctl keys rotate` and the local stack) and their
//! RFC 7638 thumbprint. What a key does over its life is `lifecycle`'s.

pub mod lifecycle;

use crate::secret::sha256_b64;
use crate::secret::Secret;
use crate::store::SigningKey;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::KeyPair as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

/// A new RSA-2048 key; `kid` is its RFC 7638 JWK thumbprint.
pub fn generate_signing_key() -> Result<SigningKey, String> {
    let key_pair =
        KeyPair::generate(KeySize::Rsa2048).map_err(|_| "RSA key generation failed".to_string())?;
    let pkcs8 = key_pair
        .as_der()
        .map_err(|_| "RSA key encoding failed".to_string())?;
    let public = key_pair.public_key();
    let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
    let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
    let created_at = now_millis();
    Ok(SigningKey {
        kid: thumbprint(&n, &e),
        created_at,
        active_from: created_at,
        private_pem: Some(Secret::new(pem("PRIVATE KEY", pkcs8.as_ref()))),
        n,
        e,
    })
}

/// Keys are ordered by creation in milliseconds, so that two rotations in one second stay ordered.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// RFC 7638: SHA-256 over the required members in lexicographic order.
pub fn thumbprint(n: &str, e: &str) -> String {
    sha256_b64(format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#).as_bytes())
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_has_a_pem_and_a_thumbprint_kid() {
        let key = generate_signing_key().ok();
        let Some(key) = key else {
            panic!("key generation failed")
        };
        assert_eq!(key.e, "AQAB");
        assert_eq!(key.kid, thumbprint(&key.n, &key.e));
        let pem = key
            .private_pem
            .as_ref()
            .map(Secret::expose)
            .unwrap_or_default();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()).is_ok());
    }

    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
