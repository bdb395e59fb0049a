//! A user's consent to a client's scopes, keyed by user and client.

use super::item::{get_num, get_set, get_str, is_live, n, s, string_set, Item, KeySchema};
use super::pages::read_all_pages;
use super::DynamoStore;
use crate::model::Consent;
use crate::store::keys::fits_partition_key;
use crate::store::{ConsentAdmin, ConsentReader, ConsentRemover, StoreResult};
use std::collections::HashMap;

pub(super) const CONSENTS: KeySchema = KeySchema {
    partition: "sub",
    sort: Some("client_id"),
    index_partition: None,
    index_sort: None,
};

pub(super) fn consent_key(sub: &str, client_id: &str) -> Item {
    HashMap::from([
        ("sub".to_string(), s(sub)),
        ("client_id".to_string(), s(client_id)),
    ])
}

/// The scopes are a string set, so that concurrent approvals merge them with `ADD`.
pub(super) fn consent_item(consent: &Consent) -> Item {
    let mut item = consent_key(&consent.sub, &consent.client_id);
    if let Some(scopes) = string_set(&consent.scopes) {
        item.insert("scopes".to_string(), scopes);
    }
    item.insert("expires_at".to_string(), n(consent.expires_at));
    item
}

pub(super) fn consent_from(item: &Item) -> StoreResult<Consent> {
    Ok(Consent {
        sub: get_str(item, "sub")?,
        client_id: get_str(item, "client_id")?,
        scopes: get_set(item, "scopes")?,
        expires_at: get_num(item, "expires_at")?,
    })
}

impl ConsentAdmin for DynamoStore {
    async fn get_consent(
        &self,
        sub: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Option<Consent>> {
        match self
            .get_item(
                &self.tables.consents,
                &CONSENTS,
                consent_key(sub, client_id),
            )
            .await?
        {
            Some(item) if is_live(&item, now) => Ok(Some(consent_from(&item)?)),
            _ => Ok(None),
        }
    }

    async fn put_consent(&self, consent: &Consent) -> StoreResult<()> {
        self.put(&self.tables.consents, &CONSENTS, consent_item(consent))
            .await
    }
}

impl ConsentRemover for DynamoStore {
    async fn delete_consent(&self, sub: &str, client_id: &str) -> StoreResult<()> {
        self.delete_existing(
            &self.tables.consents,
            &CONSENTS,
            consent_key(sub, client_id),
        )
        .await
    }
}

impl ConsentReader for DynamoStore {
    async fn list_consents(&self, sub: &str) -> StoreResult<Vec<Consent>> {
        if !fits_partition_key(sub) {
            return Ok(Vec::new());
        }
        let query = self
            .client
            .query()
            .table_name(&self.tables.consents)
            .key_condition_expression("#sub = :sub")
            .expression_attribute_names("#sub", "sub")
            .expression_attribute_values(":sub", s(sub));
        read_all_pages(query, self.page_size)
            .await?
            .iter()
            .map(consent_from)
            .collect()
    }
}
