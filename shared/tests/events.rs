//! Handlers fed by the sample API Gateway events of `events/` (the same files that
//! `cargo lambda invoke --data-file` uses), through the Lambda adapter.

use auth_core::endpoints::scopes;
use auth_core::lambda::{into_http_request, into_lambda_response};
use auth_core::model::Scope;
use auth_core::store::memory::MemoryStore;
use auth_core::store::ScopeStore;
use lambda_http::Body;

fn event(json: &str) -> auth_core::http::HttpRequest {
    match lambda_http::request::from_str(json) {
        Ok(request) => into_http_request(request),
        Err(error) => panic!("invalid sample event: {error}"),
    }
}

#[tokio::test]
async fn scopes_event_lists_the_catalogue() {
    let store = MemoryStore::default();
    let scope = Scope {
        name: "profile".into(),
        description: "Read your profile".into(),
    };
    assert!(store.create_scope(&scope).await.is_ok());
    let request = event(include_str!("../../events/scopes.json"));
    assert_eq!(request.path, "/oauth/scopes");
    let response = into_lambda_response(scopes::handle(&store, &request).await);
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );
    let Body::Text(body) = response.body() else {
        panic!("expected a text body")
    };
    assert_eq!(
        body,
        r#"{"scopes":[{"name":"profile","description":"Read your profile"}]}"#
    );
}
