//! `GET /oauth/scopes`: the public scope catalogue.

use super::StoreContext;
use crate::app::App;
use crate::http::{json, HttpRequest, HttpResponse};
use crate::model::Scope;
use crate::oauth::ErrorResponse;
use crate::store::ScopeReader;
use http::header::{HeaderValue, CACHE_CONTROL};
use http::{Method, StatusCode};
use serde::Serialize;

#[derive(Serialize)]
struct ScopeList {
    scopes: Vec<Scope>,
}

pub async fn handle<S: ScopeReader>(app: &App<S>, request: &HttpRequest) -> HttpResponse {
    if request.method != Method::GET {
        return ErrorResponse::method_not_allowed("use GET").render();
    }
    match app
        .store
        .list_scopes()
        .await
        .context("listing scopes failed")
    {
        Ok(scopes) => render(scopes),
        Err(failure) => failure.into_json(),
    }
}

fn render(scopes: Vec<Scope>) -> HttpResponse {
    let mut response = json(StatusCode::OK, &ScopeList { scopes });
    // Public and rarely changed: a minute of caching spares the table.
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::store::memory::MemoryStore;
    use crate::store::ScopeAdmin;

    fn app() -> App<MemoryStore> {
        App::new(Config::for_tests(), MemoryStore::default())
    }

    #[tokio::test]
    async fn lists_the_catalogue_sorted() {
        let app = app();
        for (name, description) in [("write", "Change things"), ("read", "Read things")] {
            let scope = Scope {
                name: name.into(),
                description: description.into(),
            };
            assert!(app.store.create_scope(&scope).await.is_ok());
        }
        let response = handle(&app, &HttpRequest::new(Method::GET, "/oauth/scopes")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.body(),
            r#"{"scopes":[{"name":"read","description":"Read things"},{"name":"write","description":"Change things"}]}"#
        );
    }

    #[tokio::test]
    async fn empty_catalogue_is_an_empty_list() {
        let response = handle(&app(), &HttpRequest::new(Method::GET, "/oauth/scopes")).await;
        assert_eq!(response.body(), r#"{"scopes":[]}"#);
    }

    #[tokio::test]
    async fn other_methods_are_refused() {
        let response = handle(&app(), &HttpRequest::new(Method::POST, "/oauth/scopes")).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}
