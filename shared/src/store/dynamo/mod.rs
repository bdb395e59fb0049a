//! The DynamoDB implementation of the storage traits, one file per record family; attribute
//! maps stay in this module. Items that expire carry `expires_at` (the tables' TTL
//! attribute), and every read and every conditional write checks it too: TTL deletion is
//! late. Before a call, keys and item sizes are checked against DynamoDB's limits (the local
//! server does not enforce them all): an impossible key is read as no item and refused on
//! write (`InvalidKey`), an item over 400 KB is refused (`ItemTooLarge`), nothing sent.
//!
//! - `item`: attribute helpers, key and size checks, error mapping, single-item calls;
//! - `pages`: the one pagination helper of every Scan and Query;
//! - `transaction`: a TransactWriteItems outcome, told apart by its cancellation reasons;
//! - a file per record family, `authorization` (the records of authorize and consent, in
//!   one BatchGetItem) and `userinfo` (a bearer token's records and its user's account, in one
//!   BatchGetItem).

mod authorization;
mod batch;
mod clients;
mod codes;
mod consents;
mod item;
mod pages;
mod refresh;
mod scopes;
mod sessions;
mod signing_keys;
mod throttle;
mod transaction;
mod userinfo;
mod users;

pub use refresh::GRANTS_BY_USER_INDEX;

use crate::config::Tables;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::Client as DynamoClient;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: DynamoClient,
    tables: Tables,
    /// The most items one Scan or Query page holds; `None`: DynamoDB's own (1 MB of items).
    page_size: Option<i32>,
}

impl DynamoStore {
    pub fn new(client: DynamoClient, tables: Tables) -> Self {
        DynamoStore {
            client,
            tables,
            page_size: None,
        }
    }

    /// A store on the SDK's standard configuration: region, credentials, and the
    /// endpoint override `AWS_ENDPOINT_URL_DYNAMODB` (the local server) all come from the environment.
    pub async fn from_env(tables: Tables) -> Self {
        let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        DynamoStore::new(DynamoClient::new(&sdk_config), tables)
    }

    /// A store like `from_env` whose round trips are counted.
    pub async fn from_env_counted(tables: Tables) -> (Self, RoundTrips) {
        let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let counter = RoundTrips::default();
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
            .interceptor(counter.clone())
            .build();
        (
            DynamoStore::new(DynamoClient::from_conf(config), tables),
            counter,
        )
    }

    /// Reads every Scan and Query in pages of at most `items` items (DynamoDB's `Limit`), so
    /// that tests can make a listing span several pages with a few items.
    pub fn with_page_size(self, items: i32) -> Self {
        DynamoStore {
            page_size: Some(items),
            ..self
        }
    }

    pub fn tables(&self) -> &Tables {
        &self.tables
    }
}

/// Counts the HTTP requests a store sends to DynamoDB (retries included), so that tests
/// can assert how many round trips a request costs.
#[derive(Clone, Debug, Default)]
pub struct RoundTrips(Arc<AtomicUsize>);

impl RoundTrips {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.0.store(0, Ordering::SeqCst);
    }
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}
