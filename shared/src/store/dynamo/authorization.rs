//! What authorize and consent read and write: the client, the session, its account and the consent in
//! one BatchGetItem (judged by `authorization_context`, not here), and the consent with its
//! code in one transaction.

use super::batch::BatchRequest;
use super::clients::{client_from, client_key, CLIENTS};
use super::codes::{grant_item, CODES};
use super::consents::{consent_from, consent_item, consent_key, CONSENTS};
use super::item::{build_error, Item, KeySchema};
use super::sessions::{session_from, session_key, SESSIONS};
use super::transaction::transaction_created;
use super::users::{account_from, account_item_key, USERS};
use super::DynamoStore;
use crate::model::{Consent, Grant};
use crate::store::keys::is_storable;
use crate::store::{
    AuthorizationReader, AuthorizationRecords, AuthorizationStore, SessionKey, StoreResult,
};
use aws_sdk_dynamodb::types::{KeysAndAttributes, Put, TransactWriteItem};
use std::collections::HashMap;

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
        let items = self.batch_get_items(request).await?;
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
