//! Handler tests of the token, revoke, introspect, JWKS and metadata endpoints on the
//! in-memory store: one row per rule of the spec, each naming its source.

use auth_core::cache::WarmCache;
use auth_core::endpoints::{introspect, jwks, metadata, revoke, token};
use auth_core::http::{encode, form_encode, HttpRequest, HttpResponse};
use auth_core::model::*;
use auth_core::secret::{now, RefreshTokenSecret};
use auth_core::store::*;
use auth_core::tokens::{verify_access_token, AccessTokenClaims, Signer};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::fixtures::{
    code_grant, new_key, secret_of, set, shared_key, world, world_without_key, World, ODD_SECRET,
    REDIRECT, SUB,
};
use crate::common::pkce::{CHALLENGE, VERIFIER};
use crate::common::requests::{assert_status, header, json_body, METADATA_PATHS};

type Pairs = Vec<(&'static str, String)>;

/// A code for `client_id` bound to REDIRECT and the RFC 7636 Appendix B challenge.
fn grant(code: &str, client_id: &str) -> Grant {
    code_grant(code, client_id, SUB, set(&["read", "write"]))
}

fn code_pairs(code: &str) -> Pairs {
    vec![
        ("grant_type", "authorization_code".into()),
        ("code", code.into()),
        ("redirect_uri", REDIRECT.into()),
        ("code_verifier", VERIFIER.into()),
    ]
}

/// `pairs` with `name` replaced by `value`, or removed when `value` is `None`.
fn with(mut pairs: Pairs, name: &'static str, value: Option<&str>) -> Pairs {
    pairs.retain(|(n, _)| *n != name);
    if let Some(value) = value {
        pairs.push((name, value.to_string()));
    }
    pairs
}

fn encode_pairs(pairs: &[(&'static str, String)]) -> String {
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    form_encode(&borrowed)
}

/// RFC 6749 2.3.1: id and secret are form-urlencoded, then joined by ':' and base64-encoded.
fn basic(client_id: &str, secret: &str) -> String {
    basic_raw(&format!("{}:{}", encode(client_id), encode(secret)))
}

fn basic_raw(credentials: &str) -> String {
    format!("Basic {}", STANDARD.encode(credentials))
}

fn request(path: &str, body: &str, authorization: Option<&str>) -> HttpRequest {
    let request = HttpRequest::new(Method::POST, path).with_form(body);
    match authorization {
        Some(value) => request.with_header("authorization", value),
        None => request,
    }
}

#[derive(Clone, Copy, Debug)]
enum Via {
    /// client_secret_basic (public clients send their client_id in the body).
    Basic,
    /// client_secret_post.
    Post,
}

/// A request authenticated as `client_id` with its own credentials.
fn as_client(
    path: &str,
    client_id: &str,
    via: Via,
    pairs: &[(&'static str, String)],
) -> HttpRequest {
    let mut all = pairs.to_vec();
    match (secret_of(client_id), via) {
        (Some(secret), Via::Basic) => {
            return request(path, &encode_pairs(&all), Some(&basic(client_id, secret)))
        }
        (Some(secret), Via::Post) => {
            all.push(("client_id", client_id.into()));
            all.push(("client_secret", secret.into()));
        }
        (None, _) => all.push(("client_id", client_id.into())),
    }
    request(path, &encode_pairs(&all), None)
}

/// RFC 6749 5.2: the status, a JSON body of exactly `error` and `error_description`, never cached.
fn assert_error(rule: &str, response: &HttpResponse, status: StatusCode, error: &str) {
    assert_eq!(response.status(), status, "{rule}: {}", response.body());
    let body = json_body(response);
    let Some(object) = body.as_object() else {
        panic!("{rule}: not a JSON object: {}", response.body())
    };
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["error", "error_description"], "{rule}");
    assert_eq!(body["error"], error, "{rule}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{rule}"
    );
    assert_eq!(
        header(response, "cache-control"),
        Some("no-store"),
        "{rule}"
    );
}

/// RFC 7662 2.2: an inactive token is `{"active":false}` and nothing else.
fn assert_inactive(rule: &str, response: &HttpResponse) {
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{rule}: {}",
        response.body()
    );
    assert_eq!(json_body(response), json!({ "active": false }), "{rule}");
    assert_eq!(
        header(response, "cache-control"),
        Some("no-store"),
        "{rule}"
    );
}

struct Issued {
    access_token: String,
    refresh_token: Option<String>,
    body: Value,
}

/// RFC 6749 5.1: a 200 token response, never cached.
fn issued(rule: &str, response: &HttpResponse) -> Issued {
    assert_status(rule, response, StatusCode::OK);
    assert_eq!(
        header(response, "cache-control"),
        Some("no-store"),
        "{rule}"
    );
    assert_eq!(header(response, "pragma"), Some("no-cache"), "{rule}");
    let body = json_body(response);
    let Some(access_token) = body["access_token"].as_str().map(str::to_string) else {
        panic!("{rule}: no access_token in {}", response.body())
    };
    let refresh_token = body["refresh_token"].as_str().map(str::to_string);
    Issued {
        access_token,
        refresh_token,
        body,
    }
}

fn refresh_of(rule: &str, issued: &Issued) -> String {
    let Some(refresh) = issued.refresh_token.clone() else {
        panic!("{rule}: no refresh_token in {}", issued.body)
    };
    refresh
}

impl World {
    async fn token(&self, request: &HttpRequest) -> HttpResponse {
        token::handle(&self.app, request).await
    }

    async fn token_as(&self, client_id: &str, pairs: &[(&'static str, String)]) -> HttpResponse {
        self.token(&as_client("/oauth/token", client_id, Via::Basic, pairs))
            .await
    }

    async fn redeem(&self, client_id: &str, code: &str) -> HttpResponse {
        self.token_as(client_id, &code_pairs(code)).await
    }

    /// Creates a code for `client_id` and redeems it: a fresh set of tokens.
    async fn issue(&self, client_id: &str, code: &str) -> Issued {
        self.add_code(grant(code, client_id)).await;
        issued(
            &format!("issuing to {client_id}"),
            &self.redeem(client_id, code).await,
        )
    }

    async fn refresh(
        &self,
        client_id: &str,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> HttpResponse {
        let pairs = with(
            vec![
                ("grant_type", "refresh_token".into()),
                ("refresh_token", refresh_token.into()),
            ],
            "scope",
            scope,
        );
        self.token_as(client_id, &pairs).await
    }

    async fn revoke(&self, client_id: &str, token: &str) -> HttpResponse {
        let request = as_client(
            "/oauth/revoke",
            client_id,
            Via::Basic,
            &[("token", token.into())],
        );
        revoke::handle(&self.app, &request).await
    }

    async fn introspect(&self, client_id: &str, token: &str) -> HttpResponse {
        let request = as_client(
            "/oauth/introspect",
            client_id,
            Via::Basic,
            &[("token", token.into())],
        );
        introspect::handle(&self.app, &request).await
    }

    async fn verify(&self, access_token: &str) -> Option<AccessTokenClaims> {
        let keys = self.app.store.list_public_keys().await.unwrap_or_default();
        verify_access_token(&self.app.config, &keys, access_token)
    }

    async fn family_of(&self, refresh_token: &str) -> Option<TokenFamily> {
        let token = self
            .app
            .store
            .get_refresh_token(&RefreshTokenSecret::new(refresh_token).hash())
            .await
            .ok()
            .flatten()?;
        self.app
            .store
            .get_family(&token.family_id)
            .await
            .ok()
            .flatten()
    }

    async fn is_revoked(&self, jti: &str) -> bool {
        matches!(self.app.store.is_jti_revoked(jti, now()).await, Ok(true))
    }
}

// ---------------------------------------------------------------------------------------
// Authorization code grant: success
// ---------------------------------------------------------------------------------------

/// RFC 6749 4.1.4 and 5.1, RFC 9068 2: the token response and the access token it carries.
#[tokio::test]
async fn code_grant_issues_tokens_with_each_client_authentication_method() {
    let w = world().await;
    let rows: Vec<(&str, &str, Via, bool)> = vec![
        (
            "client_secret_basic (RFC 6749 2.3.1)",
            "app",
            Via::Basic,
            true,
        ),
        (
            "client_secret_post (RFC 6749 2.3.1)",
            "app",
            Via::Post,
            true,
        ),
        (
            "no refresh_token for a client without that grant (RFC 6749 5.1)",
            "noref",
            Via::Basic,
            false,
        ),
        (
            "client_secret_post without the refresh_token grant (RFC 6749 5.1)",
            "noref",
            Via::Post,
            false,
        ),
        (
            "public client, authentication none, with PKCE (RFC 6749 2.1, RFC 7636)",
            "spa",
            Via::Basic,
            true,
        ),
    ];
    for (i, (rule, client_id, via, gets_refresh)) in rows.into_iter().enumerate() {
        let code = format!("the-code-{i}");
        w.add_code(grant(&code, client_id)).await;
        let response = w
            .token(&as_client(
                "/oauth/token",
                client_id,
                via,
                &code_pairs(&code),
            ))
            .await;
        let tokens = issued(rule, &response);
        let body = &tokens.body;
        assert_eq!(body["token_type"], "Bearer", "{rule}");
        assert_eq!(
            body["expires_in"],
            json!(w.app.config.access_token_ttl_seconds),
            "{rule}"
        );
        assert_eq!(body["scope"], "read write", "{rule}");
        assert_eq!(
            tokens.refresh_token.is_some(),
            gets_refresh,
            "{rule}: {body}"
        );
        if let Some(refresh) = &tokens.refresh_token {
            assert!(refresh.len() >= 43, "{rule}: 256 bits (RFC 6749 10.10)");
            assert_ne!(refresh, &tokens.access_token, "{rule}");
        }

        // RFC 9068 2.1: the JOSE header.
        let Ok(jwt_header) = jsonwebtoken::decode_header(&tokens.access_token) else {
            panic!("{rule}: the access token is not a JWT")
        };
        assert_eq!(jwt_header.alg, jsonwebtoken::Algorithm::RS256, "{rule}");
        assert_eq!(jwt_header.typ.as_deref(), Some("at+jwt"), "{rule}");
        assert_eq!(
            jwt_header.kid.as_deref(),
            Some(shared_key().kid.as_str()),
            "{rule}"
        );

        // RFC 9068 2.2: the claims, verified as an API would.
        let Some(claims) = w.verify(&tokens.access_token).await else {
            panic!("{rule}: the access token does not verify")
        };
        assert_eq!(claims.iss, w.app.config.issuer, "{rule}");
        assert_eq!(claims.sub, "sub-alice", "{rule}");
        assert_eq!(claims.aud, w.app.config.audience.clone().into(), "{rule}");
        assert_eq!(claims.client_id, client_id, "{rule}");
        assert_eq!(claims.scope, "read write", "{rule}");
        assert!(!claims.jti.is_empty(), "{rule}");
        assert_eq!(
            claims.exp - claims.iat,
            w.app.config.access_token_ttl_seconds,
            "{rule}"
        );
        assert!((claims.iat - now()).abs() <= 5, "{rule}: iat is now");
    }
}

/// Every token gets its own `jti` (RFC 9068 2.2, RFC 7519 4.1.7).
#[tokio::test]
async fn each_access_token_has_its_own_jti() {
    let w = world().await;
    let first = w.issue("app", "code-1").await;
    let second = w.issue("app", "code-2").await;
    let (Some(a), Some(b)) = (
        w.verify(&first.access_token).await,
        w.verify(&second.access_token).await,
    ) else {
        panic!("the access tokens do not verify")
    };
    assert_ne!(a.jti, b.jti);
}

/// RFC 6749 2.3.1: client id and secret are form-urlencoded before base64.
#[tokio::test]
async fn basic_credentials_are_form_urlencoded_before_base64() {
    let w = world().await;
    let percent_encoded = basic("odd", ODD_SECRET);
    let space_as_plus = basic_raw(&format!("odd:{}", encode(ODD_SECRET).replace("%20", "+")));
    let rows: Vec<(&str, String, StatusCode)> = vec![
        (
            "':', '+', '%', ' ' and '/' percent-encoded (RFC 6749 2.3.1)",
            percent_encoded,
            StatusCode::OK,
        ),
        (
            "space encoded as '+' (application/x-www-form-urlencoded)",
            space_as_plus,
            StatusCode::OK,
        ),
        (
            "an unencoded '+' means a space, so the secret is wrong (RFC 6749 2.3.1)",
            basic_raw(&format!("odd:{ODD_SECRET}")),
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (i, (rule, authorization, status)) in rows.into_iter().enumerate() {
        let code = format!("odd-code-{i}");
        w.add_code(grant(&code, "odd")).await;
        let response = w
            .token(&request(
                "/oauth/token",
                &encode_pairs(&code_pairs(&code)),
                Some(&authorization),
            ))
            .await;
        assert_eq!(response.status(), status, "{rule}: {}", response.body());
    }
}

// ---------------------------------------------------------------------------------------
// Client authentication and request errors
// ---------------------------------------------------------------------------------------

/// RFC 6749 5.2: a failed client authentication is `401 invalid_client`, with a
/// `WWW-Authenticate` challenge exactly when the client tried HTTP Basic. It spends nothing.
#[tokio::test]
async fn client_authentication_failures_are_401_invalid_client() {
    let w = world().await;
    w.add_code(grant("the-code", "app")).await;
    let body = encode_pairs(&code_pairs("the-code"));
    let plus = |extra: &[(&'static str, &str)]| {
        let mut pairs = code_pairs("the-code");
        pairs.extend(extra.iter().map(|(n, v)| (*n, v.to_string())));
        encode_pairs(&pairs)
    };
    let rows: Vec<(&str, String, Option<String>, bool)> = vec![
        (
            "wrong secret, Basic (RFC 6749 2.3.1)",
            body.clone(),
            Some(basic("app", "wrong-secret")),
            true,
        ),
        (
            "wrong secret, body (RFC 6749 2.3.1)",
            plus(&[("client_id", "app"), ("client_secret", "wrong-secret")]),
            None,
            false,
        ),
        (
            "another client's secret (RFC 6749 2.3.1)",
            body.clone(),
            Some(basic("app", "other-secret")),
            true,
        ),
        (
            "unknown client, Basic (RFC 6749 5.2)",
            body.clone(),
            Some(basic("nobody", "app-secret")),
            true,
        ),
        (
            "unknown client, body (RFC 6749 5.2)",
            plus(&[("client_id", "nobody"), ("client_secret", "app-secret")]),
            None,
            false,
        ),
        (
            "no credentials at all (RFC 6749 3.2.1)",
            body.clone(),
            None,
            false,
        ),
        (
            "confidential client without its secret (RFC 6749 3.2.1)",
            plus(&[("client_id", "app")]),
            None,
            false,
        ),
        (
            "secret without client_id (RFC 6749 2.3.1)",
            plus(&[("client_secret", "app-secret")]),
            None,
            false,
        ),
        (
            "public client sending a secret in the body (RFC 6749 2.1)",
            plus(&[("client_id", "spa"), ("client_secret", "anything")]),
            None,
            false,
        ),
        (
            "public client sending a secret with Basic (RFC 6749 2.1)",
            body.clone(),
            Some(basic("spa", "anything")),
            true,
        ),
        (
            "malformed Basic: not base64 (RFC 7617 2)",
            body.clone(),
            Some("Basic !!!not-base64!!!".into()),
            true,
        ),
        (
            "malformed Basic: no ':' (RFC 7617 2)",
            body.clone(),
            Some(basic_raw("app")),
            true,
        ),
        (
            "malformed Basic: not UTF-8 after decoding (RFC 6749 2.3.1)",
            body.clone(),
            Some(format!("Basic {}", STANDARD.encode(b"app:\xff\xfe"))),
            true,
        ),
        (
            "malformed Basic: invalid percent-encoded UTF-8 (RFC 6749 2.3.1)",
            body.clone(),
            Some(basic_raw("app:%ff")),
            true,
        ),
        (
            "secret differing in case (exact comparison)",
            body.clone(),
            Some(basic("app", "APP-SECRET")),
            true,
        ),
    ];
    for (rule, body, authorization, used_basic) in rows {
        let response = w
            .token(&request("/oauth/token", &body, authorization.as_deref()))
            .await;
        assert_error(rule, &response, StatusCode::UNAUTHORIZED, "invalid_client");
        match header(&response, "www-authenticate") {
            Some(challenge) => {
                assert!(used_basic, "{rule}: a challenge without Basic");
                assert!(challenge.starts_with("Basic "), "{rule}: {challenge}");
            }
            None => assert!(!used_basic, "{rule}: no WWW-Authenticate (RFC 6749 5.2)"),
        }
    }
    // None of that spent the code.
    issued("the code still works", &w.redeem("app", "the-code").await);
}

/// A client id no registration could produce (`ids::is_client_id`: 1 to 64 characters of
/// A-Z a-z 0-9 . _ -) is an unknown client at token, revoke and introspect: `401
/// invalid_client`, with the Basic challenge when Basic was tried, decided without a storage
/// call. DynamoDB refuses an empty or over-long key, which used to make these a 500.
#[tokio::test]
async fn impossible_client_ids_are_401_invalid_client_without_a_storage_call() {
    let w = world().await;
    let long = "c".repeat(3000);
    let post = |client_id: &str| {
        form_encode(&[
            ("grant_type", "x"),
            ("token", "t"),
            ("client_id", client_id),
            ("client_secret", "s"),
        ])
    };
    let rows: Vec<(&str, String, Option<String>, bool)> = vec![
        (
            "Basic Og==: empty id and secret",
            "grant_type=x&token=t".into(),
            Some("Basic Og==".into()),
            true,
        ),
        (
            "Basic: empty id, a secret",
            "grant_type=x&token=t".into(),
            Some(basic_raw(":app-secret")),
            true,
        ),
        (
            "Basic: a 3000-byte id",
            "grant_type=x&token=t".into(),
            Some(basic(&long, "s")),
            true,
        ),
        (
            "Basic: an id outside the alphabet",
            "grant_type=x&token=t".into(),
            Some(basic("app/x", "app-secret")),
            true,
        ),
        ("client_id of 3000 bytes", post(&long), None, false),
        (
            "client_id of 65 characters",
            post(&"c".repeat(65)),
            None,
            false,
        ),
        ("client_id with a space", post("a b"), None, false),
        ("client_id outside ASCII", post("caf\u{e9}"), None, false),
        (
            "public client form: client_id with a NUL",
            form_encode(&[("grant_type", "x"), ("token", "t"), ("client_id", "a\0")]),
            None,
            false,
        ),
        (
            "empty client_id: dropped, so no credentials",
            "grant_type=x&token=t&client_id=&client_secret=s".into(),
            None,
            false,
        ),
    ];
    for path in ["/oauth/token", "/oauth/revoke", "/oauth/introspect"] {
        for (rule, body, authorization, used_basic) in &rows {
            let rule = format!("{path}, {rule}");
            let request = request(path, body, authorization.as_deref());
            let calls = w.app.store.calls();
            let response = match path {
                "/oauth/token" => w.token(&request).await,
                "/oauth/revoke" => revoke::handle(&w.app, &request).await,
                _ => introspect::handle(&w.app, &request).await,
            };
            assert_error(&rule, &response, StatusCode::UNAUTHORIZED, "invalid_client");
            assert_eq!(
                header(&response, "www-authenticate").is_some_and(|c| c.starts_with("Basic ")),
                *used_basic,
                "{rule}: a challenge exactly when Basic was tried (RFC 6749 5.2)"
            );
            assert_eq!(w.app.store.calls(), calls, "{rule}: no storage call");
        }
    }
}

/// RFC 6749 5.2: the request errors, each `400` with its error code; none spends the code.
#[tokio::test]
async fn request_errors_are_400_with_their_error_code() {
    let w = world().await;
    w.add_code(grant("the-code", "app")).await;
    let good = code_pairs("the-code");
    let app = basic("app", "app-secret");
    let form = |pairs: Pairs| encode_pairs(&pairs);
    let json_request = HttpRequest::new(Method::POST, "/oauth/token")
        .with_header("content-type", "application/json")
        .with_header("authorization", &app);
    let json_request = HttpRequest {
        body: serde_json::to_vec(&json!({
            "grant_type": "authorization_code",
            "code": "the-code",
            "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER,
        }))
        .unwrap_or_default(),
        ..json_request
    };
    let no_content_type = HttpRequest {
        body: form(good.clone()).into_bytes(),
        ..HttpRequest::new(Method::POST, "/oauth/token").with_header("authorization", &app)
    };
    let get = HttpRequest::new(Method::GET, &format!("/oauth/token?{}", form(good.clone())))
        .with_header("authorization", &app);
    let basic_and_body = {
        let mut pairs = good.clone();
        pairs.push(("client_secret", "app-secret".into()));
        request("/oauth/token", &form(pairs), Some(&app))
    };
    let basic_and_other_id = {
        let mut pairs = good.clone();
        pairs.push(("client_id", "other".into()));
        request("/oauth/token", &form(pairs), Some(&app))
    };
    let at = |body: String| request("/oauth/token", &body, Some(&app));
    let rows: Vec<(&str, HttpRequest, StatusCode, &str)> = vec![
        (
            "JSON body (RFC 6749 4.1.3: form-urlencoded)",
            json_request,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "form body without its content type (RFC 6749 4.1.3)",
            no_content_type,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "GET instead of POST (RFC 6749 3.2)",
            get,
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
        ),
        (
            "repeated code (RFC 6749 3.1)",
            at(format!("{}&code=other-code", form(good.clone()))),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "repeated grant_type (RFC 6749 3.1)",
            at(format!(
                "{}&grant_type=authorization_code",
                form(good.clone())
            )),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "repeated parameter with an empty value (RFC 6749 3.1)",
            at(format!("{}&code_verifier=", form(good.clone()))),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "invalid percent-encoding (RFC 6749 5.2)",
            at(format!("{}&state=%ff", form(good.clone()))),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "body over 32 KiB (bad input is a 4xx)",
            at(format!(
                "{}&state={}",
                form(good.clone()),
                "a".repeat(auth_core::http::MAX_INPUT_BYTES)
            )),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "missing grant_type (RFC 6749 4.1.3)",
            at(form(with(good.clone(), "grant_type", None))),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "missing code (RFC 6749 4.1.3)",
            at(form(with(good.clone(), "code", None))),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "missing refresh_token (RFC 6749 6)",
            at(form(vec![("grant_type", "refresh_token".into())])),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "Basic and client_secret in the body (RFC 6749 2.3)",
            basic_and_body,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "client_id in the body differs from Basic (RFC 6749 2.3)",
            basic_and_other_id,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "password grant (RFC 9700 2.4: not supported)",
            at(form(with(good.clone(), "grant_type", Some("password")))),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "implicit-style grant_type (RFC 6749 5.2)",
            at(form(with(good.clone(), "grant_type", Some("token")))),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "client_credentials grant, not registered for the client (RFC 6749 5.2)",
            at(form(with(
                good.clone(),
                "grant_type",
                Some("client_credentials"),
            ))),
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        ),
        (
            "grant_type differing in case (RFC 6749 3.1: exact values)",
            at(form(with(
                good.clone(),
                "grant_type",
                Some("Authorization_Code"),
            ))),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "refresh_token grant for a client without it (RFC 6749 5.2)",
            as_client(
                "/oauth/token",
                "noref",
                Via::Basic,
                &[
                    ("grant_type", "refresh_token".into()),
                    ("refresh_token", "x".repeat(43)),
                ],
            ),
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
        ),
    ];
    for (rule, request, status, error) in rows {
        let response = w.token(&request).await;
        assert_error(rule, &response, status, error);
    }
    issued("the code still works", &w.redeem("app", "the-code").await);
}

// ---------------------------------------------------------------------------------------
// Authorization code rules
// ---------------------------------------------------------------------------------------

/// RFC 6749 4.1.3, RFC 7636 4.6, RFC 9700 4.8.2: every binding of a code, `invalid_grant`.
#[tokio::test]
async fn code_rules_are_invalid_grant() {
    let w = world().await;
    let no_pkce = |code: &str, client_id: &str| Grant {
        pkce: None,
        ..grant(code, client_id)
    };
    let short = &VERIFIER[..42];
    let bad_character = format!("{}+", &VERIFIER[..42]);
    let too_long = "a".repeat(129);
    let base = code_pairs;
    // (rule, code created beforehand, client redeeming, request parameters)
    let rows: Vec<(&str, Option<Grant>, &str, Pairs)> = vec![
        (
            "unknown code (RFC 6749 5.2)",
            None,
            "app",
            base("c-unknown"),
        ),
        (
            "expired code (RFC 6749 4.1.2)",
            Some(Grant {
                expires_at: now() - 1,
                ..grant("c-expired", "app")
            }),
            "app",
            base("c-expired"),
        ),
        (
            "code of another client (RFC 6749 4.1.3)",
            Some(grant("c-foreign", "app")),
            "other",
            base("c-foreign"),
        ),
        (
            "redirect_uri differs (RFC 6749 4.1.3)",
            Some(grant("c-redirect", "app")),
            "app",
            with(
                base("c-redirect"),
                "redirect_uri",
                Some("https://app.example/other"),
            ),
        ),
        (
            "redirect_uri differs by a trailing slash (RFC 6749 4.1.3)",
            Some(grant("c-slash", "app")),
            "app",
            with(
                base("c-slash"),
                "redirect_uri",
                Some("https://app.example/cb/"),
            ),
        ),
        (
            "redirect_uri missing, the authorization request had one (RFC 6749 4.1.3)",
            Some(grant("c-no-redirect", "app")),
            "app",
            with(base("c-no-redirect"), "redirect_uri", None),
        ),
        (
            "redirect_uri present, the authorization request had none (RFC 6749 4.1.3)",
            Some(Grant {
                redirect_uri: None,
                ..grant("c-extra-redirect", "app")
            }),
            "app",
            base("c-extra-redirect"),
        ),
        (
            "wrong code_verifier (RFC 7636 4.6)",
            Some(grant("c-wrong", "app")),
            "app",
            with(base("c-wrong"), "code_verifier", Some(&"a".repeat(43))),
        ),
        (
            "the challenge sent as the verifier (RFC 7636 4.6)",
            Some(grant("c-challenge", "app")),
            "app",
            with(base("c-challenge"), "code_verifier", Some(CHALLENGE)),
        ),
        (
            "missing code_verifier (RFC 7636 4.5)",
            Some(grant("c-missing", "app")),
            "app",
            with(base("c-missing"), "code_verifier", None),
        ),
        (
            "missing code_verifier, public client (RFC 7636 4.5)",
            Some(grant("c-missing-spa", "spa")),
            "spa",
            with(base("c-missing-spa"), "code_verifier", None),
        ),
        (
            "code_verifier of 42 characters (RFC 7636 4.1)",
            Some(grant("c-short", "app")),
            "app",
            with(base("c-short"), "code_verifier", Some(short)),
        ),
        (
            "code_verifier of 129 characters (RFC 7636 4.1)",
            Some(grant("c-long", "app")),
            "app",
            with(base("c-long"), "code_verifier", Some(&too_long)),
        ),
        (
            "code_verifier with '+' (RFC 7636 4.1)",
            Some(grant("c-char", "app")),
            "app",
            with(base("c-char"), "code_verifier", Some(&bad_character)),
        ),
        (
            "code_verifier for a code without challenge: PKCE downgrade (RFC 9700 4.8.2)",
            Some(no_pkce("c-downgrade", "legacy")),
            "legacy",
            base("c-downgrade"),
        ),
        (
            "PKCE downgrade by a client that requires PKCE (RFC 9700 4.8.2)",
            Some(no_pkce("c-downgrade-app", "app")),
            "app",
            base("c-downgrade-app"),
        ),
        (
            "public client redeeming a code without challenge (RFC 9700 2.1.1)",
            Some(no_pkce("c-spa-no-pkce", "spa")),
            "spa",
            with(base("c-spa-no-pkce"), "code_verifier", None),
        ),
        (
            "plain challenge, a different verifier (RFC 7636 4.6)",
            Some(Grant {
                pkce: Some(PkceChallenge {
                    challenge: VERIFIER.into(),
                    method: PkceMethod::Plain,
                }),
                ..grant("c-plain-wrong", "app")
            }),
            "app",
            with(base("c-plain-wrong"), "code_verifier", Some(CHALLENGE)),
        ),
    ];
    for (rule, grant, client_id, pairs) in rows {
        if let Some(grant) = grant {
            w.add_code(grant).await;
        }
        let response = w.token_as(client_id, &pairs).await;
        assert_error(rule, &response, StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

/// What the clients are configured for succeeds: plain PKCE (RFC 7636 4.6) and,
/// for a confidential client explicitly exempted, no PKCE at all (RFC 9700 2.1.1).
#[tokio::test]
async fn configured_pkce_variants_are_accepted() {
    let w = world().await;
    w.add_code(Grant {
        pkce: Some(PkceChallenge {
            challenge: VERIFIER.into(),
            method: PkceMethod::Plain,
        }),
        ..grant("plain-code", "legacy")
    })
    .await;
    issued(
        "plain: the verifier equals the challenge (RFC 7636 4.6)",
        &w.redeem("legacy", "plain-code").await,
    );

    w.add_code(Grant {
        pkce: None,
        ..grant("no-pkce-code", "legacy")
    })
    .await;
    let pairs = with(code_pairs("no-pkce-code"), "code_verifier", None);
    issued(
        "no challenge, no verifier, for a pkce_optional client (RFC 9700 2.1.1)",
        &w.token_as("legacy", &pairs).await,
    );

    w.add_code(Grant {
        redirect_uri: None,
        ..grant("no-redirect-code", "app")
    })
    .await;
    let pairs = with(code_pairs("no-redirect-code"), "redirect_uri", None);
    issued(
        "redirect_uri omitted by both requests (RFC 6749 4.1.3)",
        &w.token_as("app", &pairs).await,
    );
}

/// A malformed verifier is refused before the code is touched, so it does not spend it.
#[tokio::test]
async fn malformed_verifier_does_not_spend_the_code() {
    let w = world().await;
    w.add_code(grant("the-code", "app")).await;
    let pairs = with(code_pairs("the-code"), "code_verifier", Some("short"));
    assert_error(
        "malformed verifier (RFC 7636 4.1)",
        &w.token_as("app", &pairs).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    issued("the code still works", &w.redeem("app", "the-code").await);
}

/// RFC 6749 4.1.2 and 10.5: a code is single use; a second redemption is refused and
/// revokes what the first one issued.
#[tokio::test]
async fn second_redemption_is_refused_and_revokes_what_the_first_issued() {
    let w = world().await;
    let first = w.issue("app", "the-code").await;
    let refresh = refresh_of("first redemption", &first);
    let Some(claims) = w.verify(&first.access_token).await else {
        panic!("the first access token does not verify")
    };
    let Some(family) = w.family_of(&refresh).await else {
        panic!("the first refresh token has no family")
    };
    assert!(!w.is_revoked(&claims.jti).await);
    assert!(!family.revoked);

    let again = w.redeem("app", "the-code").await;
    assert_error(
        "second redemption (RFC 6749 4.1.2)",
        &again,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert!(
        w.is_revoked(&claims.jti).await,
        "the first access token is deny-listed (RFC 6749 4.1.2)"
    );
    assert!(
        w.family_of(&refresh).await.is_some_and(|f| f.revoked),
        "the first refresh family is revoked (RFC 6749 4.1.2)"
    );
    assert_error(
        "the first refresh token no longer works",
        &w.refresh("app", &refresh, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_inactive(
        "the first access token is inactive (RFC 7662 2.2)",
        &w.introspect("app", &first.access_token).await,
    );
    assert_inactive(
        "the first refresh token is inactive (RFC 7662 2.2)",
        &w.introspect("app", &refresh).await,
    );
    // A third attempt is refused as well.
    assert_error(
        "third redemption",
        &w.redeem("app", "the-code").await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

/// The signing key is loaded before the code is spent: a server error costs the client nothing.
#[tokio::test]
async fn missing_signing_key_is_a_server_error_that_spends_nothing() {
    let mut w = world_without_key().await;
    w.add_code(grant("the-code", "app")).await;
    let response = w.redeem("app", "the-code").await;
    assert_error(
        "no signing key",
        &response,
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
    );
    w.put_key(shared_key()).await;
    let tokens = issued(
        "the same code after a key was added",
        &w.redeem("app", "the-code").await,
    );
    let refresh = refresh_of("after a key was added", &tokens);

    // The same for a refresh token: the key goes, a fresh container answers 500, the token survives.
    if let Err(error) = w.app.store.delete_key(&shared_key().kid).await {
        panic!("delete key: {error}");
    }
    let pairs: Pairs = vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", refresh.clone()),
    ];
    w.app.cache = WarmCache::default(); // a fresh container
    let request = as_client("/oauth/token", "app", Via::Basic, &pairs);
    let response = w.token(&request).await;
    assert_error(
        "refresh without a signing key",
        &response,
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
    );
    w.put_key(shared_key()).await;
    let response = w.token(&request).await;
    issued("the same refresh token after the key is back", &response);
}

// ---------------------------------------------------------------------------------------
// Refresh token grant
// ---------------------------------------------------------------------------------------

/// RFC 9700 4.14, RFC 6749 6: rotation on every use; a reused token revokes its family.
#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let w = world().await;
    let first = w.issue("app", "the-code").await;
    let rt1 = refresh_of("code redemption", &first);

    let second = issued("first refresh", &w.refresh("app", &rt1, None).await);
    let rt2 = refresh_of("first refresh", &second);
    assert_ne!(rt1, rt2, "a new refresh token (RFC 9700 4.14.2)");
    assert_eq!(second.body["token_type"], "Bearer");
    assert_eq!(second.body["scope"], "read write");
    let Some(claims) = w.verify(&second.access_token).await else {
        panic!("the refreshed access token does not verify")
    };
    assert_eq!(claims.sub, "sub-alice");
    assert_eq!(claims.client_id, "app");
    assert_eq!(claims.scope, "read write");

    // rt2 works in turn; then rt1 is presented again.
    let third = issued("second refresh", &w.refresh("app", &rt2, None).await);
    let rt3 = refresh_of("second refresh", &third);
    assert_error(
        "reuse of a rotated refresh token (RFC 9700 4.14.2)",
        &w.refresh("app", &rt1, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert!(
        w.family_of(&rt1).await.is_some_and(|f| f.revoked),
        "the family is revoked (RFC 9700 4.14.2)"
    );
    assert_error(
        "the newest refresh token dies with its family (RFC 9700 4.14.2)",
        &w.refresh("app", &rt3, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        "so does the one in between",
        &w.refresh("app", &rt2, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
}

/// RFC 9700 4.14.2: reuse of the token just rotated also revokes the family.
#[tokio::test]
async fn immediate_reuse_revokes_the_successor() {
    let w = world().await;
    let rt1 = refresh_of("redemption", &w.issue("app", "the-code").await);
    let rt2 = refresh_of(
        "refresh",
        &issued("refresh", &w.refresh("app", &rt1, None).await),
    );
    assert_error(
        "reuse",
        &w.refresh("app", &rt1, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        "successor after reuse",
        &w.refresh("app", &rt2, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_inactive("successor introspected", &w.introspect("app", &rt2).await);
}

/// RFC 6749 6: a refresh may narrow the scope of the access token, never widen it;
/// the rotated refresh token keeps the original scope.
#[tokio::test]
async fn refresh_may_narrow_but_not_widen_the_scope() {
    let w = world().await;
    let rt1 = refresh_of("redemption", &w.issue("app", "the-code").await);

    let narrowed = issued(
        "narrower scope",
        &w.refresh("app", &rt1, Some("read")).await,
    );
    assert_eq!(narrowed.body["scope"], "read", "RFC 6749 6");
    let Some(claims) = w.verify(&narrowed.access_token).await else {
        panic!("the narrowed access token does not verify")
    };
    assert_eq!(claims.scope, "read");
    let rt2 = refresh_of("narrower scope", &narrowed);

    let full = issued("refresh without scope", &w.refresh("app", &rt2, None).await);
    assert_eq!(
        full.body["scope"], "read write",
        "the rotated refresh token keeps the original scope (RFC 6749 6)"
    );
    let rt3 = refresh_of("refresh without scope", &full);

    let rows: Vec<(&str, &str)> = vec![
        ("a scope never granted (RFC 6749 6)", "read admin"),
        ("an unknown scope alone (RFC 6749 6)", "admin"),
        ("a malformed scope (RFC 6749 3.3)", "re\"ad"),
    ];
    for (rule, scope) in rows {
        assert_error(
            rule,
            &w.refresh("app", &rt3, Some(scope)).await,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        );
    }
    // A code granted only "read": asking for "read write" on refresh is widening.
    w.add_code(Grant {
        scopes: set(&["read"]),
        ..grant("read-code", "app")
    })
    .await;
    let read_only = refresh_of(
        "read-only redemption",
        &issued("read-only", &w.redeem("app", "read-code").await),
    );
    assert_error(
        "wider scope than granted (RFC 6749 6)",
        &w.refresh("app", &read_only, Some("read write")).await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    );
    // None of the refused requests spent their token.
    let after = issued(
        "read-only token after the refusal",
        &w.refresh("app", &read_only, None).await,
    );
    assert_eq!(after.body["scope"], "read");
    issued(
        "rt3 after the refusals",
        &w.refresh("app", &rt3, Some("write")).await,
    );
}

/// RFC 6749 6: a refresh token is bound to its client.
#[tokio::test]
async fn refresh_token_of_another_client_is_invalid_grant() {
    let w = world().await;
    let rt = refresh_of("redemption", &w.issue("app", "the-code").await);
    assert_error(
        "another client's refresh token (RFC 6749 6)",
        &w.refresh("other", &rt, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        "a public client presenting it (RFC 6749 6)",
        &w.refresh("spa", &rt, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert_error(
        "an unknown refresh token (RFC 6749 5.2)",
        &w.refresh("app", &"x".repeat(43), None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert!(
        w.family_of(&rt).await.is_some_and(|f| !f.revoked),
        "a foreign presentation does not revoke the owner's family"
    );
    issued(
        "the owner's token still works",
        &w.refresh("app", &rt, None).await,
    );
}

/// A public client rotates its refresh token with `client_id` alone (RFC 6749 6, RFC 9700 4.14).
#[tokio::test]
async fn public_client_refreshes_with_rotation() {
    let w = world().await;
    let rt1 = refresh_of("redemption", &w.issue("spa", "the-code").await);
    let rt2 = refresh_of(
        "refresh",
        &issued("refresh", &w.refresh("spa", &rt1, None).await),
    );
    assert_ne!(rt1, rt2);
    assert_error(
        "reuse by a public client",
        &w.refresh("spa", &rt1, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert!(w.family_of(&rt2).await.is_some_and(|f| f.revoked));
}

// ---------------------------------------------------------------------------------------
// Revocation (RFC 7009)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn revoke_needs_client_authentication_and_a_token() {
    let w = world().await;
    let tokens = w.issue("app", "the-code").await;
    let refresh = refresh_of("redemption", &tokens);
    let token_only = encode_pairs(&[("token", refresh.clone())]);
    let rows: Vec<(&str, HttpRequest, StatusCode, &str)> = vec![
        (
            "no client authentication (RFC 7009 2.1)",
            request("/oauth/revoke", &token_only, None),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "confidential client without its secret (RFC 7009 2.1)",
            request(
                "/oauth/revoke",
                &format!("{token_only}&client_id=app"),
                None,
            ),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "wrong secret (RFC 7009 2.1)",
            request(
                "/oauth/revoke",
                &token_only,
                Some(&basic("app", "wrong-secret")),
            ),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "missing token (RFC 7009 2.1)",
            as_client("/oauth/revoke", "app", Via::Basic, &[]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "repeated token (RFC 6749 3.1)",
            request(
                "/oauth/revoke",
                &format!("{token_only}&token=other"),
                Some(&basic("app", "app-secret")),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (rule, request, status, error) in rows {
        let response = revoke::handle(&w.app, &request).await;
        assert_error(rule, &response, status, error);
    }
    assert!(
        w.family_of(&refresh).await.is_some_and(|f| !f.revoked),
        "nothing was revoked"
    );
}

/// RFC 7009 2.1: revoking a refresh token revokes its family (RFC 9700 4.14.2).
#[tokio::test]
async fn revoking_own_refresh_token_revokes_its_family() {
    let w = world().await;
    for via in [Via::Basic, Via::Post] {
        let tokens = w.issue("app", &format!("code-{via:?}")).await;
        let refresh = refresh_of("redemption", &tokens);
        let request = as_client("/oauth/revoke", "app", via, &[("token", refresh.clone())]);
        let response = revoke::handle(&w.app, &request).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{via:?}: {}",
            response.body()
        );
        assert!(
            w.family_of(&refresh).await.is_some_and(|f| f.revoked),
            "{via:?}: the family is revoked"
        );
        assert_error(
            "refresh after revocation",
            &w.refresh("app", &refresh, None).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        );
        assert_inactive(
            "introspection after revocation",
            &w.introspect("app", &refresh).await,
        );
        // Revoking again is still 200 (RFC 7009 2.2).
        assert_eq!(w.revoke("app", &refresh).await.status(), StatusCode::OK);
    }
}

/// RFC 7009 2.1: a revoked access token is deny-listed, so introspection reports it inactive.
#[tokio::test]
async fn revoking_own_access_token_makes_it_inactive() {
    let w = world().await;
    let tokens = w.issue("app", "the-code").await;
    let Some(claims) = w.verify(&tokens.access_token).await else {
        panic!("the access token does not verify")
    };
    assert_eq!(
        json_body(&w.introspect("app", &tokens.access_token).await)["active"],
        true
    );
    let response = w.revoke("app", &tokens.access_token).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    assert!(w.is_revoked(&claims.jti).await, "the jti is deny-listed");
    assert_inactive(
        "introspection after revocation (RFC 7662 2.2)",
        &w.introspect("app", &tokens.access_token).await,
    );
    // The refresh token of the same grant is untouched.
    let refresh = refresh_of("redemption", &tokens);
    issued(
        "the refresh token still works",
        &w.refresh("app", &refresh, None).await,
    );
}

/// RFC 7009 2.2: a token of another client, an unknown or invalid one, all get 200 and
/// change nothing.
#[tokio::test]
async fn revoking_tokens_that_are_not_ones_own_changes_nothing() {
    let w = world().await;
    let tokens = w.issue("app", "the-code").await;
    let refresh = refresh_of("redemption", &tokens);
    let rows: Vec<(&str, &str, String)> = vec![
        (
            "another client's refresh token (RFC 7009 2.1)",
            "other",
            refresh.clone(),
        ),
        (
            "another client's access token (RFC 7009 2.1)",
            "other",
            tokens.access_token.clone(),
        ),
        (
            "a public client revoking another's refresh token (RFC 7009 2.1)",
            "spa",
            refresh.clone(),
        ),
        (
            "an unknown opaque token (RFC 7009 2.2)",
            "app",
            "x".repeat(43),
        ),
        (
            "a garbage JWT-shaped token (RFC 7009 2.2)",
            "app",
            "a.b.c".into(),
        ),
    ];
    for (rule, client_id, token) in rows {
        let response = w.revoke(client_id, &token).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{rule}: {}",
            response.body()
        );
    }
    assert!(w.family_of(&refresh).await.is_some_and(|f| !f.revoked));
    assert_eq!(
        json_body(&w.introspect("app", &tokens.access_token).await)["active"],
        true,
        "the access token is still active"
    );
    issued(
        "the refresh token still works",
        &w.refresh("app", &refresh, None).await,
    );
}

/// RFC 7009 2.1: a public client revokes its own tokens with its `client_id`.
#[tokio::test]
async fn public_client_revokes_its_own_token() {
    let w = world().await;
    let tokens = w.issue("spa", "the-code").await;
    let refresh = refresh_of("redemption", &tokens);
    let response = w.revoke("spa", &refresh).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    assert!(w.family_of(&refresh).await.is_some_and(|f| f.revoked));
    assert_error(
        "refresh after revocation",
        &w.refresh("spa", &refresh, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    let Some(claims) = w.verify(&tokens.access_token).await else {
        panic!("the access token does not verify")
    };
    assert_eq!(
        w.revoke("spa", &tokens.access_token).await.status(),
        StatusCode::OK
    );
    assert!(w.is_revoked(&claims.jti).await);
}

// ---------------------------------------------------------------------------------------
// Introspection (RFC 7662)
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn introspection_needs_a_confidential_client() {
    let w = world().await;
    let tokens = w.issue("spa", "the-code").await;
    let token_only = encode_pairs(&[("token", tokens.access_token.clone())]);
    let rows: Vec<(&str, HttpRequest, StatusCode, &str)> = vec![
        (
            "public client (RFC 7662 2.1)",
            as_client(
                "/oauth/introspect",
                "spa",
                Via::Basic,
                &[("token", tokens.access_token.clone())],
            ),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "unauthenticated (RFC 7662 2.1)",
            request("/oauth/introspect", &token_only, None),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "wrong secret (RFC 7662 2.1)",
            request(
                "/oauth/introspect",
                &token_only,
                Some(&basic("app", "wrong-secret")),
            ),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "missing token (RFC 7662 2.1)",
            as_client("/oauth/introspect", "app", Via::Basic, &[]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (rule, request, status, error) in rows {
        let response = introspect::handle(&w.app, &request).await;
        assert_error(rule, &response, status, error);
    }
}

/// RFC 7662 2.2: an active access token with its claims.
#[tokio::test]
async fn introspection_of_an_active_access_token() {
    let w = world().await;
    let tokens = w.issue("app", "the-code").await;
    let Some(claims) = w.verify(&tokens.access_token).await else {
        panic!("the access token does not verify")
    };
    for via in [Via::Basic, Via::Post] {
        let request = as_client(
            "/oauth/introspect",
            "app",
            via,
            &[("token", tokens.access_token.clone())],
        );
        let response = introspect::handle(&w.app, &request).await;
        assert_eq!(response.status(), StatusCode::OK, "{via:?}");
        assert_eq!(header(&response, "cache-control"), Some("no-store"));
        let body = json_body(&response);
        assert_eq!(body["active"], true, "{via:?}: {body}");
        assert_eq!(body["scope"], "read write");
        assert_eq!(body["client_id"], "app");
        assert_eq!(body["sub"], "sub-alice");
        assert_eq!(body["exp"], json!(claims.exp));
        assert_eq!(body["iat"], json!(claims.iat));
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["iss"], w.app.config.issuer.as_str());
        assert_eq!(body["aud"], w.app.config.audience.as_str());
        assert_eq!(body["jti"], claims.jti.as_str());
    }
}

/// RFC 7662 2.2: anything not active is `{"active":false}`, with nothing else said.
#[tokio::test]
async fn introspection_reports_inactive_tokens_and_nothing_else() {
    let w = world().await;
    let tokens = w.issue("app", "the-code").await;
    let foreign = w.issue("other", "other-code").await;
    let revoked = w.issue("app", "revoked-code").await;
    assert_eq!(
        w.revoke("app", &revoked.access_token).await.status(),
        StatusCode::OK
    );

    let Ok(signer) = Signer::from_key(shared_key()) else {
        panic!("unusable key")
    };
    // Made the same way as the tokens of `tokens`' grant, so that only what a row changes counts.
    let gid = w
        .verify(&tokens.access_token)
        .await
        .map(|claims| claims.gid)
        .unwrap_or_default();
    let claims = |iat: i64, exp: i64, jti: &str| AccessTokenClaims {
        gid: gid.clone(),
        iss: w.app.config.issuer.clone(),
        sub: "sub-alice".into(),
        aud: w.app.config.audience.clone().into(),
        client_id: "app".into(),
        scope: "read".into(),
        iat,
        exp,
        jti: jti.into(),
    };
    let t = now();
    let (Ok(expired), Ok(fresh)) = (
        signer.sign(&claims(t - 2000, t - 1000, "expired-jti")),
        signer.sign(&claims(t, t + 600, "fresh-jti")),
    ) else {
        panic!("signing failed")
    };
    let wrong_audience = AccessTokenClaims {
        aud: "https://elsewhere.example".into(),
        ..claims(t, t + 600, "aud-jti")
    };
    let wrong_issuer = AccessTokenClaims {
        iss: "https://evil.example".into(),
        ..claims(t, t + 600, "iss-jti")
    };
    let (Ok(wrong_audience), Ok(wrong_issuer)) =
        (signer.sign(&wrong_audience), signer.sign(&wrong_issuer))
    else {
        panic!("signing failed")
    };
    let Ok(stranger) = Signer::from_key(&new_key()) else {
        panic!("unusable key")
    };
    let Ok(unknown_key) = stranger.sign(&claims(t, t + 600, "stranger-jti")) else {
        panic!("signing failed")
    };
    let mut parts: Vec<String> = tokens.access_token.split('.').map(str::to_string).collect();
    let Some(payload) = URL_SAFE_NO_PAD
        .decode(&parts[1])
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
    else {
        panic!("the payload is not base64url JSON")
    };
    parts[1] = URL_SAFE_NO_PAD.encode(payload.replace("read write", "read write admin"));
    let tampered = parts.join(".");

    // The control: a token made the same way, not expired, is active.
    assert_eq!(
        json_body(&w.introspect("app", &fresh).await)["active"],
        true
    );

    let rows: Vec<(&str, &str, String)> = vec![
        ("expired access token (RFC 7662 2.2)", "app", expired),
        ("garbage (RFC 7662 2.2)", "app", "garbage".into()),
        ("garbage with the shape of a JWT", "app", "a.b.c".into()),
        (
            "another client's access token (RFC 7662 2.2)",
            "app",
            foreign.access_token.clone(),
        ),
        (
            "our access token asked by another client (RFC 7662 2.2)",
            "other",
            tokens.access_token.clone(),
        ),
        (
            "revoked access token (RFC 7009 2.1)",
            "app",
            revoked.access_token.clone(),
        ),
        (
            "signed by an unknown key (RFC 7662 2.2)",
            "app",
            unknown_key,
        ),
        ("tampered payload (RFC 7515)", "app", tampered),
        ("another audience (RFC 9068 4)", "app", wrong_audience),
        ("another issuer (RFC 9068 4)", "app", wrong_issuer),
        (
            "another client's refresh token (RFC 7662 2.2)",
            "app",
            refresh_of("foreign", &foreign),
        ),
        ("unknown refresh token", "app", "x".repeat(43)),
    ];
    for (rule, client_id, token) in rows {
        assert_inactive(rule, &w.introspect(client_id, &token).await);
    }
}

/// RFC 7662 4: a resource server sees the access tokens of every client (an API checking
/// the bearer tokens that client apps send it), but not their refresh tokens; and it
/// takes part in no flow itself.
#[tokio::test]
async fn a_resource_server_introspects_every_clients_access_tokens() {
    let w = world().await;
    let tokens = w.issue("app", "the-code").await;
    let body = json_body(&w.introspect("api", &tokens.access_token).await);
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], "app");
    assert_eq!(body["sub"], "sub-alice");
    assert_eq!(body["scope"], "read write");

    assert_inactive(
        "another client's refresh token, asked by a resource server",
        &w.introspect("api", &refresh_of("redemption", &tokens))
            .await,
    );
    assert_eq!(
        w.revoke("app", &tokens.access_token).await.status(),
        StatusCode::OK
    );
    assert_inactive(
        "a revoked access token, asked by a resource server (RFC 7009 2.1)",
        &w.introspect("api", &tokens.access_token).await,
    );
    // Revocation stays the owner's (RFC 7009 5): the API's revoke of app's token is a no-op.
    let second = w.issue("app", "second-code").await;
    assert_eq!(
        w.revoke("api", &second.access_token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        json_body(&w.introspect("app", &second.access_token).await)["active"],
        true
    );
    w.add_code(grant("api-code", "api")).await;
    assert_error(
        "a resource server without grants redeems no code (RFC 6749 5.2)",
        &w.redeem("api", "api-code").await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    );
}

/// RFC 7662 2.2: refresh tokens are introspected too, until used or revoked.
#[tokio::test]
async fn introspection_of_refresh_tokens() {
    let w = world().await;
    let tokens = w.issue("app", "the-code").await;
    let rt1 = refresh_of("redemption", &tokens);
    let response = w.introspect("app", &rt1).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let body = json_body(&response);
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["client_id"], "app");
    assert_eq!(body["sub"], "sub-alice");
    assert!(body["exp"].as_i64().is_some_and(|exp| exp > now()));
    assert!(body["iat"].as_i64().is_some_and(|iat| iat <= now()));

    let rt2 = refresh_of(
        "refresh",
        &issued("refresh", &w.refresh("app", &rt1, None).await),
    );
    assert_inactive(
        "a used refresh token (RFC 9700 4.14)",
        &w.introspect("app", &rt1).await,
    );
    assert_eq!(json_body(&w.introspect("app", &rt2).await)["active"], true);
    assert_eq!(w.revoke("app", &rt2).await.status(), StatusCode::OK);
    assert_inactive(
        "a revoked refresh token (RFC 7009 2.1)",
        &w.introspect("app", &rt2).await,
    );
}

// ---------------------------------------------------------------------------------------
// JWKS and metadata
// ---------------------------------------------------------------------------------------

/// RFC 7517: every stored public key (authctl keeps pending, current and previous), and no
/// private material; the newest key already active signs, a pending one only once due.
#[tokio::test]
async fn jwks_publishes_every_stored_key_and_the_newest_active_one_signs() {
    let w = world_without_key().await;
    let get = HttpRequest::new(Method::GET, "/.well-known/jwks.json");
    let empty = jwks::handle(&w.app, &get).await;
    assert_eq!(empty.status(), StatusCode::OK);
    assert_eq!(json_body(&empty), json!({ "keys": [] }));

    // previous, current, and one rotated in that signs only in an hour.
    let keys: Vec<SigningKey> = (1..=3)
        .map(|i| {
            let created_at = 1_000 * i;
            let active_from = if i == 3 {
                (now() + 3600) * 1000
            } else {
                created_at
            };
            SigningKey {
                created_at,
                active_from,
                ..new_key()
            }
        })
        .collect();
    let mut kids = Vec::new();
    for key in &keys {
        kids.push(key.kid.clone());
        w.put_key(key).await;
    }
    let response = jwks::handle(&w.app, &get).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type").is_some_and(|c| c.starts_with("application/json")));
    let body = json_body(&response);
    let Some(published) = body["keys"].as_array() else {
        panic!("no keys array: {body}")
    };
    let published_kids: Vec<&str> = published.iter().filter_map(|k| k["kid"].as_str()).collect();
    assert_eq!(
        published_kids,
        [kids[2].as_str(), kids[1].as_str(), kids[0].as_str()],
        "the pending, the current and the previous key, newest first"
    );
    for (jwk, key) in published.iter().zip([&keys[2], &keys[1], &keys[0]]) {
        let Some(members) = jwk.as_object() else {
            panic!("a JWK is not an object: {jwk}")
        };
        let mut names: Vec<&str> = members.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"], "{jwk}");
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["n"], key.n.as_str());
        assert_eq!(jwk["e"], key.e.as_str());
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(jwk.get(private).is_none(), "{private} published");
        }
    }
    assert!(!response.body().contains("PRIVATE"));

    // The newest active key signs, not the pending one.
    w.add_code(grant("the-code", "app")).await;
    let tokens = issued("with rotated keys", &w.redeem("app", "the-code").await);
    let Ok(jwt_header) = jsonwebtoken::decode_header(&tokens.access_token) else {
        panic!("not a JWT")
    };
    assert_eq!(jwt_header.kid.as_deref(), Some(kids[1].as_str()));
}

/// RFC 8414 2, RFC 9207 3, RFC 9700 2.1.1: what a client library configures itself from.
#[tokio::test]
async fn metadata_describes_the_server() {
    let w = world().await;
    for path in METADATA_PATHS {
        let response = metadata::handle(&w.app, &HttpRequest::new(Method::GET, path)).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = json_body(&response);
        let issuer = w.app.config.issuer.as_str();
        assert_eq!(body["issuer"], issuer, "RFC 8414 2");
        for (member, path) in [
            ("authorization_endpoint", "/oauth/authorize"),
            ("token_endpoint", "/oauth/token"),
            ("jwks_uri", "/.well-known/jwks.json"),
            ("revocation_endpoint", "/oauth/revoke"),
            ("introspection_endpoint", "/oauth/introspect"),
        ] {
            assert_eq!(body[member], format!("{issuer}{path}"), "{member}");
        }
        assert_eq!(
            body["code_challenge_methods_supported"],
            json!(["S256"]),
            "RFC 9700 2.1.1"
        );
        assert_eq!(
            body["authorization_response_iss_parameter_supported"], true,
            "RFC 9207 3"
        );
        assert_eq!(
            body["grant_types_supported"],
            json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert_eq!(body["response_types_supported"], json!(["code"]));
        assert_eq!(body["scopes_supported"], json!(["read", "write"]));
        let Some(methods) = body["token_endpoint_auth_methods_supported"].as_array() else {
            panic!("no token_endpoint_auth_methods_supported: {body}")
        };
        for method in ["client_secret_basic", "client_secret_post", "none"] {
            assert!(methods.iter().any(|m| m == method), "{method}");
        }
        let Some(methods) = body["introspection_endpoint_auth_methods_supported"].as_array() else {
            panic!("no introspection_endpoint_auth_methods_supported: {body}")
        };
        assert!(
            methods.iter().all(|m| m != "none"),
            "introspection refuses public clients"
        );
    }
    // The issuer of the metadata is the issuer of every token (RFC 8414 3.3, RFC 9068 2.2).
    let tokens = w.issue("app", "the-code").await;
    assert!(w
        .verify(&tokens.access_token)
        .await
        .is_some_and(|c| c.iss == w.app.config.issuer));
}

// ---------------------------------------------------------------------------------------
// Server bugs found by these tests (ignored until fixed)
// ---------------------------------------------------------------------------------------

/// RFC 6749 5.2: a client that tried the Authorization header gets a 401 with a challenge.
#[tokio::test]
async fn empty_basic_credentials_get_a_basic_challenge() {
    let w = world().await;
    w.add_code(grant("the-code", "app")).await;
    let body = encode_pairs(&code_pairs("the-code"));
    for authorization in ["Basic", "Basic "] {
        let rule = format!("{authorization:?} (RFC 6749 5.2)");
        let response = w
            .token(&request("/oauth/token", &body, Some(authorization)))
            .await;
        assert_error(&rule, &response, StatusCode::UNAUTHORIZED, "invalid_client");
        assert!(
            header(&response, "www-authenticate").is_some_and(|c| c.starts_with("Basic ")),
            "{rule}: the client attempted Basic, so a challenge is due"
        );
    }
}

/// RFC 6749 6: the refresh token is validated (issued to this client, unused) before the
/// requested scope; only a live token of the client gets `invalid_scope`.
#[tokio::test]
async fn refresh_validates_the_token_before_the_scope() {
    let w = world().await;
    let rt1 = refresh_of("redemption", &w.issue("app", "the-code").await);
    assert_error(
        "another client's refresh token with a wider scope (RFC 6749 6)",
        &w.refresh("other", &rt1, Some("read write admin")).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    issued("rotation", &w.refresh("app", &rt1, None).await);
    assert_error(
        "a used refresh token with a wider scope (RFC 9700 4.14.2)",
        &w.refresh("app", &rt1, Some("read admin")).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    assert!(
        w.family_of(&rt1).await.is_some_and(|f| f.revoked),
        "reuse revokes the family whatever scope it asks for (RFC 9700 4.14.2)"
    );
}

/// RFC 8414 2: the metadata lists every method the revocation endpoint accepts; public
/// clients revoke with `none` (see `public_client_revokes_its_own_token`).
#[tokio::test]
async fn metadata_lists_none_for_revocation() {
    let w = world().await;
    let response = metadata::handle(
        &w.app,
        &HttpRequest::new(Method::GET, "/.well-known/oauth-authorization-server"),
    )
    .await;
    let body = json_body(&response);
    let Some(methods) = body["revocation_endpoint_auth_methods_supported"].as_array() else {
        panic!("no revocation_endpoint_auth_methods_supported: {body}")
    };
    assert!(methods.iter().any(|m| m == "none"), "{body}");
}
