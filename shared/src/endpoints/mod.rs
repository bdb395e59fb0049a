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

use crate::authorization::{error_location, AuthorizationError};
use crate::config::Config;
use crate::http::{redirect, HttpResponse};
use crate::metrics::{self, Event};
use crate::oauth::{self, ErrorCode, ErrorResponse};
use crate::pages;
use crate::store::{StoreError, StoreResult};
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

    /// Logs the failure and counts it; true when the server is at fault. A key or an item that
    /// DynamoDB would refuse was refused before sending: the request's fault, so a client error
    /// and no `StorageFailure` metric (the handlers check ids first; this is the backstop).
    fn report(&self) -> bool {
        let context = self.context;
        if self.error.is_request_error() {
            tracing::warn!(error = %self.error, "{context}: refused before storage");
            return false;
        }
        tracing::error!(error = %self.error, "{context}");
        metrics::count(Event::StorageFailure);
        true
    }

    /// The answer of the endpoints a client app calls: a 500 in JSON (400 for a refused key).
    pub(crate) fn into_json(self) -> HttpResponse {
        if self.report() {
            return oauth::server_error();
        }
        ErrorResponse::bad_request(
            ErrorCode::InvalidRequest,
            "the request carries a value that cannot be stored",
        )
        .render()
    }

    /// The answer of the endpoints a browser sees: a 500 page (400 for a refused key).
    pub(crate) fn into_page(self) -> HttpResponse {
        if self.report() {
            return pages::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The service could not complete your request. Please try again in a moment.",
            );
        }
        pages::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The request carries a value that cannot be stored.",
        )
    }
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
