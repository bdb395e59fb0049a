//! What UserInfo reads for a bearer access token, in one BatchGetItem over two tables: the
//! token's `jti` deny-list entry and its grant (tokens), and the account of its `sub` (users).

use super::batch::BatchRequest;
use super::item::{build_error, Item};
use super::refresh::AccessTokenKeys;
use super::users::{account_from, account_item_key, USERS};
use super::DynamoStore;
use crate::store::keys::is_storable;
use crate::store::{StoreResult, UserInfoReader, UserInfoRecords};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use std::collections::HashMap;

impl UserInfoReader for DynamoStore {
    async fn userinfo_records(
        &self,
        jti: &str,
        grant_id: &str,
        sub: &str,
        now: i64,
    ) -> StoreResult<UserInfoRecords> {
        let token_keys = AccessTokenKeys::new(jti, grant_id);
        let account_key = account_item_key(sub);
        let mut wanted: Vec<(&str, Vec<Item>)> = Vec::new();
        if !token_keys.keys.is_empty() {
            wanted.push((&self.tables.tokens, token_keys.keys.clone()));
        }
        // A key DynamoDB would refuse names no account (and would fail the whole batch).
        if is_storable(sub, None) && USERS.accepts_key_of(&account_key) {
            wanted.push((&self.tables.users, vec![account_key]));
        }
        let mut request: BatchRequest = HashMap::new();
        for (table, keys) in wanted {
            // Consistent: a token revoked or a user deleted a moment ago counts at once.
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            request.insert(table.to_string(), keys);
        }
        let found = self.batch_get_items(request).await?;
        let items = |table: &str| found.get(table).map(Vec::as_slice).unwrap_or_default();
        Ok(UserInfoRecords {
            token: token_keys.records_from(items(&self.tables.tokens), now)?,
            account: items(&self.tables.users)
                .first()
                .map(account_from)
                .transpose()?,
        })
    }
}
