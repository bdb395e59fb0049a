//! What authorize and consent read and write: the client, the session and the consent in
//! one BatchGetItem (judged by `authorization_context`, not here), and the consent with its
//! code in one transaction.

use super::clients::{client_from, client_key, CLIENTS};
use super::codes::{grant_item, CODES};
use super::consents::{consent_from, consent_item, consent_key, CONSENTS};
use super::item::{build_error, unavailable, Item, KeySchema};
use super::sessions::{session_from, session_key, SESSIONS};
use super::transaction::transaction_created;
use super::users::{account_from, account_item_key, USERS};
use super::DynamoStore;
use crate::model::{Consent, Grant};
use crate::store::keys::is_storable;
use crate::store::{
    AuthorizationReader, AuthorizationRecords, AuthorizationStore, SessionKey, StoreError,
    StoreResult,
};
use aws_sdk_dynamodb::config::AsyncSleep;
use aws_sdk_dynamodb::types::{KeysAndAttributes, Put, TransactWriteItem};
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

pub(super) type BatchRequest = HashMap<String, KeysAndAttributes>;

/// What one BatchGetItem answered: the items found per table, and the keys DynamoDB left
/// unprocessed (under throttling it may leave some, even all).
pub(super) struct BatchPage {
    pub(super) found: HashMap<String, Vec<Item>>,
    pub(super) unprocessed: BatchRequest,
}

/// BatchGetItem is sent at most this many times for one request.
const BATCH_GET_ATTEMPTS: u32 = 4;
/// The wait before asking again for unprocessed keys, doubled each time (25, 50, 100 ms).
const BATCH_GET_FIRST_BACKOFF: Duration = Duration::from_millis(25);

/// Sends `request` and asks again for what was left unprocessed, with exponential backoff
/// (as AWS advises) and a bounded number of attempts. Keys still unprocessed then are a
/// failure (`Unavailable`), never an absent item: a missing session or consent would send
/// a signed-in user to log in again, or show the consent page again.
pub(super) async fn batch_get<SendBatch, Sent, Wait, Waited>(
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
        Err(StoreError::Unavailable(
            format!("BatchGetItem left keys unprocessed after {BATCH_GET_ATTEMPTS} attempts")
                .into(),
        ))
    }
}

impl AuthorizationReader for DynamoStore {
    async fn load_authorization_records(
        &self,
        client_id: Option<&str>,
        session: Option<SessionKey<'_>>,
    ) -> StoreResult<AuthorizationRecords> {
        let mut wanted: Vec<(&str, &KeySchema, Item)> = Vec::new();
        if let Some(id) = client_id {
            wanted.push((&self.tables.clients, &CLIENTS, client_key(id)));
        }
        if let Some(session) = session {
            wanted.push((
                &self.tables.sessions,
                &SESSIONS,
                session_key(session.id_hash),
            ));
            // Without a session there is no account to judge it by.
            if is_storable(session.sub, None) && is_storable(session.id_hash, None) {
                wanted.push((&self.tables.users, &USERS, account_item_key(session.sub)));
            }
            if let Some(id) = client_id {
                wanted.push((
                    &self.tables.consents,
                    &CONSENTS,
                    consent_key(session.sub, id),
                ));
            }
        }
        let mut request: BatchRequest = HashMap::new();
        // No item has a key DynamoDB refuses: such keys are not asked for (and fail the batch).
        for (table, _, item_key) in wanted
            .into_iter()
            .filter(|(_, schema, item_key)| schema.accepts_key_of(item_key))
        {
            let keys = KeysAndAttributes::builder()
                .keys(item_key)
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            request.insert(table.to_string(), keys);
        }
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
        let items = batch_get(request, send, wait).await?;
        let first = |table: &str| items.get(table).and_then(|found| found.first());
        Ok(AuthorizationRecords {
            client: first(&self.tables.clients).map(client_from).transpose()?,
            session: first(&self.tables.sessions).map(session_from).transpose()?,
            account: first(&self.tables.users).map(account_from).transpose()?,
            consent: first(&self.tables.consents).map(consent_from).transpose()?,
        })
    }
}

impl AuthorizationStore for DynamoStore {
    async fn save_consent_and_code(&self, consent: &Consent, grant: &Grant) -> StoreResult<()> {
        let consent_item = consent_item(consent);
        CONSENTS.check_item(&consent_item)?;
        let code_item = grant_item(grant);
        CODES.check_item(&code_item)?;
        let put_consent = Put::builder()
            .table_name(&self.tables.consents)
            .set_item(Some(consent_item))
            .build()
            .map_err(build_error)?;
        let put_code = Put::builder()
            .table_name(&self.tables.codes)
            .set_item(Some(code_item))
            .condition_expression("attribute_not_exists(code_hash)")
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_consent).build())
            .transact_items(TransactWriteItem::builder().put(put_code).build())
            .send()
            .await;
        // Only the code has a condition: a code with this hash exists.
        transaction_created(result)
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
            matches!(result, Err(StoreError::Unavailable(_))),
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
