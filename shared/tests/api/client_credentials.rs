//! The client credentials grant (RFC 6749 4.4, issue 15.2): a confidential client's own access
//! token, for no user. One row per rule, on the in-memory store; the round trips on DynamoDB.

use crate::common;
use crate::common::fixtures::{client, set, World};
use crate::common::requests::{client_post, json_body};

use auth_core::client::ClientRuleError;
use auth_core::endpoints::{introspect, revoke, token, userinfo};
use auth_core::http::{HttpRequest, HttpResponse};
use auth_core::model::*;
use auth_core::store::dynamo::DynamoStore;
use auth_core::store::memory::MemoryStore;
use auth_core::store::PublicKeyReader;
use auth_core::tokens::{verify_access_token, AccessTokenClaims};
use http::{Method, StatusCode};
use serde_json::{json, Value};

use GrantType::{AuthorizationCode as Code, ClientCredentials};

/// `machine`: confidential, client credentials only, no redirect URI, scopes `read` (default)
/// and `write`; `app`: confidential, code only; `api`: a resource server.
fn registrations() -> Vec<ClientRegistration> {
    vec![
        ClientRegistration {
            redirect_uris: Vec::new(),
            ..client("machine", ClientKind::Confidential, &[ClientCredentials])
        },
        client("app", ClientKind::Confidential, &[Code]),
        ClientRegistration {
            resource_server: true,
            redirect_uris: Vec::new(),
            ..client("api", ClientKind::Confidential, &[])
        },
    ]
}

async fn world() -> World {
    World::on(MemoryStore::default())
        .with_scopes(&[("read", "Read"), ("write", "Write"), ("openid", "Sign in")])
        .await
        .with_clients(registrations())
        .await
        .with_key()
        .await
}

impl World {
    async fn machine_token(&self, client_id: &str, scope: Option<&str>) -> HttpResponse {
        let mut pairs = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        token::handle(&self.app, &client_post("/oauth/token", client_id, &pairs)).await
    }

    async fn verified_claims_of(&self, response: &HttpResponse) -> Option<AccessTokenClaims> {
        let keys = self.app.store.list_public_keys().await.unwrap_or_default();
        let body = json_body(response);
        verify_access_token(&self.app.config, &keys, body["access_token"].as_str()?)
    }

    /// `active` of the introspection of `access_token` by the resource server `api`.
    async fn introspected_active(&self, access_token: &str) -> Value {
        let request = client_post("/oauth/introspect", "api", &[("token", access_token)]);
        json_body(&introspect::handle(&self.app, &request).await)["active"].clone()
    }
}

fn access_token(response: &HttpResponse) -> String {
    json_body(response)["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn assert_error(response: &HttpResponse, error: &str) {
    assert_eq!(
        (response.status(), json_body(response)["error"].clone()),
        (StatusCode::BAD_REQUEST, json!(error)),
        "{}",
        response.body()
    );
}

#[tokio::test]
async fn a_machine_gets_its_own_token_with_its_default_scopes_and_nothing_else() {
    let w = world().await;
    let response = w.machine_token("machine", None).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    let body = json_body(&response);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read");
    // RFC 6749 4.4.3: no refresh token; no user, so no ID token.
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let Some(claims) = w.verified_claims_of(&response).await else {
        panic!("the token does not verify")
    };
    // RFC 9068 2.2: with no user, `sub` is the client.
    assert_eq!(
        (
            claims.sub.as_str(),
            claims.client_id.as_str(),
            claims.scope.as_str()
        ),
        ("machine", "machine", "read")
    );
    assert!(claims.is_clients_own() && claims.gid.is_none());
}

#[tokio::test]
async fn a_machine_may_ask_for_allowed_scopes_only() {
    let w = world().await;
    let both = w.machine_token("machine", Some("read write")).await;
    assert_eq!(json_body(&both)["scope"], "read write");
    assert_error(
        &w.machine_token("machine", Some("read admin")).await,
        "invalid_scope",
    );
    // RFC 6749 3.1: a parameter sent without a value is as if omitted.
    assert_eq!(
        json_body(&w.machine_token("machine", Some("")).await)["scope"],
        "read"
    );
    assert_error(
        &w.machine_token("machine", Some("read\"")).await,
        "invalid_scope",
    );
}

#[tokio::test]
async fn openid_is_never_granted_without_a_user() {
    let w = World::on(MemoryStore::default())
        .with_scopes(&[("read", "Read"), ("openid", "Sign in")])
        .await
        .with_clients([ClientRegistration {
            redirect_uris: Vec::new(),
            allowed_scopes: set(&["read", "openid"]),
            default_scopes: set(&["read", "openid"]),
            ..client("machine", ClientKind::Confidential, &[ClientCredentials])
        }])
        .await
        .with_key()
        .await;
    assert_error(
        &w.machine_token("machine", Some("openid")).await,
        "invalid_scope",
    );
    // Among the default scopes it is left out.
    assert_eq!(
        json_body(&w.machine_token("machine", None).await)["scope"],
        "read"
    );
}

#[tokio::test]
async fn a_client_not_allowed_the_grant_is_unauthorized_client() {
    let w = world().await;
    assert_error(&w.machine_token("app", None).await, "unauthorized_client");
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client() {
    let w = world().await;
    let request = HttpRequest::new(Method::POST, "/oauth/token")
        .with_form("grant_type=client_credentials&client_id=machine&client_secret=wrong");
    let response = token::handle(&w.app, &request).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(&response)["error"], "invalid_client");
}

#[test]
fn only_confidential_clients_may_use_the_grant_and_need_no_redirect_uri() {
    let public = ClientRegistration {
        redirect_uris: Vec::new(),
        ..client("spa", ClientKind::Public, &[ClientCredentials])
    };
    assert!(matches!(
        Client::register(public),
        Err(ClientRuleError::PublicClientCredentials { .. })
    ));
    let machine = ClientRegistration {
        redirect_uris: Vec::new(),
        ..client("machine", ClientKind::Confidential, &[ClientCredentials])
    };
    assert!(Client::register(machine).is_ok());
}

#[tokio::test]
async fn introspection_reports_the_token_until_it_is_revoked() {
    let w = world().await;
    let issued = access_token(&w.machine_token("machine", None).await);
    assert_eq!(w.introspected_active(&issued).await, json!(true));
    let request = client_post("/oauth/introspect", "api", &[("token", &issued)]);
    let body = json_body(&introspect::handle(&w.app, &request).await);
    assert_eq!(
        (body["sub"].clone(), body["client_id"].clone()),
        (json!("machine"), json!("machine"))
    );
    let revoked = revoke::handle(
        &w.app,
        &client_post("/oauth/revoke", "machine", &[("token", &issued)]),
    )
    .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(w.introspected_active(&issued).await, json!(false));
}

#[tokio::test]
async fn userinfo_refuses_a_token_that_stands_for_no_user() {
    let w = world().await;
    let issued = access_token(&w.machine_token("machine", None).await);
    let request = HttpRequest::new(Method::GET, "/oauth/userinfo")
        .with_header("authorization", &format!("Bearer {issued}"));
    let response = userinfo::handle(&w.app, &request).await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "{}",
        response.body()
    );
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
}

/// Issue 15.2: two round trips at most cold (the client, the signing key), none warm (both
/// are in the container's cache, and nothing is stored).
#[tokio::test]
async fn a_client_credentials_token_costs_two_round_trips_cold_and_none_warm() {
    let Some(tables) = common::fresh_tables() else {
        return;
    };
    let (store, trips) = DynamoStore::from_env_counted(tables).await;
    let w = World::on(store)
        .with_scopes(&[("read", "Read"), ("write", "Write")])
        .await
        .with_clients(registrations())
        .await
        .with_key()
        .await;
    let pairs = [("grant_type", "client_credentials")];
    let mut counts = Vec::new();
    for _ in 0..2 {
        trips.reset();
        let response = token::handle(&w.app, &client_post("/oauth/token", "machine", &pairs)).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
        let usage = trips.counts();
        counts.push((usage.round_trips, usage.read_units, usage.write_units));
    }
    // The client's GetItem (1, strongly consistent) and the key Scan (0.5); nothing written.
    assert_eq!(
        counts,
        [(2, 1.5, 0.0), (0, 0.0, 0.0)],
        "cold, warm: (round trips, read units, write units)"
    );
}
