//! User accounts.

use super::item::{get_str, key, s, KeySchema};
use super::DynamoStore;
use crate::model::User;
use crate::store::{StoreResult, UserAdmin, UserReader};
use std::collections::HashMap;

const USERS: KeySchema = KeySchema::simple("username");

impl UserReader for DynamoStore {
    async fn get_user(&self, username: &str) -> StoreResult<Option<User>> {
        let Some(item) = self
            .get_item(&self.tables.users, &USERS, key("username", username))
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

impl UserAdmin for DynamoStore {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        let item = HashMap::from([
            ("username".to_string(), s(&user.username)),
            ("sub".to_string(), s(&user.sub)),
            ("password_hash".to_string(), s(&user.password_hash)),
        ]);
        self.put_new(&self.tables.users, &USERS, item).await
    }

    async fn delete_user(&self, username: &str) -> StoreResult<()> {
        self.delete_existing(&self.tables.users, &USERS, key("username", username))
            .await
    }
}
