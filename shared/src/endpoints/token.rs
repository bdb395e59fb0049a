//! `POST /oauth/token`: redeems an authorization code for an access token.

use super::storage_failure;
use crate::client_auth::{authenticate, ClientAuthError};
use crate::config::Config;
use crate::http::{json, no_store, oauth_error, HttpRequest, HttpResponse};
use crate::model::{scope_string, Client, ClientKind, Grant, GrantType};
use crate::pkce;
use crate::secret::{now, Secret};
use crate::store::{ClientStore, CodeStore, KeyStore, Redemption, RevocationStore};
use crate::tokens::{new_jti, AccessTokenClaims, SignerCache};
use http::header::HeaderValue;
use http::{Method, StatusCode};
use serde::Serialize;

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
}

fn invalid_request(description: &str) -> HttpResponse {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn invalid_grant(description: &str) -> HttpResponse {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

pub async fn handle<S>(
    store: &S,
    config: &Config,
    signers: &SignerCache,
    request: &HttpRequest,
) -> HttpResponse
where
    S: ClientStore + CodeStore + KeyStore + RevocationStore,
{
    if request.method != Method::POST {
        return oauth_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "use POST",
        );
    }
    let params = match request.form_params() {
        Ok(params) => params,
        Err(error) => return invalid_request(&error.description()),
    };
    if let Some(name) = params.first_repeated() {
        return invalid_request(&format!("the parameter {name} is repeated"));
    }
    let grant_type = match params.get("grant_type") {
        Some(value) => GrantType::parse(value),
        None => return invalid_request("grant_type is required"),
    };
    let client = match authenticate(store, request, &params).await {
        Ok(found) => found,
        Err(ClientAuthError::Malformed(description)) => return invalid_request(description),
        Err(ClientAuthError::Failed { used_basic }) => return invalid_client(used_basic),
        Err(ClientAuthError::Storage(error)) => {
            return storage_failure("reading the client failed", error)
        }
    };
    let Some(grant_type) = grant_type else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code",
        );
    };
    if !client.allows_grant(grant_type) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "this client may not use this grant type",
        );
    }
    match grant_type {
        GrantType::AuthorizationCode => redeem_code(store, config, signers, &client, &params).await,
        GrantType::RefreshToken => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "refresh tokens are not issued by this server yet",
        ),
    }
}

/// `401 invalid_client`, with a challenge when the client tried HTTP Basic (RFC 6749 5.2).
fn invalid_client(used_basic: bool) -> HttpResponse {
    let mut response = oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    if used_basic {
        response.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static(r#"Basic realm="oauth", charset="UTF-8""#),
        );
    }
    response
}

async fn redeem_code<S>(
    store: &S,
    config: &Config,
    signers: &SignerCache,
    client: &Client,
    params: &crate::http::Params,
) -> HttpResponse
where
    S: CodeStore + KeyStore + RevocationStore,
{
    let Some(code) = params.get("code") else {
        return invalid_request("code is required");
    };
    if let Some(verifier) = params.get("code_verifier") {
        if !pkce::is_well_formed(verifier) {
            return invalid_grant(
                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
            );
        }
    }
    // The signer is loaded before the code is spent, so a missing key costs no code.
    let signer = match signers.current(store).await {
        Ok(signer) => signer,
        Err(error) => {
            tracing::error!(error = %error, "no usable signing key");
            return crate::http::server_error_json();
        }
    };
    let jti = new_jti();
    let t = now();
    let grant = match store
        .redeem_code(&Secret::new(code).hash(), t, &jti, None)
        .await
    {
        Ok(Redemption::Redeemed(grant)) => grant,
        Ok(Redemption::Replayed(grant)) => return replayed(store, config, &grant).await,
        Ok(Redemption::Invalid) => return invalid_grant("the code is invalid or expired"),
        Err(error) => return storage_failure("redeeming the code failed", error),
    };
    if let Err(description) = check_binding(&grant, client, params) {
        // The code is spent either way: a failed binding check is treated as an attack on it.
        tracing::warn!(client_id = %client.client_id, reason = description, "code binding check failed");
        return invalid_grant(description);
    }
    let claims = AccessTokenClaims::new(config, &grant.sub, &client.client_id, &grant.scopes, jti);
    let access_token = match signer.sign(&claims) {
        Ok(token) => token,
        Err(error) => {
            tracing::error!(error = %error, "signing failed");
            return crate::http::server_error_json();
        }
    };
    tracing::info!(client_id = %client.client_id, jti = %claims.jti, "access token issued");
    no_store(json(
        StatusCode::OK,
        &TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: config.access_token_ttl_seconds,
            scope: scope_string(&grant.scopes),
        },
    ))
}

/// RFC 6749 4.1.3 and RFC 7636 4.6: the code's client, redirect URI and PKCE challenge.
fn check_binding(
    grant: &Grant,
    client: &Client,
    params: &crate::http::Params,
) -> Result<(), &'static str> {
    if grant.client_id != client.client_id {
        return Err("the code was issued to another client");
    }
    if grant.redirect_uri.as_deref() != params.get("redirect_uri") {
        return Err("redirect_uri does not match the authorization request");
    }
    match (&grant.pkce, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce::verify(challenge, verifier) => Ok(()),
        (Some(_), Some(_)) => Err("code_verifier does not match the code_challenge"),
        (Some(_), None) => Err("code_verifier is required"),
        // RFC 9700 4.8.2: a verifier for a code issued without a challenge is a downgrade attempt.
        (None, Some(_)) => Err("the code was issued without a code_challenge"),
        (None, None) if client.kind == ClientKind::Public => Err("public clients must use PKCE"),
        (None, None) => Ok(()),
    }
}

/// A second redemption: refuse it and revoke what the first one issued (RFC 6749 4.1.2).
async fn replayed<S: RevocationStore>(store: &S, config: &Config, grant: &Grant) -> HttpResponse {
    tracing::warn!(client_id = %grant.client_id, "authorization code replayed: revoking its tokens");
    if let Some(jti) = &grant.issued_jti {
        let until = grant.redeemed_at.unwrap_or_else(now) + config.access_token_ttl_seconds;
        if let Err(error) = store.revoke_jti(jti, until).await {
            return storage_failure("revoking the replayed code's token failed", error);
        }
    }
    invalid_grant("the code was already used")
}
