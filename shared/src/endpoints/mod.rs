//! One module per endpoint; each exposes `handle`, which answers every request itself.

pub mod authorize;
pub mod consent;
pub mod introspect;
pub mod jwks;
pub mod login;
pub mod metadata;
pub mod revoke;
pub mod scopes;
pub mod token;

use crate::authorization::{error_location, AuthorizationError};
use crate::config::Config;
use crate::http::{oauth_error, redirect, server_error_json, HttpResponse};
use crate::metrics::{self, Event};
use crate::pages;
use crate::store::StoreError;
use http::StatusCode;

/// Logs a storage failure (its cause, never request data) and answers 500 in JSON. A key or
/// an item that DynamoDB would refuse was refused before sending: the request's fault, so a
/// 400 and no `StorageFailure` metric (the handlers check ids first; this is the backstop).
pub(crate) fn storage_failure(context: &str, error: StoreError) -> HttpResponse {
    if error.is_request_error() {
        tracing::warn!(error = %error, "{context}: refused before storage");
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request carries a value that cannot be stored",
        );
    }
    tracing::error!(error = %error, "{context}");
    metrics::count(Event::StorageFailure);
    server_error_json()
}

/// Logs a storage failure and answers a 500 page (for the endpoints a browser sees); a 400
/// page for what was refused before sending, as `storage_failure`.
pub(crate) fn storage_failure_page(context: &str, error: StoreError) -> HttpResponse {
    if error.is_request_error() {
        tracing::warn!(error = %error, "{context}: refused before storage");
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The request carries a value that cannot be stored.",
        );
    }
    tracing::error!(error = %error, "{context}");
    metrics::count(Event::StorageFailure);
    pages::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The service could not complete your request. Please try again in a moment.",
    )
}

/// The response for a failed authorization request: a page or a redirect with the error.
pub(crate) fn authorization_failure(
    config: &Config,
    error: AuthorizationError,
    redirect_status: StatusCode,
) -> HttpResponse {
    match error {
        AuthorizationError::Page { title, message } => {
            pages::error(StatusCode::BAD_REQUEST, title, &message)
        }
        AuthorizationError::Redirect {
            redirect_uri,
            error,
            description,
            state,
        } => redirect(
            redirect_status,
            &error_location(config, &redirect_uri, error, &description, state.as_deref()),
        ),
    }
}
