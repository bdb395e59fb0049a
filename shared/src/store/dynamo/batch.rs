//! BatchGetItem: the records of one request across tables in one round trip (authorize and
//! consent: client, session, account, consent; introspect: a token's deny-list entry and
//! grant), with bounded retries of the keys DynamoDB leaves unprocessed.

use super::item::{unavailable, Item};
use super::DynamoStore;
use crate::store::{StoreError, StoreResult};
use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

pub(super) type BatchRequest = HashMap<String, KeysAndAttributes>;

/// What one BatchGetItem answered: the items found per table, and the keys DynamoDB left
/// unprocessed (under throttling it may leave some, even all).
struct BatchPage {
    found: HashMap<String, Vec<Item>>,
    unprocessed: BatchRequest,
}

/// BatchGetItem is sent at most this many times for one request.
const BATCH_GET_ATTEMPTS: u32 = 4;
/// The wait before asking again for unprocessed keys, doubled each time (25, 50, 100 ms).
const BATCH_GET_FIRST_BACKOFF: Duration = Duration::from_millis(25);

/// Sends `request` and asks again for what was left unprocessed, with exponential backoff
/// (as AWS advises) and a bounded number of attempts. Keys still unprocessed then are a
/// failure (`Unavailable`), never an absent item: a missing session or consent would send
/// a signed-in user to log in again, or show the consent page again.
async fn batch_get<SendBatch, Sent, Wait, Waited>(
    mut request: BatchRequest,
    mut send: SendBatch,
    mut wait: Wait,
) -> StoreResult<HashMap<String, Vec<Item>>>
where
    SendBatch: FnMut(BatchRequest) -> Sent,
    Sent: Future<Output = StoreResult<BatchPage>>,
    Wait: FnMut(Duration) -> Waited,
    Waited: Future<Output = ()>,
{
    let mut items: HashMap<String, Vec<Item>> = HashMap::new();
    let mut backoff = BATCH_GET_FIRST_BACKOFF;
    for attempt in 0..BATCH_GET_ATTEMPTS {
        if request.is_empty() {
            return Ok(items);
        }
        if attempt > 0 {
            wait(backoff).await;
            backoff *= 2;
        }
        let page = send(request).await?;
        for (table, found) in page.found {
            items.entry(table).or_default().extend(found);
        }
        request = page.unprocessed;
    }
    if request.is_empty() {
        Ok(items)
    } else {
        // DynamoDB leaves keys unprocessed when it throttles: transient.
        Err(StoreError::Transient(
            format!("BatchGetItem left keys unprocessed after {BATCH_GET_ATTEMPTS} attempts")
                .into(),
        ))
    }
}

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

#[cfg(test)]
mod tests {
    use super::super::item::key;
    use super::*;
    use std::cell::RefCell;

    fn batch_key(id: &str) -> KeysAndAttributes {
        match KeysAndAttributes::builder()
            .keys(key("client_id", id))
            .build()
        {
            Ok(keys) => keys,
            Err(error) => panic!("{error}"),
        }
    }

    fn request_of(tables: &[&str]) -> BatchRequest {
        tables
            .iter()
            .map(|table| (table.to_string(), batch_key(table)))
            .collect()
    }

    /// `batch_get` over scripted pages: each send answers the next page (found tables,
    /// unprocessed tables); returns the result, the tables asked for per send, and the waits.
    async fn scripted(
        pages: Vec<(Vec<&'static str>, Vec<&'static str>)>,
    ) -> (
        StoreResult<HashMap<String, Vec<Item>>>,
        Vec<Vec<String>>,
        Vec<Duration>,
    ) {
        let pages = RefCell::new(pages.into_iter());
        let sent = RefCell::new(Vec::new());
        let waits = RefCell::new(Vec::new());
        let send = |request: BatchRequest| {
            let mut asked: Vec<String> = request.keys().cloned().collect();
            asked.sort();
            sent.borrow_mut().push(asked);
            let page = pages.borrow_mut().next();
            async move {
                let Some((found, unprocessed)) = page else {
                    panic!("sent more often than scripted")
                };
                Ok(BatchPage {
                    found: found
                        .iter()
                        .map(|table| (table.to_string(), vec![key("client_id", table)]))
                        .collect(),
                    unprocessed: request_of(&unprocessed),
                })
            }
        };
        let wait = |delay: Duration| {
            waits.borrow_mut().push(delay);
            async {}
        };
        let result = batch_get(request_of(&["clients", "sessions"]), send, wait).await;
        (result, sent.into_inner(), waits.into_inner())
    }

    #[tokio::test]
    async fn unprocessed_keys_are_asked_again_after_a_growing_wait() {
        let (result, sent, waits) = scripted(vec![
            (vec![], vec!["clients", "sessions"]),
            (vec!["clients"], vec!["sessions"]),
            (vec!["sessions"], vec![]),
        ])
        .await;
        let Ok(items) = result else {
            panic!("{result:?}")
        };
        let mut tables: Vec<&String> = items.keys().collect();
        tables.sort();
        assert_eq!(tables, ["clients", "sessions"]);
        assert_eq!(
            sent,
            [
                vec!["clients", "sessions"],
                vec!["clients", "sessions"],
                vec!["sessions"]
            ]
        );
        assert_eq!(
            waits,
            [Duration::from_millis(25), Duration::from_millis(50)]
        );
    }

    #[tokio::test]
    async fn keys_still_unprocessed_are_a_failure_not_absent_items() {
        let always_unprocessed = (vec!["clients"], vec!["sessions"]);
        let (result, sent, waits) = scripted(vec![always_unprocessed; 4]).await;
        assert!(
            matches!(result, Err(StoreError::Transient(_))),
            "{result:?}"
        );
        assert_eq!(sent.len(), 4, "bounded attempts");
        assert_eq!(
            waits,
            [25, 50, 100].map(Duration::from_millis),
            "exponential backoff"
        );
    }

    #[tokio::test]
    async fn an_empty_request_sends_nothing() {
        let result = batch_get(
            BatchRequest::new(),
            |_| async { panic!("sent an empty request") },
            |_| async {},
        )
        .await;
        assert!(matches!(result, Ok(items) if items.is_empty()));
    }
}
