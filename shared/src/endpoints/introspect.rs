//! `POST /oauth/introspect` (RFC 7662): for authenticated clients, whether a token
//! is active and what it grants. A client sees its own tokens; a resource server (an
//! API registered with `authctl client create --resource-server`) also sees access
//! tokens issued to other clients. Every other token is reported inactive.

use super::storage_failure;
use super::token::authenticated_request;
use crate::cache::WarmCache;
use crate::config::Config;
use crate::http::{json, no_store, oauth_error, HttpRequest, HttpResponse};
use crate::model::{scope_string, ClientKind};
use crate::secret::{now, Secret};
use crate::store::{ClientStore, KeyStore, RefreshTokenStore, RevocationStore};
use crate::tokens::{looks_like_jwt, verify_access_token, AccessTokenClaims};
use http::StatusCode;
use serde::Serialize;

#[derive(Serialize, Default)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
}

pub async fn handle<S>(
    store: &S,
    config: &Config,
    cache: &WarmCache,
    request: &HttpRequest,
) -> HttpResponse
where
    S: ClientStore + KeyStore + RefreshTokenStore + RevocationStore,
{
    let (client, params) = match authenticated_request(store, &cache.clients, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if client.kind == ClientKind::Public {
        // Introspection is for resource servers, which can keep a secret.
        return super::token::invalid_client(false);
    }
    let Some(token) = params.get("token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    let t = now();
    let answer = if looks_like_jwt(token) {
        let keys = match store.list_keys(false).await {
            Ok(keys) => keys,
            Err(error) => return storage_failure("listing keys failed", error),
        };
        let visible = |claims: &AccessTokenClaims| {
            client.resource_server || claims.client_id == client.client_id
        };
        match verify_access_token(config, &keys, token).filter(visible) {
            Some(claims) => match store.is_jti_revoked(&claims.jti, t).await {
                Ok(true) => Introspection::default(),
                Ok(false) => Introspection {
                    active: true,
                    scope: Some(claims.scope),
                    client_id: Some(claims.client_id),
                    sub: Some(claims.sub),
                    exp: Some(claims.exp),
                    iat: Some(claims.iat),
                    token_type: Some("Bearer"),
                    iss: Some(claims.iss),
                    aud: Some(claims.aud),
                    jti: Some(claims.jti),
                },
                Err(error) => return storage_failure("reading the deny-list failed", error),
            },
            None => Introspection::default(),
        }
    } else {
        let refresh = match store.get_refresh_token(&Secret::new(token).hash()).await {
            Ok(refresh) => refresh,
            Err(error) => return storage_failure("reading a refresh token failed", error),
        };
        // Refresh tokens only ever reach the client they were issued to: no resource server
        // has a reason to hold one of another client's.
        match refresh {
            Some(r)
                if r.client_id == client.client_id
                    && r.used_at.is_none()
                    && !r.revoked
                    && r.expires_at > t =>
            {
                match store.get_family(&r.family_id).await {
                    Ok(Some(family)) if !family.revoked && family.expires_at > t => Introspection {
                        active: true,
                        scope: Some(scope_string(&r.scopes)),
                        client_id: Some(r.client_id),
                        sub: Some(r.sub),
                        exp: Some(r.expires_at),
                        iat: Some(r.issued_at),
                        token_type: Some("refresh_token"),
                        iss: Some(config.issuer.clone()),
                        ..Introspection::default()
                    },
                    Ok(_) => Introspection::default(),
                    Err(error) => return storage_failure("reading a token family failed", error),
                }
            }
            _ => Introspection::default(),
        }
    };
    no_store(json(StatusCode::OK, &answer))
}
