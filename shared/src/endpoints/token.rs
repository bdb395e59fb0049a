//! `POST /oauth/token`: redeems an authorization code, or rotates a refresh token,
//! for an access token (and a refresh token for clients allowed that grant).

use super::storage_failure;
use crate::cache::{ClientCache, WarmCache};
use crate::client_auth::{authenticate, ClientAuthError};
use crate::config::Config;
use crate::http::{
    json, no_store, oauth_error, server_error_json, HttpRequest, HttpResponse, Params,
};
use crate::metrics::{self, Event};
use crate::model::{
    parse_scope, scope_string, Client, ClientKind, Grant, GrantType, RefreshToken, ScopeSet,
    TokenFamily,
};
use crate::pkce;
use crate::secret::{now, random_id, Secret, TOKEN_BYTES};
use crate::store::{
    ClientStore, CodeStore, KeyStore, Redemption, RefreshTokenStore, RefreshUse, RevocationStore,
};
use crate::tokens::{new_jti, AccessTokenClaims, Signer, SignerError};
use http::header::HeaderValue;
use http::{Method, StatusCode};
use serde::Serialize;
use std::sync::Arc;

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

fn invalid_request(description: &str) -> HttpResponse {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

fn invalid_grant(description: &str) -> HttpResponse {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// `401 invalid_client`, with a challenge when the client tried HTTP Basic (RFC 6749 5.2).
pub(crate) fn invalid_client(used_basic: bool) -> HttpResponse {
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

/// Parses the form and authenticates the client: the start of token, revoke and introspect.
pub(crate) async fn authenticated_request<S: ClientStore>(
    store: &S,
    clients: &ClientCache,
    request: &HttpRequest,
) -> Result<(Client, Params), HttpResponse> {
    if request.method != Method::POST {
        return Err(oauth_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "use POST",
        ));
    }
    let params = request
        .form_params()
        .map_err(|error| invalid_request(&error.description()))?;
    if let Some(name) = params.first_repeated() {
        return Err(invalid_request(&format!(
            "the parameter {name} is repeated"
        )));
    }
    match authenticate(store, clients, request, &params).await {
        Ok(client) => Ok((client, params)),
        Err(ClientAuthError::Malformed(description)) => Err(invalid_request(description)),
        Err(ClientAuthError::Failed { used_basic }) => Err(invalid_client(used_basic)),
        Err(ClientAuthError::Storage(error)) => {
            Err(storage_failure("reading the client failed", error))
        }
    }
}

pub async fn handle<S>(
    store: &S,
    config: &Config,
    cache: &WarmCache,
    request: &HttpRequest,
) -> HttpResponse
where
    S: ClientStore + CodeStore + KeyStore + RevocationStore + RefreshTokenStore,
{
    let (client, params) = match authenticated_request(store, &cache.clients, request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let grant_type = match params.get("grant_type") {
        Some(value) => GrantType::parse(value),
        None => return invalid_request("grant_type is required"),
    };
    let Some(grant_type) = grant_type else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        );
    };
    if !client.allows_grant(grant_type) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "this client may not use this grant type",
        );
    }
    // The signer is loaded before anything is spent, so a missing key costs no code or token.
    let signer = match cache.signer.current(store).await {
        Ok(signer) => signer,
        Err(SignerError::Storage(error)) => {
            return storage_failure("reading the signing keys failed", error)
        }
        Err(error) => {
            tracing::error!(error = %error, "no usable signing key");
            return server_error_json();
        }
    };
    let issuer = Issuer {
        store,
        config,
        signer,
        client: &client,
    };
    match grant_type {
        GrantType::AuthorizationCode => issuer.redeem_code(&params).await,
        GrantType::RefreshToken => issuer.refresh(&params).await,
    }
}

struct Issuer<'a, S> {
    store: &'a S,
    config: &'a Config,
    signer: Arc<Signer>,
    client: &'a Client,
}

impl<S> Issuer<'_, S>
where
    S: CodeStore + RevocationStore + RefreshTokenStore,
{
    async fn redeem_code(&self, params: &Params) -> HttpResponse {
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
        let jti = new_jti();
        let family_id = self
            .client
            .allows_grant(GrantType::RefreshToken)
            .then(random_id);
        let t = now();
        let redemption = self
            .store
            .redeem_code(&Secret::new(code).hash(), t, &jti, family_id.as_deref())
            .await;
        let grant = match redemption {
            Ok(Redemption::Redeemed(grant)) => grant,
            Ok(Redemption::Replayed(grant)) => return self.replayed(&grant).await,
            Ok(Redemption::Invalid) => return invalid_grant("the code is invalid or expired"),
            Err(error) => return storage_failure("redeeming the code failed", error),
        };
        if let Err(description) = check_binding(&grant, self.client, params) {
            // The code is spent either way: a failed binding check is treated as an attack on it.
            tracing::warn!(client_id = %self.client.client_id, reason = description, "code binding check failed");
            return invalid_grant(description);
        }
        let refresh_token = match family_id {
            Some(family_id) => match self.start_family(family_id, &grant).await {
                Ok(token) => Some(token),
                Err(response) => return response,
            },
            None => None,
        };
        self.respond(&grant.sub, &grant.scopes, jti, t, refresh_token)
    }

    /// A second redemption: refuse it and revoke what the first one issued (RFC 6749 4.1.2).
    async fn replayed(&self, grant: &Grant) -> HttpResponse {
        tracing::warn!(client_id = %grant.client_id, "authorization code replayed: revoking its tokens");
        metrics::count(Event::CodeReplayed);
        if let Some(jti) = &grant.issued_jti {
            let until =
                grant.redeemed_at.unwrap_or_else(now) + self.config.access_token_ttl_seconds;
            if let Err(error) = self.store.revoke_jti(jti, until).await {
                return storage_failure("revoking the replayed code's access token failed", error);
            }
        }
        if let Some(family_id) = &grant.issued_family {
            if let Err(error) = self.store.revoke_family(family_id).await {
                return storage_failure(
                    "revoking the replayed code's refresh tokens failed",
                    error,
                );
            }
        }
        invalid_grant("the code was already used")
    }

    async fn start_family(&self, family_id: String, grant: &Grant) -> Result<Secret, HttpResponse> {
        let t = now();
        let token = Secret::generate(TOKEN_BYTES);
        let family_expires_at = t + self.config.refresh_absolute_ttl_seconds;
        let first = RefreshToken {
            token_hash: token.hash(),
            family_id: family_id.clone(),
            client_id: self.client.client_id.clone(),
            sub: grant.sub.clone(),
            scopes: grant.scopes.clone(),
            issued_at: t,
            expires_at: (t + self.config.refresh_idle_ttl_seconds).min(family_expires_at),
            family_expires_at,
            used_at: None,
            revoked: false,
        };
        let family = TokenFamily {
            family_id,
            client_id: first.client_id.clone(),
            sub: first.sub.clone(),
            expires_at: family_expires_at,
            current: first.token_hash.clone(),
            revoked: false,
        };
        match self.store.create_family(&family, &first).await {
            Ok(()) => Ok(token),
            Err(error) => Err(storage_failure("storing the refresh token failed", error)),
        }
    }

    /// Rotation (RFC 9700 4.14): the presented token is spent, a successor issued;
    /// presenting a spent one revokes its whole family.
    async fn refresh(&self, params: &Params) -> HttpResponse {
        let Some(presented) = params.get("refresh_token") else {
            return invalid_request("refresh_token is required");
        };
        let token_hash = Secret::new(presented).hash();
        let narrowed = match params.get("scope") {
            Some(scope) => match parse_scope(scope) {
                Some(scopes) if !scopes.is_empty() => Some(scopes),
                _ => {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        "the scope is malformed",
                    )
                }
            },
            None => None,
        };
        let t = now();
        if let Some(narrowed) = &narrowed {
            // Checked before the token is spent, so a bad request does not cost the client its
            // token; only for a token this client may use now, so that nothing is revealed about
            // others' tokens and a reused one still revokes its family below.
            match self.store.get_refresh_token(&token_hash).await {
                Ok(Some(token))
                    if token.client_id == self.client.client_id
                        && token.used_at.is_none()
                        && !token.revoked
                        && token.expires_at > t
                        && !narrowed.is_subset(&token.scopes) =>
                {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        "a refresh may only narrow the scope (RFC 6749 6)",
                    )
                }
                Ok(_) => {}
                Err(error) => return storage_failure("reading the refresh token failed", error),
            }
        }
        let used = match self
            .store
            .use_refresh_token(&token_hash, &self.client.client_id, t)
            .await
        {
            Ok(RefreshUse::Accepted(token)) => token,
            Ok(RefreshUse::Reused(token)) => {
                tracing::warn!(client_id = %self.client.client_id, "refresh token reused: revoking its family");
                metrics::count(Event::RefreshTokenReused);
                if let Err(error) = self.store.revoke_family(&token.family_id).await {
                    return storage_failure("revoking a refresh token family failed", error);
                }
                return invalid_grant("the refresh token was already used");
            }
            Ok(RefreshUse::Invalid) => {
                return invalid_grant("the refresh token is invalid or expired")
            }
            Err(error) => return storage_failure("using the refresh token failed", error),
        };
        let next_token = Secret::generate(TOKEN_BYTES);
        // RFC 6749 6: the new refresh token keeps the original scope, only the access token narrows.
        let next = RefreshToken {
            token_hash: next_token.hash(),
            issued_at: t,
            expires_at: (t + self.config.refresh_idle_ttl_seconds).min(used.family_expires_at),
            used_at: None,
            revoked: false,
            ..used.clone()
        };
        match self.store.rotate(&used, &next, t).await {
            Ok(true) => {}
            Ok(false) => return invalid_grant("the refresh token was revoked"),
            Err(error) => return storage_failure("rotating the refresh token failed", error),
        }
        let scopes = narrowed.unwrap_or_else(|| used.scopes.clone());
        self.respond(&used.sub, &scopes, new_jti(), t, Some(next_token))
    }

    fn respond(
        &self,
        sub: &str,
        scopes: &ScopeSet,
        jti: String,
        issued_at: i64,
        refresh_token: Option<Secret>,
    ) -> HttpResponse {
        let claims = AccessTokenClaims::new(
            self.config,
            sub,
            &self.client.client_id,
            scopes,
            jti,
            issued_at,
        );
        let access_token = match self.signer.sign(&claims) {
            Ok(token) => token,
            Err(error) => {
                tracing::error!(error = %error, "signing failed");
                return server_error_json();
            }
        };
        tracing::info!(client_id = %self.client.client_id, jti = %claims.jti, "access token issued");
        metrics::count(Event::TokenIssued);
        no_store(json(
            StatusCode::OK,
            &TokenResponse {
                access_token,
                token_type: "Bearer",
                expires_in: self.config.access_token_ttl_seconds,
                scope: scope_string(scopes),
                refresh_token: refresh_token.map(|t| t.expose().to_string()),
            },
        ))
    }
}

/// RFC 6749 4.1.3 and RFC 7636 4.6: the code's client, redirect URI and PKCE challenge.
fn check_binding(grant: &Grant, client: &Client, params: &Params) -> Result<(), &'static str> {
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
