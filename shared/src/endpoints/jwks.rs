//! `GET /.well-known/jwks.json` (RFC 7517): every stored public key. `authctl keys rotate`
//! keeps that set to the key that signs, the one before it (its tokens may still be live)
//! and a new key not yet signing (published first, so that verifiers have it in time).

use super::StoreContext;
use crate::app::App;
use crate::cors;
use crate::http::{json, HttpRequest, HttpResponse};
use crate::store::{PublicKeyReader, SigningKey};
use http::header::{HeaderValue, CACHE_CONTROL};
use http::StatusCode;
use serde::Serialize;

#[derive(Serialize)]
struct Jwk<'a> {
    kty: &'static str,
    #[serde(rename = "use")]
    use_: &'static str,
    alg: &'static str,
    kid: &'a str,
    n: &'a str,
    e: &'a str,
}

#[derive(Serialize)]
struct Jwks<'a> {
    keys: Vec<Jwk<'a>>,
}

pub async fn handle<S: PublicKeyReader>(app: &App<S>, _request: &HttpRequest) -> HttpResponse {
    let response = match app
        .store
        .list_public_keys()
        .await
        .context("listing keys failed")
    {
        Ok(keys) => render(&keys),
        Err(failure) => failure.into_json(),
    };
    // A public document: any origin may read it (`cors`).
    cors::any_origin(response)
}

fn render(keys: &[SigningKey]) -> HttpResponse {
    let jwks = Jwks {
        keys: keys
            .iter()
            .map(|k| Jwk {
                kty: "RSA",
                use_: "sig",
                alg: "RS256",
                kid: &k.kid,
                n: &k.n,
                e: &k.e,
            })
            .collect(),
    };
    let mut response = json(StatusCode::OK, &jwks);
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
