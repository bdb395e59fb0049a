//! OpenID Connect (issue 13.3, 13.5, 13.8) on the in-memory store: one test per rule, named
//! after the module of the OpenID Foundation's conformance suite (Basic OP profile) that
//! checks it where there is one (`oidcc-server` is `oidcc_server`, ...). A relying party's
//! view, end to end through the handlers: discovery, authorize, consent, token.

use auth_core::endpoints::{authorize, consent, login, metadata, token};
use auth_core::http::{form_encode, HttpRequest, HttpResponse, Params};
use auth_core::model::*;
use auth_core::openid_request::SIGNED_IN_AFTER;
use auth_core::secret::{now, now_ms, SessionId};
use auth_core::session;
use auth_core::store::memory::MemoryStore;
use auth_core::store::*;
use auth_core::tokens::{at_hash, verify_access_token, IdTokenClaims};
use http::{Method, StatusCode};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::common::fixtures::{
    client, new_key, secret_of, set, shared_key, stored, World, PASSWORD, REDIRECT, SUB, USERNAME,
};
use crate::common::jwt;
use crate::common::pkce::{CHALLENGE, VERIFIER};
use crate::common::requests::{assert_status, json_body, location, location_params};

/// The relying party: confidential, code and refresh grants, allowed the OpenID scopes.
const RP: &str = "rp";
/// Its secret (`fixtures::client` gives a client unknown to `secret_of` this one).
const RP_SECRET: &str = "secret";
const NONCE: &str = "n-0S6_WzA2Mj";

/// The catalogue with OpenID Connect's scopes (`authctl init`), the relying party `rp`, alice
/// signed in (now), and the signing key.
async fn oidc_world() -> World {
    use GrantType::{AuthorizationCode as Code, RefreshToken as Refresh};
    assert_eq!(secret_of(RP), None, "rp's secret is the fixtures' default");
    World::on(MemoryStore::default())
        .with_scopes(&[
            ("openid", "Sign you in with your account"),
            ("profile", "See your name"),
            ("email", "See your email address"),
            ("read", "Read your data"),
        ])
        .await
        .with_clients([ClientRegistration {
            allowed_scopes: set(&["openid", "profile", "email", "read"]),
            default_scopes: set(&["openid"]),
            ..client(RP, ClientKind::Confidential, &[Code, Refresh])
        }])
        .await
        .with_alice_signed_in(PASSWORD)
        .await
        .with_key()
        .await
}

/// The relying party's authorization request: code flow, PKCE, `openid`, `state` and `nonce`,
/// and `extra` pairs after them.
fn request(extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", RP),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "af0ifjsldkj"),
        ("nonce", NONCE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend_from_slice(extra);
    form_encode(&pairs)
}

async fn authorize_with(w: &World, query: &str, cookie: Option<&str>) -> HttpResponse {
    let mut request = HttpRequest::new(Method::GET, &format!("/oauth/authorize?{query}"));
    if let Some(cookie) = cookie {
        request = request.with_header("cookie", cookie);
    }
    authorize::handle(&w.app, &request).await
}

/// `GET /oauth/authorize` with alice's session cookie.
async fn authorize_signed_in(w: &World, query: &str) -> HttpResponse {
    authorize_with(w, query, Some(&w.cookie())).await
}

/// The answer is a redirect to the client.
#[track_caller]
fn assert_back_to_client(rule: &str, response: &HttpResponse) {
    assert_status(rule, response, StatusCode::FOUND);
    assert!(
        location(response).starts_with(REDIRECT),
        "{rule}: {}",
        location(response)
    );
}

/// The code of a redirect to the client, after checking that it is one.
fn code_of(rule: &str, response: &HttpResponse) -> String {
    assert_back_to_client(rule, response);
    match location_params(response).get("code") {
        Some(code) => code.to_string(),
        None => panic!("{rule}: no code in {}", location(response)),
    }
}

/// The `error` of a redirect to the client, with `state` and `iss` checked.
fn error_of(rule: &str, response: &HttpResponse, w: &World) -> String {
    assert_back_to_client(rule, response);
    let params = location_params(response);
    assert_eq!(params.get("state"), Some("af0ifjsldkj"), "{rule}");
    assert_eq!(
        params.get("iss"),
        Some(w.app.config.issuer.as_str()),
        "{rule}"
    );
    params.get("error").unwrap_or_default().to_string()
}

/// A redirect to the sign-in page: its `return_to`.
fn sign_in_return_to(rule: &str, response: &HttpResponse, w: &World) -> String {
    assert_status(rule, response, StatusCode::FOUND);
    let location = location(response);
    assert!(
        location.starts_with(&w.app.config.endpoint("/login?")),
        "{rule}: {location}"
    );
    location_params(response)
        .get("return_to")
        .unwrap_or_default()
        .to_string()
}

/// alice's consent to `rp` for these scopes, as the consent form stores it.
async fn remember_consent(w: &World, scopes: &[&str]) {
    let consent = Consent {
        sub: SUB.into(),
        client_id: RP.into(),
        scopes: set(scopes),
        expires_at: now() + 600,
    };
    stored("consent", w.app.store.put_consent(&consent).await);
}

/// A second session of alice, begun `signed_in_at_ms`, under its own id; its cookie.
async fn session_at(w: &World, id: char, signed_in_at_ms: i64) -> (SessionId, String) {
    let session_id = w.other_session(id, signed_in_at_ms).await;
    let cookie = w.cookie_of(&session_id);
    (session_id, cookie)
}

async fn token_request(w: &World, pairs: &[(&str, &str)]) -> HttpResponse {
    let mut all = pairs.to_vec();
    all.push(("client_id", RP));
    all.push(("client_secret", RP_SECRET));
    let request = HttpRequest::new(Method::POST, "/oauth/token").with_form(&form_encode(&all));
    token::handle(&w.app, &request).await
}

async fn redeem(w: &World, code: &str) -> HttpResponse {
    token_request(
        w,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

fn json_of(rule: &str, response: &HttpResponse, status: StatusCode) -> Value {
    assert_status(rule, response, status);
    json_body(response)
}

/// A refresh (RFC 6749 6) with these pairs after its `grant_type`: the answer's JSON, after
/// checking its status.
async fn refresh_answer(
    w: &World,
    rule: &str,
    pairs: &[(&str, &str)],
    status: StatusCode,
) -> Value {
    let mut all = vec![("grant_type", "refresh_token")];
    all.extend_from_slice(pairs);
    json_of(rule, &token_request(w, &all).await, status)
}

/// The authorization request that signing in returns to (`return_to`), and the time it was
/// first seen, in ms, which it carries as `SIGNED_IN_AFTER`.
fn returned_request(return_to: &str) -> (&str, i64) {
    let Some(query) = return_to.strip_prefix("/oauth/authorize?") else {
        panic!("return_to is not the request: {return_to}")
    };
    let marker = Params::parse(query.as_bytes())
        .unwrap_or_default()
        .get(SIGNED_IN_AFTER)
        .and_then(|ms| ms.parse::<i64>().ok())
        .unwrap_or_default();
    (query, marker)
}

/// Verifies an ID token as a strict relying party does (OpenID Connect Core 3.1.3.7): RS256
/// by a published key named by `kid`, `typ` JWT, `iss`, `aud` = the client, not expired.
async fn verified_id_token(w: &World, id_token: &str) -> IdTokenClaims {
    let Ok(header) = decode_header(id_token) else {
        panic!("no JOSE header: {id_token}")
    };
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let keys = stored("keys", w.app.store.list_public_keys().await);
    let Some(key) = keys.iter().find(|k| Some(&k.kid) == header.kid.as_ref()) else {
        panic!("the kid names no published key: {header:?}")
    };
    let Ok(decoding_key) = DecodingKey::from_rsa_components(&key.n, &key.e) else {
        panic!("unusable key")
    };
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[&w.app.config.issuer]);
    validation.set_audience(&[RP]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    match decode::<IdTokenClaims>(id_token, &decoding_key, &validation) {
        Ok(data) => data.claims,
        Err(error) => panic!("the ID token does not verify: {error}"),
    }
}

/// The whole flow of a signed-in user who approves: the token response.
async fn approve_and_redeem(w: &World, query: &str) -> Value {
    let page = authorize_signed_in(w, query).await;
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "the consent page: {}",
        location(&page)
    );
    let csrf = session::csrf_token(&w.session_id);
    let mut body = query.to_string();
    body.push('&');
    body.push_str(&form_encode(&[
        ("csrf_token", &csrf),
        ("decision", "approve"),
    ]));
    let request = HttpRequest::new(Method::POST, "/oauth/consent")
        .with_form(&body)
        .with_header("cookie", &w.cookie());
    let approved = consent::handle(&w.app, &request).await;
    assert_eq!(
        approved.status(),
        StatusCode::SEE_OTHER,
        "{}",
        approved.body()
    );
    let code = location_params(&approved)
        .get("code")
        .unwrap_or_default()
        .to_string();
    json_of("the code exchange", &redeem(w, &code).await, StatusCode::OK)
}

/// oidcc-server: the code flow with `openid` gives an ID token a strict relying party
/// accepts, with every claim of Core 2 and 3.1.3.6 the code flow needs.
#[tokio::test]
async fn oidcc_server() {
    let w = oidc_world().await;
    let t = now();
    let answer = approve_and_redeem(&w, &request(&[])).await;
    let id_token = answer["id_token"].as_str().unwrap_or_default();
    let access_token = answer["access_token"].as_str().unwrap_or_default();
    let claims = verified_id_token(&w, id_token).await;
    assert_eq!(claims.iss, w.app.config.issuer);
    assert_eq!(claims.sub, SUB);
    assert_eq!(claims.aud, RP);
    assert!((t..=t + 5).contains(&claims.iat), "iat {}", claims.iat);
    assert_eq!(claims.exp - claims.iat, w.app.config.id_token_ttl_seconds);
    assert_eq!(claims.nonce.as_deref(), Some(NONCE));
    assert_eq!(claims.at_hash, at_hash(access_token));
    assert_eq!(claims.sid, Some(session::sid(&w.session_id)));
    let auth_time = claims.auth_time.unwrap_or_default();
    assert!((t - 5..=t).contains(&auth_time), "auth_time {auth_time}");
    // No profile claims in the code flow's ID token (Core 5.4: they are UserInfo's), no azp.
    let Some(payload) = id_token.split('.').nth(1) else {
        panic!("not a JWS")
    };
    use base64::Engine;
    let json: Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or(Value::Null);
    let mut names: Vec<&str> = json
        .as_object()
        .map(|claims| claims.keys().map(String::as_str).collect())
        .unwrap_or_default();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "at_hash",
            "aud",
            "auth_time",
            "exp",
            "iat",
            "iss",
            "nonce",
            "sid",
            "sub"
        ]
    );
}

/// API Gateway's JWT authorizer checks `iss` and `aud`: an access token names the API, an
/// ID token the client. Neither passes for the other, and our own verifier refuses ID tokens.
#[tokio::test]
async fn an_id_token_is_never_an_access_token() {
    let w = oidc_world().await;
    let answer = approve_and_redeem(&w, &request(&[])).await;
    let id_token = answer["id_token"].as_str().unwrap_or_default();
    let access_token = answer["access_token"].as_str().unwrap_or_default();
    let keys = stored("keys", w.app.store.list_public_keys().await);
    let Some(access) = verify_access_token(&w.app.config, &keys, access_token) else {
        panic!("the access token does not verify")
    };
    assert_eq!(access.aud, w.app.config.audience.clone().into());
    assert!(!access.aud.contains(RP));
    assert_eq!(verified_id_token(&w, id_token).await.aud, RP);
    assert_eq!(verify_access_token(&w.app.config, &keys, id_token), None);
}

/// oidcc-ensure-request-without-nonce-succeeds-for-code-flow: `nonce` is optional in the
/// code flow; the ID token then has none.
#[tokio::test]
async fn oidcc_ensure_request_without_nonce_succeeds_for_code_flow() {
    let w = oidc_world().await;
    let query = request(&[]).replace(&format!("&nonce={NONCE}"), "");
    assert!(!query.contains("nonce"));
    let answer = approve_and_redeem(&w, &query).await;
    let claims = verified_id_token(&w, answer["id_token"].as_str().unwrap_or_default()).await;
    assert_eq!(claims.nonce, None);
}

/// Without `openid` it is a plain OAuth request: no ID token.
#[tokio::test]
async fn without_the_openid_scope_there_is_no_id_token() {
    let w = oidc_world().await;
    let query = request(&[]).replace("scope=openid", "scope=read");
    let answer = approve_and_redeem(&w, &query).await;
    assert!(answer["access_token"].is_string(), "{answer}");
    assert!(answer.get("id_token").is_none(), "{answer}");
}

/// oidcc-refresh-token: a refresh of an openid grant gets a new ID token of the same user,
/// issuer, client, sign-in and session, and no nonce (Core 12.2).
#[tokio::test]
async fn oidcc_refresh_token() {
    let w = oidc_world().await;
    let query = request(&[]).replace("scope=openid", &form_encode(&[("scope", "openid read")]));
    let first = approve_and_redeem(&w, &query).await;
    let before = verified_id_token(&w, first["id_token"].as_str().unwrap_or_default()).await;
    let refresh_token = first["refresh_token"].as_str().unwrap_or_default();
    let refreshed = refresh_answer(
        &w,
        "refresh",
        &[("refresh_token", refresh_token)],
        StatusCode::OK,
    )
    .await;
    let after = verified_id_token(&w, refreshed["id_token"].as_str().unwrap_or_default()).await;
    assert_eq!(
        (&after.iss, &after.sub, &after.aud),
        (&before.iss, &before.sub, &before.aud)
    );
    assert_eq!(after.nonce, None);
    assert_eq!(after.auth_time, before.auth_time);
    assert_eq!(after.sid, before.sid);
    assert_eq!(
        after.at_hash,
        at_hash(refreshed["access_token"].as_str().unwrap_or_default())
    );

    // Narrowed to a scope without openid: an access token alone.
    let next = refreshed["refresh_token"].as_str().unwrap_or_default();
    let narrowed = refresh_answer(
        &w,
        "narrowed refresh",
        &[("refresh_token", next), ("scope", "read")],
        StatusCode::OK,
    )
    .await;
    assert_eq!(narrowed["scope"], "read");
    assert!(narrowed.get("id_token").is_none(), "{narrowed}");
}

/// oidcc-codereuse: a second redemption of the code is refused, and gets no ID token.
#[tokio::test]
async fn oidcc_codereuse() {
    let w = oidc_world().await;
    remember_consent(&w, &["openid"]).await;
    let code = code_of("remembered", &authorize_signed_in(&w, &request(&[])).await);
    let first = json_of("first", &redeem(&w, &code).await, StatusCode::OK);
    assert!(first["id_token"].is_string());
    let second = json_of("second", &redeem(&w, &code).await, StatusCode::BAD_REQUEST);
    assert_eq!(second["error"], "invalid_grant");
    assert!(second.get("id_token").is_none());
}

/// oidcc-ensure-registered-redirect-uri: an unregistered redirect URI gets an error page,
/// never a redirect.
#[tokio::test]
async fn oidcc_ensure_registered_redirect_uri() {
    let w = oidc_world().await;
    let query = request(&[]).replace(
        &form_encode(&[("redirect_uri", REDIRECT)]),
        &form_encode(&[("redirect_uri", "https://attacker.example/cb")]),
    );
    let response = authorize_signed_in(&w, &query).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
}

/// oidcc-ensure-request-with-unknown-parameter-succeeds: unknown parameters are ignored
/// (Core 3.1.2.1), as are `claims`, `display` and `ui_locales`.
#[tokio::test]
async fn oidcc_ensure_request_with_unknown_parameter_succeeds() {
    let w = oidc_world().await;
    remember_consent(&w, &["openid"]).await;
    let query = request(&[
        ("extra", "foobar"),
        ("claims", "{\"userinfo\":{\"email\":null}}"),
        ("display", "page"),
        ("ui_locales", "fr-CA"),
    ]);
    let code = code_of("unknown parameters", &authorize_signed_in(&w, &query).await);
    let answer = json_of("redeem", &redeem(&w, &code).await, StatusCode::OK);
    assert!(answer["id_token"].is_string());
}

/// oidcc-prompt-none-not-logged-in: no session and `prompt=none`: `login_required`, no page.
#[tokio::test]
async fn oidcc_prompt_none_not_logged_in() {
    let w = oidc_world().await;
    let response = authorize_with(&w, &request(&[("prompt", "none")]), None).await;
    assert_eq!(error_of("no session", &response, &w), "login_required");
}

/// oidcc-prompt-none-logged-in: a session and remembered consent: the code at once. Without
/// the consent: `consent_required`, no page.
#[tokio::test]
async fn oidcc_prompt_none_logged_in() {
    let w = oidc_world().await;
    let query = request(&[("prompt", "none")]);
    let response = authorize_signed_in(&w, &query).await;
    assert_eq!(
        error_of("no consent yet", &response, &w),
        "consent_required"
    );
    remember_consent(&w, &["openid"]).await;
    let code = code_of("remembered consent", &authorize_signed_in(&w, &query).await);
    let answer = json_of("redeem", &redeem(&w, &code).await, StatusCode::OK);
    let claims = verified_id_token(&w, answer["id_token"].as_str().unwrap_or_default()).await;
    assert_eq!(claims.nonce.as_deref(), Some(NONCE));
}

/// `prompt=none` with a session older than `max_age`: `login_required`.
#[tokio::test]
async fn prompt_none_with_a_session_older_than_max_age_is_login_required() {
    let w = oidc_world().await;
    remember_consent(&w, &["openid"]).await;
    let (_, old) = session_at(&w, 'o', now_ms() - 10_000).await;
    let query = request(&[("prompt", "none"), ("max_age", "1")]);
    let response = authorize_with(&w, &query, Some(&old)).await;
    assert_eq!(error_of("stale session", &response, &w), "login_required");
}

/// Core 3.1.2.1: unknown `prompt` values and `none` with another are `invalid_request`;
/// `request` and `request_uri` have their own errors (Core 6); a malformed `max_age` or an
/// oversized `nonce` is `invalid_request` too.
#[tokio::test]
async fn malformed_openid_parameters_are_refused() {
    let w = oidc_world().await;
    let long_nonce = "n".repeat(256);
    /// A rule, the parameter it adds, the error it gets.
    type Row<'a> = (&'a str, (&'a str, &'a str), &'a str);
    let invalid = "invalid_request";
    let rows: [Row; 8] = [
        ("unknown prompt", ("prompt", "bogus"), invalid),
        ("none with login", ("prompt", "none login"), invalid),
        ("none with consent", ("prompt", "consent none"), invalid),
        ("negative max_age", ("max_age", "-1"), invalid),
        ("max_age not a number", ("max_age", "1h"), invalid),
        ("long nonce", ("nonce", &long_nonce), invalid),
        (
            "request object",
            ("request", "eyJ.eyJ."),
            "request_not_supported",
        ),
        (
            "request_uri",
            ("request_uri", "https://rp.example/r"),
            "request_uri_not_supported",
        ),
    ];
    for (rule, extra, expected) in rows {
        let mut query = request(&[extra]);
        if rule == "long nonce" {
            query = query.replace(&format!("nonce={NONCE}&"), "");
        }
        let response = authorize_signed_in(&w, &query).await;
        assert_eq!(error_of(rule, &response, &w), expected, "{rule}");
    }
}

/// oidcc-prompt-login: with a session and remembered consent, `prompt=login` sends the
/// browser to sign in again; coming back with the same session, again; with a session begun
/// after the request was first seen, the code, whose ID token tells the new sign-in.
#[tokio::test]
async fn oidcc_prompt_login() {
    let w = oidc_world().await;
    remember_consent(&w, &["openid"]).await;
    let (_, old) = session_at(&w, 'o', now_ms() - 5_000).await;
    let first = authorize_with(&w, &request(&[("prompt", "login")]), Some(&old)).await;
    let return_to = sign_in_return_to("prompt=login", &first, &w);
    let (query, marker) = returned_request(&return_to);
    assert!(
        marker > now_ms() - 5_000,
        "the time the request was seen: {marker}"
    );

    // Back without signing in: sign in again, with one marker.
    let again = authorize_with(&w, query, Some(&old)).await;
    let again_to = sign_in_return_to("the same session", &again, &w);
    assert_eq!(again_to.matches(SIGNED_IN_AFTER).count(), 1, "{again_to}");

    // Signed in after the request: the code.
    let (fresh_id, fresh) = session_at(&w, 'f', marker + 1).await;
    let code = code_of(
        "a new sign-in",
        &authorize_with(&w, query, Some(&fresh)).await,
    );
    let answer = json_of("redeem", &redeem(&w, &code).await, StatusCode::OK);
    let claims = verified_id_token(&w, answer["id_token"].as_str().unwrap_or_default()).await;
    assert_eq!(claims.auth_time, Some((marker + 1).div_euclid(1000)));
    assert_eq!(claims.sid, Some(session::sid(&fresh_id)));
}

/// `prompt=login` without any session: after signing in, the code (no loop).
#[tokio::test]
async fn prompt_login_without_a_session_signs_in_once() {
    let w = oidc_world().await;
    remember_consent(&w, &["openid"]).await;
    let first = authorize_with(&w, &request(&[("prompt", "login")]), None).await;
    let return_to = sign_in_return_to("no session", &first, &w);
    let query = return_to.trim_start_matches("/oauth/authorize?");
    assert!(query.contains(SIGNED_IN_AFTER), "{return_to}");
    let (_, fresh) = session_at(&w, 'f', now_ms() + 1).await;
    code_of("signed in", &authorize_with(&w, query, Some(&fresh)).await);
}

/// oidcc-max-age-1: a session older than `max_age` signs in again; one within it does not;
/// `max_age=0` always signs in again (as `prompt=login`); and `auth_time` is in the ID token.
#[tokio::test]
async fn oidcc_max_age_1() {
    let w = oidc_world().await;
    remember_consent(&w, &["openid"]).await;
    let (_, old) = session_at(&w, 'o', now_ms() - 10_000).await;
    let stale = authorize_with(&w, &request(&[("max_age", "1")]), Some(&old)).await;
    let return_to = sign_in_return_to("max_age=1", &stale, &w);
    let query = return_to.trim_start_matches("/oauth/authorize?");

    // Within max_age: the code.
    code_of(
        "max_age=60",
        &authorize_with(&w, &request(&[("max_age", "60")]), Some(&old)).await,
    );
    // max_age=0: sign in again even with a session of this instant.
    let zero = authorize_signed_in(&w, &request(&[("max_age", "0")])).await;
    sign_in_return_to("max_age=0", &zero, &w);

    // Signed in after the request, however long it took: the code, and its auth_time.
    let signed_in_at = now_ms() + 1;
    let (_, fresh) = session_at(&w, 'f', signed_in_at).await;
    let code = code_of(
        "after signing in",
        &authorize_with(&w, query, Some(&fresh)).await,
    );
    let answer = json_of("redeem", &redeem(&w, &code).await, StatusCode::OK);
    let claims = verified_id_token(&w, answer["id_token"].as_str().unwrap_or_default()).await;
    assert_eq!(claims.auth_time, Some(signed_in_at.div_euclid(1000)));
}

/// `prompt=consent`: the consent page even when the user approved before.
#[tokio::test]
async fn prompt_consent_asks_again() {
    let w = oidc_world().await;
    remember_consent(&w, &["openid"]).await;
    code_of("remembered", &authorize_signed_in(&w, &request(&[])).await);
    let page = authorize_signed_in(&w, &request(&[("prompt", "consent")])).await;
    assert_eq!(page.status(), StatusCode::OK, "{}", location(&page));
    assert!(
        page.body().contains("name=\"prompt\" value=\"consent\""),
        "{}",
        page.body()
    );
}

/// `select_account`: one account per browser, so the sign-in form, where the user may sign
/// in as anyone (as `prompt=login`).
#[tokio::test]
async fn prompt_select_account_shows_the_sign_in_form() {
    let w = oidc_world().await;
    remember_consent(&w, &["openid"]).await;
    let response = authorize_signed_in(&w, &request(&[("prompt", "select_account")])).await;
    sign_in_return_to("select_account", &response, &w);
}

/// The consent form carries the OpenID parameters as hidden fields, validated again on POST:
/// the code gets the form's nonce, and a tampered one is refused like a request's.
#[tokio::test]
async fn the_consent_form_carries_the_nonce_and_checks_it_again() {
    let w = oidc_world().await;
    let query = request(&[("max_age", "300"), ("login_hint", USERNAME)]);
    let page = authorize_signed_in(&w, &query).await;
    assert_eq!(page.status(), StatusCode::OK);
    for field in [
        format!("name=\"nonce\" value=\"{NONCE}\""),
        "name=\"max_age\" value=\"300\"".to_string(),
        format!("name=\"login_hint\" value=\"{USERNAME}\""),
    ] {
        assert!(page.body().contains(&field), "{field}: {}", page.body());
    }

    let csrf = session::csrf_token(&w.session_id);
    let tampered = request(&[]).replace(NONCE, &"n".repeat(256));
    let body = format!(
        "{tampered}&{}",
        form_encode(&[("csrf_token", &csrf), ("decision", "approve")])
    );
    let request = HttpRequest::new(Method::POST, "/oauth/consent")
        .with_form(&body)
        .with_header("cookie", &w.cookie());
    let refused = consent::handle(&w.app, &request).await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location_params(&refused).get("error"),
        Some("invalid_request")
    );
}

/// `login_hint` prefills the username of the sign-in form; a hint that cannot be a username
/// is dropped, never shown.
#[tokio::test]
async fn login_hint_prefills_the_sign_in_form() {
    let w = oidc_world().await;
    let response = authorize_with(&w, &request(&[("login_hint", "bob@example.com")]), None).await;
    sign_in_return_to("no session", &response, &w);
    let params = location_params(&response);
    assert_eq!(params.get("login_hint"), Some("bob@example.com"));
    let form = login::handle(
        &w.app,
        &HttpRequest::new(
            Method::GET,
            &location(&response).replace(&w.app.config.issuer, ""),
        ),
    )
    .await;
    assert!(
        form.body().contains("value=\"bob@example.com\""),
        "{}",
        form.body()
    );

    let odd = authorize_with(&w, &request(&[("login_hint", "<b>x</b>")]), None).await;
    assert_eq!(location_params(&odd).get("login_hint"), None);
    let direct = login::handle(
        &w.app,
        &HttpRequest::new(Method::GET, "/login?return_to=%2F&login_hint=%3Cb%3E"),
    )
    .await;
    assert!(!direct.body().contains("<b>"), "{}", direct.body());
}

/// Discovery (Discovery 1.0 3): what a relying party configures itself from, and nothing
/// the server does not do.
#[tokio::test]
async fn oidcc_discovery_endpoint_verification() {
    let w = oidc_world().await;
    let request = HttpRequest::new(Method::GET, "/.well-known/openid-configuration");
    let document = json_of(
        "discovery",
        &metadata::handle(&w.app, &request).await,
        StatusCode::OK,
    );
    assert_eq!(document["issuer"], w.app.config.issuer.as_str());
    assert_eq!(
        document["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        document["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        document["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        document["prompt_values_supported"],
        serde_json::json!(["none", "login", "consent", "select_account"])
    );
    for unsupported in [
        "claims_parameter_supported",
        "request_parameter_supported",
        "request_uri_parameter_supported",
    ] {
        assert_eq!(document[unsupported], false, "{unsupported}");
    }
    let scopes = document["scopes_supported"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(scopes.contains(&Value::from("openid")), "{scopes:?}");
    for absent in [
        "response_modes_supported_fragment",
        "request_object_signing_alg_values_supported",
        "id_token_encryption_alg_values_supported",
        "display_values_supported",
        "claim_types_supported",
    ] {
        assert!(document.get(absent).is_none(), "{absent}");
    }
}

/// Issue 12.2: a code issued just before its user was deleted, redeemed after, is refused:
/// the redemption's transaction checks the user's account. So is a refresh after a deletion
/// that revoked nothing (the store's, not authctl's, which also revokes the grants).
#[tokio::test]
async fn a_code_or_refresh_token_of_a_deleted_user_is_invalid_grant() {
    let w = oidc_world().await;
    remember_consent(&w, &["openid"]).await;
    let first = code_of("first", &authorize_signed_in(&w, &request(&[])).await);
    let issued = json_of("redeem", &redeem(&w, &first).await, StatusCode::OK);
    let second = code_of("second", &authorize_signed_in(&w, &request(&[])).await);

    let user = stored("user", w.app.store.get_user(USERNAME).await);
    let Some(user) = user else {
        panic!("alice exists")
    };
    stored("delete", w.app.store.delete_user(&user).await);

    let refused = json_of("code", &redeem(&w, &second).await, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"], "invalid_grant");
    assert_eq!(
        refused["error_description"],
        "the user of this grant no longer exists"
    );
    let refresh_token = issued["refresh_token"].as_str().unwrap_or_default();
    let refreshed = refresh_answer(
        &w,
        "refresh",
        &[("refresh_token", refresh_token)],
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(refreshed["error"], "invalid_grant");
}

// --- id_token_hint at authorize (Core 3.1.2.1) ---------------------------------------------

/// bob: a second user, whose ID tokens name another `sub` than alice's session.
const BOB: &str = "bob";
const BOB_SUB: &str = "sub-bob";

/// An ID token as the token endpoint signs them, by `key` (published or not), for `sub` and
/// `aud`, expiring at `exp`; `iss` as given.
fn id_token_by(key: &SigningKey, iss: &str, sub: &str, aud: &str, exp: i64) -> String {
    let claims = serde_json::json!({
        "iss": iss, "sub": sub, "aud": aud, "exp": exp, "iat": exp - 300,
        "auth_time": exp - 300, "sid": "sid-elsewhere", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ",
    });
    jwt::signed(key, "JWT", &claims)
}

/// An ID token of this world's issuer, by the published key, for `rp`.
fn hint_of(w: &World, sub: &str, exp: i64) -> String {
    id_token_by(shared_key(), &w.app.config.issuer, sub, RP, exp)
}

/// A session of bob begun `signed_in_at_ms` (his account exists); its cookie.
async fn bob_session_at(w: &World, signed_in_at_ms: i64) -> String {
    let user = User {
        username: BOB.into(),
        sub: BOB_SUB.into(),
        password_hash: crate::common::fixtures::password_hash(PASSWORD),
    };
    if stored("bob", w.app.store.get_user(BOB).await).is_none() {
        let account = Account::new(&user, Profile::default(), now());
        stored("bob", w.app.store.create_user(&user, &account).await);
    }
    let session_id = w.session_of((BOB_SUB, BOB), 'b', signed_in_at_ms).await;
    format!(
        "{}={BOB_SUB}.{}",
        session::cookie_name(&w.app.config),
        session_id.expose()
    )
}

/// oidcc-id-token-hint: the ID token of a first sign-in, sent back as `id_token_hint` with
/// `prompt=none` while its user is signed in, gets a code at once, for the same user; an
/// expired hint too (a hint identifies, it does not authenticate).
#[tokio::test]
async fn oidcc_id_token_hint() {
    let w = oidc_world().await;
    let first = approve_and_redeem(&w, &request(&[])).await;
    let id_token = first["id_token"].as_str().unwrap_or_default();
    assert!(!id_token.is_empty(), "{first}");

    let code = code_of(
        "the first ID token as hint",
        &authorize_signed_in(
            &w,
            &request(&[("prompt", "none"), ("id_token_hint", id_token)]),
        )
        .await,
    );
    let answer = json_of("redeem", &redeem(&w, &code).await, StatusCode::OK);
    let claims = verified_id_token(&w, answer["id_token"].as_str().unwrap_or_default()).await;
    assert_eq!(claims.sub, SUB);

    let expired = hint_of(&w, SUB, now() - 3600);
    code_of(
        "an expired hint",
        &authorize_signed_in(
            &w,
            &request(&[("prompt", "none"), ("id_token_hint", &expired)]),
        )
        .await,
    );
    // Without prompt=none the hint of the signed-in user changes nothing either.
    code_of(
        "no prompt",
        &authorize_signed_in(&w, &request(&[("id_token_hint", &expired)])).await,
    );
}

/// A hint that does not verify is `invalid_request`, redirected with `state` and `iss`:
/// another client's, another issuer's, signed by an unpublished key, tampered, an access
/// token, or no JWT at all. Whatever the session and `prompt`. (Its expiry is not checked:
/// `oidcc_id_token_hint`.)
#[tokio::test]
async fn oidcc_id_token_hint_invalid_is_invalid_request() {
    let w = oidc_world().await;
    let live = now() + 300;
    let issuer = w.app.config.issuer.clone();
    let good = hint_of(&w, SUB, live);
    let mut tampered: Vec<String> = good.split('.').map(str::to_string).collect();
    tampered[1] = id_token_by(shared_key(), &issuer, BOB_SUB, RP, live)
        .split('.')
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let answer = approve_and_redeem(&w, &request(&[])).await;
    let access_token = answer["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rows = [
        (
            "another client's",
            id_token_by(shared_key(), &issuer, SUB, "app", live),
        ),
        (
            "another issuer's",
            id_token_by(shared_key(), "https://evil.example", SUB, RP, live),
        ),
        (
            "an unpublished key's",
            id_token_by(&new_key(), &issuer, SUB, RP, live),
        ),
        ("tampered", tampered.join(".")),
        ("an access token", access_token),
        ("not a JWT", "abc.def.ghi".to_string()),
    ];
    for (rule, hint) in &rows {
        for (prompt, cookie) in [(Some("none"), Some(w.cookie())), (None, None)] {
            let mut extra = vec![("id_token_hint", hint.as_str())];
            if let Some(prompt) = prompt {
                extra.push(("prompt", prompt));
            }
            let response = authorize_with(&w, &request(&extra), cookie.as_deref()).await;
            assert_eq!(error_of(rule, &response, &w), "invalid_request", "{rule}");
            assert_eq!(
                location_params(&response).get("error_description"),
                Some(auth_core::authorization::INVALID_ID_TOKEN_HINT),
                "{rule}"
            );
        }
    }
    // An empty value is an omitted parameter (RFC 6749 3.1), as for every parameter.
    let empty =
        authorize_signed_in(&w, &request(&[("prompt", "none"), ("id_token_hint", "")])).await;
    code_of("an empty hint", &empty);
}

/// oidcc-prompt-none-id-token-hint-other-user: `prompt=none` and a hint naming another user
/// than the signed-in one: `login_required` (Core 3.1.2.1), never a code for alice.
#[tokio::test]
async fn oidcc_prompt_none_id_token_hint_other_user() {
    let w = oidc_world().await;
    remember_consent(&w, &["openid"]).await;
    let bobs = hint_of(&w, BOB_SUB, now() + 300);
    let response = authorize_signed_in(
        &w,
        &request(&[("prompt", "none"), ("id_token_hint", &bobs)]),
    )
    .await;
    assert_eq!(error_of("bob's hint", &response, &w), "login_required");
    assert_eq!(
        location_params(&response).get("error_description"),
        Some(auth_core::authorization::HINT_NAMES_ANOTHER_USER)
    );
    // No session at all: login_required as before.
    let response = authorize_with(
        &w,
        &request(&[("prompt", "none"), ("id_token_hint", &bobs)]),
        None,
    )
    .await;
    assert_eq!(error_of("no session", &response, &w), "login_required");
}

/// Without `prompt=none`, a hint naming another user than the session's sends the browser
/// to sign in again (as `prompt=login`, marked, nothing prefilled from the hint). Back as the
/// user the hint names: the code, for them; back as anyone else after that sign-in:
/// `login_required` (the user chose another account than the app expects; no loop).
#[tokio::test]
async fn id_token_hint_of_another_user_signs_in_again() {
    let w = oidc_world().await;
    let bobs = hint_of(&w, BOB_SUB, now() - 3600);
    let first = authorize_signed_in(&w, &request(&[("id_token_hint", &bobs)])).await;
    let return_to = sign_in_return_to("alice signed in, bob's hint", &first, &w);
    assert_eq!(location_params(&first).get("login_hint"), None);
    let (query, marker) = returned_request(&return_to);
    assert!(marker > now_ms() - 5_000, "marked: {return_to}");

    // Back with alice's same old session: sign in again.
    let again = authorize_signed_in(&w, query).await;
    sign_in_return_to("the same session", &again, &w);

    // Signed in again, as alice (not bob): login_required, no code.
    let (_, alice_again) = session_at(&w, 'a', marker + 1).await;
    let refused = authorize_with(&w, query, Some(&alice_again)).await;
    assert_eq!(error_of("alice again", &refused, &w), "login_required");
    assert_eq!(
        location_params(&refused).get("error_description"),
        Some(auth_core::authorization::SIGNED_IN_AS_ANOTHER_USER)
    );

    // Signed in as bob: the consent page (bob never approved rp), then his code.
    let bob = bob_session_at(&w, marker + 1).await;
    let page = authorize_with(&w, query, Some(&bob)).await;
    assert_eq!(page.status(), StatusCode::OK, "{}", location(&page));
    assert!(page.body().contains(BOB), "the consent page names bob");
    assert!(
        !page.body().contains("id_token_hint"),
        "the hint stays out of the consent form"
    );

    // No session and a hint: signing in is marked too, so that coming back as another user
    // is told apart.
    let stranger = authorize_with(&w, &request(&[("id_token_hint", &bobs)]), None).await;
    assert!(sign_in_return_to("no session", &stranger, &w).contains(SIGNED_IN_AFTER));
}
