//! criterion benches of the domain's hot paths, on the in-memory store (no I/O):
//! PKCE verification, code issue, RS256 signing and verification of an access token,
//! and the authorize → consent → token handlers end to end.
//!
//! `cargo bench -p auth-core --bench hot_paths` (about a minute once built);
//! `scripts/bench` runs it and reports the figures in `docs/performance.md`.

use auth_core::authorization::{self, AuthorizationRequest};
use auth_core::config::Config;
use auth_core::endpoints::{authorize, consent, token};
use auth_core::http::{form_encode, HttpRequest, HttpResponse, Params};
use auth_core::keys::generate_signing_key;
use auth_core::model::*;
use auth_core::pkce;
use auth_core::secret::{now, AuthorizationCode, ClientSecret, SessionId};
use auth_core::session;
use auth_core::store::memory::MemoryStore;
use auth_core::store::*;
use auth_core::tokens::{new_jti, verify_access_token, AccessTokenClaims, Signer};
use auth_core::App;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use http::{Method, StatusCode};
use std::hint::black_box;
use std::time::Duration;

/// The RFC 7636 Appendix B PKCE vectors, shared with the integration tests.
#[path = "../tests/api/common/pkce.rs"]
mod rfc7636;
use rfc7636::{CHALLENGE, VERIFIER};

const CLIENT_ID: &str = "app";
const CLIENT_SECRET: &str = "app-secret";
const REDIRECT: &str = "https://app.example/cb";
const SUB: &str = "sub-alice";

fn scopes(names: &[&str]) -> ScopeSet {
    ScopeSet::from_names(names.iter().copied())
        .unwrap_or_else(|| panic!("invalid scope names {names:?}"))
}

fn must<T, E: std::fmt::Debug>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what}: {error:?}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    must(
        tokio::runtime::Builder::new_current_thread().build(),
        "tokio runtime",
    )
}

fn app_client() -> Client {
    let registration = ClientRegistration {
        client_id: CLIENT_ID.into(),
        name: "Bench App".into(),
        redirect_uris: vec![REDIRECT.into()],
        allowed_scopes: scopes(&["read", "write"]),
        default_scopes: scopes(&["read"]),
        kind: ClientKind::Confidential,
        secret_hash: Some(ClientSecret::new(CLIENT_SECRET).hash()),
        pkce_optional: false,
        allow_plain_pkce: false,
        resource_server: false,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        post_logout_redirect_uris: Vec::new(),
        web_origins: Vec::new(),
        keys: None,
    };
    Client::register(registration).unwrap_or_else(|rule| panic!("{rule}"))
}

/// What a signed-in user's browser and the client app have: a store with a scope
/// catalogue, a confidential client, a live session, a remembered consent and a key.
struct World {
    app: App<MemoryStore>,
    session_id: SessionId,
}

impl World {
    async fn new(signing_key: SigningKey) -> World {
        let store = MemoryStore::default();
        for name in ["read", "write"] {
            let scope = Scope {
                name: name.into(),
                description: format!("{name} your data"),
            };
            must(store.create_scope(&scope).await, "scope");
        }
        must(store.create_client(&app_client()).await, "client");
        let session_id = SessionId::new("s".repeat(43));
        let session = Session {
            id_hash: session_id.hash(),
            sub: SUB.into(),
            username: "alice".into(),
            signed_in_at_ms: 1,
            expires_at: now() + 3600,
        };
        must(store.create_session(&session).await, "session");
        // The user: sessions count, and codes and refresh tokens are honoured, only while
        // their account exists.
        let user = User {
            username: "alice".into(),
            sub: SUB.into(),
            password_hash: "unused".into(),
        };
        let account = Account::new(&user, Profile::default(), 0);
        must(store.create_user(&user, &account).await, "user");
        let consent = Consent {
            sub: SUB.into(),
            client_id: CLIENT_ID.into(),
            scopes: scopes(&["read"]),
            expires_at: now() + 3600,
        };
        must(store.put_consent(&consent).await, "consent");
        must(store.put_key(&signing_key).await, "key");
        World {
            app: App::new(Config::for_tests(), store),
            session_id,
        }
    }

    fn cookie(&self) -> String {
        format!(
            "{}={SUB}.{}",
            session::cookie_name(&self.app.config),
            self.session_id.expose()
        )
    }

    fn authorization_pairs() -> Vec<(&'static str, &'static str)> {
        vec![
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("scope", "read"),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
    }

    async fn authorize(&self) -> HttpResponse {
        let query = form_encode(&Self::authorization_pairs());
        let request = HttpRequest::new(Method::GET, &format!("/oauth/authorize?{query}"))
            .with_header("cookie", &self.cookie());
        authorize::handle(&self.app, &request).await
    }

    async fn approve(&self) -> HttpResponse {
        let csrf = session::csrf_token(&self.session_id);
        let mut pairs = Self::authorization_pairs();
        pairs.retain(|(name, _)| *name != "response_type");
        pairs.push(("csrf_token", &csrf));
        pairs.push(("decision", "approve"));
        let request = HttpRequest::new(Method::POST, "/oauth/consent")
            .with_form(&form_encode(&pairs))
            .with_header("cookie", &self.cookie());
        consent::handle(&self.app, &request).await
    }

    async fn exchange(&self, code: &str) -> HttpResponse {
        let body = form_encode(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ]);
        let request = HttpRequest::new(Method::POST, "/oauth/token").with_form(&body);
        token::handle(&self.app, &request).await
    }

    /// A fresh code for the user, stored as authorize would store it.
    async fn issue_code(&self) -> AuthorizationCode {
        let (code, grant) = validated_request().new_code(&self.app.config, SUB, sign_in());
        must(self.app.store.create_code(&grant).await, "code");
        code
    }
}

/// The `code` of a redirect's `Location`, after checking the status.
fn code_of(response: &HttpResponse, status: StatusCode) -> String {
    assert_eq!(response.status(), status, "unexpected response");
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let query = location.split_once('?').map_or("", |(_, q)| q);
    let params = must(Params::parse(query.as_bytes()), "location query");
    match params.get("code") {
        Some(code) => code.to_string(),
        None => panic!("no code in {location}"),
    }
}

fn validated_request() -> AuthorizationRequest {
    let pairs = World::authorization_pairs();
    let params = must(Params::parse(form_encode(&pairs).as_bytes()), "params");
    must(
        authorization::validate(Some(app_client()), &params),
        "authorization request",
    )
}

fn signing_key() -> SigningKey {
    must(generate_signing_key(), "key generation")
}

fn claims(config: &Config) -> AccessTokenClaims {
    AccessTokenClaims::new(
        config,
        SUB,
        CLIENT_ID,
        &scopes(&["read", "write"]),
        new_jti(),
        now(),
        "grant",
    )
}

fn bench_pkce(c: &mut Criterion) {
    let challenge = PkceChallenge {
        challenge: CHALLENGE.into(),
        method: PkceMethod::S256,
    };
    assert!(pkce::verify(&challenge, VERIFIER));
    c.bench_function("pkce_verify_s256", |b| {
        b.iter(|| pkce::verify(black_box(&challenge), black_box(VERIFIER)))
    });
}

/// The sign-in a code stands on (OpenID Connect's `auth_time` and `sid`).
fn sign_in() -> Authentication {
    Authentication {
        auth_time: now(),
        sid: "sid".into(),
    }
}

fn bench_code_issue(c: &mut Criterion) {
    let request = validated_request();
    let config = Config::for_tests();
    c.bench_function("code_issue", |b| {
        b.iter(|| request.new_code(black_box(&config), SUB, sign_in()))
    });
}

fn bench_tokens(c: &mut Criterion) {
    let config = Config::for_tests();
    let key = signing_key();
    let signer = must(Signer::from_key(&key), "signer");
    let claims = claims(&config);
    c.bench_function("rs256_sign_access_token", |b| {
        b.iter(|| must(signer.sign(black_box(&claims)), "sign"))
    });
    // The reference of issue 6: one RS256 JWT as `jsonwebtoken::encode` signs it (it parses
    // the key on every call; `Signer` parses it once).
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(key.kid.clone());
    let pem = must(key.private_pem.as_ref().ok_or("no private key"), "pem");
    let encoding_key = must(
        jsonwebtoken::EncodingKey::from_rsa_pem(pem.expose().as_bytes()),
        "encoding key",
    );
    c.bench_function("rs256_sign_jsonwebtoken", |b| {
        b.iter(|| {
            must(
                jsonwebtoken::encode(&header, black_box(&claims), &encoding_key),
                "encode",
            )
        })
    });
    let token = must(signer.sign(&claims), "sign");
    let keys = [key.public_half()];
    assert!(verify_access_token(&config, &keys, &token).is_some());
    c.bench_function("verify_access_token", |b| {
        b.iter(|| verify_access_token(&config, &keys, black_box(&token)))
    });
}

fn bench_flow(c: &mut Criterion) {
    let rt = runtime();
    let world = rt.block_on(World::new(signing_key()));
    let mut group = c.benchmark_group("flow");
    group.bench_function("authorize_remembered_consent", |b| {
        b.iter(|| rt.block_on(world.authorize()))
    });
    group.bench_function("consent_approve", |b| {
        b.iter(|| rt.block_on(world.approve()))
    });
    group.bench_function("token_exchange", |b| {
        b.iter_batched(
            || rt.block_on(world.issue_code()),
            |code| {
                let response = rt.block_on(world.exchange(code.expose()));
                assert_eq!(response.status(), StatusCode::OK);
                response
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("authorize_consent_token", |b| {
        b.iter(|| {
            rt.block_on(async {
                code_of(&world.authorize().await, StatusCode::FOUND);
                let code = code_of(&world.approve().await, StatusCode::SEE_OTHER);
                let response = world.exchange(&code).await;
                assert_eq!(response.status(), StatusCode::OK);
                response
            })
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = hot_paths;
    config = config();
    targets = bench_pkce, bench_code_issue, bench_tokens, bench_flow
}
criterion_main!(hot_paths);
