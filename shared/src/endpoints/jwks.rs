//! `GET /.well-known/jwks.json` (RFC 7517): every stored public key. `authctl keys rotate`
//! keeps that set to the key that signs, the one before it (its tokens may still be live)
//! and a new key not yet signing (published first, so that verifiers have it in time).

use super::storage_failure;
use crate::http::{json, HttpRequest, HttpResponse};
use crate::store::KeyStore;
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

pub async fn handle<S: KeyStore>(store: &S, _request: &HttpRequest) -> HttpResponse {
    let keys = match store.list_keys(false).await {
        Ok(keys) => keys,
        Err(error) => return storage_failure("listing keys failed", error),
    };
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
