//! `private_key_jwt` client authentication (RFC 7523 2.2 and 3, OpenID Connect Core 9): a
//! client signs a short-lived JWT with a private key whose public half it registered, as a
//! JWKS (`ClientJwks`) or a `jwks_uri`. Here are the rules of the keys (checked at
//! registration and on every fetch) and of the assertion; the single use of its `jti` is the
//! store's (`JtiStore`), called by `client_auth` once the assertion verified.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;
use url::{Host, Url};

/// `client_assertion_type` of a JWT assertion (RFC 7523 2.2).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// What metadata advertises (`token_endpoint_auth_signing_alg_values_supported`): no `none`,
/// no HMAC (a shared secret would be a client secret by another name).
pub const SIGNING_ALGORITHMS: [&str; 2] = ["RS256", "ES256"];
/// An assertion is a few hundred bytes; anything much larger is not one.
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;
/// `jti` goes into a DynamoDB key (2048 bytes at most, with the client id and a prefix).
pub const MAX_JTI_BYTES: usize = 256;
/// How far ahead `exp` may be: an assertion is made for one request, so a long-lived one is
/// a bearer credential that replay protection would have to remember for long.
pub const MAX_ASSERTION_LIFETIME_SECONDS: i64 = 300;
/// Clock skew allowed on `exp`, `iat` and `nbf`.
pub const LEEWAY_SECONDS: i64 = 30;
/// Keys in one JWKS, and its size as text: enough for a rotation or two, and far below
/// DynamoDB's 400 KB item.
pub const MAX_JWKS_KEYS: usize = 10;
pub const MAX_JWKS_BYTES: usize = 16 * 1024;
pub const MIN_RSA_BITS: usize = 2048;
pub const MAX_JWKS_URI_BYTES: usize = 2000;

/// Members that only a private or symmetric key has (RFC 7518 6.2.2, 6.3.2, 6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A client's public keys, checked: each RS256 (RSA of at least 2048 bits) or ES256 (EC P-256),
/// no private member. Keeps the JWKS as registered, to store and show it unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientJwks {
    json: Value,
    keys: Vec<ClientKey>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct ClientKey {
    kid: Option<String>,
    alg: Algorithm,
    jwk: Jwk,
}

/// Why a JWKS or a `jwks_uri` is refused. Display is what authctl prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksError {
    NotAJwks,
    TooLarge,
    NoKeys,
    TooManyKeys,
    PrivateMember(String),
    UnsupportedKey(String),
    WeakRsaKey(usize),
    DuplicateKid,
    Uri(&'static str),
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksError::NotAJwks => f.write_str("a JWKS is a JSON object with a \"keys\" array"),
            JwksError::TooLarge => write!(f, "a JWKS is at most {MAX_JWKS_BYTES} bytes"),
            JwksError::NoKeys => f.write_str("the JWKS holds no key"),
            JwksError::TooManyKeys => write!(f, "a JWKS holds at most {MAX_JWKS_KEYS} keys"),
            JwksError::PrivateMember(member) => write!(
                f,
                "the JWKS holds a private key (member {member:?}): register public keys only"
            ),
            JwksError::UnsupportedKey(what) => write!(
                f,
                "unsupported key ({what}): keys are RSA for RS256 or EC P-256 for ES256, with \"use\" sig if any"
            ),
            JwksError::WeakRsaKey(bits) => write!(
                f,
                "an RSA key of {bits} bits is refused: at least {MIN_RSA_BITS}"
            ),
            JwksError::DuplicateKid => f.write_str("two keys of the JWKS have the same kid"),
            JwksError::Uri(why) => write!(f, "jwks_uri refused: {why}"),
        }
    }
}

impl std::error::Error for JwksError {}

impl ClientJwks {
    /// A JWKS as text (a file, a fetched document).
    pub fn parse(text: &str) -> Result<ClientJwks, JwksError> {
        if text.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge);
        }
        let json: Value = serde_json::from_str(text).map_err(|_| JwksError::NotAJwks)?;
        ClientJwks::from_json(json)
    }

    /// Every rule of a client's keys; the order says the first problem found.
    pub fn from_json(json: Value) -> Result<ClientJwks, JwksError> {
        if json.to_string().len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge);
        }
        let members = json
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(JwksError::NotAJwks)?;
        if members.is_empty() {
            return Err(JwksError::NoKeys);
        }
        if members.len() > MAX_JWKS_KEYS {
            return Err(JwksError::TooManyKeys);
        }
        let mut keys: Vec<ClientKey> = Vec::with_capacity(members.len());
        for member in members {
            let key = client_key(member)?;
            if key.kid.is_some() && keys.iter().any(|k| k.kid == key.kid) {
                return Err(JwksError::DuplicateKid);
            }
            keys.push(key);
        }
        Ok(ClientJwks { json, keys })
    }

    /// The JWKS as registered.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The keys that may have signed a JWT with this header: of its algorithm, and its `kid`
    /// when it names one.
    fn candidates<'a>(
        &'a self,
        alg: Algorithm,
        kid: Option<&'a str>,
    ) -> impl Iterator<Item = &'a ClientKey> + 'a {
        self.keys.iter().filter(move |key| {
            key.alg == alg && kid.is_none_or(|kid| key.kid.as_deref() == Some(kid))
        })
    }

    /// Whether a JWT naming `kid` could find its key here (else a `jwks_uri` is fetched again).
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|key| key.kid.as_deref() == Some(kid))
    }
}

fn client_key(member: &Value) -> Result<ClientKey, JwksError> {
    let object = member.as_object().ok_or(JwksError::NotAJwks)?;
    if let Some(private) = PRIVATE_MEMBERS.iter().find(|m| object.contains_key(**m)) {
        return Err(JwksError::PrivateMember(private.to_string()));
    }
    let unsupported = |what: &str| JwksError::UnsupportedKey(what.to_string());
    if object
        .get("use")
        .is_some_and(|use_| use_.as_str() != Some("sig"))
    {
        return Err(unsupported("\"use\" is not sig"));
    }
    let kid = match object.get("kid") {
        None => None,
        Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= 256 => Some(kid.clone()),
        Some(_) => return Err(unsupported("kid is not a string of 1 to 256 bytes")),
    };
    let jwk: Jwk =
        serde_json::from_value(member.clone()).map_err(|_| unsupported("not a valid JWK"))?;
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let modulus = URL_SAFE_NO_PAD
                .decode(&rsa.n)
                .map_err(|_| unsupported("n is not base64url"))?;
            let bits = bit_length(&modulus);
            if bits < MIN_RSA_BITS {
                return Err(JwksError::WeakRsaKey(bits));
            }
            let exponent = URL_SAFE_NO_PAD
                .decode(&rsa.e)
                .map_err(|_| unsupported("e is not base64url"))?;
            if bit_length(&exponent) < 2 {
                return Err(unsupported("e is not a valid exponent"));
            }
            Algorithm::RS256
        }
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            let coordinate = |c: &str| URL_SAFE_NO_PAD.decode(c).ok().filter(|b| b.len() == 32);
            if coordinate(&ec.x).is_none() || coordinate(&ec.y).is_none() {
                return Err(unsupported("P-256 coordinates are 32 bytes each"));
            }
            Algorithm::ES256
        }
        AlgorithmParameters::EllipticCurve(_) => {
            return Err(unsupported("EC curve other than P-256"))
        }
        _ => return Err(unsupported("kty is neither RSA nor EC")),
    };
    // `alg` in the JWK, when present, must be the one this key type is used with here.
    match object.get("alg") {
        None => {}
        Some(Value::String(named)) if named == algorithm_name(alg) => {}
        Some(_) => return Err(unsupported("alg does not match the key")),
    }
    DecodingKey::from_jwk(&jwk).map_err(|_| unsupported("not a valid public key"))?;
    Ok(ClientKey { kid, alg, jwk })
}

fn bit_length(big_endian: &[u8]) -> usize {
    match big_endian.iter().position(|b| *b != 0) {
        Some(first) => (big_endian.len() - first) * 8 - big_endian[first].leading_zeros() as usize,
        None => 0,
    }
}

fn algorithm_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "ES256",
        _ => "RS256",
    }
}

/// A `jwks_uri` as registered: https, or http on a loopback address (local tests only); no
/// user information or fragment.
pub fn check_jwks_uri(uri: &str) -> Result<(), JwksError> {
    if uri.len() > MAX_JWKS_URI_BYTES || uri.contains(char::is_whitespace) {
        return Err(JwksError::Uri("at most 2000 bytes, no spaces"));
    }
    let url = Url::parse(uri).map_err(|_| JwksError::Uri("not an absolute URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(JwksError::Uri("no user information"));
    }
    if url.fragment().is_some() {
        return Err(JwksError::Uri("no fragment"));
    }
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => Ok(()),
        ("http", Some(Host::Ipv4(ip))) if ip.is_loopback() => Ok(()),
        ("http", Some(Host::Ipv6(ip))) if ip.is_loopback() => Ok(()),
        ("http", Some(Host::Domain("localhost"))) => Ok(()),
        _ => Err(JwksError::Uri(
            "it must be https (http only on a loopback address, for tests)",
        )),
    }
}

/// Why an assertion is refused: for the log and the tests. Every one is the same
/// `invalid_client` to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssertionError {
    TooLarge,
    Malformed,
    /// `none`, HMAC or anything but RS256 and ES256.
    Algorithm,
    /// No registered key of its algorithm (and `kid`).
    UnknownKey,
    Signature,
    Issuer,
    Subject,
    Audience,
    MissingExpiry,
    Expired,
    /// `exp` further ahead than `MAX_ASSERTION_LIFETIME_SECONDS`.
    TooLongLived,
    /// `iat` or `nbf` in the future.
    NotYetValid,
    MissingJti,
    JtiTooLong,
    /// `client_id` sent beside the assertion names another client.
    ClientIdMismatch,
    Replayed,
}

impl AssertionError {
    /// For the log line (never the response).
    pub fn as_str(self) -> &'static str {
        match self {
            AssertionError::TooLarge => "too large",
            AssertionError::Malformed => "malformed",
            AssertionError::Algorithm => "algorithm not allowed",
            AssertionError::UnknownKey => "no registered key matches",
            AssertionError::Signature => "bad signature",
            AssertionError::Issuer => "iss is not the client_id",
            AssertionError::Subject => "sub is not the client_id",
            AssertionError::Audience => "aud does not name this server",
            AssertionError::MissingExpiry => "no exp",
            AssertionError::Expired => "expired",
            AssertionError::TooLongLived => "exp too far ahead",
            AssertionError::NotYetValid => "iat or nbf in the future",
            AssertionError::MissingJti => "no jti",
            AssertionError::JtiTooLong => "jti too long",
            AssertionError::ClientIdMismatch => "client_id differs from the assertion",
            AssertionError::Replayed => "jti used before",
        }
    }
}

/// The client an assertion claims to come from (`sub`, RFC 7523 3), read before anything is
/// verified: only to find the client whose keys then verify it.
pub fn claimed_client_id(assertion: &str) -> Result<String, AssertionError> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(AssertionError::TooLarge);
    }
    let mut parts = assertion.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AssertionError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AssertionError::Malformed)?;
    let claims: Value = serde_json::from_slice(&bytes).map_err(|_| AssertionError::Malformed)?;
    claims
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(AssertionError::Subject)
}

/// What an assertion is checked against.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    pub client_id: &'a str,
    /// Values of `aud` that name this server: the issuer, the token endpoint, and the
    /// endpoint the assertion was sent to.
    pub audiences: &'a [String],
    pub now: i64,
}

/// A verified assertion: its `jti` must now be used once, until `replay_until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub jti: String,
    /// The assertion's `exp` plus the leeway: after that it is refused as expired anyway.
    pub replay_until: i64,
}

/// Verifies signature and claims (RFC 7523 3, OpenID Connect Core 9). The header's `alg`
/// picks the key type; `kid`, when present, the key.
pub fn verify(
    assertion: &str,
    keys: &ClientJwks,
    expected: &Expected<'_>,
) -> Result<VerifiedAssertion, AssertionError> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(AssertionError::TooLarge);
    }
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| AssertionError::Algorithm)?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
        return Err(AssertionError::Algorithm);
    }
    let mut validation = Validation::new(header.alg);
    // The claims are checked below, against `expected.now`.
    validation.required_spec_claims = HashSet::new();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let mut candidates = keys
        .candidates(header.alg, header.kid.as_deref())
        .peekable();
    if candidates.peek().is_none() {
        return Err(AssertionError::UnknownKey);
    }
    let mut claims = None;
    for key in candidates {
        let Ok(decoding_key) = DecodingKey::from_jwk(&key.jwk) else {
            continue;
        };
        match jsonwebtoken::decode::<Value>(assertion, &decoding_key, &validation) {
            Ok(data) => {
                claims = Some(data.claims);
                break;
            }
            Err(error) => match error.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature
                | jsonwebtoken::errors::ErrorKind::InvalidEcdsaKey
                | jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_)
                | jsonwebtoken::errors::ErrorKind::InvalidKeyFormat => continue,
                _ => return Err(AssertionError::Malformed),
            },
        }
    }
    let claims = claims.ok_or(AssertionError::Signature)?;
    check_claims(&claims, expected)
}

fn check_claims(
    claims: &Value,
    expected: &Expected<'_>,
) -> Result<VerifiedAssertion, AssertionError> {
    let string = |name: &str| claims.get(name).and_then(Value::as_str);
    // Numeric dates may be fractional (RFC 7519 2): whole seconds are enough here.
    let number = |name: &str| -> Result<Option<i64>, AssertionError> {
        match claims.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                .map(Some)
                .ok_or(AssertionError::Malformed),
        }
    };
    if string("iss") != Some(expected.client_id) {
        return Err(AssertionError::Issuer);
    }
    if string("sub") != Some(expected.client_id) {
        return Err(AssertionError::Subject);
    }
    let names_us = |value: &Value| {
        value
            .as_str()
            .is_some_and(|aud| expected.audiences.iter().any(|ours| ours == aud))
    };
    let audience_ok = match claims.get("aud") {
        Some(Value::Array(values)) => values.iter().any(names_us),
        Some(value) => names_us(value),
        None => false,
    };
    if !audience_ok {
        return Err(AssertionError::Audience);
    }
    let now = expected.now;
    let exp = number("exp")?.ok_or(AssertionError::MissingExpiry)?;
    if exp.saturating_add(LEEWAY_SECONDS) <= now {
        return Err(AssertionError::Expired);
    }
    if exp > now.saturating_add(MAX_ASSERTION_LIFETIME_SECONDS + LEEWAY_SECONDS) {
        return Err(AssertionError::TooLongLived);
    }
    for name in ["iat", "nbf"] {
        if number(name)?.is_some_and(|t| t > now.saturating_add(LEEWAY_SECONDS)) {
            return Err(AssertionError::NotYetValid);
        }
    }
    let jti = string("jti")
        .filter(|jti| !jti.is_empty())
        .ok_or(AssertionError::MissingJti)?;
    if jti.len() > MAX_JTI_BYTES {
        return Err(AssertionError::JtiTooLong);
    }
    Ok(VerifiedAssertion {
        jti: jti.to_string(),
        replay_until: exp.saturating_add(LEEWAY_SECONDS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate_signing_key;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    struct Signer {
        key: EncodingKey,
        alg: Algorithm,
        public: Value,
    }

    fn rsa(kid: &str) -> Signer {
        let key = generate_signing_key().unwrap_or_else(|e| panic!("{e}"));
        let pem = key
            .private_pem
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        Signer {
            key: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap_or_else(|e| panic!("{e}")),
            alg: Algorithm::RS256,
            public: json!({"kty": "RSA", "kid": kid, "n": key.n, "e": key.e, "use": "sig", "alg": "RS256"}),
        }
    }

    fn ec(kid: &str) -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .unwrap_or_else(|e| panic!("{e}"));
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
            .unwrap_or_else(|e| panic!("{e}"));
        let point = pair.public_key().as_ref();
        Signer {
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            alg: Algorithm::ES256,
            public: json!({"kty": "EC", "crv": "P-256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
        }
    }

    fn jwks(signers: &[&Signer]) -> ClientJwks {
        let keys: Vec<Value> = signers.iter().map(|s| s.public.clone()).collect();
        ClientJwks::from_json(json!({ "keys": keys })).unwrap_or_else(|e| panic!("{e}"))
    }

    fn claims() -> Value {
        json!({"iss": "app", "sub": "app", "aud": "https://auth.example/oauth/token",
               "exp": NOW + 60, "iat": NOW, "jti": "j-1"})
    }

    fn sign(signer: &Signer, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(signer.alg);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &signer.key).unwrap_or_else(|e| panic!("{e}"))
    }

    fn check(assertion: &str, keys: &ClientJwks) -> Result<VerifiedAssertion, AssertionError> {
        let audiences = [
            "https://auth.example".to_string(),
            "https://auth.example/oauth/token".to_string(),
        ];
        verify(
            assertion,
            keys,
            &Expected {
                client_id: "app",
                audiences: &audiences,
                now: NOW,
            },
        )
    }

    fn with(changes: Value) -> Value {
        let mut claims = claims();
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

    #[test]
    fn rs256_and_es256_assertions_verify_with_or_without_kid() {
        let (r, e) = (rsa("r1"), ec("e1"));
        let keys = jwks(&[&r, &e]);
        for (signer, kid) in [(&r, Some("r1")), (&r, None), (&e, Some("e1")), (&e, None)] {
            assert_eq!(
                check(&sign(signer, kid, &claims()), &keys),
                Ok(VerifiedAssertion {
                    jti: "j-1".into(),
                    replay_until: NOW + 60 + LEEWAY_SECONDS
                })
            );
        }
        // aud as an array holding the issuer; a fractional exp.
        let claims = with(
            json!({"aud": ["https://other.example", "https://auth.example"], "exp": (NOW + 10) as f64 + 0.5}),
        );
        assert!(check(&sign(&r, None, &claims), &keys).is_ok());
        assert_eq!(
            claimed_client_id(&sign(&e, None, &claims)),
            Ok("app".into())
        );
    }

    #[test]
    fn each_claim_rule_refuses() {
        let r = rsa("r1");
        let keys = jwks(&[&r]);
        for (changes, expected) in [
            (json!({"iss": "other"}), AssertionError::Issuer),
            (json!({"iss": null}), AssertionError::Issuer),
            (json!({"sub": "other"}), AssertionError::Subject),
            (
                json!({"aud": "https://evil.example"}),
                AssertionError::Audience,
            ),
            (
                json!({"aud": ["https://evil.example"]}),
                AssertionError::Audience,
            ),
            (json!({"aud": null}), AssertionError::Audience),
            (json!({"exp": null}), AssertionError::MissingExpiry),
            (json!({"exp": "soon"}), AssertionError::Malformed),
            (
                json!({"exp": NOW - LEEWAY_SECONDS}),
                AssertionError::Expired,
            ),
            (json!({"exp": NOW + 331}), AssertionError::TooLongLived),
            (json!({"iat": NOW + 31}), AssertionError::NotYetValid),
            (json!({"nbf": NOW + 31}), AssertionError::NotYetValid),
            (json!({"jti": null}), AssertionError::MissingJti),
            (json!({"jti": ""}), AssertionError::MissingJti),
            (json!({"jti": "j".repeat(257)}), AssertionError::JtiTooLong),
        ] {
            assert_eq!(
                check(&sign(&r, Some("r1"), &with(changes.clone())), &keys),
                Err(expected),
                "{changes}"
            );
        }
        // Within the leeway: accepted.
        let skewed = with(
            json!({"exp": NOW - 29, "iat": NOW + 30, "nbf": NOW + 30, "jti": "j".repeat(256)}),
        );
        assert!(check(&sign(&r, None, &skewed), &keys).is_ok());
    }

    #[test]
    fn keys_and_algorithms_that_do_not_verify() {
        let (r, other, e) = (rsa("r1"), rsa("r2"), ec("e1"));
        let keys = jwks(&[&r]);
        // A key not in the JWKS: named by kid, or not.
        assert_eq!(
            check(&sign(&other, Some("r2"), &claims()), &keys),
            Err(AssertionError::UnknownKey)
        );
        assert_eq!(
            check(&sign(&other, None, &claims()), &keys),
            Err(AssertionError::Signature)
        );
        assert_eq!(
            check(&sign(&other, Some("r1"), &claims()), &keys),
            Err(AssertionError::Signature)
        );
        // ES256 against a JWKS of RSA keys only.
        assert_eq!(
            check(&sign(&e, None, &claims()), &keys),
            Err(AssertionError::UnknownKey)
        );
        // HS256 with the public key's text as secret, and alg none.
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(r.public.to_string().as_bytes())
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_default();
        assert_eq!(check(&hs, &keys), Err(AssertionError::Algorithm));
        let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
        let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        assert_eq!(check(&none, &keys), Err(AssertionError::Algorithm));
        assert_eq!(claimed_client_id(&none), Ok("app".into()));
        assert_eq!(check("not.a.jwt", &keys), Err(AssertionError::Algorithm));
        assert_eq!(
            check(&"a".repeat(MAX_ASSERTION_BYTES + 1), &keys),
            Err(AssertionError::TooLarge)
        );
        assert_eq!(claimed_client_id("a.b"), Err(AssertionError::Malformed));
    }

    #[test]
    fn registration_refuses_private_weak_and_foreign_keys() {
        let (r, e) = (rsa("r1"), ec("e1"));
        let with_member = |key: &Value, name: &str| {
            let mut key = key.clone();
            key[name] = json!("AQAB");
            json!({ "keys": [key] })
        };
        for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert_eq!(
                ClientJwks::from_json(with_member(&r.public, member)),
                Err(JwksError::PrivateMember(member.into()))
            );
        }
        assert_eq!(
            ClientJwks::from_json(with_member(&e.public, "d")),
            Err(JwksError::PrivateMember("d".into()))
        );
        let weak = json!({"keys": [{"kty": "RSA", "n": URL_SAFE_NO_PAD.encode([0xff_u8; 128]), "e": "AQAB"}]});
        assert_eq!(
            ClientJwks::from_json(weak),
            Err(JwksError::WeakRsaKey(1024))
        );
        let mut p384 = e.public.clone();
        p384["crv"] = json!("P-384");
        let mut enc = r.public.clone();
        enc["use"] = json!("enc");
        let mut wrong_alg = r.public.clone();
        wrong_alg["alg"] = json!("PS256");
        for key in [
            p384,
            enc,
            wrong_alg,
            json!({"kty": "oct", "kid": "h"}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AA"}),
        ] {
            assert!(matches!(
                ClientJwks::from_json(json!({ "keys": [key] })),
                Err(JwksError::UnsupportedKey(_))
            ));
        }
        assert_eq!(
            ClientJwks::from_json(json!({"keys": []})),
            Err(JwksError::NoKeys)
        );
        assert_eq!(ClientJwks::parse("[]"), Err(JwksError::NotAJwks));
        assert_eq!(
            ClientJwks::from_json(json!({"keys": [r.public.clone(), r.public.clone()]})),
            Err(JwksError::DuplicateKid)
        );
        let many: Vec<Value> = (0..11).map(|_| e.public.clone()).collect();
        assert_eq!(
            ClientJwks::from_json(json!({ "keys": many })),
            Err(JwksError::TooManyKeys)
        );
        let jwks = jwks(&[&r, &e]);
        assert!(jwks.has_kid("e1") && !jwks.has_kid("x"));
        assert_eq!(ClientJwks::parse(&jwks.json().to_string()), Ok(jwks));
    }

    #[test]
    fn jwks_uris_are_https_or_loopback_http() {
        for uri in [
            "https://app.example/jwks.json",
            "http://127.0.0.1:8123/jwks",
            "http://[::1]/j",
            "http://localhost:1/j",
        ] {
            assert_eq!(check_jwks_uri(uri), Ok(()), "{uri}");
        }
        for uri in [
            "http://app.example/jwks",
            "https://u@app.example/j",
            "https://app.example/j#x",
            "ftp://x/j",
            "/jwks",
            "https://a b",
        ] {
            assert!(check_jwks_uri(uri).is_err(), "{uri}");
        }
    }
}
