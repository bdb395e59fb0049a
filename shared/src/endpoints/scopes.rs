//! `GET /oauth/scopes`: the public scope catalogue.

use super::storage_failure;
use crate::http::{json, oauth_error, HttpRequest, HttpResponse};
use crate::model::Scope;
use crate::store::ScopeStore;
use http::header::{HeaderValue, CACHE_CONTROL};
use http::{Method, StatusCode};
use serde::Serialize;

#[derive(Serialize)]
struct ScopeList {
    scopes: Vec<Scope>,
}

pub async fn handle<S: ScopeStore>(store: &S, request: &HttpRequest) -> HttpResponse {
    if request.method != Method::GET {
        return oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request", "use GET");
    }
    match store.list_scopes().await {
        Ok(scopes) => {
            let mut response = json(StatusCode::OK, &ScopeList { scopes });
            // Public and rarely changed: a minute of caching spares the table.
            response.headers_mut().insert(
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=60"),
            );
            response
        }
        Err(error) => storage_failure("listing scopes failed", error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn lists_the_catalogue_sorted() {
        let store = MemoryStore::default();
        for (name, description) in [("write", "Change things"), ("read", "Read things")] {
            let scope = Scope {
                name: name.into(),
                description: description.into(),
            };
            assert!(store.create_scope(&scope).await.is_ok());
        }
        let response = handle(&store, &HttpRequest::new(Method::GET, "/oauth/scopes")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.body(),
            r#"{"scopes":[{"name":"read","description":"Read things"},{"name":"write","description":"Change things"}]}"#
        );
    }

    #[tokio::test]
    async fn empty_catalogue_is_an_empty_list() {
        let response = handle(
            &MemoryStore::default(),
            &HttpRequest::new(Method::GET, "/oauth/scopes"),
        )
        .await;
        assert_eq!(response.body(), r#"{"scopes":[]}"#);
    }

    #[tokio::test]
    async fn other_methods_are_refused() {
        let response = handle(
            &MemoryStore::default(),
            &HttpRequest::new(Method::POST, "/oauth/scopes"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
