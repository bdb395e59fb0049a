//! The only place that knows about Lambda: converts API Gateway events to
//! `HttpRequest` and `HttpResponse` back, and sets up logging.

use crate::http::{HttpRequest, HttpResponse};
use lambda_http::{service_fn, Body, Request, Response};
use std::convert::Infallible;
use std::future::Future;

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
