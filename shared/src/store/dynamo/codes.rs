//! Authorization codes, under the hash of the code. A redeemed code stays until its TTL:
//! the marker that tells a replay apart.

use super::item::{
    get_num, get_opt_num, get_opt_str, get_set, get_str, key, list, n, s, unless_condition_failed,
    Item, KeySchema,
};
use super::DynamoStore;
use crate::model::{Grant, PkceChallenge, PkceMethod};
use crate::store::keys::storable;
use crate::store::{CodeStore, Redemption, StoreError, StoreResult};
use aws_sdk_dynamodb::types::ReturnValue;
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
    })
}

impl CodeStore for DynamoStore {
    async fn create_code(&self, grant: &Grant) -> StoreResult<()> {
        self.put_new(&self.tables.codes, &CODES, grant_item(grant))
            .await
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        now: i64,
        issued_jti: &str,
        issued_family: Option<&str>,
    ) -> StoreResult<Redemption> {
        storable(code_hash, None)?;
        // One conditional write: of concurrent redemptions exactly one passes the condition.
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.codes)
            .key("code_hash", s(code_hash))
            .condition_expression(
                "attribute_exists(code_hash) AND attribute_not_exists(redeemed_at) AND expires_at > :now",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":jti", s(issued_jti))
            .return_values(ReturnValue::AllNew);
        update = match issued_family {
            Some(family) => update
                .update_expression(
                    "SET redeemed_at = :now, issued_jti = :jti, issued_family = :family",
                )
                .expression_attribute_values(":family", s(family)),
            None => update.update_expression("SET redeemed_at = :now, issued_jti = :jti"),
        };
        if let Some(output) = unless_condition_failed(update.send().await)? {
            let grant = grant_from(&output.attributes.unwrap_or_default())?;
            return Ok(Redemption::Redeemed(grant));
        }
        // Only the failure path reads: tell a replay from an unknown or expired code.
        match self
            .get_item(&self.tables.codes, &CODES, key("code_hash", code_hash))
            .await?
        {
            Some(item) if item.contains_key("redeemed_at") => {
                Ok(Redemption::Replayed(grant_from(&item)?))
            }
            _ => Ok(Redemption::Invalid),
        }
    }
}
