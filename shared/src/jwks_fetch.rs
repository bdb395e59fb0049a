//! Fetching a `private_key_jwt` client's `jwks_uri`, and the warm container's cache of what
//! was fetched. One HTTP/1.1 GET per fetch over a connection of its own: hyper's low-level
//! client (`client::conn::http1`) on tokio-rustls (aws-lc-rs), the crates the AWS SDK's HTTP
//! client is built from, so the functions link nothing new (and none of the connection pool
//! a fetch every few minutes does not need). Roots come from the platform (`SSL_CERT_FILE` in
//! Lambda), read at the first fetch, not at init.

use crate::client_assertion::{check_jwks_uri, ClientJwks, MAX_JWKS_BYTES};
use crate::secret::now;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use url::Url;

/// A JWKS not fetched within this is a failed authentication: the client's endpoint, not
/// ours, is slow, and the request must stay within the function's timeout.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a fetched JWKS is used before it is fetched again.
pub const JWKS_CACHE_SECONDS: i64 = 300;
/// An assertion naming a `kid` the cached JWKS lacks (the client rotated) fetches it again,
/// at most this often per URI.
pub const JWKS_REFETCH_SECONDS: i64 = 10;
const JWKS_CACHE_ENTRIES: usize = 256;

/// Why a JWKS could not be had: for the log only.
#[derive(Debug)]
pub struct FetchError(pub String);

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn failed(what: &str) -> impl Fn(&dyn std::fmt::Display) -> FetchError + '_ {
    move |error| FetchError(format!("{what}: {error}"))
}

/// The TLS configuration: the platform's roots, aws-lc-rs; built once per container.
fn tls() -> Result<tokio_rustls::TlsConnector, FetchError> {
    static TLS: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    let config = TLS.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let (added, _) =
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if added == 0 {
            return Err("no trust roots".to_string());
        }
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
        .map_err(|error| error.to_string())
    });
    config
        .as_ref()
        .map(|config| tokio_rustls::TlsConnector::from(Arc::clone(config)))
        .map_err(|error| FetchError(error.clone()))
}

trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// GETs the JWKS at `uri` (no redirects followed) and checks it as registration does.
pub async fn fetch_jwks(uri: &str) -> Result<ClientJwks, FetchError> {
    check_jwks_uri(uri).map_err(|error| FetchError(error.to_string()))?;
    tokio::time::timeout(FETCH_TIMEOUT, get(uri))
        .await
        .map_err(|_| FetchError("timed out".into()))?
}

async fn get(uri: &str) -> Result<ClientJwks, FetchError> {
    let url = Url::parse(uri).map_err(|e| failed("url")(&e))?;
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let tcp = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
        .await
        .map_err(|e| failed("connect")(&e))?;
    // One connection type, so that hyper's HTTP/1 client is compiled once. Plain http only
    // reaches loopback addresses: `check_jwks_uri` refuses the rest.
    let stream: Box<dyn Connection> = if url.scheme() == "https" {
        let name = ServerName::try_from(host.to_string()).map_err(|e| failed("host")(&e))?;
        Box::new(
            tls()?
                .connect(name, tcp)
                .await
                .map_err(|e| failed("tls")(&e))?,
        )
    } else {
        Box::new(tcp)
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| failed("handshake")(&e))?;
    tokio::spawn(connection);
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let request = http::Request::get(path)
        .header(http::header::HOST, authority)
        .header(http::header::ACCEPT, "application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|e| failed("request")(&e))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| failed("request failed")(&e))?;
    if response.status() != http::StatusCode::OK {
        return Err(FetchError(format!("answered {}", response.status())));
    }
    let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
        .collect()
        .await
        .map_err(|e| failed("body")(&*e))?
        .to_bytes();
    let text = std::str::from_utf8(&body).map_err(|_| FetchError("not UTF-8".into()))?;
    ClientJwks::parse(text).map_err(|error| FetchError(error.to_string()))
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
