//! `POST /oauth/revoke` (RFC 7009): a client revokes its own refresh token (the whole
//! family) or access token (its `jti` deny-listed until it would expire).

use super::client_request::{
    authenticated, for_our_audiences, verified_claims, ClientRequest, ClientRequestError,
    PresentedToken,
};
use super::StoreContext;
use crate::app::App;
use crate::cors;
use crate::http::{no_store, HttpRequest, HttpResponse};
use crate::model::Client;
use crate::secret::Secret;
use crate::store::{
    ClientAuthStore, PublicKeyReader, RefreshTokenStore, ResourceReader, RevocationStore,
};
use crate::tokens::looks_like_jwt;
use http::Method;

pub async fn handle<S>(app: &App<S>, request: &HttpRequest) -> HttpResponse
where
    S: ClientAuthStore + PublicKeyReader + RefreshTokenStore + RevocationStore + ResourceReader,
{
    if request.method == Method::OPTIONS {
        return cors::preflight(request, cors::Audience::ClientOrigins, "POST");
    }
    // Before the client and its origins are known, no origin may read the answer; after,
    // the request's origin is one of the client's.
    let client_request = match authenticated(app, request).await {
        Ok(client_request) => client_request,
        Err(error) => return error.into_response(),
    };
    let response = match decide(app, client_request).await {
        Ok(revoked) => render(revoked),
        Err(error) => error.into_response(),
    };
    cors::for_client(request, response)
}

/// What the request revoked: for the log, never for the answer.
enum Revoked {
    AccessToken,
    RefreshTokenFamily,
    Nothing,
}

async fn decide<S>(
    app: &App<S>,
    ClientRequest { client, params }: ClientRequest,
) -> Result<Revoked, ClientRequestError>
where
    S: PublicKeyReader + RefreshTokenStore + RevocationStore + ResourceReader,
{
    let PresentedToken { token } = PresentedToken::parse(&params)?;
    if looks_like_jwt(token.expose()) {
        revoke_access_token(app, &client, &token).await
    } else {
        revoke_refresh_token(app, &client, &token).await
    }
}

async fn revoke_access_token<S: PublicKeyReader + RevocationStore + ResourceReader>(
    app: &App<S>,
    client: &Client,
    token: &Secret,
) -> Result<Revoked, ClientRequestError> {
    let claims = for_our_audiences(app, verified_claims(app, token).await?).await?;
    let Some(claims) = claims.filter(|claims| claims.client_id == client.client_id()) else {
        return Ok(Revoked::Nothing);
    };
    app.store
        .revoke_jti(&claims.jti, claims.exp)
        .await
        .context("revoking an access token failed")?;
    tracing::info!(client_id = %client.client_id(), jti = %claims.jti, "access token revoked");
    Ok(Revoked::AccessToken)
}

async fn revoke_refresh_token<S: RefreshTokenStore>(
    app: &App<S>,
    client: &Client,
    token: &Secret,
) -> Result<Revoked, ClientRequestError> {
    let refresh = app
        .store
        .get_refresh_token(&token.hash())
        .await
        .context("reading a refresh token failed")?;
    let Some(refresh) = refresh.filter(|refresh| refresh.client_id == client.client_id()) else {
        return Ok(Revoked::Nothing);
    };
    app.store
        .revoke_family(&refresh.family_id)
        .await
        .context("revoking a refresh token family failed")?;
    tracing::info!(client_id = %client.client_id(), "refresh token family revoked");
    Ok(Revoked::RefreshTokenFamily)
}

/// RFC 7009 2.2: unknown, invalid, expired, foreign or already revoked tokens all get the same
/// 200 as a revoked one, which tells a caller nothing about tokens that are not its own.
fn render(_revoked: Revoked) -> HttpResponse {
    no_store(http::Response::new(String::new()))
}
