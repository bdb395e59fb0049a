//! The account page (issue 13.7): `endpoints::account` on the in-memory store. The user sees
//! who is signed in and the apps they allowed; withdrawing one removes the consent and ends
//! its grant (introspection of its access token then says inactive); "Sign out" ends this
//! session, "Sign out everywhere" every one. Every POST needs the session's CSRF token and is
//! answered with a 303; without a session, the browser is sent to sign in and come back.

use auth_core::endpoints::{account, introspect, token};
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use auth_core::model::*;
use auth_core::profile::Claim;
use auth_core::secret::{now, now_ms, SessionId};
use auth_core::session;
use auth_core::store::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::{Method, StatusCode};
use serde_json::Value;

use crate::common::fixtures::{
    code_grant, profile_of, secret_of, set, stored, world, World, REDIRECT, SUB, USERNAME,
};
use crate::common::pkce::VERIFIER;
use crate::common::requests::{assert_status, header, location};

impl World {
    async fn account_get(&self, signed_in: bool) -> HttpResponse {
        let mut request = HttpRequest::new(Method::GET, "/account");
        if signed_in {
            request = request.with_header("cookie", &self.cookie());
        }
        account::handle(&self.app, &request).await
    }

    async fn account_post(&self, pairs: &[(&str, &str)]) -> HttpResponse {
        let request = HttpRequest::new(Method::POST, "/account")
            .with_header("cookie", &self.cookie())
            .with_form(&form_encode(pairs));
        account::handle(&self.app, &request).await
    }

    fn csrf(&self) -> String {
        session::csrf_token(&self.session_id)
    }

    /// alice allowed `client_id` these scopes (until an hour from now).
    async fn allowed(&self, client_id: &str, scopes: &[&str]) {
        let consent = Consent {
            sub: SUB.into(),
            client_id: client_id.into(),
            scopes: set(scopes),
            expires_at: now() + self.app.config.consent_ttl_seconds,
        };
        stored("consent", self.app.store.put_consent(&consent).await);
    }

    /// An access token of alice for `client_id` (a code redeemed at the token endpoint).
    async fn access_token(&self, client_id: &str, code: &str) -> String {
        self.add_code(code_grant(code, client_id, SUB, set(&["read"])))
            .await;
        let credentials = STANDARD.encode(format!(
            "{client_id}:{}",
            secret_of(client_id).unwrap_or("secret")
        ));
        let request = HttpRequest::new(Method::POST, "/oauth/token")
            .with_header("authorization", &format!("Basic {credentials}"))
            .with_form(&form_encode(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ]));
        let response = token::handle(&self.app, &request).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
        let body: Value = serde_json::from_str(response.body()).unwrap_or_default();
        body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Whether introspection (as the resource server `api`) calls the token active.
    async fn active(&self, access_token: &str) -> bool {
        let credentials = STANDARD.encode("api:api-secret");
        let request = HttpRequest::new(Method::POST, "/oauth/introspect")
            .with_header("authorization", &format!("Basic {credentials}"))
            .with_form(&form_encode(&[("token", access_token)]));
        let body: Value =
            serde_json::from_str(introspect::handle(&self.app, &request).await.body())
                .unwrap_or_default();
        body["active"] == Value::Bool(true)
    }

    async fn consent_of(&self, client_id: &str) -> Option<Consent> {
        stored(
            "consent",
            self.app.store.get_consent(SUB, client_id, now()).await,
        )
    }

    async fn session_still_counts(&self) -> bool {
        self.session_in_context(&self.session_id.hash()).await == Some(true)
    }

    /// Whether alice's session of this id hash counts (the rule of `authorization_context`,
    /// which reads the account too); `None` when the store fails.
    async fn session_in_context(&self, id_hash: &str) -> Option<bool> {
        let key = SessionKey { sub: SUB, id_hash };
        let context = self
            .app
            .store
            .load_authorization_context(None, Some(key), now())
            .await;
        context.ok().map(|c| c.session.is_some())
    }

    /// "Withdraw access" for `client_id`, with the session's CSRF token.
    async fn withdraw(&self, client_id: &str) -> HttpResponse {
        self.account_post(&[
            ("csrf_token", &self.csrf()),
            ("action", "withdraw"),
            ("client_id", client_id),
        ])
        .await
    }
}

fn assert_page(response: &HttpResponse, status: StatusCode) {
    assert_eq!(response.status(), status, "{}", response.body());
    assert_eq!(header(response, "x-frame-options"), Some("DENY"));
    let csp = header(response, "content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
}

/// The page names the user (and their profile's name and email), every app they allowed
/// with its name, its scopes' catalogue descriptions and dates, a withdraw form per app
/// carrying the session's CSRF token, and the two sign-out buttons.
#[tokio::test]
async fn the_account_page_lists_the_apps_allowed() {
    let w = world().await;
    let profile = profile_of(&[
        (Claim::Name, "Alice Example"),
        (Claim::Email, "alice@example.com"),
    ]);
    stored(
        "profile",
        w.app.store.update_profile(SUB, &profile, now()).await,
    );
    w.allowed("app", &["read", "write"]).await;
    w.allowed("spa", &["read"]).await;
    let response = w.account_get(true).await;
    assert_page(&response, StatusCode::OK);
    let html = response.body();
    for expected in [
        "Alice Example",
        USERNAME,
        "alice@example.com",
        "App app",
        "App spa",
        "Read your data",
        "Change your data",
        "Sign out everywhere",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    let today = now() / 86_400;
    assert!(html.contains("Allowed on "), "{html}");
    assert!(
        !html.contains("1970-"),
        "dates are the consent's: {html} ({today})"
    );
    let csrf = w.csrf();
    assert_eq!(
        html.matches(&format!(r#"name="csrf_token" value="{csrf}""#))
            .count(),
        4,
        "two withdraw forms and two sign-out forms: {html}"
    );
    assert!(html.contains(r#"name="client_id" value="app""#));
}

/// Nothing allowed yet: the page says so. A consent that expired is not shown.
#[tokio::test]
async fn expired_consents_are_not_listed() {
    let w = world().await;
    let consent = Consent {
        sub: SUB.into(),
        client_id: "app".into(),
        scopes: set(&["read"]),
        expires_at: now() - 1,
    };
    stored("consent", w.app.store.put_consent(&consent).await);
    let response = w.account_get(true).await;
    assert_page(&response, StatusCode::OK);
    assert!(response.body().contains("You have not allowed any app"));
    assert!(!response.body().contains("App app"));
}

/// Signed out (no cookie, an ended session): sent to sign in and come back; a POST changes
/// nothing.
#[tokio::test]
async fn without_a_session_the_browser_signs_in_and_comes_back() {
    let w = world().await;
    let response = w.account_get(false).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        location(&response),
        format!("{}/login?return_to=%2Faccount", w.app.config.issuer)
    );
    w.allowed("app", &["read"]).await;
    stored(
        "ended",
        auth_core::account::end_sessions(&w.app.store, SUB).await,
    );
    let response = w.withdraw("app").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).ends_with("/login?return_to=%2Faccount"));
    assert!(w.consent_of("app").await.is_some(), "nothing was withdrawn");
}

/// "Withdraw access": the consent goes and so does its grant: introspection of the access
/// token issued under it says inactive; another app's consent and token stay.
#[tokio::test]
async fn the_withdraw_button_removes_the_consent_and_revokes_its_grant() {
    let w = world().await;
    w.allowed("app", &["read"]).await;
    w.allowed("other", &["read"]).await;
    let token = w
        .access_token("app", "code-app-0123456789012345678901234567890")
        .await;
    let others = w
        .access_token("other", "code-other-012345678901234567890123456789")
        .await;
    assert!(w.active(&token).await && w.active(&others).await);
    let response = w.withdraw("app").await;
    assert_status("withdraw", &response, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("{}/account", w.app.config.issuer)
    );
    assert!(w.consent_of("app").await.is_none());
    assert!(
        !w.active(&token).await,
        "the grant's access token is revoked"
    );
    assert!(w.consent_of("other").await.is_some());
    assert!(w.active(&others).await, "another app keeps its access");
    assert!(
        w.session_still_counts().await,
        "withdrawing signs no one out"
    );
    let page = w.account_get(true).await;
    assert!(!page.body().contains("App app<"), "{}", page.body());
}

/// CSRF (security checklist 19): without the session's token, or with another session's,
/// no button does anything.
#[tokio::test]
async fn without_the_csrf_token_nothing_happens() {
    let w = world().await;
    w.allowed("app", &["read"]).await;
    let other = session::csrf_token(&SessionId::new("t".repeat(43)));
    for token in [None, Some(other.as_str())] {
        for action in ["withdraw", "sign_out", "sign_out_everywhere"] {
            let mut pairs = vec![("action", action), ("client_id", "app")];
            if let Some(token) = token {
                pairs.push(("csrf_token", token));
            }
            let response = w.account_post(&pairs).await;
            assert_page(&response, StatusCode::FORBIDDEN);
            assert!(response.body().contains("This form has expired"));
        }
    }
    assert!(w.consent_of("app").await.is_some());
    assert!(w.session_still_counts().await);
    let response = w
        .account_post(&[("csrf_token", &w.csrf()), ("action", "delete_everything")])
        .await;
    assert_page(&response, StatusCode::BAD_REQUEST);
}

/// "Sign out": this session ends (the item is deleted, the cookie expired), and the browser
/// goes to the signed-out page; another session of the user still counts.
#[tokio::test]
async fn sign_out_ends_this_session() {
    let w = world().await;
    let elsewhere = w.other_session('o', now_ms()).await;
    let response = w
        .account_post(&[("csrf_token", &w.csrf()), ("action", "sign_out")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        format!("{}/oauth/logout", w.app.config.issuer)
    );
    assert!(response
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().is_ok_and(|c| c.contains("Max-Age=0"))));
    assert!(!w.session_still_counts().await);
    assert!(w.session_live(&elsewhere.hash()).await);
}

/// "Sign out everywhere" (`account::end_sessions`, as `authctl session revoke`): every
/// session of the user ends, this one and the others; consents stay.
#[tokio::test]
async fn sign_out_everywhere_ends_every_session() {
    let w = world().await;
    w.allowed("app", &["read"]).await;
    let response = w
        .account_post(&[("csrf_token", &w.csrf()), ("action", "sign_out_everywhere")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).ends_with("/oauth/logout"));
    assert!(!w.session_still_counts().await);
    match w.app.store.get_account(SUB).await {
        Ok(Some(account)) => assert!(account.sessions_ended_at_ms > 0),
        other => panic!("no account: {other:?}"),
    }
    // Any other session of alice begun before now no longer counts either.
    let earlier = w.other_session('o', now_ms() - 1000).await;
    assert_eq!(w.session_in_context(&earlier.hash()).await, Some(false));
    assert!(w.consent_of("app").await.is_some());
}
