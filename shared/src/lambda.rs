//! The only place that knows about Lambda: converts API Gateway events to
//! `HttpRequest` and `HttpResponse` back, sets up logging, and runs an endpoint's
//! `handle` over the `App` a function builds once (`run`).

use crate::app::App;
use crate::http::{HttpRequest, HttpResponse};
use crate::store::dynamo::DynamoStore;
use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;

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

pub fn into_http_request(request: Request) -> HttpRequest {
    let source_ip = source_ip(&request);
    let (parts, body) = request.into_parts();
    let body = match body {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    HttpRequest {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        headers: parts.headers,
        body,
        source_ip,
    }
}

/// API Gateway's `requestContext.http.sourceIp` (payload format 2.0): the peer of its TCP
/// connection, which the client cannot choose (`X-Forwarded-For` it can). `cargo lambda
/// watch` always puts `127.0.0.1` there.
fn source_ip(request: &Request) -> Option<IpAddr> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.http.source_ip.as_deref()?.parse().ok()
        }
        _ => None,
    }
}

pub fn into_lambda_response(response: HttpResponse) -> Response<Body> {
    let (parts, body) = response.into_parts();
    let body = if body.is_empty() {
        Body::Empty
    } else {
        Body::Text(body)
    };
    Response::from_parts(parts, body)
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
/// handler loop.
pub async fn run<H>(endpoint: H) -> Result<(), Error>
where
    H: for<'a> Endpoint<'a>,
{
    init_tracing();
    let app = App::from_env().await?;
    let (app, endpoint) = (&app, &endpoint);
    serve(|request| async move { endpoint.call(app, &request).await }).await
}

/// Runs the handler loop. The handler answers every request itself, errors included,
/// so the runtime never turns a failure into a bare 502.
pub async fn serve<H, F>(handler: H) -> Result<(), Error>
where
    H: Fn(HttpRequest) -> F,
    F: Future<Output = HttpResponse> + Send,
{
    lambda_http::run(service_fn(|request: Request| {
        let response = handler(into_http_request(request));
        async move { Ok::<_, Infallible>(into_lambda_response(response.await)) }
    }))
    .await
}
