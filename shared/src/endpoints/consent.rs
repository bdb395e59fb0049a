//! `POST /oauth/consent`: the user's decision. Needs the session and its CSRF token,
//! validates every parameter again, and answers with a `303` (RFC 9700 4.12).
//! Two round trips: one read, and on approval one transaction (consent and code).

use super::{authorization_failure, redirecting, StorageFailure, StoreContext};
use crate::app::App;
use crate::authorization::{self, error_location, AuthorizationError};
use crate::config::Config;
use crate::http::{redirect, HttpRequest, HttpResponse, ParamError, Params};
use crate::metrics::{self, Event};
use crate::model::Consent;
use crate::oauth::ErrorCode;
use crate::pages;
use crate::secret::now;
use crate::session::{self, SessionCookie};
use crate::store::{AuthorizationStore, ResourceReader, SessionKey};
use http::StatusCode;

pub async fn handle<S: AuthorizationStore + ResourceReader>(
    app: &App<S>,
    request: &HttpRequest,
) -> HttpResponse {
    match decide(app, request).await {
        Ok(decided) => render(decided),
        Err(error) => error.into_response(&app.config),
    }
}

/// The button the user pressed.
enum UserDecision {
    Approve,
    Deny,
}

impl UserDecision {
    fn parse(params: &Params) -> Option<Self> {
        match params.get("decision") {
            Some("approve") => Some(UserDecision::Approve),
            Some("deny") => Some(UserDecision::Deny),
            _ => None,
        }
    }
}

/// Where the browser goes with the answer, a code or `access_denied`.
enum Decided {
    Approved { location: String },
    Denied { location: String },
}

enum ConsentError {
    InvalidInput(ParamError),
    SessionEnded,
    /// The CSRF token does not match the session.
    FormExpired,
    /// A page, or a redirect with the error (oxide-auth's "ignore" and "redirect").
    Rejected(AuthorizationError),
    NoDecision,
    Storage(StorageFailure),
}

impl From<AuthorizationError> for ConsentError {
    fn from(error: AuthorizationError) -> Self {
        ConsentError::Rejected(error)
    }
}

impl From<StorageFailure> for ConsentError {
    fn from(failure: StorageFailure) -> Self {
        ConsentError::Storage(failure)
    }
}

impl ConsentError {
    fn into_response(self, config: &Config) -> HttpResponse {
        match self {
            ConsentError::InvalidInput(error) => pages::invalid_input(&error),
            ConsentError::SessionEnded => pages::error(
                StatusCode::FORBIDDEN,
                "Your session has ended",
                "Nothing was changed. Go back to the application and sign in again.",
            ),
            ConsentError::FormExpired => pages::error(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "Nothing was changed. Go back to the application and try again.",
            ),
            ConsentError::Rejected(error) => {
                authorization_failure(config, error, StatusCode::SEE_OTHER)
            }
            ConsentError::NoDecision => pages::error(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "The form did not say whether you allow or deny access.",
            ),
            ConsentError::Storage(failure) => failure.into_page(),
        }
    }
}

async fn decide<S: AuthorizationStore + ResourceReader>(
    app: &App<S>,
    request: &HttpRequest,
) -> Result<Decided, ConsentError> {
    let config = &app.config;
    let params = request.form_params().map_err(ConsentError::InvalidInput)?;
    let cookie = SessionCookie::from_request(config, request).ok_or(ConsentError::SessionEnded)?;
    // A missing, repeated or impossible client id is refused before any storage call.
    let client_id = authorization::requested_client_id(&params)?;
    let id_hash = cookie.id_hash();
    let t = now();
    let session_key = SessionKey {
        sub: &cookie.sub,
        id_hash: &id_hash,
    };
    // The registered APIs only when the form names some, read beside the client and session.
    let (context, apis) = tokio::join!(
        app.store
            .load_authorization_context(Some(client_id), Some(session_key), t),
        super::registered_apis(app, params.get_all("resource")),
    );
    let context = context.context("reading the client and session failed")?;
    let session = context.session.ok_or(ConsentError::SessionEnded)?;
    if !session::csrf_token_matches(&cookie.id, params.get("csrf_token")) {
        return Err(ConsentError::FormExpired);
    }
    let mut authorization = authorization::validate(context.client, &params)?;
    authorization.target(&apis?)?;

    match UserDecision::parse(&params).ok_or(ConsentError::NoDecision)? {
        UserDecision::Deny => {
            metrics::count(Event::ConsentDenied);
            Ok(Decided::Denied {
                location: error_location(
                    config,
                    &authorization.redirect_uri,
                    ErrorCode::AccessDenied,
                    "the user denied the request",
                    authorization.state.as_deref(),
                ),
            })
        }
        UserDecision::Approve => {
            let earlier = context.consent.map(|c| c.scopes).unwrap_or_default();
            let consent = Consent {
                sub: session.sub.clone(),
                client_id: authorization.client.client_id().to_string(),
                scopes: earlier.union(&authorization.scopes).cloned().collect(),
                expires_at: t + config.consent_ttl_seconds,
            };
            // The CSRF token binds the form to the session authorize judged recent enough.
            let authentication = session::authentication(&session, &cookie.id);
            let (code, grant) = authorization.new_code(config, &session.sub, authentication);
            app.store
                .save_consent_and_code(&consent, &grant)
                .await
                .context("storing the consent and code failed")
                .map_err(redirecting::<ConsentError>(&authorization))?;
            metrics::count(Event::ConsentApproved);
            Ok(Decided::Approved {
                location: authorization.code_location(config, &code),
            })
        }
    }
}

fn render(decided: Decided) -> HttpResponse {
    match decided {
        Decided::Approved { location } | Decided::Denied { location } => {
            redirect(StatusCode::SEE_OTHER, &location)
        }
    }
}
