//! Handler tests of login, authorize and consent on the in-memory store: one row per
//! rejection rule of the spec, each naming its source.

use auth_core::endpoints::{authorize, consent, login};
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use auth_core::model::*;
use auth_core::secret::now;
use auth_core::session;
use auth_core::store::*;
use auth_core::throttle::SignInCounters;
use http::{Method, StatusCode};

use crate::common::fixtures::{
    client, in_one_sign_in_window, registered, set, world, World, REDIRECT, SUB,
};
use crate::common::pkce::CHALLENGE;
use crate::common::requests::{location, location_params};

fn query(pairs: &[(&str, &str)]) -> String {
    form_encode(pairs)
}

fn valid_pairs() -> Vec<(&'static str, &'static str)> {
    vec![
        ("response_type", "code"),
        ("client_id", "app"),
        ("redirect_uri", REDIRECT),
        ("scope", "read"),
        ("state", "xyz"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

impl World {
    async fn authorize(&self, query: &str, signed_in: bool) -> HttpResponse {
        let mut request = HttpRequest::new(Method::GET, &format!("/oauth/authorize?{query}"));
        if signed_in {
            request = request.with_header("cookie", &self.cookie());
        }
        authorize::handle(&self.app, &request).await
    }

    async fn consent(&self, body: &str, cookie: Option<&str>) -> HttpResponse {
        let mut request = HttpRequest::new(Method::POST, "/oauth/consent").with_form(body);
        if let Some(cookie) = cookie {
            request = request.with_header("cookie", cookie);
        }
        consent::handle(&self.app, &request).await
    }

    /// alice's live consent to `app`, if one is stored.
    async fn consent_of_alice_to_app(&self) -> Option<Consent> {
        let consent = self.app.store.get_consent(SUB, "app", now()).await;
        consent.ok().flatten()
    }

    fn consent_body(&self, pairs: &[(&str, &str)], decision: &str) -> String {
        let csrf = session::csrf_token(&self.session_id);
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        all.push(("csrf_token", &csrf));
        all.push(("decision", decision));
        form_encode(&all)
    }
}

fn assert_page_headers(response: &HttpResponse) {
    let headers = response.headers();
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(csp.contains("frame-ancestors 'none'"), "CSP: {csp}");
    assert_eq!(
        headers.get("x-frame-options").map(|v| v.as_bytes()),
        Some(&b"DENY"[..])
    );
    assert_eq!(
        headers.get("cache-control").map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    assert_eq!(
        headers.get("referrer-policy").map(|v| v.as_bytes()),
        Some(&b"no-referrer"[..])
    );
}

/// RFC 6749 4.1.2.1: an error page with `status` (and the page headers), never a redirect.
fn assert_error_page(rule: &str, response: &HttpResponse, status: StatusCode) {
    assert_eq!(response.status(), status, "{rule}");
    assert!(
        response.headers().get("location").is_none(),
        "{rule}: must not redirect"
    );
    assert_page_headers(response);
}

/// A `400` error page that says `message`.
fn assert_error_page_saying(rule: &str, response: &HttpResponse, message: &str) {
    assert_error_page(rule, response, StatusCode::BAD_REQUEST);
    assert!(
        response.body().contains(message),
        "{rule}: {}",
        response.body()
    );
}

/// RFC 6749 4.1.2.1, RFC 9700 2.1: no trusted redirect URI, so an error page and never a redirect.
#[tokio::test]
async fn authorize_shows_a_page_for_bad_client_or_redirect_uri() {
    let w = world().await;
    let rows: Vec<(&str, String)> = vec![
        (
            "missing client_id (RFC 6749 4.1.2.1)",
            query(&[("redirect_uri", REDIRECT), ("scope", "read")]),
        ),
        (
            "unknown client_id (RFC 6749 4.1.2.1)",
            query(&[("client_id", "nope"), ("redirect_uri", REDIRECT)]),
        ),
        (
            "unregistered redirect_uri (RFC 9700 2.1)",
            query(&[
                ("client_id", "app"),
                ("redirect_uri", "https://evil.example/cb"),
            ]),
        ),
        (
            "redirect_uri with an extra path (RFC 9700 4.1.3)",
            query(&[
                ("client_id", "app"),
                ("redirect_uri", "https://app.example/cb/x"),
            ]),
        ),
        (
            "redirect_uri with a query added (RFC 9700 4.1.3)",
            query(&[
                ("client_id", "app"),
                ("redirect_uri", "https://app.example/cb?x=1"),
            ]),
        ),
        (
            "redirect_uri differing in case (RFC 9700 2.1)",
            query(&[
                ("client_id", "app"),
                ("redirect_uri", "https://APP.example/cb"),
            ]),
        ),
        (
            "missing redirect_uri with several registered (RFC 6749 3.1.2.3)",
            query(&[("client_id", "app"), ("scope", "read")]),
        ),
        (
            "repeated client_id (RFC 6749 3.1)",
            "client_id=app&client_id=spa&redirect_uri=https%3A%2F%2Fapp.example%2Fcb".into(),
        ),
        (
            "repeated redirect_uri (RFC 6749 3.1)",
            format!(
                "client_id=app&redirect_uri={0}&redirect_uri={0}",
                "https%3A%2F%2Fapp.example%2Fcb"
            ),
        ),
        ("invalid percent-encoding", "client_id=%ff".into()),
    ];
    for (rule, q) in rows {
        let response = w.authorize(&q, true).await;
        assert_error_page(rule, &response, StatusCode::BAD_REQUEST);
    }
}

/// A client id no registration could produce (`ids::is_client_id`) is an unknown client: the
/// page, never a redirect, decided before any storage call (DynamoDB refuses empty and
/// over-long keys). Signed in or not, at authorize and at consent.
#[tokio::test]
async fn impossible_client_ids_get_the_unknown_client_page_without_a_storage_call() {
    let w = world().await;
    let long = "c".repeat(3000);
    type Pairs<'a> = Vec<(&'a str, &'a str)>;
    fn with_client(client_id: Option<&str>) -> Pairs<'_> {
        let mut pairs = valid_pairs();
        pairs.retain(|(n, _)| *n != "client_id");
        if let Some(client_id) = client_id {
            pairs.push(("client_id", client_id));
        }
        pairs
    }
    let rows: Vec<(&str, Pairs, &str)> = vec![
        (
            "empty client_id: dropped, so missing",
            with_client(Some("")),
            "does not say which application",
        ),
        (
            "missing client_id",
            with_client(None),
            "does not say which application",
        ),
        (
            "3000-byte client_id",
            with_client(Some(&long)),
            "is not registered",
        ),
        (
            "65-character client_id",
            with_client(Some(&long[..65])),
            "is not registered",
        ),
        (
            "client_id with a space",
            with_client(Some("a b")),
            "is not registered",
        ),
        (
            "client_id outside ASCII",
            with_client(Some("caf\u{e9}")),
            "is not registered",
        ),
        (
            "client_id with a slash",
            with_client(Some("app/..")),
            "is not registered",
        ),
    ];
    let cookie = w.cookie();
    for (rule, pairs, message) in &rows {
        for signed_in in [false, true] {
            let rule = format!("authorize, {rule}, signed in: {signed_in}");
            let calls = w.app.store.calls();
            let response = w.authorize(&query(pairs), signed_in).await;
            assert_error_page_saying(&rule, &response, message);
            assert_eq!(w.app.store.calls(), calls, "{rule}: no storage call");
        }
        let rule = format!("consent, {rule}");
        let calls = w.app.store.calls();
        let response = w
            .consent(&w.consent_body(pairs, "approve"), Some(&cookie))
            .await;
        assert_error_page_saying(&rule, &response, message);
        assert_eq!(w.app.store.calls(), calls, "{rule}: no storage call");
    }
    assert_eq!(
        w.app
            .store
            .list_consents("sub-alice")
            .await
            .ok()
            .map(|c| c.len()),
        Some(0),
        "nothing was granted"
    );
}

/// RFC 6749 4.1.2.1, RFC 9207: every other error redirects with error, the exact state, and iss.
#[tokio::test]
async fn authorize_redirects_other_errors_with_state_and_iss() {
    let w = world().await;
    let with = |name: &'static str, value: &'static str| {
        let mut pairs = valid_pairs();
        pairs.retain(|(n, _)| *n != name);
        if !value.is_empty() {
            pairs.push((name, value));
        }
        query(&pairs)
    };
    let rows: Vec<(&str, String, &str)> = vec![
        (
            "response_type other than code (RFC 6749 4.1.2.1)",
            with("response_type", "token"),
            "unsupported_response_type",
        ),
        (
            "unknown scope (RFC 6749 4.1.2.1)",
            with("scope", "admin"),
            "invalid_scope",
        ),
        (
            "malformed scope (RFC 6749 3.3)",
            with("scope", "re\"ad"),
            "invalid_scope",
        ),
        (
            "missing PKCE for a confidential client (RFC 9700 2.1.1)",
            {
                query(&[
                    ("client_id", "app"),
                    ("redirect_uri", REDIRECT),
                    ("state", "xyz"),
                ])
            },
            "invalid_request",
        ),
        (
            "missing PKCE for a public client (RFC 9700 2.1.1)",
            {
                query(&[
                    ("client_id", "spa"),
                    ("redirect_uri", REDIRECT),
                    ("state", "xyz"),
                ])
            },
            "invalid_request",
        ),
        (
            "plain not allowed (RFC 7636 4.4.1)",
            with("code_challenge_method", "plain"),
            "invalid_request",
        ),
        (
            "method defaults to plain (RFC 7636 4.3)",
            with("code_challenge_method", ""),
            "invalid_request",
        ),
        (
            "unknown method (RFC 7636 4.4.1)",
            with("code_challenge_method", "S512"),
            "invalid_request",
        ),
        (
            "challenge too short (RFC 7636 4.2)",
            with("code_challenge", "abc"),
            "invalid_request",
        ),
        (
            "challenge with bad characters (RFC 7636 4.2)",
            with(
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            ),
            "invalid_request",
        ),
        (
            "method without challenge (RFC 7636 4.3)",
            with("code_challenge", ""),
            "invalid_request",
        ),
        (
            "repeated scope (RFC 6749 3.1)",
            format!("{}&scope=write", query(&valid_pairs())),
            "invalid_request",
        ),
        (
            "repeated state (RFC 6749 3.1)",
            format!("{}&state=other", query(&valid_pairs())),
            "invalid_request",
        ),
    ];
    for (rule, q, error) in rows {
        let response = w.authorize(&q, true).await;
        assert_eq!(response.status(), StatusCode::FOUND, "{rule}");
        assert!(
            location(&response).starts_with(REDIRECT),
            "{rule}: {}",
            location(&response)
        );
        let params = location_params(&response);
        assert_eq!(params.get("error"), Some(error), "{rule}");
        assert_eq!(params.get("state"), Some("xyz"), "{rule}");
        assert_eq!(
            params.get("iss"),
            Some("https://auth.example.test"),
            "{rule}"
        );
        assert!(params.get("error_description").is_some(), "{rule}");
    }
    // A client without default scopes and no scope requested.
    let no_defaults = ClientRegistration {
        default_scopes: ScopeSet::new(),
        ..client(
            "nodefault",
            ClientKind::Confidential,
            &[GrantType::AuthorizationCode],
        )
    };
    let _ = w.app.store.create_client(&registered(no_defaults)).await;
    let q = query(&[
        ("client_id", "nodefault"),
        ("redirect_uri", REDIRECT),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    assert_eq!(
        location_params(&w.authorize(&q, true).await).get("error"),
        Some("invalid_scope")
    );
}

#[tokio::test]
async fn authorize_accepts_what_the_client_is_configured_for() {
    let w = world().await;
    // PKCE optional, plain allowed: explicitly configured client.
    for q in [
        query(&[("client_id", "legacy"), ("redirect_uri", REDIRECT)]),
        query(&[
            ("client_id", "legacy"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "plain"),
        ]),
        // No redirect_uri: the only registered one is used.
        query(&[
            ("client_id", "single"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]),
        // No scope: the client's default scopes.
        query(&[
            ("client_id", "app"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]),
        // Unknown parameters are ignored (RFC 6749 3.1).
        format!("{}&foo=bar", query(&valid_pairs())),
    ] {
        let response = w.authorize(&q, true).await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{q}: {}",
            location(&response)
        );
    }
}

#[tokio::test]
async fn authorize_without_a_session_goes_to_login_with_a_relative_return() {
    let w = world().await;
    let q = query(&valid_pairs());
    let response = w.authorize(&q, false).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let target = location(&response);
    assert!(
        target.starts_with("https://auth.example.test/login?return_to="),
        "{target}"
    );
    let params = location_params(&response);
    assert_eq!(
        params.get("return_to"),
        Some(format!("/oauth/authorize?{q}").as_str())
    );
    // An expired or unknown session is no session.
    let request = HttpRequest::new(Method::GET, &format!("/oauth/authorize?{q}")).with_header(
        "cookie",
        &format!(
            "{}=sub-alice.{}",
            session::cookie_name(&w.app.config),
            "x".repeat(43)
        ),
    );
    assert_eq!(
        authorize::handle(&w.app, &request).await.status(),
        StatusCode::FOUND
    );
}

#[tokio::test]
async fn consent_page_lists_the_scopes_and_carries_a_csrf_token() {
    let w = world().await;
    let mut pairs = valid_pairs();
    pairs.retain(|(n, _)| *n != "scope");
    pairs.push(("scope", "read write"));
    let response = w.authorize(&query(&pairs), true).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_page_headers(&response);
    let body = response.body();
    assert!(body.contains("App app"), "client name shown");
    assert!(body.contains("Read your data") && body.contains("Change your data"));
    assert!(body.contains(&session::csrf_token(&w.session_id)));
    assert!(body.contains(r#"action="/oauth/consent""#));
}

#[tokio::test]
async fn consent_approve_stores_the_grant_and_redirects_with_a_code() {
    let w = world().await;
    let response = w
        .consent(
            &w.consent_body(&valid_pairs(), "approve"),
            Some(&w.cookie()),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "RFC 9700 4.12: 303 after POST"
    );
    let params = location_params(&response);
    assert!(params.get("code").is_some_and(|c| c.len() == 43));
    assert_eq!(params.get("state"), Some("xyz"));
    assert_eq!(params.get("iss"), Some("https://auth.example.test"));
    let consent = w.consent_of_alice_to_app().await;
    assert_eq!(consent.map(|c| c.scopes), Some(set(&["read"])));

    // Remembered consent: a code at once, with a 302.
    let response = w.authorize(&query(&valid_pairs()), true).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location_params(&response).get("code").is_some());

    // A new scope asks again, and the earlier grant is shown as already allowed.
    let mut pairs = valid_pairs();
    pairs.retain(|(n, _)| *n != "scope");
    pairs.push(("scope", "read write"));
    let response = w.authorize(&query(&pairs), true).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().contains("already allowed"));

    // Approving it merges the grants.
    let response = w
        .consent(&w.consent_body(&pairs, "approve"), Some(&w.cookie()))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let consent = w.consent_of_alice_to_app().await;
    assert_eq!(consent.map(|c| c.scopes), Some(set(&["read", "write"])));
}

#[tokio::test]
async fn consent_deny_redirects_with_access_denied_and_stores_nothing() {
    let w = world().await;
    let response = w
        .consent(&w.consent_body(&valid_pairs(), "deny"), Some(&w.cookie()))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = location_params(&response);
    assert_eq!(params.get("error"), Some("access_denied"));
    assert_eq!(params.get("state"), Some("xyz"));
    assert_eq!(params.get("iss"), Some("https://auth.example.test"));
    assert!(params.get("code").is_none());
    assert_eq!(w.consent_of_alice_to_app().await, None);
}

/// RFC 6749 10.12: the consent POST needs the session and its CSRF token; hidden fields are re-validated.
#[tokio::test]
async fn consent_rejections_change_nothing() {
    let w = world().await;
    let good = w.consent_body(&valid_pairs(), "approve");
    let without_csrf =
        form_encode(&[valid_pairs().as_slice(), &[("decision", "approve")]].concat());
    let wrong_csrf = form_encode(
        &[
            valid_pairs().as_slice(),
            &[("decision", "approve"), ("csrf_token", "forged")],
        ]
        .concat(),
    );
    let other_session = format!(
        "{}=sub-alice.{}",
        session::cookie_name(&w.app.config),
        "t".repeat(43)
    );
    let mut tampered_redirect = valid_pairs();
    tampered_redirect.retain(|(n, _)| *n != "redirect_uri");
    tampered_redirect.push(("redirect_uri", "https://evil.example/cb"));
    let mut tampered_scope = valid_pairs();
    tampered_scope.retain(|(n, _)| *n != "scope");
    tampered_scope.push(("scope", "admin"));
    let mut tampered_client = valid_pairs();
    tampered_client.retain(|(n, _)| *n != "client_id");
    tampered_client.push(("client_id", "nope"));
    let cookie = w.cookie();

    let rows: Vec<(&str, String, Option<&str>, StatusCode)> = vec![
        (
            "no session (RFC 6749 10.12)",
            good.clone(),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            "unknown session",
            good.clone(),
            Some(&other_session),
            StatusCode::FORBIDDEN,
        ),
        (
            "missing CSRF token (RFC 6749 10.12)",
            without_csrf,
            Some(&cookie),
            StatusCode::FORBIDDEN,
        ),
        (
            "wrong CSRF token (RFC 6749 10.12)",
            wrong_csrf,
            Some(&cookie),
            StatusCode::FORBIDDEN,
        ),
        (
            "tampered redirect_uri: page, not redirect (RFC 6749 4.1.2.1)",
            w.consent_body(&tampered_redirect, "approve"),
            Some(&cookie),
            StatusCode::BAD_REQUEST,
        ),
        (
            "tampered client_id: page (RFC 6749 4.1.2.1)",
            w.consent_body(&tampered_client, "approve"),
            Some(&cookie),
            StatusCode::BAD_REQUEST,
        ),
        (
            "missing decision",
            form_encode(
                &[
                    valid_pairs().as_slice(),
                    &[("csrf_token", &session::csrf_token(&w.session_id))],
                ]
                .concat(),
            ),
            Some(&cookie),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown decision",
            w.consent_body(&valid_pairs(), "maybe"),
            Some(&cookie),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (rule, body, cookie, status) in rows {
        let response = w.consent(&body, cookie).await;
        assert_error_page(rule, &response, status);
    }
    // Tampered scope: the redirect URI is valid, so the error goes back with a 303.
    let response = w
        .consent(&w.consent_body(&tampered_scope, "approve"), Some(&cookie))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location_params(&response).get("error"),
        Some("invalid_scope")
    );
    // Wrong content type.
    let request = HttpRequest::new(Method::POST, "/oauth/consent")
        .with_header("cookie", &cookie)
        .with_header("content-type", "application/json");
    assert_eq!(
        consent::handle(&w.app, &request).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        w.consent_of_alice_to_app().await,
        None,
        "nothing was granted"
    );
}

async fn login_post(w: &World, username: &str, password: &str, return_to: &str) -> HttpResponse {
    let body = form_encode(&[
        ("username", username),
        ("password", password),
        ("return_to", return_to),
        ("csrf_token", &"c".repeat(43)),
    ]);
    let request = HttpRequest::new(Method::POST, "/login")
        .with_form(&body)
        .with_header(
            "cookie",
            &format!(
                "{}={}",
                session::login_csrf_cookie_name(&w.app.config),
                "c".repeat(43)
            ),
        );
    login::handle(&w.app, &request).await
}

#[tokio::test]
async fn login_sets_a_session_cookie_and_returns_to_a_local_path() {
    let w = world().await;
    let response = login_post(
        &w,
        "alice",
        "correct horse",
        "/oauth/authorize?client_id=app",
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "https://auth.example.test/oauth/authorize?client_id=app"
    );
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-session="))
        .unwrap_or_default()
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Secure"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
}

#[tokio::test]
async fn login_returns_to_a_long_request_whose_query_has_a_backslash() {
    let w = world().await;
    let return_to = format!(
        "/oauth/authorize?client_id=app&state={}&utm=a\\b",
        "s".repeat(20_000)
    );
    let response = login_post(&w, "alice", "correct horse", &return_to).await;
    assert_eq!(
        location(&response),
        format!("https://auth.example.test{return_to}")
    );
}

/// RFC 9700 4.11: no open redirector after login.
#[tokio::test]
async fn login_never_redirects_elsewhere() {
    let w = world().await;
    for return_to in [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "evil.example",
        "/ok\r\nx",
    ] {
        let response = login_post(&w, "alice", "correct horse", return_to).await;
        assert_eq!(
            location(&response),
            "https://auth.example.test/login",
            "{return_to:?}"
        );
    }
}

/// Issue 12.1: five attempts lock the account for their source network only, so that
/// wrong passwords sent from elsewhere cannot keep the owner out.
#[tokio::test]
async fn login_failures_are_generic_and_lock_the_account_for_that_source() {
    in_one_sign_in_window(60).await;
    let w = world().await;
    let unknown = login_post(&w, "mallory", "whatever1", "").await;
    let wrong = login_post(&w, "alice", "wrong password", "").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(
        unknown.body().contains("Incorrect username or password.")
            && wrong.body().contains("Incorrect username or password.")
    );
    for _ in 0..4 {
        let _ = login_post(&w, "alice", "wrong password", "").await;
    }
    // Locked for this source: even the right password is refused for a while (RFC 6819
    // 5.1.4.1.3), without checking it.
    let locked = login_post(&w, "alice", "correct horse", "").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.body().contains("Too many sign-in attempts"));
    // RFC 6585 4: when to try again, at most the end of the 15-minute window.
    let retry_after = locked
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    assert!(
        retry_after.is_some_and(|s| (1..=15 * 60).contains(&s)),
        "{retry_after:?}"
    );
    assert_page_headers(&locked);
}

/// A username no account can have (`ids::is_username`: 1 to 64 characters of A-Z a-z 0-9 . _
/// @ -) gets the answer of a wrong password, without a lookup (DynamoDB refuses empty and
/// over-long keys) and without counting a failure against any account.
#[tokio::test]
async fn impossible_usernames_are_a_wrong_password_without_a_storage_call() {
    in_one_sign_in_window(60).await;
    let w = world().await;
    let wrong = login_post(&w, "alice", "wrong password", "").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let long = "u".repeat(3000);
    for username in [
        "al ice",
        "alice:x",
        "\u{e9}mile",
        "a\0",
        "a/b",
        &long[..65],
        &long[..129],
        long.as_str(),
    ] {
        let calls = w.app.store.calls();
        let response = login_post(&w, username, "correct horse", "").await;
        assert_eq!(response.status(), wrong.status(), "{username:?}");
        assert!(
            response.body().contains("Incorrect username or password."),
            "{username:?}: the wrong password's message"
        );
        assert_page_headers(&response);
        assert_eq!(w.app.store.calls(), calls, "{username:?}: no storage call");
    }
    assert_eq!(
        w.app
            .store
            .attempts(&SignInCounters::new("alice", None, now()).account)
            .await
            .ok(),
        Some(1),
        "only the wrong password counted"
    );
}

#[tokio::test]
async fn login_needs_its_csrf_cookie() {
    let w = world().await;
    let body = form_encode(&[
        ("username", "alice"),
        ("password", "correct horse"),
        ("csrf_token", &"c".repeat(43)),
    ]);
    let request = HttpRequest::new(Method::POST, "/login").with_form(&body);
    let response = login::handle(&w.app, &request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap_or("").contains("session=")));
}

#[tokio::test]
async fn login_form_is_a_protected_page() {
    let w = world().await;
    let response = login::handle(
        &w.app,
        &HttpRequest::new(Method::GET, "/login?return_to=%2Foauth%2Fauthorize"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_page_headers(&response);
    assert!(response
        .body()
        .contains(r#"name="return_to" value="/oauth/authorize""#));
}
// --- issue 12.2, 12.3, 12.8: who may still get a code ------------------------------------

fn alice() -> User {
    User {
        username: "alice".into(),
        sub: "sub-alice".into(),
        password_hash: String::new(),
    }
}

/// RFC 8252 8.6, RFC 9700 4.2: another app on the device can claim a loopback port or a
/// private-use scheme, so remembered consent never gives a public client whose redirect URI
/// is not HTTPS a code without the user acting; HTTPS redirect URIs and confidential
/// clients keep the silent path.
#[tokio::test]
async fn remembered_consent_is_silent_only_for_https_or_confidential_clients() {
    let w = world().await;
    let native = ClientRegistration {
        redirect_uris: vec![
            "http://127.0.0.1:8765/cb".into(),
            "com.example.app:/cb".into(),
        ],
        ..client(
            "native",
            ClientKind::Public,
            &[GrantType::AuthorizationCode],
        )
    };
    assert!(w.app.store.create_client(&registered(native)).await.is_ok());
    for (client_id, redirect_uri, silent) in [
        ("native", "http://127.0.0.1:8765/cb", false),
        ("native", "com.example.app:/cb", false),
        ("spa", REDIRECT, true),
        ("app", REDIRECT, true),
    ] {
        let consent = Consent {
            sub: "sub-alice".into(),
            client_id: client_id.into(),
            scopes: set(&["read"]),
            expires_at: now() + 600,
        };
        assert!(w.app.store.put_consent(&consent).await.is_ok());
        let mut pairs = valid_pairs();
        pairs.retain(|(n, _)| !matches!(*n, "client_id" | "redirect_uri"));
        pairs.extend([("client_id", client_id), ("redirect_uri", redirect_uri)]);
        let response = w.authorize(&query(&pairs), true).await;
        if silent {
            assert_eq!(response.status(), StatusCode::FOUND, "{redirect_uri}");
            assert!(location_params(&response).get("code").is_some());
        } else {
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "{redirect_uri}: asked again"
            );
            assert_page_headers(&response);
            assert!(
                response.body().contains("already allowed"),
                "{redirect_uri}: the earlier grant is shown as such"
            );
            let approved = w
                .consent(&w.consent_body(&pairs, "approve"), Some(&w.cookie()))
                .await;
            assert_eq!(approved.status(), StatusCode::SEE_OTHER);
            assert!(location_params(&approved).get("code").is_some());
        }
    }
}

/// The cookie's session is sent to sign in by authorize, and its consent form grants nothing.
async fn assert_the_session_no_longer_counts(w: &World) {
    let response = w.authorize(&query(&valid_pairs()), true).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).contains("/login?return_to="));
    assert!(location_params(&response).get("code").is_none());
    let response = w
        .consent(
            &w.consent_body(&valid_pairs(), "approve"),
            Some(&w.cookie()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

/// Issue 12.8: the operator ends a user's sessions; the next authorization asks them to
/// sign in, the consent form of the old session grants nothing, and a new sign-in counts.
#[tokio::test]
async fn ended_sessions_sign_in_again_and_grant_nothing() {
    let w = world().await;
    assert!(auth_core::account::end_sessions(&w.app.store, &alice().sub)
        .await
        .is_ok());
    assert_the_session_no_longer_counts(&w).await;
    let stored = w.app.store.get_consent("sub-alice", "app", now()).await;
    assert!(matches!(stored, Ok(None)), "nothing granted: {stored:?}");
    // Signing in again starts a session that counts.
    let response = login_post(&w, "alice", "correct horse", "/oauth/authorize?x=1").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(session::cookie_name(&w.app.config)))
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_string();
    let request = HttpRequest::new(
        Method::GET,
        &format!("/oauth/authorize?{}", query(&valid_pairs())),
    )
    .with_header("cookie", &cookie);
    let response = authorize::handle(&w.app, &request).await;
    assert_eq!(response.status(), StatusCode::OK, "the consent page");
}

/// Issue 12.2: a deleted user's session gets no code and no consent page, even with a
/// remembered consent, and the consent is gone.
#[tokio::test]
async fn a_deleted_users_session_gets_nothing() {
    let w = world().await;
    let consent = Consent {
        sub: "sub-alice".into(),
        client_id: "app".into(),
        scopes: set(&["read"]),
        expires_at: now() + 600,
    };
    assert!(w.app.store.put_consent(&consent).await.is_ok());
    let silent = w.authorize(&query(&valid_pairs()), true).await;
    assert_eq!(silent.status(), StatusCode::FOUND);
    assert!(location_params(&silent).get("code").is_some(), "before");

    let Ok(user) = w.app.store.get_user("alice").await else {
        panic!("reading the user")
    };
    let Some(user) = user else { panic!("no user") };
    let removal = auth_core::account::delete_user(&w.app.store, &user).await;
    assert!(
        matches!(&removal, Ok(r) if r.consents_removed == 1),
        "{removal:?}"
    );

    assert_the_session_no_longer_counts(&w).await;
    let response = login_post(&w, "alice", "correct horse", "/oauth/authorize?x=1").await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "the user is gone"
    );
}
