//! Users: two records per user in one table, written and deleted together in a
//! transaction. The sign-in record (`name#<username>`: `sub`, password hash) is what login
//! reads; the account (`sub#<sub>`) is what authorize and consent read beside the session,
//! since the cookie names the `sub`: whether the user still exists, and from when their
//! sessions count.

use super::item::{build_error, get_opt_num, get_opt_str, get_str, key, n, s, Item, KeySchema};
use super::pages::read_all_pages;
use super::transaction::transaction_written;
use super::DynamoStore;
use crate::model::{Account, Profile, User};
use crate::profile::Claim;
use crate::store::keys::{account_key, is_storable, storable, user_key};
use crate::store::{
    AccountReader, StoreError, StoreResult, UserAdmin, UserReader, UserSessionsEnder,
};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};
use std::collections::HashMap;

pub(super) const USERS: KeySchema = KeySchema::simple("pk");

pub(super) fn account_item_key(sub: &str) -> Item {
    key("pk", &account_key(sub))
}

pub(super) fn account_from(item: &Item) -> StoreResult<Account> {
    let mut profile = Profile::default();
    for claim in Claim::ALL {
        let stored = match claim {
            Claim::EmailVerified => match item.get(claim.as_str()) {
                Some(AttributeValue::Bool(verified)) => Some(verified.to_string()),
                _ => None,
            },
            text => get_opt_str(item, text.as_str()),
        };
        if let Some(value) = stored {
            // Written only through `Profile::set`: a value it refuses was not written by us.
            profile
                .set(claim, &value)
                .map_err(|rule| StoreError::Corrupt(format!("account profile: {rule}")))?;
        }
    }
    Ok(Account {
        sub: get_str(item, "sub")?,
        username: get_str(item, "username")?,
        sessions_ended_at_ms: get_opt_num(item, "sessions_ended_at_ms").unwrap_or(0),
        profile,
        updated_at: get_opt_num(item, "updated_at").unwrap_or(0),
    })
}

impl DynamoStore {
    /// A transaction's check that the user of `sub` still exists (their account record is
    /// there): the token function's codes and refresh tokens are honoured only for a user
    /// who was not deleted meanwhile. Reads nothing back, writes nothing.
    pub(super) fn account_exists_check(&self, sub: &str) -> StoreResult<TransactWriteItem> {
        let account_key = account_item_key(sub);
        USERS.check_key(&account_key)?;
        let check = ConditionCheck::builder()
            .table_name(&self.tables.users)
            .set_key(Some(account_key))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(build_error)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }
}

fn user_item(user: &User) -> Item {
    HashMap::from([
        ("pk".to_string(), s(user_key(&user.username))),
        ("username".to_string(), s(&user.username)),
        ("sub".to_string(), s(&user.sub)),
        ("password_hash".to_string(), s(&user.password_hash)),
    ])
}

/// The profile's claims that are set, as attributes named after them.
fn profile_attributes(profile: &Profile) -> Vec<(Claim, AttributeValue)> {
    Claim::ALL
        .into_iter()
        .filter_map(|claim| match claim {
            Claim::EmailVerified => profile
                .email_verified
                .map(|verified| (claim, AttributeValue::Bool(verified))),
            text => profile.text(text).map(|value| (claim, s(value))),
        })
        .collect()
}

fn account_item(account: &Account) -> Item {
    let mut item = HashMap::from([
        ("pk".to_string(), s(account_key(&account.sub))),
        ("sub".to_string(), s(&account.sub)),
        ("username".to_string(), s(&account.username)),
        (
            "sessions_ended_at_ms".to_string(),
            n(account.sessions_ended_at_ms),
        ),
        ("updated_at".to_string(), n(account.updated_at)),
    ]);
    for (claim, value) in profile_attributes(&account.profile) {
        item.insert(claim.as_str().to_string(), value);
    }
    item
}

impl DynamoStore {
    /// Writes a user's two records in one transaction; `if_refused` when a condition failed.
    async fn write_user_records(
        &self,
        records: impl IntoIterator<Item = TransactWriteItem>,
        if_refused: StoreError,
    ) -> StoreResult<()> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(records.into_iter().collect()))
            .send()
            .await;
        if transaction_written(result)? {
            Ok(())
        } else {
            Err(if_refused)
        }
    }
}

impl UserReader for DynamoStore {
    async fn get_user(&self, username: &str) -> StoreResult<Option<User>> {
        // Prefixed, an empty name would make a valid key: it names no user all the same.
        if !is_storable(username, None) {
            return Ok(None);
        }
        let Some(item) = self
            .get_item(&self.tables.users, &USERS, key("pk", &user_key(username)))
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(User {
            username: get_str(&item, "username")?,
            sub: get_str(&item, "sub")?,
            password_hash: get_str(&item, "password_hash")?,
        }))
    }
}

impl AccountReader for DynamoStore {
    async fn get_account(&self, sub: &str) -> StoreResult<Option<Account>> {
        if !is_storable(sub, None) {
            return Ok(None);
        }
        self.get_item(&self.tables.users, &USERS, account_item_key(sub))
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }
}

impl UserAdmin for DynamoStore {
    async fn create_user(&self, user: &User, account: &Account) -> StoreResult<()> {
        let mut records = Vec::new();
        for item in [user_item(user), account_item(account)] {
            USERS.check_item(&item)?;
            let put = Put::builder()
                .table_name(&self.tables.users)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(build_error)?;
            records.push(TransactWriteItem::builder().put(put).build());
        }
        // Subs are random: a failed condition is a taken username.
        self.write_user_records(records, StoreError::AlreadyExists)
            .await
    }

    async fn delete_user(&self, user: &User) -> StoreResult<()> {
        storable(&user.username, None)?;
        storable(&user.sub, None)?;
        let sign_in = Delete::builder()
            .table_name(&self.tables.users)
            .set_key(Some(key("pk", &user_key(&user.username))))
            // The username may have been given to someone else since it was read.
            .condition_expression("#sub = :sub")
            .expression_attribute_names("#sub", "sub")
            .expression_attribute_values(":sub", AttributeValue::S(user.sub.clone()))
            .build()
            .map_err(build_error)?;
        let account = Delete::builder()
            .table_name(&self.tables.users)
            .set_key(Some(account_item_key(&user.sub)))
            .build()
            .map_err(build_error)?;
        let records =
            [sign_in, account].map(|delete| TransactWriteItem::builder().delete(delete).build());
        self.write_user_records(records, StoreError::NotFound).await
    }

    async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        let scan = self
            .client
            .scan()
            .table_name(&self.tables.users)
            .filter_expression("begins_with(pk, :accounts)")
            .expression_attribute_values(":accounts", s(account_key("")));
        let mut accounts = read_all_pages(scan, self.page_size)
            .await?
            .iter()
            .map(account_from)
            .collect::<StoreResult<Vec<_>>>()?;
        accounts.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(accounts)
    }

    async fn update_profile(
        &self,
        sub: &str,
        profile: &Profile,
        updated_at: i64,
    ) -> StoreResult<()> {
        storable(sub, None)?;
        let attributes = profile_attributes(profile);
        // Claims are named through placeholders (`name` is a reserved word); those not set go.
        let mut set = vec!["updated_at = :updated_at".to_string()];
        let mut remove = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(account_item_key(sub)))
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":updated_at", n(updated_at));
        for claim in Claim::ALL {
            update = update.expression_attribute_names(format!("#{claim}"), claim.as_str());
            match attributes.iter().find(|(set, _)| *set == claim) {
                Some((_, value)) => {
                    set.push(format!("#{claim} = :{claim}"));
                    update = update.expression_attribute_values(format!(":{claim}"), value.clone());
                }
                None => remove.push(format!("#{claim}")),
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let result = update.update_expression(expression).send().await;
        super::item::unless_condition_failed(result)?
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    async fn change_password(&self, user: &User, at_ms: i64) -> StoreResult<()> {
        storable(&user.username, None)?;
        storable(&user.sub, None)?;
        let sign_in = Update::builder()
            .table_name(&self.tables.users)
            .set_key(Some(key("pk", &user_key(&user.username))))
            .update_expression("SET password_hash = :hash")
            .condition_expression("#sub = :sub")
            .expression_attribute_names("#sub", "sub")
            .expression_attribute_values(":sub", s(&user.sub))
            .expression_attribute_values(":hash", s(&user.password_hash))
            .build()
            .map_err(build_error)?;
        let account = Update::builder()
            .table_name(&self.tables.users)
            .set_key(Some(account_item_key(&user.sub)))
            .update_expression("SET sessions_ended_at_ms = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", n(at_ms))
            .build()
            .map_err(build_error)?;
        let records =
            [sign_in, account].map(|update| TransactWriteItem::builder().update(update).build());
        self.write_user_records(records, StoreError::NotFound).await
    }
}

impl UserSessionsEnder for DynamoStore {
    async fn end_sessions(&self, sub: &str, at_ms: i64) -> StoreResult<()> {
        storable(sub, None)?;
        let account_key = account_item_key(sub);
        USERS.check_key(&account_key)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(account_key))
            .update_expression("SET sessions_ended_at_ms = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", n(at_ms))
            .send()
            .await;
        super::item::unless_condition_failed(result)?
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_item_reads_back_and_an_old_one_has_no_ended_sessions() {
        let mut profile = Profile::default();
        for (claim, value) in [(Claim::Name, "Alice"), (Claim::EmailVerified, "false")] {
            assert!(profile.set(claim, value).is_ok());
        }
        let account = Account {
            sub: "sub-1".into(),
            username: "alice".into(),
            sessions_ended_at_ms: 1_700_000_000_123,
            profile,
            updated_at: 1_700_000_000,
        };
        let mut item = account_item(&account);
        assert!(matches!(account_from(&item), Ok(read) if read == account));
        item.remove("sessions_ended_at_ms");
        assert!(matches!(account_from(&item), Ok(read) if read.sessions_ended_at_ms == 0));
    }
}
