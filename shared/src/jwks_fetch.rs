//! Fetching a `private_key_jwt` client's `jwks_uri`, and the warm container's cache of what
//! was fetched. The HTTP client is hyper with rustls (aws-lc-rs), the crates the AWS SDK's
//! own HTTP client is built from, so the functions link nothing new; its roots come from
//! the platform (`SSL_CERT_FILE` in Lambda), read at the first fetch, not at init.

use crate::client_assertion::{check_jwks_uri, ClientJwks, MAX_JWKS_BYTES};
use crate::secret::now;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// A JWKS not fetched within this is a failed authentication: the client's endpoint, not
/// ours, is slow, and the request must stay within the function's timeout.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a fetched JWKS is used before it is fetched again.
pub const JWKS_CACHE_SECONDS: i64 = 300;
/// An assertion naming a `kid` the cached JWKS lacks (the client rotated) fetches it again,
/// at most this often per URI.
pub const JWKS_REFETCH_SECONDS: i64 = 10;
const JWKS_CACHE_ENTRIES: usize = 256;

type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Why a JWKS could not be had: for the log only.
#[derive(Debug)]
pub struct FetchError(pub String);

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn http_client() -> Result<&'static HttpClient, FetchError> {
    static CLIENT: OnceLock<Result<HttpClient, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
                .map_err(|error| format!("no trust roots: {error}"))?
                // http only reaches loopback addresses: `check_jwks_uri` refuses the rest.
                .https_or_http()
                .enable_http1()
                .build();
            Ok(Client::builder(TokioExecutor::new()).build(connector))
        })
        .as_ref()
        .map_err(|error| FetchError(error.clone()))
}

/// GETs the JWKS at `uri` (no redirects followed) and checks it as registration does.
pub async fn fetch_jwks(uri: &str) -> Result<ClientJwks, FetchError> {
    check_jwks_uri(uri).map_err(|error| FetchError(error.to_string()))?;
    let client = http_client()?;
    let request = http::Request::get(uri)
        .header(http::header::ACCEPT, "application/json")
        .body(Empty::new())
        .map_err(|error| FetchError(format!("bad request: {error}")))?;
    let fetch = async {
        let response = client
            .request(request)
            .await
            .map_err(|error| FetchError(format!("request failed: {error}")))?;
        if response.status() != http::StatusCode::OK {
            return Err(FetchError(format!("answered {}", response.status())));
        }
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|error| FetchError(format!("body: {error}")))?
            .to_bytes();
        let text = std::str::from_utf8(&body).map_err(|_| FetchError("not UTF-8".into()))?;
        ClientJwks::parse(text).map_err(|error| FetchError(error.to_string()))
    };
    tokio::time::timeout(FETCH_TIMEOUT, fetch)
        .await
        .map_err(|_| FetchError("timed out".into()))?
}

/// The JWKS of each `jwks_uri`, as fetched less than `JWKS_CACHE_SECONDS` ago.
#[derive(Default)]
pub struct JwksCache {
    entries: Mutex<HashMap<String, (i64, ClientJwks)>>,
}

impl JwksCache {
    /// The JWKS at `uri`: from the cache unless it is old, or unless it lacks `wanted_kid` and
    /// was fetched more than `JWKS_REFETCH_SECONDS` ago.
    pub async fn get(&self, uri: &str, wanted_kid: Option<&str>) -> Result<ClientJwks, FetchError> {
        let t = now();
        if let Some((fetched_at, jwks)) = self.lock().get(uri) {
            let fresh = t - fetched_at < JWKS_CACHE_SECONDS;
            let has_key = wanted_kid.is_none_or(|kid| jwks.has_kid(kid));
            if fresh && (has_key || t - fetched_at < JWKS_REFETCH_SECONDS) {
                return Ok(jwks.clone());
            }
        }
        let jwks = fetch_jwks(uri).await?;
        let mut entries = self.lock();
        if entries.len() >= JWKS_CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(uri.to_string(), (t, jwks.clone()));
        Ok(jwks)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, ClientJwks)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
