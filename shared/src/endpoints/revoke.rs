//! `POST /oauth/revoke` (RFC 7009): a client revokes its own refresh token (the whole
//! family) or access token (its `jti` deny-listed until it would expire).

use super::storage_failure;
use super::token::authenticated_request;
use crate::cache::WarmCache;
use crate::config::Config;
use crate::http::{no_store, oauth_error, HttpRequest, HttpResponse};
use crate::secret::Secret;
use crate::store::{ClientStore, KeyStore, RefreshTokenStore, RevocationStore};
use crate::tokens::{looks_like_jwt, verify_access_token};
use http::StatusCode;

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
    let Some(token) = params.get("token") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "token is required",
        );
    };
    // RFC 7009 2.2: unknown, invalid, expired, foreign or already revoked tokens all get 200,
    // which tells a caller nothing about tokens that are not its own.
    if looks_like_jwt(token) {
        let keys = match store.list_keys(false).await {
            Ok(keys) => keys,
            Err(error) => return storage_failure("listing keys failed", error),
        };
        if let Some(claims) =
            verify_access_token(config, &keys, token).filter(|c| c.client_id == client.client_id)
        {
            if let Err(error) = store.revoke_jti(&claims.jti, claims.exp).await {
                return storage_failure("revoking an access token failed", error);
            }
            tracing::info!(client_id = %client.client_id, jti = %claims.jti, "access token revoked");
        }
    } else {
        match store.get_refresh_token(&Secret::new(token).hash()).await {
            Ok(Some(refresh)) if refresh.client_id == client.client_id => {
                if let Err(error) = store.revoke_family(&refresh.family_id).await {
                    return storage_failure("revoking a refresh token family failed", error);
                }
                tracing::info!(client_id = %client.client_id, "refresh token family revoked");
            }
            Ok(_) => {}
            Err(error) => return storage_failure("reading a refresh token failed", error),
        }
    }
    no_store(http::Response::new(String::new()))
}
