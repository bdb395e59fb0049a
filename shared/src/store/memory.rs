//! An in-memory store for fast unit tests of domain logic. It follows the same
//! contracts as `DynamoStore` (create-if-absent, consume-once, expiry on read), and
//! applies the same key rules (`keys`: a read with a key DynamoDB refuses finds nothing,
//! a write with one is `InvalidKey`); one suite of the contracts
//! (`shared/tests/api/store_contract.rs`) runs on both stores, `DynamoStore` against a real
//! DynamoDB-compatible server.

use super::keys::{
    self, family_key, fits_grant_index, fits_partition_key, is_storable, refresh_token_key,
    revoked_jti_key, storable,
};
use super::*;
use crate::model::{RefreshToken, TokenFamily};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct MemoryStore {
    /// Every call of a storage method, so that tests can assert that a request made none.
    calls: AtomicUsize,
    scopes: Mutex<HashMap<String, Scope>>,
    clients: Mutex<HashMap<String, Client>>,
    users: Mutex<HashMap<String, User>>,
    /// By `sub`; written and deleted with the user, as the DynamoDB store does in one transaction.
    accounts: Mutex<HashMap<String, Account>>,
    sessions: Mutex<HashMap<String, Session>>,
    consents: Mutex<HashMap<(String, String), Consent>>,
    codes: Mutex<HashMap<String, Grant>>,
    keys: Mutex<Vec<SigningKey>>,
    throttle: Mutex<HashMap<String, (u32, i64)>>,
    revoked: Mutex<HashMap<String, i64>>,
    refresh_tokens: Mutex<HashMap<String, RefreshToken>>,
    families: Mutex<HashMap<String, TokenFamily>>,
    resources: Mutex<HashMap<String, Resource>>,
    /// Single-use ids and when they expire.
    used_once: Mutex<HashMap<String, i64>>,
}

impl MemoryStore {
    /// How many storage methods were called, whatever they answered.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn called(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another test thread panicked; the data is still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn insert_new<K: std::hash::Hash + Eq, V>(
    map: &Mutex<HashMap<K, V>>,
    key: K,
    value: V,
) -> StoreResult<()> {
    let mut map = lock(map);
    if map.contains_key(&key) {
        return Err(StoreError::AlreadyExists);
    }
    map.insert(key, value);
    Ok(())
}

/// `insert_new`, but finding the very value is success (`DynamoStore::put_new_idempotent`).
fn insert_new_or_same<K: std::hash::Hash + Eq, V: PartialEq>(
    map: &Mutex<HashMap<K, V>>,
    key: K,
    value: V,
) -> StoreResult<()> {
    let mut map = lock(map);
    match map.get(&key) {
        Some(existing) if *existing == value => Ok(()),
        Some(_) => Err(StoreError::AlreadyExists),
        None => {
            map.insert(key, value);
            Ok(())
        }
    }
}

fn remove_existing<K: std::hash::Hash + Eq, V>(
    map: &Mutex<HashMap<K, V>>,
    key: &K,
) -> StoreResult<()> {
    lock(map)
        .remove(key)
        .map(|_| ())
        .ok_or(StoreError::NotFound)
}

impl ScopeReader for MemoryStore {
    async fn list_scopes(&self) -> StoreResult<Vec<Scope>> {
        self.called();
        let mut scopes: Vec<Scope> = lock(&self.scopes).values().cloned().collect();
        scopes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(scopes)
    }
}

impl ScopeAdmin for MemoryStore {
    async fn create_scope(&self, scope: &Scope) -> StoreResult<()> {
        self.called();
        storable(&scope.name, None)?;
        insert_new(&self.scopes, scope.name.clone(), scope.clone())
    }

    async fn delete_scope(&self, name: &str) -> StoreResult<()> {
        self.called();
        storable(name, None)?;
        remove_existing(&self.scopes, &name.to_string())
    }
}

impl ResourceReader for MemoryStore {
    async fn list_resources(&self) -> StoreResult<Vec<Resource>> {
        self.called();
        let mut resources: Vec<Resource> = lock(&self.resources).values().cloned().collect();
        resources.sort_by(|a, b| a.uri.cmp(&b.uri));
        Ok(resources)
    }
}

impl ResourceAdmin for MemoryStore {
    async fn create_resource(&self, resource: &Resource) -> StoreResult<()> {
        self.called();
        storable(&resource.uri, None)?;
        insert_new(&self.resources, resource.uri.clone(), resource.clone())
    }

    async fn delete_resource(&self, uri: &str) -> StoreResult<()> {
        self.called();
        storable(uri, None)?;
        remove_existing(&self.resources, &uri.to_string())
    }
}

impl ClientReader for MemoryStore {
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.called();
        if !is_storable(client_id, None) {
            return Ok(None);
        }
        Ok(lock(&self.clients).get(client_id).cloned())
    }
}

impl ClientBatchReader for MemoryStore {
    async fn get_clients(&self, client_ids: &[String]) -> StoreResult<Vec<Client>> {
        self.called();
        let clients = lock(&self.clients);
        let mut found: Vec<Client> = Vec::new();
        for id in client_ids.iter().filter(|id| is_storable(id, None)) {
            if let Some(client) = clients.get(id.as_str()) {
                if !found.iter().any(|c| c.client_id() == id) {
                    found.push(client.clone());
                }
            }
        }
        Ok(found)
    }
}

impl ClientAdmin for MemoryStore {
    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        self.called();
        let mut clients: Vec<Client> = lock(&self.clients).values().cloned().collect();
        clients.sort_by(|a, b| a.client_id().cmp(b.client_id()));
        Ok(clients)
    }

    async fn create_client(&self, client: &Client) -> StoreResult<()> {
        self.called();
        storable(client.client_id(), None)?;
        insert_new(
            &self.clients,
            client.client_id().to_string(),
            client.clone(),
        )
    }

    async fn replace_client(&self, client: &Client) -> StoreResult<()> {
        self.called();
        storable(client.client_id(), None)?;
        match lock(&self.clients).get_mut(client.client_id()) {
            Some(existing) => {
                *existing = client.clone();
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<()> {
        self.called();
        storable(client_id, None)?;
        remove_existing(&self.clients, &client_id.to_string())
    }
}

impl UserReader for MemoryStore {
    async fn get_user(&self, username: &str) -> StoreResult<Option<User>> {
        self.called();
        if !is_storable(username, None) || !is_storable(&keys::user_key(username), None) {
            return Ok(None);
        }
        Ok(lock(&self.users).get(username).cloned())
    }
}

impl AccountReader for MemoryStore {
    async fn get_account(&self, sub: &str) -> StoreResult<Option<Account>> {
        self.called();
        if !is_storable(sub, None) || !is_storable(&keys::account_key(sub), None) {
            return Ok(None);
        }
        Ok(lock(&self.accounts).get(sub).cloned())
    }
}

impl UserAdmin for MemoryStore {
    async fn create_user(&self, user: &User, account: &Account) -> StoreResult<()> {
        self.called();
        storable(&user.username, None)?;
        storable(&user.sub, None)?;
        storable(&keys::user_key(&user.username), None)?;
        storable(&keys::account_key(&user.sub), None)?;
        let mut users = lock(&self.users);
        let mut accounts = lock(&self.accounts);
        if users.contains_key(&user.username) || accounts.contains_key(&user.sub) {
            return Err(StoreError::AlreadyExists);
        }
        users.insert(user.username.clone(), user.clone());
        accounts.insert(user.sub.clone(), account.clone());
        Ok(())
    }

    async fn delete_user(&self, user: &User) -> StoreResult<()> {
        self.called();
        storable(&user.username, None)?;
        let mut users = lock(&self.users);
        if users
            .get(&user.username)
            .is_none_or(|stored| stored.sub != user.sub)
        {
            return Err(StoreError::NotFound);
        }
        users.remove(&user.username);
        lock(&self.accounts).remove(&user.sub);
        Ok(())
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        self.called();
        let mut accounts: Vec<Account> = lock(&self.accounts).values().cloned().collect();
        accounts.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(accounts)
    }

    async fn update_profile(
        &self,
        sub: &str,
        profile: &Profile,
        updated_at: i64,
    ) -> StoreResult<()> {
        self.called();
        storable(sub, None)?;
        match lock(&self.accounts).get_mut(sub) {
            Some(account) => {
                account.profile = profile.clone();
                account.updated_at = updated_at;
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn change_password(&self, user: &User, at_ms: i64) -> StoreResult<()> {
        self.called();
        storable(&user.username, None)?;
        storable(&user.sub, None)?;
        let mut users = lock(&self.users);
        let mut accounts = lock(&self.accounts);
        match (users.get_mut(&user.username), accounts.get_mut(&user.sub)) {
            (Some(stored), Some(account)) if stored.sub == user.sub => {
                stored.password_hash = user.password_hash.clone();
                account.sessions_ended_at_ms = at_ms;
                Ok(())
            }
            _ => Err(StoreError::NotFound),
        }
    }
}

impl UserSessionsEnder for MemoryStore {
    async fn end_sessions(&self, sub: &str, at_ms: i64) -> StoreResult<()> {
        self.called();
        storable(sub, None)?;
        match lock(&self.accounts).get_mut(sub) {
            Some(account) => {
                account.sessions_ended_at_ms = at_ms;
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }
}

impl SessionStore for MemoryStore {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        self.called();
        storable(&session.id_hash, None)?;
        insert_new_or_same(&self.sessions, session.id_hash.clone(), session.clone())
    }

    async fn get_session(&self, id_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        self.called();
        if !is_storable(id_hash, None) {
            return Ok(None);
        }
        Ok(lock(&self.sessions)
            .get(id_hash)
            .filter(|s| s.expires_at > now)
            .cloned())
    }
}

impl SessionRemover for MemoryStore {
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.called();
        storable(id_hash, None)?;
        lock(&self.sessions).remove(id_hash);
        Ok(())
    }
}

impl ConsentAdmin for MemoryStore {
    async fn get_consent(
        &self,
        sub: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Option<Consent>> {
        self.called();
        if !is_storable(sub, Some(client_id)) {
            return Ok(None);
        }
        Ok(lock(&self.consents)
            .get(&(sub.to_string(), client_id.to_string()))
            .filter(|c| c.expires_at > now)
            .cloned())
    }

    async fn put_consent(&self, consent: &Consent) -> StoreResult<()> {
        self.called();
        storable(&consent.sub, Some(&consent.client_id))?;
        lock(&self.consents).insert(
            (consent.sub.clone(), consent.client_id.clone()),
            consent.clone(),
        );
        Ok(())
    }
}

impl ConsentRemover for MemoryStore {
    async fn delete_consent(&self, sub: &str, client_id: &str) -> StoreResult<()> {
        self.called();
        storable(sub, Some(client_id))?;
        remove_existing(&self.consents, &(sub.to_string(), client_id.to_string()))
    }
}

impl ConsentReader for MemoryStore {
    async fn list_consents(&self, sub: &str) -> StoreResult<Vec<Consent>> {
        self.called();
        if !fits_partition_key(sub) {
            return Ok(Vec::new());
        }
        let mut consents: Vec<Consent> = lock(&self.consents)
            .values()
            .filter(|c| c.sub == sub)
            .cloned()
            .collect();
        consents.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(consents)
    }
}

impl CodeStore for MemoryStore {
    async fn create_code(&self, grant: &Grant) -> StoreResult<()> {
        self.called();
        storable(&grant.code_hash, None)?;
        insert_new_or_same(&self.codes, grant.code_hash.clone(), grant.clone())
    }
}

impl CodeRedemptionStore for MemoryStore {
    async fn get_code(&self, code_hash: &str) -> StoreResult<Option<Grant>> {
        self.called();
        if !is_storable(code_hash, None) {
            return Ok(None);
        }
        Ok(lock(&self.codes).get(code_hash).cloned())
    }

    async fn spend_code(&self, code_hash: &str, now: i64) -> StoreResult<bool> {
        self.called();
        storable(code_hash, None)?;
        let mut codes = lock(&self.codes);
        let Some(grant) = codes
            .get_mut(code_hash)
            .filter(|grant| grant.redeemed_at.is_none() && grant.expires_at > now)
        else {
            return Ok(false);
        };
        grant.redeemed_at = Some(now);
        Ok(true)
    }

    async fn redeem_code(&self, redemption: &CodeRedemption<'_>) -> StoreResult<Redemption> {
        self.called();
        // One transaction: every key is checked before anything is written.
        let grant = redemption.grant;
        storable(redemption.code_hash, None)?;
        storable(&family_key(&grant.family_id), None)?;
        if !fits_grant_index(&grant.sub, &grant.client_id) {
            return Err(StoreError::InvalidKey);
        }
        if let Some(first) = redemption.first_refresh {
            storable(&refresh_token_key(&first.token_hash), None)?;
        }
        storable(&keys::account_key(&grant.sub), None)?;
        let mut codes = lock(&self.codes);
        let mut families = lock(&self.families);
        let mut tokens = lock(&self.refresh_tokens);
        let accounts = lock(&self.accounts);
        let Some(code) = codes.get_mut(redemption.code_hash) else {
            return Ok(Redemption::Invalid);
        };
        if code.redeemed_at.is_some() {
            return Ok(Redemption::Replayed(Box::new(code.clone())));
        }
        if code.expires_at <= redemption.now {
            return Ok(Redemption::Invalid);
        }
        if !accounts.contains_key(&grant.sub) {
            return Ok(Redemption::UserGone);
        }
        let first = redemption.first_refresh;
        if families.contains_key(&grant.family_id)
            || first.is_some_and(|first| tokens.contains_key(&first.token_hash))
        {
            return Err(StoreError::AlreadyExists);
        }
        code.redeemed_at = Some(redemption.now);
        code.issued_jti = Some(redemption.jti.to_string());
        code.issued_family = Some(grant.family_id.clone());
        families.insert(grant.family_id.clone(), grant.clone());
        if let Some(first) = first {
            tokens.insert(first.token_hash.clone(), first.clone());
        }
        Ok(Redemption::Redeemed)
    }
}

impl MemoryStore {
    async fn list_keys(&self, private: bool) -> StoreResult<Vec<SigningKey>> {
        self.called();
        let mut keys: Vec<SigningKey> = lock(&self.keys)
            .iter()
            .map(|k| SigningKey {
                private_pem: if private { k.private_pem.clone() } else { None },
                ..k.public_half()
            })
            .collect();
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.kid.cmp(&a.kid)));
        Ok(keys)
    }
}

impl KeyAdmin for MemoryStore {
    async fn put_key(&self, key: &SigningKey) -> StoreResult<()> {
        self.called();
        storable(&key.kid, None)?;
        let mut keys = lock(&self.keys);
        if keys.iter().any(|k| k.kid == key.kid) {
            return Err(StoreError::AlreadyExists);
        }
        keys.push(SigningKey {
            kid: key.kid.clone(),
            created_at: key.created_at,
            active_from: key.active_from,
            private_pem: key.private_pem.clone(),
            n: key.n.clone(),
            e: key.e.clone(),
        });
        Ok(())
    }

    async fn delete_key(&self, kid: &str) -> StoreResult<()> {
        self.called();
        storable(kid, None)?;
        let mut keys = lock(&self.keys);
        let before = keys.len();
        keys.retain(|k| k.kid != kid);
        if keys.len() == before {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }
}

impl PublicKeyReader for MemoryStore {
    async fn list_public_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.list_keys(false).await
    }
}

impl SigningKeyReader for MemoryStore {
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.list_keys(true).await
    }
}

impl ThrottleStore for MemoryStore {
    async fn count_attempt(
        &self,
        key: &str,
        limit: Option<u32>,
        expires_at: i64,
    ) -> StoreResult<Attempt> {
        self.called();
        storable(key, None)?;
        let mut throttle = lock(&self.throttle);
        let entry = throttle.entry(key.to_string()).or_insert((0, expires_at));
        if limit.is_some_and(|limit| entry.0 >= limit) {
            return Ok(Attempt::AtLimit);
        }
        *entry = (entry.0.saturating_add(1), expires_at);
        Ok(Attempt::Counted(entry.0))
    }

    async fn attempts(&self, key: &str) -> StoreResult<u32> {
        self.called();
        if !is_storable(key, None) {
            return Ok(0);
        }
        Ok(lock(&self.throttle).get(key).map_or(0, |(count, _)| *count))
    }

    async fn clear_attempts(&self, key: &str) -> StoreResult<()> {
        self.called();
        storable(key, None)?;
        lock(&self.throttle).remove(key);
        Ok(())
    }
}

impl RevocationStore for MemoryStore {
    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        self.called();
        storable(&revoked_jti_key(jti), None)?;
        lock(&self.revoked).insert(jti.to_string(), expires_at);
        Ok(())
    }
}

impl RevocationReader for MemoryStore {
    async fn is_jti_revoked(&self, jti: &str, now: i64) -> StoreResult<bool> {
        self.called();
        if !is_storable(&revoked_jti_key(jti), None) {
            return Ok(false);
        }
        Ok(lock(&self.revoked)
            .get(jti)
            .is_some_and(|expires_at| *expires_at > now))
    }

    async fn access_token_records(
        &self,
        jti: &str,
        grant_id: &str,
        now: i64,
    ) -> StoreResult<AccessTokenRecords> {
        self.called();
        let jti_revoked = is_storable(&revoked_jti_key(jti), None)
            && lock(&self.revoked)
                .get(jti)
                .is_some_and(|expires_at| *expires_at > now);
        let grant = if is_storable(&family_key(grant_id), None) {
            lock(&self.families).get(grant_id).cloned()
        } else {
            None
        };
        Ok(AccessTokenRecords { jti_revoked, grant })
    }
}

impl UserInfoReader for MemoryStore {
    /// One call, as DynamoDB's one `BatchGetItem`: counted once.
    async fn userinfo_records(
        &self,
        jti: &str,
        grant_id: &str,
        sub: &str,
        now: i64,
    ) -> StoreResult<UserInfoRecords> {
        let token = self.access_token_records(jti, grant_id, now).await?;
        let account = if is_storable(sub, None) && is_storable(&keys::account_key(sub), None) {
            lock(&self.accounts).get(sub).cloned()
        } else {
            None
        };
        Ok(UserInfoRecords { token, account })
    }
}

impl RefreshTokenStore for MemoryStore {
    async fn create_family(&self, family: &TokenFamily, first: &RefreshToken) -> StoreResult<()> {
        self.called();
        storable(&family_key(&family.family_id), None)?;
        if !fits_grant_index(&family.sub, &family.client_id) {
            return Err(StoreError::InvalidKey);
        }
        storable(&refresh_token_key(&first.token_hash), None)?;
        insert_new(&self.families, family.family_id.clone(), family.clone())?;
        insert_new(
            &self.refresh_tokens,
            first.token_hash.clone(),
            first.clone(),
        )
    }

    async fn rotate(
        &self,
        used: &RefreshToken,
        next: &RefreshToken,
        now: i64,
    ) -> StoreResult<Rotation> {
        self.called();
        storable(&refresh_token_key(&used.token_hash), None)?;
        storable(&family_key(&used.family_id), None)?;
        storable(&refresh_token_key(&next.token_hash), None)?;
        storable(&keys::account_key(&used.sub), None)?;
        // Every lock is held to the end, as one transaction (families before tokens, as in
        // every method here).
        let mut families = lock(&self.families);
        let mut tokens = lock(&self.refresh_tokens);
        let Some(presented) = tokens.get(&used.token_hash) else {
            return Ok(Rotation::Ended);
        };
        if presented.used_at.is_some() || presented.revoked {
            return Ok(Rotation::Reused);
        }
        if presented.expires_at <= now {
            return Ok(Rotation::Ended);
        }
        let Some(family) = families.get_mut(&used.family_id) else {
            return Ok(Rotation::Ended);
        };
        if family.revoked
            || family.current.as_deref() != Some(&used.token_hash)
            || family.expires_at <= now
        {
            return Ok(Rotation::Ended);
        }
        if !lock(&self.accounts).contains_key(&used.sub) {
            return Ok(Rotation::UserGone);
        }
        if tokens.contains_key(&next.token_hash) {
            return Err(StoreError::AlreadyExists);
        }
        if let Some(presented) = tokens.get_mut(&used.token_hash) {
            presented.used_at = Some(now);
        }
        family.current = Some(next.token_hash.clone());
        tokens.insert(next.token_hash.clone(), next.clone());
        Ok(Rotation::Rotated)
    }
}

impl GrantRevoker for MemoryStore {
    async fn revoke_family(&self, family_id: &str) -> StoreResult<bool> {
        self.called();
        storable(&family_key(family_id), None)?;
        let mut families = lock(&self.families);
        let Some(family) = families.get_mut(family_id).filter(|f| !f.revoked) else {
            return Ok(false);
        };
        family.revoked = true;
        if let Some(current) = &family.current {
            if let Some(token) = lock(&self.refresh_tokens).get_mut(current) {
                token.revoked = true;
            }
        }
        Ok(true)
    }
}

impl RefreshTokenReader for MemoryStore {
    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        self.called();
        if !is_storable(&refresh_token_key(token_hash), None) {
            return Ok(None);
        }
        Ok(lock(&self.refresh_tokens).get(token_hash).cloned())
    }

    async fn get_family(&self, family_id: &str) -> StoreResult<Option<TokenFamily>> {
        self.called();
        if !is_storable(&family_key(family_id), None) {
            return Ok(None);
        }
        Ok(lock(&self.families).get(family_id).cloned())
    }
}

impl RefreshTokenAdmin for MemoryStore {
    async fn families_of_user(&self, sub: &str) -> StoreResult<Vec<String>> {
        self.called();
        if !fits_partition_key(sub) {
            return Ok(Vec::new());
        }
        Ok(self.grants_where(|f| f.sub == sub))
    }
}

impl ConsentGrantReader for MemoryStore {
    async fn families_of(&self, sub: &str, client_id: &str) -> StoreResult<Vec<String>> {
        self.called();
        if !fits_grant_index(sub, client_id) {
            return Ok(Vec::new());
        }
        Ok(self.grants_where(|f| f.sub == sub && f.client_id == client_id))
    }
}

impl MemoryStore {
    /// Ids of the grants that match, in index order (by client).
    fn grants_where(&self, matches: impl Fn(&TokenFamily) -> bool) -> Vec<String> {
        let mut grants: Vec<(String, String)> = lock(&self.families)
            .values()
            .filter(|f| matches(f))
            .map(|f| (f.client_id.clone(), f.family_id.clone()))
            .collect();
        grants.sort();
        grants.into_iter().map(|(_, id)| id).collect()
    }
}

impl AuthorizationReader for MemoryStore {
    async fn load_authorization_records(
        &self,
        client_id: Option<&str>,
        session: Option<SessionKey<'_>>,
    ) -> StoreResult<AuthorizationRecords> {
        self.called();
        let client = client_id
            .filter(|id| is_storable(id, None))
            .and_then(|id| lock(&self.clients).get(id).cloned());
        let found_session = session
            .filter(|key| is_storable(key.id_hash, None))
            .and_then(|key| lock(&self.sessions).get(key.id_hash).cloned());
        let account = session
            .filter(|key| is_storable(key.sub, None) && is_storable(key.id_hash, None))
            .and_then(|key| lock(&self.accounts).get(key.sub).cloned());
        let consent = client_id
            .zip(session)
            .filter(|(id, key)| is_storable(key.sub, Some(id)))
            .and_then(|(id, key)| {
                lock(&self.consents)
                    .get(&(key.sub.to_string(), id.to_string()))
                    .cloned()
            });
        Ok(AuthorizationRecords {
            client,
            session: found_session,
            account,
            consent,
        })
    }
}

impl AuthorizationStore for MemoryStore {
    async fn save_consent_and_code(&self, consent: &Consent, grant: &Grant) -> StoreResult<()> {
        self.called();
        // One transaction: both keys are checked before either item is written.
        storable(&consent.sub, Some(&consent.client_id))?;
        storable(&grant.code_hash, None)?;
        insert_new(&self.codes, grant.code_hash.clone(), grant.clone())?;
        // Merged into a live consent, as DynamoDB's `ADD` does; an expired one is replaced.
        let mut consents = lock(&self.consents);
        let key = (consent.sub.clone(), consent.client_id.clone());
        let mut merged = consent.clone();
        if let Some(live) = consents
            .get(&key)
            .filter(|stored| stored.expires_at > crate::secret::now())
        {
            merged.scopes = live.scopes.union(&consent.scopes).cloned().collect();
        }
        consents.insert(key, merged);
        Ok(())
    }
}

impl JtiStore for MemoryStore {
    async fn use_once(&self, key: &str, expires_at: i64) -> StoreResult<bool> {
        self.called();
        storable(key, None)?;
        let mut used = lock(&self.used_once);
        // As DynamoDB's condition: an item still there, expired or not, is a replay.
        if used.contains_key(key) {
            return Ok(false);
        }
        used.insert(key.to_string(), expires_at);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClientKind, ClientRegistration};

    fn client(client_id: &str) -> Client {
        let registration = ClientRegistration {
            client_id: client_id.into(),
            name: "App".into(),
            redirect_uris: Vec::new(),
            allowed_scopes: Default::default(),
            default_scopes: Default::default(),
            kind: ClientKind::Public,
            secret_hash: None,
            pkce_optional: false,
            allow_plain_pkce: false,
            grant_types: Vec::new(),
            resource_server: false,
            post_logout_redirect_uris: Vec::new(),
            web_origins: Vec::new(),
            keys: None,
        };
        Client::register(registration).unwrap_or_else(|rule| panic!("{rule}"))
    }

    /// The same rules as `DynamoStore`: impossible keys are found nowhere and never written.
    #[tokio::test]
    async fn keys_dynamodb_refuses_are_read_as_absent_and_refused_on_write() {
        let store = MemoryStore::default();
        for impossible in [String::new(), "c".repeat(2049)] {
            assert!(matches!(store.get_client(&impossible).await, Ok(None)));
            // No `Client` has such an id: `Client::register` refuses it.
            assert!(matches!(
                store.delete_client(&impossible).await,
                Err(StoreError::InvalidKey)
            ));
            assert!(matches!(store.attempts(&impossible).await, Ok(0)));
            assert!(matches!(
                store.count_attempt(&impossible, Some(5), 60).await,
                Err(StoreError::InvalidKey)
            ));
        }
        // A sort key (the consent's client id) is limited to 1024 bytes.
        let long_client = "c".repeat(1025);
        assert!(matches!(
            store.get_consent("sub", &long_client, 0).await,
            Ok(None)
        ));
        let consent = Consent {
            sub: "sub".into(),
            client_id: long_client.clone(),
            scopes: Default::default(),
            expires_at: 1,
        };
        assert!(matches!(
            store.put_consent(&consent).await,
            Err(StoreError::InvalidKey)
        ));
        // The tokens table's keys carry a prefix: a 2046-byte hash makes a 2049-byte `rt#` key.
        assert!(matches!(
            store.get_refresh_token(&"h".repeat(2046)).await,
            Ok(None)
        ));
        assert!(store.create_client(&client("app")).await.is_ok());
        let context = store
            .load_authorization_context(Some(""), None, 0)
            .await
            .ok()
            .unwrap_or_default();
        assert!(context.client.is_none());
        assert_eq!(store.calls(), 13);
    }
}
