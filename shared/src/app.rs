//! What a function builds once, before its handler loop: configuration and the store.

use crate::config::{Config, ConfigError};
use crate::store::dynamo::DynamoStore;

pub struct App {
    pub config: Config,
    pub store: DynamoStore,
}

impl App {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        crate::metrics::enable(&config.tables.prefix);
        let store = DynamoStore::from_env(config.tables.clone()).await;
        Ok(App { config, store })
    }
}
