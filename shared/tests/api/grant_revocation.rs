//! Handler tests of grants (issue 12.4, 12.5, and the refresh checks of 12): every access
//! token is tied to the grant its code started, so that revoking a refresh token, reusing
//! one, replaying the code or withdrawing consent ends every token of that grant, access
//! tokens included (RFC 7009 2.1, RFC 6749 4.1.2, RFC 9700 4.14); and a refresh re-checks
//! the client's current registration. On the in-memory store.

use auth_core::cache::WarmCache;
use auth_core::config::Config;
use auth_core::consent::withdraw;
use auth_core::endpoints::{introspect, revoke, token};
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use auth_core::keys::generate_signing_key;
use auth_core::model::*;
use auth_core::secret::{now, AuthorizationCode, ClientSecret, RefreshTokenSecret};
use auth_core::store::memory::MemoryStore;
use auth_core::store::*;
use auth_core::tokens::{verify_access_token, GRANT_ID_CLAIM};
use auth_core::App;
use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::fixtures::{code_grant, grant_started, registered, set, REDIRECT, SUB};
use crate::common::pkce::VERIFIER;

fn registration(client_id: &str, grant_types: &[GrantType]) -> ClientRegistration {
    ClientRegistration {
        client_id: client_id.into(),
        name: format!("App {client_id}"),
        redirect_uris: vec![REDIRECT.into()],
        allowed_scopes: set(&["read", "write"]),
        default_scopes: ScopeSet::new(),
        kind: ClientKind::Confidential,
        secret_hash: Some(ClientSecret::new(format!("{client_id}-secret")).hash()),
        pkce_optional: false,
        allow_plain_pkce: false,
        resource_server: false,
        grant_types: grant_types.to_vec(),
        post_logout_redirect_uris: Vec::new(),
        web_origins: Vec::new(),
        keys: None,
    }
}

struct World {
    app: App<MemoryStore>,
}

/// Clients `app` (code and refresh) and `noref` (code only), and the resource server `api`.
async fn world() -> World {
    use GrantType::{AuthorizationCode as Code, RefreshToken as Refresh};
    let store = MemoryStore::default();
    let api = ClientRegistration {
        resource_server: true,
        redirect_uris: Vec::new(),
        ..registration("api", &[])
    };
    for client in [
        registration("app", &[Code, Refresh]),
        registration("noref", &[Code]),
        api,
    ] {
        assert!(store.create_client(&registered(client)).await.is_ok());
    }
    let Ok(key) = generate_signing_key() else {
        panic!("key generation failed")
    };
    assert!(store.put_key(&key).await.is_ok());
    // The user of the codes: a grant is honoured only while its user exists.
    let alice = User {
        username: "alice".into(),
        sub: SUB.into(),
        password_hash: "unused".into(),
    };
    assert!(store
        .create_user(&alice, &Account::new(&alice, Profile::default(), 0))
        .await
        .is_ok());
    World {
        app: App::new(Config::for_tests(), store),
    }
}

fn json_body(response: &HttpResponse) -> Value {
    serde_json::from_str(response.body()).unwrap_or(Value::Null)
}

fn post(path: &str, client_id: &str, pairs: &[(&str, &str)]) -> HttpRequest {
    let secret = format!("{client_id}-secret");
    let mut all = pairs.to_vec();
    all.push(("client_id", client_id));
    all.push(("client_secret", &secret));
    HttpRequest::new(Method::POST, path).with_form(&form_encode(&all))
}

struct Tokens {
    access_token: String,
    refresh_token: Option<String>,
    scope: String,
}

fn tokens(rule: &str, response: &HttpResponse) -> Tokens {
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{rule}: {}",
        response.body()
    );
    let body = json_body(response);
    Tokens {
        access_token: body["access_token"].as_str().unwrap_or_default().into(),
        refresh_token: body["refresh_token"].as_str().map(str::to_string),
        scope: body["scope"].as_str().unwrap_or_default().into(),
    }
}

impl World {
    async fn add_code(&self, code: &str, client_id: &str, scopes: &[&str]) {
        let grant = code_grant(code, client_id, SUB, set(scopes));
        assert!(self.app.store.create_code(&grant).await.is_ok());
    }

    async fn redeem(&self, client_id: &str, code: &str) -> HttpResponse {
        let pairs = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        token::handle(&self.app, &post("/oauth/token", client_id, &pairs)).await
    }

    async fn issue(&self, client_id: &str, code: &str, scopes: &[&str]) -> Tokens {
        self.add_code(code, client_id, scopes).await;
        tokens("issuing", &self.redeem(client_id, code).await)
    }

    async fn refresh(&self, client_id: &str, refresh_token: &str) -> HttpResponse {
        self.refresh_with(client_id, &[("refresh_token", refresh_token)])
            .await
    }

    /// A refresh (RFC 6749 6) with these pairs after its `grant_type`.
    async fn refresh_with(&self, client_id: &str, pairs: &[(&str, &str)]) -> HttpResponse {
        let mut all = vec![("grant_type", "refresh_token")];
        all.extend_from_slice(pairs);
        token::handle(&self.app, &post("/oauth/token", client_id, &all)).await
    }

    async fn rotate(&self, client_id: &str, previous: &Tokens) -> Tokens {
        let refresh_token = previous.refresh_token.clone().unwrap_or_default();
        tokens("refreshing", &self.refresh(client_id, &refresh_token).await)
    }

    async fn revoke(&self, client_id: &str, token: &str) -> HttpResponse {
        revoke::handle(
            &self.app,
            &post("/oauth/revoke", client_id, &[("token", token)]),
        )
        .await
    }

    /// Whether introspection (as the resource server `api`) calls the access token active.
    async fn active(&self, access_token: &str) -> bool {
        let request = post("/oauth/introspect", "api", &[("token", access_token)]);
        let body = json_body(&introspect::handle(&self.app, &request).await);
        assert!(body["active"].is_boolean(), "{body}");
        body["active"] == json!(true)
    }

    async fn all_active(&self, issued: &[&Tokens]) -> Vec<bool> {
        let mut active = Vec::new();
        for tokens in issued {
            active.push(self.active(&tokens.access_token).await);
        }
        active
    }

    async fn grant_of(&self, access_token: &str) -> String {
        let keys = self.app.store.list_public_keys().await.unwrap_or_default();
        verify_access_token(&self.app.config, &keys, access_token)
            .and_then(|claims| claims.gid)
            .unwrap_or_default()
    }

    /// The client as registered now, seen by a container whose cache is cold (a warm one
    /// trusts a client record for `cache::CLIENT_CACHE_SECONDS`).
    async fn change_client(&mut self, registration: ClientRegistration) {
        assert!(self
            .app
            .store
            .replace_client(&registered(registration))
            .await
            .is_ok());
        self.app.cache = WarmCache::default();
    }
}

// --- finding 4: revoking a grant ends its access tokens ----------------------------------

/// RFC 7009 2.1: revoking a refresh token SHOULD invalidate every access token of its grant.
/// Before, introspection kept answering `active: true` for them.
#[tokio::test]
async fn revoking_a_refresh_token_ends_every_access_token_of_its_grant() {
    let w = world().await;
    let first = w.issue("app", "code-1", &["read"]).await;
    let second = w.rotate("app", &first).await;
    let third = w.rotate("app", &second).await;
    let unrelated = w.issue("app", "code-2", &["read"]).await;
    assert_eq!(
        w.all_active(&[&first, &second, &third, &unrelated]).await,
        [true; 4]
    );

    let current = third.refresh_token.clone().unwrap_or_default();
    assert_eq!(w.revoke("app", &current).await.status(), StatusCode::OK);
    assert_eq!(
        w.all_active(&[&first, &second, &third, &unrelated]).await,
        [false, false, false, true],
        "the grant's access tokens end with it; another grant's do not"
    );
}

/// RFC 9700 4.14: reuse of a spent refresh token revokes its grant, access tokens included.
#[tokio::test]
async fn refresh_token_reuse_ends_every_access_token_of_its_grant() {
    let w = world().await;
    let first = w.issue("app", "code-1", &["read"]).await;
    let second = w.rotate("app", &first).await;
    let spent = first.refresh_token.clone().unwrap_or_default();
    let reuse = w.refresh("app", &spent).await;
    assert_eq!(reuse.status(), StatusCode::BAD_REQUEST, "{}", reuse.body());
    assert_eq!(w.all_active(&[&first, &second]).await, [false, false]);
}

/// RFC 6749 4.1.2: a replayed code revokes every token issued from it, also the access
/// tokens of the refreshes since (before, only the first access token's `jti` was revoked).
#[tokio::test]
async fn a_code_replay_ends_the_access_tokens_of_every_refresh() {
    let w = world().await;
    let first = w.issue("app", "code-1", &["read"]).await;
    let second = w.rotate("app", &first).await;
    let replay = w.redeem("app", "code-1").await;
    assert_eq!(json_body(&replay)["error"], "invalid_grant");
    assert_eq!(w.all_active(&[&first, &second]).await, [false, false]);
    let current = second.refresh_token.clone().unwrap_or_default();
    assert_eq!(
        json_body(&w.refresh("app", &current).await)["error"],
        "invalid_grant"
    );
}

/// `authctl consent revoke`: withdrawing consent ends the grants of the user and client.
#[tokio::test]
async fn withdrawn_consent_ends_the_access_tokens_of_its_grants() {
    let w = world().await;
    let first = w.issue("app", "code-1", &["read"]).await;
    let second = w.rotate("app", &first).await;
    let without_refresh = w.issue("noref", "code-2", &["read"]).await;
    let Ok(withdrawal) = withdraw(&w.app.store, SUB, "app").await else {
        panic!("withdrawing consent")
    };
    assert_eq!(withdrawal.families_revoked, 1);
    assert_eq!(
        w.all_active(&[&first, &second, &without_refresh]).await,
        [false, false, true],
        "only the grants of that client"
    );
}

/// Every code redemption starts a grant, also for a client that gets no refresh token: its
/// access token carries the grant's id, and the grant is found by user and client.
#[tokio::test]
async fn a_client_without_refresh_tokens_gets_a_grant_too() {
    let w = world().await;
    let issued = w.issue("noref", "code-1", &["read"]).await;
    assert_eq!(issued.refresh_token, None);
    let gid = w.grant_of(&issued.access_token).await;
    assert_eq!(GRANT_ID_CLAIM, "gid");
    assert!(!gid.is_empty(), "the access token names its grant");
    let grant = w.app.store.get_family(&gid).await.ok().flatten();
    assert_eq!(
        grant
            .as_ref()
            .map(|g| (g.client_id.as_str(), g.sub.as_str(), g.current.clone())),
        Some(("noref", SUB, None))
    );
    assert!(
        grant.is_some_and(|g| g.expires_at >= now() + w.app.config.access_token_ttl_seconds - 1)
    );
    assert_eq!(
        w.app.store.families_of(SUB, "noref").await.ok(),
        Some(vec![gid.clone()])
    );
    let Ok(withdrawal) = withdraw(&w.app.store, SUB, "noref").await else {
        panic!("withdrawing consent")
    };
    assert_eq!(withdrawal.families_revoked, 1);
    assert!(!w.active(&issued.access_token).await);
}

/// What user deletion needs (`authctl user delete`, another change): every grant of the user,
/// with every client, revocable one by one.
#[tokio::test]
async fn every_grant_of_a_user_is_listed_and_revoking_them_ends_their_tokens() {
    let w = world().await;
    let with_app = w.issue("app", "code-1", &["read"]).await;
    let refreshed = w.rotate("app", &with_app).await;
    let with_noref = w.issue("noref", "code-2", &["read"]).await;
    let Ok(mut grants) = w.app.store.families_of_user(SUB).await else {
        panic!("listing the user's grants")
    };
    grants.sort();
    let mut expected = vec![
        w.grant_of(&with_app.access_token).await,
        w.grant_of(&with_noref.access_token).await,
    ];
    expected.sort();
    assert_eq!(grants, expected);
    assert_eq!(
        w.app.store.families_of_user("sub-bob").await.ok(),
        Some(vec![])
    );
    for grant in &grants {
        assert_eq!(w.app.store.revoke_family(grant).await.ok(), Some(true));
    }
    assert_eq!(
        w.all_active(&[&with_app, &refreshed, &with_noref]).await,
        [false, false, false]
    );
}

/// An access token whose grant is gone (a grant never written, or deleted) is inactive.
#[tokio::test]
async fn an_access_token_without_its_grant_is_inactive() {
    let w = world().await;
    let issued = w.issue("noref", "code-1", &["read"]).await;
    assert!(w.active(&issued.access_token).await);
    let other = World {
        app: App::new(w.app.config.clone(), MemoryStore::default()),
    };
    // The same keys and client, but not the grant.
    for key in w.app.store.list_signing_keys().await.unwrap_or_default() {
        assert!(other.app.store.put_key(&key).await.is_ok());
    }
    let api = ClientRegistration {
        resource_server: true,
        redirect_uris: Vec::new(),
        ..registration("api", &[])
    };
    assert!(other
        .app
        .store
        .create_client(&registered(api))
        .await
        .is_ok());
    assert!(!other.active(&issued.access_token).await);
}

// --- finding 5: a replay always finds the grant ------------------------------------------

/// The window of finding 5: the first redemption is written, its tokens not yet answered,
/// when a replay arrives. Before, the code recorded the family's id and the family was
/// created one round trip later, so the replay revoked nothing and the family then came to
/// life. Now the grant and its first refresh token are written with the redemption, and the
/// replay revokes them.
#[tokio::test]
async fn a_replay_right_after_the_redemption_revokes_the_grant_it_started() {
    let w = world().await;
    w.add_code("code-1", "app", &["read"]).await;
    let t = now();
    let refresh_token = RefreshTokenSecret::generate();
    let (grant, first) = grant_started(
        "grant-1",
        ("app", SUB),
        set(&["read"]),
        refresh_token.hash(),
        t,
        t + 600,
    );
    // The first request's transaction, as the token function writes it.
    let code_hash = AuthorizationCode::new("code-1").hash();
    let redemption = CodeRedemption {
        code_hash: &code_hash,
        now: t,
        jti: "jti-1",
        grant: &grant,
        first_refresh: Some(&first),
    };
    assert_eq!(
        w.app.store.redeem_code(&redemption).await.ok(),
        Some(Redemption::Redeemed)
    );
    // The replay, before the first request has answered.
    assert_eq!(
        json_body(&w.redeem("app", "code-1").await)["error"],
        "invalid_grant"
    );
    let revoked = w.app.store.get_family("grant-1").await.ok().flatten();
    assert_eq!(revoked.map(|g| g.revoked), Some(true));
    assert_eq!(
        json_body(&w.refresh("app", refresh_token.expose()).await)["error"],
        "invalid_grant",
        "the first refresh token is revoked with its grant"
    );
}

// --- refresh re-checks the client's current registration ---------------------------------

/// RFC 6749 6 and 3.3: a scope the client may no longer use is dropped from the refreshed
/// access token (the answer's `scope` says so); before, the grant's scopes were issued as
/// they were at consent.
#[tokio::test]
async fn scopes_the_client_may_no_longer_use_are_dropped_at_refresh() {
    use GrantType::{AuthorizationCode as Code, RefreshToken as Refresh};
    let mut w = world().await;
    let first = w.issue("app", "code-1", &["read", "write"]).await;
    assert_eq!(first.scope, "read write");
    w.change_client(ClientRegistration {
        allowed_scopes: set(&["read"]),
        ..registration("app", &[Code, Refresh])
    })
    .await;
    let second = w.rotate("app", &first).await;
    assert_eq!(second.scope, "read");
    let request = post(
        "/oauth/introspect",
        "api",
        &[("token", &second.access_token)],
    );
    assert_eq!(
        json_body(&introspect::handle(&w.app, &request).await)["scope"],
        "read"
    );
    // Asking for only the dropped scope leaves nothing to issue.
    let current = second.refresh_token.clone().unwrap_or_default();
    let refused = w
        .refresh_with("app", &[("refresh_token", &current), ("scope", "write")])
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(&refused)["error"], "invalid_scope");
}

/// A client that keeps none of the grant's scopes can no longer refresh it.
#[tokio::test]
async fn a_client_left_with_no_scope_of_the_grant_cannot_refresh() {
    use GrantType::{AuthorizationCode as Code, RefreshToken as Refresh};
    let mut w = world().await;
    let first = w.issue("app", "code-1", &["read"]).await;
    w.change_client(ClientRegistration {
        allowed_scopes: set(&["write"]),
        ..registration("app", &[Code, Refresh])
    })
    .await;
    let current = first.refresh_token.clone().unwrap_or_default();
    let refused = w.refresh("app", &current).await;
    assert_eq!(
        refused.status(),
        StatusCode::BAD_REQUEST,
        "{}",
        refused.body()
    );
    assert_eq!(json_body(&refused)["error"], "invalid_scope");
}

/// A client changed to disallow the refresh grant stops refreshing (RFC 6749 5.2
/// `unauthorized_client`), and a deleted client fails authentication (`invalid_client`).
#[tokio::test]
async fn a_client_changed_to_disallow_refresh_or_deleted_stops_refreshing() {
    let mut w = world().await;
    let first = w.issue("app", "code-1", &["read"]).await;
    let current = first.refresh_token.clone().unwrap_or_default();
    w.change_client(registration("app", &[GrantType::AuthorizationCode]))
        .await;
    let refused = w.refresh("app", &current).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_body(&refused)["error"], "unauthorized_client");

    assert!(w.app.store.delete_client("app").await.is_ok());
    w.app.cache = WarmCache::default();
    let refused = w.refresh("app", &current).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json_body(&refused)["error"], "invalid_client");
}
