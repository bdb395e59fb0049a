//! Login sessions, under the hash of the cookie's id.

use super::item::{
    get_num, get_opt_num, get_str, is_live, key, n, s, unavailable, Item, KeySchema,
};
use super::DynamoStore;
use crate::model::Session;
use crate::store::{SessionRemover, SessionStore, StoreResult};
use std::collections::HashMap;

pub(super) const SESSIONS: KeySchema = KeySchema::simple("id_hash");

pub(super) fn session_key(id_hash: &str) -> Item {
    key("id_hash", id_hash)
}

pub(super) fn session_from(item: &Item) -> StoreResult<Session> {
    Ok(Session {
        id_hash: get_str(item, "id_hash")?,
        sub: get_str(item, "sub")?,
        username: get_str(item, "username")?,
        // A session stored before this attribute existed counts as begun at the epoch: it
        // does not count (`Account::admits`), and its user signs in again.
        signed_in_at_ms: get_opt_num(item, "signed_in_at_ms").unwrap_or(0),
        expires_at: get_num(item, "expires_at")?,
    })
}

impl SessionStore for DynamoStore {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        let item = HashMap::from([
            ("id_hash".to_string(), s(&session.id_hash)),
            ("sub".to_string(), s(&session.sub)),
            ("username".to_string(), s(&session.username)),
            ("signed_in_at_ms".to_string(), n(session.signed_in_at_ms)),
            ("expires_at".to_string(), n(session.expires_at)),
        ]);
        self.put_new_idempotent(&self.tables.sessions, &SESSIONS, item)
            .await
    }

    async fn get_session(&self, id_hash: &str, now: i64) -> StoreResult<Option<Session>> {
        let Some(item) = self
            .get_item(&self.tables.sessions, &SESSIONS, session_key(id_hash))
            .await?
        else {
            return Ok(None);
        };
        if !is_live(&item, now) {
            return Ok(None);
        }
        session_from(&item).map(Some)
    }
}

impl SessionRemover for DynamoStore {
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        SESSIONS.check_key(&session_key(id_hash))?;
        self.client
            .delete_item()
            .table_name(&self.tables.sessions)
            .set_key(Some(session_key(id_hash)))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
