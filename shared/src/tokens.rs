//! Access tokens (RFC 9068 JWTs, `typ: at+jwt`) and ID tokens (OpenID Connect Core 2,
//! `typ: JWT`), signed RS256 with the current signing key, whose parsed form is cached in a
//! warm container for a short while.

use crate::config::Config;
use crate::keys::now_millis;
use crate::model::{Authentication, ScopeSet};
use crate::secret::{now, random_id};
use crate::store::{SigningKey, SigningKeyReader, StoreError};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

/// The private claim (RFC 7519 4.3) that names the grant an access token was issued under.
/// Not in IANA's JWT claims registry, and meaningful only to this server: introspection reads
/// the grant by it, so that revoking a refresh token, its reuse, a code replay or withdrawn
/// consent ends the grant's access tokens too (RFC 7009 2.1).
pub const GRANT_ID_CLAIM: &str = "gid";

/// `aud` (RFC 7519 4.1.3): one audience as a string, several as an array. An access token is
/// for the configured default audience, or for the APIs its request named (RFC 8707), with,
/// when the grant has `openid`, the UserInfo endpoint (so that the client may still call it:
/// `userinfo_audience`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// The audience of a token for these APIs (none: the default one) and, with `openid`,
    /// for UserInfo too.
    pub fn of(config: &Config, resources: &[String], openid: bool) -> Audience {
        match resources {
            [] => Audience::One(config.audience.clone()),
            [one] if !openid => Audience::One(one.clone()),
            many => {
                let mut values = many.to_vec();
                if openid {
                    values.push(userinfo_audience(config));
                }
                Audience::Many(values)
            }
        }
    }

    pub fn values(&self) -> &[String] {
        match self {
            Audience::One(one) => std::slice::from_ref(one),
            Audience::Many(many) => many,
        }
    }

    pub fn contains(&self, value: &str) -> bool {
        self.values().iter().any(|v| v == value)
    }
}

impl From<&str> for Audience {
    fn from(value: &str) -> Self {
        Audience::One(value.to_string())
    }
}

impl From<String> for Audience {
    fn from(value: String) -> Self {
        Audience::One(value)
    }
}

/// The audience that lets a token for APIs also reach UserInfo: its URL, which no API uses
/// as its own (as Auth0 adds its `/userinfo` audience to API tokens with `openid`).
pub fn userinfo_audience(config: &Config) -> String {
    config.endpoint("/oauth/userinfo")
}

/// RFC 9068 2.2 claims, and the grant's id.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// `GRANT_ID_CLAIM`: the grant (`model::TokenFamily`) the token was issued under, which
    /// revocation ends. Only a client's own token (the client credentials grant: `sub` is the
    /// client) has none; any other token without one does not verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
}

impl AccessTokenClaims {
    /// Claims of a token issued at `iat`: the same instant a code redemption records, so
    /// that a replay deny-lists the `jti` until exactly the token's `exp`.
    pub fn new(
        config: &Config,
        sub: &str,
        client_id: &str,
        scopes: &ScopeSet,
        jti: String,
        iat: i64,
        grant_id: &str,
    ) -> Self {
        AccessTokenClaims {
            iss: config.issuer.clone(),
            sub: sub.to_string(),
            aud: Audience::One(config.audience.clone()),
            client_id: client_id.to_string(),
            scope: scopes.to_string(),
            iat,
            exp: iat + config.access_token_ttl_seconds,
            jti,
            gid: Some(grant_id.to_string()),
        }
    }

    /// Claims of a client's own token (RFC 6749 4.4, RFC 9068 2.2): no user, so `sub` is the
    /// `client_id`, and no grant.
    pub fn for_client(
        config: &Config,
        client_id: &str,
        scopes: &ScopeSet,
        jti: String,
        iat: i64,
    ) -> Self {
        AccessTokenClaims {
            gid: None,
            ..AccessTokenClaims::new(config, client_id, client_id, scopes, jti, iat, "")
        }
    }

    /// Whether the token stands for the client itself (client credentials), not for a user.
    pub fn is_clients_own(&self) -> bool {
        self.gid.is_none()
    }
}

/// The claims of an ID token (OpenID Connect Core 2, 3.1.3.6), for the authorization code
/// flow: who signed in, when and in which session, for which client. No profile or email
/// claims: a client of the code flow can call UserInfo, where they belong (Core 5.4).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The client, alone: no `azp`, which a single audience does not need (Core 2). Never the
    /// API's audience, so that an ID token is no access token for an API (API Gateway's JWT
    /// authorizer checks `aud`).
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    /// Seconds since the Unix epoch when the user entered their password. Always present
    /// (required after `max_age`, allowed otherwise); absent only for a grant from before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// The authorization request's, at code redemption only (never on a refresh, Core 12.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The left half of the SHA-256 of the access token issued with it, base64url (Core 3.1.3.6).
    pub at_hash: String,
    /// The session the user approved in (`session::sid`), for sign-out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl IdTokenClaims {
    /// Claims of an ID token issued at `iat` beside `access_token`.
    pub fn new(
        config: &Config,
        sub: &str,
        client_id: &str,
        iat: i64,
        authentication: Option<&Authentication>,
        nonce: Option<&str>,
        access_token: &str,
    ) -> Self {
        IdTokenClaims {
            iss: config.issuer.clone(),
            sub: sub.to_string(),
            aud: client_id.to_string(),
            exp: iat + config.id_token_ttl_seconds,
            iat,
            auth_time: authentication.map(|a| a.auth_time),
            nonce: nonce.map(str::to_string),
            at_hash: at_hash(access_token),
            sid: authentication.map(|a| a.sid.clone()),
        }
    }
}

/// OpenID Connect Core 3.1.3.6: the left-most 128 bits of the SHA-256 (the hash of RS256) of
/// the ASCII access token, base64url without padding.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// A fresh `jti`.
pub fn new_jti() -> String {
    random_id()
}

/// Signs access and ID tokens with one key, parsed once. `jsonwebtoken::encode` parses and
/// checks the RSA key on every call, and a fresh key object also needs new blinding values (a
/// modular inverse): together twice the cost of the signature itself. Here both happen once
/// per key, and the JOSE headers, the same for every token of a kind, are encoded once too.
pub struct Signer {
    key_pair: RsaKeyPair,
    /// base64url of `{"typ":"at+jwt","alg":"RS256","kid":...}` followed by the `.`.
    access_header: String,
    /// base64url of `{"typ":"JWT","alg":"RS256","kid":...}` followed by the `.`: an ID token
    /// is told apart from an access token by its `typ` (RFC 9068 2.1) as well as its `aud`.
    id_header: String,
}

/// The first segment of a compact JWS with this `typ`, and the `.` after it.
fn header_segment(typ: &str, kid: &str) -> Result<String, SignerError> {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some(typ.into());
    header.kid = Some(kid.to_string());
    let header_json =
        serde_json::to_vec(&header).map_err(|e| SignerError::InvalidKey(e.to_string()))?;
    let mut segment = URL_SAFE_NO_PAD.encode(header_json);
    segment.push('.');
    Ok(segment)
}

#[derive(Debug)]
pub enum SignerError {
    /// No signing key exists yet: the operator must run `authctl keys rotate`.
    NoKey,
    InvalidKey(String),
    Storage(StoreError),
}

impl std::fmt::Display for SignerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignerError::NoKey => f.write_str("no signing key: run `authctl keys rotate`"),
            SignerError::InvalidKey(why) => write!(f, "the signing key is unusable: {why}"),
            SignerError::Storage(error) => write!(f, "{error}"),
        }
    }
}

impl Signer {
    pub fn from_key(key: &SigningKey) -> Result<Self, SignerError> {
        let pem = key
            .private_pem
            .as_ref()
            .ok_or(SignerError::InvalidKey("no private key".into()))?;
        // jsonwebtoken reads the PEM (PKCS#8 or PKCS#1) into the RSAPrivateKey DER that
        // aws-lc parses; the key pair is then kept for every signature.
        let der = EncodingKey::from_rsa_pem(pem.expose().as_bytes())
            .map_err(|e| SignerError::InvalidKey(e.to_string()))?;
        let key_pair = RsaKeyPair::from_der(der.as_bytes())
            .map_err(|e| SignerError::InvalidKey(e.to_string()))?;
        Ok(Signer {
            key_pair,
            access_header: header_segment("at+jwt", &key.kid)?,
            id_header: header_segment("JWT", &key.kid)?,
        })
    }

    /// The access token: a compact JWS (RFC 7515 7.1) of type `at+jwt`.
    pub fn sign(&self, claims: &AccessTokenClaims) -> Result<String, SignerError> {
        self.sign_with(&self.access_header, claims)
    }

    /// The ID token: a compact JWS of type `JWT`.
    pub fn sign_id_token(&self, claims: &IdTokenClaims) -> Result<String, SignerError> {
        self.sign_with(&self.id_header, claims)
    }

    /// Header, claims and RS256 signature, base64url.
    fn sign_with(&self, header: &str, claims: &impl Serialize) -> Result<String, SignerError> {
        let claims_json =
            serde_json::to_vec(claims).map_err(|e| SignerError::InvalidKey(e.to_string()))?;
        let mut token = header.to_string();
        URL_SAFE_NO_PAD.encode_string(claims_json, &mut token);
        let mut signature = vec![0; self.key_pair.public_modulus_len()];
        // PKCS#1 v1.5 signatures are deterministic; the generator is part of the API only.
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|e| SignerError::InvalidKey(e.to_string()))?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }
}

// The key lifecycle decides which key signs and for how long a warm container may keep it;
// both stay reachable here, where the token function has always found them.
pub use crate::keys::lifecycle::{signing_key, SIGNER_CACHE_SECONDS};

/// The current signer, loaded once and reused for `SIGNER_CACHE_SECONDS`: a warm
/// token request makes no key read. After `authctl keys rotate`, containers switch
/// within that time; the previous key stays published, so no token in flight breaks.
#[derive(Default)]
pub struct SignerCache {
    cached: Mutex<Option<(i64, Arc<Signer>)>>,
}

impl SignerCache {
    pub async fn current<S: SigningKeyReader>(
        &self,
        store: &S,
    ) -> Result<Arc<Signer>, SignerError> {
        let t = now();
        if let Some((loaded_at, signer)) = self.lock().as_ref() {
            if t - loaded_at < SIGNER_CACHE_SECONDS {
                return Ok(Arc::clone(signer));
            }
        }
        let keys = store
            .list_signing_keys()
            .await
            .map_err(SignerError::Storage)?;
        let signing = signing_key(&keys, now_millis()).ok_or(SignerError::NoKey)?;
        let signer = Arc::new(Signer::from_key(signing)?);
        *self.lock() = Some((t, Arc::clone(&signer)));
        Ok(signer)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(i64, Arc<Signer>)>> {
        self.cached
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Verifies one of our access tokens offline: signature by a published key (`kid`), `typ`,
/// `iss` and expiry; `aud` must be there, and is the caller's to judge. `None` for anything else.
pub fn verify_access_token(
    config: &Config,
    keys: &[SigningKey],
    token: &str,
) -> Option<AccessTokenClaims> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::RS256 || header.typ.as_deref() != Some("at+jwt") {
        return None;
    }
    let kid = header.kid?;
    let key = keys.iter().find(|k| k.kid == kid)?;
    let decoding_key = jsonwebtoken::DecodingKey::from_rsa_components(&key.n, &key.e).ok()?;
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&config.issuer]);
    // `aud` is judged by the caller: the default audience, or registered APIs
    // (`endpoints::client_request::for_our_audiences`), or UserInfo's (`Audience`).
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 0;
    jsonwebtoken::decode::<AccessTokenClaims>(token, &decoding_key, &validation)
        .ok()
        .map(|data| data.claims)
        // A user's token always names its grant: only a client's own token has none.
        .filter(|claims| claims.gid.is_some() || claims.sub == claims.client_id)
}

/// Whether a presented token has the shape of a JWT (three base64url parts), not of a refresh token.
pub fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate_signing_key;

    /// The grant's claim goes beside RFC 9068's, under its documented name.
    #[test]
    fn the_grant_id_is_a_private_claim_beside_rfc_9068s() {
        let claims = AccessTokenClaims::new(
            &Config::for_tests(),
            "sub",
            "client",
            &ScopeSet::parse("read").unwrap_or_default(),
            "jti".into(),
            1,
            "grant-1",
        );
        let json = serde_json::to_value(&claims).unwrap_or_default();
        assert_eq!(json[GRANT_ID_CLAIM], "grant-1");
        for registered in [
            "iss",
            "sub",
            "aud",
            "client_id",
            "scope",
            "iat",
            "exp",
            "jti",
        ] {
            assert!(json.get(registered).is_some(), "{registered}");
            assert_ne!(registered, GRANT_ID_CLAIM);
        }
    }

    /// A client's own token (client credentials) has no grant; a user's token without one is
    /// no token of ours.
    #[test]
    fn only_a_clients_own_token_verifies_without_a_grant() {
        let Ok(key) = generate_signing_key() else {
            panic!("key generation failed")
        };
        let Ok(signer) = Signer::from_key(&key) else {
            panic!("unusable key")
        };
        let config = Config::for_tests();
        let read = ScopeSet::parse("read").unwrap_or_default();
        let own = AccessTokenClaims::for_client(&config, "machine", &read, new_jti(), now());
        let users = AccessTokenClaims {
            sub: "user-sub".into(),
            ..AccessTokenClaims::for_client(&config, "machine", &read, new_jti(), now())
        };
        let verifies = |claims: &AccessTokenClaims| {
            let token = signer.sign(claims).unwrap_or_default();
            verify_access_token(&config, std::slice::from_ref(&key), &token).is_some()
        };
        assert!(verifies(&own));
        assert!(!verifies(&users));
        let json = serde_json::to_value(&own).unwrap_or_default();
        assert!(json.get(GRANT_ID_CLAIM).is_none(), "no empty grant claim");
    }

    #[test]
    fn signed_tokens_verify_and_tampering_is_caught() {
        let Ok(key) = generate_signing_key() else {
            panic!("key generation failed")
        };
        let Ok(signer) = Signer::from_key(&key) else {
            panic!("unusable key")
        };
        let config = Config::for_tests();
        let claims = AccessTokenClaims::new(
            &config,
            "sub",
            "client",
            &ScopeSet::parse("read").unwrap_or_default(),
            new_jti(),
            now(),
            "grant",
        );
        let Ok(token) = signer.sign(&claims) else {
            panic!("signing failed")
        };
        let public = SigningKey {
            private_pem: None,
            ..key
        };
        assert_eq!(
            verify_access_token(&config, std::slice::from_ref(&public), &token),
            Some(claims)
        );

        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        parts[1] = parts[1].replace('a', "b");
        assert_eq!(
            verify_access_token(&config, &[public], &parts.join(".")),
            None
        );
        assert!(looks_like_jwt(&token));
        assert!(!looks_like_jwt("opaque-refresh-token"));
    }

    /// Computed independently: `printf %s <token> | openssl dgst -sha256 -binary | head -c 16
    /// | base64`, made base64url without padding.
    const AT_HASH_VECTOR: &str = "tJLUIUHmjB8vJoljzDqtlA";

    #[test]
    fn at_hash_is_the_left_half_of_the_sha256_base64url() {
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNt6uiLtCbLPaGXP4NT8"),
            AT_HASH_VECTOR
        );
        assert_eq!(at_hash("a").len(), 22);
    }

    /// An ID token is a `JWT`, not an `at+jwt`: the access token verifier refuses it, and it
    /// names the client as its audience.
    #[test]
    fn id_tokens_are_typed_jwt_and_are_no_access_tokens() {
        let Ok(key) = generate_signing_key() else {
            panic!("key generation failed")
        };
        let Ok(signer) = Signer::from_key(&key) else {
            panic!("unusable key")
        };
        let config = Config::for_tests();
        let authentication = Authentication {
            auth_time: 10,
            sid: "sid".into(),
        };
        let claims = IdTokenClaims::new(
            &config,
            "sub",
            "client",
            100,
            Some(&authentication),
            Some("n-0S6_WzA2Mj"),
            "access",
        );
        assert_eq!(claims.exp, 100 + config.id_token_ttl_seconds);
        let Ok(token) = signer.sign_id_token(&claims) else {
            panic!("signing failed")
        };
        let Ok(header) = jsonwebtoken::decode_header(&token) else {
            panic!("no header")
        };
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
        let public = SigningKey {
            private_pem: None,
            ..key
        };
        assert_eq!(verify_access_token(&config, &[public], &token), None);
        let json = serde_json::to_value(&claims).unwrap_or_default();
        assert_eq!(json["aud"], "client");
        assert_eq!(json["auth_time"], 10);
        assert_eq!(json["sid"], "sid");
        assert_eq!(json["nonce"], "n-0S6_WzA2Mj");
        assert!(json.get("azp").is_none());
    }

    /// RS256 (PKCS#1 v1.5) is deterministic: the cached-key signer must produce, byte for
    /// byte, the token that `jsonwebtoken::encode` produces.
    #[test]
    fn the_cached_key_signer_matches_jsonwebtoken() {
        let Ok(key) = generate_signing_key() else {
            panic!("key generation failed")
        };
        let Ok(signer) = Signer::from_key(&key) else {
            panic!("unusable key")
        };
        let claims = AccessTokenClaims::new(
            &Config::for_tests(),
            "sub",
            "client",
            &ScopeSet::parse("read write").unwrap_or_default(),
            new_jti(),
            now(),
            "grant",
        );
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(key.kid.clone());
        let Some(pem) = key.private_pem.as_ref() else {
            panic!("no private key")
        };
        let Ok(encoding_key) = EncodingKey::from_rsa_pem(pem.expose().as_bytes()) else {
            panic!("unreadable PEM")
        };
        let Ok(expected) = jsonwebtoken::encode(&header, &claims, &encoding_key) else {
            panic!("jsonwebtoken failed")
        };
        assert_eq!(signer.sign(&claims).ok(), Some(expected));
    }
}
