//! Client authentication at the token endpoint (RFC 6749 2.3.1): `client_secret_basic`,
//! `client_secret_post`, `private_key_jwt` (RFC 7523 2.2, OpenID Connect Core 9:
//! `client_assertion`) and `none` for public clients. Secrets are compared as SHA-256
//! hashes in constant time; assertions are verified by `client_assertion` and their `jti`
//! used once (`JtiStore`). A client authenticates only with the method it registered. A
//! client id that no registration could have produced (`ids::is_client_id`) fails like an
//! unknown one, without a lookup.

use crate::app::App;
use crate::client_assertion::{self, AssertionError, Expected, CLIENT_ASSERTION_TYPE};
use crate::http::{HttpRequest, Params};
use crate::ids;
use crate::metrics::{self, Event};
use crate::model::{Client, ClientCredential, ClientKeys, ClientType};
use crate::secret::{now, ClientSecret};
use crate::store::keys::client_assertion_key;
use crate::store::{ClientAuthStore, StoreError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode_str;

#[derive(Debug)]
pub enum ClientAuthError {
    /// Malformed or ambiguous credentials: `invalid_request`.
    Malformed(&'static str),
    /// Unknown client or wrong secret: `401 invalid_client`.
    Failed {
        used_basic: bool,
    },
    Storage(StoreError),
}

struct Presented {
    client_id: String,
    credential: Credential,
    used_basic: bool,
}

enum Credential {
    None,
    Secret(ClientSecret),
    /// A `client_assertion` of type `CLIENT_ASSERTION_TYPE`, not verified yet.
    Assertion(String),
}

/// What an `Authorization` header value says as HTTP Basic client authentication.
#[derive(Debug, PartialEq, Eq)]
pub enum Basic {
    /// Another scheme, or none.
    NotBasic,
    /// The Basic scheme with a value that does not decode: an attempt at Basic all the same.
    Malformed,
    Credentials {
        client_id: String,
        secret: String,
    },
}

/// Decodes an `Authorization` value as Basic client credentials (RFC 6749 2.3.1: the id and
/// the secret are each form-urlencoded, joined by `:`, then base64-encoded).
pub fn basic(value: &str) -> Basic {
    // Any Basic header is an attempt at Basic, even an empty one: it gets the challenge.
    if !value
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic"))
    {
        return Basic::NotBasic;
    }
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .ok()
    };
    let credentials = STANDARD
        .decode(value.get(5..).unwrap_or("").trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|decoded| {
            let (id, secret) = decoded.split_once(':')?;
            Some((decode(id)?, decode(secret)?))
        });
    match credentials {
        Some((client_id, secret)) => Basic::Credentials { client_id, secret },
        None => Basic::Malformed,
    }
}

fn presented(request: &HttpRequest, params: &Params) -> Result<Presented, ClientAuthError> {
    if params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some() {
        return presented_assertion(request, params);
    }
    let basic = match request
        .header("authorization")
        .map_or(Basic::NotBasic, basic)
    {
        Basic::NotBasic => None,
        Basic::Malformed => return Err(ClientAuthError::Failed { used_basic: true }),
        Basic::Credentials { client_id, secret } => Some((client_id, secret)),
    };
    match basic {
        Some((client_id, secret)) => {
            if params.get("client_secret").is_some() {
                return Err(ClientAuthError::Malformed(
                    "use one client authentication method, not two",
                ));
            }
            if params.get("client_id").is_some_and(|id| id != client_id) {
                return Err(ClientAuthError::Malformed(
                    "client_id differs from the Authorization header",
                ));
            }
            Ok(Presented {
                client_id,
                credential: Credential::Secret(ClientSecret::new(secret)),
                used_basic: true,
            })
        }
        None => {
            let client_id = params
                .get("client_id")
                .ok_or(ClientAuthError::Failed { used_basic: false })?;
            Ok(Presented {
                client_id: client_id.to_string(),
                credential: params
                    .get("client_secret")
                    .map_or(Credential::None, |secret| {
                        Credential::Secret(ClientSecret::new(secret))
                    }),
                used_basic: false,
            })
        }
    }
}

/// RFC 7521 4.2: `client_assertion_type` and `client_assertion`, the client named by the
/// assertion's `sub` (RFC 7523 3) and by `client_id` if sent too. Another method beside
/// them is `invalid_request` (RFC 6749 2.3: one method per request); another assertion type
/// is an unsupported method, `invalid_client` (RFC 6749 5.2).
fn presented_assertion(
    request: &HttpRequest,
    params: &Params,
) -> Result<Presented, ClientAuthError> {
    let failed = ClientAuthError::Failed { used_basic: false };
    let with_basic = request
        .header("authorization")
        .is_some_and(|value| basic(value) != Basic::NotBasic);
    if with_basic || params.get("client_secret").is_some() {
        return Err(ClientAuthError::Malformed(
            "use one client authentication method, not two",
        ));
    }
    let (Some(assertion_type), Some(assertion)) = (
        params.get("client_assertion_type"),
        params.get("client_assertion"),
    ) else {
        return Err(ClientAuthError::Malformed(
            "client_assertion and client_assertion_type go together",
        ));
    };
    if assertion_type != CLIENT_ASSERTION_TYPE {
        metrics::count(Event::ClientAuthFailed);
        return Err(failed);
    }
    let Ok(client_id) = client_assertion::claimed_client_id(assertion) else {
        metrics::count(Event::ClientAuthFailed);
        return Err(failed);
    };
    if params.get("client_id").is_some_and(|id| id != client_id) {
        metrics::count(Event::ClientAuthFailed);
        return Err(failed);
    }
    Ok(Presented {
        client_id,
        credential: Credential::Assertion(assertion.to_string()),
        used_basic: false,
    })
}

/// The authenticated client, or why not.
pub async fn authenticate<S: ClientAuthStore>(
    app: &App<S>,
    request: &HttpRequest,
    params: &Params,
) -> Result<Client, ClientAuthError> {
    let presented = presented(request, params)?;
    let failed = ClientAuthError::Failed {
        used_basic: presented.used_basic,
    };
    // Empty (`Basic Og==`), oversized or outside the alphabet: no such client can exist, and
    // DynamoDB would refuse some of these as keys.
    if !ids::is_client_id(&presented.client_id) {
        metrics::count(Event::ClientAuthFailed);
        return Err(failed);
    }
    let Some(client) = app
        .cache
        .clients
        .get(&app.store, &presented.client_id)
        .await
        .map_err(ClientAuthError::Storage)?
    else {
        metrics::count(Event::ClientAuthFailed);
        return Err(failed);
    };
    // Only the registered method: a private_key_jwt client's secret (it has none) or a
    // secret client's assertion fails like a wrong secret.
    let ok = match (client.client_type(), &presented.credential) {
        (
            ClientType::Confidential {
                credential: ClientCredential::Secret { hash },
                ..
            },
            Credential::Secret(secret),
        ) => secret.verify(hash),
        (
            ClientType::Confidential {
                credential: ClientCredential::PrivateKeyJwt(keys),
                ..
            },
            Credential::Assertion(assertion),
        ) => match assertion_accepted(app, request, &client, keys, assertion).await {
            Ok(()) => true,
            Err(AssertionRefused::Storage(error)) => return Err(ClientAuthError::Storage(error)),
            Err(AssertionRefused::Rule(reason)) => {
                tracing::warn!(client_id = %client.client_id(), reason = reason.as_str(), "client assertion refused");
                false
            }
            Err(AssertionRefused::Keys(why)) => {
                tracing::warn!(client_id = %client.client_id(), error = %why, "client keys unavailable");
                false
            }
        },
        (ClientType::Public, Credential::None) => true,
        _ => false,
    };
    if ok {
        Ok(client)
    } else {
        // For alerting; the id is a registered one (an unknown "id" might be a pasted secret).
        tracing::warn!(client_id = %client.client_id(), "client authentication failed");
        metrics::count(Event::ClientAuthFailed);
        Err(ClientAuthError::Failed {
            used_basic: presented.used_basic,
        })
    }
}

enum AssertionRefused {
    Rule(AssertionError),
    /// The client's `jwks_uri` did not answer with a valid JWKS.
    Keys(crate::jwks_fetch::FetchError),
    Storage(StoreError),
}

/// Verifies the assertion with the client's keys, then uses its `jti` once.
async fn assertion_accepted<S: ClientAuthStore>(
    app: &App<S>,
    request: &HttpRequest,
    client: &Client,
    keys: &ClientKeys,
    assertion: &str,
) -> Result<(), AssertionRefused> {
    let fetched;
    let jwks = match keys {
        ClientKeys::Jwks(jwks) => jwks,
        ClientKeys::JwksUri(uri) => {
            let kid = jsonwebtoken::decode_header(assertion)
                .ok()
                .and_then(|header| header.kid);
            fetched = app
                .cache
                .jwks
                .get(uri, kid.as_deref())
                .await
                .map_err(AssertionRefused::Keys)?;
            &fetched
        }
    };
    // RFC 7523 3: the token endpoint URL (OpenID Connect Core 9), the issuer (RFC 7523, RFC
    // 8414), or the endpoint the assertion was sent to (what some libraries put in `aud` at
    // revoke and introspect).
    let config = &app.config;
    let mut audiences = vec![config.issuer.clone(), config.endpoint("/oauth/token")];
    if matches!(request.path.as_str(), "/oauth/revoke" | "/oauth/introspect") {
        audiences.push(config.endpoint(&request.path));
    }
    let verified = client_assertion::verify(
        assertion,
        jwks,
        &Expected {
            client_id: client.client_id(),
            audiences: &audiences,
            now: now(),
        },
    )
    .map_err(AssertionRefused::Rule)?;
    let key = client_assertion_key(client.client_id(), &verified.jti);
    match app.store.use_once(&key, verified.replay_until).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(AssertionRefused::Rule(AssertionError::Replayed)),
        Err(StoreError::InvalidKey) => Err(AssertionRefused::Rule(AssertionError::JtiTooLong)),
        Err(error) => Err(AssertionRefused::Storage(error)),
    }
}
