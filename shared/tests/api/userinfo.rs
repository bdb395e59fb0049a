//! Handler tests of UserInfo (`GET` and `POST /oauth/userinfo`, OpenID Connect Core 5.3, issue
//! 13.4) on the in-memory store, one test per rule, named after the OpenID conformance suite's
//! modules where one exists (`oidcc-userinfo-get`, `oidcc-userinfo-post-header`,
//! `oidcc-userinfo-post-body`). Bearer tokens as RFC 6750 presents them (header or form body,
//! never the query), verified as introspection verifies them (signature, `typ`, `iss`, `aud`,
//! expiry, `jti` deny-list, live grant), and the claims that the granted scopes release.

use auth_core::endpoints::{metadata, revoke, token, userinfo};
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use auth_core::model::*;
use auth_core::profile::Claim;
use auth_core::secret::{now, RefreshTokenSecret};
use auth_core::store::*;
use auth_core::tokens::{new_jti, AccessTokenClaims, Signer};
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::fixtures::{
    client, code_grant, grant_started, new_key, profile_of, set, shared_key, stored, world, World,
    REDIRECT, SUB, USERNAME,
};
use crate::common::pkce::VERIFIER;
use crate::common::requests::{assert_status, header, json_body as body, METADATA_PATHS};

/// The relying party of these tests: confidential, code and refresh grants, allowed the
/// OpenID Connect scopes and `read`; its secret is the fixtures' default, `secret`.
const RP: &str = "rp";
const RP_SECRET: &str = "secret";
const UPDATED_AT: i64 = 1_700_000_000;

/// `world()` with the OpenID Connect scopes, the client `rp`, and alice's profile.
async fn oidc_world() -> World {
    use GrantType::{AuthorizationCode as Code, RefreshToken as Refresh};
    let w = world()
        .await
        .with_scopes(&[
            ("openid", "Sign you in"),
            ("profile", "See your name"),
            ("email", "See your email address"),
        ])
        .await
        .with_clients([ClientRegistration {
            allowed_scopes: set(&["openid", "profile", "email", "read"]),
            default_scopes: set(&["openid"]),
            ..client(RP, ClientKind::Confidential, &[Code, Refresh])
        }])
        .await;
    let profile = profile_of(&[
        (Claim::Name, "Alice Example"),
        (Claim::GivenName, "Alice"),
        (Claim::FamilyName, "Example"),
        (Claim::PreferredUsername, "ali"),
        (Claim::Email, "alice@example.com"),
        (Claim::EmailVerified, "true"),
        (Claim::Locale, "en-GB"),
        (Claim::Picture, "https://example.com/alice.png"),
    ]);
    stored(
        "profile",
        w.app.store.update_profile(SUB, &profile, UPDATED_AT).await,
    );
    w
}

/// alice's claims with `profile` and `email` (Core 5.1, 5.4).
fn alice_claims() -> Value {
    json!({
        "sub": SUB,
        "name": "Alice Example",
        "given_name": "Alice",
        "family_name": "Example",
        "preferred_username": "ali",
        "locale": "en-GB",
        "picture": "https://example.com/alice.png",
        "updated_at": UPDATED_AT,
        "email": "alice@example.com",
        "email_verified": true,
    })
}

/// A successful answer (Core 5.3.2): 200, JSON, never cached; its claims.
fn claims(rule: &str, response: &HttpResponse) -> Value {
    assert_status(rule, response, StatusCode::OK);
    assert_eq!(
        header(response, "content-type"),
        Some("application/json"),
        "{rule}"
    );
    assert_eq!(
        header(response, "cache-control"),
        Some("no-store"),
        "{rule}"
    );
    assert!(header(response, "www-authenticate").is_none(), "{rule}");
    body(response)
}

/// A refusal of RFC 6750 3.1: the status, the challenge's `error` (none when no token came),
/// and the same error in the JSON body.
fn assert_refused(rule: &str, response: &HttpResponse, status: StatusCode, error: Option<&str>) {
    assert_eq!(response.status(), status, "{rule}: {}", response.body());
    let challenge = header(response, "www-authenticate").unwrap_or_default();
    match error {
        Some(error) => {
            assert!(
                challenge.starts_with(&format!(r#"Bearer error="{error}", error_description=""#)),
                "{rule}: {challenge}"
            );
            assert_eq!(body(response)["error"], error, "{rule}");
        }
        None => {
            assert_eq!(challenge, "Bearer", "{rule}: RFC 6750 3.1, no error code");
            assert!(body(response).get("error").is_none(), "{rule}");
        }
    }
    assert!(body(response)["error_description"].is_string(), "{rule}");
    assert_eq!(
        header(response, "cache-control"),
        Some("no-store"),
        "{rule}"
    );
    for claim in ["Alice", "alice@example.com", SUB] {
        assert!(
            !response.body().contains(claim),
            "{rule}: {}",
            response.body()
        );
    }
}

fn get(token: &str) -> HttpRequest {
    HttpRequest::new(Method::GET, "/oauth/userinfo")
        .with_header("authorization", &format!("Bearer {token}"))
}

fn post_header(token: &str) -> HttpRequest {
    HttpRequest::new(Method::POST, "/oauth/userinfo")
        .with_header("authorization", &format!("Bearer {token}"))
}

fn post_body(token: &str) -> HttpRequest {
    HttpRequest::new(Method::POST, "/oauth/userinfo")
        .with_form(&form_encode(&[("access_token", token)]))
}

/// What the token endpoint issued.
struct Issued {
    access_token: String,
    refresh_token: String,
}

impl World {
    async fn userinfo(&self, request: &HttpRequest) -> HttpResponse {
        userinfo::handle(&self.app, request).await
    }

    /// An access token of alice for `rp` with these scopes, through the real code exchange.
    async fn rp_tokens(&self, code: &str, scopes: &[&str]) -> Issued {
        self.add_code(code_grant(code, RP, SUB, set(scopes))).await;
        let body_text = form_encode(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", RP),
            ("client_secret", RP_SECRET),
        ]);
        let request = HttpRequest::new(Method::POST, "/oauth/token").with_form(&body_text);
        let response = token::handle(&self.app, &request).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
        let answer = body(&response);
        Issued {
            access_token: answer["access_token"].as_str().unwrap_or_default().into(),
            refresh_token: answer["refresh_token"].as_str().unwrap_or_default().into(),
        }
    }

    /// An access token signed with `key` from these claims (`edit` changes them first), under a
    /// live grant of its own: what only the checks of the token itself can refuse.
    async fn minted_token(
        &self,
        key: &SigningKey,
        scopes: &[&str],
        edit: impl FnOnce(&mut AccessTokenClaims),
    ) -> String {
        let t = now();
        let grant_id = format!("grant-{}", new_jti());
        let (family, first) = grant_started(
            &grant_id,
            (RP, SUB),
            set(scopes),
            RefreshTokenSecret::new(&grant_id).hash(),
            t,
            t + 3600,
        );
        stored("grant", self.app.store.create_family(&family, &first).await);
        let mut claims = AccessTokenClaims::new(
            &self.app.config,
            SUB,
            RP,
            &set(scopes),
            new_jti(),
            t,
            &grant_id,
        );
        edit(&mut claims);
        let signer = Signer::from_key(key).unwrap_or_else(|error| panic!("{error}"));
        signer
            .sign(&claims)
            .unwrap_or_else(|error| panic!("{error}"))
    }
}

/// oidcc-userinfo-get: `GET` with `Authorization: Bearer` (RFC 6750 2.1) answers the claims
/// of the granted scopes, as JSON, never cached.
#[tokio::test]
async fn oidcc_userinfo_get() {
    let w = oidc_world().await;
    let issued = w
        .rp_tokens("code-get", &["openid", "profile", "email"])
        .await;
    let response = w.userinfo(&get(&issued.access_token)).await;
    assert_eq!(claims("GET", &response), alice_claims());
}

/// oidcc-userinfo-post-header: `POST` with the header and no body.
#[tokio::test]
async fn oidcc_userinfo_post_header() {
    let w = oidc_world().await;
    let issued = w
        .rp_tokens("code-post-header", &["openid", "profile", "email"])
        .await;
    let response = w.userinfo(&post_header(&issued.access_token)).await;
    assert_eq!(claims("POST, header", &response), alice_claims());
}

/// oidcc-userinfo-post-body: `POST` with the `access_token` form parameter (RFC 6750 2.2).
#[tokio::test]
async fn oidcc_userinfo_post_body() {
    let w = oidc_world().await;
    let issued = w
        .rp_tokens("code-post-body", &["openid", "profile", "email"])
        .await;
    let response = w.userinfo(&post_body(&issued.access_token)).await;
    assert_eq!(claims("POST, body", &response), alice_claims());
}

/// Core 5.4: `sub` always; `profile` and `email` release their claims; other scopes nothing.
#[tokio::test]
async fn claims_follow_the_granted_scopes() {
    let w = oidc_world().await;
    let all = alice_claims();
    let only = |names: &[&str]| {
        let mut picked = serde_json::Map::new();
        for name in names {
            picked.insert((*name).into(), all[*name].clone());
        }
        Value::Object(picked)
    };
    for (scopes, expected) in [
        (vec!["openid"], only(&["sub"])),
        (vec!["openid", "read"], only(&["sub"])),
        (
            vec!["openid", "email"],
            only(&["sub", "email", "email_verified"]),
        ),
        (
            vec!["openid", "profile"],
            only(&[
                "sub",
                "name",
                "given_name",
                "family_name",
                "preferred_username",
                "locale",
                "picture",
                "updated_at",
            ]),
        ),
    ] {
        let token = w.minted_token(shared_key(), &scopes, |_| {}).await;
        let rule = format!("{scopes:?}");
        assert_eq!(
            claims(&rule, &w.userinfo(&get(&token)).await),
            expected,
            "{rule}"
        );
    }
}

/// Claims that are not set are left out; `updated_at` comes with `profile` all the same.
#[tokio::test]
async fn unset_claims_are_left_out() {
    let w = oidc_world().await;
    stored(
        "profile",
        w.app
            .store
            .update_profile(SUB, &Profile::default(), UPDATED_AT + 1)
            .await,
    );
    let token = w
        .minted_token(shared_key(), &["openid", "profile", "email"], |_| {})
        .await;
    assert_eq!(
        claims("empty profile", &w.userinfo(&get(&token)).await),
        json!({"sub": SUB, "updated_at": UPDATED_AT + 1})
    );
}

/// Anything but one of our live access tokens is `401 invalid_token`: not a JWT, a refresh
/// token, a changed signature, an unknown key, another `typ` (an ID token is `JWT`), issuer
/// or audience, no grant claim.
#[tokio::test]
async fn an_invalid_token_is_401_invalid_token() {
    let w = oidc_world().await;
    let scopes = ["openid", "profile"];
    let issued = w.rp_tokens("code-invalid", &scopes).await;
    let mut parts: Vec<String> = issued.access_token.split('.').map(String::from).collect();
    // Another first character, whatever the signature's was (one in 64 begins with `A`).
    let other = if parts[2].starts_with('A') { 'B' } else { 'A' };
    parts[2] = format!("{other}{}", &parts[2][1..]);
    let tampered = parts.join(".");
    let unknown_key = w.minted_token(&new_key(), &scopes, |_| {}).await;
    let other_issuer = w
        .minted_token(shared_key(), &scopes, |c| {
            c.iss = "https://evil.example".into()
        })
        .await;
    let other_audience = w
        .minted_token(shared_key(), &scopes, |c| {
            c.aud = "https://other-api.example".into()
        })
        .await;
    let no_grant = w
        .minted_token(shared_key(), &scopes, |c| {
            c.gid = Some("no-such-grant".into())
        })
        .await;
    let id_token_like = {
        let Some(pem) = shared_key().private_pem.as_ref() else {
            panic!("no private key")
        };
        let Ok(key) = jsonwebtoken::EncodingKey::from_rsa_pem(pem.expose().as_bytes()) else {
            panic!("unreadable PEM")
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.typ = Some("JWT".into());
        header.kid = Some(shared_key().kid.clone());
        let claims = AccessTokenClaims::new(
            &w.app.config,
            SUB,
            RP,
            &set(&scopes),
            new_jti(),
            now(),
            "grant",
        );
        jsonwebtoken::encode(&header, &claims, &key).unwrap_or_default()
    };
    for (rule, token) in [
        ("not a JWT", "not-a-jwt".to_string()),
        ("a refresh token", issued.refresh_token.clone()),
        ("changed signature", tampered),
        ("unknown key", unknown_key),
        ("typ JWT", id_token_like),
        ("other issuer", other_issuer),
        ("other audience", other_audience),
        ("grant gone", no_grant),
    ] {
        for request in [get(&token), post_header(&token), post_body(&token)] {
            let response = w.userinfo(&request).await;
            assert_refused(
                rule,
                &response,
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
            );
        }
    }
    // The same client's good token still answers: nothing above was a rule about the client.
    claims("good", &w.userinfo(&get(&issued.access_token)).await);
}

/// An expired token is `401 invalid_token`, with no leeway.
#[tokio::test]
async fn an_expired_token_is_401_invalid_token() {
    let w = oidc_world().await;
    let expired = w
        .minted_token(shared_key(), &["openid"], |c| {
            c.iat -= 3600;
            c.exp = now() - 1;
        })
        .await;
    let response = w.userinfo(&get(&expired)).await;
    assert_refused(
        "expired",
        &response,
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
    );
}

/// Revoking the grant (here: its refresh token, RFC 7009 2.1) or the token's own `jti` ends
/// UserInfo for the token at once.
#[tokio::test]
async fn a_revoked_grant_or_token_is_401_invalid_token() {
    let w = oidc_world().await;
    let issued = w.rp_tokens("code-revoked", &["openid", "profile"]).await;
    claims("before", &w.userinfo(&get(&issued.access_token)).await);
    let body_text = form_encode(&[
        ("token", issued.refresh_token.as_str()),
        ("client_id", RP),
        ("client_secret", RP_SECRET),
    ]);
    let request = HttpRequest::new(Method::POST, "/oauth/revoke").with_form(&body_text);
    assert_eq!(
        revoke::handle(&w.app, &request).await.status(),
        StatusCode::OK
    );
    let response = w.userinfo(&get(&issued.access_token)).await;
    assert_refused(
        "grant revoked",
        &response,
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
    );

    let jti = "denied-jti";
    let token = w
        .minted_token(shared_key(), &["openid"], |c| c.jti = jti.into())
        .await;
    claims("before", &w.userinfo(&get(&token)).await);
    stored("deny", w.app.store.revoke_jti(jti, now() + 3600).await);
    let response = w.userinfo(&get(&token)).await;
    assert_refused(
        "jti revoked",
        &response,
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
    );
}

/// A live token without `openid` was not issued for OpenID Connect: `403
/// insufficient_scope`, naming the scope (RFC 6750 3.1), and no claim.
#[tokio::test]
async fn a_token_without_openid_is_403_insufficient_scope() {
    let w = oidc_world().await;
    let issued = w
        .rp_tokens("code-no-openid", &["profile", "email", "read"])
        .await;
    for request in [
        get(&issued.access_token),
        post_header(&issued.access_token),
        post_body(&issued.access_token),
    ] {
        let response = w.userinfo(&request).await;
        assert_refused(
            "no openid",
            &response,
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
        );
        let challenge = header(&response, "www-authenticate").unwrap_or_default();
        assert!(challenge.ends_with(r#", scope="openid""#), "{challenge}");
    }
}

/// A user deleted since the token was issued no longer exists for anyone: `401 invalid_token`.
#[tokio::test]
async fn a_deleted_user_is_401_invalid_token() {
    let w = oidc_world().await;
    let issued = w.rp_tokens("code-deleted", &["openid", "profile"]).await;
    claims("before", &w.userinfo(&get(&issued.access_token)).await);
    let user = stored("user", w.app.store.get_user(USERNAME).await);
    let Some(user) = user else {
        panic!("no user {USERNAME}")
    };
    stored("delete", w.app.store.delete_user(&user).await);
    let response = w.userinfo(&get(&issued.access_token)).await;
    assert_refused(
        "deleted user",
        &response,
        StatusCode::UNAUTHORIZED,
        Some("invalid_token"),
    );
}

/// RFC 6750 2.3 (the query) is not supported: a token there is refused, with or without
/// another method, and never used.
#[tokio::test]
async fn a_token_in_the_query_is_refused() {
    let w = oidc_world().await;
    let issued = w.rp_tokens("code-query", &["openid", "profile"]).await;
    let query = form_encode(&[("access_token", issued.access_token.as_str())]);
    for request in [
        HttpRequest::new(Method::GET, &format!("/oauth/userinfo?{query}")),
        HttpRequest::new(Method::POST, &format!("/oauth/userinfo?{query}")),
        HttpRequest::new(Method::GET, &format!("/oauth/userinfo?{query}"))
            .with_header("authorization", &format!("Bearer {}", issued.access_token)),
    ] {
        let response = w.userinfo(&request).await;
        assert_refused(
            "token in the query",
            &response,
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
        );
    }
}

/// RFC 6750 2: a client uses one method; the header and the body together are
/// `invalid_request`, as are a malformed header and a repeated `access_token`.
#[tokio::test]
async fn two_methods_or_a_malformed_request_are_invalid_request() {
    let w = oidc_world().await;
    let issued = w.rp_tokens("code-two", &["openid", "profile"]).await;
    let token = issued.access_token.as_str();
    for (rule, request) in [
        (
            "header and body",
            post_body(token).with_header("authorization", &format!("Bearer {token}")),
        ),
        (
            "repeated access_token",
            HttpRequest::new(Method::POST, "/oauth/userinfo").with_form(&form_encode(&[
                ("access_token", token),
                ("access_token", token),
            ])),
        ),
        (
            "Bearer without a token",
            HttpRequest::new(Method::GET, "/oauth/userinfo").with_header("authorization", "Bearer"),
        ),
        (
            "two tokens in the header",
            HttpRequest::new(Method::GET, "/oauth/userinfo")
                .with_header("authorization", &format!("Bearer {token} {token}")),
        ),
        (
            "not UTF-8",
            HttpRequest::new(Method::POST, "/oauth/userinfo").with_form("access_token=%ff"),
        ),
    ] {
        let response = w.userinfo(&request).await;
        assert_refused(
            rule,
            &response,
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
        );
    }
}

/// No bearer token at all (none, another scheme, a body that is no form): `401` with a bare
/// `WWW-Authenticate: Bearer` (RFC 6750 3.1: no error code), and no storage call.
#[tokio::test]
async fn no_token_is_401_without_an_error_code() {
    let w = oidc_world().await;
    let mut json_body = HttpRequest::new(Method::POST, "/oauth/userinfo")
        .with_header("content-type", "application/json");
    json_body.body = br#"{"access_token":"x"}"#.to_vec();
    for (rule, request) in [
        ("nothing", HttpRequest::new(Method::GET, "/oauth/userinfo")),
        (
            "Basic",
            HttpRequest::new(Method::GET, "/oauth/userinfo")
                .with_header("authorization", "Basic cnA6c2VjcmV0"),
        ),
        ("JSON body", json_body),
    ] {
        let calls = w.app.store.calls();
        let response = w.userinfo(&request).await;
        assert_refused(rule, &response, StatusCode::UNAUTHORIZED, None);
        assert_eq!(w.app.store.calls(), calls, "{rule}: no storage call");
    }
}

/// The routes are `GET` and `POST`; anything else is refused before any storage call.
#[tokio::test]
async fn other_methods_are_405() {
    let w = oidc_world().await;
    let issued = w.rp_tokens("code-405", &["openid"]).await;
    let mut request = get(&issued.access_token);
    request.method = Method::PUT;
    let response = w.userinfo(&request).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// Discovery 3: `userinfo_endpoint`, and `claims_supported` naming every claim UserInfo can
/// answer, at both metadata paths.
#[tokio::test]
async fn discovery_names_the_endpoint_and_its_claims() {
    let w = oidc_world().await;
    for path in METADATA_PATHS {
        let response = metadata::handle(&w.app, &HttpRequest::new(Method::GET, path)).await;
        let document = body(&response);
        assert_eq!(
            document["userinfo_endpoint"], "https://auth.example.test/oauth/userinfo",
            "{path}"
        );
        let supported: Vec<&str> = document["claims_supported"]
            .as_array()
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let Value::Object(answered) = alice_claims() else {
            panic!("not an object")
        };
        for claim in answered.keys() {
            assert!(supported.contains(&claim.as_str()), "{path}: {claim}");
        }
        // The ID token's claims (Core 2), and `sid` (Front-/Back-Channel Logout).
        for claim in "iss aud exp iat auth_time nonce sid at_hash".split(' ') {
            assert!(supported.contains(&claim), "{path}: {claim}");
        }
    }
}
