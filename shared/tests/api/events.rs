//! Handlers fed by the API Gateway HTTP API events of `events/` (payload format 2.0, the
//! same files that `cargo lambda invoke --data-file` uses), and the rule that every route
//! of `template.yaml` has an event file and a `cargo lambda watch` route.
//!
//! Each event goes the way `lambda::serve` sends it in production: the JSON is deserialized as
//! the runtime does (`HttpApiEvent`), answered through `lambda::answer`, and the answer is the
//! payload-2.0 response JSON that API Gateway reads (`statusCode`, `headers`, `cookies`, `body`).
//!
//! The fixtures are static: the values they carry (session cookie, CSRF tokens, code,
//! refresh token, client secret) are seeded here as the hashes the store keeps.

use auth_core::endpoints::{
    account, authorize, consent, introspect, jwks, login, logout, metadata, revoke, scopes, token,
    userinfo,
};
use auth_core::http::{HttpRequest, HttpResponse};
use auth_core::lambda::{self, HttpApiEvent};
use auth_core::model::*;
use auth_core::profile::Claim;
use auth_core::secret::{now, AuthorizationCode, ClientSecret, RefreshTokenSecret, SessionId};
use auth_core::session;
use auth_core::store::memory::MemoryStore;
use auth_core::store::*;
use auth_core::tokens::{new_jti, verify_access_token, AccessTokenClaims, Signer};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::header::SET_COOKIE;
use percent_encoding::percent_decode_str;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Mutex;

use crate::common::fixtures::{
    code_grant, grant_started, profile_of, set, shared_key, stored, World,
};
use crate::common::pkce::CHALLENGE;

// What the fixtures carry (see events/README.md).
const ISSUER: &str = "https://auth.example.test";
const SUB: &str = "48ae0b232a09ffe0108c90773460022c";
const USERNAME: &str = "alice";
const PASSWORD: &str = "correct horse battery staple";
const SESSION_ID: &str = "fLxqrBt8m3vuC6jDpVVd9N2cPWESAy4UlYlIvKlcinc";
const LOGIN_CSRF: &str = "W-2u1kU6X_yhnhF6L7Nm_-_KPn34WpsKGWDkqh38bZQ";
const CLIENT_ID: &str = "app";
const CLIENT_SECRET: &str = "iuWF0Dl8tfr33BDt7len2MKRU1I8p6iPWpXHzS6zR68";
const REDIRECT: &str = "https://app.example/cb";
const SIGNED_OUT: &str = "https://app.example/signed-out";
const STATE: &str = "af0ifjsldkj";
const CODE: &str = "hvxoM4bifJuY7byvwOKVdGhtkKjniOADl82C1U96XIM";
const REFRESH: &str = "Y1o2lmWTBFRrtr3FBpq4MeVgfFx2sclYiaAkhmwDHmc";
const FAMILY: &str = "fam-7d1c0e9b";

const SCOPES: &str = include_str!("../../../events/scopes.json");
const AUTHORIZE: &str = include_str!("../../../events/authorize.json");
const AUTHORIZE_SIGNED_IN: &str = include_str!("../../../events/authorize-signed-in.json");
const CONSENT: &str = include_str!("../../../events/consent.json");
const LOGIN: &str = include_str!("../../../events/login.json");
const LOGIN_SUBMIT: &str = include_str!("../../../events/login-submit.json");
const TOKEN: &str = include_str!("../../../events/token.json");
const TOKEN_REFRESH: &str = include_str!("../../../events/token-refresh.json");
const TOKEN_PRIVATE_KEY_JWT: &str = include_str!("../../../events/token-private-key-jwt.json");
const METADATA_OAUTH: &str = include_str!("../../../events/metadata-oauth.json");
const METADATA_OPENID: &str = include_str!("../../../events/metadata-openid.json");
const JWKS: &str = include_str!("../../../events/jwks.json");
const REVOKE: &str = include_str!("../../../events/revoke.json");
const INTROSPECT: &str = include_str!("../../../events/introspect.json");
const LOGOUT: &str = include_str!("../../../events/logout.json");
const LOGOUT_CONFIRM: &str = include_str!("../../../events/logout-confirm.json");
const ACCOUNT: &str = include_str!("../../../events/account.json");
const ACCOUNT_WITHDRAW: &str = include_str!("../../../events/account-withdraw.json");
const USERINFO: &str = include_str!("../../../events/userinfo.json");
const USERINFO_POST: &str = include_str!("../../../events/userinfo-post.json");
const TOKEN_PREFLIGHT: &str = include_str!("../../../events/token-preflight.json");
const REVOKE_PREFLIGHT: &str = include_str!("../../../events/revoke-preflight.json");
const USERINFO_PREFLIGHT: &str = include_str!("../../../events/userinfo-preflight.json");

// ---------------------------------------------------------------------------------------
// Running an event the way the function does.

/// The request the handler gets from the event.
fn event(json: &str) -> HttpRequest {
    match HttpApiEvent::from_json(json).map(HttpApiEvent::into_request) {
        Ok(Ok(request)) => request,
        other => panic!("invalid sample event: {other:?}"),
    }
}

struct Invocation {
    /// The request as the handler saw it.
    request: HttpRequest,
    /// The response as API Gateway receives it (payload format 2.0).
    response: Value,
}

/// One invocation of a function: the event JSON in, the payload-2.0 response JSON out, through
/// `lambda::answer` as `lambda::serve` runs it.
async fn invoke<H, F>(event_json: &str, handler: H) -> Invocation
where
    H: Fn(HttpRequest) -> F,
    F: Future<Output = HttpResponse> + Send,
{
    let payload = match HttpApiEvent::from_json(event_json) {
        Ok(payload) => payload,
        Err(error) => panic!("the runtime would not accept the event: {error}"),
    };
    let seen = Mutex::new(None);
    let watched = |request: HttpRequest| {
        if let Ok(mut slot) = seen.lock() {
            *slot = Some(request.clone());
        }
        handler(request)
    };
    let response = lambda::answer(&watched, payload).await;
    let response = match serde_json::to_value(&response) {
        Ok(value) => value,
        Err(error) => panic!("the response does not serialize: {error}"),
    };
    let request = match seen.into_inner() {
        Ok(Some(request)) => request,
        _ => panic!("the handler was not called"),
    };
    Invocation { request, response }
}

fn status(response: &Value) -> i64 {
    match response["statusCode"].as_i64() {
        Some(status) => status,
        None => panic!("no statusCode in {response}"),
    }
}

fn header<'a>(response: &'a Value, name: &str) -> Option<&'a str> {
    response["headers"][name].as_str()
}

fn body(response: &Value) -> &str {
    assert_eq!(
        response["isBase64Encoded"], false,
        "a text answer must not be base64-encoded"
    );
    response["body"].as_str().unwrap_or("")
}

fn json_body(response: &Value) -> Value {
    match serde_json::from_str(body(response)) {
        Ok(value) => value,
        Err(error) => panic!("the body is not JSON ({error}): {response}"),
    }
}

/// The response's `cookies`: what API Gateway turns into `Set-Cookie` headers.
fn cookies(response: &Value) -> Vec<&str> {
    assert!(
        response["headers"].get("set-cookie").is_none(),
        "Set-Cookie must travel in `cookies`, not in `headers`: {response}"
    );
    match response["cookies"].as_array() {
        Some(cookies) => cookies.iter().filter_map(Value::as_str).collect(),
        None => panic!("no cookies array in {response}"),
    }
}

fn decode(value: &str) -> String {
    match percent_decode_str(&value.replace('+', " ")).decode_utf8() {
        Ok(decoded) => decoded.into_owned(),
        Err(error) => panic!("not percent-encoded UTF-8 ({error}): {value}"),
    }
}

/// `application/x-www-form-urlencoded` (a body or a query) as decoded pairs, in order.
fn form_pairs(encoded: &str) -> Vec<(String, String)> {
    encoded
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

fn form_value(encoded: &str, name: &str) -> Option<String> {
    form_pairs(encoded)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, value)| value)
}

fn body_text(request: &HttpRequest) -> &str {
    match std::str::from_utf8(&request.body) {
        Ok(text) => text,
        Err(error) => panic!("the body is not UTF-8: {error}"),
    }
}

/// The hidden fields of an HTML page (as maud writes them), unescaped.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split(r#"<input type="hidden" name=""#)
        .skip(1)
        .filter_map(|rest| {
            let (name, rest) = rest.split_once('"')?;
            let rest = rest.strip_prefix(r#" value=""#)?;
            let (value, _) = rest.split_once('"')?;
            let value = value
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            Some((name.to_string(), value))
        })
        .collect()
}

impl World {
    /// One invocation of the function that the event's route names (`template.yaml`), over
    /// this world's store.
    async fn run(&self, event_json: &str) -> Invocation {
        let app = &self.app;
        invoke(event_json, |request| async move {
            match (request.method.as_str(), request.path.as_str()) {
                ("GET", "/oauth/scopes") => scopes::handle(app, &request).await,
                ("GET", "/oauth/authorize") => authorize::handle(app, &request).await,
                ("POST", "/oauth/consent") => consent::handle(app, &request).await,
                ("GET" | "POST", "/login") => login::handle(app, &request).await,
                ("POST" | "OPTIONS", "/oauth/token") => token::handle(app, &request).await,
                ("POST" | "OPTIONS", "/oauth/revoke") => revoke::handle(app, &request).await,
                ("POST", "/oauth/introspect") => introspect::handle(app, &request).await,
                ("GET" | "POST", "/oauth/logout") => logout::handle(app, &request).await,
                ("GET" | "POST", "/account") => account::handle(app, &request).await,
                ("GET" | "POST" | "OPTIONS", "/oauth/userinfo") => {
                    userinfo::handle(app, &request).await
                }
                ("GET", "/.well-known/jwks.json") => jwks::handle(app, &request).await,
                (
                    "GET",
                    "/.well-known/oauth-authorization-server" | "/.well-known/openid-configuration",
                ) => metadata::handle(app, &request).await,
                (method, path) => panic!("no function serves {method} {path}"),
            }
        })
        .await
    }
}

// ---------------------------------------------------------------------------------------
// The store the fixtures were written for.

fn app_client() -> ClientRegistration {
    use GrantType::{AuthorizationCode, RefreshToken};
    ClientRegistration {
        client_id: CLIENT_ID.into(),
        name: "Example App".into(),
        redirect_uris: vec![REDIRECT.into()],
        allowed_scopes: set(&["profile", "email"]),
        default_scopes: set(&["profile"]),
        kind: ClientKind::Confidential,
        secret_hash: Some(ClientSecret::new(CLIENT_SECRET).hash()),
        pkce_optional: false,
        allow_plain_pkce: false,
        resource_server: false,
        grant_types: vec![AuthorizationCode, RefreshToken],
        post_logout_redirect_uris: vec![SIGNED_OUT.into()],
        web_origins: Vec::new(),
        keys: None,
    }
}

/// `world()` with the signing key, alice's account and her grant (`with_refresh_token`): what
/// the refresh and UserInfo events need.
async fn world_with_grant() -> World {
    world_with_key_and_user().await.with_refresh_token().await
}

/// `world()` with the signing key and alice's account.
async fn world_with_key_and_user() -> World {
    world().await.with_key().await.with_user().await
}

/// Scopes `profile` and `email`, and the confidential client `app` with the fixtures' secret.
async fn world() -> World {
    let w = World::on(MemoryStore::default())
        .with_scopes(&[
            ("profile", "Read your profile"),
            ("email", "Read your email address"),
        ])
        .await
        .with_clients([app_client()])
        .await;
    assert_eq!(
        w.app.config.issuer, ISSUER,
        "the fixtures are written for this issuer"
    );
    w
}

impl World {
    /// The session named by the fixtures' `__Host-session` cookie, of a user who exists.
    async fn with_session(mut self) -> Self {
        self.session_id = SessionId::new(SESSION_ID);
        self.with_user().await.signed_in(SUB, USERNAME).await
    }

    async fn with_consent(self) -> Self {
        let consent = Consent {
            sub: SUB.into(),
            client_id: CLIENT_ID.into(),
            scopes: set(&["profile"]),
            expires_at: now() + 600,
        };
        stored("consent", self.app.store.put_consent(&consent).await);
        self
    }

    async fn with_user(self) -> Self {
        self.with_account(USERNAME, SUB, PASSWORD).await
    }

    /// The code that `events/token.json` redeems, bound to its redirect URI and PKCE challenge.
    async fn with_code(self) -> Self {
        let grant = code_grant(CODE, CLIENT_ID, SUB, set(&["profile"]));
        self.add_code(grant).await;
        self
    }

    /// The refresh token that the refresh, revoke and introspect events carry.
    async fn with_refresh_token(self) -> Self {
        let t = now();
        let (family, first) = grant_started(
            FAMILY,
            (CLIENT_ID, SUB),
            set(&["profile"]),
            RefreshTokenSecret::new(REFRESH).hash(),
            t,
            t + 7200,
        );
        // The token expires an hour before its family.
        let first = RefreshToken {
            expires_at: t + 3600,
            ..first
        };
        stored(
            "refresh token",
            self.app.store.create_family(&family, &first).await,
        );
        self
    }
}

impl World {
    /// alice's name and email, as `authctl user update` sets them.
    async fn with_profile(self) -> Self {
        let profile = profile_of(&[
            (Claim::Name, "Alice Example"),
            (Claim::Email, "alice@example.com"),
            (Claim::EmailVerified, "true"),
        ]);
        stored(
            "profile",
            self.app
                .store
                .update_profile(SUB, &profile, 1_795_929_000)
                .await,
        );
        self
    }

    /// A live access token like the one the UserInfo events carry (alice, `app`, `openid
    /// profile email`, the grant of `with_refresh_token`), signed now with the shared key.
    fn live_access_token(&self) -> String {
        let claims = AccessTokenClaims::new(
            &self.app.config,
            SUB,
            CLIENT_ID,
            &set(&["openid", "profile", "email"]),
            new_jti(),
            now(),
            FAMILY,
        );
        let signed = Signer::from_key(shared_key()).and_then(|signer| signer.sign(&claims));
        signed.unwrap_or_else(|error| panic!("{error}"))
    }
}

/// The event with its bearer token replaced by `token`: the files carry a token of the same
/// shape, whose signature no test key makes (and which expired long ago). The header's, or
/// the form body's (re-encoded, `content-length` kept right).
fn with_bearer_token(event_json: &str, token: &str) -> String {
    let mut json = sample(event_json);
    if json["headers"].get("authorization").is_some() {
        json["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
    }
    with_form_value(&json.to_string(), "access_token", token)
}

fn sample(event_json: &str) -> Value {
    match serde_json::from_str(event_json) {
        Ok(json) => json,
        Err(error) => panic!("invalid sample event: {error}"),
    }
}

/// The event with the form parameter `field` of its base64 body set to `value` (re-encoded,
/// `content-length` kept right); unchanged without a body.
fn with_form_value(event_json: &str, field: &str, value: &str) -> String {
    let mut json = sample(event_json);
    if let Some(encoded) = json.get("body").and_then(Value::as_str) {
        let decoded = STANDARD.decode(encoded).unwrap_or_default();
        let pairs: Vec<(String, String)> = form_pairs(&String::from_utf8_lossy(&decoded))
            .into_iter()
            .map(|(name, old)| {
                if name == field {
                    (name, value.to_string())
                } else {
                    (name, old)
                }
            })
            .collect();
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let body = auth_core::http::form_encode(&pairs);
        json["headers"]["content-length"] = Value::String(body.len().to_string());
        json["body"] = Value::String(STANDARD.encode(body));
    }
    json.to_string()
}

/// `__Host-<name>=<value>; Path=/; HttpOnly; SameSite=Lax; Max-Age=..; Secure` (the
/// issuer is https, so cookies are `__Host-` and `Secure`): the value, or a panic.
fn host_cookie<'a>(set_cookie: &'a str, name: &str) -> &'a str {
    let Some(rest) = set_cookie.strip_prefix(&format!("__Host-{name}=")) else {
        panic!("not the {name} cookie: {set_cookie}")
    };
    let (value, attributes) = rest.split_once(';').unwrap_or((rest, ""));
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(
            attributes.split(';').any(|a| a.trim() == attribute),
            "{name} cookie without {attribute}: {set_cookie}"
        );
    }
    value
}

// ---------------------------------------------------------------------------------------
// One test (at least) per event file.

/// `events/scopes.json`: GET /oauth/scopes, the public catalogue as JSON.
#[tokio::test]
async fn scopes_event_lists_the_catalogue() {
    let w = world().await;
    let run = w.run(SCOPES).await;
    assert_eq!(run.request.path, "/oauth/scopes");
    assert_eq!(status(&run.response), 200, "{}", run.response);
    assert_eq!(
        header(&run.response, "content-type"),
        Some("application/json")
    );
    assert_eq!(
        json_body(&run.response),
        serde_json::json!({"scopes": [
            {"name": "email", "description": "Read your email address"},
            {"name": "profile", "description": "Read your profile"},
        ]})
    );
}

/// `events/authorize.json`: a browser's first visit (query string, no cookies) is sent to
/// sign in, with the authorization request carried in `return_to`: exactly the URL that
/// `events/login.json` is the request of.
#[tokio::test]
async fn authorize_event_without_session_redirects_to_login() {
    let w = world().await;
    let run = w.run(AUTHORIZE).await;
    let raw_query = event(AUTHORIZE).query.unwrap_or_default();
    assert_eq!(run.request.query.as_deref(), Some(raw_query.as_str()));
    assert_eq!(run.request.header("cookie"), None);
    assert_eq!(status(&run.response), 302, "{}", run.response);
    let login_query = event(LOGIN).query.unwrap_or_default();
    assert_eq!(
        header(&run.response, "location"),
        Some(format!("{ISSUER}/login?{login_query}").as_str()),
        "authorize must send the browser where events/login.json says it goes"
    );
    assert_eq!(
        form_value(&login_query, "return_to"),
        Some(format!("/oauth/authorize?{raw_query}"))
    );
}

/// `events/authorize-signed-in.json`: the `cookies` array reaches the handler as one
/// `Cookie` header; with a live session and earlier consent, the code goes straight back.
#[tokio::test]
async fn authorize_event_with_session_and_consent_redirects_with_a_code() {
    let w = world().await.with_session().await.with_consent().await;
    let run = w.run(AUTHORIZE_SIGNED_IN).await;
    // lambda_http joins the `cookies` array with "; " into a single Cookie header.
    let cookie_headers: Vec<_> = run.request.headers.get_all("cookie").iter().collect();
    assert_eq!(
        cookie_headers,
        [&format!(
            "__Host-login_csrf={LOGIN_CSRF}; __Host-session={SUB}.{SESSION_ID}"
        )]
    );
    assert_eq!(status(&run.response), 302, "{}", run.response);
    let (code, query) = code_redirect(&run.response);
    assert_eq!(form_value(&query, "iss").as_deref(), Some(ISSUER));
    assert_code_stored(&w.app.store, &code).await;
}

/// The redirect back to the client with a code and the request's state: the code, and the
/// redirect's query.
fn code_redirect(response: &Value) -> (String, String) {
    let location = header(response, "location").unwrap_or_default();
    let Some(query) = location.strip_prefix(&format!("{REDIRECT}?")) else {
        panic!("not a redirect to the client: {location}")
    };
    let code = form_value(query, "code").unwrap_or_default();
    assert_eq!(code.len(), 43, "a 256-bit code: {location}");
    assert_eq!(form_value(query, "state").as_deref(), Some(STATE));
    (code, query.to_string())
}

/// The code was stored for the fixtures' user, client and PKCE challenge.
async fn assert_code_stored(store: &MemoryStore, code: &str) {
    match store.get_code(&AuthorizationCode::new(code).hash()).await {
        Ok(Some(grant)) if grant.redeemed_at.is_none() => {
            assert_eq!(grant.sub, SUB);
            assert_eq!(grant.client_id, CLIENT_ID);
            assert_eq!(grant.scopes, set(&["profile"]));
            assert_eq!(grant.pkce.map(|p| p.challenge).as_deref(), Some(CHALLENGE));
        }
        other => panic!("the code was not stored: {other:?}"),
    }
}

/// `events/authorize-signed-in.json` without earlier consent: the consent page, whose form
/// is exactly what `events/consent.json` posts back.
#[tokio::test]
async fn authorize_event_with_session_shows_the_consent_form_consent_event_posts() {
    let w = world().await.with_session().await;
    let run = w.run(AUTHORIZE_SIGNED_IN).await;
    assert_eq!(status(&run.response), 200, "{}", run.response);
    assert_eq!(
        header(&run.response, "content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(header(&run.response, "x-frame-options"), Some("DENY"));
    let mut page: Vec<(String, String)> = hidden_fields(body(&run.response));
    page.push(("decision".into(), "approve".into()));
    page.sort();
    let mut posted = form_pairs(body_text(&event(CONSENT)));
    posted.sort();
    assert_eq!(
        page, posted,
        "events/consent.json must post the consent page's fields"
    );
    let csrf = session::csrf_token(&SessionId::new(SESSION_ID));
    assert!(posted.contains(&("csrf_token".into(), csrf)));
}

/// Without a live session (unknown or expired), the same event is sent to sign in.
#[tokio::test]
async fn authorize_event_with_unknown_session_redirects_to_login() {
    let w = world().await.with_consent().await;
    let run = w.run(AUTHORIZE_SIGNED_IN).await;
    assert_eq!(status(&run.response), 302, "{}", run.response);
    let location = header(&run.response, "location").unwrap_or_default();
    assert!(
        location.starts_with(&format!("{ISSUER}/login?return_to=")),
        "{location}"
    );
}

/// `events/consent.json`: a browser form POST (base64 body, cookies array) approving the
/// request: 303 to the client with a code, and the consent is stored.
#[tokio::test]
async fn consent_event_approves_and_redirects_with_a_code() {
    let w = world().await.with_session().await;
    let run = w.run(CONSENT).await;
    assert!(
        body_text(&run.request).starts_with("client_id=app&redirect_uri=https%3A%2F%2Fapp"),
        "the handler gets the decoded form, not base64"
    );
    assert!(run.request.cookie("__Host-session").is_some());
    assert_eq!(status(&run.response), 303, "{}", run.response);
    let (code, _) = code_redirect(&run.response);
    assert_code_stored(&w.app.store, &code).await;
    match w.app.store.get_consent(SUB, CLIENT_ID, now()).await {
        Ok(Some(consent)) => assert_eq!(consent.scopes, set(&["profile"])),
        other => panic!("no consent stored: {other:?}"),
    }
}

/// `events/consent.json` once the session has ended: refused, nothing stored.
#[tokio::test]
async fn consent_event_without_session_is_refused() {
    let w = world().await;
    let run = w.run(CONSENT).await;
    assert_eq!(status(&run.response), 403, "{}", run.response);
    assert!(matches!(
        w.app.store.get_consent(SUB, CLIENT_ID, now()).await,
        Ok(None)
    ));
}

/// `events/login.json`: the sign-in form, which sets the login CSRF cookie: in the
/// payload-2.0 response that cookie is in `cookies`, not in a `set-cookie` header.
#[tokio::test]
async fn login_event_shows_the_form_and_sets_the_csrf_cookie() {
    let w = world().await;
    let run = w.run(LOGIN).await;
    assert_eq!(status(&run.response), 200, "{}", run.response);
    let set = cookies(&run.response);
    assert_eq!(set.len(), 1, "{set:?}");
    let token = host_cookie(set[0], "login_csrf");
    assert_eq!(token.len(), 43, "{}", set[0]);
    let fields = hidden_fields(body(&run.response));
    assert!(
        fields.contains(&("csrf_token".into(), token.into())),
        "the form carries the cookie's token: {fields:?}"
    );
    // The form returns to the authorization request, as `events/login-submit.json` posts.
    let return_to = form_value(run.request.query.as_deref().unwrap_or(""), "return_to");
    let posted = form_value(body_text(&event(LOGIN_SUBMIT)), "return_to");
    assert!(return_to.is_some());
    assert_eq!(
        fields
            .iter()
            .find(|(name, _)| name == "return_to")
            .map(|(_, v)| v.clone()),
        return_to
    );
    assert_eq!(posted, return_to);
}

/// `events/login-submit.json`: the sign-in form POST (base64 body, login CSRF cookie):
/// 303 back to the authorization request, and the session cookie in `cookies`.
#[tokio::test]
async fn login_submit_event_signs_in_and_sets_the_session_cookie() {
    let w = world().await.with_user().await;
    let run = w.run(LOGIN_SUBMIT).await;
    assert_eq!(
        run.request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        form_value(body_text(&run.request), "password").as_deref(),
        Some(PASSWORD),
        "the base64 body reaches the handler decoded"
    );
    assert_eq!(run.request.cookie("__Host-login_csrf"), Some(LOGIN_CSRF));
    assert_eq!(status(&run.response), 303, "{}", run.response);
    let return_to = form_value(body_text(&run.request), "return_to").unwrap_or_default();
    assert_eq!(
        header(&run.response, "location"),
        Some(format!("{ISSUER}{return_to}").as_str())
    );
    let set = cookies(&run.response);
    assert_eq!(set.len(), 1, "{set:?}");
    let value = host_cookie(set[0], "session");
    let Some((sub, id)) = value.split_once('.') else {
        panic!("not <sub>.<id>: {value}")
    };
    assert_eq!(sub, SUB);
    match w
        .app
        .store
        .get_session(&SessionId::new(id).hash(), now())
        .await
    {
        Ok(Some(session)) => assert_eq!(session.username, USERNAME),
        other => panic!("the cookie names no stored session: {other:?}"),
    }
}

/// `events/login-submit.json` for an account that does not exist: 401, no session cookie.
#[tokio::test]
async fn login_submit_event_for_unknown_user_is_refused() {
    let w = world().await;
    let run = w.run(LOGIN_SUBMIT).await;
    assert_eq!(status(&run.response), 401, "{}", run.response);
    let set = cookies(&run.response);
    assert!(
        set.iter().all(|c| c.starts_with("__Host-login_csrf=")),
        "{set:?}"
    );
}

/// `events/token.json`: a code exchange with HTTP Basic client authentication and a base64
/// form body: 200 with a verifiable access token and a refresh token.
#[tokio::test]
async fn token_event_exchanges_the_code() {
    let w = world_with_key_and_user().await.with_code().await;
    let run = w.run(TOKEN).await;
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    assert_eq!(run.request.header("authorization"), Some(expected.as_str()));
    assert_eq!(status(&run.response), 200, "{}", run.response);
    assert_eq!(header(&run.response, "cache-control"), Some("no-store"));
    let answer = json_body(&run.response);
    assert_eq!(answer["token_type"], "Bearer", "{answer}");
    assert_eq!(answer["scope"], "profile", "{answer}");
    assert!(answer["refresh_token"].is_string(), "{answer}");
    let access_token = answer["access_token"].as_str().unwrap_or_default();
    let keys = stored("keys", w.app.store.list_public_keys().await);
    let Some(claims) = verify_access_token(&w.app.config, &keys, access_token) else {
        panic!("the access token does not verify: {access_token}")
    };
    assert_eq!(claims.sub, SUB);
    assert_eq!(claims.client_id, CLIENT_ID);
}

/// `events/token.json` when its code is unknown (or expired): RFC 6749 5.2 `invalid_grant`.
#[tokio::test]
async fn token_event_with_unknown_code_is_invalid_grant() {
    let w = world().await.with_key().await;
    let run = w.run(TOKEN).await;
    assert_eq!(status(&run.response), 400, "{}", run.response);
    assert_eq!(json_body(&run.response)["error"], "invalid_grant");
}

/// `events/token-refresh.json`: a refresh with `client_secret_post` (credentials in the
/// body, no Authorization header): a new access token and a rotated refresh token.
#[tokio::test]
async fn token_refresh_event_rotates_the_refresh_token() {
    let w = world_with_grant().await;
    let run = w.run(TOKEN_REFRESH).await;
    assert_eq!(run.request.header("authorization"), None);
    // API Gateway appended the caller's address to the proxy's X-Forwarded-For: one header.
    assert_eq!(
        run.request.header("x-forwarded-for"),
        Some("10.0.4.17, 203.0.113.10")
    );
    assert_eq!(status(&run.response), 200, "{}", run.response);
    let answer = json_body(&run.response);
    assert!(answer["access_token"].is_string(), "{answer}");
    let next = answer["refresh_token"].as_str().unwrap_or_default();
    assert!(!next.is_empty() && next != REFRESH, "{answer}");
}

/// `events/token-private-key-jwt.json`: a machine's client credentials request authenticated
/// with `private_key_jwt` (RFC 7523 2.2) in the form body. The file's assertion expired long
/// ago and no test key signed it: as it is, `401 invalid_client` (no Basic challenge); with a
/// fresh one signed by the key the machine registered, the machine's own token.
#[tokio::test]
async fn token_private_key_jwt_event_authenticates_the_machine_by_its_assertion() {
    use crate::common::assertions::{assertion_claims, jwks_of, rsa_key};
    let key = rsa_key("machine-2026-11");
    let machine = ClientRegistration {
        client_id: "machine".into(),
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        grant_types: vec![GrantType::ClientCredentials],
        secret_hash: None,
        keys: Some(ClientKeySource::Jwks(jwks_of(&[&key]))),
        ..app_client()
    };
    let w = world().await.with_key().await.with_clients([machine]).await;
    let run = w.run(TOKEN_PRIVATE_KEY_JWT).await;
    assert_eq!(status(&run.response), 401, "{}", run.response);
    assert_eq!(json_body(&run.response)["error"], "invalid_client");
    assert!(header(&run.response, "www-authenticate").is_none());
    let fresh = key.sign(&assertion_claims(
        "machine",
        &format!("{ISSUER}/oauth/token"),
    ));
    let run = w
        .run(&with_form_value(
            TOKEN_PRIVATE_KEY_JWT,
            "client_assertion",
            &fresh,
        ))
        .await;
    assert_eq!(status(&run.response), 200, "{}", run.response);
    assert_eq!(json_body(&run.response)["scope"], "profile");
}

/// `events/metadata-oauth.json`: RFC 8414 metadata at its own path.
#[tokio::test]
async fn metadata_oauth_event_describes_the_server() {
    let w = world().await;
    let run = w.run(METADATA_OAUTH).await;
    assert_eq!(run.request.path, "/.well-known/oauth-authorization-server");
    assert_metadata(&run.response);
}

/// `events/metadata-openid.json`: the same document where OpenID libraries look.
#[tokio::test]
async fn metadata_openid_event_describes_the_server() {
    let w = world().await;
    let run = w.run(METADATA_OPENID).await;
    assert_eq!(run.request.path, "/.well-known/openid-configuration");
    assert_metadata(&run.response);
}

fn assert_metadata(response: &Value) {
    assert_eq!(status(response), 200, "{response}");
    let document = json_body(response);
    assert_eq!(document["issuer"], ISSUER);
    assert_eq!(document["token_endpoint"], format!("{ISSUER}/oauth/token"));
    assert_eq!(
        document["jwks_uri"],
        format!("{ISSUER}/.well-known/jwks.json")
    );
    assert_eq!(
        document["scopes_supported"],
        serde_json::json!(["email", "profile"])
    );
}

/// `events/jwks.json`: the public signing keys, cacheable.
#[tokio::test]
async fn jwks_event_publishes_the_keys() {
    let w = world().await.with_key().await;
    let run = w.run(JWKS).await;
    assert_eq!(status(&run.response), 200, "{}", run.response);
    assert_eq!(
        header(&run.response, "cache-control"),
        Some("public, max-age=300")
    );
    let set = json_body(&run.response);
    assert_eq!(set["keys"][0]["kid"], shared_key().kid.as_str(), "{set}");
    assert_eq!(set["keys"][0]["alg"], "RS256", "{set}");
    assert!(set["keys"][0].get("d").is_none(), "no private part: {set}");
}

/// `events/token-preflight.json`, `events/revoke-preflight.json`: a browser app's preflight,
/// answered with no storage call: the origin, POST, the headers a client may send.
#[tokio::test]
async fn token_and_revoke_preflight_events_let_the_browser_post() {
    let w = world().await;
    for event_json in [TOKEN_PREFLIGHT, REVOKE_PREFLIGHT] {
        let calls = w.app.store.calls();
        let run = w.run(event_json).await;
        assert_eq!(status(&run.response), 204, "{}", run.response);
        assert_eq!(
            header(&run.response, "access-control-allow-origin"),
            Some("https://app.example.test")
        );
        assert_eq!(
            header(&run.response, "access-control-allow-methods"),
            Some("POST")
        );
        assert_eq!(
            header(&run.response, "access-control-allow-headers"),
            Some("authorization, content-type")
        );
        assert_eq!(header(&run.response, "vary"), Some("origin"));
        assert_eq!(body(&run.response), "");
        assert_eq!(w.app.store.calls(), calls, "a preflight reads nothing");
    }
}

/// `events/userinfo-preflight.json`: any origin may call UserInfo with a bearer token.
#[tokio::test]
async fn userinfo_preflight_event_lets_any_origin_send_a_bearer_token() {
    let w = world().await;
    let run = w.run(USERINFO_PREFLIGHT).await;
    assert_eq!(status(&run.response), 204, "{}", run.response);
    assert_eq!(
        header(&run.response, "access-control-allow-origin"),
        Some("*")
    );
    assert_eq!(
        header(&run.response, "access-control-allow-methods"),
        Some("GET, POST")
    );
    assert_eq!(
        header(&run.response, "access-control-expose-headers"),
        Some("www-authenticate")
    );
}

/// `events/revoke.json`: RFC 7009 revocation of the client's refresh token (Basic, base64
/// body): 200 with no body, and the token's family is revoked.
#[tokio::test]
async fn revoke_event_revokes_the_refresh_token_family() {
    let w = world().await.with_refresh_token().await;
    let run = w.run(REVOKE).await;
    assert_eq!(status(&run.response), 200, "{}", run.response);
    assert_eq!(body(&run.response), "");
    match w.app.store.get_family(FAMILY).await {
        Ok(Some(family)) => assert!(family.revoked, "the family is still live"),
        other => panic!("no family: {other:?}"),
    }
}

/// `events/introspect.json`: RFC 7662 introspection of the client's own refresh token; the
/// two Accept headers arrive as one comma-joined value, which changes nothing.
#[tokio::test]
async fn introspect_event_reports_the_refresh_token_active() {
    let w = world().await.with_refresh_token().await;
    let run = w.run(INTROSPECT).await;
    assert_eq!(
        run.request.header("accept"),
        Some("application/json,application/token-introspection+jwt")
    );
    assert_eq!(status(&run.response), 200, "{}", run.response);
    let answer = json_body(&run.response);
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["token_type"], "refresh_token", "{answer}");
    assert_eq!(answer["client_id"], CLIENT_ID, "{answer}");
    assert_eq!(answer["sub"], SUB, "{answer}");
    assert_eq!(answer["scope"], "profile", "{answer}");
}

/// `events/logout.json`: an app sends the signed-in browser to sign out (a GET with
/// `client_id`, its registered `post_logout_redirect_uri`, `state`, `ui_locales`) without an
/// ID token hint: the confirmation page, whose form is what `events/logout-confirm.json`
/// posts; the session still counts.
#[tokio::test]
async fn logout_event_without_a_hint_asks_first() {
    let w = world().await.with_session().await;
    let run = w.run(LOGOUT).await;
    assert_eq!(status(&run.response), 200, "{}", run.response);
    assert_eq!(header(&run.response, "x-frame-options"), Some("DENY"));
    assert!(body(&run.response).contains("Sign out of Auth API?"));
    let mut page = hidden_fields(body(&run.response));
    page.sort();
    let mut posted = form_pairs(body_text(&event(LOGOUT_CONFIRM)));
    posted.sort();
    assert_eq!(
        page, posted,
        "events/logout-confirm.json posts the page's form"
    );
    let id_hash = SessionId::new(SESSION_ID).hash();
    assert!(matches!(
        w.app.store.get_session(&id_hash, now()).await,
        Ok(Some(_))
    ));
}

/// `events/logout-confirm.json`: the confirmation (session CSRF token): the session item is
/// deleted, the cookie expired, and the browser goes back to the app with its state (303).
#[tokio::test]
async fn logout_confirm_event_signs_out_and_returns_to_the_app() {
    let w = world().await.with_session().await;
    let run = w.run(LOGOUT_CONFIRM).await;
    assert_eq!(status(&run.response), 303, "{}", run.response);
    assert_eq!(
        header(&run.response, "location"),
        Some(format!("{SIGNED_OUT}?state={STATE}").as_str())
    );
    let set = cookies(&run.response);
    assert_eq!(set.len(), 1, "{set:?}");
    assert_eq!(host_cookie(set[0], "session"), "");
    assert!(set[0].contains("Max-Age=0"), "{}", set[0]);
    let id_hash = SessionId::new(SESSION_ID).hash();
    assert!(matches!(
        w.app.store.get_session(&id_hash, now()).await,
        Ok(None)
    ));
}

/// `events/account.json`: the account page of the signed-in user, listing the app they
/// allowed; its withdraw form is what `events/account-withdraw.json` posts.
#[tokio::test]
async fn account_event_shows_the_apps_allowed() {
    let w = world().await.with_session().await.with_consent().await;
    let run = w.run(ACCOUNT).await;
    assert_eq!(status(&run.response), 200, "{}", run.response);
    assert_eq!(header(&run.response, "x-frame-options"), Some("DENY"));
    let html = body(&run.response);
    assert!(
        html.contains("Example App") && html.contains("Read your profile"),
        "{html}"
    );
    let posted = form_pairs(body_text(&event(ACCOUNT_WITHDRAW)));
    let fields = hidden_fields(html);
    for pair in &posted {
        assert!(fields.contains(pair), "{pair:?} is not a field of the page");
    }
}

/// `events/account-withdraw.json`: "Withdraw access" for `app`: the consent and its grant are
/// gone, and the browser goes back to the page (303).
#[tokio::test]
async fn account_withdraw_event_removes_the_consent_and_its_grant() {
    let w = world()
        .await
        .with_session()
        .await
        .with_consent()
        .await
        .with_refresh_token()
        .await;
    let run = w.run(ACCOUNT_WITHDRAW).await;
    assert_eq!(status(&run.response), 303, "{}", run.response);
    assert_eq!(
        header(&run.response, "location"),
        Some(format!("{ISSUER}/account").as_str())
    );
    assert!(matches!(
        w.app.store.get_consent(SUB, CLIENT_ID, now()).await,
        Ok(None)
    ));
    match w.app.store.get_family(FAMILY).await {
        Ok(Some(family)) => assert!(family.revoked, "the grant is still live"),
        other => panic!("no grant: {other:?}"),
    }
}

/// `events/userinfo.json`: an OpenID library's `GET` with `Authorization: Bearer` (RFC 6750
/// 2.1): the claims of `openid profile email`, as JSON, never cached.
#[tokio::test]
async fn userinfo_event_answers_the_claims_of_the_tokens_scopes() {
    let w = world_with_grant().await.with_profile().await;
    let token = w.live_access_token();
    let run = w.run(&with_bearer_token(USERINFO, &token)).await;
    let expected = format!("Bearer {token}");
    assert_eq!(run.request.header("authorization"), Some(expected.as_str()));
    assert_eq!(status(&run.response), 200, "{}", run.response);
    assert_eq!(
        header(&run.response, "content-type"),
        Some("application/json")
    );
    assert_eq!(header(&run.response, "cache-control"), Some("no-store"));
    assert_eq!(
        json_body(&run.response),
        serde_json::json!({
            "sub": SUB,
            "name": "Alice Example",
            "updated_at": 1_795_929_000,
            "email": "alice@example.com",
            "email_verified": true,
        })
    );
}

/// `events/userinfo-post.json`: the token in a form body (RFC 6750 2.2), base64-encoded by API
/// Gateway: the same answer.
#[tokio::test]
async fn userinfo_post_event_reads_the_token_from_the_form_body() {
    let w = world_with_grant().await;
    let token = w.live_access_token();
    let run = w.run(&with_bearer_token(USERINFO_POST, &token)).await;
    assert_eq!(
        form_value(body_text(&run.request), "access_token").as_deref(),
        Some(token.as_str()),
        "the base64 body reaches the handler decoded"
    );
    assert_eq!(status(&run.response), 200, "{}", run.response);
    let claims = json_body(&run.response);
    assert_eq!(claims["sub"], SUB, "{claims}");
    assert!(claims["updated_at"].is_i64(), "{claims}");
}

/// The events as they are: their token was signed by no key of the store (and expired), so
/// `401` with the RFC 6750 challenge, in a payload-2.0 header.
#[tokio::test]
async fn userinfo_events_with_their_stale_token_are_invalid_token() {
    let w = world_with_grant().await;
    for event_json in [USERINFO, USERINFO_POST] {
        let run = w.run(event_json).await;
        assert_eq!(status(&run.response), 401, "{}", run.response);
        let challenge = header(&run.response, "www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with(r#"Bearer error="invalid_token""#),
            "{challenge}"
        );
        assert_eq!(json_body(&run.response)["error"], "invalid_token");
    }
}

/// The Set-Cookie → `cookies` move, shown on its own: two cookies set by one response both
/// reach API Gateway, none as a header (lambda_http's ApiGatewayV2 response conversion).
#[tokio::test]
async fn set_cookie_headers_become_the_cookies_array() {
    let run = invoke(LOGIN, |_request| async move {
        let mut response = HttpResponse::new(String::new());
        for value in ["a=1; Path=/", "b=2; Path=/; HttpOnly"] {
            response
                .headers_mut()
                .append(SET_COOKIE, http::HeaderValue::from_static(value));
        }
        response
    })
    .await;
    assert_eq!(
        cookies(&run.response),
        ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
    );
}

// ---------------------------------------------------------------------------------------
// The fixtures themselves, and the rule that every route comes with its event and its
// local route.

fn repository_file(path: &str) -> String {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read_to_string(&full) {
        Ok(text) => text,
        Err(error) => panic!("cannot read {full}: {error}"),
    }
}

/// Every `events/*.json`: (file name, parsed JSON, text).
fn event_files() -> Vec<(String, Value, String)> {
    let dir = format!("{}/../events", env!("CARGO_MANIFEST_DIR"));
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) => panic!("cannot list {dir}: {error}"),
    };
    let mut files: Vec<(String, Value, String)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .map(|name| {
            let text = repository_file(&format!("events/{name}"));
            let json = match serde_json::from_str(&text) {
                Ok(json) => json,
                Err(error) => panic!("events/{name} is not JSON: {error}"),
            };
            (name, json, text)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// What API Gateway HTTP API sends with payload format 2.0, checked on every event file.
#[test]
fn every_event_is_an_api_gateway_http_api_event() {
    let this_file = include_str!("events.rs");
    let files = event_files();
    assert!(!files.is_empty(), "no events/*.json");
    for (name, json, text) in &files {
        let at = format!("events/{name}");
        let context = &json["requestContext"];
        let route_key = json["routeKey"].as_str().unwrap_or_default();
        let method = context["http"]["method"].as_str().unwrap_or_default();
        let raw_path = json["rawPath"].as_str().unwrap_or_default();
        assert_eq!(json["version"], "2.0", "{at}: version");
        assert_eq!(route_key, format!("{method} {raw_path}"), "{at}: routeKey");
        assert_eq!(
            context["routeKey"], route_key,
            "{at}: requestContext.routeKey"
        );
        assert_eq!(
            context["http"]["path"], raw_path,
            "{at}: requestContext.http.path"
        );
        assert_eq!(context["stage"], "$default", "{at}: stage");
        for field in ["protocol", "sourceIp", "userAgent"] {
            assert!(
                context["http"][field].is_string(),
                "{at}: requestContext.http.{field}"
            );
        }
        for field in ["requestId", "time", "domainName", "apiId", "accountId"] {
            assert!(context[field].is_string(), "{at}: requestContext.{field}");
        }
        assert!(
            context["timeEpoch"].is_u64(),
            "{at}: requestContext.timeEpoch"
        );
        assert!(json["rawQueryString"].is_string(), "{at}: rawQueryString");
        assert!(
            json["isBase64Encoded"].is_boolean(),
            "{at}: isBase64Encoded"
        );

        let Some(headers) = json["headers"].as_object() else {
            panic!("{at}: no headers")
        };
        for name in headers.keys() {
            assert_eq!(
                *name,
                name.to_lowercase(),
                "{at}: header names are lower-case"
            );
        }
        assert!(
            !headers.contains_key("cookie"),
            "{at}: API Gateway moves the Cookie header to the `cookies` array"
        );
        assert_eq!(
            headers.get("user-agent"),
            context["http"].get("userAgent"),
            "{at}: userAgent"
        );
        if let Some(cookies) = json.get("cookies") {
            let list = cookies.as_array().map(Vec::as_slice).unwrap_or_default();
            assert!(
                !list.is_empty()
                    && list.iter().all(|c| c
                        .as_str()
                        .is_some_and(|c| c.contains('=') && !c.contains(';'))),
                "{at}: `cookies` is an array of name=value strings, one per cookie"
            );
        }

        // Query: raw as sent, and decoded in queryStringParameters (repeats comma-joined).
        let raw_query = json["rawQueryString"].as_str().unwrap_or_default();
        let mut decoded: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in form_pairs(raw_query) {
            decoded
                .entry(name)
                .and_modify(|v| {
                    v.push(',');
                    v.push_str(&value);
                })
                .or_insert(value);
        }
        let parameters: BTreeMap<String, String> = json
            .get("queryStringParameters")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(parameters, decoded, "{at}: queryStringParameters");

        // Body: form bodies arrive base64-encoded, with their decoded length.
        let content_type = headers.get("content-type").and_then(Value::as_str);
        match json.get("body").and_then(Value::as_str) {
            Some(encoded) => {
                assert_eq!(
                    content_type,
                    Some("application/x-www-form-urlencoded"),
                    "{at}: only form bodies are expected"
                );
                assert_eq!(
                    json["isBase64Encoded"], true,
                    "{at}: API Gateway base64-encodes form bodies"
                );
                let bytes = match STANDARD.decode(encoded) {
                    Ok(bytes) => bytes,
                    Err(error) => panic!("{at}: body is not base64: {error}"),
                };
                assert_eq!(
                    headers.get("content-length").and_then(Value::as_str),
                    Some(bytes.len().to_string().as_str()),
                    "{at}: content-length is the decoded body's"
                );
            }
            None => assert_eq!(json["isBase64Encoded"], false, "{at}: no body"),
        }

        // lambda_http's documented parser reads it as the route it names.
        let request = event(text);
        assert_eq!(request.method.as_str(), method, "{at}: method");
        assert_eq!(request.path, raw_path, "{at}: path");
        assert_eq!(
            request.query.as_deref().unwrap_or_default(),
            raw_query,
            "{at}: query string"
        );
        assert_eq!(
            request.cookie("__Host-session").is_some(),
            text.contains("\"__Host-session="),
            "{at}: cookies reach the handler"
        );

        // And a handler test uses it.
        assert!(
            this_file.contains(&format!("include_str!(\"../../../{at}\")")),
            "{at} has no handler test in shared/tests/api/events.rs"
        );
    }
}

#[derive(Default)]
struct TemplateResource {
    kind: String,
    binary: Option<String>,
    integration_function: Option<String>,
    route_key: Option<String>,
    target_integration: Option<String>,
}

/// `template.yaml`'s resources, by simple line parsing: the two-space-indented names under
/// `Resources:` and the few properties this test needs.
fn template_resources(template: &str) -> BTreeMap<String, TemplateResource> {
    let mut resources: BTreeMap<String, TemplateResource> = BTreeMap::new();
    let mut in_resources = false;
    let mut current: Option<String> = None;
    for line in template.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            in_resources = line.trim_end() == "Resources:";
            current = None;
            continue;
        }
        if !in_resources {
            continue;
        }
        let trimmed = line.trim();
        if line.starts_with("  ") && !line.starts_with("   ") && trimmed.ends_with(':') {
            let name = trimmed.trim_end_matches(':').to_string();
            resources.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        let Some(resource) = current.as_ref().and_then(|name| resources.get_mut(name)) else {
            continue;
        };
        let value = |key: &str| trimmed.strip_prefix(key).map(|v| v.trim().to_string());
        let between = |text: &str, start: &str, end: &str| {
            let (_, rest) = text.split_once(start)?;
            let (inner, _) = rest.split_once(end)?;
            Some(inner.to_string())
        };
        if let Some(kind) = value("Type:") {
            resource.kind = kind;
        } else if let Some(binary) = value("Binary:") {
            resource.binary = Some(binary);
        } else if let Some(uri) = value("IntegrationUri:") {
            resource.integration_function = between(&uri, "!GetAtt ", ".Arn");
        } else if let Some(route_key) = value("RouteKey:") {
            resource.route_key = Some(route_key.trim_matches('"').to_string());
        } else if let Some(target) = value("Target:") {
            resource.target_integration = between(&target, "${", "}");
        }
    }
    resources
}

/// `[workspace.metadata.lambda.watch.router]` of the workspace Cargo.toml as
/// (method, path, function) triples, by simple line parsing.
fn cargo_routes(cargo_toml: &str) -> BTreeSet<(String, String, String)> {
    let mut routes = BTreeSet::new();
    let mut in_router = false;
    for line in cargo_toml.lines() {
        let line = line.trim();
        if line.starts_with('[') && !line.starts_with("[{") {
            in_router = line == "[workspace.metadata.lambda.watch.router]";
            continue;
        }
        if !in_router || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let quoted = |text: &str, key: &str| -> Option<String> {
            let (_, rest) = text.split_once(key)?;
            let rest = rest.trim_start().strip_prefix('=')?.trim_start();
            let rest = rest.strip_prefix('"')?;
            Some(rest.split_once('"')?.0.to_string())
        };
        let Some(path) = line
            .strip_prefix('"')
            .and_then(|rest| rest.split_once('"'))
            .map(|(path, _)| path.to_string())
        else {
            continue;
        };
        for entry in line.split('{').skip(1) {
            if let (Some(method), Some(function)) =
                (quoted(entry, "method"), quoted(entry, "function"))
            {
                routes.insert((method, path.clone(), function));
            }
        }
    }
    routes
}

/// What breaks the rule "a route of `template.yaml` comes with its `cargo lambda watch`
/// route (to the function whose binary the template's integration runs) and an event file":
/// one line per problem, naming the route and what is missing.
fn route_problems(template: &str, cargo_toml: &str, events: &[(String, String)]) -> Vec<String> {
    let resources = template_resources(template);
    let router = cargo_routes(cargo_toml);
    let routes: Vec<(&String, &TemplateResource)> = resources
        .iter()
        .filter(|(_, r)| r.kind == "AWS::ApiGatewayV2::Route")
        .collect();
    let mut problems = Vec::new();
    if routes.is_empty() {
        problems.push("template.yaml: no AWS::ApiGatewayV2::Route resources found".to_string());
    }
    if router.is_empty() {
        problems
            .push("Cargo.toml: no routes in [workspace.metadata.lambda.watch.router]".to_string());
    }
    let mut template_routes = BTreeSet::new();
    for (name, route) in &routes {
        let Some(route_key) = &route.route_key else {
            problems.push(format!("template.yaml: route {name} has no RouteKey"));
            continue;
        };
        let binary = route
            .target_integration
            .as_ref()
            .and_then(|integration| resources.get(integration))
            .and_then(|integration| integration.integration_function.as_ref())
            .and_then(|function| resources.get(function))
            .and_then(|function| function.binary.clone());
        let Some(binary) = binary else {
            problems.push(format!(
                "template.yaml: route {route_key} ({name}): no integration leading to a function with a Binary"
            ));
            continue;
        };
        let Some((method, path)) = route_key.split_once(' ') else {
            problems.push(format!(
                "template.yaml: route {name}: RouteKey {route_key:?} is not \"METHOD /path\""
            ));
            continue;
        };
        template_routes.insert((method.to_string(), path.to_string(), binary.clone()));
        if !events.iter().any(|(_, key)| key == route_key) {
            problems.push(format!(
                "route {route_key}: no event file in events/ with \"routeKey\": \"{route_key}\""
            ));
        }
        if !router.contains(&(method.to_string(), path.to_string(), binary.clone())) {
            let found: Vec<_> = router
                .iter()
                .filter(|(_, p, _)| p == path)
                .map(|(m, _, f)| format!("{m} -> {f}"))
                .collect();
            problems.push(format!(
                "route {route_key}: Cargo.toml [workspace.metadata.lambda.watch.router] has no \
                 {{ method = \"{method}\", function = \"{binary}\" }} for \"{path}\" (found: {found:?})"
            ));
        }
    }
    for (name, route_key) in events {
        if !routes
            .iter()
            .any(|(_, r)| r.route_key.as_ref() == Some(route_key))
        {
            problems.push(format!(
                "events/{name}: routeKey {route_key:?} is not a route of template.yaml"
            ));
        }
    }
    for (method, path, function) in &router {
        if !template_routes.contains(&(method.clone(), path.clone(), function.clone())) {
            problems.push(format!(
                "Cargo.toml router: {method} {path} -> {function} is not a route of template.yaml to that function"
            ));
        }
    }
    problems
}

/// (file name, routeKey) of every event file.
fn event_route_keys() -> Vec<(String, String)> {
    event_files()
        .into_iter()
        .map(|(name, json, _)| {
            let route_key = json["routeKey"].as_str().unwrap_or_default().to_string();
            (name, route_key)
        })
        .collect()
}

/// A new endpoint comes with its route in `template.yaml`, its `cargo lambda watch` route
/// (to the function whose binary the template's integration runs) and an event file.
#[test]
fn every_template_route_has_an_event_file_and_a_local_route() {
    let template = repository_file("template.yaml");
    let route_count = template_resources(&template)
        .values()
        .filter(|r| r.kind == "AWS::ApiGatewayV2::Route")
        .count();
    assert!(
        route_count >= 11,
        "template.yaml: found only {route_count} AWS::ApiGatewayV2::Route resources: is the parsing stale?"
    );
    let problems = route_problems(
        &template,
        &repository_file("Cargo.toml"),
        &event_route_keys(),
    );
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The rule catches each kind of drift: a route without event file, a route whose local
/// route is missing or runs another function, an event file for no route.
#[test]
fn route_rule_names_what_is_missing() {
    let template = repository_file("template.yaml");
    let cargo_toml = repository_file("Cargo.toml");
    let events = event_route_keys();
    let problems = |template: &str, cargo_toml: &str, events: &[(String, String)]| {
        route_problems(template, cargo_toml, events).join("\n")
    };

    let without_jwks_event: Vec<_> = events
        .iter()
        .filter(|(name, _)| name != "jwks.json")
        .cloned()
        .collect();
    let found = problems(&template, &cargo_toml, &without_jwks_event);
    assert!(
        found.contains(
            "route GET /.well-known/jwks.json: no event file in events/ with \"routeKey\""
        ),
        "{found}"
    );

    let other_function = cargo_toml.replace(
        r#"{ method = "POST", function = "revoke" }"#,
        r#"{ method = "POST", function = "token" }"#,
    );
    assert_ne!(
        other_function, cargo_toml,
        "Cargo.toml's revoke route moved"
    );
    let found = problems(&template, &other_function, &events);
    assert!(
        found.contains("route POST /oauth/revoke: Cargo.toml [workspace.metadata.lambda.watch.router] has no { method = \"POST\", function = \"revoke\" }"),
        "{found}"
    );

    let new_route = template.replace(
        "RouteKey: POST /oauth/revoke",
        "RouteKey: POST /oauth/revoke2",
    );
    assert_ne!(new_route, template, "template.yaml's revoke route moved");
    let found = problems(&new_route, &cargo_toml, &events);
    for expected in [
        "route POST /oauth/revoke2: no event file",
        "route POST /oauth/revoke2: Cargo.toml [workspace.metadata.lambda.watch.router] has no",
        "events/revoke.json: routeKey \"POST /oauth/revoke\" is not a route of template.yaml",
        "Cargo.toml router: POST /oauth/revoke -> revoke is not a route of template.yaml",
    ] {
        assert!(
            found.contains(expected),
            "missing {expected:?} in:\n{found}"
        );
    }
}

/// A form POST's body comes base64-encoded (`isBase64Encoded`): the handler gets its bytes.
#[test]
fn base64_form_bodies_are_decoded() {
    assert!(body_text(&event(LOGIN_SUBMIT)).contains("username=alice"));
}
