//! `POST /oauth/introspect` (RFC 7662): for authenticated clients, whether a token
//! is active and what it grants. A client sees its own tokens; a resource server (an
//! API registered with `authctl client create --resource-server`) also sees access
//! tokens issued to other clients. Every other token is reported inactive.

use super::client_request::{
    authenticated, for_our_audiences, verified_claims, ClientRequest, ClientRequestError,
    PresentedToken,
};
use super::StoreContext;
use crate::app::App;
use crate::http::{json, no_store, HttpRequest, HttpResponse};
use crate::model::{Client, ClientType};
use crate::secret::{now, Secret};
use crate::store::{
    ClientAuthStore, PublicKeyReader, RefreshTokenReader, ResourceReader, RevocationReader,
};
use crate::tokens::{looks_like_jwt, AccessTokenClaims, Audience};
use http::StatusCode;
use serde::Serialize;

pub async fn handle<S>(app: &App<S>, request: &HttpRequest) -> HttpResponse
where
    S: ClientAuthStore + PublicKeyReader + RefreshTokenReader + RevocationReader + ResourceReader,
{
    match decide(app, request).await {
        Ok(introspection) => render(&introspection),
        Err(error) => error.into_response(),
    }
}

/// The answer (RFC 7662 2.2); `Default` is an inactive token, which says nothing more.
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
    aud: Option<Audience>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
}

async fn decide<S>(app: &App<S>, request: &HttpRequest) -> Result<Introspection, ClientRequestError>
where
    S: ClientAuthStore + PublicKeyReader + RefreshTokenReader + RevocationReader + ResourceReader,
{
    let ClientRequest { client, params } = authenticated(app, request).await?;
    if let ClientType::Public = client.client_type() {
        // Introspection is for resource servers, which can keep a secret.
        return Err(ClientRequestError::InvalidClient { basic: false });
    }
    let PresentedToken { token } = PresentedToken::parse(&params)?;
    if looks_like_jwt(token.expose()) {
        access_token(app, &client, &token).await
    } else {
        refresh_token(app, &client, &token).await
    }
}

async fn access_token<S: PublicKeyReader + RevocationReader + ResourceReader>(
    app: &App<S>,
    client: &Client,
    token: &Secret,
) -> Result<Introspection, ClientRequestError> {
    let visible = |claims: &AccessTokenClaims| {
        client.is_resource_server() || claims.client_id == client.client_id()
    };
    let claims = verified_claims(app, token).await?;
    let Some(claims) = for_our_audiences(app, claims).await?.filter(visible) else {
        return Ok(Introspection::default());
    };
    // The token's own revocation and its grant's, in one round trip: revoking a refresh token,
    // its reuse, a code replay or withdrawn consent revoke the grant, which ends every access
    // token issued under it (RFC 7009 2.1). A grant that is gone ends them too.
    let t = now();
    let live = match &claims.gid {
        Some(grant_id) => {
            let records = app
                .store
                .access_token_records(&claims.jti, grant_id, t)
                .await
                .context("reading the token's revocation and grant failed")?;
            !records.jti_revoked && records.grant.is_some_and(|grant| grant.is_live(t))
        }
        // A client's own token (client credentials) has no grant: only its own revocation.
        None => !app
            .store
            .is_jti_revoked(&claims.jti, t)
            .await
            .context("reading the token's revocation failed")?,
    };
    if !live {
        return Ok(Introspection::default());
    }
    Ok(Introspection {
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
    })
}

/// Refresh tokens only ever reach the client they were issued to: no resource server has a
/// reason to hold one of another client's.
async fn refresh_token<S: RefreshTokenReader>(
    app: &App<S>,
    client: &Client,
    token: &Secret,
) -> Result<Introspection, ClientRequestError> {
    let t = now();
    let refresh = app
        .store
        .get_refresh_token(&token.hash())
        .await
        .context("reading a refresh token failed")?;
    let Some(refresh) = refresh.filter(|r| {
        r.client_id == client.client_id() && r.used_at.is_none() && !r.revoked && r.expires_at > t
    }) else {
        return Ok(Introspection::default());
    };
    let family = app
        .store
        .get_family(&refresh.family_id)
        .await
        .context("reading a token family failed")?;
    if !family.is_some_and(|family| family.is_live(t)) {
        return Ok(Introspection::default());
    }
    Ok(Introspection {
        active: true,
        scope: Some(refresh.scopes.to_string()),
        client_id: Some(refresh.client_id),
        sub: Some(refresh.sub),
        exp: Some(refresh.expires_at),
        iat: Some(refresh.issued_at),
        token_type: Some("refresh_token"),
        iss: Some(app.config.issuer.clone()),
        ..Introspection::default()
    })
}

fn render(introspection: &Introspection) -> HttpResponse {
    no_store(json(StatusCode::OK, introspection))
}
