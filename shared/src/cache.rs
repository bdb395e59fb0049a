//! What a warm Lambda container keeps between requests, to spare DynamoDB round trips:
//! the parsed signing key (`tokens::SignerCache`) and recently read client records.

use crate::model::Client;
use crate::resource::Resource;
use crate::secret::now;
use crate::store::{ClientReader, ResourceReader, StoreResult};
use crate::tokens::SignerCache;
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a container trusts a client record it read: a client's update, deletion or
/// secret rotation takes effect everywhere within this time.
pub const CLIENT_CACHE_SECONDS: i64 = 60;
/// Bound on the cache, so that requests naming many clients cannot grow it without limit.
const CLIENT_CACHE_ENTRIES: usize = 1024;

#[derive(Default)]
pub struct ClientCache {
    entries: Mutex<HashMap<String, (i64, Client)>>,
}

impl ClientCache {
    /// The client, from the cache when read less than `CLIENT_CACHE_SECONDS` ago.
    /// Unknown clients are not cached: a client created a moment ago is found at once.
    pub async fn get<S: ClientReader>(
        &self,
        store: &S,
        client_id: &str,
    ) -> StoreResult<Option<Client>> {
        let t = now();
        if let Some((read_at, client)) = self.lock().get(client_id) {
            if t - read_at < CLIENT_CACHE_SECONDS {
                return Ok(Some(client.clone()));
            }
        }
        let client = store.get_client(client_id).await?;
        if let Some(client) = &client {
            let mut entries = self.lock();
            if entries.len() >= CLIENT_CACHE_ENTRIES {
                entries.clear();
            }
            entries.insert(client_id.to_string(), (t, client.clone()));
        }
        Ok(client)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, Client)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The registered APIs (RFC 8707), read whole and kept as long as client records: a deleted
/// or changed API is seen everywhere within `CLIENT_CACHE_SECONDS`. Like unknown clients, an
/// unknown API is not trusted to the cache: a list that lacks one of `needed` is read again,
/// so an API registered a moment ago is found at once. Read only by a request that names a
/// resource, or about a token for one.
#[derive(Default)]
pub struct ResourceCache {
    entry: Mutex<Option<(i64, Vec<Resource>)>>,
}

impl ResourceCache {
    pub async fn get<S: ResourceReader>(
        &self,
        store: &S,
        needed: &[String],
    ) -> StoreResult<Vec<Resource>> {
        let t = now();
        if let Some((read_at, resources)) = self.lock().as_ref() {
            let has_all = needed
                .iter()
                .all(|uri| resources.iter().any(|r| &r.uri == uri));
            if t - read_at < CLIENT_CACHE_SECONDS && has_all {
                return Ok(resources.clone());
            }
        }
        let resources = store.list_resources().await?;
        *self.lock() = Some((t, resources.clone()));
        Ok(resources)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(i64, Vec<Resource>)>> {
        self.entry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Built once per container, before the handler loop, by the functions that authenticate
/// clients or sign tokens.
#[derive(Default)]
pub struct WarmCache {
    pub signer: SignerCache,
    pub clients: ClientCache,
    pub resources: ResourceCache,
    /// `private_key_jwt` clients' keys fetched from their `jwks_uri`.
    pub jwks: crate::jwks_fetch::JwksCache,
}
