//! CORS for browser apps (issue 15.1, `auth_core::cors`): token and revoke answer the origins
//! their client registered (its redirect URIs' and `--web-origin`s) and refuse any other
//! before doing anything; UserInfo, metadata and JWKS answer every origin; the pages none.

use crate::common::fixtures::{code_grant, set, world, World, REDIRECT, SUB};
use crate::common::pkce::VERIFIER;
use crate::common::requests::{client_post, header, json_body};

use auth_core::endpoints::{authorize, jwks, login, metadata, revoke, token, userinfo};
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use auth_core::secret::AuthorizationCode;
use auth_core::store::CodeRedemptionStore;
use http::{Method, StatusCode};

/// The origin of `REDIRECT`, which every client of the fixtures registers.
const APP_ORIGIN: &str = "https://app.example";
const EVIL_ORIGIN: &str = "https://evil.example";

fn allowed_origin(response: &HttpResponse) -> Option<&str> {
    header(response, "access-control-allow-origin")
}

/// A public browser app's code exchange, from `origin`.
fn spa_exchange(code: &str, origin: &str) -> HttpRequest {
    HttpRequest::new(Method::POST, "/oauth/token")
        .with_form(&form_encode(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", "spa"),
        ]))
        .with_header("origin", origin)
}

impl World {
    async fn with_spa_code(self, code: &str) -> Self {
        self.add_code(code_grant(code, "spa", SUB, set(&["read"])))
            .await;
        self
    }

    async fn code_is_unspent(&self, code: &str) -> bool {
        let hash = AuthorizationCode::new(code).hash();
        match self.app.store.get_code(&hash).await {
            Ok(Some(grant)) => grant.redeemed_at.is_none(),
            other => panic!("the code is gone: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_browser_app_at_its_redirect_uris_origin_reads_its_tokens() {
    let w = world().await.with_spa_code("c-cors").await;
    let response = token::handle(&w.app, &spa_exchange("c-cors", APP_ORIGIN)).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    assert_eq!(allowed_origin(&response), Some(APP_ORIGIN));
    assert_eq!(header(&response, "vary"), Some("origin"));
    assert_eq!(header(&response, "access-control-allow-credentials"), None);
    let refresh = json_body(&response)["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Its refresh, and an error after the client is known (a spent token), are readable too.
    let refresh_request = |token: &str| {
        HttpRequest::new(Method::POST, "/oauth/token")
            .with_form(&form_encode(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", "spa"),
            ]))
            .with_header("origin", APP_ORIGIN)
    };
    let refreshed = token::handle(&w.app, &refresh_request(&refresh)).await;
    assert_eq!(refreshed.status(), StatusCode::OK, "{}", refreshed.body());
    assert_eq!(allowed_origin(&refreshed), Some(APP_ORIGIN));
    let replayed = token::handle(&w.app, &refresh_request(&refresh)).await;
    assert_eq!(json_body(&replayed)["error"], "invalid_grant");
    assert_eq!(allowed_origin(&replayed), Some(APP_ORIGIN));
}

#[tokio::test]
async fn an_origin_the_client_did_not_register_is_refused_before_the_code_is_spent() {
    let w = world().await.with_spa_code("c-evil").await;
    for origin in [
        EVIL_ORIGIN,
        "null",
        "https://app.example:8443",
        "http://app.example",
    ] {
        let response = token::handle(&w.app, &spa_exchange("c-evil", origin)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{origin}");
        assert_eq!(json_body(&response)["error"], "invalid_request", "{origin}");
        assert_eq!(
            json_body(&response)["error_description"],
            "this client has not registered the origin of the request"
        );
        assert_eq!(allowed_origin(&response), None, "{origin}");
        assert!(
            w.code_is_unspent("c-evil").await,
            "{origin}: the code was spent"
        );
    }
    // The same request without `Origin` (a server, a native app) is not a browser's.
    let mut request = spa_exchange("c-evil", APP_ORIGIN);
    request.headers.remove("origin");
    let response = token::handle(&w.app, &request).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    assert_eq!(allowed_origin(&response), None);
}

#[tokio::test]
async fn answers_given_before_the_client_is_known_name_no_origin() {
    let w = world().await;
    let unknown_client = client_post("/oauth/token", "nobody", &[("grant_type", "refresh_token")])
        .with_header("origin", APP_ORIGIN);
    let wrong_secret = HttpRequest::new(Method::POST, "/oauth/token")
        .with_form(&form_encode(&[
            ("grant_type", "client_credentials"),
            ("client_id", "app"),
            ("client_secret", "wrong"),
        ]))
        .with_header("origin", APP_ORIGIN);
    let not_a_form = HttpRequest::new(Method::POST, "/oauth/token")
        .with_header("content-type", "application/json")
        .with_header("origin", APP_ORIGIN);
    for (what, request) in [
        ("unknown client", unknown_client),
        ("wrong secret", wrong_secret),
        ("not a form", not_a_form),
    ] {
        let response = token::handle(&w.app, &request).await;
        assert!(response.status().is_client_error(), "{what}");
        assert_eq!(allowed_origin(&response), None, "{what}");
    }
}

#[tokio::test]
async fn a_web_origin_registered_besides_the_redirect_uris_is_allowed() {
    use auth_core::model::{ClientKind, ClientRegistration, GrantType};
    let w = world()
        .await
        .with_clients([ClientRegistration {
            web_origins: vec!["https://static.example".into()],
            ..crate::common::fixtures::client(
                "spa2",
                ClientKind::Public,
                &[GrantType::AuthorizationCode],
            )
        }])
        .await;
    w.add_code(code_grant("c-web", "spa2", SUB, set(&["read"])))
        .await;
    let mut request = spa_exchange("c-web", "https://static.example");
    request.body = form_encode(&[
        ("grant_type", "authorization_code"),
        ("code", "c-web"),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", "spa2"),
    ])
    .into_bytes();
    let response = token::handle(&w.app, &request).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    assert_eq!(allowed_origin(&response), Some("https://static.example"));
}

#[tokio::test]
async fn revoke_answers_the_clients_origins_only() {
    let w = world().await;
    let revoke_from = |origin: &str| {
        HttpRequest::new(Method::POST, "/oauth/revoke")
            .with_form(&form_encode(&[
                ("token", "not-a-token"),
                ("client_id", "spa"),
            ]))
            .with_header("origin", origin)
    };
    let allowed = revoke::handle(&w.app, &revoke_from(APP_ORIGIN)).await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allowed_origin(&allowed), Some(APP_ORIGIN));
    let refused = revoke::handle(&w.app, &revoke_from(EVIL_ORIGIN)).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(&refused)["error"], "invalid_request");
    assert_eq!(allowed_origin(&refused), None);
}

#[tokio::test]
async fn preflights_are_answered_without_reading_anything() {
    let w = world().await;
    let calls = w.app.store.calls();
    let preflight = |path: &str| {
        HttpRequest::new(Method::OPTIONS, path)
            .with_header("origin", EVIL_ORIGIN)
            .with_header("access-control-request-method", "POST")
    };
    // Any origin may ask: the request that follows is checked against its client.
    let token = token::handle(&w.app, &preflight("/oauth/token")).await;
    let revoke = revoke::handle(&w.app, &preflight("/oauth/revoke")).await;
    for response in [&token, &revoke] {
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(allowed_origin(response), Some(EVIL_ORIGIN));
        assert_eq!(
            header(response, "access-control-allow-methods"),
            Some("POST")
        );
    }
    let userinfo = userinfo::handle(&w.app, &preflight("/oauth/userinfo")).await;
    assert_eq!(userinfo.status(), StatusCode::NO_CONTENT);
    assert_eq!(allowed_origin(&userinfo), Some("*"));
    assert_eq!(w.app.store.calls(), calls);
}

#[tokio::test]
async fn public_documents_and_userinfo_are_open_to_every_origin() {
    let w = world().await;
    let get = |path: &str| HttpRequest::new(Method::GET, path).with_header("origin", EVIL_ORIGIN);
    let metadata = metadata::handle(&w.app, &get("/.well-known/openid-configuration")).await;
    let jwks = jwks::handle(&w.app, &get("/.well-known/jwks.json")).await;
    let userinfo = userinfo::handle(&w.app, &get("/oauth/userinfo")).await;
    for response in [&metadata, &jwks, &userinfo] {
        assert_eq!(allowed_origin(response), Some("*"));
    }
    // UserInfo's 401 says why in WWW-Authenticate, which a browser app may read.
    assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&userinfo, "access-control-expose-headers"),
        Some("www-authenticate")
    );
}

#[tokio::test]
async fn pages_never_answer_cors() {
    let w = world().await;
    let authorize = authorize::handle(
        &w.app,
        &HttpRequest::new(Method::GET, "/oauth/authorize?client_id=spa")
            .with_header("origin", APP_ORIGIN),
    )
    .await;
    let login = login::handle(
        &w.app,
        &HttpRequest::new(Method::GET, "/login").with_header("origin", APP_ORIGIN),
    )
    .await;
    for response in [&authorize, &login] {
        assert_eq!(allowed_origin(response), None);
    }
}
