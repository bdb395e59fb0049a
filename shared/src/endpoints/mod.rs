//! One module per endpoint, each in the same shape (docs/architecture.md, "The shape of an
//! endpoint"): `handle(app, request)` parses the request into a typed value, `decide`
//! applies the rules and returns what was issued or the endpoint's error enum, and one
//! render step turns either into the response. Every request gets its answer from
//! `handle`, errors included.

pub mod account;
pub mod authorize;
mod client_request;
pub mod consent;
pub mod introspect;
pub mod jwks;
pub mod login;
pub mod logout;
pub mod metadata;
pub mod revoke;
pub mod scopes;
pub mod token;
pub mod userinfo;

use crate::app::App;
use crate::authorization::{error_location, AuthorizationError, AuthorizationRequest};
use crate::config::Config;
use crate::http::{redirect, HttpResponse};
use crate::metrics::{self, Event};
use crate::oauth::{self, ErrorCode, ErrorResponse};
use crate::pages;
use crate::resource::Resource;
use crate::store::{ResourceReader, StoreError, StoreResult};
use http::StatusCode;

/// A storage call that failed, with what the endpoint was doing: carried to the render step,
/// which logs it (its cause, never request data) and counts it, once.
#[derive(Debug)]
pub(crate) struct StorageFailure {
    context: &'static str,
    error: StoreError,
}

/// `?` on a storage call, naming what failed: `store.get_user(..).await.context("reading the user failed")?`.
pub(crate) trait StoreContext<T> {
    fn context(self, context: &'static str) -> Result<T, StorageFailure>;
}

impl<T> StoreContext<T> for StoreResult<T> {
    fn context(self, context: &'static str) -> Result<T, StorageFailure> {
        self.map_err(|error| StorageFailure { context, error })
    }
}

impl StorageFailure {
    pub(crate) fn new(context: &'static str, error: StoreError) -> Self {
        StorageFailure { context, error }
    }

    /// Logs the failure and counts it, and says whose fault it was. A key or an item that
    /// DynamoDB would refuse was refused before sending: the request's fault, so a client error
    /// and no `StorageFailure` metric (the handlers check ids first; this is the backstop).
    fn report(&self) -> Fault {
        let context = self.context;
        if self.error.is_request_error() {
            tracing::warn!(error = %self.error, "{context}: refused before storage");
            return Fault::Request;
        }
        if self.error.is_transient() {
            tracing::warn!(error = %self.error, "{context}: storage busy, answered 503");
            metrics::count(Event::StorageBusy);
            return Fault::Busy;
        }
        tracing::error!(error = %self.error, "{context}");
        metrics::count(Event::StorageFailure);
        Fault::Server
    }

    /// The answer of the endpoints a client app calls, in JSON: 503 with `Retry-After` when
    /// storage was busy, 500 when it failed, 400 for a refused key.
    pub(crate) fn into_json(self) -> HttpResponse {
        match self.report() {
            Fault::Busy => oauth::temporarily_unavailable(),
            Fault::Server => oauth::server_error(),
            Fault::Request => ErrorResponse::bad_request(
                ErrorCode::InvalidRequest,
                "the request carries a value that cannot be stored",
            )
            .render(),
        }
    }

    /// The answer of the endpoints a browser sees: a "try again" page (503 with `Retry-After`
    /// when storage was busy, 500 when it failed), or a 400 page for a refused key.
    pub(crate) fn into_page(self) -> HttpResponse {
        match self.report() {
            Fault::Busy => pages::try_again(),
            Fault::Server => pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The service could not complete your request. Please try again in a moment.",
            ),
            Fault::Request => pages::error(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "The request carries a value that cannot be stored.",
            ),
        }
    }
}

/// Whose fault a storage failure was.
enum Fault {
    /// Storage was busy or unreachable: the same request may succeed shortly.
    Busy,
    /// Storage refused the call for good (the deployment's fault).
    Server,
    /// The request carried a value that cannot be stored.
    Request,
}

/// For a storage failure after the client and its redirect URI were validated (authorize's
/// code, consent's consent and code): a busy store is RFC 6749 4.1.2.1's
/// `temporarily_unavailable`, sent to the client, which may start again; any other failure
/// stays a page. `.map_err(redirecting(&authorization))`.
pub(crate) fn redirecting<E>(
    authorization: &AuthorizationRequest,
) -> impl FnOnce(StorageFailure) -> E + '_
where
    E: From<AuthorizationError> + From<StorageFailure>,
{
    move |failure| {
        if !failure.error.is_transient() {
            return failure.into();
        }
        failure.report();
        authorization
            .refusal(ErrorCode::TemporarilyUnavailable, oauth::TRY_AGAIN)
            .into()
    }
}

/// The registered APIs (RFC 8707), from the warm cache, when a request names `requested`
/// resources; none, and no round trip, when it names none.
pub(crate) async fn registered_apis<S: ResourceReader>(
    app: &App<S>,
    requested: &[String],
) -> Result<Vec<Resource>, StorageFailure> {
    if requested.is_empty() {
        return Ok(Vec::new());
    }
    app.cache
        .resources
        .get(&app.store, requested)
        .await
        .context("reading the registered APIs failed")
}

/// The response for a failed authorization request: a page or a redirect with the error.
pub(crate) fn authorization_failure(
    config: &Config,
    error: AuthorizationError,
    redirect_status: StatusCode,
) -> HttpResponse {
    match error {
        AuthorizationError::Page { title, message } => {
            pages::error(StatusCode::BAD_REQUEST, title, message)
        }
        AuthorizationError::Redirect {
            redirect_uri,
            error,
            description,
            state,
        } => redirect(
            redirect_status,
            &error_location(config, &redirect_uri, error, description, state.as_deref()),
        ),
    }
}
