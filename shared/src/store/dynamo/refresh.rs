//! The tokens table: refresh tokens (`rt#`), grants (`fam#`: the families of refresh tokens,
//! found by user and client through the sparse index `grants_by_user`) and revoked access
//! tokens' `jti`s (`jti#`).

use super::item::{
    build_error, get_authentication, get_bool, get_list, get_num, get_opt_num, get_opt_str,
    get_set, get_str, is_live, key, list, n, put_authentication, s, unless_condition_failed, Item,
    KeySchema,
};
use super::pages::read_all_pages;
use super::transaction::{transaction_conditions, transaction_created};
use super::DynamoStore;
use crate::model::{RefreshToken, TokenFamily};
use crate::store::keys::{
    family_key, fits_grant_index, fits_partition_key, is_storable, refresh_token_key,
    revoked_jti_key, storable,
};
use crate::store::{
    AccessTokenRecords, ConsentGrantReader, GrantRevoker, RefreshTokenAdmin, RefreshTokenReader,
    RefreshTokenStore, RevocationReader, RevocationStore, Rotation, StoreError, StoreResult,
};
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use std::collections::HashMap;

pub(super) const TOKENS: KeySchema = KeySchema {
    partition: "pk",
    sort: None,
    index_partition: Some("grant_sub"),
    index_sort: Some("grant_client"),
};

/// Sparse (only grants carry `grant_sub` and `grant_client`), keys only: a user's grants,
/// with every client (by `grant_sub`) or with one (and `grant_client`).
pub const GRANTS_BY_USER_INDEX: &str = "grants_by_user";

impl RevocationStore for DynamoStore {
    async fn revoke_jti(&self, jti: &str, expires_at: i64) -> StoreResult<()> {
        let item = HashMap::from([
            ("pk".to_string(), s(revoked_jti_key(jti))),
            ("expires_at".to_string(), n(expires_at)),
        ]);
        self.put(&self.tables.tokens, &TOKENS, item).await
    }
}

impl RevocationReader for DynamoStore {
    async fn is_jti_revoked(&self, jti: &str, now: i64) -> StoreResult<bool> {
        Ok(self
            .get_item(
                &self.tables.tokens,
                &TOKENS,
                key("pk", &revoked_jti_key(jti)),
            )
            .await?
            .is_some_and(|item| is_live(&item, now)))
    }

    async fn access_token_records(
        &self,
        jti: &str,
        grant_id: &str,
        now: i64,
    ) -> StoreResult<AccessTokenRecords> {
        let wanted = AccessTokenKeys::new(jti, grant_id);
        if wanted.keys.is_empty() {
            return wanted.records_from(&[], now);
        }
        let keys = KeysAndAttributes::builder()
            .set_keys(Some(wanted.keys.clone()))
            .consistent_read(true)
            .build()
            .map_err(build_error)?;
        let request = HashMap::from([(self.tables.tokens.clone(), keys)]);
        let found = self.batch_get_items(request).await?;
        let items = found.get(&self.tables.tokens).map(Vec::as_slice);
        wanted.records_from(items.unwrap_or_default(), now)
    }
}

/// The tokens table's items that say whether an access token still counts: its `jti`'s
/// deny-list entry and its grant, for a `BatchGetItem` (introspect's alone, UserInfo's with
/// the account).
pub(super) struct AccessTokenKeys {
    jti_pk: String,
    grant_pk: String,
    /// The keys to ask for: no item has a key DynamoDB refuses, so such keys are left out.
    pub(super) keys: Vec<Item>,
}

impl AccessTokenKeys {
    pub(super) fn new(jti: &str, grant_id: &str) -> Self {
        let jti_pk = revoked_jti_key(jti);
        let grant_pk = family_key(grant_id);
        let keys = [&jti_pk, &grant_pk]
            .into_iter()
            .map(|pk| key("pk", pk))
            .filter(|item_key| TOKENS.accepts_key_of(item_key))
            .collect();
        AccessTokenKeys {
            jti_pk,
            grant_pk,
            keys,
        }
    }

    /// The records, from the tokens table's items the batch found.
    pub(super) fn records_from(&self, items: &[Item], now: i64) -> StoreResult<AccessTokenRecords> {
        let mut records = AccessTokenRecords {
            jti_revoked: false,
            grant: None,
        };
        for item in items {
            let pk = get_str(item, "pk")?;
            if pk == self.jti_pk {
                records.jti_revoked = is_live(item, now);
            } else if pk == self.grant_pk {
                records.grant = Some(family_from(item)?);
            }
        }
        Ok(records)
    }
}

pub(super) fn refresh_item(token: &RefreshToken) -> Item {
    let mut item = HashMap::from([
        ("pk".to_string(), s(refresh_token_key(&token.token_hash))),
        ("family_id".to_string(), s(&token.family_id)),
        ("client_id".to_string(), s(&token.client_id)),
        ("sub".to_string(), s(&token.sub)),
        ("scopes".to_string(), list(&token.scopes)),
        ("issued_at".to_string(), n(token.issued_at)),
        ("expires_at".to_string(), n(token.expires_at)),
        ("family_expires_at".to_string(), n(token.family_expires_at)),
    ]);
    put_authentication(&mut item, token.authentication.as_ref());
    if !token.resources.is_empty() {
        item.insert("resources".to_string(), list(&token.resources));
    }
    item
}

fn refresh_from(item: &Item) -> StoreResult<RefreshToken> {
    let pk = get_str(item, "pk")?;
    Ok(RefreshToken {
        token_hash: pk.strip_prefix("rt#").unwrap_or(&pk).to_string(),
        family_id: get_str(item, "family_id")?,
        client_id: get_str(item, "client_id")?,
        sub: get_str(item, "sub")?,
        scopes: get_set(item, "scopes")?,
        issued_at: get_num(item, "issued_at")?,
        expires_at: get_num(item, "expires_at")?,
        family_expires_at: get_num(item, "family_expires_at")?,
        used_at: get_opt_num(item, "used_at"),
        revoked: get_bool(item, "revoked"),
        authentication: get_authentication(item),
        resources: get_list(item, "resources")?,
    })
}

/// A grant's item, with its keys in the sparse index `grants_by_user`.
pub(super) fn family_item(family: &TokenFamily) -> Item {
    let mut item = HashMap::from([
        ("pk".to_string(), s(family_key(&family.family_id))),
        ("client_id".to_string(), s(&family.client_id)),
        ("sub".to_string(), s(&family.sub)),
        ("expires_at".to_string(), n(family.expires_at)),
        ("grant_sub".to_string(), s(&family.sub)),
        ("grant_client".to_string(), s(&family.client_id)),
    ]);
    if let Some(current) = &family.current {
        item.insert("current".to_string(), s(current));
    }
    if family.revoked {
        item.insert("revoked".to_string(), AttributeValue::Bool(true));
    }
    put_authentication(&mut item, family.authentication.as_ref());
    item
}

fn family_from(item: &Item) -> StoreResult<TokenFamily> {
    let pk = get_str(item, "pk")?;
    Ok(TokenFamily {
        family_id: pk.strip_prefix("fam#").unwrap_or(&pk).to_string(),
        client_id: get_str(item, "client_id")?,
        sub: get_str(item, "sub")?,
        expires_at: get_num(item, "expires_at")?,
        current: get_opt_str(item, "current"),
        revoked: get_bool(item, "revoked"),
        authentication: get_authentication(item),
    })
}

impl DynamoStore {
    /// A put of a new item of the tokens table, for a transaction: cancelled if one exists.
    pub(super) fn put_new_token(&self, item: Item) -> StoreResult<TransactWriteItem> {
        TOKENS.check_item(&item)?;
        let put = Put::builder()
            .table_name(&self.tables.tokens)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

/// The places of a rotation transaction's items: the presented token's use, the family's
/// advance, the successor, the check on the user's account.
const PRESENTED: usize = 0;
const FAMILY: usize = 1;
const USER_CHECK: usize = 3;

impl RefreshTokenStore for DynamoStore {
    async fn create_family(&self, family: &TokenFamily, first: &RefreshToken) -> StoreResult<()> {
        let result = self
            .client
            .transact_write_items()
            .transact_items(self.put_new_token(family_item(family))?)
            .transact_items(self.put_new_token(refresh_item(first))?)
            .send()
            .await;
        transaction_created(result)
    }

    async fn rotate(
        &self,
        used: &RefreshToken,
        next: &RefreshToken,
        now: i64,
    ) -> StoreResult<Rotation> {
        let used_pk = refresh_token_key(&used.token_hash);
        let family_pk = family_key(&used.family_id);
        storable(&used_pk, None)?;
        storable(&family_pk, None)?;
        // A failed condition hands back the token as it was: used or revoked is reuse.
        let spend = Update::builder()
            .table_name(&self.tables.tokens)
            .key("pk", s(used_pk))
            .update_expression("SET used_at = :now")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(used_at) \
                 AND attribute_not_exists(revoked) AND expires_at > :now",
            )
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_error)?;
        let advance = Update::builder()
            .table_name(&self.tables.tokens)
            .key("pk", s(family_pk))
            .update_expression("SET #current = :next")
            .condition_expression(
                "#current = :used AND attribute_not_exists(revoked) AND expires_at > :now",
            )
            .expression_attribute_names("#current", "current")
            .expression_attribute_values(":next", s(&next.token_hash))
            .expression_attribute_values(":used", s(&used.token_hash))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(build_error)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(spend).build())
            .transact_items(TransactWriteItem::builder().update(advance).build())
            .transact_items(self.put_new_token(refresh_item(next))?)
            .transact_items(self.account_exists_check(&used.sub)?)
            .send()
            .await;
        let failed = match transaction_conditions(result)? {
            Ok(()) => return Ok(Rotation::Rotated),
            Err(failed) => failed,
        };
        let failed_at = |index| failed.iter().find(|failed| failed.index == index);
        if let Some(presented) = failed_at(PRESENTED) {
            let spent = presented
                .old
                .as_ref()
                .is_some_and(|old| old.contains_key("used_at") || get_bool(old, "revoked"));
            return Ok(if spent {
                Rotation::Reused
            } else {
                Rotation::Ended
            });
        }
        if failed_at(FAMILY).is_some() {
            return Ok(Rotation::Ended);
        }
        if failed_at(USER_CHECK).is_some() {
            return Ok(Rotation::UserGone);
        }
        // The successor's key existed already: it is 256 random bits.
        Err(StoreError::AlreadyExists)
    }
}

impl GrantRevoker for DynamoStore {
    async fn revoke_family(&self, family_id: &str) -> StoreResult<bool> {
        let family_pk = family_key(family_id);
        storable(&family_pk, None)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.tokens)
            .key("pk", s(family_pk))
            .update_expression("SET revoked = :yes")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(revoked)")
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let Some(output) = unless_condition_failed(result)? else {
            return Ok(false);
        };
        let family = family_from(&output.attributes.unwrap_or_default())?;
        // The family's one live token is revoked too, so it cannot be used even once more.
        // Whether or not the token item is still there (it may have expired, and no item has
        // an impossible key), the family is revoked. A grant without refresh tokens has none.
        let Some(current) = family.current else {
            return Ok(true);
        };
        let current_pk = refresh_token_key(&current);
        if is_storable(&current_pk, None) {
            let result = self
                .client
                .update_item()
                .table_name(&self.tables.tokens)
                .key("pk", s(current_pk))
                .update_expression("SET revoked = :yes")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .send()
                .await;
            unless_condition_failed(result)?;
        }
        Ok(true)
    }
}

impl RefreshTokenReader for DynamoStore {
    async fn get_refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        self.get_item(
            &self.tables.tokens,
            &TOKENS,
            key("pk", &refresh_token_key(token_hash)),
        )
        .await?
        .as_ref()
        .map(refresh_from)
        .transpose()
    }

    async fn get_family(&self, family_id: &str) -> StoreResult<Option<TokenFamily>> {
        self.get_item(
            &self.tables.tokens,
            &TOKENS,
            key("pk", &family_key(family_id)),
        )
        .await?
        .as_ref()
        .map(family_from)
        .transpose()
    }
}

impl DynamoStore {
    /// The ids of the grants a query of `grants_by_user` finds.
    async fn query_grants(
        &self,
        condition: &str,
        values: &[(&str, &str)],
    ) -> StoreResult<Vec<String>> {
        let query = values.iter().fold(
            self.client
                .query()
                .table_name(&self.tables.tokens)
                .index_name(GRANTS_BY_USER_INDEX)
                .key_condition_expression(condition),
            |query, (name, value)| query.expression_attribute_values(*name, s(*value)),
        );
        read_all_pages(query, self.page_size)
            .await?
            .iter()
            .map(|item| {
                let pk = get_str(item, "pk")?;
                Ok(pk.strip_prefix("fam#").unwrap_or(&pk).to_string())
            })
            .collect()
    }
}

impl RefreshTokenAdmin for DynamoStore {
    async fn families_of_user(&self, sub: &str) -> StoreResult<Vec<String>> {
        if !fits_partition_key(sub) {
            return Ok(Vec::new());
        }
        self.query_grants("grant_sub = :sub", &[(":sub", sub)])
            .await
    }
}

impl ConsentGrantReader for DynamoStore {
    async fn families_of(&self, sub: &str, client_id: &str) -> StoreResult<Vec<String>> {
        if !fits_grant_index(sub, client_id) {
            return Ok(Vec::new());
        }
        self.query_grants(
            "grant_sub = :sub AND grant_client = :client",
            &[(":sub", sub), (":client", client_id)],
        )
        .await
    }
}
