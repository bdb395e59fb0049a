//! What every endpoint runs over: the configuration, the store and the warm cache, built
//! once per container before the handler loop (`lambda::run`), or per test on the
//! in-memory store.

use crate::cache::WarmCache;
use crate::config::{Config, ConfigError};
use crate::store::dynamo::{DynamoStore, Usage};

pub struct App<S> {
    pub config: Config,
    pub store: S,
    /// What a warm container keeps between requests. A test that wants a fresh container
    /// over the same store replaces it with `WarmCache::default()`.
    pub cache: WarmCache,
}

impl<S> App<S> {
    /// An app with a cold cache, as a new container starts.
    pub fn new(config: Config, store: S) -> Self {
        App {
            config,
            store,
            cache: WarmCache::default(),
        }
    }
}

impl App<DynamoStore> {
    /// The function's app, and what its store's DynamoDB calls cost (round trips, capacity
    /// units), which `lambda::run` logs per request.
    pub async fn from_env() -> Result<(Self, Usage), ConfigError> {
        let config = Config::from_env()?;
        crate::metrics::enable(&config.tables.prefix);
        let (store, usage) = DynamoStore::from_env_counted(config.tables.clone()).await;
        Ok((App::new(config, store), usage))
    }
}
