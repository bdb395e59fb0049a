//! What every record family shares: attribute maps and their helpers, DynamoDB's limits
//! checked before a call, the mapping of SDK errors, and the single-item calls.

use super::DynamoStore;
use crate::model::{Authentication, ScopeSet};
use crate::store::keys::{fits_partition_key, fits_sort_key, is_storable, MAX_ITEM_BYTES};
use crate::store::{StoreError, StoreResult};
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use std::collections::HashMap;

pub(super) type Item = HashMap<String, AttributeValue>;

// --- DynamoDB's limits, checked before a call ------------------------------------------

/// The key attributes of a table, as `template.yaml` defines them.
pub(super) struct KeySchema {
    pub(super) partition: &'static str,
    pub(super) sort: Option<&'static str>,
    /// The partition key of a global secondary index, on the items that carry one.
    pub(super) index_partition: Option<&'static str>,
    /// That index's sort key, if it has one.
    pub(super) index_sort: Option<&'static str>,
}

impl KeySchema {
    pub(super) const fn simple(partition: &'static str) -> Self {
        KeySchema {
            partition,
            sort: None,
            index_partition: None,
            index_sort: None,
        }
    }

    /// Whether DynamoDB accepts the key that `item` (a key, or a whole item) carries.
    pub(super) fn accepts_key_of(&self, item: &Item) -> bool {
        let Some(partition) = string_value(item, self.partition) else {
            return false;
        };
        match self.sort {
            Some(sort) => {
                string_value(item, sort).is_some_and(|sort| is_storable(partition, Some(sort)))
            }
            None => is_storable(partition, None),
        }
    }

    /// The check of a write that names an item by its key (update, delete).
    pub(super) fn check_key(&self, key: &Item) -> StoreResult<()> {
        if self.accepts_key_of(key) {
            Ok(())
        } else {
            Err(StoreError::InvalidKey)
        }
    }

    /// The check of a put: the item's key, its index key if it has one, and its size.
    pub(super) fn check_item(&self, item: &Item) -> StoreResult<()> {
        self.check_key(item)?;
        // An index key DynamoDB refuses fails the write; an absent one is fine (sparse index).
        for (attribute, fits) in [
            (self.index_partition, fits_partition_key as fn(&str) -> bool),
            (self.index_sort, fits_sort_key),
        ] {
            match attribute.and_then(|name| item.get(name)) {
                None => {}
                Some(AttributeValue::S(value)) if fits(value) => {}
                Some(_) => return Err(StoreError::InvalidKey),
            }
        }
        if item_size(item) > MAX_ITEM_BYTES {
            return Err(StoreError::ItemTooLarge);
        }
        Ok(())
    }
}

fn string_value<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// The size DynamoDB counts against its 400 KB item limit: the UTF-8 bytes of every
/// attribute name plus the size of its value ("Item sizes and formats", DynamoDB Developer
/// Guide).
fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(bytes) => bytes.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        // 3 bytes for the list or map, 1 per element, and the elements (a map's with their names).
        AttributeValue::L(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(name, v)| 1 + name.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::Ss(values) => values.iter().map(String::len).sum(),
        AttributeValue::Ns(values) => values.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(values) => values.iter().map(|b| b.as_ref().len()).sum(),
        // A type newer than this SDK: none is ever written here.
        _ => 0,
    }
}

/// 1 byte per two significant digits (leading and trailing zeros trimmed), plus 1 byte.
fn number_size(number: &str) -> usize {
    let mantissa = number.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

// --- errors ------------------------------------------------------------------------------

/// A failed call: `Transient` when trying again shortly may succeed (the SDK has already
/// retried it: see `DynamoStore::from_env`), `Unavailable` otherwise (a refused permission, a
/// missing table: the deployment's fault).
pub(super) fn unavailable<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if is_transient(&err) {
        StoreError::Transient(Box::new(err))
    } else {
        StoreError::Unavailable(Box::new(err))
    }
}

/// DynamoDB's error codes that say "not now" rather than "never": throttling, its own
/// failures, a transaction that holds the item.
const TRANSIENT_CODES: [&str; 7] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    // A single-item write that met a transaction on its item.
    "TransactionConflictException",
];

/// No answer in time, a lost connection, an unreadable answer, or a transient error code.
fn is_transient<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| TRANSIENT_CODES.contains(&code)),
        _ => false,
    }
}

pub(super) fn build_error(error: BuildError) -> StoreError {
    StoreError::Unavailable(Box::new(error))
}

/// The output of a conditional call, or `None` when its condition failed; any other
/// failure is `Unavailable`.
pub(super) fn unless_condition_failed<O, E, R>(
    result: Result<O, SdkError<E, R>>,
) -> StoreResult<Option<O>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(err)
            if err.as_service_error().and_then(|e| e.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(err) => Err(unavailable(err)),
    }
}

// --- attribute values --------------------------------------------------------------------

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn list<T: AsRef<str>>(values: impl IntoIterator<Item = T>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(|v| s(v.as_ref())).collect())
}

/// A string set (`SS`), which DynamoDB's `ADD` merges atomically; `None` for no values
/// (DynamoDB has no empty set).
pub(super) fn string_set<T: AsRef<str>>(
    values: impl IntoIterator<Item = T>,
) -> Option<AttributeValue> {
    let values: Vec<String> = values.into_iter().map(|v| v.as_ref().to_string()).collect();
    (!values.is_empty()).then_some(AttributeValue::Ss(values))
}

pub(super) fn key(name: &str, value: &str) -> Item {
    HashMap::from([(name.to_string(), s(value))])
}

pub(super) fn get_str(item: &Item, name: &str) -> StoreResult<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} is missing or not a string"
        ))),
    }
}

pub(super) fn get_opt_str(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    }
}

pub(super) fn get_num(item: &Item, name: &str) -> StoreResult<i64> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("attribute {name} is not an integer"))),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} is missing or not a number"
        ))),
    }
}

pub(super) fn get_opt_num(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    }
}

pub(super) fn get_bool(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

pub(super) fn get_list(item: &Item, name: &str) -> StoreResult<Vec<String>> {
    match item.get(name) {
        Some(AttributeValue::L(values)) => values
            .iter()
            .map(|v| match v {
                AttributeValue::S(value) => Ok(value.clone()),
                _ => Err(StoreError::Corrupt(format!(
                    "attribute {name} holds a non-string"
                ))),
            })
            .collect(),
        Some(AttributeValue::Ss(values)) => Ok(values.clone()),
        None => Ok(Vec::new()),
        _ => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a list"
        ))),
    }
}

/// A list of scope names, each through the checked parse: a bad one is corruption.
pub(super) fn get_set(item: &Item, name: &str) -> StoreResult<ScopeSet> {
    let names = get_list(item, name)?;
    ScopeSet::from_names(names.iter().map(String::as_str))
        .ok_or_else(|| StoreError::Corrupt(format!("attribute {name} holds an invalid scope")))
}

/// Whether an item that expires is still live at `now` (TTL deletion is late).
/// The sign-in a code, grant or refresh token carries (`auth_time`, `sid`), as attributes.
pub(super) fn put_authentication(item: &mut Item, authentication: Option<&Authentication>) {
    if let Some(authentication) = authentication {
        item.insert("auth_time".to_string(), n(authentication.auth_time));
        item.insert("sid".to_string(), s(&authentication.sid));
    }
}

/// The sign-in of an item: `None` for one written before OpenID Connect.
pub(super) fn get_authentication(item: &Item) -> Option<Authentication> {
    Some(Authentication {
        auth_time: get_opt_num(item, "auth_time")?,
        sid: get_opt_str(item, "sid")?,
    })
}

pub(super) fn is_live(item: &Item, now: i64) -> bool {
    get_opt_num(item, "expires_at").is_some_and(|expires_at| expires_at > now)
}

// --- single-item calls -------------------------------------------------------------------

impl DynamoStore {
    pub(super) async fn get_item(
        &self,
        table: &str,
        schema: &KeySchema,
        key: Item,
    ) -> StoreResult<Option<Item>> {
        // No item has a key DynamoDB refuses: nothing to ask.
        if !schema.accepts_key_of(&key) {
            return Ok(None);
        }
        let output = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output.item)
    }

    /// Creates an item on condition that its key is free; `AlreadyExists` when it is not.
    pub(super) async fn put_new(
        &self,
        table: &str,
        schema: &KeySchema,
        item: Item,
    ) -> StoreResult<()> {
        self.put_if_absent(table, schema, item, false).await
    }

    /// `put_new` for an item under a random key (a code, a session): finding the very item it
    /// writes is success, not a conflict. That is what the SDK's retry of a write whose answer
    /// was lost (the 1 s attempt timeout, a dropped connection) finds; a different item under
    /// the key is `AlreadyExists`.
    pub(super) async fn put_new_idempotent(
        &self,
        table: &str,
        schema: &KeySchema,
        item: Item,
    ) -> StoreResult<()> {
        self.put_if_absent(table, schema, item, true).await
    }

    /// The failed condition hands back the item under the key, in the same call.
    async fn put_if_absent(
        &self,
        table: &str,
        schema: &KeySchema,
        item: Item,
        same_item_is_ours: bool,
    ) -> StoreResult<()> {
        schema.check_item(&item)?;
        let result = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", schema.partition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    if same_item_is_ours && failed.item() == Some(&item) {
                        Ok(())
                    } else {
                        Err(StoreError::AlreadyExists)
                    }
                }
                _ => Err(unavailable(err)),
            },
        }
    }

    /// Puts an item, replacing any with the same key.
    pub(super) async fn put(&self, table: &str, schema: &KeySchema, item: Item) -> StoreResult<()> {
        schema.check_item(&item)?;
        self.client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Deletes an item; `NotFound` when there was none.
    pub(super) async fn delete_existing(
        &self,
        table: &str,
        schema: &KeySchema,
        key: Item,
    ) -> StoreResult<()> {
        schema.check_key(&key)?;
        let result = self
            .client
            .delete_item()
            .table_name(table)
            .set_key(Some(key))
            .condition_expression("attribute_exists(#k)")
            .expression_attribute_names("#k", schema.partition)
            .send()
            .await;
        unless_condition_failed(result)?
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::super::clients::CLIENTS;
    use super::super::consents::{consent_key, CONSENTS};
    use super::super::refresh::TOKENS;
    use super::*;

    #[test]
    fn item_sizes_follow_dynamodbs_rules() {
        // Strings: name and value bytes.
        assert_eq!(item_size(&key("id", "abc")), 5);
        assert_eq!(item_size(&key("id", "\u{e9}")), 4);
        // Numbers: 1 byte per two significant digits, plus 1.
        for (number, size) in [
            ("0", 1),
            ("7", 2),
            ("12", 2),
            ("123", 3),
            ("1700000000", 2),
            ("-1.50", 2),
            ("1.2e10", 2),
        ] {
            assert_eq!(number_size(number), size, "{number}");
        }
        let flags = HashMap::from([
            ("ok".to_string(), AttributeValue::Bool(true)),
            ("gone".to_string(), AttributeValue::Null(true)),
        ]);
        assert_eq!(item_size(&flags), 2 + 1 + 4 + 1);
        // Lists and maps: 3 bytes, 1 per element, and the elements.
        let scopes = ["read".to_string(), "write".to_string()];
        let listed = HashMap::from([("scopes".to_string(), list(&scopes))]);
        assert_eq!(item_size(&listed), 6 + 3 + (1 + 4) + (1 + 5));
        let empty = HashMap::from([("l".to_string(), AttributeValue::L(Vec::new()))]);
        assert_eq!(item_size(&empty), 1 + 3);
        let nested = HashMap::from([(
            "m".to_string(),
            AttributeValue::M(HashMap::from([("k".to_string(), n(42))])),
        )]);
        assert_eq!(item_size(&nested), 1 + 3 + (1 + 1 + 2));
    }

    #[test]
    fn writes_are_checked_for_keys_and_size() {
        let client = |name: String| {
            HashMap::from([
                ("client_id".to_string(), s("app")),
                ("name".to_string(), s(name)),
            ])
        };
        assert!(CLIENTS.check_item(&client("App".into())).is_ok());
        let limit = MAX_ITEM_BYTES - "client_id".len() - "app".len() - "name".len();
        assert!(CLIENTS.check_item(&client("n".repeat(limit))).is_ok());
        assert!(matches!(
            CLIENTS.check_item(&client("n".repeat(limit + 1))),
            Err(StoreError::ItemTooLarge)
        ));
        assert!(matches!(
            CLIENTS.check_item(&key("client_id", "")),
            Err(StoreError::InvalidKey)
        ));
        assert!(matches!(
            CLIENTS.check_item(&key("name", "no key at all")),
            Err(StoreError::InvalidKey)
        ));
        assert!(CONSENTS.accepts_key_of(&consent_key("sub", &"c".repeat(1024))));
        assert!(!CONSENTS.accepts_key_of(&consent_key("sub", &"c".repeat(1025))));
        assert!(!CONSENTS.accepts_key_of(&consent_key("", "app")));
        assert!(!CONSENTS.accepts_key_of(&key("sub", "only the partition")));
        let family = |sub: &str, client: &str| {
            HashMap::from([
                ("pk".to_string(), s("fam#1")),
                ("grant_sub".to_string(), s(sub)),
                ("grant_client".to_string(), s(client)),
            ])
        };
        assert!(TOKENS.check_item(&family("sub", "app")).is_ok());
        assert!(matches!(
            TOKENS.check_item(&family(&"g".repeat(2049), "app")),
            Err(StoreError::InvalidKey)
        ));
        assert!(matches!(
            TOKENS.check_item(&family("sub", &"c".repeat(1025))),
            Err(StoreError::InvalidKey)
        ));
        assert!(TOKENS.check_item(&key("pk", "jti#1")).is_ok());
    }
}
