//! The `id_token_hint` of sign-out (OpenID Connect RP-Initiated Logout 1.0, section 2): an ID
//! token this server issued to the relying party, sent back to say who is signing out and
//! from which app. It is checked as an ID token is (RS256 by a published key, `iss` this
//! server, `aud` naming the client), except its expiry: the RP-Initiated Logout spec asks the
//! OP to accept an expired hint, since apps often sign out long after the token expired.
//! A hint only ever decides whether to skip the confirmation page: the session it names
//! (`sid`) or its user (`sub`) must be the browser's own.

use crate::config::Config;
use crate::store::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// What a valid hint tells: whose token it was, for which clients, and which session
/// approved it (`session::sid`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdTokenHint {
    pub sub: String,
    /// Every audience of the token (ours name one client; a list is accepted as JWT allows).
    pub aud: Vec<String>,
    pub sid: Option<String>,
}

impl IdTokenHint {
    /// The client the hint was issued to, when it names exactly one (or its `azp` decided).
    pub fn client_id(&self) -> Option<&str> {
        match self.aud.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }
}

/// Why a hint is refused. Nothing of the token is carried: the answer is a fixed page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HintError {
    /// Not a JWT we could have issued: unreadable, another algorithm, an access token's `typ`.
    Malformed,
    /// No published key has its `kid`.
    UnknownKey,
    /// The signature, `iss` or a required claim is wrong.
    Invalid,
    /// The client the request names is not among its audiences.
    OtherClient,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct HintClaims {
    sub: String,
    aud: Audience,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    sid: Option<String>,
}

/// Verifies `token` against the published `keys`; `client_id` is the request's own, when it
/// sent one: the hint must have been issued to that client.
pub fn verify(
    config: &Config,
    keys: &[SigningKey],
    token: &str,
    client_id: Option<&str>,
) -> Result<IdTokenHint, HintError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| HintError::Malformed)?;
    // An ID token is `JWT` (or untyped); an access token (`at+jwt`) is no hint.
    let typ_ok = header
        .typ
        .as_deref()
        .is_none_or(|typ| typ.eq_ignore_ascii_case("JWT"));
    if header.alg != Algorithm::RS256 || !typ_ok {
        return Err(HintError::Malformed);
    }
    let kid = header.kid.ok_or(HintError::UnknownKey)?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or(HintError::UnknownKey)?;
    let decoding_key =
        DecodingKey::from_rsa_components(&key.n, &key.e).map_err(|_| HintError::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&config.issuer]);
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    // RP-Initiated Logout 1.0 section 2: an expired hint is still a hint.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    // The audience is the client, judged below against the request's.
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<HintClaims>(token, &decoding_key, &validation)
        .map_err(|_| HintError::Invalid)?
        .claims;
    let mut aud = match claims.aud {
        Audience::One(one) => vec![one],
        Audience::Many(many) => many,
    };
    if aud.is_empty() || claims.sub.is_empty() {
        return Err(HintError::Invalid);
    }
    // With several audiences, the authorized party is the client (OpenID Connect Core 2).
    if aud.len() > 1 {
        if let Some(azp) = claims.azp.filter(|azp| aud.contains(azp)) {
            aud.retain(|a| *a == azp);
        }
    }
    if let Some(client_id) = client_id {
        if !aud.iter().any(|a| a == client_id) {
            return Err(HintError::OtherClient);
        }
        aud.retain(|a| a == client_id);
    }
    Ok(IdTokenHint {
        sub: claims.sub,
        aud,
        sid: claims.sid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate_signing_key;
    use crate::secret::now;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{json, Value};

    fn key() -> SigningKey {
        match generate_signing_key() {
            Ok(key) => key,
            Err(error) => panic!("key generation failed: {error}"),
        }
    }

    fn sign(key: &SigningKey, typ: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some(typ.into());
        header.kid = Some(key.kid.clone());
        let pem = key.private_pem.as_ref().map(|p| p.expose().to_string());
        let Ok(encoding_key) = EncodingKey::from_rsa_pem(pem.unwrap_or_default().as_bytes()) else {
            panic!("unreadable PEM")
        };
        match jsonwebtoken::encode(&header, claims, &encoding_key) {
            Ok(token) => token,
            Err(error) => panic!("signing failed: {error}"),
        }
    }

    fn claims(config: &Config, aud: Value, exp: i64) -> Value {
        json!({"iss": config.issuer, "sub": "sub-1", "aud": aud, "exp": exp, "iat": exp - 300,
               "auth_time": exp - 300, "sid": "sid-1", "at_hash": "x"})
    }

    #[test]
    fn hints_are_verified_without_their_expiry() {
        let config = Config::for_tests();
        let key = key();
        let public = [key.public_half()];
        let expired = sign(&key, "JWT", &claims(&config, json!("app"), now() - 3600));
        let expected = IdTokenHint {
            sub: "sub-1".into(),
            aud: vec!["app".into()],
            sid: Some("sid-1".into()),
        };
        assert_eq!(
            verify(&config, &public, &expired, None),
            Ok(expected.clone())
        );
        assert_eq!(
            verify(&config, &public, &expired, Some("app")),
            Ok(expected)
        );
        assert_eq!(
            verify(&config, &public, &expired, Some("other")),
            Err(HintError::OtherClient)
        );
        let several = sign(
            &key,
            "JWT",
            &json!({"iss": config.issuer, "sub": "sub-1", "aud": ["app", "api"], "azp": "app"}),
        );
        assert_eq!(
            verify(&config, &public, &several, None).map(|h| h.aud),
            Ok(vec!["app".to_string()])
        );
    }

    #[test]
    fn what_is_no_hint_of_ours_is_refused() {
        let config = Config::for_tests();
        let key = key();
        let public = [key.public_half()];
        let live = now() + 600;
        let mut other_issuer = claims(&config, json!("app"), live);
        other_issuer["iss"] = json!("https://evil.example");
        let mut no_sub = claims(&config, json!("app"), live);
        no_sub["sub"] = json!("");
        let access_token = sign(&key, "at+jwt", &claims(&config, json!("app"), live));
        let stranger = key_signed_elsewhere(&config);
        let good = sign(&key, "JWT", &claims(&config, json!("app"), live));
        let mut tampered: Vec<&str> = good.split('.').collect();
        let other_payload = sign(&key, "JWT", &claims(&config, json!("spy"), live));
        tampered[1] = other_payload.split('.').nth(1).unwrap_or_default();
        for (token, expected) in [
            ("not a jwt".to_string(), HintError::Malformed),
            (access_token, HintError::Malformed),
            (sign(&key, "JWT", &other_issuer), HintError::Invalid),
            (sign(&key, "JWT", &no_sub), HintError::Invalid),
            (tampered.join("."), HintError::Invalid),
            (stranger, HintError::UnknownKey),
        ] {
            assert_eq!(verify(&config, &public, &token, None), Err(expected));
        }
    }

    fn key_signed_elsewhere(config: &Config) -> String {
        sign(&key(), "JWT", &claims(config, json!("app"), now() + 600))
    }
}
