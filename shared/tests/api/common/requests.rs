//! Requests as a client app sends them, and what its answers hold.

use super::fixtures::secret_of;
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use http::Method;
use serde_json::Value;

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
