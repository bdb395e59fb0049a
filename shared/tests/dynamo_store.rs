//! Storage tests against a real DynamoDB-compatible server (moto, started by
//! `scripts/test`). Each run creates its own tables from `template.yaml`.

use auth_core::model::*;
use auth_core::secret::now;
use auth_core::store::dynamo::DynamoStore;
use auth_core::store::*;
use std::collections::BTreeSet;
use std::sync::Arc;

mod common;

/// A store on fresh tables, or `None` (test skipped) when no local server is configured.
async fn fresh_store() -> Option<DynamoStore> {
    Some(DynamoStore::from_env(common::fresh_tables()?).await)
}

fn grant(code_hash: &str, expires_at: i64) -> Grant {
    Grant {
        code_hash: code_hash.into(),
        client_id: "client".into(),
        redirect_uri: Some("https://app.example/cb".into()),
        sub: "user-sub".into(),
        scopes: BTreeSet::from(["read".to_string()]),
        pkce: Some(PkceChallenge {
            challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            method: PkceMethod::S256,
        }),
        expires_at,
        redeemed_at: None,
        issued_jti: None,
        issued_family: None,
    }
}

#[tokio::test]
async fn scopes_are_created_once_and_deleted_once() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let scope = Scope {
        name: "read".into(),
        description: "Read".into(),
    };
    assert!(store.create_scope(&scope).await.is_ok());
    assert!(matches!(
        store.create_scope(&scope).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(store.list_scopes().await.ok(), Some(vec![scope]));
    assert!(store.delete_scope("read").await.is_ok());
    assert!(matches!(
        store.delete_scope("read").await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn clients_round_trip_and_replace_needs_an_existing_one() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let mut client = Client {
        client_id: "app".into(),
        name: "App".into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        allowed_scopes: BTreeSet::from(["read".to_string(), "write".to_string()]),
        default_scopes: BTreeSet::new(),
        kind: ClientKind::Confidential,
        secret_hash: Some("hash".into()),
        pkce_optional: false,
        allow_plain_pkce: false,
        resource_server: true,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
    };
    assert!(store.create_client(&client).await.is_ok());
    assert!(matches!(
        store.create_client(&client).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store.get_client("app").await.ok().flatten(),
        Some(client.clone())
    );
    client.name = "Renamed".into();
    assert!(store.replace_client(&client).await.is_ok());
    assert_eq!(
        store.get_client("app").await.ok().flatten().map(|c| c.name),
        Some("Renamed".into())
    );
    client.client_id = "missing".into();
    assert!(matches!(
        store.replace_client(&client).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.get_client("missing").await.ok(), Some(None));
}

#[tokio::test]
async fn a_code_is_consumed_once_and_a_replay_is_recognised() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let t = now();
    assert!(store.create_code(&grant("code-1", t + 60)).await.is_ok());
    assert!(matches!(
        store.create_code(&grant("code-1", t + 60)).await,
        Err(StoreError::AlreadyExists)
    ));

    let first = store
        .redeem_code("code-1", t, "jti-1", Some("family-1"))
        .await;
    let Ok(Redemption::Redeemed(redeemed)) = first else {
        panic!("first redemption: {first:?}")
    };
    assert_eq!(redeemed.issued_jti.as_deref(), Some("jti-1"));
    assert_eq!(redeemed.pkce.map(|p| p.method), Some(PkceMethod::S256));

    let second = store.redeem_code("code-1", t, "jti-2", None).await;
    let Ok(Redemption::Replayed(replayed)) = second else {
        panic!("second redemption: {second:?}")
    };
    assert_eq!(
        replayed.issued_jti.as_deref(),
        Some("jti-1"),
        "the replay sees what the first issued"
    );
    assert_eq!(replayed.issued_family.as_deref(), Some("family-1"));

    assert!(matches!(
        store.redeem_code("unknown", t, "j", None).await,
        Ok(Redemption::Invalid)
    ));
}

#[tokio::test]
async fn an_expired_code_is_refused_before_ttl_deletion() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let t = now();
    assert!(store.create_code(&grant("old", t - 1)).await.is_ok());
    assert!(matches!(
        store.redeem_code("old", t, "j", None).await,
        Ok(Redemption::Invalid)
    ));
}

#[tokio::test]
async fn of_concurrent_redemptions_exactly_one_succeeds() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let store = Arc::new(store);
    let t = now();
    assert!(store.create_code(&grant("race", t + 60)).await.is_ok());
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .redeem_code("race", t, &format!("jti-{i}"), None)
                    .await
            })
        })
        .collect();
    let mut redeemed = 0;
    let mut replayed = 0;
    for attempt in attempts {
        match attempt.await {
            Ok(Ok(Redemption::Redeemed(_))) => redeemed += 1,
            Ok(Ok(Redemption::Replayed(_))) => replayed += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((redeemed, replayed), (1, 19));
}

#[tokio::test]
async fn sessions_and_consents_expire_on_read() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let t = now();
    let live = Session {
        id_hash: "live".into(),
        sub: "s".into(),
        username: "u".into(),
        expires_at: t + 60,
    };
    let dead = Session {
        id_hash: "dead".into(),
        expires_at: t - 1,
        ..live.clone()
    };
    assert!(store.create_session(&live).await.is_ok());
    assert!(store.create_session(&dead).await.is_ok());
    assert_eq!(
        store.get_session("live", t).await.ok().flatten(),
        Some(live)
    );
    assert_eq!(store.get_session("dead", t).await.ok().flatten(), None);
    assert_eq!(store.get_session("none", t).await.ok().flatten(), None);

    let consent = Consent {
        sub: "s".into(),
        client_id: "c1".into(),
        scopes: BTreeSet::from(["read".to_string()]),
        expires_at: t + 60,
    };
    assert!(store.put_consent(&consent).await.is_ok());
    assert!(store
        .put_consent(&Consent {
            client_id: "c2".into(),
            expires_at: t - 1,
            ..consent.clone()
        })
        .await
        .is_ok());
    assert_eq!(
        store.get_consent("s", "c1", t).await.ok().flatten(),
        Some(consent.clone())
    );
    assert_eq!(store.get_consent("s", "c2", t).await.ok().flatten(), None);
    assert_eq!(
        store.list_consents("s").await.map(|l| l.len()).ok(),
        Some(2)
    );
    assert!(store.delete_consent("s", "c1").await.is_ok());
    assert!(matches!(
        store.delete_consent("s", "c1").await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn login_failures_count_within_a_window() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let t = now();
    assert_eq!(store.failures("alice", t).await.ok(), Some(0));
    assert_eq!(store.record_failure("alice", t, 60).await.ok(), Some(1));
    assert_eq!(store.record_failure("alice", t, 60).await.ok(), Some(2));
    assert_eq!(store.failures("alice", t).await.ok(), Some(2));
    // After the window, counting starts again.
    assert_eq!(store.failures("alice", t + 61).await.ok(), Some(0));
    assert_eq!(
        store.record_failure("alice", t + 61, 60).await.ok(),
        Some(1)
    );
    assert!(store.clear_failures("alice").await.is_ok());
    assert_eq!(store.failures("alice", t + 61).await.ok(), Some(0));
}

#[tokio::test]
async fn keys_are_listed_newest_first_and_public_reads_omit_the_private_half() {
    let Some(store) = fresh_store().await else {
        return;
    };
    for (kid, created_at, active_from) in [("old", 1, 1), ("new", 2, 9_000)] {
        let key = SigningKey {
            kid: kid.into(),
            created_at,
            active_from,
            private_pem: Some(auth_core::secret::Secret::new("pem")),
            n: "n".into(),
            e: "AQAB".into(),
        };
        assert!(store.put_key(&key).await.is_ok());
    }
    let private = store.list_keys(true).await.unwrap_or_default();
    assert_eq!(
        private.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["new", "old"]
    );
    assert!(private.iter().all(|k| k.private_pem.is_some()));
    let public = store.list_keys(false).await.unwrap_or_default();
    assert_eq!(public.len(), 2);
    assert!(public.iter().all(|k| k.private_pem.is_none()));
    // active_from is among the attributes a public read (and the IAM condition) allows.
    assert_eq!(
        public.iter().map(|k| k.active_from).collect::<Vec<_>>(),
        [9_000, 1]
    );
}

#[tokio::test]
async fn revoked_access_tokens_are_deny_listed_until_expiry() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let t = now();
    assert!(store.revoke_jti("j1", t + 60).await.is_ok());
    assert_eq!(store.is_jti_revoked("j1", t).await.ok(), Some(true));
    assert_eq!(store.is_jti_revoked("j1", t + 61).await.ok(), Some(false));
    assert_eq!(store.is_jti_revoked("j2", t).await.ok(), Some(false));
}

fn refresh(hash: &str, family: &str, expires_at: i64) -> RefreshToken {
    RefreshToken {
        token_hash: hash.into(),
        family_id: family.into(),
        client_id: "client".into(),
        sub: "user-sub".into(),
        scopes: BTreeSet::from(["read".to_string()]),
        issued_at: now(),
        expires_at,
        family_expires_at: expires_at,
        used_at: None,
        revoked: false,
    }
}

fn family(id: &str, current: &str, expires_at: i64) -> TokenFamily {
    TokenFamily {
        family_id: id.into(),
        client_id: "client".into(),
        sub: "user-sub".into(),
        expires_at,
        current: current.into(),
        revoked: false,
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_once_and_reuse_is_recognised() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let t = now();
    assert!(store
        .create_family(&family("f1", "h1", t + 600), &refresh("h1", "f1", t + 600))
        .await
        .is_ok());

    // Another client cannot use it, and that attempt does not spend it.
    assert!(matches!(
        store.use_refresh_token("h1", "other", t).await,
        Ok(RefreshUse::Invalid)
    ));
    let Ok(RefreshUse::Accepted(used)) = store.use_refresh_token("h1", "client", t).await else {
        panic!("first use")
    };
    assert!(matches!(
        store.use_refresh_token("h1", "client", t).await,
        Ok(RefreshUse::Reused(_))
    ));

    assert_eq!(
        store
            .rotate(&used, &refresh("h2", "f1", t + 600), t)
            .await
            .ok(),
        Some(true)
    );
    assert_eq!(
        store
            .get_family("f1")
            .await
            .ok()
            .flatten()
            .map(|f| f.current),
        Some("h2".into())
    );
    // The used token cannot be rotated a second time.
    assert_eq!(
        store
            .rotate(&used, &refresh("h3", "f1", t + 600), t)
            .await
            .ok(),
        Some(false)
    );

    assert_eq!(
        store.families_of("user-sub", "client").await.ok(),
        Some(vec!["f1".to_string()])
    );
    assert_eq!(store.revoke_family("f1").await.ok(), Some(true));
    assert_eq!(
        store.revoke_family("f1").await.ok(),
        Some(false),
        "already revoked"
    );
    let current = store.get_refresh_token("h2").await.ok().flatten();
    assert_eq!(
        current.map(|t| t.revoked),
        Some(true),
        "the family's live token is revoked too"
    );
    assert!(matches!(
        store.use_refresh_token("h2", "client", t).await,
        Ok(RefreshUse::Reused(_))
    ));
    assert!(matches!(
        store.use_refresh_token("unknown", "client", t).await,
        Ok(RefreshUse::Invalid)
    ));
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let t = now();
    assert!(store
        .create_family(&family("f1", "h1", t - 1), &refresh("h1", "f1", t - 1))
        .await
        .is_ok());
    assert!(matches!(
        store.use_refresh_token("h1", "client", t).await,
        Ok(RefreshUse::Invalid)
    ));
}

#[tokio::test]
async fn rotation_fails_once_the_family_is_revoked() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let t = now();
    assert!(store
        .create_family(&family("f1", "h1", t + 600), &refresh("h1", "f1", t + 600))
        .await
        .is_ok());
    let Ok(RefreshUse::Accepted(used)) = store.use_refresh_token("h1", "client", t).await else {
        panic!("first use")
    };
    assert_eq!(store.revoke_family("f1").await.ok(), Some(true));
    assert_eq!(
        store
            .rotate(&used, &refresh("h2", "f1", t + 600), t)
            .await
            .ok(),
        Some(false)
    );
    assert_eq!(
        store.get_refresh_token("h2").await.ok().flatten(),
        None,
        "nothing half-written"
    );
}

#[tokio::test]
async fn of_concurrent_refreshes_exactly_one_is_accepted() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let store = Arc::new(store);
    let t = now();
    assert!(store
        .create_family(&family("f1", "h1", t + 600), &refresh("h1", "f1", t + 600))
        .await
        .is_ok());
    let attempts: Vec<_> = (0..20)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.use_refresh_token("h1", "client", t).await })
        })
        .collect();
    let mut accepted = 0;
    for attempt in attempts {
        match attempt.await {
            Ok(Ok(RefreshUse::Accepted(_))) => accepted += 1,
            Ok(Ok(RefreshUse::Reused(_))) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(accepted, 1);
}

// --- DynamoDB's limits, decided before sending ---------------------------------------

fn client_named(client_id: &str, name: String) -> Client {
    Client {
        client_id: client_id.into(),
        name,
        redirect_uris: vec!["https://app.example/cb".into()],
        allowed_scopes: BTreeSet::from(["read".to_string()]),
        default_scopes: BTreeSet::new(),
        kind: ClientKind::Public,
        secret_hash: None,
        pkce_optional: false,
        allow_plain_pkce: false,
        resource_server: false,
        grant_types: vec![GrantType::AuthorizationCode],
    }
}

fn consent_for(client_id: &str) -> Consent {
    Consent {
        sub: "user-sub".into(),
        client_id: client_id.into(),
        scopes: BTreeSet::from(["read".to_string()]),
        expires_at: now() + 600,
    }
}

/// DynamoDB refuses an empty key value and one over 2048 bytes (partition key) or 1024 bytes
/// (sort key). The store decides before sending: a read finds nothing, a write is
/// `InvalidKey`, and neither makes a round trip.
#[tokio::test]
async fn impossible_keys_are_decided_without_a_round_trip() {
    let Some(tables) = common::fresh_tables() else {
        return;
    };
    let (store, trips) = DynamoStore::from_env_counted(tables).await;
    let t = now();
    let too_long = "k".repeat(2049);
    for impossible in ["", too_long.as_str()] {
        let rule = format!("a key of {} bytes", impossible.len());
        trips.reset();
        assert!(
            matches!(store.get_client(impossible).await, Ok(None)),
            "{rule}"
        );
        assert!(
            matches!(store.get_user(impossible).await, Ok(None)),
            "{rule}"
        );
        assert!(
            matches!(store.get_session(impossible, t).await, Ok(None)),
            "{rule}"
        );
        assert!(
            matches!(store.failures(impossible, t).await, Ok(0)),
            "{rule}"
        );
        assert!(
            matches!(store.get_consent("user-sub", impossible, t).await, Ok(None)),
            "{rule}"
        );
        assert!(
            matches!(store.list_consents(impossible).await, Ok(found) if found.is_empty()),
            "{rule}"
        );
        let context = store
            .load_authorization_context(
                Some(impossible),
                Some(SessionKey {
                    sub: "user-sub",
                    id_hash: impossible,
                }),
                t,
            )
            .await;
        assert!(
            matches!(&context, Ok(c) if c.client.is_none() && c.session.is_none() && c.consent.is_none()),
            "{rule}: {context:?}"
        );
        let invalid = |result: StoreResult<()>| matches!(result, Err(StoreError::InvalidKey));
        assert!(
            invalid(
                store
                    .create_client(&client_named(impossible, "App".into()))
                    .await
            ),
            "{rule}"
        );
        assert!(
            invalid(
                store
                    .replace_client(&client_named(impossible, "App".into()))
                    .await
            ),
            "{rule}"
        );
        assert!(invalid(store.delete_client(impossible).await), "{rule}");
        assert!(
            invalid(
                store
                    .create_scope(&Scope {
                        name: impossible.into(),
                        description: String::new(),
                    })
                    .await
            ),
            "{rule}"
        );
        assert!(invalid(store.delete_user(impossible).await), "{rule}");
        assert!(invalid(store.clear_failures(impossible).await), "{rule}");
        assert!(
            matches!(
                store.record_failure(impossible, t, 60).await,
                Err(StoreError::InvalidKey)
            ),
            "{rule}"
        );
        assert!(
            invalid(store.put_consent(&consent_for(impossible)).await),
            "{rule}"
        );
        assert!(invalid(store.delete_key(impossible).await), "{rule}");
        assert_eq!(trips.count(), 0, "{rule}: no round trip");
    }

    // A sort key (the consent's client id) may have 1024 bytes, no more.
    trips.reset();
    let long_client = "c".repeat(1025);
    assert!(matches!(
        store.get_consent("user-sub", &long_client, t).await,
        Ok(None)
    ));
    assert!(matches!(
        store.put_consent(&consent_for(&long_client)).await,
        Err(StoreError::InvalidKey)
    ));
    // The tokens table's keys carry a prefix: a 2046-byte hash makes a 2049-byte `rt#` key.
    let long_hash = "h".repeat(2046);
    assert!(matches!(
        store.get_refresh_token(&long_hash).await,
        Ok(None)
    ));
    assert!(matches!(
        store.use_refresh_token(&long_hash, "client", t).await,
        Err(StoreError::InvalidKey)
    ));
    assert!(matches!(
        store
            .create_family(
                &family("f1", &long_hash, t + 600),
                &refresh(&long_hash, "f1", t + 600)
            )
            .await,
        Err(StoreError::InvalidKey)
    ));
    assert!(matches!(
        store.families_of(&"s".repeat(2048), "client").await,
        Ok(found) if found.is_empty()
    ));
    assert_eq!(trips.count(), 0, "no round trip");

    // At the limits, the same calls reach DynamoDB and work.
    let longest = "k".repeat(2048);
    let user = User {
        username: longest.clone(),
        sub: "user-sub".into(),
        password_hash: "hash".into(),
    };
    assert!(store.create_user(&user).await.is_ok());
    assert_eq!(store.get_user(&longest).await.ok().flatten(), Some(user));
    let consent = consent_for(&"c".repeat(1024));
    assert!(store.put_consent(&consent).await.is_ok());
    assert_eq!(
        store
            .get_consent("user-sub", &consent.client_id, t)
            .await
            .ok()
            .flatten(),
        Some(consent)
    );
    assert!(trips.count() > 0);
}

/// DynamoDB stores items of at most 400 KB (names and values): a larger one is refused
/// before sending, on every path that writes a whole item.
#[tokio::test]
async fn an_item_over_400_kb_is_refused_without_a_round_trip() {
    let Some(tables) = common::fresh_tables() else {
        return;
    };
    let (store, trips) = DynamoStore::from_env_counted(tables).await;
    let t = now();
    let huge = "n".repeat(400 * 1024);
    let oversized = client_named("app", huge.clone());
    let huge_scopes: ScopeSet = (0..5000).map(|i| format!("{i:0>100}")).collect();
    let mut oversized_grant = grant("code-1", t + 60);
    oversized_grant.redirect_uri = Some(huge.clone());
    let mut oversized_token = refresh("h1", "f1", t + 600);
    oversized_token.scopes = huge_scopes.clone();

    trips.reset();
    let too_large = |result: StoreResult<()>| matches!(result, Err(StoreError::ItemTooLarge));
    assert!(too_large(store.create_client(&oversized).await));
    assert!(too_large(store.replace_client(&oversized).await));
    assert!(too_large(store.create_code(&oversized_grant).await));
    assert!(too_large(
        store
            .save_consent_and_code(&consent_for("app"), &oversized_grant)
            .await
    ));
    let mut oversized_consent = consent_for("app");
    oversized_consent.scopes = huge_scopes;
    assert!(too_large(store.put_consent(&oversized_consent).await));
    assert!(too_large(
        store
            .create_family(&family("f1", "h1", t + 600), &oversized_token)
            .await
    ));
    assert!(too_large(
        store
            .create_scope(&Scope {
                name: "big".into(),
                description: huge,
            })
            .await
    ));
    assert_eq!(trips.count(), 0, "no round trip");
    assert_eq!(store.get_client("app").await.ok(), Some(None));
    assert_eq!(
        store.get_consent("user-sub", "app", t).await.ok(),
        Some(None),
        "nothing half-written"
    );

    // A large client under the limit is stored.
    let large = client_named("app", "n".repeat(300 * 1024));
    assert!(store.create_client(&large).await.is_ok());
    assert_eq!(store.get_client("app").await.ok().flatten(), Some(large));
}

/// A transaction cancelled by its condition is the domain outcome, told apart from other
/// cancellations by its reasons (moto reports `ConditionalCheckFailed` as DynamoDB does).
#[tokio::test]
async fn transactions_cancelled_by_their_condition_are_domain_outcomes() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let t = now();
    assert!(store
        .create_family(&family("f1", "h1", t + 600), &refresh("h1", "f1", t + 600))
        .await
        .is_ok());
    assert!(matches!(
        store
            .create_family(&family("f1", "h1", t + 600), &refresh("h1", "f1", t + 600))
            .await,
        Err(StoreError::AlreadyExists)
    ));
    assert!(store
        .save_consent_and_code(&consent_for("app"), &grant("code-1", t + 60))
        .await
        .is_ok());
    assert!(matches!(
        store
            .save_consent_and_code(&consent_for("app"), &grant("code-1", t + 60))
            .await,
        Err(StoreError::AlreadyExists)
    ));
}
