//! DynamoDB round trips per request, counted against the local server: a deterministic
//! property, asserted here (timings live in the benchmarks, not in tests).

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

    let (response, trips) = w.authorize("read").await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(!code_of(&response).is_empty());
    assert_eq!(
        trips, 2,
        "authorize with remembered consent: one BatchGetItem, one PutItem"
    );

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
    let (response, warm) = w.exchange(&code_of(&second)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        warm, 2,
        "warm container (client and key cached): the code's read, then one transaction that \
         redeems it and starts its grant"
    );
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

    let nobody = HttpRequest::new(Method::GET, "/oauth/userinfo");
    let (response, trips) = w.counted(userinfo::handle(&w.app, &nobody)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(trips, 0, "no token: no round trip");

    let (signed_part, signature) = token.rsplit_once('.').unwrap_or_default();
    let other = if signature.starts_with('A') { "B" } else { "A" };
    let forged = format!("{signed_part}.{other}{}", &signature[1..]);
    let (response, trips) = w.counted(userinfo::handle(&w.app, &bearer(&forged))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(trips, 1, "a signature that fails: the key Scan only");
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
