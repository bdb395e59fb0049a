//! The storage contracts, written once over the store traits and proven on both stores:
//! `memory::<contract>` on `MemoryStore`, `dynamo::<contract>` on `DynamoStore` against the
//! local DynamoDB server (moto, started by `scripts/test`), each on fresh tables created
//! from `template.yaml`. Without a local server the `dynamo::` tests fail, unless
//! `AUTH_STORAGE_TESTS=skip` leaves them out (they then say that they were not run).
//!
//! The contracts: create-if-absent, consume-once (also under concurrency), expiry on read,
//! rotation, revocation, pagination, and the authorization records as stored.

use crate::common;

use crate::common::records::{
    client_named, consent_for, create_user, family, grant, refresh, registered, signing_key,
    store_items_of_every_listing,
};
use auth_core::model::*;
use auth_core::secret::{now, now_ms};
use auth_core::store::dynamo::DynamoStore;
use auth_core::store::*;
use std::sync::Arc;

/// DynamoDB pages of this many items, so that the few items of a test span several pages.
const PAGE_SIZE: i32 = 2;

/// A DynamoDB store on fresh tables; `None` when the storage tests are skipped on purpose.
async fn dynamo_store() -> Option<DynamoStore> {
    let tables = common::fresh_tables()?;
    Some(
        DynamoStore::from_env(tables)
            .await
            .with_page_size(PAGE_SIZE),
    )
}

/// Instantiates every contract for both stores, as `memory::<name>` and `dynamo::<name>`.
macro_rules! contracts {
    ($($contract:ident),+ $(,)?) => {
        mod memory {
            use auth_core::store::memory::MemoryStore;
            use std::sync::Arc;
            $(
                #[tokio::test]
                async fn $contract() {
                    super::$contract(Arc::new(MemoryStore::default())).await;
                }
            )+
        }

        mod dynamo {
            use std::sync::Arc;
            $(
                #[tokio::test]
                async fn $contract() {
                    if let Some(store) = super::dynamo_store().await {
                        super::$contract(Arc::new(store)).await;
                    }
                }
            )+
        }
    };
}

contracts!(
    scopes_are_created_once_and_deleted_once,
    apis_are_created_once_listed_and_deleted_once,
    clients_round_trip_and_replace_needs_an_existing_one,
    users_are_created_once_and_deleted_once,
    a_code_is_consumed_once_and_a_replay_is_recognised,
    an_expired_code_is_refused_before_ttl_deletion,
    of_concurrent_redemptions_exactly_one_succeeds,
    sessions_and_consents_expire_on_read,
    sign_in_attempts_count_up_to_the_limit_and_clear,
    of_fifty_concurrent_attempts_exactly_the_limit_are_counted,
    keys_are_listed_newest_first_and_public_reads_omit_the_private_half,
    revoked_access_tokens_are_deny_listed_until_expiry,
    refresh_tokens_rotate_once_and_reuse_is_recognised,
    an_expired_refresh_token_is_refused,
    rotation_fails_once_the_family_is_revoked,
    of_concurrent_refreshes_exactly_one_is_accepted,
    transactions_cancelled_by_their_condition_are_domain_outcomes,
    every_listing_reads_every_page,
    a_deleted_users_code_and_refresh_token_are_refused,
    the_sign_in_travels_from_the_code_to_the_grant_and_its_refresh_tokens,
    grants_are_found_by_user_and_by_user_and_client,
    an_access_tokens_revocation_and_grant_are_read_together,
    userinfo_reads_the_tokens_records_and_the_account_together,
    authorization_records_are_read_as_stored_and_judged_by_one_rule,
    a_session_is_deleted_and_clients_are_read_together,
    of_concurrent_uses_of_a_jti_exactly_one_succeeds,
    private_key_jwt_clients_round_trip_with_their_keys,
);

// --- create-if-absent -----------------------------------------------------------------

async fn scopes_are_created_once_and_deleted_once(store: Arc<impl ScopeAdmin>) {
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

async fn apis_are_created_once_listed_and_deleted_once(store: Arc<impl ResourceAdmin>) {
    use auth_core::resource::Resource;
    let api = |uri: &str, scopes: &str| {
        Resource::register(
            uri.into(),
            "API".into(),
            ScopeSet::parse(scopes).unwrap_or_default(),
        )
        .unwrap_or_else(|rule| panic!("{rule}"))
    };
    let orders = api("https://orders.example", "orders:read orders:write");
    let billing = api("https://billing.example/v1", "billing:read");
    let audit = api("https://audit.example", "audit:read");
    for resource in [&orders, &billing, &audit] {
        assert!(store.create_resource(resource).await.is_ok());
    }
    assert!(matches!(
        store.create_resource(&orders).await,
        Err(StoreError::AlreadyExists)
    ));
    // Every page (DynamoDB pages of two), sorted by URI, scopes as stored.
    assert_eq!(
        store.list_resources().await.ok(),
        Some(vec![audit, billing, orders.clone()])
    );
    assert!(store
        .delete_resource("https://orders.example")
        .await
        .is_ok());
    assert!(matches!(
        store.delete_resource("https://orders.example").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.list_resources().await.map(|r| r.len()).ok(), Some(2));
}

async fn clients_round_trip_and_replace_needs_an_existing_one(store: Arc<impl ClientAdmin>) {
    let mut client = ClientRegistration {
        client_id: "app".into(),
        name: "App".into(),
        redirect_uris: vec!["https://app.example/cb".into()],
        allowed_scopes: ScopeSet::parse("read write").unwrap_or_default(),
        default_scopes: ScopeSet::new(),
        kind: ClientKind::Confidential,
        secret_hash: Some("hash".into()),
        pkce_optional: false,
        allow_plain_pkce: false,
        resource_server: true,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        post_logout_redirect_uris: Vec::new(),
        web_origins: Vec::new(),
        keys: None,
    };
    let app = registered(client.clone());
    assert!(store.create_client(&app).await.is_ok());
    assert!(matches!(
        store.create_client(&app).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(store.get_client("app").await.ok().flatten(), Some(app));
    client.name = "Renamed".into();
    assert!(store
        .replace_client(&registered(client.clone()))
        .await
        .is_ok());
    assert_eq!(
        found(store.get_client("app").await).map(|c| c.name().to_string()),
        Some("Renamed".into())
    );
    client.client_id = "missing".into();
    assert!(matches!(
        store.replace_client(&registered(client)).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.get_client("missing").await.ok(), Some(None));
}

/// When the account's sessions were last ended, if there is an account.
async fn sessions_ended_at_ms(store: &impl UserAdmin, sub: &str) -> Option<i64> {
    let account = store.get_account(sub).await.ok().flatten();
    account.map(|account| account.sessions_ended_at_ms)
}

/// The user `user-sub` of the records (`common::records`), whose codes and refresh tokens are
/// honoured only while their account exists.
fn records_user() -> User {
    User {
        username: "user".into(),
        sub: "user-sub".into(),
        password_hash: "hash".into(),
    }
}

async fn create_records_user(store: &impl UserAdmin) {
    let user = records_user();
    assert!(store
        .create_user(&user, &Account::new(&user, Profile::default(), 0))
        .await
        .is_ok());
}

async fn users_are_created_once_and_deleted_once(store: Arc<impl UserAdmin>) {
    let user = create_user(&*store, "alice", "user-sub").await;
    assert!(matches!(
        store
            .create_user(&user, &Account::new(&user, Profile::default(), 0))
            .await,
        Err(StoreError::AlreadyExists)
    ));
    let taken = User {
        sub: "other-sub".into(),
        ..user.clone()
    };
    assert!(matches!(
        store
            .create_user(&taken, &Account::new(&taken, Profile::default(), 0))
            .await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store.get_user("alice").await.ok().flatten(),
        Some(user.clone())
    );
    // The account by sub is written with the user, with no sessions ended.
    assert_eq!(
        store.get_account("user-sub").await.ok().flatten(),
        Some(Account::new(&user, Profile::default(), 0))
    );
    assert_eq!(store.get_account("other-sub").await.ok(), Some(None));
    assert!(store
        .end_sessions("user-sub", 1_700_000_000_123)
        .await
        .is_ok());
    assert_eq!(
        sessions_ended_at_ms(&*store, "user-sub").await,
        Some(1_700_000_000_123)
    );
    assert!(matches!(
        store.end_sessions("other-sub", 1).await,
        Err(StoreError::NotFound)
    ));
    // The profile is replaced whole (claims not set go), and read back as written.
    let mut profile = Profile::default();
    for (claim, value) in [
        (auth_core::profile::Claim::Name, "Alice Example"),
        (auth_core::profile::Claim::Email, "alice@example.com"),
        (auth_core::profile::Claim::EmailVerified, "true"),
    ] {
        assert!(profile.set(claim, value).is_ok());
    }
    assert!(store
        .update_profile("user-sub", &profile, 1_700_000_100)
        .await
        .is_ok());
    let read = store.get_account("user-sub").await.ok().flatten();
    assert_eq!(read.as_ref().map(|a| &a.profile), Some(&profile));
    assert_eq!(read.as_ref().map(|a| a.updated_at), Some(1_700_000_100));
    profile.unset(auth_core::profile::Claim::Email);
    assert!(store
        .update_profile("user-sub", &profile, 1_700_000_200)
        .await
        .is_ok());
    let read = store.get_account("user-sub").await.ok().flatten();
    assert_eq!(read.map(|a| a.profile), Some(profile.clone()));
    assert!(matches!(
        store.update_profile("other-sub", &profile, 1).await,
        Err(StoreError::NotFound)
    ));
    let listed = store.list_accounts().await.ok().unwrap_or_default();
    assert_eq!(
        listed
            .iter()
            .map(|a| a.username.as_str())
            .collect::<Vec<_>>(),
        ["alice"]
    );
    // A new password is stored with the end of the sessions, in one step.
    let renewed = User {
        password_hash: "new hash".into(),
        ..user.clone()
    };
    assert!(store
        .change_password(&renewed, 1_700_000_000_999)
        .await
        .is_ok());
    assert_eq!(
        found(store.get_user("alice").await).map(|u| u.password_hash),
        Some("new hash".to_string())
    );
    assert_eq!(
        sessions_ended_at_ms(&*store, "user-sub").await,
        Some(1_700_000_000_999)
    );
    assert!(matches!(
        store.change_password(&taken, 1).await,
        Err(StoreError::NotFound)
    ));

    // The username no longer names the user that was read: nothing is deleted.
    assert!(matches!(
        store.delete_user(&taken).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.delete_user(&user).await.is_ok());
    assert_eq!(store.get_user("alice").await.ok(), Some(None));
    assert_eq!(store.get_account("user-sub").await.ok(), Some(None));
    assert!(matches!(
        store.delete_user(&user).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.end_sessions("user-sub", 1).await,
        Err(StoreError::NotFound)
    ));
}

/// On DynamoDB a transaction cancelled by its condition is the domain outcome, told apart
/// from other cancellations by its reasons (moto reports `ConditionalCheckFailed` as
/// DynamoDB does).
async fn transactions_cancelled_by_their_condition_are_domain_outcomes(
    store: Arc<impl RefreshTokenStore + AuthorizationStore>,
) {
    let t = now();
    assert!(create_family_f1(store.as_ref(), t + 600).await.is_ok());
    assert!(matches!(
        create_family_f1(store.as_ref(), t + 600).await,
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

// --- consume-once ---------------------------------------------------------------------

/// A redemption of `code_hash` that starts grant `grant_id` (with first refresh token `h-<grant_id>`).
async fn redeem(
    store: &impl CodeRedemptionStore,
    code_hash: &str,
    jti: &str,
    grant_id: &str,
    with_refresh: bool,
) -> StoreResult<Redemption> {
    let t = now();
    let token = format!("h-{grant_id}");
    let mut grant = family(grant_id, &token, t + 600);
    let first = refresh(&token, grant_id, t + 600);
    if !with_refresh {
        grant.current = None;
    }
    store
        .redeem_code(&CodeRedemption {
            code_hash,
            now: t,
            jti,
            grant: &grant,
            first_refresh: with_refresh.then_some(&first),
        })
        .await
}

/// The code is redeemed in one transaction with the grant it starts: once a redemption is
/// written, its grant and first refresh token are there for a replay to revoke (before, the
/// family was created one round trip after the code recorded its id).
async fn a_code_is_consumed_once_and_a_replay_is_recognised(
    store: Arc<impl CodeStore + CodeRedemptionStore + RefreshTokenReader + UserAdmin>,
) {
    create_records_user(store.as_ref()).await;
    let t = now();
    assert!(store.create_code(&grant("code-1", t + 60)).await.is_ok());
    // Written again as it is (the SDK's retry of a write whose answer was lost): success.
    assert!(store.create_code(&grant("code-1", t + 60)).await.is_ok());
    // Another code under the same hash: refused.
    assert!(matches!(
        store.create_code(&grant("code-1", t + 61)).await,
        Err(StoreError::AlreadyExists)
    ));
    let stored = store.get_code("code-1").await.ok().flatten();
    assert_eq!(stored.as_ref().map(|c| c.redeemed_at), Some(None));
    assert_eq!(
        stored.and_then(|c| c.pkce).map(|p| p.method),
        Some(PkceMethod::S256)
    );

    let first = redeem(store.as_ref(), "code-1", "jti-1", "g1", true).await;
    assert!(matches!(first, Ok(Redemption::Redeemed)), "{first:?}");
    let redeemed = store.get_code("code-1").await.ok().flatten();
    assert_eq!(
        redeemed.as_ref().and_then(|c| c.issued_family.as_deref()),
        Some("g1")
    );
    assert!(redeemed.is_some_and(|c| c.redeemed_at.is_some()));
    let started = store.get_family("g1").await.ok().flatten();
    assert_eq!(
        started.map(|g| (g.current, g.revoked)),
        Some((Some("h-g1".into()), false)),
        "the grant is written with the redemption"
    );
    assert!(found(store.get_refresh_token("h-g1").await).is_some());

    let second = redeem(store.as_ref(), "code-1", "jti-2", "g2", true).await;
    let Ok(Redemption::Replayed(replayed)) = second else {
        panic!("second redemption: {second:?}")
    };
    assert_eq!(
        replayed.issued_jti.as_deref(),
        Some("jti-1"),
        "the replay sees what the first issued"
    );
    assert_eq!(replayed.issued_family.as_deref(), Some("g1"));
    assert_eq!(
        store.get_family("g2").await.ok(),
        Some(None),
        "nothing of a replay is written"
    );
    assert_eq!(store.get_refresh_token("h-g2").await.ok(), Some(None));

    assert!(matches!(
        redeem(store.as_ref(), "unknown", "j", "g3", false).await,
        Ok(Redemption::Invalid)
    ));
    assert_eq!(store.get_code("unknown").await.ok(), Some(None));

    // A grant without refresh tokens, for a client that gets none.
    assert!(store.create_code(&grant("code-2", t + 60)).await.is_ok());
    assert!(matches!(
        redeem(store.as_ref(), "code-2", "jti-4", "g4", false).await,
        Ok(Redemption::Redeemed)
    ));
    let without_refresh = store.get_family("g4").await.ok().flatten();
    assert_eq!(without_refresh.map(|g| g.current), Some(None));

    // A code spent without issuing (a failed binding check) is then replayed, with nothing to revoke.
    assert!(store.create_code(&grant("code-3", t + 60)).await.is_ok());
    assert_eq!(store.spend_code("code-3", t).await.ok(), Some(true));
    assert_eq!(store.spend_code("code-3", t).await.ok(), Some(false));
    let Ok(Redemption::Replayed(spent)) = redeem(store.as_ref(), "code-3", "j", "g5", true).await
    else {
        panic!("a spent code is replayed")
    };
    assert_eq!((spent.issued_jti, spent.issued_family), (None, None));
}

async fn of_concurrent_redemptions_exactly_one_succeeds(
    store: Arc<impl CodeStore + CodeRedemptionStore + RefreshTokenReader + UserAdmin + 'static>,
) {
    create_records_user(store.as_ref()).await;
    let t = now();
    assert!(store.create_code(&grant("race", t + 60)).await.is_ok());
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                redeem(
                    store.as_ref(),
                    "race",
                    &format!("jti-{i}"),
                    &format!("g-{i}"),
                    true,
                )
                .await
            })
        })
        .collect();
    let mut redeemed = 0;
    let mut replayed = Vec::new();
    for attempt in attempts {
        match attempt.await {
            Ok(Ok(Redemption::Redeemed)) => redeemed += 1,
            Ok(Ok(Redemption::Replayed(code))) => replayed.push(code.issued_family),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((redeemed, replayed.len()), (1, 19));
    let mut grants = Vec::new();
    for i in 0..20 {
        if found(store.get_family(&format!("g-{i}")).await).is_some() {
            grants.push(format!("g-{i}"));
        }
    }
    assert_eq!(grants.len(), 1, "only the winner's grant is written");
    assert!(
        replayed
            .iter()
            .all(|id| id.as_deref() == Some(grants[0].as_str())),
        "every replay sees the winner's grant"
    );
}

async fn of_concurrent_refreshes_exactly_one_is_accepted(
    store: Arc<impl RefreshTokenStore + UserAdmin + 'static>,
) {
    create_records_user(store.as_ref()).await;
    let t = now();
    assert!(create_family_f1(store.as_ref(), t + 600).await.is_ok());
    let used = first_use(store.as_ref(), t).await;
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let (store, used) = (Arc::clone(&store), used.clone());
            tokio::spawn(async move {
                let next = refresh(&format!("next-{i}"), "f1", t + 600);
                store.rotate(&used, &next, t).await
            })
        })
        .collect();
    let mut rotated = 0;
    for attempt in attempts {
        match attempt.await {
            Ok(Ok(Rotation::Rotated)) => rotated += 1,
            // Lost the race (the token was spent), or cancelled by the winner's transaction.
            Ok(Ok(Rotation::Reused)) | Ok(Err(StoreError::Contention(_))) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(rotated, 1);
}

// --- expiry on read -------------------------------------------------------------------

async fn an_expired_code_is_refused_before_ttl_deletion(
    store: Arc<impl CodeStore + CodeRedemptionStore + RefreshTokenReader>,
) {
    let t = now();
    assert!(store.create_code(&grant("old", t - 1)).await.is_ok());
    assert!(matches!(
        redeem(store.as_ref(), "old", "j", "g1", true).await,
        Ok(Redemption::Invalid)
    ));
    assert_eq!(store.get_family("g1").await.ok(), Some(None));
    assert_eq!(store.spend_code("old", t).await.ok(), Some(false));
}

async fn sessions_and_consents_expire_on_read(store: Arc<impl SessionStore + ConsentAdmin>) {
    let t = now();
    let live = Session {
        id_hash: "live".into(),
        sub: "s".into(),
        username: "u".into(),
        signed_in_at_ms: 1,
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
        scopes: ScopeSet::parse("read").unwrap_or_default(),
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

async fn sign_in_attempts_count_up_to_the_limit_and_clear(store: Arc<impl ThrottleStore>) {
    let expires_at = now() + 60;
    assert_eq!(store.attempts("src#1#alice#ip").await.ok(), Some(0));
    for expected in 1..=3 {
        assert_eq!(
            store
                .count_attempt("src#1#alice#ip", Some(3), expires_at)
                .await
                .ok(),
            Some(Attempt::Counted(expected))
        );
    }
    assert_eq!(
        store
            .count_attempt("src#1#alice#ip", Some(3), expires_at)
            .await
            .ok(),
        Some(Attempt::AtLimit)
    );
    assert_eq!(
        store.attempts("src#1#alice#ip").await.ok(),
        Some(3),
        "nothing counted at the limit"
    );
    // Another key (another source, another window) has its own count; no limit: always counted.
    assert_eq!(
        store
            .count_attempt("src#2#alice#ip", Some(3), expires_at)
            .await
            .ok(),
        Some(Attempt::Counted(1))
    );
    for expected in 1..=5 {
        assert_eq!(
            store
                .count_attempt("acct#1#alice", None, expires_at)
                .await
                .ok(),
            Some(Attempt::Counted(expected))
        );
    }
    assert!(store.clear_attempts("src#1#alice#ip").await.is_ok());
    assert!(store.clear_attempts("never-counted").await.is_ok());
    assert_eq!(store.attempts("src#1#alice#ip").await.ok(), Some(0));
    assert_eq!(
        store
            .count_attempt("src#1#alice#ip", Some(3), expires_at)
            .await
            .ok(),
        Some(Attempt::Counted(1))
    );
    assert_eq!(store.attempts("acct#1#alice").await.ok(), Some(5));
    // Keys DynamoDB refuses: a read finds nothing, a write is refused before it is sent.
    assert_eq!(store.attempts("").await.ok(), Some(0));
    assert!(matches!(
        store.count_attempt("", Some(3), expires_at).await,
        Err(StoreError::InvalidKey)
    ));
}

/// Issue 12.1: the old code read the count, checked the password, then wrote; parallel
/// guesses all read the same count. Counting is now one conditional write: of 50 concurrent
/// attempts, exactly the limit are counted, each with a different count.
async fn of_fifty_concurrent_attempts_exactly_the_limit_are_counted(
    store: Arc<impl ThrottleStore + 'static>,
) {
    let expires_at = now() + 60;
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                store
                    .count_attempt("src#1#race#192.0.2.1", Some(5), expires_at)
                    .await
            })
        })
        .collect();
    let mut counted = Vec::new();
    let mut at_limit = 0;
    for attempt in attempts {
        match attempt.await {
            Ok(Ok(Attempt::Counted(n))) => counted.push(n),
            Ok(Ok(Attempt::AtLimit)) => at_limit += 1,
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    counted.sort_unstable();
    assert_eq!((counted, at_limit), (vec![1, 2, 3, 4, 5], 45));
    assert_eq!(store.attempts("src#1#race#192.0.2.1").await.ok(), Some(5));
}

async fn revoked_access_tokens_are_deny_listed_until_expiry(store: Arc<impl RevocationStore>) {
    let t = now();
    assert!(store.revoke_jti("j1", t + 60).await.is_ok());
    assert_eq!(store.is_jti_revoked("j1", t).await.ok(), Some(true));
    assert_eq!(store.is_jti_revoked("j1", t + 61).await.ok(), Some(false));
    assert_eq!(store.is_jti_revoked("j2", t).await.ok(), Some(false));
}

async fn an_expired_refresh_token_is_refused(store: Arc<impl RefreshTokenStore + UserAdmin>) {
    create_records_user(store.as_ref()).await;
    let t = now();
    assert!(create_family_f1(store.as_ref(), t - 1).await.is_ok());
    let expired = store.get_refresh_token("h1").await.ok().flatten();
    assert_eq!(
        expired.clone().map(|token| token.presented_by("client", t)),
        Some(RefreshUse::Invalid)
    );
    // Read before it expired, spent after: the transaction's condition refuses it.
    let expired = expired.unwrap_or_else(|| refresh("h1", "f1", t - 1));
    assert_eq!(
        store
            .rotate(&expired, &refresh("h2", "f1", t + 600), t)
            .await
            .ok(),
        Some(Rotation::Ended)
    );
    assert_eq!(store.get_refresh_token("h2").await.ok(), Some(None));
}

// --- rotation and revocation ----------------------------------------------------------

/// Creates the family `f1` of `user-sub` and `client`, with `h1` as its first token.
async fn create_family_f1(store: &impl RefreshTokenStore, expires_at: i64) -> StoreResult<()> {
    store
        .create_family(
            &family("f1", "h1", expires_at),
            &refresh("h1", "f1", expires_at),
        )
        .await
}

/// `h1` as read, which `client` may use now.
async fn first_use(store: &impl RefreshTokenStore, t: i64) -> RefreshToken {
    match found(store.get_refresh_token("h1").await).map(|token| token.presented_by("client", t)) {
        Some(RefreshUse::Accepted(token)) => token,
        other => panic!("first use: {other:?}"),
    }
}

/// What `client` presenting the token `hash` is, as read now.
async fn presented(
    store: &impl RefreshTokenStore,
    hash: &str,
    client: &str,
    t: i64,
) -> Option<RefreshUse> {
    found(store.get_refresh_token(hash).await).map(|token| token.presented_by(client, t))
}

/// Whether the store rotated `used` to `next` (in the family `f1`, for ten minutes).
async fn rotate_to(
    store: &impl RefreshTokenStore,
    used: &RefreshToken,
    next: &str,
    t: i64,
) -> Option<bool> {
    rotation(store, used, next, t)
        .await
        .map(|rotation| rotation == Rotation::Rotated)
}

/// What the store answered to the rotation of `used` to `next` (in the family `f1`, for ten
/// minutes); `None` when it failed.
async fn rotation(
    store: &impl RefreshTokenStore,
    used: &RefreshToken,
    next: &str,
    t: i64,
) -> Option<Rotation> {
    store
        .rotate(used, &refresh(next, "f1", t + 600), t)
        .await
        .ok()
}

/// What a read found; `None` also when the store failed.
fn found<T>(read: StoreResult<Option<T>>) -> Option<T> {
    read.ok().flatten()
}

async fn refresh_tokens_rotate_once_and_reuse_is_recognised(
    store: Arc<impl RefreshTokenAdmin + UserAdmin>,
) {
    create_records_user(store.as_ref()).await;
    let t = now();
    assert!(create_family_f1(store.as_ref(), t + 600).await.is_ok());

    // Another client cannot use it.
    assert_eq!(
        presented(store.as_ref(), "h1", "other", t).await,
        Some(RefreshUse::Invalid)
    );
    let used = first_use(store.as_ref(), t).await;
    assert_eq!(rotate_to(store.as_ref(), &used, "h2", t).await, Some(true));
    assert!(matches!(
        presented(store.as_ref(), "h1", "client", t).await,
        Some(RefreshUse::Reused(_))
    ));
    assert_eq!(
        found(store.get_family("f1").await).and_then(|f| f.current),
        Some("h2".into())
    );
    // The used token cannot be rotated a second time: that is reuse, and nothing is written.
    assert_eq!(
        rotation(store.as_ref(), &used, "h3", t).await,
        Some(Rotation::Reused)
    );
    assert_eq!(store.get_refresh_token("h3").await.ok(), Some(None));

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
        presented(store.as_ref(), "h2", "client", t).await,
        Some(RefreshUse::Reused(_))
    ));
    assert_eq!(store.get_refresh_token("unknown").await.ok(), Some(None));
}

async fn rotation_fails_once_the_family_is_revoked(store: Arc<impl RefreshTokenStore>) {
    let t = now();
    assert!(create_family_f1(store.as_ref(), t + 600).await.is_ok());
    let used = first_use(store.as_ref(), t).await;
    assert_eq!(store.revoke_family("f1").await.ok(), Some(true));
    assert_eq!(rotate_to(store.as_ref(), &used, "h2", t).await, Some(false));
    assert_eq!(
        store.get_refresh_token("h2").await.ok().flatten(),
        None,
        "nothing half-written"
    );
}

/// Issue 12.2: a code issued before its user was deleted and redeemed after, and a refresh
/// token used after, start or continue nothing: the redemption's and the rotation's
/// transactions check the user's account (a `ConditionCheck` on DynamoDB), so that a deletion
/// between the read of the code and its redemption is seen too. Nothing is written.
async fn a_deleted_users_code_and_refresh_token_are_refused(
    store: Arc<impl CodeStore + CodeRedemptionStore + RefreshTokenStore + UserAdmin>,
) {
    let t = now();
    create_records_user(store.as_ref()).await;
    assert!(create_family_f1(store.as_ref(), t + 600).await.is_ok());
    let used = first_use(store.as_ref(), t).await;
    assert!(store.create_code(&grant("code-1", t + 60)).await.is_ok());
    assert!(store.delete_user(&records_user()).await.is_ok());

    assert_eq!(
        redeem(store.as_ref(), "code-1", "jti-1", "g1", true)
            .await
            .ok(),
        Some(Redemption::UserGone)
    );
    assert_eq!(store.get_family("g1").await.ok(), Some(None));
    assert_eq!(store.get_refresh_token("h-g1").await.ok(), Some(None));
    assert_eq!(
        found(store.get_code("code-1").await).map(|c| c.redeemed_at),
        Some(None),
        "the code is not marked redeemed"
    );

    assert_eq!(
        rotation(store.as_ref(), &used, "h2", t).await,
        Some(Rotation::UserGone)
    );
    assert_eq!(store.get_refresh_token("h2").await.ok(), Some(None));
    assert_eq!(
        found(store.get_family("f1").await).and_then(|f| f.current),
        Some("h1".into()),
        "the family did not advance"
    );
}

/// What an ID token tells (`auth_time`, `sid`, `nonce`) is stored with the code, and the
/// sign-in with the grant and every refresh token of its chain.
async fn the_sign_in_travels_from_the_code_to_the_grant_and_its_refresh_tokens(
    store: Arc<impl CodeStore + CodeRedemptionStore + RefreshTokenStore + UserAdmin>,
) {
    let t = now();
    create_records_user(store.as_ref()).await;
    let authentication = Authentication {
        auth_time: t - 30,
        sid: "sid-1".into(),
    };
    let code = Grant {
        nonce: Some("n-0S6_WzA2Mj".into()),
        authentication: Some(authentication.clone()),
        resources: Vec::new(),
        ..grant("code-1", t + 60)
    };
    assert!(store.create_code(&code).await.is_ok());
    assert_eq!(store.get_code("code-1").await.ok().flatten(), Some(code));

    let family = TokenFamily {
        authentication: Some(authentication.clone()),
        ..family("f1", "h1", t + 600)
    };
    let first = RefreshToken {
        authentication: Some(authentication.clone()),
        resources: Vec::new(),
        ..refresh("h1", "f1", t + 600)
    };
    assert!(store.create_family(&family, &first).await.is_ok());
    assert_eq!(
        found(store.get_family("f1").await).and_then(|f| f.authentication),
        Some(authentication.clone())
    );
    let used = first_use(store.as_ref(), t).await;
    assert_eq!(used.authentication.as_ref(), Some(&authentication));
    let next = RefreshToken {
        authentication: used.authentication.clone(),
        resources: Vec::new(),
        ..refresh("h2", "f1", t + 600)
    };
    assert_eq!(
        store.rotate(&used, &next, t).await.ok(),
        Some(Rotation::Rotated)
    );
    assert_eq!(
        found(store.get_refresh_token("h2").await).and_then(|token| token.authentication),
        Some(authentication)
    );
}

// --- listings -------------------------------------------------------------------------

async fn keys_are_listed_newest_first_and_public_reads_omit_the_private_half(
    store: Arc<impl KeyAdmin + SigningKeyReader>,
) {
    for (kid, created_at, active_from) in [("old", 1, 1), ("new", 2, 9_000)] {
        assert!(store
            .put_key(&signing_key(kid, created_at, active_from))
            .await
            .is_ok());
    }
    let private = store.list_signing_keys().await.unwrap_or_default();
    assert_eq!(
        private.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["new", "old"]
    );
    assert!(private.iter().all(|k| k.private_pem.is_some()));
    let public = store.list_public_keys().await.unwrap_or_default();
    assert_eq!(public.len(), 2);
    assert!(public.iter().all(|k| k.private_pem.is_none()));
    // active_from is among the attributes a public read (and the IAM condition) allows.
    assert_eq!(
        public.iter().map(|k| k.active_from).collect::<Vec<_>>(),
        [9_000, 1]
    );
}

/// More items than a page holds (`PAGE_SIZE` on DynamoDB): every listing returns them all.
async fn every_listing_reads_every_page(
    store: Arc<
        impl KeyAdmin + SigningKeyReader + ScopeAdmin + ClientAdmin + ConsentAdmin + RefreshTokenAdmin,
    >,
) {
    let names = store_items_of_every_listing(store.as_ref(), 5).await;
    let newest_first: Vec<&str> = names.iter().rev().map(String::as_str).collect();
    for private in [true, false] {
        let keys = if private {
            store.list_signing_keys().await
        } else {
            store.list_public_keys().await
        }
        .unwrap_or_default();
        assert_eq!(
            keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            newest_first,
            "keys (private: {private})"
        );
    }
    let scopes = store.list_scopes().await.unwrap_or_default();
    assert_eq!(
        scopes.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        names
    );
    let clients = store.list_clients().await.unwrap_or_default();
    assert_eq!(
        clients
            .iter()
            .map(|c| c.client_id().to_string())
            .collect::<Vec<_>>(),
        names
    );
    let mut consented: Vec<String> = store
        .list_consents("user-sub")
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    consented.sort();
    assert_eq!(consented, names);
    let mut families = store
        .families_of("user-sub", "client")
        .await
        .unwrap_or_default();
    families.sort();
    assert_eq!(families, names);
}

/// The grants index: by user alone (user deletion) and by user and client (consent
/// withdrawal), every page of it; nothing but grants is in it.
async fn grants_are_found_by_user_and_by_user_and_client(store: Arc<impl RefreshTokenAdmin>) {
    let t = now();
    for (id, sub, client_id) in [
        ("g1", "alice", "app"),
        ("g2", "alice", "app"),
        ("g3", "alice", "other"),
        ("g4", "bob", "app"),
        ("g5", "alice", "third"),
    ] {
        let token = format!("h-{id}");
        let grant = TokenFamily {
            sub: sub.into(),
            client_id: client_id.into(),
            ..family(id, &token, t + 600)
        };
        let first = RefreshToken {
            sub: sub.into(),
            client_id: client_id.into(),
            ..refresh(&token, id, t + 600)
        };
        assert!(store.create_family(&grant, &first).await.is_ok());
    }
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    assert_eq!(
        store.families_of("alice", "app").await.ok().map(sorted),
        Some(vec!["g1".to_string(), "g2".to_string()])
    );
    assert_eq!(
        store.families_of_user("alice").await.ok().map(sorted),
        Some(vec!["g1".into(), "g2".into(), "g3".into(), "g5".into()])
    );
    assert_eq!(
        store.families_of_user("bob").await.ok(),
        Some(vec!["g4".to_string()])
    );
    assert_eq!(store.families_of_user("carol").await.ok(), Some(vec![]));
    assert_eq!(store.families_of("bob", "other").await.ok(), Some(vec![]));
}

/// Introspection's one read: the `jti`'s deny-list entry (judged by its expiry) and the grant.
async fn an_access_tokens_revocation_and_grant_are_read_together(
    store: Arc<impl RefreshTokenStore + RevocationStore>,
) {
    let t = now();
    assert!(store
        .create_family(&family("g1", "h1", t + 600), &refresh("h1", "g1", t + 600))
        .await
        .is_ok());
    let records = store.access_token_records("j1", "g1", t).await.ok();
    assert_eq!(records.as_ref().map(|r| r.jti_revoked), Some(false));
    assert_eq!(
        records
            .and_then(|r| r.grant)
            .map(|g| (g.family_id, g.revoked)),
        Some(("g1".into(), false))
    );
    assert!(store.revoke_jti("j1", t + 60).await.is_ok());
    assert_eq!(store.revoke_family("g1").await.ok(), Some(true));
    let records = store.access_token_records("j1", "g1", t).await.ok();
    assert_eq!(records.as_ref().map(|r| r.jti_revoked), Some(true));
    assert_eq!(records.and_then(|r| r.grant).map(|g| g.revoked), Some(true));
    let expired = store.access_token_records("j1", "g1", t + 61).await.ok();
    assert_eq!(expired.map(|r| r.jti_revoked), Some(false));
    assert_eq!(
        store.access_token_records("j2", "unknown", t).await.ok(),
        Some(AccessTokenRecords {
            jti_revoked: false,
            grant: None
        })
    );
}

/// UserInfo's one read: the token's records as introspection reads them, and the account of
/// its `sub` with its profile; a deleted user's account is gone, impossible keys find nothing.
async fn userinfo_reads_the_tokens_records_and_the_account_together(
    store: Arc<impl RefreshTokenStore + RevocationStore + UserAdmin + UserInfoReader>,
) {
    let t = now();
    assert!(store
        .create_family(&family("g1", "h1", t + 600), &refresh("h1", "g1", t + 600))
        .await
        .is_ok());
    let user = User {
        username: "alice".into(),
        sub: "sub-alice".into(),
        password_hash: "hash".into(),
    };
    let mut profile = Profile::default();
    assert!(profile
        .set(auth_core::profile::Claim::Name, "Alice Example")
        .is_ok());
    assert!(profile
        .set(auth_core::profile::Claim::EmailVerified, "true")
        .is_ok());
    let account = Account::new(&user, profile, 1_700_000_000);
    assert!(store.create_user(&user, &account).await.is_ok());

    let records = store
        .userinfo_records("j1", "g1", "sub-alice", t)
        .await
        .ok();
    let Some(records) = records else {
        panic!("the read failed")
    };
    assert!(!records.token.jti_revoked);
    assert_eq!(records.token.grant.map(|g| g.family_id), Some("g1".into()));
    assert_eq!(records.account, Some(account.clone()));
    assert_eq!(
        store.access_token_records("j1", "g1", t).await.ok(),
        store
            .userinfo_records("j1", "g1", "sub-alice", t)
            .await
            .ok()
            .map(|r| r.token),
        "the token's records are introspection's"
    );

    assert!(store.revoke_jti("j1", t + 60).await.is_ok());
    assert!(store.delete_user(&user).await.is_ok());
    let after = store
        .userinfo_records("j1", "g1", "sub-alice", t)
        .await
        .ok();
    assert_eq!(after.as_ref().map(|r| r.token.jti_revoked), Some(true));
    assert_eq!(after.map(|r| r.account), Some(None));

    let long = "x".repeat(3000);
    assert_eq!(
        store.userinfo_records(&long, &long, &long, t).await.ok(),
        Some(UserInfoRecords {
            token: AccessTokenRecords {
                jti_revoked: false,
                grant: None
            },
            account: None
        }),
        "keys DynamoDB refuses find nothing, and fail nothing"
    );
    assert_eq!(
        store
            .userinfo_records("j2", "unknown", "", t)
            .await
            .ok()
            .map(|r| r.account),
        Some(None)
    );
}

// --- the authorization records ----------------------------------------------------------

/// Stores return what is stored under the keys asked for, expired or not; the one rule
/// (`authorization_context::assemble`) judges it, whichever store read it.
async fn authorization_records_are_read_as_stored_and_judged_by_one_rule(
    store: Arc<impl AuthorizationStore + ClientAdmin + SessionStore + ConsentAdmin + UserAdmin>,
) {
    let t = now();
    let client = client_named("app", "App".into());
    assert!(store.create_client(&client).await.is_ok());
    let user = create_user(&*store, "alice", "user-sub").await;
    let session = |id_hash: &str, expires_at: i64| Session {
        id_hash: id_hash.into(),
        sub: "user-sub".into(),
        username: "alice".into(),
        signed_in_at_ms: 1,
        expires_at,
    };
    assert!(store.create_session(&session("live", t + 60)).await.is_ok());
    assert!(store.create_session(&session("dead", t - 1)).await.is_ok());
    let consent = consent_for("app");
    assert!(store.put_consent(&consent).await.is_ok());
    let key = |sub, id_hash| SessionKey { sub, id_hash };

    let Ok(records) = store
        .load_authorization_records(Some("app"), Some(key("user-sub", "dead")))
        .await
    else {
        panic!("reading the records")
    };
    assert_eq!(records.client, Some(client.clone()));
    assert_eq!(
        records.session,
        Some(session("dead", t - 1)),
        "read as stored"
    );
    assert_eq!(records.consent, Some(consent.clone()));
    assert_eq!(
        records.account,
        Some(Account::new(&user, Profile::default(), 0)),
        "the session's account"
    );
    let Ok(without_session) = store.load_authorization_records(Some("app"), None).await else {
        panic!("reading the records")
    };
    assert_eq!(without_session.client, Some(client.clone()));
    assert_eq!(without_session.session, None);
    assert_eq!(
        without_session.consent, None,
        "no consent is read without a session"
    );

    for (cookie, counts) in [
        (key("user-sub", "live"), true),
        (key("user-sub", "dead"), false),
        (key("other-sub", "live"), false),
        (key("user-sub", "unknown"), false),
    ] {
        let Ok(context) = store
            .load_authorization_context(Some("app"), Some(cookie), t)
            .await
        else {
            panic!("loading the context for {cookie:?}")
        };
        assert_eq!(context.client, Some(client.clone()), "{cookie:?}");
        assert_eq!(context.session.is_some(), counts, "{cookie:?}");
        assert_eq!(context.consent.is_some(), counts, "{cookie:?}");
    }

    // Once the operator ends the user's sessions, or deletes the user, the live one no
    // longer counts.
    let live = key("user-sub", "live");
    assert!(store.end_sessions("user-sub", now_ms()).await.is_ok());
    let ended = store
        .load_authorization_context(Some("app"), Some(live), t)
        .await;
    assert!(
        matches!(&ended, Ok(c) if c.session.is_none() && c.consent.is_none()),
        "{ended:?}"
    );
    assert!(store
        .create_session(&Session {
            id_hash: "later".into(),
            signed_in_at_ms: now_ms() + 1,
            ..session("later", t + 60)
        })
        .await
        .is_ok());
    let later = store
        .load_authorization_context(Some("app"), Some(key("user-sub", "later")), t)
        .await;
    assert!(
        matches!(&later, Ok(c) if c.session.is_some()),
        "a session begun since counts: {later:?}"
    );
    assert!(store.delete_user(&user).await.is_ok());
    let deleted = store
        .load_authorization_context(Some("app"), Some(key("user-sub", "later")), t)
        .await;
    assert!(
        matches!(&deleted, Ok(c) if c.session.is_none() && c.consent.is_none()),
        "{deleted:?}"
    );
}

/// Sign-out deletes a session (deleting one that is gone is no error); the account page reads
/// the clients of its consents in one batch (unknown and impossible ids are left out, a
/// repeated id counts once).
async fn a_session_is_deleted_and_clients_are_read_together(
    store: Arc<impl SessionStore + SessionRemover + ClientAdmin + ClientBatchReader>,
) {
    let t = now();
    let session = Session {
        id_hash: "session-to-end".into(),
        sub: "user-sub".into(),
        username: "alice".into(),
        signed_in_at_ms: now_ms(),
        expires_at: t + 600,
    };
    assert!(store.create_session(&session).await.is_ok());
    assert!(store.delete_session("session-to-end").await.is_ok());
    assert!(matches!(
        store.get_session("session-to-end", t).await,
        Ok(None)
    ));
    assert!(store.delete_session("session-to-end").await.is_ok());
    assert!(matches!(
        store.delete_session("").await,
        Err(StoreError::InvalidKey)
    ));

    for id in ["batch-a", "batch-b"] {
        assert!(store
            .create_client(&client_named(id, format!("Client {id}")))
            .await
            .is_ok());
    }
    let ids: Vec<String> = ["batch-b", "batch-a", "batch-a", "unknown", "a b", ""]
        .iter()
        .map(|id| id.to_string())
        .collect();
    let mut found: Vec<String> = match store.get_clients(&ids).await {
        Ok(clients) => clients.iter().map(|c| c.client_id().to_string()).collect(),
        Err(error) => panic!("batch read failed: {error}"),
    };
    found.sort();
    assert_eq!(found, ["batch-a", "batch-b"]);
    assert!(store.get_clients(&[]).await.is_ok_and(|c| c.is_empty()));
}

// --- private_key_jwt ---------------------------------------------------------------------

async fn of_concurrent_uses_of_a_jti_exactly_one_succeeds(store: Arc<impl JtiStore + 'static>) {
    let expires_at = now() + 60;
    let key = keys::client_assertion_key("machine", "jti-race");
    let uses: Vec<_> = (0..20)
        .map(|_| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move { store.use_once(&key, expires_at).await })
        })
        .collect();
    let mut first = 0;
    for used in uses {
        match used.await {
            Ok(Ok(true)) => first += 1,
            Ok(Ok(false)) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(first, 1);
    // Per client: another client's jti of the same text is another key.
    let other = keys::client_assertion_key("other", "jti-race");
    assert_eq!(store.use_once(&other, expires_at).await.ok(), Some(true));
    // The longest jti an assertion may carry fits DynamoDB's key; a key over 2048 bytes is
    // refused before anything is sent.
    let longest = keys::client_assertion_key(&"c".repeat(64), &"j".repeat(256));
    assert_eq!(store.use_once(&longest, expires_at).await.ok(), Some(true));
    assert!(matches!(
        store.use_once(&"k".repeat(2049), expires_at).await,
        Err(StoreError::InvalidKey)
    ));
}

async fn private_key_jwt_clients_round_trip_with_their_keys(store: Arc<impl ClientAdmin>) {
    let jwks = crate::common::assertions::jwks_of(&[
        &crate::common::assertions::rsa_key("r1"),
        &crate::common::assertions::ec_key("e1"),
    ]);
    for (id, keys) in [
        ("with-jwks", ClientKeySource::Jwks(jwks.clone())),
        (
            "with-uri",
            ClientKeySource::JwksUri("https://machine.example/jwks.json".into()),
        ),
    ] {
        let client = registered(ClientRegistration {
            kind: ClientKind::Confidential,
            secret_hash: None,
            keys: Some(keys),
            ..client_named(id, format!("Machine {id}")).registration()
        });
        assert!(store.create_client(&client).await.is_ok());
        let read = store.get_client(id).await.ok().flatten();
        assert_eq!(read.as_ref(), Some(&client));
        assert_eq!(
            read.map(|c| c.token_endpoint_auth_method()),
            Some("private_key_jwt")
        );
    }
}
