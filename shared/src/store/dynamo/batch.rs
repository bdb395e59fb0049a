//! One BatchGetItem, with the bounded retries of unprocessed keys of `authorization::batch_get`.

use super::authorization::{batch_get, BatchPage, BatchRequest};
use super::item::{unavailable, Item};
use super::DynamoStore;
use crate::store::StoreResult;
use aws_sdk_dynamodb::config::AsyncSleep;
use std::collections::HashMap;
use std::time::Duration;

impl DynamoStore {
    /// The items found, per table; keys still unprocessed after the retries are a failure.
    pub(super) async fn batch_get_items(
        &self,
        request: BatchRequest,
    ) -> StoreResult<HashMap<String, Vec<Item>>> {
        let sleeper = self.client.config().sleep_impl();
        let wait = |delay: Duration| {
            let sleeper = sleeper.clone();
            async move {
                if let Some(sleeper) = sleeper {
                    sleeper.sleep(delay).await;
                }
            }
        };
        let send = |request: BatchRequest| async move {
            let output = self
                .client
                .batch_get_item()
                .set_request_items(Some(request))
                .send()
                .await
                .map_err(unavailable)?;
            Ok(BatchPage {
                found: output.responses.unwrap_or_default(),
                unprocessed: output.unprocessed_keys.unwrap_or_default(),
            })
        };
        batch_get(request, send, wait).await
    }
}
