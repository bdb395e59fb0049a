//! Failed-login counters per account name, in windows that expire.

use super::item::{get_num, is_live, key, n, s, unavailable, unless_condition_failed, KeySchema};
use super::DynamoStore;
use crate::store::keys::storable;
use crate::store::{StoreResult, ThrottleStore};
use aws_sdk_dynamodb::types::ReturnValue;
use std::collections::HashMap;

const THROTTLE: KeySchema = KeySchema::simple("username");

impl ThrottleStore for DynamoStore {
    async fn failures(&self, username: &str, now: i64) -> StoreResult<u32> {
        match self
            .get_item(&self.tables.throttle, &THROTTLE, key("username", username))
            .await?
        {
            Some(item) if is_live(&item, now) => {
                Ok(get_num(&item, "failures")?.clamp(0, u32::MAX as i64) as u32)
            }
            _ => Ok(0),
        }
    }

    async fn record_failure(
        &self,
        username: &str,
        now: i64,
        window_seconds: i64,
    ) -> StoreResult<u32> {
        storable(username, None)?;
        // A live window counts up; an expired or missing one starts again at 1.
        let live = self
            .client
            .update_item()
            .table_name(&self.tables.throttle)
            .key("username", s(username))
            .update_expression("ADD failures :one")
            .condition_expression("expires_at > :now")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        if let Some(output) = unless_condition_failed(live)? {
            let failures = get_num(&output.attributes.unwrap_or_default(), "failures")?;
            return Ok(failures.clamp(0, u32::MAX as i64) as u32);
        }
        let item = HashMap::from([
            ("username".to_string(), s(username)),
            ("failures".to_string(), n(1)),
            ("expires_at".to_string(), n(now + window_seconds)),
        ]);
        self.put(&self.tables.throttle, &THROTTLE, item).await?;
        Ok(1)
    }

    async fn clear_failures(&self, username: &str) -> StoreResult<()> {
        storable(username, None)?;
        self.client
            .delete_item()
            .table_name(&self.tables.throttle)
            .key("username", s(username))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
