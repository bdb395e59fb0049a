//! Authorization codes, under the hash of the code. A redeemed code stays until its TTL:
//! the marker that tells a replay apart. A code is redeemed in one transaction with the grant
//! it starts (and the grant's first refresh token), so that no replay can come between.

use super::item::{
    build_error, get_authentication, get_list, get_num, get_opt_num, get_opt_str, get_set, get_str,
    key, list, n, put_authentication, s, unless_condition_failed, Item, KeySchema,
};
use super::refresh::{family_item, refresh_item};
use super::transaction::transaction_conditions;
use super::DynamoStore;
use crate::model::{Grant, PkceChallenge, PkceMethod};
use crate::store::keys::storable;
use crate::store::{
    CodeRedemption, CodeRedemptionStore, CodeStore, Redemption, StoreError, StoreResult,
};
use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use std::collections::HashMap;

pub(super) const CODES: KeySchema = KeySchema::simple("code_hash");

pub(super) fn grant_item(grant: &Grant) -> Item {
    let mut item = HashMap::from([
        ("code_hash".to_string(), s(&grant.code_hash)),
        ("client_id".to_string(), s(&grant.client_id)),
        ("sub".to_string(), s(&grant.sub)),
        ("scopes".to_string(), list(&grant.scopes)),
        ("expires_at".to_string(), n(grant.expires_at)),
    ]);
    if let Some(uri) = &grant.redirect_uri {
        item.insert("redirect_uri".to_string(), s(uri));
    }
    if let Some(pkce) = &grant.pkce {
        item.insert("code_challenge".to_string(), s(&pkce.challenge));
        item.insert("code_challenge_method".to_string(), s(pkce.method.as_str()));
    }
    if let Some(nonce) = &grant.nonce {
        item.insert("nonce".to_string(), s(nonce));
    }
    put_authentication(&mut item, grant.authentication.as_ref());
    if !grant.resources.is_empty() {
        item.insert("resources".to_string(), list(&grant.resources));
    }
    item
}

fn grant_from(item: &Item) -> StoreResult<Grant> {
    let pkce = match get_opt_str(item, "code_challenge") {
        Some(challenge) => {
            let method = get_str(item, "code_challenge_method")?;
            let method = PkceMethod::parse(&method)
                .ok_or_else(|| StoreError::Corrupt(format!("code_challenge_method {method:?}")))?;
            Some(PkceChallenge { challenge, method })
        }
        None => None,
    };
    Ok(Grant {
        code_hash: get_str(item, "code_hash")?,
        client_id: get_str(item, "client_id")?,
        redirect_uri: get_opt_str(item, "redirect_uri"),
        sub: get_str(item, "sub")?,
        scopes: get_set(item, "scopes")?,
        pkce,
        expires_at: get_num(item, "expires_at")?,
        redeemed_at: get_opt_num(item, "redeemed_at"),
        issued_jti: get_opt_str(item, "issued_jti"),
        issued_family: get_opt_str(item, "issued_family"),
        nonce: get_opt_str(item, "nonce"),
        authentication: get_authentication(item),
        // Absent for the default audience, and on codes stored before resources existed.
        resources: get_list(item, "resources")?,
    })
}

impl CodeStore for DynamoStore {
    async fn create_code(&self, grant: &Grant) -> StoreResult<()> {
        self.put_new_idempotent(&self.tables.codes, &CODES, grant_item(grant))
            .await
    }
}

/// A code that may be redeemed at `:now`: there, never redeemed, not expired.
const REDEEMABLE: &str =
    "attribute_exists(code_hash) AND attribute_not_exists(redeemed_at) AND expires_at > :now";

/// The place of the code's update in the redemption transaction. The items after it are
/// the grant and its first refresh token; a condition on another record (a `ConditionCheck`)
/// is added after them, and told apart by its place.
const CODE_ITEM: usize = 0;

impl CodeRedemptionStore for DynamoStore {
    async fn get_code(&self, code_hash: &str) -> StoreResult<Option<Grant>> {
        self.get_item(&self.tables.codes, &CODES, key("code_hash", code_hash))
            .await?
            .as_ref()
            .map(grant_from)
            .transpose()
    }

    async fn spend_code(&self, code_hash: &str, now: i64) -> StoreResult<bool> {
        storable(code_hash, None)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.codes)
            .key("code_hash", s(code_hash))
            .update_expression("SET redeemed_at = :now")
            .condition_expression(REDEEMABLE)
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        Ok(unless_condition_failed(result)?.is_some())
    }

    async fn redeem_code(&self, redemption: &CodeRedemption<'_>) -> StoreResult<Redemption> {
        let code_hash = redemption.code_hash;
        storable(code_hash, None)?;
        let redeem = Update::builder()
            .table_name(&self.tables.codes)
            .key("code_hash", s(code_hash))
            .update_expression("SET redeemed_at = :now, issued_jti = :jti, issued_family = :grant")
            .condition_expression(REDEEMABLE)
            .expression_attribute_values(":now", n(redemption.now))
            .expression_attribute_values(":jti", s(redemption.jti))
            .expression_attribute_values(":grant", s(&redemption.grant.family_id))
            // A failed condition hands back the code as it was: a replay needs no second read.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(build_error)?;
        let mut items = vec![
            TransactWriteItem::builder().update(redeem).build(),
            self.put_new_token(family_item(redemption.grant))?,
        ];
        if let Some(first) = redemption.first_refresh {
            items.push(self.put_new_token(refresh_item(first))?);
        }
        // Last, so that its place tells it apart: the code's user must still exist.
        let user_check = items.len();
        items.push(self.account_exists_check(&redemption.grant.sub)?);
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let failed = match transaction_conditions(result) {
            Ok(Ok(())) => return Ok(Redemption::Redeemed),
            Ok(Err(failed)) => failed,
            // Only another write of the same code conflicts (the other items are new, under
            // random keys): a concurrent redemption. Once it is written, this one is its replay.
            Err(StoreError::Contention(reasons)) => {
                return match self.get_code(code_hash).await? {
                    Some(code) if code.redeemed_at.is_some() => {
                        Ok(Redemption::Replayed(Box::new(code)))
                    }
                    _ => Err(StoreError::Contention(reasons)),
                }
            }
            Err(error) => return Err(error),
        };
        // The code's own condition first: a replay is a replay, whoever the user is.
        let code = failed.iter().find(|failed| failed.index == CODE_ITEM);
        match code.map(|failed| failed.old.as_ref()) {
            Some(Some(old)) if old.contains_key("redeemed_at") => {
                Ok(Redemption::Replayed(Box::new(grant_from(old)?)))
            }
            // Gone (TTL) or expired since it was read.
            Some(_) => Ok(Redemption::Invalid),
            None if failed.iter().any(|failed| failed.index == user_check) => {
                Ok(Redemption::UserGone)
            }
            // The grant or the refresh token existed already: their ids are 256 random bits.
            None => Err(StoreError::AlreadyExists),
        }
    }
}
