//! What authorize and consent read and write: the client, the session, its account and the consent in
//! one BatchGetItem (judged by `authorization_context`, not here), and the consent with its
//! code in one transaction.

use super::batch::BatchRequest;
use super::clients::{client_from, client_key, CLIENTS};
use super::codes::{grant_item, CODES};
use super::consents::{consent_from, consent_item, consent_key, CONSENTS};
use super::item::{build_error, n, string_set, Item, KeySchema};
use super::sessions::{session_from, session_key, SESSIONS};
use super::transaction::{transaction_conditions, FailedCondition};
use super::users::{account_from, account_item_key, USERS};
use super::DynamoStore;
use crate::model::{Consent, Grant};
use crate::secret;
use crate::store::keys::is_storable;
use crate::store::{
    AuthorizationReader, AuthorizationRecords, AuthorizationStore, SessionKey, StoreError,
    StoreResult,
};
use aws_sdk_dynamodb::types::{KeysAndAttributes, Put, TransactWriteItem, Update};
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

/// How a consent is written with its code: merged into the live consent, or replacing an
/// expired one that TTL has not deleted yet (its scopes must not come back).
#[derive(Clone, Copy)]
enum ConsentWrite {
    Merge,
    ReplaceExpired,
}

/// Rounds of merge and replace before concurrent approvals count as contention.
const CONSENT_WRITE_ROUNDS: usize = 3;

impl AuthorizationStore for DynamoStore {
    /// Concurrent approvals of one user and client lose nothing: the scopes are merged by
    /// DynamoDB (`ADD` to a string set) in the same transaction as the code, on condition that
    /// the stored consent is live or absent; an expired one is replaced, on condition that it is
    /// still expired. Each round is one transaction; a lost condition starts the other kind.
    async fn save_consent_and_code(&self, consent: &Consent, grant: &Grant) -> StoreResult<()> {
        let mut write = ConsentWrite::Merge;
        for _ in 0..CONSENT_WRITE_ROUNDS {
            let failed = match self.write_consent_and_code(consent, grant, write).await? {
                Ok(()) => return Ok(()),
                Err(failed) => failed,
            };
            if failed.iter().any(|failed| failed.index == CODE) {
                // The code's key is 256 random bits.
                return Err(StoreError::AlreadyExists);
            }
            write = match write {
                ConsentWrite::Merge => ConsentWrite::ReplaceExpired,
                ConsentWrite::ReplaceExpired => ConsentWrite::Merge,
            };
        }
        Err(StoreError::Contention(
            "the consent kept changing during the approval".to_string(),
        ))
    }
}

/// The places of the consent and the code in their transaction.
const CODE: usize = 1;

impl DynamoStore {
    async fn write_consent_and_code(
        &self,
        consent: &Consent,
        grant: &Grant,
        write: ConsentWrite,
    ) -> StoreResult<Result<(), Vec<FailedCondition>>> {
        let consent_item = consent_item(consent);
        CONSENTS.check_item(&consent_item)?;
        let code_item = grant_item(grant);
        CODES.check_item(&code_item)?;
        let now = n(secret::now());
        let consent_write = match write {
            ConsentWrite::Merge => {
                let mut update = Update::builder()
                    .table_name(&self.tables.consents)
                    .set_key(Some(consent_key(&consent.sub, &consent.client_id)))
                    .condition_expression("attribute_not_exists(#sub) OR expires_at > :now")
                    .expression_attribute_names("#sub", "sub")
                    .expression_attribute_values(":now", now)
                    .expression_attribute_values(":expires", n(consent.expires_at));
                update = match string_set(&consent.scopes) {
                    Some(scopes) => update
                        .update_expression("SET expires_at = :expires ADD scopes :scopes")
                        .expression_attribute_values(":scopes", scopes),
                    None => update.update_expression("SET expires_at = :expires"),
                };
                TransactWriteItem::builder()
                    .update(update.build().map_err(build_error)?)
                    .build()
            }
            ConsentWrite::ReplaceExpired => {
                let put = Put::builder()
                    .table_name(&self.tables.consents)
                    .set_item(Some(consent_item))
                    .condition_expression("expires_at <= :now")
                    .expression_attribute_values(":now", now)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().put(put).build()
            }
        };
        let put_code = Put::builder()
            .table_name(&self.tables.codes)
            .set_item(Some(code_item))
            .condition_expression("attribute_not_exists(code_hash)")
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(consent_write)
            .transact_items(TransactWriteItem::builder().put(put_code).build())
            .send()
            .await;
        transaction_conditions(result)
    }
}
