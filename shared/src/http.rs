//! HTTP in the domain's terms: a plain request value (no Lambda types), strict
//! parameter parsing (RFC 6749 3.1: repeated parameters refused, empty ones ignored),
//! and the response shapes every endpoint uses (the OAuth error response: `oauth`).

use http::header::{HeaderMap, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{Method, StatusCode};
use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

/// The largest query string or body accepted, far above any honest OAuth request.
pub const MAX_INPUT_BYTES: usize = 32 * 1024;

/// `Debug` shows only the method, the path and the header names: the body, the query,
/// cookies and `Authorization` carry passwords, codes and secrets.
#[derive(Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The address API Gateway saw the request come from (`requestContext.http.sourceIp`),
    /// not a header the client chose; `None` outside API Gateway or when it is not an address.
    pub source_ip: Option<IpAddr>,
}

pub type HttpResponse = http::Response<String>;

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.keys().map(|name| name.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &header_names)
            .finish_non_exhaustive()
    }
}

impl HttpRequest {
    pub fn new(method: Method, path_and_query: &str) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path.to_string(), Some(query.to_string())),
            None => (path_and_query.to_string(), None),
        };
        HttpRequest {
            method,
            path,
            query,
            headers: HeaderMap::new(),
            body: Vec::new(),
            source_ip: None,
        }
    }

    pub fn with_source_ip(mut self, source_ip: IpAddr) -> Self {
        self.source_ip = Some(source_ip);
        self
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.append(name, value);
        }
        self
    }

    pub fn with_form(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self.with_header("content-type", "application/x-www-form-urlencoded")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A cookie's value, from any `Cookie` header.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value)
    }

    pub fn query_params(&self) -> Result<Params, ParamError> {
        Params::parse(self.query.as_deref().unwrap_or("").as_bytes())
    }

    /// The body as `application/x-www-form-urlencoded` parameters; any other content type is refused.
    pub fn form_params(&self) -> Result<Params, ParamError> {
        let content_type = self.header("content-type").unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(ParamError::ContentType);
        }
        Params::parse(&self.body)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ParamError {
    Malformed,
    TooLarge,
    ContentType,
}

impl ParamError {
    pub fn description(&self) -> &'static str {
        match self {
            ParamError::Malformed => "the parameters are not valid percent-encoded UTF-8",
            ParamError::TooLarge => "the request is too large",
            ParamError::ContentType => "the body must be application/x-www-form-urlencoded",
        }
    }
}

/// Decoded parameters, empty values dropped (RFC 6749 3.1). A repeated name keeps
/// its first value and is recorded, so that each endpoint decides how to refuse it.
/// `Debug` shows the names only: values include passwords, codes and verifiers.
#[derive(Default, Clone)]
pub struct Params {
    values: HashMap<String, String>,
    repeated: Vec<String>,
    /// Every value of a parameter that may be repeated (`MULTI_VALUED`), in order.
    multi: HashMap<String, Vec<String>>,
}

/// The parameters that may appear more than once: RFC 8707's `resource`, one per API.
pub const MULTI_VALUED: [&str; 1] = ["resource"];

impl Params {
    pub fn parse(input: &[u8]) -> Result<Self, ParamError> {
        if input.len() > MAX_INPUT_BYTES {
            return Err(ParamError::TooLarge);
        }
        let mut params = Params::default();
        let mut seen = std::collections::HashSet::new();
        for pair in input.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            if MULTI_VALUED.contains(&name.as_str()) {
                if !value.is_empty() {
                    params
                        .multi
                        .entry(name.clone())
                        .or_default()
                        .push(value.clone());
                    params.values.entry(name).or_insert(value);
                }
                continue;
            }
            if !seen.insert(name.clone()) {
                params.repeated.push(name);
            } else if !value.is_empty() {
                params.values.insert(name, value);
            }
        }
        Ok(params)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Every non-empty value of a parameter that may be repeated (`MULTI_VALUED`).
    pub fn get_all(&self, name: &str) -> &[String] {
        self.multi.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether the parameter appeared more than once.
    pub fn is_repeated(&self, name: &str) -> bool {
        self.repeated.iter().any(|n| n == name)
    }

    /// The first parameter that appeared more than once (RFC 6749 3.1 forbids that).
    pub fn first_repeated(&self) -> Option<&str> {
        self.repeated.first().map(String::as_str)
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.values.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Params")
            .field("names", &names)
            .field("repeated", &self.repeated)
            .finish()
    }
}

fn decode(raw: &[u8]) -> Result<String, ParamError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    let bytes: Vec<u8> = percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|_| ParamError::Malformed)
}

/// Characters left as they are in a query component (RFC 3986 unreserved).
const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_ESCAPE).to_string()
}

/// `base` with the parameters appended to its query (RFC 6749 3.1.2: keep any query it has).
pub fn append_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut url = base.to_string();
    let mut separator = if base.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        url.push(separator);
        url.push_str(name);
        url.push('=');
        url.push_str(&encode(value));
        separator = '&';
    }
    url
}

pub fn form_encode(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) fn response(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> HttpResponse {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    match serde_json::to_string(value) {
        Ok(body) => response(status, "application/json", body),
        Err(_) => crate::oauth::server_error(),
    }
}

/// Marks a response as carrying a credential: never to be cached (RFC 6749 5.1).
pub fn no_store(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("pragma", HeaderValue::from_static("no-cache"));
    response
}

pub fn redirect(status: StatusCode, location: &str) -> HttpResponse {
    let mut response = http::Response::new(String::new());
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// An HTML page with the headers that every page carries: no framing (RFC 9700 4.16),
/// no caching, no referrer, a content security policy allowing only our own stylesheet.
pub fn html(status: StatusCode, body: String, style_hash: &str) -> HttpResponse {
    let mut response = response(status, "text/html; charset=utf-8", body);
    let headers = response.headers_mut();
    let csp = format!(
        "default-src 'none'; style-src 'sha256-{style_hash}'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert("content-security-policy", value);
    }
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_decoded_and_empty_ones_ignored() {
        let params = Params::parse(b"a=1&b=&c=x+y%2Bz&d").unwrap_or_default();
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some("x y+z"));
        assert_eq!(params.get("d"), None);
    }

    #[test]
    fn repeated_parameters_are_recorded() {
        let params = Params::parse(b"a=1&b=2&a=").unwrap_or_default();
        assert!(params.is_repeated("a"));
        assert!(!params.is_repeated("b"));
        assert_eq!(params.first_repeated(), Some("a"));
        assert_eq!(params.get("a"), Some("1"));
    }

    #[test]
    fn invalid_utf8_and_oversize_are_refused() {
        assert_eq!(Params::parse(b"a=%ff").err(), Some(ParamError::Malformed));
        assert_eq!(
            Params::parse(&vec![b'a'; MAX_INPUT_BYTES + 1]).err(),
            Some(ParamError::TooLarge)
        );
    }

    #[test]
    fn form_needs_its_content_type() {
        let req = HttpRequest::new(Method::POST, "/x");
        assert_eq!(req.form_params().err(), Some(ParamError::ContentType));
        let req = HttpRequest::new(Method::POST, "/x")
            .with_form("a=1")
            .with_header("x", "y");
        assert!(req.form_params().is_ok());
    }

    #[test]
    fn query_is_appended_to_an_existing_one() {
        assert_eq!(
            append_query("https://a/cb?x=1", &[("state", "a b&c")]),
            "https://a/cb?x=1&state=a%20b%26c"
        );
        assert_eq!(
            append_query("https://a/cb", &[("code", "k")]),
            "https://a/cb?code=k"
        );
    }

    #[test]
    fn debug_shows_no_body_query_cookie_or_authorization() {
        let req = HttpRequest::new(Method::POST, "/login?code=code-value-1")
            .with_form("username=alice&password=hunter2-password")
            .with_header("cookie", "sid=session-cookie-value")
            .with_header("authorization", "Basic Y2xpZW50OnNlY3JldC12YWx1ZQ==");
        let printed = format!("{req:?} {req:#?}");
        for secret in [
            "hunter2-password",
            "alice",
            "session-cookie-value",
            "Y2xpZW50OnNlY3JldC12YWx1ZQ==",
            "Basic",
            "code-value-1",
        ] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        // What it shows is enough to tell requests apart in a log.
        assert!(printed.contains("POST") && printed.contains("/login"));
        assert!(printed.contains("cookie") && printed.contains("authorization"));
    }

    #[test]
    fn params_debug_shows_names_not_values() {
        let params =
            Params::parse(b"password=hunter2-password&code=c0de&code=again").unwrap_or_default();
        let printed = format!("{params:?}");
        assert!(!printed.contains("hunter2-password") && !printed.contains("c0de"));
        assert!(!printed.contains("again"));
        assert!(printed.contains("password") && printed.contains("code"));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let req = HttpRequest::new(Method::GET, "/").with_header("cookie", "a=1; sid=xyz; b=2");
        assert_eq!(req.cookie("sid"), Some("xyz"));
        assert_eq!(req.cookie("c"), None);
    }
}
