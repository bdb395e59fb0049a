//! APIs as audiences (RFC 8707 resource indicators, issue 15.4): `resource` at authorize,
//! token (code, refresh: the same APIs or fewer) and client credentials; the access token's
//! `aud` is the API; an unknown API, or a scope it does not accept, is `invalid_target`.
//! One row per rule, on the in-memory store.

use crate::common::fixtures::{client, code_grant, set, world, World, REDIRECT, SUB};
use crate::common::pkce::{CHALLENGE, VERIFIER};
use crate::common::requests::{client_post, json_body, location_params};

use auth_core::endpoints::{authorize, consent, introspect, revoke, token, userinfo};
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use auth_core::model::*;
use auth_core::resource::Resource;
use auth_core::secret::AuthorizationCode;
use auth_core::session;
use auth_core::store::*;
use auth_core::tokens::{userinfo_audience, verify_access_token, AccessTokenClaims, Audience};
use http::{Method, StatusCode};

const ORDERS: &str = "https://orders.example";
const BILLING: &str = "https://billing.example";

/// `world()` with two APIs: Orders accepts `read`, Billing `write`; and a machine client.
async fn apis_world() -> World {
    let w = world()
        .await
        .with_scopes(&[("openid", "Sign you in")])
        .await
        .with_clients([
            ClientRegistration {
                redirect_uris: Vec::new(),
                ..client(
                    "machine",
                    ClientKind::Confidential,
                    &[GrantType::ClientCredentials],
                )
            },
            ClientRegistration {
                allowed_scopes: set(&["read", "write", "openid"]),
                ..client(
                    "oidc",
                    ClientKind::Confidential,
                    &[GrantType::AuthorizationCode, GrantType::RefreshToken],
                )
            },
        ])
        .await;
    for (uri, name, scope) in [
        (ORDERS, "Orders API", "read"),
        (BILLING, "Billing API", "write"),
    ] {
        let api = Resource::register(uri.into(), name.into(), set(&[scope]));
        let Ok(api) = api else { panic!("{api:?}") };
        assert!(w.app.store.create_resource(&api).await.is_ok());
    }
    w
}

fn authorization_pairs<'a>(scope: &'a str, resources: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", "app"),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "s1"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend(resources.iter().map(|r| ("resource", *r)));
    pairs
}

impl World {
    async fn authorize_with_resources(&self, pairs: &[(&str, &str)]) -> HttpResponse {
        let request = HttpRequest::new(
            Method::GET,
            &format!("/oauth/authorize?{}", form_encode(pairs)),
        )
        .with_header("cookie", &self.cookie());
        authorize::handle(&self.app, &request).await
    }

    async fn approve_with_resources(&self, pairs: &[(&str, &str)]) -> HttpResponse {
        let csrf = session::csrf_token(&self.session_id);
        let mut all = pairs.to_vec();
        all.push(("csrf_token", &csrf));
        all.push(("decision", "approve"));
        let request = HttpRequest::new(Method::POST, "/oauth/consent")
            .with_form(&form_encode(&all))
            .with_header("cookie", &self.cookie());
        consent::handle(&self.app, &request).await
    }

    /// A code of alice for `client_id`, authorized for these scopes and APIs.
    async fn code_for_apis(&self, code: &str, client_id: &str, scopes: &[&str], apis: &[&str]) {
        self.add_code(Grant {
            resources: apis.iter().map(|a| a.to_string()).collect(),
            ..code_grant(code, client_id, SUB, set(scopes))
        })
        .await;
    }

    async fn exchange_for(&self, client_id: &str, code: &str, resources: &[&str]) -> HttpResponse {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        pairs.extend(resources.iter().map(|r| ("resource", *r)));
        token::handle(&self.app, &client_post("/oauth/token", client_id, &pairs)).await
    }

    async fn refresh_for(
        &self,
        client_id: &str,
        refresh: &str,
        resources: &[&str],
    ) -> HttpResponse {
        let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
        pairs.extend(resources.iter().map(|r| ("resource", *r)));
        token::handle(&self.app, &client_post("/oauth/token", client_id, &pairs)).await
    }

    async fn machine_token_for(&self, scope: Option<&str>, resources: &[&str]) -> HttpResponse {
        let mut pairs = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        pairs.extend(resources.iter().map(|r| ("resource", *r)));
        token::handle(&self.app, &client_post("/oauth/token", "machine", &pairs)).await
    }

    async fn access_claims(&self, response: &HttpResponse) -> AccessTokenClaims {
        let keys = self.app.store.list_public_keys().await.unwrap_or_default();
        let token = json_body(response)["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match verify_access_token(&self.app.config, &keys, &token) {
            Some(claims) => claims,
            None => panic!("no access token: {}", response.body()),
        }
    }

    async fn introspected_by_app(&self, token: &str) -> serde_json::Value {
        let request = client_post("/oauth/introspect", "app", &[("token", token)]);
        json_body(&introspect::handle(&self.app, &request).await)["active"].clone()
    }

    async fn code_unspent(&self, code: &str) -> bool {
        let hash = AuthorizationCode::new(code).hash();
        matches!(self.app.store.get_code(&hash).await, Ok(Some(g)) if g.redeemed_at.is_none())
    }
}

fn invalid_target(rule: &str, response: &HttpResponse) {
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "{rule}: {}",
        response.body()
    );
    assert_eq!(json_body(response)["error"], "invalid_target", "{rule}");
}

fn token_of(response: &HttpResponse, name: &str) -> String {
    json_body(response)[name]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_user_authorizes_an_api_and_the_token_is_for_it() {
    let w = apis_world().await;
    let pairs = authorization_pairs("read", &[ORDERS]);
    // The consent page names the API the app will reach, and carries it on.
    let page = w.authorize_with_resources(&pairs).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.body().contains("Orders API"), "{}", page.body());
    assert!(page.body().contains(ORDERS));
    assert!(page.body().contains(r#"name="resource""#));
    // Approved: the code stands for the API, and so does its token.
    let approved = w.approve_with_resources(&pairs).await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER);
    let params = location_params(&approved);
    let code = params.get("code").unwrap_or_default().to_string();
    let grant = w
        .app
        .store
        .get_code(&AuthorizationCode::new(&code).hash())
        .await;
    assert_eq!(
        grant.ok().flatten().map(|g| g.resources),
        Some(vec![ORDERS.to_string()])
    );
    let tokens = w.exchange_for("app", &code, &[]).await;
    assert_eq!(tokens.status(), StatusCode::OK, "{}", tokens.body());
    assert_eq!(
        w.access_claims(&tokens).await.aud,
        Audience::One(ORDERS.into())
    );
    // Introspection reports the audience.
    let access = token_of(&tokens, "access_token");
    let report = introspect::handle(
        &w.app,
        &client_post("/oauth/introspect", "app", &[("token", &access)]),
    )
    .await;
    assert_eq!(json_body(&report)["active"], true);
    assert_eq!(json_body(&report)["aud"], ORDERS);
    // Its refresh keeps the API.
    let refreshed = w
        .refresh_for("app", &token_of(&tokens, "refresh_token"), &[])
        .await;
    assert_eq!(
        w.access_claims(&refreshed).await.aud,
        Audience::One(ORDERS.into())
    );
}

#[tokio::test]
async fn authorize_refuses_what_the_apis_do_not_allow() {
    let w = apis_world().await;
    let rows: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "an API not registered",
            authorization_pairs("read", &["https://other.example"]),
        ),
        ("not a URI", authorization_pairs("read", &["orders"])),
        (
            "a scope the API does not accept",
            authorization_pairs("write", &[ORDERS]),
        ),
        (
            "a registered API with a query",
            authorization_pairs("read", &["https://orders.example?x=1"]),
        ),
    ];
    for (rule, pairs) in rows {
        let response = w.authorize_with_resources(&pairs).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{rule}");
        let params = location_params(&response);
        assert_eq!(params.get("error"), Some("invalid_target"), "{rule}");
        assert_eq!(params.get("state"), Some("s1"), "{rule}");
    }
    // Two APIs, each accepting one of the scopes: allowed.
    let both = w
        .authorize_with_resources(&authorization_pairs("read write", &[ORDERS, BILLING]))
        .await;
    assert_eq!(both.status(), StatusCode::OK, "{}", both.body());
    assert!(both.body().contains("Billing API"));
}

#[tokio::test]
async fn default_scopes_are_narrowed_to_what_the_api_accepts() {
    let w = apis_world().await;
    let mut pairs = authorization_pairs("", &[ORDERS]);
    pairs.retain(|(name, _)| *name != "scope");
    let page = w.authorize_with_resources(&pairs).await;
    assert_eq!(page.status(), StatusCode::OK, "{}", page.body());
    assert!(
        page.body().contains(r#"name="scope" value="read""#),
        "{}",
        page.body()
    );
    // No default scope accepted by Billing (the client's default is read).
    let mut billing = authorization_pairs("", &[BILLING]);
    billing.retain(|(name, _)| *name != "scope");
    let refused = w.authorize_with_resources(&billing).await;
    assert_eq!(
        location_params(&refused).get("error"),
        Some("invalid_target")
    );
}

#[tokio::test]
async fn a_token_request_may_only_name_the_authorized_apis() {
    let w = apis_world().await;
    w.code_for_apis("c-two", "app", &["read", "write"], &[ORDERS, BILLING])
        .await;
    for (rule, resources) in [
        ("an API not authorized", vec!["https://other.example"]),
        (
            "one authorized, one not",
            vec![ORDERS, "https://other.example"],
        ),
    ] {
        invalid_target(rule, &w.exchange_for("app", "c-two", &resources).await);
        assert!(
            w.code_unspent("c-two").await,
            "{rule}: refused before the code is spent"
        );
    }
    let narrowed = w.exchange_for("app", "c-two", &[BILLING]).await;
    assert_eq!(narrowed.status(), StatusCode::OK, "{}", narrowed.body());
    assert_eq!(
        w.access_claims(&narrowed).await.aud,
        Audience::One(BILLING.into())
    );
    // The refresh: the grant's APIs or fewer, refused before the token is spent.
    let refresh = token_of(&narrowed, "refresh_token");
    invalid_target(
        "refresh for an API not authorized",
        &w.refresh_for("app", &refresh, &["https://other.example"])
            .await,
    );
    let both = w.refresh_for("app", &refresh, &[]).await;
    assert_eq!(
        both.status(),
        StatusCode::OK,
        "the token was not spent: {}",
        both.body()
    );
    assert_eq!(
        w.access_claims(&both).await.aud,
        Audience::Many(vec![ORDERS.into(), BILLING.into()])
    );
    let orders = w
        .refresh_for("app", &token_of(&both, "refresh_token"), &[ORDERS])
        .await;
    assert_eq!(
        w.access_claims(&orders).await.aud,
        Audience::One(ORDERS.into())
    );
    // A grant authorized for no API has the default audience, and cannot gain one.
    w.code_for_apis("c-none", "app", &["read"], &[]).await;
    invalid_target(
        "a resource for a grant without",
        &w.exchange_for("app", "c-none", &[ORDERS]).await,
    );
    let default = w.exchange_for("app", "c-none", &[]).await;
    assert_eq!(
        w.access_claims(&default).await.aud,
        Audience::One(w.app.config.audience.clone())
    );
}

#[tokio::test]
async fn a_machine_gets_a_token_for_an_api() {
    let w = apis_world().await;
    let token = w.machine_token_for(Some("read"), &[ORDERS]).await;
    assert_eq!(token.status(), StatusCode::OK, "{}", token.body());
    assert_eq!(
        w.access_claims(&token).await.aud,
        Audience::One(ORDERS.into())
    );
    // Its default scope (read), narrowed to what Orders accepts.
    let default = w.machine_token_for(None, &[ORDERS]).await;
    assert_eq!(json_body(&default)["scope"], "read");
    invalid_target(
        "unknown API",
        &w.machine_token_for(Some("read"), &["https://other.example"])
            .await,
    );
    invalid_target(
        "scope not accepted",
        &w.machine_token_for(Some("read"), &[BILLING]).await,
    );
    invalid_target(
        "no default scope accepted",
        &w.machine_token_for(None, &[BILLING]).await,
    );
    let many: Vec<String> = (0..9).map(|i| format!("https://{i}.example")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    invalid_target(
        "too many resources",
        &w.machine_token_for(Some("read"), &many).await,
    );
    // Without a resource, the default audience, as before.
    let plain = w.machine_token_for(Some("read"), &[]).await;
    assert_eq!(
        w.access_claims(&plain).await.aud,
        Audience::One(w.app.config.audience.clone())
    );
}

#[tokio::test]
async fn with_openid_an_api_token_also_reaches_userinfo() {
    let w = apis_world().await;
    w.code_for_apis("c-oidc", "oidc", &["read", "openid"], &[ORDERS])
        .await;
    let tokens = w.exchange_for("oidc", "c-oidc", &[]).await;
    assert_eq!(tokens.status(), StatusCode::OK, "{}", tokens.body());
    let aud = w.access_claims(&tokens).await.aud;
    assert_eq!(
        aud,
        Audience::Many(vec![ORDERS.into(), userinfo_audience(&w.app.config)])
    );
    let bearer = |token: &str| {
        HttpRequest::new(Method::GET, "/oauth/userinfo")
            .with_header("authorization", &format!("Bearer {token}"))
    };
    let claims = userinfo::handle(&w.app, &bearer(&token_of(&tokens, "access_token"))).await;
    assert_eq!(claims.status(), StatusCode::OK, "{}", claims.body());
    // A token for the API alone is not for UserInfo.
    let machine = w.machine_token_for(Some("read"), &[ORDERS]).await;
    let refused = userinfo::handle(&w.app, &bearer(&token_of(&machine, "access_token"))).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_for_an_api_is_revoked_and_introspected_like_any() {
    let w = apis_world().await;
    w.code_for_apis("c-rev", "app", &["read"], &[ORDERS]).await;
    let tokens = w.exchange_for("app", "c-rev", &[]).await;
    let access = token_of(&tokens, "access_token");
    assert_eq!(w.introspected_by_app(&access).await, true);
    let revoked = revoke::handle(
        &w.app,
        &client_post("/oauth/revoke", "app", &[("token", &access)]),
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(w.introspected_by_app(&access).await, false);
}
