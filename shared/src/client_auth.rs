//! Client authentication at the token endpoint (RFC 6749 2.3.1): `client_secret_basic`,
//! `client_secret_post`, and `none` for public clients. Secrets are compared as
//! SHA-256 hashes in constant time. A client id that no registration could have
//! produced (`ids::is_client_id`) fails like an unknown one, without a lookup.

use crate::cache::ClientCache;
use crate::http::{HttpRequest, Params};
use crate::ids;
use crate::metrics::{self, Event};
use crate::model::{Client, ClientType};
use crate::secret::ClientSecret;
use crate::store::{ClientReader, StoreError};
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
    secret: Option<ClientSecret>,
    used_basic: bool,
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
                secret: Some(ClientSecret::new(secret)),
                used_basic: true,
            })
        }
        None => {
            let client_id = params
                .get("client_id")
                .ok_or(ClientAuthError::Failed { used_basic: false })?;
            Ok(Presented {
                client_id: client_id.to_string(),
                secret: params.get("client_secret").map(ClientSecret::new),
                used_basic: false,
            })
        }
    }
}

/// The authenticated client, or why not.
pub async fn authenticate<S: ClientReader>(
    store: &S,
    clients: &ClientCache,
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
    let Some(client) = clients
        .get(store, &presented.client_id)
        .await
        .map_err(ClientAuthError::Storage)?
    else {
        metrics::count(Event::ClientAuthFailed);
        return Err(failed);
    };
    let ok = match (client.client_type(), &presented.secret) {
        (ClientType::Confidential { secret_hash, .. }, Some(secret)) => secret.verify(secret_hash),
        (ClientType::Public, None) => true,
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
