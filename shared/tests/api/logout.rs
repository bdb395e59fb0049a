//! Sign-out (OpenID Connect RP-Initiated Logout 1.0, issue 13.6): `endpoints::logout` on the
//! in-memory store. A trusted request (a valid ID token hint naming the browser's session or
//! user) signs out at once; any other asks first; a hint of another client or issuer, or an
//! unregistered `post_logout_redirect_uri`, is an error page that changes nothing and sends
//! the browser nowhere. The hints are minted as the token endpoint will sign ID tokens
//! (RS256, `typ: JWT`, `kid`, the published key).

use auth_core::endpoints::{logout, metadata};
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use auth_core::model::*;
use auth_core::secret::{now, SessionId};
use auth_core::session;
use http::{Method, StatusCode};
use serde::Serialize;

use crate::common::fixtures::{client, shared_key, world, World, SUB, USERNAME};
use crate::common::jwt;
use crate::common::requests::{assert_status, header, location};

/// The relying party of these tests and the address it registered for after sign-out.
const RP: &str = "rp";
const SIGNED_OUT: &str = "https://rp.example/signed-out";
const STATE: &str = "st/ate+1 ?&=ü";

/// The ID token's claims as the token endpoint writes them (issue 13.3).
#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    sid: &'a str,
    at_hash: &'a str,
}

/// An ID token signed with the published key (`typ`: JWT, or what `typ` says).
fn sign_with(typ: &str, claims: &IdTokenClaims<'_>) -> String {
    jwt::signed(shared_key(), typ, claims)
}

/// A token of this `typ` by `iss` naming `sub` and the session `sid`, issued to `rp` now and
/// live for five minutes, with no nonce.
fn live_token(typ: &str, iss: &str, sub: &str, sid: &str) -> String {
    sign_with(
        typ,
        &IdTokenClaims {
            iss,
            sub,
            aud: RP,
            exp: now() + 300,
            iat: now(),
            auth_time: now(),
            nonce: None,
            sid,
            at_hash: "x",
        },
    )
}

/// A hint of this world's session, issued to `aud`, expiring at `exp`.
fn hint_for(w: &World, aud: &str, exp: i64) -> String {
    let sid = session::sid(&w.session_id);
    let issuer = w.app.config.issuer.clone();
    sign_with(
        "JWT",
        &IdTokenClaims {
            iss: &issuer,
            sub: SUB,
            aud,
            exp,
            iat: exp - 300,
            auth_time: exp - 300,
            nonce: Some("n-0S6_WzA2Mj"),
            sid: &sid,
            at_hash: "77QmUPtjPfzWtF2AnpK9RQ",
        },
    )
}

/// `world()` with the relying party `rp`, which registered `SIGNED_OUT`.
async fn rp_world() -> World {
    use GrantType::AuthorizationCode;
    world()
        .await
        .with_clients([ClientRegistration {
            name: "Relying Party".into(),
            post_logout_redirect_uris: vec![SIGNED_OUT.into()],
            web_origins: Vec::new(),
            ..client(RP, ClientKind::Confidential, &[AuthorizationCode])
        }])
        .await
}

impl World {
    async fn logout_get(&self, pairs: &[(&str, &str)], signed_in: bool) -> HttpResponse {
        let mut request = HttpRequest::new(
            Method::GET,
            &format!("/oauth/logout?{}", form_encode(pairs)),
        );
        if signed_in {
            request = request.with_header("cookie", &self.cookie());
        }
        logout::handle(&self.app, &request).await
    }

    async fn logout_post(&self, pairs: &[(&str, &str)]) -> HttpResponse {
        let request = HttpRequest::new(Method::POST, "/oauth/logout")
            .with_header("cookie", &self.cookie())
            .with_form(&form_encode(pairs));
        logout::handle(&self.app, &request).await
    }

    async fn session_counts(&self) -> bool {
        self.session_live(&self.session_id.hash()).await
    }
}

/// The session cookie expired (`Max-Age=0`) in the response.
fn expires_the_cookie(response: &HttpResponse) -> bool {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("__Host-session=;") && c.contains("Max-Age=0"))
}

fn assert_page(response: &HttpResponse, status: StatusCode, says: &str) {
    assert_eq!(response.status(), status, "{}", response.body());
    assert!(response.headers().get("location").is_none(), "no redirect");
    assert_eq!(header(response, "x-frame-options"), Some("DENY"));
    assert!(response.body().contains(says), "{}", response.body());
}

/// `state` goes back exactly, percent-encoded in the query.
fn signed_out_location() -> String {
    format!("{SIGNED_OUT}?{}", form_encode(&[("state", STATE)]))
}

/// oidcc-rp-initiated-logout: a valid hint naming the session signs out without a question,
/// and the browser returns to the registered address with `state` (302 after a GET, 303
/// after a POST).
#[tokio::test]
async fn a_trusted_hint_signs_out_and_redirects_with_state() {
    for post in [false, true] {
        let w = rp_world().await;
        let hint = hint_for(&w, RP, now() + 300);
        let pairs = [
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", STATE),
            ("ui_locales", "fr-CA en"),
        ];
        let response = if post {
            w.logout_post(&pairs).await
        } else {
            w.logout_get(&pairs, true).await
        };
        let status = if post {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::FOUND
        };
        assert_eq!(response.status(), status, "{}", response.body());
        assert_eq!(location(&response), signed_out_location());
        assert!(expires_the_cookie(&response));
        assert!(!w.session_counts().await, "the session item is deleted");
    }
}

/// The hint names the user (`sub`) of another session of theirs: trusted too. With
/// `client_id` and the hint naming the same client; and without any redirect address, the
/// signed-out page.
#[tokio::test]
async fn a_hint_naming_the_user_is_trusted_and_without_an_address_shows_the_signed_out_page() {
    let w = rp_world().await;
    let issuer = w.app.config.issuer.clone();
    let hint = live_token("JWT", &issuer, SUB, "a-session-on-another-device");
    let response = w
        .logout_get(&[("id_token_hint", hint.as_str()), ("client_id", RP)], true)
        .await;
    assert_page(&response, StatusCode::OK, "You are signed out");
    assert!(expires_the_cookie(&response));
    assert!(!w.session_counts().await);
}

/// RP-Initiated Logout 1.0 section 2: an expired ID token is still a hint.
#[tokio::test]
async fn an_expired_hint_is_accepted() {
    let w = rp_world().await;
    let hint = hint_for(&w, RP, now() - 86_400);
    let response = w
        .logout_get(
            &[
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", SIGNED_OUT),
                ("state", STATE),
            ],
            true,
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND, "{}", response.body());
    assert_eq!(location(&response), signed_out_location());
    assert!(!w.session_counts().await);
}

/// Without a hint, or with one of another user and session, the user is asked (nothing
/// happens yet); the page's form carries the request and the session's CSRF token, and
/// posting it signs out and returns to the app.
#[tokio::test]
async fn an_absent_or_untrusted_hint_asks_first_and_the_confirmation_signs_out() {
    let w = rp_world().await;
    let issuer = w.app.config.issuer.clone();
    let someone_else = live_token("JWT", &issuer, "sub-bob", "bobs-session");
    for hint in [None, Some(someone_else.as_str())] {
        let mut pairs = vec![
            ("client_id", RP),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", STATE),
        ];
        if let Some(hint) = hint {
            pairs.push(("id_token_hint", hint));
        }
        let response = w.logout_get(&pairs, true).await;
        assert_page(&response, StatusCode::OK, "Sign out of Auth API?");
        assert!(response
            .body()
            .contains("Relying Party asks to sign you out"));
        assert!(response.body().contains(USERNAME));
        assert!(!expires_the_cookie(&response));
        assert!(
            w.session_counts().await,
            "nothing happens before the user says so"
        );
    }
    let csrf = session::csrf_token(&w.session_id);
    let response = w
        .logout_post(&[
            ("client_id", RP),
            ("post_logout_redirect_uri", SIGNED_OUT),
            ("state", STATE),
            ("csrf_token", csrf.as_str()),
        ])
        .await;
    assert_status("confirmed", &response, StatusCode::SEE_OTHER);
    assert_eq!(location(&response), signed_out_location());
    assert!(expires_the_cookie(&response));
    assert!(!w.session_counts().await);
}

/// The confirmation without the session's CSRF token changes nothing: asked again when it
/// is missing (an app may POST the request itself), refused when it is wrong.
#[tokio::test]
async fn a_missing_or_wrong_csrf_token_ends_nothing() {
    let w = rp_world().await;
    let response = w.logout_post(&[("client_id", RP)]).await;
    assert_page(&response, StatusCode::OK, "Sign out of Auth API?");
    let other = session::csrf_token(&SessionId::new("t".repeat(43)));
    let response = w
        .logout_post(&[("client_id", RP), ("csrf_token", other.as_str())])
        .await;
    assert_page(&response, StatusCode::FORBIDDEN, "This form has expired");
    assert!(!expires_the_cookie(&response));
    assert!(w.session_counts().await);
    // A token in the query string is no confirmation.
    let csrf = session::csrf_token(&w.session_id);
    let response = w.logout_get(&[("csrf_token", csrf.as_str())], true).await;
    assert_page(&response, StatusCode::OK, "Sign out of Auth API?");
    assert!(w.session_counts().await);
}

/// oidcc-rp-initiated-logout-bad-post-logout-redirect-uri: an address the client did not
/// register exactly is never redirected to, trusted hint or not: an error page, and the
/// session stays.
#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_is_never_redirected_to() {
    let w = rp_world().await;
    let hint = hint_for(&w, RP, now() + 300);
    for (rule, pairs) in [
        (
            "another address",
            vec![
                ("id_token_hint", hint.as_str()),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
        ),
        (
            "a longer path",
            vec![
                ("id_token_hint", hint.as_str()),
                (
                    "post_logout_redirect_uri",
                    "https://rp.example/signed-out/x",
                ),
            ],
        ),
        (
            "the client's redirect URI, not its sign-out address",
            vec![
                ("client_id", RP),
                ("post_logout_redirect_uri", "https://app.example/cb"),
            ],
        ),
        (
            "another client's sign-out address",
            vec![
                ("client_id", "app"),
                ("post_logout_redirect_uri", SIGNED_OUT),
            ],
        ),
        (
            "no client to check it against",
            vec![("post_logout_redirect_uri", SIGNED_OUT)],
        ),
    ] {
        let response = w.logout_get(&pairs, true).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{rule}");
        assert_page(&response, StatusCode::BAD_REQUEST, "is not registered");
        assert!(!expires_the_cookie(&response), "{rule}");
        assert!(w.session_counts().await, "{rule}");
    }
}

/// A hint issued to another client than `client_id`, by another issuer, signed by an
/// unknown key, tampered with, or an access token: refused with a page; nothing happens.
#[tokio::test]
async fn a_hint_for_another_client_or_issuer_is_refused() {
    let w = rp_world().await;
    let for_app = hint_for(&w, "app", now() + 300);
    let sid = session::sid(&w.session_id);
    let other_issuer = live_token("JWT", "https://evil.example", SUB, &sid);
    let issuer = w.app.config.issuer.clone();
    let access_token_typed = live_token("at+jwt", &issuer, SUB, &sid);
    let mut tampered: Vec<String> = hint_for(&w, RP, now() + 300)
        .split('.')
        .map(str::to_string)
        .collect();
    tampered[1] = for_app.split('.').nth(1).unwrap_or_default().to_string();
    let tampered = tampered.join(".");
    for (rule, pairs) in [
        (
            "issued to app, client_id rp",
            vec![("id_token_hint", for_app.as_str()), ("client_id", RP)],
        ),
        (
            "another issuer",
            vec![("id_token_hint", other_issuer.as_str())],
        ),
        (
            "an access token's typ",
            vec![("id_token_hint", access_token_typed.as_str())],
        ),
        ("tampered", vec![("id_token_hint", tampered.as_str())]),
        ("not a JWT", vec![("id_token_hint", "abc.def.ghi")]),
    ] {
        let response = w.logout_get(&pairs, true).await;
        assert_page(
            &response,
            StatusCode::BAD_REQUEST,
            "Invalid sign-out request",
        );
        assert!(!expires_the_cookie(&response), "{rule}");
        assert!(w.session_counts().await, "{rule}");
    }
}

/// Unknown or impossible clients, and repeated parameters, are error pages.
#[tokio::test]
async fn unknown_clients_and_repeated_parameters_are_error_pages() {
    let w = rp_world().await;
    let response = w.logout_get(&[("client_id", "nobody")], true).await;
    assert_page(&response, StatusCode::BAD_REQUEST, "Unknown application");
    let response = w.logout_get(&[("client_id", "a b")], true).await;
    assert_page(&response, StatusCode::BAD_REQUEST, "Unknown application");
    let response = w.logout_get(&[("state", "1"), ("state", "2")], true).await;
    assert_page(
        &response,
        StatusCode::BAD_REQUEST,
        "A parameter is repeated",
    );
    assert!(w.session_counts().await);
}

/// Signed out already (no cookie, or a session that no longer counts): nothing to ask; the
/// registered address is followed, or the signed-out page is shown.
#[tokio::test]
async fn without_a_session_there_is_nothing_to_ask() {
    let w = rp_world().await;
    let response = w
        .logout_get(
            &[
                ("client_id", RP),
                ("post_logout_redirect_uri", SIGNED_OUT),
                ("state", STATE),
            ],
            false,
        )
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), signed_out_location());
    let response = w.logout_get(&[], false).await;
    assert_page(&response, StatusCode::OK, "You are signed out");
}

/// Only this browser's session ends: another session of the same user still counts.
#[tokio::test]
async fn sign_out_ends_only_this_browsers_session() {
    let w = rp_world().await;
    let other = w.other_session('o', auth_core::secret::now_ms()).await;
    let hint = hint_for(&w, RP, now() + 300);
    let response = w
        .logout_get(&[("id_token_hint", hint.as_str())], true)
        .await;
    assert_page(&response, StatusCode::OK, "You are signed out");
    assert!(!w.session_counts().await);
    assert!(w.session_live(&other.hash()).await);
}

/// Discovery names the endpoint (OpenID Connect RP-Initiated Logout 1.0 section 2.1).
#[tokio::test]
async fn discovery_names_the_end_session_endpoint() {
    let w = world().await;
    let response = metadata::handle(
        &w.app,
        &HttpRequest::new(Method::GET, "/.well-known/openid-configuration"),
    )
    .await;
    let document: serde_json::Value = serde_json::from_str(response.body()).unwrap_or_default();
    assert_eq!(
        document["end_session_endpoint"],
        format!("{}/oauth/logout", w.app.config.issuer)
    );
}

/// The pages a signed-in person sees carry a plain "Sign out" link to the endpoint.
#[tokio::test]
async fn the_pages_link_to_sign_out() {
    let w = world().await;
    for path in ["/login", "/login?return_to=/account"] {
        let mut request = HttpRequest::new(Method::GET, path);
        request = request.with_header("cookie", &w.cookie());
        let response = auth_core::endpoints::login::handle(&w.app, &request).await;
        assert!(
            response
                .body()
                .contains(r#"<a href="/oauth/logout">Sign out</a>"#),
            "{path}: {}",
            response.body()
        );
    }
}
