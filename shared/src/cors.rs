//! CORS (the Fetch standard) for the endpoints that a browser app calls from its own origin.
//!
//! - **Token and revoke** answer the origins of the client that made the request: its
//!   registered web origins (`Client::allows_origin`). `client_request::authenticated` refuses
//!   a request from any other origin once the client is known, before anything is done, so a
//!   response that gets past it may name the request's origin (`for_client`). An answer given
//!   before the client is known (a malformed form, a failed authentication) names no origin.
//! - **UserInfo, metadata and JWKS** are open to every origin (`*`): a bearer token, or public
//!   documents. No request to them carries cookies, so `*` is what the standard allows.
//! - **Preflights** are answered by the functions (`preflight`), with no storage call, not by
//!   API Gateway's CORS configuration: that one allows a fixed origin list for the whole API and
//!   replaces what the functions send, so it could neither follow each client's registration
//!   nor stay open on UserInfo while closed on token. A preflight grants nothing by itself: it
//!   lets the browser send the request, which is then checked as above (as node-oidc-provider
//!   does with `clientBasedCORS`).
//! - **Never** on login, authorize, consent, logout or account: those are navigations, and their
//!   pages forbid framing.

use crate::http::{HttpRequest, HttpResponse};
use http::header::{
    HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ORIGIN,
    VARY,
};
use http::StatusCode;

/// Who may read an endpoint's answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The origins registered for the client that sends the request (token, revoke).
    ClientOrigins,
    /// Anyone: a bearer token's endpoint (UserInfo).
    AnyOrigin,
}

/// The request headers a browser app may send: client authentication (HTTP Basic), a bearer
/// token, and a form or JSON body.
const ALLOWED_HEADERS: &str = "authorization, content-type";
/// Browsers cap it (Chromium at 2 hours); the answer never changes, so the cap is the value.
const MAX_AGE_SECONDS: &str = "7200";

/// The `Origin` a browser sent, if any.
pub fn request_origin(request: &HttpRequest) -> Option<&str> {
    request.header(ORIGIN.as_str())
}

/// The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`): 204 with what
/// the endpoint accepts. For `ClientOrigins` it names the request's origin whatever it is:
/// the request that follows is checked against its client.
pub fn preflight(request: &HttpRequest, audience: Audience, methods: &'static str) -> HttpResponse {
    let mut empty = http::Response::new(String::new());
    *empty.status_mut() = StatusCode::NO_CONTENT;
    let mut response = match audience {
        Audience::AnyOrigin => any_origin(empty),
        Audience::ClientOrigins => for_client(request, empty),
    };
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    headers.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(MAX_AGE_SECONDS),
    );
    response
}

/// Lets every origin read the answer. `WWW-Authenticate` is exposed: a bearer endpoint's
/// 401 says there why the token was refused (RFC 6750 3).
pub fn any_origin(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("www-authenticate"),
    );
    response
}

/// Lets the request's origin read the answer: only for a request whose origin was checked
/// against its client (or a preflight). Without `Origin` (a server, a native app) nothing is
/// added. `Vary: Origin` either way: the answer depends on it.
pub fn for_client(request: &HttpRequest, mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.append(VARY, HeaderValue::from_static("origin"));
    if let Some(origin) = request_origin(request).and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn header<'a>(response: &'a HttpResponse, name: &str) -> Option<&'a str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn a_client_preflight_names_the_origin_and_what_may_be_sent() {
        let request = HttpRequest::new(Method::OPTIONS, "/oauth/token")
            .with_header("origin", "https://app.example.com")
            .with_header("access-control-request-method", "POST");
        let response = preflight(&request, Audience::ClientOrigins, "POST");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some("https://app.example.com")
        );
        assert_eq!(
            header(&response, "access-control-allow-methods"),
            Some("POST")
        );
        assert_eq!(
            header(&response, "access-control-allow-headers"),
            Some("authorization, content-type")
        );
        assert_eq!(header(&response, "access-control-max-age"), Some("7200"));
        assert_eq!(header(&response, "vary"), Some("origin"));
        assert_eq!(header(&response, "access-control-allow-credentials"), None);
    }

    #[test]
    fn an_open_preflight_allows_any_origin() {
        let request = HttpRequest::new(Method::OPTIONS, "/oauth/userinfo")
            .with_header("origin", "https://app.example.com");
        let response = preflight(&request, Audience::AnyOrigin, "GET, POST");
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
        assert_eq!(
            header(&response, "access-control-allow-methods"),
            Some("GET, POST")
        );
        assert_eq!(
            header(&response, "access-control-expose-headers"),
            Some("www-authenticate")
        );
    }

    #[test]
    fn without_an_origin_a_client_answer_names_none() {
        let request = HttpRequest::new(Method::POST, "/oauth/token");
        let response = for_client(&request, http::Response::new(String::new()));
        assert_eq!(header(&response, "access-control-allow-origin"), None);
        assert_eq!(header(&response, "vary"), Some("origin"));
    }
}
