//! DynamoDB round trips and capacity units per request, counted against the local server:
//! deterministic properties, asserted here for every endpoint (timings live in the
//! benchmarks, not in tests). The units are those DynamoDB reports (`ReturnConsumedCapacity`),
//! which the local server computes by DynamoDB's rules from the items' real sizes
//! (scripts/capacity.py); an error answer reports none.

use crate::common;

use auth_core::endpoints::{authorize, consent, introspect, token, userinfo};
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use auth_core::model::*;
use auth_core::secret::{now, RefreshTokenSecret};
use auth_core::session;
use auth_core::store::dynamo::{DynamoStore, Usage};
use auth_core::store::RefreshTokenStore;
use auth_core::tokens::{new_jti, AccessTokenClaims, Signer};
use http::{Method, StatusCode};

use crate::common::fixtures::{
    client, grant_started, set, shared_key, stored, World, REDIRECT, SUB, USERNAME,
};
use crate::common::jwt;
use crate::common::pkce::{CHALLENGE, VERIFIER};

/// The world on fresh DynamoDB tables (the client `app`, alice signed in, the signing key),
/// and the counter of the store's round trips.
struct Counted {
    world: World<DynamoStore>,
    trips: Usage,
    cookie: String,
}

impl std::ops::Deref for Counted {
    type Target = World<DynamoStore>;

    fn deref(&self) -> &World<DynamoStore> {
        &self.world
    }
}

async fn world(grants: Vec<GrantType>) -> Option<Counted> {
    let tables = common::fresh_tables()?;
    let (store, trips) = DynamoStore::from_env_counted(tables).await;
    let world = World::on(store)
        .with_clients([client("app", ClientKind::Confidential, &grants)])
        .await
        .with_key()
        .await
        .with_alice_signed_in("signed in already")
        .await;
    let cookie = world.cookie();
    Some(Counted {
        world,
        trips,
        cookie,
    })
}

fn authorization_query(scope: &str) -> String {
    form_encode(&[
        ("client_id", "app"),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "s"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ])
}

fn code_of(response: &HttpResponse) -> String {
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    let params = auth_core::http::Params::parse(query.as_bytes()).unwrap_or_default();
    params.get("code").unwrap_or_default().to_string()
}

impl Counted {
    /// Runs `call` and returns what it answered and how many round trips it made.
    async fn counted<F: std::future::Future<Output = HttpResponse>>(
        &self,
        call: F,
    ) -> (HttpResponse, usize) {
        self.trips.reset();
        let response = call.await;
        (response, self.trips.count())
    }

    async fn approve(&self, scope: &str) -> (HttpResponse, usize) {
        let csrf = session::csrf_token(&self.session_id);
        let body = format!(
            "{}&{}",
            authorization_query(scope),
            form_encode(&[("csrf_token", &csrf), ("decision", "approve")])
        );
        let request = HttpRequest::new(Method::POST, "/oauth/consent")
            .with_form(&body)
            .with_header("cookie", &self.cookie);
        self.counted(consent::handle(&self.app, &request)).await
    }

    async fn authorize(&self, scope: &str) -> (HttpResponse, usize) {
        let request = HttpRequest::new(
            Method::GET,
            &format!("/oauth/authorize?{}", authorization_query(scope)),
        )
        .with_header("cookie", &self.cookie);
        self.counted(authorize::handle(&self.app, &request)).await
    }

    async fn exchange(&self, code: &str) -> (HttpResponse, usize) {
        let body = form_encode(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", "app"),
            ("client_secret", "app-secret"),
        ]);
        let request = HttpRequest::new(Method::POST, "/oauth/token").with_form(&body);
        self.counted(token::handle(&self.app, &request)).await
    }
}

#[tokio::test]
async fn consent_costs_two_round_trips_and_remembered_consent_two() {
    let Some(w) = world(vec![GrantType::AuthorizationCode]).await else {
        return;
    };
    let (response, trips) = w.approve("read").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(trips, 2, "consent: one BatchGetItem, one transaction");
    // Client, session, account, consent read strongly consistent (1 each); the consent and the
    // code put transactionally (2 each).
    expect_units(&w, "consent", (4.0, 4.0));

    let (response, trips) = w.authorize("read").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(!code_of(&response).is_empty());
    assert_eq!(
        trips, 2,
        "authorize with remembered consent: one BatchGetItem, one PutItem"
    );
    expect_units(&w, "authorize, consent remembered", (4.0, 1.0));

    // An id_token_hint adds the published keys' Scan, made beside the BatchGetItem.
    let hint = hint_for_app(&w);
    let query = format!(
        "{}&{}",
        authorization_query("read"),
        form_encode(&[("id_token_hint", &hint), ("prompt", "none")])
    );
    let request = HttpRequest::new(Method::GET, &format!("/oauth/authorize?{query}"))
        .with_header("cookie", &w.cookie);
    let (response, trips) = w.counted(authorize::handle(&w.app, &request)).await;
    assert!(!code_of(&response).is_empty(), "{:?}", response.headers());
    assert_eq!(
        trips, 3,
        "authorize with an id_token_hint: one BatchGetItem, one Scan of the keys, one PutItem"
    );
    expect_units(&w, "authorize with an id_token_hint", (4.5, 1.0));
}

/// An ID token of alice for `app`, signed by the published key, as the token endpoint
/// writes one (the scope `read` has none of its own).
fn hint_for_app(w: &Counted) -> String {
    let claims = serde_json::json!({"iss": w.app.config.issuer, "sub": SUB, "aud": "app",
                                    "exp": now() + 300, "iat": now()});
    jwt::signed(shared_key(), "JWT", &claims)
}

#[tokio::test]
async fn token_exchange_round_trips() {
    let Some(w) = world(vec![GrantType::AuthorizationCode]).await else {
        return;
    };
    let (_, _) = w.approve("read").await;
    let (first, _) = w.authorize("read").await;
    let (second, _) = w.authorize("read").await;

    let (response, cold) = w.exchange(&code_of(&first)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        cold, 4,
        "cold container: client, signing key, the code's read, the redemption"
    );
    // The client (1) and the key Scan (0.5), the code (1), the transaction's check (2); the
    // code's update and the grant put transactionally (2 each), the grant's index entry (1).
    expect_units(&w, "code exchange, cold", (4.5, 5.0));
    let (response, warm) = w.exchange(&code_of(&second)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        warm, 2,
        "warm container (client and key cached): the code's read, then one transaction that \
         redeems it and starts its grant"
    );
    expect_units(&w, "code exchange, warm", (3.0, 5.0));
}

#[tokio::test]
async fn token_exchange_with_a_refresh_token_adds_one_write() {
    let Some(w) = world(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]).await else {
        return;
    };
    let (_, _) = w.approve("read").await;
    let (first, _) = w.authorize("read").await;
    let (second, _) = w.authorize("read").await;
    let (_, _) = w.exchange(&code_of(&first)).await;
    let (response, warm) = w.exchange(&code_of(&second)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        warm, 2,
        "warm container: the code's read, then one transaction (the code, the grant, its first \
         refresh token)"
    );
    expect_units(&w, "code exchange with a refresh token, warm", (3.0, 7.0));

    // Introspection of the access token: the keys, then the `jti` and the grant in one batch.
    let access_token = serde_json::from_str::<serde_json::Value>(response.body())
        .ok()
        .and_then(|body| body["access_token"].as_str().map(str::to_string))
        .unwrap_or_default();
    let body = form_encode(&[
        ("token", access_token.as_str()),
        ("client_id", "app"),
        ("client_secret", "app-secret"),
    ]);
    let request = HttpRequest::new(Method::POST, "/oauth/introspect").with_form(&body);
    let (response, trips) = w.counted(introspect::handle(&w.app, &request)).await;
    assert!(
        response.body().contains(r#""active":true"#),
        "{}",
        response.body()
    );
    assert_eq!(
        trips, 2,
        "introspect, client cached: the key Scan, one BatchGetItem (deny-list and grant)"
    );
    expect_units(&w, "introspect", (2.5, 0.0));
}

/// UserInfo: the key `Scan`, then one `BatchGetItem` over two tables (the `jti`'s deny-list
/// entry and the grant, and the user's account); a request without a token costs nothing, a
/// token of no published key only the `Scan`.
#[tokio::test]
async fn userinfo_costs_the_key_scan_and_one_batch() {
    let Some(w) = world(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]).await else {
        return;
    };
    let t = now();
    let (family, first) = grant_started(
        "grant-1",
        ("app", SUB),
        set(&["openid"]),
        RefreshTokenSecret::new("r").hash(),
        t,
        t + 600,
    );
    stored("grant", w.app.store.create_family(&family, &first).await);
    let claims = AccessTokenClaims::new(
        &w.app.config,
        SUB,
        "app",
        &set(&["openid", "profile"]),
        new_jti(),
        t,
        "grant-1",
    );
    let signed = Signer::from_key(shared_key()).and_then(|signer| signer.sign(&claims));
    let token = signed.unwrap_or_else(|error| panic!("{error}"));
    let bearer = |token: &str| {
        HttpRequest::new(Method::GET, "/oauth/userinfo")
            .with_header("authorization", &format!("Bearer {token}"))
    };

    let (response, trips) = w.counted(userinfo::handle(&w.app, &bearer(&token))).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    assert!(response.body().contains(USERNAME) || response.body().contains(SUB));
    assert_eq!(
        trips, 2,
        "userinfo: the key Scan, one BatchGetItem (deny-list, grant, account)"
    );
    expect_units(&w, "userinfo", (3.5, 0.0));

    let nobody = HttpRequest::new(Method::GET, "/oauth/userinfo");
    let (response, trips) = w.counted(userinfo::handle(&w.app, &nobody)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(trips, 0, "no token: no round trip");
    expect_units(&w, "userinfo without a token", (0.0, 0.0));

    let (signed_part, signature) = token.rsplit_once('.').unwrap_or_default();
    let other = if signature.starts_with('A') { "B" } else { "A" };
    let forged = format!("{signed_part}.{other}{}", &signature[1..]);
    let (response, trips) = w.counted(userinfo::handle(&w.app, &bearer(&forged))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(trips, 1, "a signature that fails: the key Scan only");
    expect_units(&w, "userinfo, a bad signature", (0.5, 0.0));
}

/// A client id no registration could produce is refused before any round trip: before, an
/// empty one (`Basic Og==`) reached DynamoDB, which refuses empty keys, and answered 500.
#[tokio::test]
async fn impossible_client_ids_cost_no_round_trip() {
    use base64::Engine;
    let Some(w) = world(vec![GrantType::AuthorizationCode]).await else {
        return;
    };
    let long = "c".repeat(3000);
    let long_basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{long}:s"))
    );
    let requests = [
        HttpRequest::new(Method::POST, "/oauth/token")
            .with_form("grant_type=x")
            .with_header("authorization", "Basic Og=="),
        HttpRequest::new(Method::POST, "/oauth/token")
            .with_form("grant_type=x")
            .with_header("authorization", &long_basic),
        HttpRequest::new(Method::POST, "/oauth/token")
            .with_form(&form_encode(&[("grant_type", "x"), ("client_id", &long)])),
    ];
    for request in &requests {
        let (response, trips) = w.counted(token::handle(&w.app, request)).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{}",
            response.body()
        );
        assert_eq!(trips, 0);
    }
    let query = authorization_query("read").replace("client_id=app", &format!("client_id={long}"));
    let request = HttpRequest::new(Method::GET, &format!("/oauth/authorize?{query}"))
        .with_header("cookie", &w.cookie);
    let (response, trips) = w.counted(authorize::handle(&w.app, &request)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    assert_eq!(trips, 0);
}

// ---- Every endpoint: round trips and the read and write units DynamoDB reports ---------------
//
// Units are DynamoDB's (computed by scripts/capacity.py on the local server from the items'
// real sizes): strongly consistent reads 1 per 4 KB item, eventually consistent 0.5 (the key
// and client Scans), transactional reads 2; writes 1 per KB, transactional 2, plus 1 for an
// entry of the sparse index `grants_by_user` (a grant put, or revoked).

/// Round trips, read units, write units.
type Cost = (usize, f64, f64);

impl Counted {
    /// Runs `call` and returns what it answered and what it cost.
    async fn cost<F: std::future::Future<Output = HttpResponse>>(
        &self,
        call: F,
    ) -> (HttpResponse, Cost) {
        self.trips.reset();
        let response = call.await;
        let counts = self.trips.counts();
        (
            response,
            (counts.round_trips, counts.read_units, counts.write_units),
        )
    }

    /// A code for `scope`, consented to already, and its exchange's answer (the token response).
    async fn tokens(&self, scope: &str) -> serde_json::Value {
        let (_, _) = self.approve(scope).await;
        let (response, _) = self.authorize(scope).await;
        let (response, _) = self.exchange(&code_of(&response)).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
        serde_json::from_str(response.body()).unwrap_or_default()
    }

    fn page(&self, method: Method, path: &str) -> HttpRequest {
        HttpRequest::new(method, path).with_header("cookie", &self.cookie)
    }
}

/// The read and write units of the last request `w` counted.
fn expect_units(w: &Counted, what: &str, expected: (f64, f64)) {
    let counts = w.trips.counts();
    let units = (counts.read_units, counts.write_units);
    assert_eq!(units, expected, "{what}: (read units, write units)");
}

fn expect_cost(what: &str, cost: Cost, expected: Cost) {
    assert_eq!(
        cost, expected,
        "{what}: (round trips, read units, write units)"
    );
}

fn text_of(body: &serde_json::Value, name: &str) -> String {
    body[name].as_str().unwrap_or_default().to_string()
}

/// Scopes, discovery (which lists the scopes) and the JWKS: one eventually consistent Scan on
/// every request (none of them caches), half a read unit for a page under 4 KB.
#[tokio::test]
async fn public_documents_cost_one_eventually_consistent_scan() {
    use auth_core::endpoints::{jwks, metadata, scopes};
    use auth_core::store::ScopeAdmin;
    let Some(w) = world(vec![GrantType::AuthorizationCode]).await else {
        return;
    };
    for name in ["read", "write"] {
        let scope = Scope {
            name: name.into(),
            description: format!("{name} your things"),
        };
        stored("scope", w.app.store.create_scope(&scope).await);
    }
    let get = |path: &str| HttpRequest::new(Method::GET, path);
    for what in ["first", "again"] {
        let (response, cost) = w.cost(scopes::handle(&w.app, &get("/oauth/scopes"))).await;
        assert_eq!(response.status(), StatusCode::OK);
        expect_cost(&format!("scopes, {what}"), cost, (1, 0.5, 0.0));
    }
    for what in ["first", "again"] {
        let request = get("/.well-known/openid-configuration");
        let (response, cost) = w.cost(metadata::handle(&w.app, &request)).await;
        assert_eq!(response.status(), StatusCode::OK);
        expect_cost(&format!("metadata, {what}"), cost, (1, 0.5, 0.0));
    }
    for what in ["first", "again"] {
        let request = get("/.well-known/jwks.json");
        let (response, cost) = w.cost(jwks::handle(&w.app, &request)).await;
        assert_eq!(response.status(), StatusCode::OK);
        expect_cost(&format!("jwks, {what}"), cost, (1, 0.5, 0.0));
    }
}

/// The sign-in form reads nothing (its CSRF token is a cookie). The sign-in POST, and its
/// refusal when throttled, are counted in `login_throttle::sign_in_round_trips`.
#[tokio::test]
async fn the_sign_in_form_costs_nothing() {
    use auth_core::endpoints::login;
    let Some(w) = world(vec![GrantType::AuthorizationCode]).await else {
        return;
    };
    let request = HttpRequest::new(Method::GET, "/login?return_to=%2Faccount");
    let (response, cost) = w.cost(login::handle(&w.app, &request)).await;
    assert_eq!(response.status(), StatusCode::OK);
    expect_cost("login form", cost, (0, 0.0, 0.0));
}

/// A refresh (warm: the client and key cached): the refresh token's read, then one
/// transaction (a check, the old token used, the new one put, the grant touched); its reuse
/// revokes the family; errors and revocations. Client credentials are counted in
/// `client_credentials`.
#[tokio::test]
async fn refresh_revoke_and_token_errors_cost() {
    use crate::common::requests::client_post;
    use auth_core::endpoints::revoke;
    let Some(w) = world(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]).await else {
        return;
    };
    let issued = w.tokens("read").await;
    let refresh = |token: &str| {
        client_post(
            "/oauth/token",
            "app",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
    };
    let (response, cost) = w
        .cost(token::handle(
            &w.app,
            &refresh(&text_of(&issued, "refresh_token")),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    expect_cost("refresh, warm", cost, (2, 3.0, 6.0));

    // The used refresh token again: its family is revoked.
    let (response, cost) = w
        .cost(token::handle(
            &w.app,
            &refresh(&text_of(&issued, "refresh_token")),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    expect_cost("refresh token reused", cost, (3, 1.0, 2.0));

    // Errors: a code never issued; a wrong secret (the client is cached: no round trip).
    let unknown = form_encode(&[
        ("grant_type", "authorization_code"),
        ("code", &"x".repeat(43)),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", "app"),
        ("client_secret", "app-secret"),
    ]);
    let request = HttpRequest::new(Method::POST, "/oauth/token").with_form(&unknown);
    let (response, cost) = w.cost(token::handle(&w.app, &request)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    expect_cost("unknown code", cost, (1, 1.0, 0.0));
    let wrong = form_encode(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "r"),
        ("client_id", "app"),
        ("client_secret", "wrong"),
    ]);
    let request = HttpRequest::new(Method::POST, "/oauth/token").with_form(&wrong);
    let (response, cost) = w.cost(token::handle(&w.app, &request)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    expect_cost("wrong client secret", cost, (0, 0.0, 0.0));

    // Revocation: an access token, then a refresh token (its family).
    let fresh = w.tokens("read").await;
    let request = client_post(
        "/oauth/revoke",
        "app",
        &[("token", &text_of(&fresh, "access_token"))],
    );
    let (response, cost) = w.cost(revoke::handle(&w.app, &request)).await;
    assert_eq!(response.status(), StatusCode::OK);
    expect_cost("revoke an access token", cost, (2, 0.5, 1.0));
    let request = client_post(
        "/oauth/revoke",
        "app",
        &[("token", &text_of(&fresh, "refresh_token"))],
    );
    let (response, cost) = w.cost(revoke::handle(&w.app, &request)).await;
    assert_eq!(response.status(), StatusCode::OK);
    expect_cost("revoke a refresh token", cost, (3, 1.0, 2.0));
}

/// The account page (session and account in one BatchGetItem, the consents' Query, the scope
/// Scan when an app is listed), its POSTs, and sign-out without a hint (asked, then confirmed).
#[tokio::test]
async fn logout_and_account_cost() {
    use auth_core::endpoints::{account, logout};
    let Some(w) = world(vec![GrantType::AuthorizationCode]).await else {
        return;
    };
    let csrf = session::csrf_token(&w.session_id);
    let (response, cost) = w
        .cost(account::handle(&w.app, &w.page(Method::GET, "/account")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    expect_cost("account page", cost, (3, 3.0, 0.0));
    let _ = w.tokens("read").await;
    let (response, cost) = w
        .cost(account::handle(&w.app, &w.page(Method::GET, "/account")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    expect_cost("account page, one app allowed", cost, (4, 4.0, 0.0));
    let withdraw = w.page(Method::POST, "/account").with_form(&form_encode(&[
        ("csrf_token", &csrf),
        ("action", "withdraw"),
        ("client_id", "app"),
    ]));
    let (response, cost) = w.cost(account::handle(&w.app, &withdraw)).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.body()
    );
    expect_cost("account: withdraw an app", cost, (4, 2.5, 2.0));
    // Logout without a hint: asked first, then confirmed.
    let (response, cost) = w
        .cost(logout::handle(
            &w.app,
            &w.page(Method::GET, "/oauth/logout"),
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{}", response.body());
    expect_cost("logout, asking", cost, (1, 2.0, 0.0));
    let csrf = session::csrf_token(&w.session_id);
    let confirm = w
        .page(Method::POST, "/oauth/logout")
        .with_form(&form_encode(&[("csrf_token", &csrf)]));
    let (response, cost) = w.cost(logout::handle(&w.app, &confirm)).await;
    assert!(
        response.status().is_success() || response.status().is_redirection(),
        "{}",
        response.body()
    );
    expect_cost("logout, confirmed", cost, (2, 2.0, 1.0));
    let (response, cost) = w
        .cost(account::handle(&w.app, &w.page(Method::GET, "/account")))
        .await;
    assert!(response.status().is_redirection());
    expect_cost("account page, signed out", cost, (1, 2.0, 0.0));

    // Signed in again: "Sign out everywhere".
    let Counted { world, trips, .. } = w;
    let world = world.signed_in(SUB, USERNAME).await;
    let w = Counted {
        cookie: world.cookie(),
        world,
        trips,
    };
    let everywhere = w.page(Method::POST, "/account").with_form(&form_encode(&[
        ("csrf_token", &csrf),
        ("action", "sign_out_everywhere"),
    ]));
    let (response, cost) = w.cost(account::handle(&w.app, &everywhere)).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.body()
    );
    expect_cost("account: sign out everywhere", cost, (3, 2.0, 2.0));
}
