//! What token, revoke and introspect share: a POSTed form (RFC 6749 3.2) from an
//! authenticated client (RFC 6749 2.3.1), and the errors that refuse it before the
//! endpoint reads its own parameters.

use super::{StorageFailure, StoreContext};
use crate::app::App;
use crate::client_auth::{authenticate, ClientAuthError};
use crate::cors;
use crate::http::{HttpRequest, HttpResponse, Params};
use crate::model::Client;
use crate::oauth::{ErrorCode, ErrorResponse, REPEATED_PARAMETER};
use crate::secret::Secret;
use crate::store::{ClientAuthStore, PublicKeyReader, ResourceReader};
use crate::tokens::{userinfo_audience, verify_access_token, AccessTokenClaims};
use http::Method;

pub(crate) struct ClientRequest {
    pub client: Client,
    pub params: Params,
}

/// What revoke (RFC 7009 2.1) and introspect (RFC 7662 2.1) are asked about. Their optional
/// `token_type_hint` is not needed: a JWT is an access token, anything else a refresh token.
pub(crate) struct PresentedToken {
    pub token: Secret,
}

impl PresentedToken {
    pub(crate) fn parse(params: &Params) -> Result<Self, ClientRequestError> {
        let token = params
            .get("token")
            .ok_or(ClientRequestError::InvalidRequest("token is required"))?;
        Ok(PresentedToken {
            token: Secret::new(token),
        })
    }
}

/// The claims of a token this server signed and that has not expired (revocation aside):
/// what revoke and introspect look at before deciding whom the token concerns.
pub(crate) async fn verified_claims<S: PublicKeyReader>(
    app: &App<S>,
    token: &Secret,
) -> Result<Option<AccessTokenClaims>, StorageFailure> {
    let keys = app
        .store
        .list_public_keys()
        .await
        .context("listing keys failed")?;
    Ok(verify_access_token(&app.config, &keys, token.expose()))
}

/// Claims verified by `verified_claims` whose audiences are this server's: the default
/// audience, UserInfo's, or registered APIs (RFC 8707; read only for a token that names
/// another audience). A token for anything else is none of ours, whoever signed it.
pub(crate) async fn for_our_audiences<S: ResourceReader>(
    app: &App<S>,
    claims: Option<AccessTokenClaims>,
) -> Result<Option<AccessTokenClaims>, StorageFailure> {
    let Some(claims) = claims else {
        return Ok(None);
    };
    let config = &app.config;
    let others: Vec<String> = claims
        .aud
        .values()
        .iter()
        .filter(|aud| **aud != config.audience && **aud != userinfo_audience(config))
        .cloned()
        .collect();
    if others.is_empty() {
        return Ok(Some(claims));
    }
    let apis = super::registered_apis(app, &others).await?;
    let registered = others
        .iter()
        .all(|aud| apis.iter().any(|api| &api.uri == aud));
    Ok(registered.then_some(claims))
}

/// Every way revoke and introspect refuse a request, and token's first ones.
pub(crate) enum ClientRequestError {
    MethodNotAllowed,
    InvalidRequest(&'static str),
    /// Unknown client or wrong credentials; `basic` when the client tried HTTP Basic.
    InvalidClient {
        basic: bool,
    },
    /// A browser app at an origin its client did not register (`cors`).
    OriginNotAllowed,
    Storage(StorageFailure),
}

impl From<StorageFailure> for ClientRequestError {
    fn from(failure: StorageFailure) -> Self {
        ClientRequestError::Storage(failure)
    }
}

impl ClientRequestError {
    /// The RFC 6749 5.2 response.
    pub(crate) fn into_response(self) -> HttpResponse {
        let error = match self {
            ClientRequestError::MethodNotAllowed => ErrorResponse::method_not_allowed("use POST"),
            ClientRequestError::InvalidRequest(description) => {
                ErrorResponse::bad_request(ErrorCode::InvalidRequest, description)
            }
            ClientRequestError::InvalidClient { basic } => ErrorResponse::invalid_client(basic),
            ClientRequestError::OriginNotAllowed => ErrorResponse::bad_request(
                ErrorCode::InvalidRequest,
                "this client has not registered the origin of the request",
            ),
            ClientRequestError::Storage(failure) => return failure.into_json(),
        };
        error.render()
    }
}

/// The form and the client that sent it, in the order the RFCs check them: method, form,
/// repeated parameters (RFC 6749 3.1), client authentication; then, for a browser's request,
/// its origin, refused unless the client registered it, before anything is done (`cors`).
pub(crate) async fn authenticated<S: ClientAuthStore>(
    app: &App<S>,
    request: &HttpRequest,
) -> Result<ClientRequest, ClientRequestError> {
    if request.method != Method::POST {
        return Err(ClientRequestError::MethodNotAllowed);
    }
    let params = request
        .form_params()
        .map_err(|error| ClientRequestError::InvalidRequest(error.description()))?;
    if params.first_repeated().is_some() {
        return Err(ClientRequestError::InvalidRequest(REPEATED_PARAMETER));
    }
    let client = authenticate(app, request, &params)
        .await
        .map_err(|error| match error {
            ClientAuthError::Malformed(description) => {
                ClientRequestError::InvalidRequest(description)
            }
            ClientAuthError::Failed { used_basic } => {
                ClientRequestError::InvalidClient { basic: used_basic }
            }
            ClientAuthError::Storage(error) => {
                StorageFailure::new("reading the client failed", error).into()
            }
        })?;
    if cors::request_origin(request).is_some_and(|origin| !client.allows_origin(origin)) {
        return Err(ClientRequestError::OriginNotAllowed);
    }
    Ok(ClientRequest { client, params })
}
