//! `GET` and `POST /oauth/logout`: the `end_session_endpoint` of OpenID Connect RP-Initiated
//! Logout 1.0. An app sends the browser here with `id_token_hint`, `client_id`,
//! `post_logout_redirect_uri` and `state` (`ui_locales` is accepted and ignored).
//!
//! - A hint is an ID token we issued (`id_token_hint::verify`: signature, issuer, the client;
//!   an expired one counts). A hint for another client or issuer, an unknown client, or a
//!   `post_logout_redirect_uri` that the client did not register is an error page: nothing
//!   happens and the browser goes nowhere.
//! - The request is trusted when its valid hint names the browser's session (`sid`) or its
//!   user (`sub`): the session item is deleted and the cookie expired at once. Otherwise the
//!   user is asked ("Sign out of Auth API?"); the confirmation posts back here with the
//!   session's CSRF token, as the consent form does.
//! - Then the browser goes to the registered `post_logout_redirect_uri` with `state` (`302`
//!   after a GET, `303` after a POST), or sees the signed-out page.
//!
//! Only this browser's session ends; the account page's "Sign out everywhere" ends the rest.

use super::{StorageFailure, StoreContext};
use crate::app::App;
use crate::config::Config;
use crate::http::{append_query, redirect, HttpRequest, HttpResponse, ParamError};
use crate::id_token_hint::{self, IdTokenHint};
use crate::ids;
use crate::model::Session;
use crate::pages::{self, SignOutForm};
use crate::session::{self, SessionCookie};
use crate::store::{AuthorizationReader, ClientReader, PublicKeyReader, SessionRemover};
use http::header::{HeaderValue, SET_COOKIE};
use http::{Method, StatusCode};

pub async fn handle<S>(app: &App<S>, request: &HttpRequest) -> HttpResponse
where
    S: ClientReader + PublicKeyReader + AuthorizationReader + SessionRemover,
{
    // RFC 9700 4.12: a POST is answered with 303, so that the browser follows with a GET.
    let redirect_status = if request.method == Method::POST {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    match decide(app, request).await {
        Ok(outcome) => render(&app.config, outcome, redirect_status),
        Err(error) => error.into_response(),
    }
}

/// The request's parameters (query for GET, form body for POST).
struct LogoutRequest {
    id_token_hint: Option<String>,
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
    /// Only from the confirmation form (a POST): CSRF tokens never travel in a URL.
    csrf_token: Option<String>,
}

impl LogoutRequest {
    fn parse(request: &HttpRequest) -> Result<Self, LogoutError> {
        let is_post = request.method == Method::POST;
        let params = if is_post {
            request.form_params()
        } else {
            request.query_params()
        }
        .map_err(LogoutError::InvalidInput)?;
        if params.first_repeated().is_some() {
            return Err(LogoutError::Repeated);
        }
        let get = |name: &str| params.get(name).map(str::to_string);
        Ok(LogoutRequest {
            id_token_hint: get("id_token_hint"),
            client_id: get("client_id"),
            post_logout_redirect_uri: get("post_logout_redirect_uri"),
            state: get("state"),
            csrf_token: if is_post { get("csrf_token") } else { None },
        })
    }
}

enum Outcome {
    /// A session would end, but the request cannot be trusted: the user is asked.
    Confirm {
        username: String,
        client_name: Option<String>,
        client_id: Option<String>,
        post_logout_redirect_uri: Option<String>,
        state: Option<String>,
        csrf_token: String,
    },
    /// This browser is signed out (or was not signed in): to the app, or the signed-out page.
    SignedOut { location: Option<String> },
}

enum LogoutError {
    InvalidInput(ParamError),
    Repeated,
    /// Not an ID token of ours for this client (another issuer, client, key; tampered).
    InvalidHint,
    UnknownClient,
    /// A `post_logout_redirect_uri` the client did not register, or one without any client.
    UnregisteredRedirect,
    /// The confirmation form's CSRF token is not the session's.
    FormExpired,
    Storage(StorageFailure),
}

impl From<StorageFailure> for LogoutError {
    fn from(failure: StorageFailure) -> Self {
        LogoutError::Storage(failure)
    }
}

impl LogoutError {
    fn into_response(self) -> HttpResponse {
        let bad_request = |title, message| pages::error(StatusCode::BAD_REQUEST, title, message);
        let invalid = |message| bad_request("Invalid sign-out request", message);
        match self {
            LogoutError::InvalidInput(error) => pages::invalid_input(&error),
            LogoutError::Repeated => invalid("A parameter is repeated. You are still signed in."),
            LogoutError::InvalidHint => invalid(
                "The application sent a sign-out request that this service did not issue for it. You are still signed in.",
            ),
            LogoutError::UnknownClient => bad_request(
                "Unknown application",
                "The application that sent you here is not registered. You are still signed in.",
            ),
            LogoutError::UnregisteredRedirect => invalid(
                "The address the application asked to return to after sign-out is not registered. You are still signed in.",
            ),
            LogoutError::FormExpired => pages::error(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "Nothing was changed: you are still signed in. Open the sign-out page again to sign out.",
            ),
            LogoutError::Storage(failure) => failure.into_page(),
        }
    }
}

async fn decide<S>(app: &App<S>, request: &HttpRequest) -> Result<Outcome, LogoutError>
where
    S: ClientReader + PublicKeyReader + AuthorizationReader + SessionRemover,
{
    let config = &app.config;
    let logout = LogoutRequest::parse(request)?;
    if logout
        .client_id
        .as_deref()
        .is_some_and(|id| !ids::is_client_id(id))
    {
        return Err(LogoutError::UnknownClient);
    }
    let cookie = SessionCookie::from_request(config, request);
    let (hint, session) = tokio::join!(
        verify_hint(app, &logout),
        current_session(app, cookie.as_ref())
    );
    let hint = hint?;
    let session = session?;

    // The client: named by the request, or by the hint's audience.
    let client_id = logout.client_id.clone().or_else(|| {
        hint.as_ref()
            .and_then(|h| h.client_id().map(str::to_string))
    });
    let client = match &client_id {
        Some(id) => Some(
            app.cache
                .clients
                .get(&app.store, id)
                .await
                .context("reading the client failed")?
                .ok_or(LogoutError::UnknownClient)?,
        ),
        None => None,
    };
    // Never a redirect to an address the client did not register, exactly.
    let location = match &logout.post_logout_redirect_uri {
        Some(uri) => {
            let registered = client
                .as_ref()
                .is_some_and(|c| c.allows_post_logout_redirect_uri(uri));
            if !registered {
                return Err(LogoutError::UnregisteredRedirect);
            }
            let state = logout.state.as_deref().map(|state| ("state", state));
            Some(append_query(uri, state.as_slice()))
        }
        None => None,
    };

    let (Some(cookie), Some(session)) = (cookie, session) else {
        // Nothing to end on this browser.
        return Ok(Outcome::SignedOut { location });
    };
    let hint_names_this_session = hint.as_ref().is_some_and(|hint| {
        hint.sid.as_deref() == Some(session::sid(&cookie.id).as_str()) || hint.sub == session.sub
    });
    let confirmed = match logout.csrf_token.as_deref() {
        Some(token) if session::csrf_token_matches(&cookie.id, Some(token)) => true,
        Some(_) => return Err(LogoutError::FormExpired),
        None => false,
    };
    if !(hint_names_this_session || confirmed) {
        return Ok(Outcome::Confirm {
            username: session.username,
            client_name: client.as_ref().map(|c| c.name().to_string()),
            client_id,
            post_logout_redirect_uri: logout.post_logout_redirect_uri,
            state: logout.state,
            csrf_token: session::csrf_token(&cookie.id),
        });
    }
    app.store
        .delete_session(&cookie.id_hash())
        .await
        .context("deleting the session failed")?;
    tracing::info!(
        client_id = client_id.as_deref().unwrap_or("-"),
        by_hint = hint_names_this_session,
        "signed out"
    );
    Ok(Outcome::SignedOut { location })
}

/// The hint, verified against the published keys; `None` when the request has none.
async fn verify_hint<S: PublicKeyReader>(
    app: &App<S>,
    logout: &LogoutRequest,
) -> Result<Option<IdTokenHint>, LogoutError> {
    let Some(token) = logout.id_token_hint.as_deref() else {
        return Ok(None);
    };
    let keys = app
        .store
        .list_public_keys()
        .await
        .context("reading the public keys failed")?;
    id_token_hint::verify(&app.config, &keys, token, logout.client_id.as_deref())
        .map(Some)
        .map_err(|_| LogoutError::InvalidHint)
}

/// The browser's session, if it counts (the rule of `authorization_context`).
async fn current_session<S: AuthorizationReader>(
    app: &App<S>,
    cookie: Option<&SessionCookie>,
) -> Result<Option<Session>, LogoutError> {
    let Some(cookie) = cookie else {
        return Ok(None);
    };
    let session = session::of_cookie(&app.store, cookie)
        .await
        .context("reading the session failed")?;
    Ok(session)
}

fn render(config: &Config, outcome: Outcome, redirect_status: StatusCode) -> HttpResponse {
    match outcome {
        Outcome::Confirm {
            username,
            client_name,
            client_id,
            post_logout_redirect_uri,
            state,
            csrf_token,
        } => {
            let hidden: Vec<(&str, &str)> = [
                ("client_id", client_id.as_deref()),
                (
                    "post_logout_redirect_uri",
                    post_logout_redirect_uri.as_deref(),
                ),
                ("state", state.as_deref()),
            ]
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| (name, value)))
            .collect();
            pages::sign_out_confirmation(&SignOutForm {
                username: &username,
                client_name: client_name.as_deref(),
                hidden,
                csrf_token: &csrf_token,
            })
        }
        Outcome::SignedOut { location } => {
            let response = match location {
                Some(location) => redirect(redirect_status, &location),
                None => pages::signed_out(),
            };
            expire_session_cookie(config, response)
        }
    }
}

/// The response with the session cookie expired (`Max-Age=0`): the browser forgets it.
pub(crate) fn expire_session_cookie(config: &Config, mut response: HttpResponse) -> HttpResponse {
    let expired = session::set_cookie(config, session::cookie_name(config), "", 0);
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
