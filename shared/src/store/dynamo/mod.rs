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
use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::ConsumedCapacity;
use aws_sdk_dynamodb::Client as DynamoClient;
use std::sync::{Arc, Mutex};
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
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
            .interceptor(ReturnConsumedCapacity)
            .build();
        DynamoStore::new(DynamoClient::from_conf(config), tables)
    }

    /// A store like `from_env` whose round trips and consumed capacity are counted.
    pub async fn from_env_counted(tables: Tables) -> (Self, Usage) {
        let sdk_config = sdk_config().await;
        let counter = Usage::default();
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
            .interceptor(ReturnConsumedCapacity)
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

/// Asks DynamoDB for the capacity each call consumes (`ReturnConsumedCapacity: TOTAL`), on
/// every call of every store, production included: the figures cost nothing (a few bytes of
/// the answer), so the functions run as tested, and `Usage` can add them up.
///
/// One interceptor rather than the parameter at each of the twenty call sites: no call can
/// forget it. Before the retry loop (so before signing, and once for all attempts), it adds the
/// member to the serialized JSON body of the operations that take it and sets Content-Length
/// anew. A body that is not a JSON object, or that names the member already, is left alone.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReturnConsumedCapacity;

/// The operations whose requests take `ReturnConsumedCapacity` (the ones the store calls, and
/// their kin); control-plane calls (CreateTable, DescribeTable, ...) do not.
const CAPACITY_OPERATIONS: [&str; 10] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
];

const TARGET_PREFIX: &str = "DynamoDB_20120810.";
const CAPACITY_MEMBER: &[u8] = br#""ReturnConsumedCapacity":"TOTAL""#;

/// `body` (a JSON object) with `"ReturnConsumedCapacity":"TOTAL"` as its first member; `None`
/// when it is not an object or already asks.
pub fn with_consumed_capacity(body: &[u8]) -> Option<Vec<u8>> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    if body[start] != b'{' || contains(body, b"\"ReturnConsumedCapacity\"") {
        return None;
    }
    let rest = &body[start + 1..];
    let empty = rest
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'}');
    let mut out = Vec::with_capacity(body.len() + CAPACITY_MEMBER.len() + 1);
    out.extend_from_slice(&body[..=start]);
    out.extend_from_slice(CAPACITY_MEMBER);
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Some(out)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

impl Intercept for ReturnConsumedCapacity {
    fn name(&self) -> &'static str {
        "ReturnConsumedCapacity"
    }

    fn modify_before_retry_loop(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let request = context.request_mut();
        let asks = request
            .headers()
            .get("x-amz-target")
            .and_then(|target| target.strip_prefix(TARGET_PREFIX))
            .is_some_and(|operation| CAPACITY_OPERATIONS.contains(&operation));
        if !asks {
            return Ok(());
        }
        let Some(body) = request.body().bytes().and_then(with_consumed_capacity) else {
            return Ok(());
        };
        let length = body.len().to_string();
        *request.body_mut() = body.into();
        request.headers_mut().insert("content-length", length);
        Ok(())
    }
}

/// What a store's calls to DynamoDB cost, counted by an interceptor so that tests can assert
/// it per request: HTTP requests sent (round trips, retries included), and the read and
/// write capacity units that DynamoDB reported consuming (`ConsumedCapacity` of each answer,
/// every table of a batch or transaction; an error answer reports none).
#[derive(Clone, Debug, Default)]
pub struct Usage(Arc<Mutex<Counts>>);

/// The sums of `Usage` since it was last reset.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counts {
    pub round_trips: usize,
    pub read_units: f64,
    pub write_units: f64,
}

impl Usage {
    pub fn counts(&self) -> Counts {
        *self.lock()
    }

    /// Round trips since the last reset.
    pub fn count(&self) -> usize {
        self.lock().round_trips
    }

    pub fn reset(&self) {
        *self.lock() = Counts::default();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // The counts stay meaningful even if a thread panicked while holding the lock.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add(&self, capacity: &ConsumedCapacity, kind: Kind) {
        let (read, write) = units(capacity, kind);
        let mut counts = self.lock();
        counts.read_units += read;
        counts.write_units += write;
    }
}

/// Whether an operation reads or writes: what `CapacityUnits` alone counts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
}

/// The read and write units of one `ConsumedCapacity`: `ReadCapacityUnits` and
/// `WriteCapacityUnits` when DynamoDB splits them, else `CapacityUnits`, of the operation's kind.
fn units(capacity: &ConsumedCapacity, kind: Kind) -> (f64, f64) {
    match (
        capacity.read_capacity_units(),
        capacity.write_capacity_units(),
    ) {
        (None, None) => {
            let total = capacity.capacity_units().unwrap_or(0.0);
            match kind {
                Kind::Read => (total, 0.0),
                Kind::Write => (0.0, total),
            }
        }
        (read, write) => (read.unwrap_or(0.0), write.unwrap_or(0.0)),
    }
}

impl Intercept for Usage {
    fn name(&self) -> &'static str {
        "Usage"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.lock().round_trips += 1;
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let Ok(output) = context.output_or_error() else {
            return Ok(());
        };
        macro_rules! one {
            ($($output:ty => $kind:expr),* $(,)?) => {
                $(if let Some(output) = output.downcast_ref::<$output>() {
                    if let Some(capacity) = output.consumed_capacity() {
                        self.add(capacity, $kind);
                    }
                    return Ok(());
                })*
            };
        }
        macro_rules! many {
            ($($output:ty => $kind:expr),* $(,)?) => {
                $(if let Some(output) = output.downcast_ref::<$output>() {
                    for capacity in output.consumed_capacity() {
                        self.add(capacity, $kind);
                    }
                    return Ok(());
                })*
            };
        }
        use aws_sdk_dynamodb::operation as op;
        one!(
            op::get_item::GetItemOutput => Kind::Read,
            op::query::QueryOutput => Kind::Read,
            op::scan::ScanOutput => Kind::Read,
            op::put_item::PutItemOutput => Kind::Write,
            op::update_item::UpdateItemOutput => Kind::Write,
            op::delete_item::DeleteItemOutput => Kind::Write,
        );
        many!(
            op::batch_get_item::BatchGetItemOutput => Kind::Read,
            op::transact_get_items::TransactGetItemsOutput => Kind::Read,
            op::batch_write_item::BatchWriteItemOutput => Kind::Write,
            op::transact_write_items::TransactWriteItemsOutput => Kind::Write,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_member_goes_first_in_the_object() {
        let with = |body: &str| {
            with_consumed_capacity(body.as_bytes())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        };
        assert_eq!(
            with(r#"{"TableName":"t"}"#).as_deref(),
            Some(r#"{"ReturnConsumedCapacity":"TOTAL","TableName":"t"}"#)
        );
        assert_eq!(
            with("{}").as_deref(),
            Some(r#"{"ReturnConsumedCapacity":"TOTAL"}"#)
        );
        assert_eq!(
            with(" { } ").as_deref(),
            Some(r#" {"ReturnConsumedCapacity":"TOTAL" } "#)
        );
        assert_eq!(with(r#"{"ReturnConsumedCapacity":"NONE"}"#), None);
        assert_eq!(with("[]"), None);
        assert_eq!(with(""), None);
        for body in [r#"{"TableName":"t"}"#, "{}", " { } "] {
            let Some(bytes) = with_consumed_capacity(body.as_bytes()) else {
                panic!("{body}")
            };
            let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&bytes);
            assert_eq!(
                parsed.ok().map(|v| v["ReturnConsumedCapacity"].clone()),
                Some(serde_json::json!("TOTAL"))
            );
        }
    }

    #[test]
    fn units_split_by_kind_when_dynamodb_gives_a_total_only() {
        let total = ConsumedCapacity::builder().capacity_units(2.0).build();
        assert_eq!(units(&total, Kind::Read), (2.0, 0.0));
        assert_eq!(units(&total, Kind::Write), (0.0, 2.0));
        let split = ConsumedCapacity::builder()
            .capacity_units(3.0)
            .read_capacity_units(2.0)
            .write_capacity_units(1.0)
            .build();
        assert_eq!(units(&split, Kind::Write), (2.0, 1.0));
        let writes = ConsumedCapacity::builder()
            .capacity_units(4.0)
            .write_capacity_units(4.0)
            .build();
        assert_eq!(units(&writes, Kind::Read), (0.0, 4.0));
    }
}
