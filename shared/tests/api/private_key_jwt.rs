//! `private_key_jwt` client authentication (RFC 7523 2.2 and 3, OpenID Connect Core 9, issue
//! 15.3): at token, revoke and introspect, one row per rule, on the in-memory store; a
//! `jwks_uri` served on loopback by the test. Every refusal is `401 invalid_client` with the
//! one fixed description, echoing nothing of the request.

use crate::common::assertions::{
    assertion_claims, assertion_params, changed, ec_key, jwks_of, rsa_key, ClientKey,
};
use crate::common::fixtures::{client, registered, set, World};
use crate::common::requests::{client_post, json_body, METADATA_PATHS};

use auth_core::client_assertion::CLIENT_ASSERTION_TYPE;
use auth_core::endpoints::{introspect, metadata, revoke, token};
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use auth_core::model::*;
use auth_core::secret::now;
use auth_core::store::dynamo::DynamoStore;
use auth_core::store::memory::MemoryStore;
use auth_core::store::{
    ClientAuthStore, CodeRedemptionStore, RefreshTokenStore, ResourceReader, RevocationStore,
    SigningKeyReader,
};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::OnceLock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use GrantType::ClientCredentials;

const TOKEN_ENDPOINT: &str = "https://auth.example.test/oauth/token";
const ISSUER: &str = "https://auth.example.test";

/// The keys of `machine`: one RSA, one EC; `stranger` is registered nowhere.
struct Keys {
    rsa: ClientKey,
    ec: ClientKey,
    stranger: ClientKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        rsa: rsa_key("machine-rsa"),
        ec: ec_key("machine-ec"),
        stranger: rsa_key("machine-rsa"),
    })
}

/// A private_key_jwt client: confidential, no secret, these keys.
fn jwt_client(id: &str, grants: &[GrantType], keys: ClientKeySource) -> ClientRegistration {
    ClientRegistration {
        redirect_uris: Vec::new(),
        secret_hash: None,
        keys: Some(keys),
        ..client(id, ClientKind::Confidential, grants)
    }
}

/// `machine` (client credentials, keys registered), `auditor` (a resource server with keys),
/// `secretive` (client credentials with a secret).
async fn pkjwt_world() -> World {
    let jwks = ClientKeySource::Jwks(jwks_of(&[&keys().rsa, &keys().ec]));
    World::on(MemoryStore::default())
        .with_scopes(&[("read", "Read"), ("write", "Write")])
        .await
        .with_clients([
            jwt_client("machine", &[ClientCredentials], jwks.clone()),
            ClientRegistration {
                resource_server: true,
                ..jwt_client("auditor", &[], jwks)
            },
            ClientRegistration {
                redirect_uris: Vec::new(),
                ..client("secretive", ClientKind::Confidential, &[ClientCredentials])
            },
        ])
        .await
        .with_key()
        .await
}

fn form(path: &str, pairs: &[(&str, &str)]) -> HttpRequest {
    HttpRequest::new(Method::POST, path).with_form(&form_encode(pairs))
}

impl<
        S: ClientAuthStore
            + CodeRedemptionStore
            + SigningKeyReader
            + RevocationStore
            + RefreshTokenStore
            + ResourceReader,
    > World<S>
{
    /// A client credentials request authenticated with `assertion` (and `extra` parameters).
    async fn pkjwt_token(&self, assertion: &str, extra: &[(&str, &str)]) -> HttpResponse {
        let mut pairs = vec![("grant_type", "client_credentials")];
        pairs.extend(assertion_params(assertion));
        pairs.extend_from_slice(extra);
        token::handle(&self.app, &form("/oauth/token", &pairs)).await
    }
}

fn assert_invalid_client(rule: &str, response: &HttpResponse) {
    assert_eq!(
        (response.status(), json_body(response)),
        (
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": "client authentication failed"})
        ),
        "{rule}"
    );
}

fn assert_invalid_request(rule: &str, response: &HttpResponse) {
    assert_eq!(
        (response.status(), json_body(response)["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_request")),
        "{rule}: {}",
        response.body()
    );
}

fn good(key: &ClientKey) -> String {
    key.sign(&assertion_claims("machine", TOKEN_ENDPOINT))
}

#[tokio::test]
async fn rs256_and_es256_assertions_get_the_clients_own_token() {
    let w = pkjwt_world().await;
    for key in [&keys().rsa, &keys().ec] {
        let response = w.pkjwt_token(&good(key), &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
        let body = json_body(&response);
        assert_eq!(body["scope"], json!("read"));
        // The issuer as `aud`, in an array; `client_id` beside the assertion, the same.
        let claims = changed(
            assertion_claims("machine", TOKEN_ENDPOINT),
            json!({"aud": ["https://elsewhere.example", ISSUER]}),
        );
        let response = w
            .pkjwt_token(&key.sign(&claims), &[("client_id", "machine")])
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    }
}

#[tokio::test]
async fn every_rule_of_the_assertion_refuses_it_as_invalid_client() {
    let w = pkjwt_world().await;
    let (rsa, stranger) = (&keys().rsa, &keys().stranger);
    let t = now();
    let base = || assertion_claims("machine", TOKEN_ENDPOINT);
    let rows: Vec<(&str, String)> = vec![
        (
            "aud another server",
            rsa.sign(&changed(
                base(),
                json!({"aud": "https://evil.example/oauth/token"}),
            )),
        ),
        (
            "aud the revocation endpoint at token",
            rsa.sign(&changed(
                base(),
                json!({"aud": format!("{ISSUER}/oauth/revoke")}),
            )),
        ),
        ("no aud", rsa.sign(&changed(base(), json!({"aud": null})))),
        (
            "expired",
            rsa.sign(&changed(base(), json!({"exp": t - 60}))),
        ),
        ("no exp", rsa.sign(&changed(base(), json!({"exp": null})))),
        (
            "exp too far ahead",
            rsa.sign(&changed(base(), json!({"exp": t + 3600}))),
        ),
        (
            "iat in the future",
            rsa.sign(&changed(base(), json!({"iat": t + 120}))),
        ),
        (
            "nbf in the future",
            rsa.sign(&changed(base(), json!({"nbf": t + 120}))),
        ),
        ("no jti", rsa.sign(&changed(base(), json!({"jti": null})))),
        (
            "jti over 256 bytes",
            rsa.sign(&changed(base(), json!({"jti": "j".repeat(257)}))),
        ),
        (
            "iss another client",
            rsa.sign(&changed(base(), json!({"iss": "secretive"}))),
        ),
        (
            "sub another client",
            rsa.sign(&changed(base(), json!({"sub": "auditor"}))),
        ),
        ("a key not in the client's JWKS", stranger.sign(&base())),
        ("not a JWT", "not-a-jwt".to_string()),
        ("alg none", unsigned(&base())),
        ("HS256 with the public key as secret", hs256(&base())),
        (
            "a client that does not exist",
            rsa.sign(&assertion_claims("nobody", TOKEN_ENDPOINT)),
        ),
    ];
    for (rule, assertion) in rows {
        let response = w.pkjwt_token(&assertion, &[]).await;
        assert_invalid_client(rule, &response);
        assert!(!response.body().contains("evil"), "{rule}");
    }
    // Within the leeway, and a 256-byte jti: accepted.
    let skewed = changed(base(), json!({"iat": t + 20, "jti": "j".repeat(256)}));
    assert_eq!(
        w.pkjwt_token(&rsa.sign(&skewed), &[]).await.status(),
        StatusCode::OK
    );
}

fn unsigned(claims: &Value) -> String {
    let part = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.", part(&json!({"alg": "none"})), part(claims))
}

fn hs256(claims: &Value) -> String {
    let secret = keys().rsa.public.to_string();
    let key =
        jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &key,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn an_assertion_is_used_once() {
    let w = pkjwt_world().await;
    let assertion = good(&keys().ec);
    assert_eq!(
        w.pkjwt_token(&assertion, &[]).await.status(),
        StatusCode::OK
    );
    assert_invalid_client("replayed", &w.pkjwt_token(&assertion, &[]).await);
    // At revoke too: the replay store is one, whichever endpoint saw the assertion first.
    let request = form(
        "/oauth/revoke",
        &[&[("token", "anything")][..], &assertion_params(&assertion)].concat(),
    );
    assert_invalid_client(
        "replayed at revoke",
        &revoke::handle(&w.app, &request).await,
    );
}

#[tokio::test]
async fn the_registered_method_only_and_one_method_per_request() {
    let w = pkjwt_world().await;
    // A private_key_jwt client presenting a secret (it has none; any secret fails).
    let secret = client_post(
        "/oauth/token",
        "machine",
        &[("grant_type", "client_credentials")],
    );
    assert_invalid_client(
        "secret of a private_key_jwt client",
        &token::handle(&w.app, &secret).await,
    );
    // A secret client presenting an assertion signed with a key it never registered.
    let claims = assertion_claims("secretive", TOKEN_ENDPOINT);
    assert_invalid_client(
        "assertion of a secret client",
        &w.pkjwt_token(&keys().rsa.sign(&claims), &[]).await,
    );
    // client_id beside the assertion names another client.
    assert_invalid_client(
        "client_id differs",
        &w.pkjwt_token(&good(&keys().rsa), &[("client_id", "auditor")])
            .await,
    );
    // Another assertion type: an unsupported method.
    let pairs = [
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        ),
        ("client_assertion", &good(&keys().rsa)),
    ];
    assert_invalid_client(
        "saml2-bearer",
        &token::handle(&w.app, &form("/oauth/token", &pairs)).await,
    );
    // Two methods, or half of one: invalid_request.
    let assertion = good(&keys().rsa);
    let basic = form(
        "/oauth/token",
        &[
            &[("grant_type", "client_credentials")][..],
            &assertion_params(&assertion),
        ]
        .concat(),
    )
    .with_header(
        "authorization",
        &format!("Basic {}", STANDARD.encode("machine:x")),
    );
    assert_invalid_request("assertion and Basic", &token::handle(&w.app, &basic).await);
    assert_invalid_request(
        "assertion and client_secret",
        &w.pkjwt_token(&assertion, &[("client_secret", "x")]).await,
    );
    for half in [
        [("client_assertion", assertion.as_str())],
        [("client_assertion_type", CLIENT_ASSERTION_TYPE)],
    ] {
        let pairs = [&[("grant_type", "client_credentials")][..], &half].concat();
        assert_invalid_request(
            "half of private_key_jwt",
            &token::handle(&w.app, &form("/oauth/token", &pairs)).await,
        );
    }
    // None of this spent the assertion.
    assert_eq!(
        w.pkjwt_token(&assertion, &[]).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn revoke_and_introspect_accept_assertions_for_their_own_url_too() {
    let w = pkjwt_world().await;
    let issued = json_body(&w.pkjwt_token(&good(&keys().rsa), &[]).await);
    let access_token = issued["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for aud in [
        ISSUER.to_string(),
        format!("{ISSUER}/oauth/introspect"),
        TOKEN_ENDPOINT.into(),
    ] {
        let assertion = keys().ec.sign(&assertion_claims("auditor", &aud));
        let pairs = [
            &[("token", access_token.as_str())][..],
            &assertion_params(&assertion),
        ]
        .concat();
        let response = introspect::handle(&w.app, &form("/oauth/introspect", &pairs)).await;
        assert_eq!(
            json_body(&response)["active"],
            json!(true),
            "{aud}: {}",
            response.body()
        );
    }
    let wrong = keys().ec.sign(&assertion_claims(
        "auditor",
        &format!("{ISSUER}/oauth/revoke"),
    ));
    let pairs = [
        &[("token", access_token.as_str())][..],
        &assertion_params(&wrong),
    ]
    .concat();
    assert_invalid_client(
        "introspect with the revocation endpoint as aud",
        &introspect::handle(&w.app, &form("/oauth/introspect", &pairs)).await,
    );
    let assertion = keys().rsa.sign(&assertion_claims(
        "machine",
        &format!("{ISSUER}/oauth/revoke"),
    ));
    let pairs = [
        &[("token", access_token.as_str())][..],
        &assertion_params(&assertion),
    ]
    .concat();
    let response = revoke::handle(&w.app, &form("/oauth/revoke", &pairs)).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
}

/// Serves `body` as JSON on a loopback port, `requests` times; the URL of the JWKS.
async fn serve_jwks(body: String, requests: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    tokio::spawn(async move {
        for _ in 0..requests {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buffer = [0_u8; 4096];
            let _ = stream.read(&mut buffer).await;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://127.0.0.1:{port}/jwks.json")
}

#[tokio::test]
async fn keys_at_a_jwks_uri_are_fetched_once_and_checked() {
    let jwks = jwks_of(&[&keys().rsa]).to_string();
    // One request only: the second assertion is verified with the cached JWKS.
    let uri = serve_jwks(jwks, 1).await;
    let private = serve_jwks(
        json!({"keys": [changed(keys().rsa.public.clone(), json!({"d": "AQAB"}))]}).to_string(),
        1,
    )
    .await;
    let w = World::on(MemoryStore::default())
        .with_scopes(&[("read", "Read")])
        .await
        .with_clients([
            jwt_client(
                "machine",
                &[ClientCredentials],
                ClientKeySource::JwksUri(uri),
            ),
            jwt_client(
                "leaky",
                &[ClientCredentials],
                ClientKeySource::JwksUri(private),
            ),
            jwt_client(
                "gone",
                &[ClientCredentials],
                ClientKeySource::JwksUri("http://127.0.0.1:9/jwks.json".into()),
            ),
        ])
        .await
        .with_key()
        .await;
    for _ in 0..2 {
        let response = w.pkjwt_token(&good(&keys().rsa), &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    }
    assert_invalid_client(
        "a key not at the URI",
        &w.pkjwt_token(&good(&keys().ec), &[]).await,
    );
    for id in ["leaky", "gone"] {
        let assertion = keys().rsa.sign(&assertion_claims(id, TOKEN_ENDPOINT));
        assert_invalid_client(id, &w.pkjwt_token(&assertion, &[]).await);
    }
}

#[test]
fn registration_holds_one_credential_and_public_keys_only() {
    let jwks = ClientKeySource::Jwks(jwks_of(&[&keys().rsa]));
    let refused = |registration: ClientRegistration| match Client::register(registration) {
        Err(error) => error.to_string(),
        Ok(client) => panic!("accepted {client:?}"),
    };
    let both = ClientRegistration {
        keys: Some(jwks.clone()),
        ..client("machine", ClientKind::Confidential, &[ClientCredentials])
    };
    assert!(refused(both).contains("not both"));
    let public = ClientRegistration {
        redirect_uris: vec!["https://app.example/cb".into()],
        ..jwt_client("spa", &[GrantType::AuthorizationCode], jwks.clone())
    };
    let public = ClientRegistration {
        kind: ClientKind::Public,
        ..public
    };
    assert!(refused(public).contains("is public"));
    let private = ClientKeySource::Jwks(
        json!({"keys": [changed(keys().ec.public.clone(), json!({"d": "AQAB"}))]}),
    );
    assert!(refused(jwt_client("m", &[], private)).contains("private key"));
    let http = ClientKeySource::JwksUri("http://machine.example/jwks.json".into());
    assert!(refused(jwt_client("m", &[], http)).contains("https"));
    let client = registered(jwt_client("m", &[ClientCredentials], jwks));
    assert_eq!(client.token_endpoint_auth_method(), "private_key_jwt");
    assert_eq!(client.allowed_scopes(), &set(&["read", "write"]));
}

#[tokio::test]
async fn metadata_names_private_key_jwt_and_its_algorithms() {
    let w = pkjwt_world().await;
    for path in METADATA_PATHS {
        let body = json_body(&metadata::handle(&w.app, &HttpRequest::new(Method::GET, path)).await);
        for endpoint in ["token", "revocation", "introspection"] {
            let methods = &body[format!("{endpoint}_endpoint_auth_methods_supported")];
            assert!(
                methods
                    .as_array()
                    .is_some_and(|m| m.contains(&json!("private_key_jwt"))),
                "{endpoint}: {methods}"
            );
            assert_eq!(
                body[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")],
                json!(["RS256", "ES256"])
            );
        }
    }
}

/// On DynamoDB: the assertion's `jti` is one `PutItem` on the replay table, beside what a
/// secret client costs (the client and the keys cold, nothing warm); a replay is refused by
/// that write's condition, and nothing is issued.
#[tokio::test]
async fn an_assertion_costs_one_conditional_write_and_a_replay_is_refused_by_it() {
    let Some(tables) = crate::common::fresh_tables() else {
        return;
    };
    let (store, trips) = DynamoStore::from_env_counted(tables).await;
    let jwks = ClientKeySource::Jwks(jwks_of(&[&keys().rsa, &keys().ec]));
    let w = World::on(store)
        .with_scopes(&[("read", "Read")])
        .await
        .with_clients([jwt_client("machine", &[ClientCredentials], jwks)])
        .await
        .with_key()
        .await;
    let mut counts = Vec::new();
    for key in [&keys().rsa, &keys().ec] {
        trips.reset();
        let response = w.pkjwt_token(&good(key), &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
        counts.push(trips.count());
    }
    assert_eq!(counts, [3, 1], "cold, warm");
    let assertion = good(&keys().rsa);
    assert_eq!(
        w.pkjwt_token(&assertion, &[]).await.status(),
        StatusCode::OK
    );
    trips.reset();
    assert_invalid_client(
        "replayed on DynamoDB",
        &w.pkjwt_token(&assertion, &[]).await,
    );
    assert_eq!(trips.count(), 1);
}
