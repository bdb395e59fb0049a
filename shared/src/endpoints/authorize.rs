//! `GET /oauth/authorize`: validates the request, sends the user to log in (or to log in
//! again: `prompt=login`, `max_age`), issues a code at once when consent was given before,
//! and otherwise shows the consent page; with `prompt=none` it shows no page and answers
//! with an error instead (`authorization::next_step` decides). With remembered consent that
//! is two round trips: one read, one write. An `id_token_hint` adds one, made at the same
//! time as the read: the published keys that verify it (public attributes only, as JWKS).

use super::{authorization_failure, redirecting, StorageFailure, StoreContext};
use crate::app::App;
use crate::authorization::{self, AuthorizationError, AuthorizationRequest, LiveSession, Step};
use crate::config::Config;
use crate::http::{redirect, HttpRequest, HttpResponse, ParamError};
use crate::model::{Scope, ScopeSet};
use crate::pages::{self, ConsentForm, ConsentScope};
use crate::resource::Resource;
use crate::secret::{now, now_ms};
use crate::session::{self, SessionCookie};
use crate::store::{
    AuthorizationStore, CodeStore, PublicKeyReader, ResourceReader, ScopeReader, SessionKey,
    SigningKey,
};
use http::StatusCode;

pub async fn handle<S>(app: &App<S>, request: &HttpRequest) -> HttpResponse
where
    S: AuthorizationStore + CodeStore + ScopeReader + PublicKeyReader + ResourceReader,
{
    match decide(app, request).await {
        Ok(authorized) => render(authorized),
        Err(error) => error.into_response(&app.config),
    }
}

enum Authorized {
    /// No live session: sign in first, then come back with the same request.
    SignIn { location: String },
    /// Consent was given before: the code goes straight back to the client.
    Code { location: String },
    /// Ask the user (boxed: the request and the scope catalogue are large next to a URL).
    Consent(Box<ConsentPage>),
}

struct ConsentPage {
    authorization: AuthorizationRequest,
    username: String,
    catalogue: Vec<Scope>,
    /// The registered APIs, when the request names some.
    apis: Vec<Resource>,
    /// What the user allowed this client before.
    granted: ScopeSet,
    csrf_token: String,
}

enum AuthorizeError {
    InvalidInput(ParamError),
    /// A page, or a redirect with the error (oxide-auth's "ignore" and "redirect").
    Rejected(AuthorizationError),
    Storage(StorageFailure),
}

impl From<AuthorizationError> for AuthorizeError {
    fn from(error: AuthorizationError) -> Self {
        AuthorizeError::Rejected(error)
    }
}

impl From<StorageFailure> for AuthorizeError {
    fn from(failure: StorageFailure) -> Self {
        AuthorizeError::Storage(failure)
    }
}

impl AuthorizeError {
    fn into_response(self, config: &Config) -> HttpResponse {
        match self {
            AuthorizeError::InvalidInput(error) => pages::invalid_input(&error),
            AuthorizeError::Rejected(error) => {
                authorization_failure(config, error, StatusCode::FOUND)
            }
            AuthorizeError::Storage(failure) => failure.into_page(),
        }
    }
}

async fn decide<S>(app: &App<S>, request: &HttpRequest) -> Result<Authorized, AuthorizeError>
where
    S: AuthorizationStore + CodeStore + ScopeReader + PublicKeyReader + ResourceReader,
{
    let config = &app.config;
    let params = request
        .query_params()
        .map_err(AuthorizeError::InvalidInput)?;
    // A missing, repeated or impossible client id is refused before any storage call.
    let client_id = authorization::requested_client_id(&params)?;
    let cookie = SessionCookie::from_request(config, request);
    let id_hash = cookie.as_ref().map(SessionCookie::id_hash);
    let session_key = cookie
        .as_ref()
        .zip(id_hash.as_deref())
        .map(|(c, id_hash)| SessionKey {
            sub: &c.sub,
            id_hash,
        });
    // The published keys only when a hint needs them, and the registered APIs only when the
    // request names some, read beside the client and session.
    let (context, keys, apis) = tokio::join!(
        app.store
            .load_authorization_context(Some(client_id), session_key, now()),
        published_keys(app, params.get("id_token_hint").is_some()),
        super::registered_apis(app, params.get_all("resource")),
    );
    let context = context.context("reading the client and session failed")?;
    let mut authorization = authorization::validate(context.client, &params)?;
    let apis = apis?;
    authorization.target(&apis)?;
    let hinted_sub = authorization.verify_id_token_hint(config, &keys?)?;
    // The session counts only beside its cookie (`assemble` judged it by the cookie's user).
    let session = context.session.zip(cookie).map(|pair| LiveSession {
        signed_in_at_ms: pair.0.signed_in_at_ms,
        sub: pair.0.sub.clone(),
        value: pair,
    });
    let granted = context.consent.map(|c| c.scopes).unwrap_or_default();
    let step = authorization.next_step(
        config,
        request.query.as_deref().unwrap_or(""),
        session,
        hinted_sub.as_deref(),
        &granted,
        now_ms(),
    )?;
    let (session, cookie) = match step {
        Step::SignIn { location } => return Ok(Authorized::SignIn { location }),
        Step::Code((session, cookie)) => {
            let authentication = session::authentication(&session, &cookie.id);
            let (code, grant) = authorization.new_code(config, &session.sub, authentication);
            app.store
                .create_code(&grant)
                .await
                .context("storing the code failed")
                .map_err(redirecting::<AuthorizeError>(&authorization))?;
            return Ok(Authorized::Code {
                location: authorization.code_location(config, &code),
            });
        }
        Step::Consent(pair) => pair,
    };
    let catalogue = app
        .store
        .list_scopes()
        .await
        .context("reading the scopes failed")?;
    Ok(Authorized::Consent(Box::new(ConsentPage {
        authorization,
        username: session.username,
        catalogue,
        apis,
        granted,
        csrf_token: session::csrf_token(&cookie.id),
    })))
}

/// The published keys (public parts) when `needed`; none, and no round trip, otherwise.
async fn published_keys<S: PublicKeyReader>(
    app: &App<S>,
    needed: bool,
) -> Result<Vec<SigningKey>, AuthorizeError> {
    if !needed {
        return Ok(Vec::new());
    }
    Ok(app
        .store
        .list_public_keys()
        .await
        .context("reading the public keys failed")?)
}

fn render(authorized: Authorized) -> HttpResponse {
    match authorized {
        Authorized::SignIn { location } | Authorized::Code { location } => {
            redirect(StatusCode::FOUND, &location)
        }
        Authorized::Consent(page) => render_consent(&page),
    }
}

fn render_consent(page: &ConsentPage) -> HttpResponse {
    let authorization = &page.authorization;
    let scopes = authorization
        .scopes
        .iter()
        .map(|name| ConsentScope {
            name: name.as_str(),
            description: page
                .catalogue
                .iter()
                .find(|s| s.name == name.as_str())
                .map_or(name.as_str(), |s| s.description.as_str()),
            already_granted: page.granted.contains(name.as_str()),
        })
        .collect();
    let fields = authorization.form_fields();
    pages::consent(&ConsentForm {
        client_name: authorization.client.name(),
        username: &page.username,
        scopes,
        apis: authorization
            .resources
            .iter()
            .filter_map(|uri| page.apis.iter().find(|api| &api.uri == uri))
            .map(|api| (api.name.as_str(), api.uri.as_str()))
            .collect(),
        hidden: fields
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect(),
        csrf_token: &page.csrf_token,
    })
}
