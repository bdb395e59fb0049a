//! The OAuth 2.0 error vocabulary, in one place: the error codes (RFC 6749 4.1.2.1 and 5.2,
//! used as they are by RFC 7009 and RFC 7662) and the one function that writes an
//! RFC 6749 5.2 error response. Descriptions are fixed texts chosen by the server: a
//! description never carries text from the request.

use crate::http::{json, no_store, response, HttpResponse};
use http::header::{HeaderValue, CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use http::StatusCode;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    /// RFC 8707 2: a `resource` that is not a registered API, or that does not accept the scope.
    InvalidTarget,
    AccessDenied,
    ServerError,
    /// RFC 6749 4.1.2.1: the server is overloaded or a dependency is; try again. Also the
    /// code of the `503` that the token, revoke, introspect and UserInfo endpoints answer then.
    TemporarilyUnavailable,
    /// OpenID Connect Core 3.1.2.6: `prompt=none`, and the user must sign in.
    LoginRequired,
    /// OpenID Connect Core 3.1.2.6: `prompt=none`, and the user must approve the request.
    ConsentRequired,
    /// OpenID Connect Core 3.1.2.6: a `request` object, which we do not support (6.1).
    RequestNotSupported,
    /// OpenID Connect Core 3.1.2.6: a `request_uri`, which we do not support (6.2).
    RequestUriNotSupported,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
        }
    }
}

/// An error as the client sees it: what `ErrorResponse::render` turns into JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorResponse {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub description: &'static str,
    /// Whether to answer with the HTTP Basic challenge (RFC 6749 5.2, `invalid_client`).
    pub basic_challenge: bool,
}

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    error_description: &'static str,
}

/// For any repeated parameter (RFC 6749 3.1). It names none: the name is the request's text.
pub const REPEATED_PARAMETER: &str = "a parameter is repeated";

const CLIENT_AUTHENTICATION_FAILED: &str = "client authentication failed";
const SERVER_ERROR: &str = "the server could not complete the request";

impl ErrorResponse {
    pub fn new(status: StatusCode, code: ErrorCode, description: &'static str) -> Self {
        ErrorResponse {
            status,
            code,
            description,
            basic_challenge: false,
        }
    }

    pub fn bad_request(code: ErrorCode, description: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, description)
    }

    /// `401 invalid_client`, with the challenge when the client tried HTTP Basic.
    pub fn invalid_client(basic: bool) -> Self {
        ErrorResponse {
            basic_challenge: basic,
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidClient,
                CLIENT_AUTHENTICATION_FAILED,
            )
        }
    }

    /// `405` for a method the endpoint does not serve; `allowed` names the one it does.
    pub fn method_not_allowed(allowed: &'static str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::InvalidRequest,
            allowed,
        )
    }

    /// The RFC 6749 5.2 response: the status, `{"error", "error_description"}`, never cached.
    pub fn render(self) -> HttpResponse {
        let mut response = no_store(json(
            self.status,
            &ErrorBody {
                error: self.code.as_str(),
                error_description: self.description,
            },
        ));
        if self.basic_challenge {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="oauth", charset="UTF-8""#),
            );
        }
        response
    }
}

/// Seconds a client should wait before it retries after a `503` (`Retry-After`): DynamoDB's
/// throttling and conflicts pass in well under a second; one second spreads the retries.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// The fixed description of a `temporarily_unavailable` answer.
pub const TRY_AGAIN: &str = "the service is busy, try again shortly";

/// `503 temporarily_unavailable` with `Retry-After`: storage was busy or unreachable, nothing
/// was decided, and the same request may be sent again (client libraries retry a 503).
pub fn temporarily_unavailable() -> HttpResponse {
    let mut response = ErrorResponse::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::TemporarilyUnavailable,
        TRY_AGAIN,
    )
    .render();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
    response
}

/// `500 server_error`, for what the server could not do (its cause goes to the log). Built
/// without serde: it is also the answer when serializing another response failed.
pub fn server_error() -> HttpResponse {
    let body = format!(
        r#"{{"error":"{}","error_description":"{SERVER_ERROR}"}}"#,
        ErrorCode::ServerError.as_str()
    );
    let mut response = response(StatusCode::INTERNAL_SERVER_ERROR, "application/json", body);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_challenges_only_after_basic() {
        let with = ErrorResponse::invalid_client(true).render();
        assert_eq!(with.status(), StatusCode::UNAUTHORIZED);
        assert!(with.headers().get(WWW_AUTHENTICATE).is_some());
        assert_eq!(
            with.body(),
            r#"{"error":"invalid_client","error_description":"client authentication failed"}"#
        );
        let without = ErrorResponse::invalid_client(false).render();
        assert!(without.headers().get(WWW_AUTHENTICATE).is_none());
        assert_eq!(
            without.headers().get("pragma").map(|v| v.as_bytes()),
            Some(&b"no-cache"[..])
        );
    }

    #[test]
    fn temporarily_unavailable_is_a_503_to_retry() {
        let response = temporarily_unavailable();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(RETRY_AFTER).map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        assert_eq!(
            response.body(),
            r#"{"error":"temporarily_unavailable","error_description":"the service is busy, try again shortly"}"#
        );
    }

    #[test]
    fn server_error_is_valid_json() {
        let response = server_error();
        let body: serde_json::Value =
            serde_json::from_str(response.body()).unwrap_or(serde_json::Value::Null);
        assert_eq!(body["error"], "server_error");
        assert_eq!(
            response.headers().get(CACHE_CONTROL).map(|v| v.as_bytes()),
            Some(&b"no-store"[..])
        );
    }
}
