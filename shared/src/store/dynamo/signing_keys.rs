//! RSA signing keys. Only the token function may read the private halves; the others read
//! the public attributes only (their IAM policies allow no more).

use super::item::{get_num, get_str, key, n, s, Item, KeySchema};
use super::pages::read_all_pages;
use super::DynamoStore;
use crate::secret::Secret;
use crate::store::{KeyAdmin, PublicKeyReader, SigningKey, SigningKeyReader, StoreResult};
use aws_sdk_dynamodb::types::Select;
use std::collections::HashMap;

const SIGNING_KEYS: KeySchema = KeySchema::simple("kid");

const PUBLIC_KEY_ATTRIBUTES: &str = "kid, created_at, active_from, n, e";

fn signing_key_from(item: &Item, private: bool) -> StoreResult<SigningKey> {
    let created_at = get_num(item, "created_at")?;
    Ok(SigningKey {
        kid: get_str(item, "kid")?,
        created_at,
        // Keys stored before staged activation signed from their creation.
        active_from: match item.get("active_from") {
            None => created_at,
            Some(_) => get_num(item, "active_from")?,
        },
        private_pem: if private {
            Some(Secret::new(get_str(item, "private_pem")?))
        } else {
            None
        },
        n: get_str(item, "n")?,
        e: get_str(item, "e")?,
    })
}

impl DynamoStore {
    async fn list_keys(&self, private: bool) -> StoreResult<Vec<SigningKey>> {
        let mut scan = self.client.scan().table_name(&self.tables.keys);
        if !private {
            // The JWKS function's IAM policy allows reading only these attributes.
            scan = scan
                .select(Select::SpecificAttributes)
                .projection_expression(PUBLIC_KEY_ATTRIBUTES);
        }
        let mut keys = read_all_pages(scan, self.page_size)
            .await?
            .iter()
            .map(|item| signing_key_from(item, private))
            .collect::<StoreResult<Vec<_>>>()?;
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.kid.cmp(&a.kid)));
        Ok(keys)
    }
}

impl KeyAdmin for DynamoStore {
    async fn put_key(&self, signing_key: &SigningKey) -> StoreResult<()> {
        let mut item = HashMap::from([
            ("kid".to_string(), s(&signing_key.kid)),
            ("created_at".to_string(), n(signing_key.created_at)),
            ("active_from".to_string(), n(signing_key.active_from)),
            ("n".to_string(), s(&signing_key.n)),
            ("e".to_string(), s(&signing_key.e)),
        ]);
        if let Some(pem) = &signing_key.private_pem {
            item.insert("private_pem".to_string(), s(pem.expose()));
        }
        self.put_new(&self.tables.keys, &SIGNING_KEYS, item).await
    }

    async fn delete_key(&self, kid: &str) -> StoreResult<()> {
        self.delete_existing(&self.tables.keys, &SIGNING_KEYS, key("kid", kid))
            .await
    }
}

impl PublicKeyReader for DynamoStore {
    async fn list_public_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.list_keys(false).await
    }
}

impl SigningKeyReader for DynamoStore {
    async fn list_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        self.list_keys(true).await
    }
}
