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
mod replay;
mod resources;
mod scopes;
mod sessions;
mod signing_keys;
mod throttle;
mod transaction;
mod userinfo;
mod users;

pub use refresh::GRANTS_BY_USER_INDEX;

use crate::config::Tables;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::Client as DynamoClient;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

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

    /// A store on the SDK's standard configuration with our timeouts and retries: region,
    /// credentials, and the endpoint override `AWS_ENDPOINT_URL_DYNAMODB` (the local server)
    /// all come from the environment.
    pub async fn from_env(tables: Tables) -> Self {
        let sdk_config = sdk_config().await;
        DynamoStore::new(DynamoClient::new(&sdk_config), tables)
    }

    /// A store like `from_env` whose round trips are counted.
    pub async fn from_env_counted(tables: Tables) -> (Self, RoundTrips) {
        let sdk_config = sdk_config().await;
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

/// How long one DynamoDB call may take, retries included. A call within a region takes a few
/// milliseconds; one that has not answered in a second will not, so the attempt is given up
/// and retried, and the whole call ends after `CALL_TIMEOUT` with a transient error (`503`).
/// The longest chain of calls in one request (a replayed code: client, code, transaction,
/// revocations) stays inside the functions' 10 s timeout and API Gateway's 30 s.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
pub const CALL_TIMEOUT: Duration = Duration::from_millis(2_500);
/// Attempts of one call: throttling, 5xx, timeouts and lost connections are retried (the
/// SDK's standard mode, with its retry quota), after 25 ms, then 50 ms (jittered): the
/// SDK's default first backoff, 1 s, would spend a request's time budget waiting.
pub const CALL_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_millis(250);

async fn sdk_config() -> aws_config::SdkConfig {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(CALL_TIMEOUT)
        .build();
    let retries = RetryConfig::standard()
        .with_max_attempts(CALL_ATTEMPTS)
        .with_initial_backoff(FIRST_BACKOFF)
        .with_max_backoff(MAX_BACKOFF);
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(retries)
        .load()
        .await
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
