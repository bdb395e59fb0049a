//! Bearer tokens at a protected resource (RFC 6750): how a request may present an access token
//! (the `Authorization: Bearer` header, 2.1, or for a POST the `access_token` form parameter,
//! 2.2; never the query, 2.3, which leaks tokens into logs and histories), and how a refusal
//! is written (3: `WWW-Authenticate: Bearer` with the error, a JSON body beside it).

use crate::http::{json, no_store, HttpRequest, HttpResponse, ParamError};
use crate::oauth::REPEATED_PARAMETER;
use crate::secret::Secret;
use http::header::{HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use http::{Method, StatusCode};
use serde::Serialize;

/// The form parameter of RFC 6750 2.2 (and the query parameter of 2.3, refused).
pub const ACCESS_TOKEN_PARAMETER: &str = "access_token";

const TOKEN_IN_QUERY: &str = "access tokens are not accepted in the query";
const MORE_THAN_ONE_METHOD: &str = "the access token was sent in more than one way";
const MALFORMED_HEADER: &str = "the Authorization header holds no well-formed bearer token";
const NO_TOKEN: &str = "an access token is required";
const INVALID_TOKEN: &str = "the access token is invalid, expired or revoked";
const INSUFFICIENT_SCOPE: &str = "the access token does not grant the scope this needs";

/// Why a request for a protected resource is refused (RFC 6750 3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// `400 invalid_request`: malformed, a token in the query, or more than one method.
    InvalidRequest(&'static str),
    /// `401` without an error code: no bearer token at all (3.1: the client may not know it
    /// needs one).
    Missing,
    /// `401 invalid_token`: not ours, expired, revoked, or its grant or user is gone.
    InvalidToken,
    /// `403 insufficient_scope`, naming the scope the resource needs.
    InsufficientScope(&'static str),
}

#[derive(Serialize)]
struct ErrorBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    error_description: &'static str,
}

impl BearerError {
    fn parts(self) -> (StatusCode, Option<&'static str>, &'static str) {
        match self {
            BearerError::InvalidRequest(description) => (
                StatusCode::BAD_REQUEST,
                Some("invalid_request"),
                description,
            ),
            BearerError::Missing => (StatusCode::UNAUTHORIZED, None, NO_TOKEN),
            BearerError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                INVALID_TOKEN,
            ),
            BearerError::InsufficientScope(_) => (
                StatusCode::FORBIDDEN,
                Some("insufficient_scope"),
                INSUFFICIENT_SCOPE,
            ),
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 3): `Bearer` alone when no token came,
    /// otherwise with `error`, `error_description` and, for `insufficient_scope`, `scope`.
    /// Every value is a fixed text without `"` or `\`, so no quoting is needed.
    pub fn challenge(self) -> String {
        let (_, error, description) = self.parts();
        let Some(error) = error else {
            return "Bearer".to_string();
        };
        let mut challenge = format!(r#"Bearer error="{error}", error_description="{description}""#);
        if let BearerError::InsufficientScope(scope) = self {
            challenge.push_str(&format!(r#", scope="{scope}""#));
        }
        challenge
    }

    /// The response: the status, the challenge, and `{"error", "error_description"}` (no
    /// `error` when no token came), never cached.
    pub fn render(self) -> HttpResponse {
        let (status, error, error_description) = self.parts();
        let mut response = no_store(json(
            status,
            &ErrorBody {
                error,
                error_description,
            },
        ));
        if let Ok(challenge) = HeaderValue::from_str(&self.challenge()) {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// The access token the request presents by exactly one method of RFC 6750 section 2.
pub fn presented_token(request: &HttpRequest) -> Result<Secret, BearerError> {
    let invalid = |error: ParamError| BearerError::InvalidRequest(error.description());
    // 2.3 is optional and not supported: a token there is refused, not ignored, so that the
    // client learns at once (and the token, already in some log, is not used).
    let query = request.query_params().map_err(invalid)?;
    if query.get(ACCESS_TOKEN_PARAMETER).is_some() || query.is_repeated(ACCESS_TOKEN_PARAMETER) {
        return Err(BearerError::InvalidRequest(TOKEN_IN_QUERY));
    }
    let header = header_token(request)?;
    let body = body_token(request)?;
    match (header, body) {
        (Some(token), None) | (None, Some(token)) => Ok(Secret::new(token)),
        (Some(_), Some(_)) => Err(BearerError::InvalidRequest(MORE_THAN_ONE_METHOD)),
        (None, None) => Err(BearerError::Missing),
    }
}

/// 2.1: `Authorization: Bearer <b64token>` (the scheme in any case). Another scheme is no
/// bearer token; `Bearer` with anything but one b64token is malformed.
fn header_token(request: &HttpRequest) -> Result<Option<String>, BearerError> {
    let malformed = BearerError::InvalidRequest(MALFORMED_HEADER);
    let mut values = request.headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(malformed);
    }
    let value = value.to_str().map_err(|_| malformed)?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return Ok(None);
    }
    let token = token.trim_start_matches(' ');
    if is_b64token(token) {
        Ok(Some(token.to_string()))
    } else {
        Err(malformed)
    }
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="` (RFC 6750 2.1).
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// 2.2: the `access_token` parameter of an `application/x-www-form-urlencoded` POST body. A
/// GET body has no meaning, and any other content type is not a form: neither carries one.
fn body_token(request: &HttpRequest) -> Result<Option<String>, BearerError> {
    if request.method != Method::POST {
        return Ok(None);
    }
    let params = match request.form_params() {
        Ok(params) => params,
        Err(ParamError::ContentType) => return Ok(None),
        Err(error) => return Err(BearerError::InvalidRequest(error.description())),
    };
    if params.is_repeated(ACCESS_TOKEN_PARAMETER) {
        return Err(BearerError::InvalidRequest(REPEATED_PARAMETER));
    }
    Ok(params.get(ACCESS_TOKEN_PARAMETER).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(query: &str) -> HttpRequest {
        HttpRequest::new(Method::GET, &format!("/oauth/userinfo{query}"))
    }

    fn token(request: &HttpRequest) -> Result<String, BearerError> {
        presented_token(request).map(|token| token.expose().to_string())
    }

    #[test]
    fn a_token_comes_by_one_method() {
        let header = get("").with_header("authorization", "Bearer abc.def-_~+/==");
        assert_eq!(token(&header), Ok("abc.def-_~+/==".into()));
        let any_case = get("").with_header("authorization", "bearer  abc");
        assert_eq!(token(&any_case), Ok("abc".into()));
        let body = HttpRequest::new(Method::POST, "/oauth/userinfo").with_form("access_token=abc");
        assert_eq!(token(&body), Ok("abc".into()));
        let post_header = HttpRequest::new(Method::POST, "/oauth/userinfo")
            .with_header("authorization", "Bearer abc");
        assert_eq!(token(&post_header), Ok("abc".into()));
    }

    #[test]
    fn no_bearer_token_is_missing_not_an_error_code() {
        let mut json_body = HttpRequest::new(Method::POST, "/oauth/userinfo")
            .with_header("content-type", "application/json");
        json_body.body = b"access_token=abc".to_vec();
        for request in [
            get(""),
            get("?other=1"),
            get("").with_header("authorization", "Basic YTpi"),
            HttpRequest::new(Method::POST, "/oauth/userinfo").with_form(""),
            // A JSON body is no form: its `access_token` is no RFC 6750 2.2 parameter.
            json_body,
        ] {
            assert_eq!(token(&request), Err(BearerError::Missing), "{request:?}");
        }
        // A GET's body has no meaning (RFC 6750 2.2: never with GET).
        let mut get_body = get("");
        get_body.body = b"access_token=abc".to_vec();
        assert_eq!(token(&get_body), Err(BearerError::Missing));
        assert_eq!(BearerError::Missing.challenge(), "Bearer");
    }

    #[test]
    fn the_query_more_than_one_method_and_malformed_headers_are_invalid_requests() {
        let both = HttpRequest::new(Method::POST, "/oauth/userinfo")
            .with_form("access_token=abc")
            .with_header("authorization", "Bearer abc");
        for (request, description) in [
            (get("?access_token=abc"), TOKEN_IN_QUERY),
            (
                get("?access_token=abc").with_header("authorization", "Bearer abc"),
                TOKEN_IN_QUERY,
            ),
            (both, MORE_THAN_ONE_METHOD),
            (
                get("").with_header("authorization", "Bearer"),
                MALFORMED_HEADER,
            ),
            (
                get("").with_header("authorization", "Bearer a b"),
                MALFORMED_HEADER,
            ),
            (
                get("").with_header("authorization", "Bearer a\"b"),
                MALFORMED_HEADER,
            ),
            (
                get("")
                    .with_header("authorization", "Bearer a")
                    .with_header("authorization", "Bearer b"),
                MALFORMED_HEADER,
            ),
            (
                HttpRequest::new(Method::POST, "/oauth/userinfo")
                    .with_form("access_token=a&access_token=b"),
                REPEATED_PARAMETER,
            ),
            (get("?x=%ff"), ParamError::Malformed.description()),
        ] {
            assert_eq!(
                token(&request),
                Err(BearerError::InvalidRequest(description)),
                "{request:?}"
            );
        }
    }

    #[test]
    fn challenges_carry_the_error_and_the_needed_scope() {
        assert_eq!(
            BearerError::InvalidToken.challenge(),
            format!(r#"Bearer error="invalid_token", error_description="{INVALID_TOKEN}""#)
        );
        assert_eq!(
            BearerError::InsufficientScope("openid").challenge(),
            format!(
                r#"Bearer error="insufficient_scope", error_description="{INSUFFICIENT_SCOPE}", scope="openid""#
            )
        );
        let response = BearerError::InvalidRequest(TOKEN_IN_QUERY).render();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            *response.body(),
            format!(r#"{{"error":"invalid_request","error_description":"{TOKEN_IN_QUERY}"}}"#)
        );
        let missing = BearerError::Missing.render();
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            *missing.body(),
            format!(r#"{{"error_description":"{NO_TOKEN}"}}"#)
        );
        assert_eq!(
            missing.headers().get("cache-control").map(|v| v.as_bytes()),
            Some(&b"no-store"[..])
        );
    }
}
