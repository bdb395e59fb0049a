//! Single-use JWT ids: one item per id, kept until the JWT's expiry (the table's TTL).

use super::item::{key, n, unless_condition_failed, KeySchema};
use super::DynamoStore;
use crate::store::{JtiStore, StoreResult};

const REPLAY: KeySchema = KeySchema::simple("pk");

impl JtiStore for DynamoStore {
    /// One conditional `PutItem`: DynamoDB applies it to one key at a time, so of concurrent
    /// uses exactly one passes. An expired item that TTL has not deleted yet still counts:
    /// its JWT is refused as expired before it gets here.
    async fn use_once(&self, key_value: &str, expires_at: i64) -> StoreResult<bool> {
        let mut item = key("pk", key_value);
        REPLAY.check_item(&item)?;
        item.insert("expires_at".to_string(), n(expires_at));
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.replay)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        Ok(unless_condition_failed(result)?.is_some())
    }
}
