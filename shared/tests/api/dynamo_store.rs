//! DynamoDB-specific storage tests against a real DynamoDB-compatible server (moto,
//! started by `scripts/test`): DynamoDB's limits decided before sending, and paging. The
//! contracts that both stores keep are in `store_contract.rs`. Each test creates its own
//! tables from `template.yaml`; without a local server they fail (see `common`).

use crate::common;
use crate::common::records::{
    client_named, consent_for, family, grant, refresh, registered, store_items_of_every_listing,
};
use auth_core::client::{MAX_CLIENT_NAME_CHARS, MAX_CLIENT_SCOPES, MAX_REDIRECT_URIS};
use auth_core::model::*;
use auth_core::secret::now;
use auth_core::store::dynamo::DynamoStore;
use auth_core::store::*;

// --- DynamoDB's limits, decided before sending ---------------------------------------

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
        assert!(matches!(store.attempts(impossible).await, Ok(0)), "{rule}");
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
        // No `Client` has such an id (`Client::register` refuses it), so none is written.
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
        let nobody = User {
            username: impossible.into(),
            sub: impossible.into(),
            password_hash: String::new(),
        };
        assert!(invalid(store.delete_user(&nobody).await), "{rule}");
        assert!(invalid(store.end_sessions(impossible, 1).await), "{rule}");
        assert!(invalid(store.clear_attempts(impossible).await), "{rule}");
        assert!(
            matches!(
                store.count_attempt(impossible, Some(5), t + 60).await,
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
        store
            .rotate(
                &refresh(&long_hash, "f1", t + 600),
                &refresh("h2", "f1", t + 600),
                t
            )
            .await,
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
    // The grant index: `grant_sub` is a partition key, `grant_client` a sort key.
    assert!(matches!(
        store.families_of(&"s".repeat(2049), "client").await,
        Ok(found) if found.is_empty()
    ));
    assert!(matches!(
        store.families_of("user-sub", &"c".repeat(1025)).await,
        Ok(found) if found.is_empty()
    ));
    assert!(matches!(
        store.families_of_user(&"s".repeat(2049)).await,
        Ok(found) if found.is_empty()
    ));
    assert_eq!(trips.count(), 0, "no round trip");

    // At the limits, the same calls reach DynamoDB and work (the users table's keys carry
    // a 5-byte prefix, `name#`).
    let longest = "k".repeat(2043);
    let user = User {
        username: longest.clone(),
        sub: "user-sub".into(),
        password_hash: "hash".into(),
    };
    assert!(store
        .create_user(&user, &Account::new(&user, Profile::default(), 0))
        .await
        .is_ok());
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
    let huge_scopes: ScopeSet = (0..5000)
        .filter_map(|i| ScopeToken::parse(&format!("{i:0>100}")))
        .collect();
    let mut oversized_grant = grant("code-1", t + 60);
    oversized_grant.redirect_uri = Some(huge.clone());
    let mut oversized_token = refresh("h1", "f1", t + 600);
    oversized_token.scopes = huge_scopes.clone();

    trips.reset();
    let too_large = |result: StoreResult<()>| matches!(result, Err(StoreError::ItemTooLarge));
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
    assert_eq!(
        store.get_consent("user-sub", "app", t).await.ok(),
        Some(None),
        "nothing half-written"
    );

    // No client reaches the limit (`Client::register` keeps them under ~120 KB): the
    // largest is stored.
    let mut largest = client_named("app", "n".repeat(MAX_CLIENT_NAME_CHARS)).registration();
    largest.redirect_uris = (0..MAX_REDIRECT_URIS)
        .map(|i| format!("https://app.example/{i:0>1980}"))
        .collect();
    largest.allowed_scopes = (0..MAX_CLIENT_SCOPES)
        .filter_map(|i| ScopeToken::parse(&format!("{i:0>128}")))
        .collect();
    largest.default_scopes = largest.allowed_scopes.clone();
    largest.web_origins = (0..MAX_REDIRECT_URIS)
        .map(|i| format!("https://{i:0>1980}.example"))
        .collect();
    let large = registered(largest);
    assert!(store.create_client(&large).await.is_ok());
    assert_eq!(store.get_client("app").await.ok().flatten(), Some(large));
}

/// Every Scan and Query follows `LastEvaluatedKey`: with pages of 2 items, 5 items take 3
/// round trips per listing (the contract suite checks that all of them are returned).
#[tokio::test]
async fn listings_read_page_after_page() {
    let Some(tables) = common::fresh_tables() else {
        return;
    };
    let (store, trips) = DynamoStore::from_env_counted(tables).await;
    let store = store.with_page_size(2);
    store_items_of_every_listing(&store, 5).await;
    let pages = |listing: &str, found: usize| {
        assert_eq!(found, 5, "{listing}: every item");
        assert_eq!(trips.count(), 3, "{listing}: three pages of at most two");
        trips.reset();
    };
    trips.reset();
    pages(
        "keys",
        store.list_signing_keys().await.unwrap_or_default().len(),
    );
    pages(
        "public keys",
        store.list_public_keys().await.unwrap_or_default().len(),
    );
    pages(
        "scopes",
        store.list_scopes().await.unwrap_or_default().len(),
    );
    pages(
        "clients",
        store.list_clients().await.unwrap_or_default().len(),
    );
    pages(
        "consents",
        store
            .list_consents("user-sub")
            .await
            .unwrap_or_default()
            .len(),
    );
    pages(
        "families",
        store
            .families_of("user-sub", "client")
            .await
            .unwrap_or_default()
            .len(),
    );
}
