//! The `World` fixture: an `App` (the test configuration, `Config::for_tests()`) over a store
//! set up step by step as a test needs it, each step a method that stores records and
//! panics when the store refuses them:
//! `World::on(store).with_scopes(..).await.with_clients(..).await.with_key().await`.
//!
//! `world()` is the world the handler suites share: the scopes `read` and `write`, the
//! clients of `clients()`, the user alice signed in (`World::cookie`) and the signing key.
//! Each suite adds its own verbs (`impl World` in the suite: `w.redeem(..)`,
//! `w.authorize(..)`), and the records it needs on top.

use super::pkce::CHALLENGE;
use auth_core::config::Config;
use auth_core::keys::generate_signing_key;
use auth_core::model::*;
use auth_core::password::hash_password;
use auth_core::profile::Claim;
use auth_core::secret::{now, now_ms, AuthorizationCode, ClientSecret, SessionId};
use auth_core::session;
use auth_core::store::memory::MemoryStore;
use auth_core::store::*;
use auth_core::App;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

/// The redirect URI of every client of the fixtures (the first of two, for most).
pub const REDIRECT: &str = "https://app.example/cb";
/// The user of `world()`: username, subject and password.
pub const USERNAME: &str = "alice";
pub const SUB: &str = "sub-alice";
pub const PASSWORD: &str = "correct horse";
/// A secret with every character that form-urlencoding changes (RFC 6749 2.3.1).
pub const ODD_SECRET: &str = "s:e+c%r et/x";

/// A world: the `App` the handlers are called with, and the session id that `signed_in`
/// stores and `cookie` names.
pub struct World<S = MemoryStore> {
    pub app: App<S>,
    pub session_id: SessionId,
}

/// Scopes `read` and `write`; the clients of `clients()`; alice, signed in; the signing key.
pub async fn world() -> World {
    world_without_key().await.with_key().await
}

/// `world()` before any signing key is stored.
pub async fn world_without_key() -> World {
    World::on(MemoryStore::default())
        .with_scopes(&[("read", "Read your data"), ("write", "Change your data")])
        .await
        .with_clients(clients())
        .await
        .with_alice_signed_in(PASSWORD)
        .await
}

/// The clients of `world()`, each registered with `REDIRECT` and a second URI, the scopes
/// `read` and `write` (`read` by default) and, if confidential, the secret of `secret_of`:
/// - `app`, `other`: confidential, code and refresh grants;
/// - `spa`: public, code and refresh grants;
/// - `noref`, `odd` (whose secret is `ODD_SECRET`): confidential, code grant only;
/// - `legacy`: confidential, PKCE optional and `plain` allowed, code and refresh grants;
/// - `single`: confidential, `REDIRECT` its only redirect URI, code grant;
/// - `api`: a resource server (`authctl client create --resource-server`): it introspects
///   and takes part in no flow.
pub fn clients() -> Vec<ClientRegistration> {
    use ClientKind::{Confidential, Public};
    use GrantType::{AuthorizationCode as Code, RefreshToken as Refresh};
    vec![
        client("app", Confidential, &[Code, Refresh]),
        client("other", Confidential, &[Code, Refresh]),
        client("spa", Public, &[Code, Refresh]),
        client("noref", Confidential, &[Code]),
        client("odd", Confidential, &[Code]),
        ClientRegistration {
            pkce_optional: true,
            allow_plain_pkce: true,
            ..client("legacy", Confidential, &[Code, Refresh])
        },
        ClientRegistration {
            redirect_uris: vec![REDIRECT.into()],
            ..client("single", Confidential, &[Code])
        },
        ClientRegistration {
            resource_server: true,
            redirect_uris: Vec::new(),
            ..client("api", Confidential, &[])
        },
    ]
}

/// The secret of each confidential client of `clients()`; `None` for public or unknown ones.
pub fn secret_of(client_id: &str) -> Option<&'static str> {
    match client_id {
        "app" => Some("app-secret"),
        "other" => Some("other-secret"),
        "noref" => Some("noref-secret"),
        "legacy" => Some("legacy-secret"),
        "single" => Some("single-secret"),
        "odd" => Some(ODD_SECRET),
        "api" => Some("api-secret"),
        _ => None,
    }
}

/// The registration of a client of the fixtures (see `clients()`); a confidential one
/// not named by `secret_of` has the secret `secret`.
pub fn client(id: &str, kind: ClientKind, grant_types: &[GrantType]) -> ClientRegistration {
    ClientRegistration {
        client_id: id.into(),
        name: format!("App {id}"),
        redirect_uris: vec![REDIRECT.into(), "https://app.example/other".into()],
        allowed_scopes: set(&["read", "write"]),
        default_scopes: set(&["read"]),
        kind,
        secret_hash: (kind == ClientKind::Confidential)
            .then(|| ClientSecret::new(secret_of(id).unwrap_or("secret")).hash()),
        pkce_optional: false,
        allow_plain_pkce: false,
        resource_server: false,
        grant_types: grant_types.to_vec(),
        post_logout_redirect_uris: Vec::new(),
        web_origins: Vec::new(),
        keys: None,
    }
}

/// A client of this registration, which must meet the rules.
pub fn registered(registration: ClientRegistration) -> Client {
    Client::register(registration).unwrap_or_else(|rule| panic!("{rule}"))
}

/// The scope set of these names, which must be valid scope tokens.
pub fn set(names: &[&str]) -> ScopeSet {
    ScopeSet::from_names(names.iter().copied())
        .unwrap_or_else(|| panic!("invalid scope names {names:?}"))
}

/// A new RSA signing key.
pub fn new_key() -> SigningKey {
    match generate_signing_key() {
        Ok(key) => key,
        Err(error) => panic!("key generation failed: {error}"),
    }
}

/// One RSA key for every world: generating one per test would only slow them down.
pub fn shared_key() -> &'static SigningKey {
    static KEY: OnceLock<SigningKey> = OnceLock::new();
    KEY.get_or_init(new_key)
}

/// The argon2 hash of `password`, computed once per password: hashing costs about a
/// second in a debug build.
pub fn password_hash(password: &str) -> String {
    static HASHES: OnceLock<Mutex<BTreeMap<String, String>>> = OnceLock::new();
    let hashes = HASHES.get_or_init(Mutex::default);
    let mut hashes = match hashes.lock() {
        Ok(hashes) => hashes,
        Err(poisoned) => poisoned.into_inner(),
    };
    hashes
        .entry(password.to_string())
        .or_insert_with(|| match hash_password(password) {
            Ok(hash) => hash,
            Err(error) => panic!("argon2: {error}"),
        })
        .clone()
}

/// What the store answered, or a panic naming `what` was being stored or read.
pub fn stored<T>(what: &str, result: StoreResult<T>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what}: {error}"),
    }
}

/// A profile with these claims, each of which must be accepted.
pub fn profile_of(claims: &[(Claim, &str)]) -> Profile {
    let mut profile = Profile::default();
    for (claim, value) in claims {
        assert_eq!(profile.set(*claim, value), Ok(()), "{claim}");
    }
    profile
}

/// A grant as the token endpoint starts it when it redeems a code: the family `family_id` of
/// `sub` and `client_id`, and its first refresh token (hashed `token_hash`, for these scopes),
/// issued at `issued_at`; the token and the family are live until `expires_at`.
pub fn grant_started(
    family_id: &str,
    (client_id, sub): (&str, &str),
    scopes: ScopeSet,
    token_hash: String,
    issued_at: i64,
    expires_at: i64,
) -> (TokenFamily, RefreshToken) {
    let family = TokenFamily {
        family_id: family_id.into(),
        client_id: client_id.into(),
        sub: sub.into(),
        expires_at,
        current: Some(token_hash.clone()),
        revoked: false,
        authentication: None,
    };
    let first = RefreshToken {
        token_hash,
        family_id: family_id.into(),
        client_id: client_id.into(),
        sub: sub.into(),
        scopes,
        issued_at,
        expires_at,
        family_expires_at: expires_at,
        used_at: None,
        revoked: false,
        authentication: None,
        resources: Vec::new(),
    };
    (family, first)
}

/// A code of `sub` for `client_id` and these scopes, as authorize stores it: bound to
/// `REDIRECT` and the RFC 7636 Appendix B challenge (S256), live for a minute.
pub fn code_grant(code: &str, client_id: &str, sub: &str, scopes: ScopeSet) -> Grant {
    Grant {
        code_hash: AuthorizationCode::new(code).hash(),
        client_id: client_id.into(),
        redirect_uri: Some(REDIRECT.into()),
        sub: sub.into(),
        scopes,
        pkce: Some(PkceChallenge {
            challenge: CHALLENGE.into(),
            method: PkceMethod::S256,
        }),
        expires_at: now() + 60,
        redeemed_at: None,
        issued_jti: None,
        issued_family: None,
        nonce: None,
        authentication: None,
        resources: Vec::new(),
    }
}

impl<S> World<S> {
    /// Nothing stored yet; the session id `signed_in` will store.
    pub fn on(store: S) -> Self {
        World {
            app: App::new(Config::for_tests(), store),
            session_id: SessionId::new("s".repeat(43)),
        }
    }

    /// The session cookie of the user `signed_in` stored for `SUB`: `<name>=<sub>.<id>`.
    pub fn cookie(&self) -> String {
        self.cookie_of(&self.session_id)
    }

    /// The cookie of this session of `SUB`.
    pub fn cookie_of(&self, session_id: &SessionId) -> String {
        format!(
            "{}={SUB}.{}",
            session::cookie_name(&self.app.config),
            session_id.expose()
        )
    }
}

impl<S: ScopeAdmin> World<S> {
    /// The scopes of these names and descriptions.
    pub async fn with_scopes(self, scopes: &[(&str, &str)]) -> Self {
        for (name, description) in scopes {
            let scope = Scope {
                name: (*name).into(),
                description: (*description).into(),
            };
            stored("scope", self.app.store.create_scope(&scope).await);
        }
        self
    }
}

impl<S: ClientAdmin> World<S> {
    /// These clients, which must meet the registration rules.
    pub async fn with_clients(self, clients: impl IntoIterator<Item = ClientRegistration>) -> Self {
        for registration in clients {
            let client = registered(registration);
            stored("client", self.app.store.create_client(&client).await);
        }
        self
    }
}

impl<S: KeyAdmin> World<S> {
    /// The shared signing key.
    pub async fn with_key(self) -> Self {
        self.put_key(shared_key()).await;
        self
    }

    pub async fn put_key(&self, key: &SigningKey) {
        stored("key", self.app.store.put_key(key).await);
    }
}

impl<S: UserAdmin + SessionStore> World<S> {
    /// alice's account with this password, and her session (`signed_in`).
    pub async fn with_alice_signed_in(self, password: &str) -> Self {
        self.with_account(USERNAME, SUB, password)
            .await
            .signed_in(SUB, USERNAME)
            .await
    }
}

impl<S: UserAdmin> World<S> {
    /// An account with this password.
    pub async fn with_account(self, username: &str, sub: &str, password: &str) -> Self {
        let user = User {
            username: username.into(),
            sub: sub.into(),
            password_hash: password_hash(password),
        };
        let account = Account::new(&user, Profile::default(), now());
        stored("user", self.app.store.create_user(&user, &account).await);
        self
    }
}

impl<S: SessionStore> World<S> {
    /// A live session of this user, for ten minutes, under `session_id` (it counts only
    /// while the user's account exists: `with_account`).
    pub async fn signed_in(self, sub: &str, username: &str) -> Self {
        let session = Session {
            id_hash: self.session_id.hash(),
            sub: sub.into(),
            username: username.into(),
            signed_in_at_ms: now_ms(),
            expires_at: now() + 600,
        };
        stored("session", self.app.store.create_session(&session).await);
        self
    }

    /// Another live session of alice (another browser), begun at `signed_in_at_ms`, under the
    /// id of 43 `id`s.
    pub async fn other_session(&self, id: char, signed_in_at_ms: i64) -> SessionId {
        self.session_of((SUB, USERNAME), id, signed_in_at_ms).await
    }

    /// A live session of this user (sub, username), begun at `signed_in_at_ms`, under the id
    /// of 43 `id`s.
    pub async fn session_of(
        &self,
        (sub, username): (&str, &str),
        id: char,
        signed_in_at_ms: i64,
    ) -> SessionId {
        let session_id = SessionId::new(id.to_string().repeat(43));
        let session = Session {
            id_hash: session_id.hash(),
            sub: sub.into(),
            username: username.into(),
            signed_in_at_ms,
            expires_at: now() + 600,
        };
        stored("session", self.app.store.create_session(&session).await);
        session_id
    }

    /// Whether the session of this id hash is stored and live.
    pub async fn session_live(&self, id_hash: &str) -> bool {
        matches!(
            self.app.store.get_session(id_hash, now()).await,
            Ok(Some(_))
        )
    }
}

impl<S: CodeStore> World<S> {
    /// An authorization code, as authorize would have stored it.
    pub async fn add_code(&self, grant: Grant) {
        stored("code", self.app.store.create_code(&grant).await);
    }
}

/// Sign-in attempts are counted in fixed windows (`throttle::WINDOW_SECONDS`): a test that
/// makes several attempts and counts them first waits for the next window when the current one
/// ends within `seconds`, so that its attempts never fall into two windows.
pub async fn in_one_sign_in_window(seconds: i64) {
    let left =
        auth_core::throttle::WINDOW_SECONDS - now().rem_euclid(auth_core::throttle::WINDOW_SECONDS);
    if left <= seconds {
        let wait = u64::try_from(left + 1).unwrap_or(1);
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    }
}
