//! An in-memory store for fast unit tests of domain logic. It follows the same
//! contracts as `DynamoStore` (create-if-absent, consume-once, expiry on read);
//! the storage tests prove those contracts against a real DynamoDB-compatible server.

use super::*;
use crate::model::{RefreshToken, TokenFamily};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct MemoryStore {
    scopes: Mutex<HashMap<String, Scope>>,
    clients: Mutex<HashMap<String, Client>>,
    users: Mutex<HashMap<String, User>>,
    sessions: Mutex<HashMap<String, Session>>,
    consents: Mutex<HashMap<(String, String), Consent>>,
    codes: Mutex<HashMap<String, Grant>>,
    keys: Mutex<Vec<SigningKey>>,
    throttle: Mutex<HashMap<String, (u32, i64)>>,
    revoked: Mutex<HashMap<String, i64>>,
    refresh_tokens: Mutex<HashMap<String, RefreshToken>>,
    families: Mutex<HashMap<String, TokenFamily>>,
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

fn remove_existing<K: std::hash::Hash + Eq, V>(
    map: &Mutex<HashMap<K, V>>,
    key: &K,
) -> StoreResult<()> {
    lock(map)
        .remove(key)
        .map(|_| ())
        .ok_or(StoreError::NotFound)
}

impl ScopeStore for MemoryStore {
    async fn list_scopes(&self) -> StoreResult<Vec<Scope>> {
        let mut scopes: Vec<Scope> = lock(&self.scopes).values().cloned().collect();
        scopes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(scopes)
    }

    async fn create_scope(&self, scope: &Scope) -> StoreResult<()> {
        insert_new(&self.scopes, scope.name.clone(), scope.clone())
    }

    async fn delete_scope(&self, name: &str) -> StoreResult<()> {
        remove_existing(&self.scopes, &name.to_string())
    }
}

impl ClientStore for MemoryStore {
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        Ok(lock(&self.clients).get(client_id).cloned())
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let mut clients: Vec<Client> = lock(&self.clients).values().cloned().collect();
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(clients)
    }

    async fn create_client(&self, client: &Client) -> StoreResult<()> {
        insert_new(&self.clients, client.client_id.clone(), client.clone())
    }

    async fn replace_client(&self, client: &Client) -> StoreResult<()> {
        match lock(&self.clients).get_mut(&client.client_id) {
            Some(existing) => {
                *existing = client.clone();
                Ok(())
            }
            None => Err(StoreError::NotFound),
        }
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<()> {
        remove_existing(&self.clients, &client_id.to_string())
    }
}

impl UserStore for MemoryStore {
    async fn get_user(&self, username: &str) -> StoreResult<Option<User>> {
        Ok(lock(&self.users).get(username).cloned())
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        insert_new(&self.users, user.username.clone(), user.clone())
    }

    async fn delete_user(&self, username: &str) -> StoreResult<()> {
        remove_existing(&self.users, &username.to_string())
    }
}

impl SessionStore for MemoryStore {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        insert_new(&self.sessions, session.id_hash.clone(), session.clone())
    }

    async fn get_session(&self, id_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        Ok(lock(&self.sessions)
            .get(id_hash)
            .filter(|s| s.expires_at > now)
            .cloned())
    }
}

impl ConsentStore for MemoryStore {
    async fn get_consent(
        &self,
        sub: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Option<Consent>> {
        Ok(lock(&self.consents)
            .get(&(sub.to_string(), client_id.to_string()))
            .filter(|c| c.expires_at > now)
            .cloned())
    }

    async fn put_consent(&self, consent: &Consent) -> StoreResult<()> {
        lock(&self.consents).insert(
            (consent.sub.clone(), consent.client_id.clone()),
            consent.clone(),
        );
        Ok(())
    }

    async fn list_consents(&self, sub: &str) -> StoreResult<Vec<Consent>> {
        let mut consents: Vec<Consent> = lock(&self.consents)
            .values()
            .filter(|c| c.sub == sub)
            .cloned()
            .collect();
        consents.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(consents)
    }

    async fn delete_consent(&self, sub: &str, client_id: &str) -> StoreResult<()> {
        remove_existing(&self.consents, &(sub.to_string(), client_id.to_string()))
    }
}

impl CodeStore for MemoryStore {
    async fn create_code(&self, grant: &Grant) -> StoreResult<()> {
        insert_new(&self.codes, grant.code_hash.clone(), grant.clone())
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        now: i64,
        issued_jti: &str,
        issued_family: Option<&str>,
    ) -> StoreResult<Redemption> {
        let mut codes = lock(&self.codes);
        let Some(grant) = codes.get_mut(code_hash) else {
            return Ok(Redemption::Invalid);
        };
        if grant.redeemed_at.is_some() {
            return Ok(Redemption::Replayed(grant.clone()));
        }
        if grant.expires_at <= now {
            return Ok(Redemption::Invalid);
        }
        grant.redeemed_at = Some(now);
        grant.issued_jti = Some(issued_jti.to_string());
        grant.issued_family = issued_family.map(str::to_string);
        Ok(Redemption::Redeemed(grant.clone()))
    }
}

impl KeyStore for MemoryStore {
    async fn list_keys(&self, private: bool) -> StoreResult<Vec<SigningKey>> {
        let mut keys: Vec<SigningKey> = lock(&self.keys)
            .iter()
            .map(|k| SigningKey {
                kid: k.kid.clone(),
                created_at: k.created_at,
                active_from: k.active_from,
                private_pem: if private {
                    k.private_pem.as_ref().map(|p| Secret::new(p.expose()))
                } else {
                    None
                },
                n: k.n.clone(),
                e: k.e.clone(),
            })
            .collect();
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.kid.cmp(&a.kid)));
        Ok(keys)
    }

    async fn put_key(&self, key: &SigningKey) -> StoreResult<()> {
        let mut keys = lock(&self.keys);
        if keys.iter().any(|k| k.kid == key.kid) {
            return Err(StoreError::AlreadyExists);
        }
        keys.push(SigningKey {
            kid: key.kid.clone(),
            created_at: key.created_at,
            active_from: key.active_from,
            private_pem: key.private_pem.as_ref().map(|p| Secret::new(p.expose())),
            n: key.n.clone(),
            e: key.e.clone(),
        });
        Ok(())
    }

    async fn delete_key(&self, kid: &str) -> StoreResult<()> {
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

impl ThrottleStore for MemoryStore {
    async fn failures(&self, username: &str, now: i64) -> StoreResult<u32> {
        Ok(lock(&self.throttle)
            .get(username)
            .filter(|(_, expires_at)| *expires_at > now)
            .map_or(0, |(count, _)| *count))
    }

    async fn record_failure(
        &self,
        username: &str,
        now: i64,
        window_seconds: i64,
    ) -> StoreResult<u32> {
        let mut throttle = lock(&self.throttle);
        let entry = throttle.entry(username.to_string()).or_insert((0, 0));
        if entry.1 <= now {
            *entry = (0, now + window_seconds);
        }
        entry.0 += 1;
        Ok(entry.0)
    }

    async fn clear_failures(&self, username: &str) -> StoreResult<()> {
        lock(&self.throttle).remove(username);
        Ok(())
    }
}

impl RevocationStore for MemoryStore {
    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        lock(&self.revoked).insert(jti.to_string(), expires_at);
        Ok(())
    }

    async fn is_jti_revoked(&self, jti: &str, now: i64) -> StoreResult<bool> {
        Ok(lock(&self.revoked)
            .get(jti)
            .is_some_and(|expires_at| *expires_at > now))
    }
}

impl RefreshTokenStore for MemoryStore {
    async fn create_family(&self, family: &TokenFamily, first: &RefreshToken) -> StoreResult<()> {
        insert_new(&self.families, family.family_id.clone(), family.clone())?;
        insert_new(
            &self.refresh_tokens,
            first.token_hash.clone(),
            first.clone(),
        )
    }

    async fn use_refresh_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<RefreshUse> {
        let mut tokens = lock(&self.refresh_tokens);
        let Some(token) = tokens
            .get_mut(token_hash)
            .filter(|t| t.client_id == client_id)
        else {
            return Ok(RefreshUse::Invalid);
        };
        if token.used_at.is_some() || token.revoked {
            return Ok(RefreshUse::Reused(token.clone()));
        }
        if token.expires_at <= now {
            return Ok(RefreshUse::Invalid);
        }
        token.used_at = Some(now);
        Ok(RefreshUse::Accepted(token.clone()))
    }

    async fn rotate(
        &self,
        used: &RefreshToken,
        next: &RefreshToken,
        now: i64,
    ) -> StoreResult<bool> {
        let mut families = lock(&self.families);
        let Some(family) = families.get_mut(&used.family_id) else {
            return Ok(false);
        };
        if family.revoked || family.current != used.token_hash || family.expires_at <= now {
            return Ok(false);
        }
        family.current = next.token_hash.clone();
        lock(&self.refresh_tokens).insert(next.token_hash.clone(), next.clone());
        Ok(true)
    }

    async fn revoke_family(&self, family_id: &str) -> StoreResult<bool> {
        let mut families = lock(&self.families);
        let Some(family) = families.get_mut(family_id).filter(|f| !f.revoked) else {
            return Ok(false);
        };
        family.revoked = true;
        if let Some(token) = lock(&self.refresh_tokens).get_mut(&family.current) {
            token.revoked = true;
        }
        Ok(true)
    }

    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        Ok(lock(&self.refresh_tokens).get(token_hash).cloned())
    }

    async fn get_family(&self, family_id: &str) -> StoreResult<Option<TokenFamily>> {
        Ok(lock(&self.families).get(family_id).cloned())
    }

    async fn families_of(&self, sub: &str, client_id: &str) -> StoreResult<Vec<String>> {
        Ok(lock(&self.families)
            .values()
            .filter(|f| f.sub == sub && f.client_id == client_id)
            .map(|f| f.family_id.clone())
            .collect())
    }
}

impl AuthorizationStore for MemoryStore {
    async fn load_authorization_context(
        &self,
        client_id: Option<&str>,
        session: Option<SessionKey<'_>>,
        now: i64,
    ) -> StoreResult<AuthorizationContext> {
        let client = match client_id {
            Some(id) => self.get_client(id).await?,
            None => None,
        };
        let Some(key) = session else {
            return Ok(AuthorizationContext {
                client,
                session: None,
                consent: None,
            });
        };
        let session = self
            .get_session(key.id_hash, now)
            .await?
            .filter(|s| s.sub == key.sub);
        let consent = match (client_id, &session) {
            (Some(id), Some(_)) => self.get_consent(key.sub, id, now).await?,
            _ => None,
        };
        Ok(AuthorizationContext {
            client,
            session,
            consent,
        })
    }

    async fn save_consent_and_code(&self, consent: &Consent, grant: &Grant) -> StoreResult<()> {
        self.create_code(grant).await?;
        self.put_consent(consent).await
    }
}
