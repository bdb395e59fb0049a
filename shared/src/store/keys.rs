//! DynamoDB's limits on keys, applied by both stores before anything is sent, so that the
//! in-memory store behaves as DynamoDB does and a request DynamoDB would refuse never leaves
//! the function (the local server does not enforce every limit: requests it lets through
//! would fail only in AWS). A key value is 1 to 2048 bytes (partition key) or 1 to 1024
//! bytes (sort key); a read with any other finds nothing, a write is `StoreError::InvalidKey`.
//! Also the key strings of the tokens table, which both stores must measure alike.

use super::{StoreError, StoreResult};

pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// The largest item DynamoDB stores: attribute names and values, 400 KB.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

pub fn fits_partition_key(value: &str) -> bool {
    (1..=MAX_PARTITION_KEY_BYTES).contains(&value.len())
}

pub fn fits_sort_key(value: &str) -> bool {
    (1..=MAX_SORT_KEY_BYTES).contains(&value.len())
}

/// Whether DynamoDB accepts this primary key. Reads with an impossible key find nothing.
pub fn is_storable(partition: &str, sort: Option<&str>) -> bool {
    fits_partition_key(partition) && sort.is_none_or(fits_sort_key)
}

/// `InvalidKey` unless DynamoDB accepts this primary key: the check of every write.
pub fn storable(partition: &str, sort: Option<&str>) -> StoreResult<()> {
    if is_storable(partition, sort) {
        Ok(())
    } else {
        Err(StoreError::InvalidKey)
    }
}

// The users table holds two records per user under one partition key, told apart by prefix
// (usernames and subs cannot hold `#`): the sign-in record found by name, the account by sub.

pub fn user_key(username: &str) -> String {
    format!("name#{username}")
}

pub fn account_key(sub: &str) -> String {
    format!("sub#{sub}")
}

// The tokens table holds three kinds of item under one partition key, told apart by prefix.

pub fn refresh_token_key(token_hash: &str) -> String {
    format!("rt#{token_hash}")
}

pub fn family_key(family_id: &str) -> String {
    format!("fam#{family_id}")
}

pub fn revoked_jti_key(jti: &str) -> String {
    format!("jti#{jti}")
}

/// Whether a grant's index key (`grant_sub`, `grant_client` of the sparse index
/// `grants_by_user`) is one DynamoDB accepts: a grant item with another would be refused.
pub fn fits_grant_index(sub: &str, client_id: &str) -> bool {
    is_storable(sub, Some(client_id))
}

// The throttle table holds two kinds of counter, each for one fixed window (its number in the
// key, so that a new window is a new item and nothing needs resetting).

/// Sign-in attempts on an account from one source network.
pub fn throttle_source_key(username: &str, network: &str, window: i64) -> String {
    format!("src#{window}#{username}#{network}")
}

/// Failed sign-ins of an account, from every source.
pub fn throttle_account_key(username: &str, window: i64) -> String {
    format!("acct#{window}#{username}")
}

/// The replay table's key of a `private_key_jwt` assertion's `jti`: per client, since each
/// client chooses its own ids.
pub fn client_assertion_key(client_id: &str, jti: &str) -> String {
    format!("client_assertion#{client_id}#{jti}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_are_1_to_2048_or_1024_bytes() {
        assert!(fits_partition_key("a"));
        assert!(fits_partition_key(&"p".repeat(2048)));
        assert!(!fits_partition_key(""));
        assert!(!fits_partition_key(&"p".repeat(2049)));
        // Bytes, not characters: 1024 two-byte characters are 2048 bytes.
        assert!(fits_partition_key(&"\u{e9}".repeat(1024)));
        assert!(!fits_partition_key(&"\u{e9}".repeat(1025)));
        assert!(fits_sort_key(&"s".repeat(1024)));
        assert!(!fits_sort_key(&"s".repeat(1025)));
        assert!(!fits_sort_key(""));
        assert!(is_storable("sub", Some("client")));
        assert!(!is_storable("sub", Some("")));
        assert!(!is_storable("", None));
        assert!(matches!(storable("", None), Err(StoreError::InvalidKey)));
        assert!(storable("a", None).is_ok());
    }
}
