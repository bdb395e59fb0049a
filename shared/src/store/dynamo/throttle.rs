//! Sign-in attempt counters, one item per counter and window (the window is in the key, so
//! a stale item is never read as a live one and nothing is ever reset).

use super::item::{get_num, key, n, unavailable, unless_condition_failed, KeySchema};
use super::DynamoStore;
use crate::store::{Attempt, StoreResult, ThrottleStore};
use aws_sdk_dynamodb::types::ReturnValue;

const THROTTLE: KeySchema = KeySchema::simple("pk");

fn count(value: i64) -> u32 {
    value.clamp(0, u32::MAX as i64) as u32
}

impl ThrottleStore for DynamoStore {
    /// One `UpdateItem`: `ADD attempts :one`, on the condition that the limit is not reached
    /// (DynamoDB applies conditional writes to one item one at a time, so concurrent calls
    /// cannot all pass it), creating the item with its TTL on the first attempt.
    async fn count_attempt(
        &self,
        key_value: &str,
        limit: Option<u32>,
        expires_at: i64,
    ) -> StoreResult<Attempt> {
        let item_key = key("pk", key_value);
        THROTTLE.check_key(&item_key)?;
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.throttle)
            .set_key(Some(item_key))
            .update_expression(
                "ADD attempts :one SET expires_at = if_not_exists(expires_at, :expires_at)",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires_at", n(expires_at))
            .return_values(ReturnValue::UpdatedNew);
        if let Some(limit) = limit {
            update = update
                .condition_expression("attribute_not_exists(attempts) OR attempts < :limit")
                .expression_attribute_values(":limit", n(i64::from(limit)));
        }
        match unless_condition_failed(update.send().await)? {
            Some(output) => {
                let attempts = get_num(&output.attributes.unwrap_or_default(), "attempts")?;
                Ok(Attempt::Counted(count(attempts)))
            }
            None => Ok(Attempt::AtLimit),
        }
    }

    async fn attempts(&self, key_value: &str) -> StoreResult<u32> {
        match self
            .get_item(&self.tables.throttle, &THROTTLE, key("pk", key_value))
            .await?
        {
            Some(item) => Ok(count(get_num(&item, "attempts")?)),
            None => Ok(0),
        }
    }

    async fn clear_attempts(&self, key_value: &str) -> StoreResult<()> {
        let item_key = key("pk", key_value);
        THROTTLE.check_key(&item_key)?;
        self.client
            .delete_item()
            .table_name(&self.tables.throttle)
            .set_key(Some(item_key))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
