//! Requests as a client app sends them, and what its answers hold.

use super::fixtures::secret_of;
use auth_core::http::{form_encode, HttpRequest, HttpResponse, Params};
use http::{Method, StatusCode};
use serde_json::Value;

/// The two addresses of the metadata document: RFC 8414's and OpenID Connect Discovery's.
pub const METADATA_PATHS: [&str; 2] = [
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
];

/// `POST path` with the form `pairs`, as the client `client_id` sends it with its secret in
/// the form (`client_secret_post`, RFC 6749 2.3.1).
pub fn client_post(path: &str, client_id: &str, pairs: &[(&str, &str)]) -> HttpRequest {
    let secret = secret_of(client_id).unwrap_or("secret");
    let mut all = pairs.to_vec();
    all.push(("client_id", client_id));
    all.push(("client_secret", secret));
    HttpRequest::new(Method::POST, path).with_form(&form_encode(&all))
}

/// The JSON body of an answer; `null` when it is not JSON.
pub fn json_body(response: &HttpResponse) -> Value {
    serde_json::from_str(response.body()).unwrap_or(Value::Null)
}

/// A header of an answer, when it is text.
pub fn header<'a>(response: &'a HttpResponse, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Where an answer sends the browser; empty when it sends it nowhere.
pub fn location(response: &HttpResponse) -> &str {
    header(response, "location").unwrap_or_default()
}

/// The query parameters of the answer's `location`.
pub fn location_params(response: &HttpResponse) -> Params {
    let query = location(response)
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("");
    Params::parse(query.as_bytes()).unwrap_or_default()
}

/// The answer has this status; if not, the panic names the rule and shows the body.
#[track_caller]
pub fn assert_status(rule: &str, response: &HttpResponse, status: StatusCode) {
    assert_eq!(response.status(), status, "{rule}: {}", response.body());
}
