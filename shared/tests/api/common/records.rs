//! Records the storage tests store.

use super::pkce::CHALLENGE;
use auth_core::model::*;
use auth_core::secret::{now, Secret};
use auth_core::store::{
    ClientAdmin, ConsentAdmin, KeyAdmin, RefreshTokenStore, ScopeAdmin, SigningKey, UserAdmin,
};

pub fn grant(code_hash: &str, expires_at: i64) -> Grant {
    Grant {
        code_hash: code_hash.into(),
        client_id: "client".into(),
        redirect_uri: Some("https://app.example/cb".into()),
        sub: "user-sub".into(),
        scopes: ScopeSet::parse("read").unwrap_or_default(),
        pkce: Some(PkceChallenge {
            challenge: CHALLENGE.into(),
            method: PkceMethod::S256,
        }),
        expires_at,
        redeemed_at: None,
        issued_jti: None,
        issued_family: None,
        nonce: None,
        authentication: None,
        resources: Vec::new(),
    }
}

pub fn refresh(hash: &str, family: &str, expires_at: i64) -> RefreshToken {
    RefreshToken {
        token_hash: hash.into(),
        family_id: family.into(),
        client_id: "client".into(),
        sub: "user-sub".into(),
        scopes: ScopeSet::parse("read").unwrap_or_default(),
        issued_at: now(),
        expires_at,
        family_expires_at: expires_at,
        used_at: None,
        revoked: false,
        authentication: None,
        resources: Vec::new(),
    }
}

pub fn family(id: &str, current: &str, expires_at: i64) -> TokenFamily {
    TokenFamily {
        family_id: id.into(),
        client_id: "client".into(),
        sub: "user-sub".into(),
        expires_at,
        current: Some(current.into()),
        revoked: false,
        authentication: None,
    }
}

pub fn client_named(client_id: &str, name: String) -> Client {
    registered(ClientRegistration {
        client_id: client_id.into(),
        name,
        redirect_uris: vec!["https://app.example/cb".into()],
        allowed_scopes: ScopeSet::parse("read").unwrap_or_default(),
        default_scopes: ScopeSet::new(),
        kind: ClientKind::Public,
        secret_hash: None,
        pkce_optional: false,
        allow_plain_pkce: false,
        resource_server: false,
        grant_types: vec![GrantType::AuthorizationCode],
        post_logout_redirect_uris: Vec::new(),
        web_origins: vec!["https://static.example:8443".into()],
        keys: None,
    })
}

pub use super::fixtures::registered;

/// A user and their account, as `authctl user create` stores them.
pub async fn create_user(store: &impl UserAdmin, username: &str, sub: &str) -> User {
    let user = User {
        username: username.into(),
        sub: sub.into(),
        password_hash: "hash".into(),
    };
    let account = Account::new(&user, Profile::default(), 0);
    assert!(
        store.create_user(&user, &account).await.is_ok(),
        "user {username}"
    );
    user
}

pub fn consent_for(client_id: &str) -> Consent {
    Consent {
        sub: "user-sub".into(),
        client_id: client_id.into(),
        scopes: ScopeSet::parse("read").unwrap_or_default(),
        expires_at: now() + 600,
    }
}

pub fn signing_key(kid: &str, created_at: i64, active_from: i64) -> SigningKey {
    SigningKey {
        kid: kid.into(),
        created_at,
        active_from,
        private_pem: Some(Secret::new("pem")),
        n: "n".into(),
        e: "AQAB".into(),
    }
}

/// Stores `count` items for every listing, named `item-0`, `item-1`...: signing keys
/// (created in that order), scopes, clients, consents of `user-sub`, and families of
/// `user-sub` for `client`. Answers the names.
pub async fn store_items_of_every_listing(
    store: &(impl KeyAdmin + ScopeAdmin + ClientAdmin + ConsentAdmin + RefreshTokenStore),
    count: i64,
) -> Vec<String> {
    let t = now();
    let names: Vec<String> = (0..count).map(|i| format!("item-{i}")).collect();
    for (created_at, name) in (0..).zip(&names) {
        assert!(store
            .put_key(&signing_key(name, created_at, created_at))
            .await
            .is_ok());
        let scope = Scope {
            name: name.clone(),
            description: String::new(),
        };
        assert!(store.create_scope(&scope).await.is_ok());
        assert!(store
            .create_client(&client_named(name, "App".into()))
            .await
            .is_ok());
        assert!(store.put_consent(&consent_for(name)).await.is_ok());
        let token = format!("h-{created_at}");
        assert!(store
            .create_family(
                &family(name, &token, t + 600),
                &refresh(&token, name, t + 600)
            )
            .await
            .is_ok());
    }
    names
}
