//! The only place that knows about Lambda: converts API Gateway's events (`HttpApiEvent`) to
//! `HttpRequest` and `HttpResponse` back (`HttpApiResponse`), sets up logging, and runs an
//! endpoint's `handle` over the `App` a function builds once (`run`), on lambda_runtime
//! (through lambda_http's re-export).

use crate::app::App;
use crate::http::{HttpRequest, HttpResponse};
use crate::oauth::{ErrorCode, ErrorResponse};
use crate::store::dynamo::DynamoStore;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::header::{HeaderName, COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method};
use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

pub use lambda_http::Error;

/// JSON log lines to CloudWatch; level from `RUST_LOG` (default `info`).
/// Nothing logs request bodies, headers or query strings: they carry secrets.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();
}

/// What API Gateway's HTTP API hands a function (payload format 2.0): the parts the endpoints
/// read, read leniently. lambda_http's own conversion `expect`s the request URI it builds from
/// `rawPath` and `rawQueryString` to parse (a query with a character the `http` crate refuses
/// made the function panic: API Gateway answers 500), and its event type refuses a header value
/// outside visible ASCII; here the query stays the bytes the client sent (`Params` reads them),
/// and a header that cannot be a header is left out.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiEvent {
    // Absent or null alike (`cargo lambda watch` sends `null` for an empty query).
    #[serde(default, deserialize_with = "null_as_default")]
    raw_path: String,
    #[serde(default, deserialize_with = "null_as_default")]
    raw_query_string: String,
    /// API Gateway moves the `Cookie` header's pairs here.
    #[serde(default, deserialize_with = "null_as_default")]
    cookies: Vec<String>,
    /// Lower-case names; the values of a repeated header joined with commas.
    #[serde(default, deserialize_with = "null_as_default")]
    headers: HashMap<String, String>,
    request_context: EventContext,
    #[serde(default)]
    body: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    is_base64_encoded: bool,
}

#[derive(Debug, Deserialize)]
struct EventContext {
    http: EventHttp,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventHttp {
    #[serde(default, deserialize_with = "null_as_default")]
    method: String,
    /// The peer of API Gateway's TCP connection, which the client cannot choose
    /// (`X-Forwarded-For` it can). `cargo lambda watch` always puts `127.0.0.1` there.
    #[serde(default)]
    source_ip: Option<String>,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An event that names no HTTP method, or whose base64 body does not decode: API Gateway never
/// sends one, and the answer is a 400.
#[derive(Debug, PartialEq, Eq)]
pub struct UnreadableEvent;

impl HttpApiEvent {
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    pub fn into_request(self) -> Result<HttpRequest, UnreadableEvent> {
        let method = Method::from_bytes(self.request_context.http.method.as_bytes())
            .map_err(|_| UnreadableEvent)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                headers.append(name, value);
            }
        }
        if !self.cookies.is_empty() {
            if let Ok(cookie) = HeaderValue::from_bytes(self.cookies.join("; ").as_bytes()) {
                headers.insert(COOKIE, cookie);
            }
        }
        let body = match (self.body, self.is_base64_encoded) {
            (None, _) => Vec::new(),
            (Some(text), false) => text.into_bytes(),
            (Some(encoded), true) => STANDARD.decode(encoded).map_err(|_| UnreadableEvent)?,
        };
        Ok(HttpRequest {
            method,
            path: self.raw_path,
            query: (!self.raw_query_string.is_empty()).then_some(self.raw_query_string),
            headers,
            body,
            source_ip: self
                .request_context
                .http
                .source_ip
                .and_then(|ip| ip.parse().ok()),
        })
    }
}

/// The answer as API Gateway reads it (payload format 2.0): `Set-Cookie` headers go to
/// `cookies`, a repeated header's values are joined with commas (there are no multi-value
/// headers in this format).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiResponse {
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    /// Always present, empty or not: `cargo lambda watch` reads the answer as lambda_http's
    /// event type, which requires it.
    pub cookies: Vec<String>,
    pub body: String,
    pub is_base64_encoded: bool,
}

impl From<HttpResponse> for HttpApiResponse {
    fn from(response: HttpResponse) -> Self {
        let (parts, body) = response.into_parts();
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        let mut cookies = Vec::new();
        for (name, value) in &parts.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            if name == SET_COOKIE {
                cookies.push(value);
            } else {
                headers
                    .entry(name.as_str().to_string())
                    .and_modify(|joined| {
                        joined.push_str(", ");
                        joined.push_str(&value);
                    })
                    .or_insert(value);
            }
        }
        HttpApiResponse {
            status_code: parts.status.as_u16(),
            headers,
            cookies,
            body,
            is_base64_encoded: false,
        }
    }
}

/// One invocation, as every function runs it: the event becomes a request, the handler
/// answers it (an unreadable event gets a 400 without it), the answer becomes API Gateway's.
pub async fn answer<H, F>(handler: &H, event: HttpApiEvent) -> HttpApiResponse
where
    H: Fn(HttpRequest) -> F,
    F: Future<Output = HttpResponse>,
{
    let response = match event.into_request() {
        Ok(request) => handler(request).await,
        Err(UnreadableEvent) => {
            ErrorResponse::bad_request(ErrorCode::InvalidRequest, "the request could not be read")
                .render()
        }
    };
    HttpApiResponse::from(response)
}

/// An endpoint's `handle`, as every function runs it: `endpoints::<name>::handle`.
/// (A trait rather than a bound on `Fn`, because the future borrows the app and the request.)
pub trait Endpoint<'a>: Sync {
    type Future: Future<Output = HttpResponse> + Send + 'a;
    fn call(&self, app: &'a App<DynamoStore>, request: &'a HttpRequest) -> Self::Future;
}

impl<'a, H, F> Endpoint<'a> for H
where
    H: Fn(&'a App<DynamoStore>, &'a HttpRequest) -> F + Sync,
    F: Future<Output = HttpResponse> + Send + 'a,
{
    type Future = F;
    fn call(&self, app: &'a App<DynamoStore>, request: &'a HttpRequest) -> F {
        self(app, request)
    }
}

/// A function's whole `main`: logging, then the configuration, the DynamoDB client and the
/// warm cache once (no network call: the first request opens the connection), then the
/// handler loop, one invocation at a time. After each request, one log line says what it
/// cost in DynamoDB: round trips, and the read and write units DynamoDB reported (one request
/// at a time, so the store's counts are the request's). If `AWS_LAMBDA_MAX_CONCURRENCY` is
/// set (Lambda Managed Instances), lambda_runtime logs a warning and still runs sequentially.
pub async fn run<H>(endpoint: H) -> Result<(), Error>
where
    H: for<'a> Endpoint<'a>,
{
    init_tracing();
    let (app, usage) = App::from_env().await?;
    let (app, endpoint, usage) = (&app, &endpoint, &usage);
    serve(|request| async move {
        usage.reset();
        let response = endpoint.call(app, &request).await;
        let counts = usage.counts();
        tracing::info!(
            status = response.status().as_u16(),
            round_trips = counts.round_trips,
            read_units = counts.read_units,
            write_units = counts.write_units,
            "dynamodb usage"
        );
        response
    })
    .await
}

/// `run` for a function that answers several invocations at once where Lambda sends them
/// (docs/performance.md, "Concurrency per instance"): with `AWS_LAMBDA_MAX_CONCURRENCY`
/// above 1, which only Lambda Managed Instances set, that many workers each poll the Runtime
/// API on this (current-thread) runtime and share the one `App`; unset or at most 1, as on
/// Lambda's default capacity, exactly `run` (with its per-request DynamoDB usage line, which
/// concurrent requests, sharing the store's counts, cannot have).
pub async fn run_concurrent<H>(endpoint: H) -> Result<(), Error>
where
    H: for<'a> Endpoint<'a> + Copy + Send + 'static,
{
    let concurrent = std::env::var("AWS_LAMBDA_MAX_CONCURRENCY")
        .ok()
        .and_then(|value| value.trim().parse::<u32>().ok())
        .is_some_and(|workers| workers > 1);
    if !concurrent {
        return run(endpoint).await;
    }
    init_tracing();
    // Shared by every worker for the life of the process, as `run`'s is: leaked, not counted.
    let (app, _usage) = App::from_env().await?;
    let app: &'static App<DynamoStore> = Box::leak(Box::new(app));
    serve_concurrent(move |request| async move { endpoint.call(app, &request).await }).await
}

/// Runs the handler loop. The handler answers every request itself, errors included,
/// so the runtime never turns a failure into a bare 502.
pub async fn serve<H, F>(handler: H) -> Result<(), Error>
where
    H: Fn(HttpRequest) -> F,
    F: Future<Output = HttpResponse> + Send,
{
    let handler = &handler;
    // Boxed: the endpoint's future inside the runtime's nests too deep for the compiler's
    // layout query (a `recursion_limit` error in the functions' test builds otherwise).
    lambda_runtime::run(service_fn(|event: LambdaEvent<HttpApiEvent>| {
        let answered: Pin<Box<dyn Future<Output = HttpApiResponse> + '_>> =
            Box::pin(answer(handler, event.payload));
        async move { Ok::<_, Infallible>(answered.await) }
    }))
    .await
}

/// `serve` on lambda_runtime's `run_concurrent`: each worker holds a clone of the handler, and
/// the futures are `Send + 'static` because the workers are tokio tasks. Sequential when
/// `AWS_LAMBDA_MAX_CONCURRENCY` is unset or at most 1.
pub async fn serve_concurrent<H, F>(handler: H) -> Result<(), Error>
where
    H: Fn(HttpRequest) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = HttpResponse> + Send + 'static,
{
    lambda_runtime::run_concurrent(service_fn(move |event: LambdaEvent<HttpApiEvent>| {
        let handler = handler.clone();
        // Boxed for the same reason as in `serve`.
        let answered: Pin<Box<dyn Future<Output = HttpApiResponse> + Send>> =
            Box::pin(async move { answer(&handler, event.payload).await });
        async move { Ok::<_, Infallible>(answered.await) }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: serde_json::Value) -> Result<HttpRequest, UnreadableEvent> {
        match HttpApiEvent::from_json(&json.to_string()) {
            Ok(event) => event.into_request(),
            Err(error) => panic!("the event does not deserialize: {error}"),
        }
    }

    #[test]
    fn nulls_are_absent_values() {
        let request = event(serde_json::json!({
            "rawPath": "/oauth/scopes", "rawQueryString": null, "cookies": null, "headers": null,
            "requestContext": {"http": {"method": "GET", "sourceIp": null}},
            "body": null, "isBase64Encoded": null
        }));
        assert!(matches!(request, Ok(r) if r.query.is_none() && r.body.is_empty()));
    }

    #[test]
    fn the_query_is_kept_as_sent_and_cookies_become_one_header() {
        let request = event(serde_json::json!({
            "rawPath": "/oauth/authorize", "rawQueryString": "a={\"|}^`&a=%zz",
            "cookies": ["a=1", "b=2"], "headers": {"x-odd": "café", "bad name": "x"},
            "requestContext": {"http": {"method": "GET", "sourceIp": "192.0.2.1"}}
        }));
        let Ok(request) = request else {
            panic!("not converted")
        };
        assert_eq!(request.query.as_deref(), Some("a={\"|}^`&a=%zz"));
        assert_eq!(request.cookie("b"), Some("2"));
        assert_eq!(
            request.headers.get("x-odd").map(|v| v.as_bytes()),
            Some("café".as_bytes())
        );
        assert_eq!(
            request.headers.len(),
            2,
            "the header whose name cannot be one is left out"
        );
        assert_eq!(request.source_ip, "192.0.2.1".parse().ok());
    }

    #[test]
    fn an_event_without_a_method_or_with_a_bad_base64_body_is_unreadable() {
        let context = serde_json::json!({"http": {"method": "GET"}});
        assert_eq!(
            event(serde_json::json!({"requestContext": context, "body": "%%", "isBase64Encoded": true}))
                .err(),
            Some(UnreadableEvent)
        );
        assert_eq!(
            event(serde_json::json!({"requestContext": {"http": {"method": ""}}})).err(),
            Some(UnreadableEvent)
        );
    }

    #[test]
    fn set_cookie_goes_to_cookies_and_repeated_headers_are_joined() {
        let response = http::Response::builder()
            .status(303)
            .header("set-cookie", "a=1")
            .header("set-cookie", "b=2")
            .header("vary", "cookie")
            .header("vary", "origin")
            .body(String::new());
        let Ok(response) = response else {
            panic!("not a response")
        };
        let answer = HttpApiResponse::from(response);
        // What `cargo lambda watch` (and lambda_http's own type) reads back.
        let json = serde_json::to_string(&answer).unwrap_or_default();
        let read: Result<lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse, _> =
            serde_json::from_str(&json);
        assert!(
            matches!(read, Ok(read) if read.status_code == 303 && read.cookies.len() == 2),
            "{json}"
        );
        assert_eq!(answer.cookies, ["a=1", "b=2"]);
        let plain = HttpApiResponse::from(http::Response::new(String::new()));
        let json = serde_json::to_string(&plain).unwrap_or_default();
        let read: Result<lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse, _> =
            serde_json::from_str(&json);
        assert!(
            read.is_ok(),
            "an answer without cookies or body reads too: {json}"
        );
        assert_eq!(
            answer.headers.get("vary").map(String::as_str),
            Some("cookie, origin")
        );
        assert!(!answer.headers.contains_key("set-cookie"));
    }
}
