//! `GET` and `POST /oauth/userinfo` (OpenID Connect Core 5.3): the claims about the user that
//! a bearer access token's scopes release. The token is presented as RFC 6750 allows (the
//! header, or a POST's form body; never the query: `bearer`) and verified as introspection
//! verifies it: our signature by a published key, `typ` `at+jwt`, `iss`, `aud`, expiry, then
//! its `jti` deny-list entry and its grant, read in one `BatchGetItem` with the user's account.

use super::client_request::verified_claims;
use super::{StorageFailure, StoreContext};
use crate::app::App;
use crate::bearer::{presented_token, BearerError};
use crate::cors;
use crate::http::{json, no_store, HttpRequest, HttpResponse};
use crate::model::ScopeSet;
use crate::oauth::ErrorResponse;
use crate::profile::claims_for;
use crate::secret::now;
use crate::store::{PublicKeyReader, UserInfoReader};
use crate::tokens::{userinfo_audience, AccessTokenClaims};
use http::{Method, StatusCode};
use serde_json::{Map, Value};

/// The scope that makes an access token good for UserInfo (Core 5.3.1: it was issued by an
/// OpenID Connect authentication request).
pub const OPENID_SCOPE: &str = "openid";

pub async fn handle<S>(app: &App<S>, request: &HttpRequest) -> HttpResponse
where
    S: PublicKeyReader + UserInfoReader,
{
    // A bearer token's endpoint: any origin may call it (`cors`).
    if request.method == Method::OPTIONS {
        return cors::preflight(request, cors::Audience::AnyOrigin, "GET, POST");
    }
    cors::any_origin(match decide(app, request).await {
        Ok(claims) => render(&claims),
        Err(error) => error.into_response(),
    })
}

/// Every way UserInfo refuses a request.
enum UserInfoError {
    MethodNotAllowed,
    Bearer(BearerError),
    Storage(StorageFailure),
}

impl From<BearerError> for UserInfoError {
    fn from(error: BearerError) -> Self {
        UserInfoError::Bearer(error)
    }
}

impl From<StorageFailure> for UserInfoError {
    fn from(failure: StorageFailure) -> Self {
        UserInfoError::Storage(failure)
    }
}

impl UserInfoError {
    fn into_response(self) -> HttpResponse {
        match self {
            UserInfoError::MethodNotAllowed => {
                ErrorResponse::method_not_allowed("use GET or POST").render()
            }
            UserInfoError::Bearer(error) => error.render(),
            UserInfoError::Storage(failure) => failure.into_json(),
        }
    }
}

async fn decide<S>(app: &App<S>, request: &HttpRequest) -> Result<Map<String, Value>, UserInfoError>
where
    S: PublicKeyReader + UserInfoReader,
{
    if request.method != Method::GET && request.method != Method::POST {
        return Err(UserInfoError::MethodNotAllowed);
    }
    let token = presented_token(request)?;
    // A token for the default audience, or one for APIs that also names UserInfo's (`Audience`).
    let for_userinfo = |claims: &AccessTokenClaims| {
        claims.aud.contains(&app.config.audience)
            || claims.aud.contains(&userinfo_audience(&app.config))
    };
    let claims = verified_claims(app, &token)
        .await?
        .filter(for_userinfo)
        .ok_or(BearerError::InvalidToken)?;
    // A client's own token (client credentials) stands for no user, and never has `openid`.
    let Some(grant_id) = claims.gid.as_deref() else {
        return Err(BearerError::InsufficientScope(OPENID_SCOPE).into());
    };
    let t = now();
    let records = app
        .store
        .userinfo_records(&claims.jti, grant_id, &claims.sub, t)
        .await
        .context("reading the token's revocation, grant and account failed")?;
    // Revoked, its grant ended (refresh token revoked or reused, code replayed, consent
    // withdrawn), or its user deleted: the token no longer stands for anyone.
    if records.token.jti_revoked || !records.token.grant.is_some_and(|grant| grant.is_live(t)) {
        return Err(BearerError::InvalidToken.into());
    }
    let Some(account) = records.account.filter(|account| account.sub == claims.sub) else {
        return Err(BearerError::InvalidToken.into());
    };
    // We signed the scope: one that does not parse is no token of ours.
    let scopes = ScopeSet::parse(&claims.scope).ok_or(BearerError::InvalidToken)?;
    if !scopes.contains(OPENID_SCOPE) {
        return Err(BearerError::InsufficientScope(OPENID_SCOPE).into());
    }
    tracing::info!(client_id = %claims.client_id, jti = %claims.jti, "userinfo answered");
    Ok(claims_for(&scopes, &account))
}

/// Core 5.3.2: the claims as a JSON object, never cached (they are personal data).
fn render(claims: &Map<String, Value>) -> HttpResponse {
    no_store(json(StatusCode::OK, claims))
}
