//! Registered clients.

use super::item::{
    build_error, get_bool, get_list, get_opt_str, get_set, get_str, key, list, s,
    unless_condition_failed, Item, KeySchema,
};
use super::pages::read_all_pages;
use super::DynamoStore;
use crate::model::{Client, ClientKeySource, ClientKind, ClientRegistration, GrantType};
use crate::store::{ClientAdmin, ClientBatchReader, ClientReader, StoreError, StoreResult};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use std::collections::HashMap;

pub(super) const CLIENTS: KeySchema = KeySchema::simple("client_id");

pub(super) fn client_key(client_id: &str) -> Item {
    key("client_id", client_id)
}

/// The item of a client: the flat registration (`kind`, `secret_hash`, flags), the format
/// of items written before `ClientType` existed.
fn client_item(client: &Client) -> Item {
    let client = client.registration();
    let mut item = HashMap::from([
        ("client_id".to_string(), s(&client.client_id)),
        ("name".to_string(), s(&client.name)),
        ("redirect_uris".to_string(), list(&client.redirect_uris)),
        ("allowed_scopes".to_string(), list(&client.allowed_scopes)),
        ("default_scopes".to_string(), list(&client.default_scopes)),
        ("kind".to_string(), s(client.kind.as_str())),
        (
            "pkce_optional".to_string(),
            AttributeValue::Bool(client.pkce_optional),
        ),
        (
            "allow_plain_pkce".to_string(),
            AttributeValue::Bool(client.allow_plain_pkce),
        ),
        (
            "resource_server".to_string(),
            AttributeValue::Bool(client.resource_server),
        ),
        (
            "grant_types".to_string(),
            AttributeValue::L(client.grant_types.iter().map(|g| s(g.as_str())).collect()),
        ),
    ]);
    if let Some(hash) = &client.secret_hash {
        item.insert("secret_hash".to_string(), s(hash));
    }
    // private_key_jwt: the JWKS as JSON text, or its URI; absent for every other client.
    match &client.keys {
        Some(ClientKeySource::Jwks(jwks)) => {
            item.insert("jwks".to_string(), s(jwks.to_string()));
        }
        Some(ClientKeySource::JwksUri(uri)) => {
            item.insert("jwks_uri".to_string(), s(uri));
        }
        None => {}
    }
    // Absent when there is none: items stay as they were for clients without sign-out.
    if !client.post_logout_redirect_uris.is_empty() {
        item.insert(
            "post_logout_redirect_uris".to_string(),
            list(&client.post_logout_redirect_uris),
        );
    }
    if !client.web_origins.is_empty() {
        item.insert("web_origins".to_string(), list(&client.web_origins));
    }
    item
}

/// An item through the registration rules: one that breaks them is corrupt.
pub(super) fn client_from(item: &Item) -> StoreResult<Client> {
    let kind = match get_str(item, "kind")?.as_str() {
        "confidential" => ClientKind::Confidential,
        "public" => ClientKind::Public,
        other => return Err(StoreError::Corrupt(format!("client kind {other:?}"))),
    };
    let client_id = get_str(item, "client_id")?;
    let keys = match (get_opt_str(item, "jwks"), get_opt_str(item, "jwks_uri")) {
        (Some(jwks), _) => Some(ClientKeySource::Jwks(serde_json::from_str(&jwks).map_err(
            |_| StoreError::Corrupt(format!("client {client_id}: jwks is not JSON")),
        )?)),
        (None, Some(uri)) => Some(ClientKeySource::JwksUri(uri)),
        (None, None) => None,
    };
    Client::register(ClientRegistration {
        name: get_str(item, "name")?,
        redirect_uris: get_list(item, "redirect_uris")?,
        allowed_scopes: get_set(item, "allowed_scopes")?,
        default_scopes: get_set(item, "default_scopes")?,
        kind,
        secret_hash: get_opt_str(item, "secret_hash"),
        pkce_optional: get_bool(item, "pkce_optional"),
        allow_plain_pkce: get_bool(item, "allow_plain_pkce"),
        // Absent on clients stored before the attribute existed: false.
        resource_server: get_bool(item, "resource_server"),
        grant_types: get_list(item, "grant_types")?
            .iter()
            .filter_map(|g| GrantType::parse(g))
            .collect(),
        // Absent on clients stored before sign-out existed, or without one: none.
        post_logout_redirect_uris: get_list(item, "post_logout_redirect_uris")?,
        // Absent on clients without web origins besides their redirect URIs'.
        web_origins: get_list(item, "web_origins")?,
        keys,
        client_id: client_id.clone(),
    })
    .map_err(|rule| StoreError::Corrupt(format!("client {client_id}: {rule}")))
}

impl ClientReader for DynamoStore {
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.get_item(&self.tables.clients, &CLIENTS, client_key(client_id))
            .await?
            .as_ref()
            .map(client_from)
            .transpose()
    }
}

impl ClientBatchReader for DynamoStore {
    async fn get_clients(&self, client_ids: &[String]) -> StoreResult<Vec<Client>> {
        let mut keys: Vec<Item> = Vec::new();
        for id in client_ids {
            let item_key = client_key(id);
            // No item has a key DynamoDB refuses; a repeated key fails the whole batch.
            if CLIENTS.accepts_key_of(&item_key) && !keys.contains(&item_key) {
                keys.push(item_key);
            }
        }
        let mut clients = Vec::with_capacity(keys.len());
        // BatchGetItem takes at most 100 keys.
        for chunk in keys.chunks(100) {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .map_err(build_error)?;
            let found = self
                .batch_get_items(HashMap::from([(self.tables.clients.clone(), request)]))
                .await?;
            for item in found.get(&self.tables.clients).into_iter().flatten() {
                clients.push(client_from(item)?);
            }
        }
        Ok(clients)
    }
}

impl ClientAdmin for DynamoStore {
    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let scan = self.client.scan().table_name(&self.tables.clients);
        let mut clients = read_all_pages(scan, self.page_size)
            .await?
            .iter()
            .map(client_from)
            .collect::<StoreResult<Vec<_>>>()?;
        clients.sort_by(|a, b| a.client_id().cmp(b.client_id()));
        Ok(clients)
    }

    async fn create_client(&self, client: &Client) -> StoreResult<()> {
        self.put_new(&self.tables.clients, &CLIENTS, client_item(client))
            .await
    }

    async fn replace_client(&self, client: &Client) -> StoreResult<()> {
        let item = client_item(client);
        CLIENTS.check_item(&item)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.clients)
            .set_item(Some(item))
            .condition_expression("attribute_exists(client_id)")
            .send()
            .await;
        unless_condition_failed(result)?
            .map(|_| ())
            .ok_or(StoreError::NotFound)
    }

    async fn delete_client(&self, client_id: &str) -> StoreResult<()> {
        self.delete_existing(&self.tables.clients, &CLIENTS, client_key(client_id))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClientCredential, ClientType};

    /// An item as written before `ClientType`: `kind`, `secret_hash` and flags, no
    /// `resource_server` attribute.
    fn stored_item(kind: &str, secret_hash: Option<&str>) -> Item {
        let mut item = HashMap::from([
            ("client_id".to_string(), s("app")),
            ("name".to_string(), s("App")),
            (
                "redirect_uris".to_string(),
                list(&["https://app.example/cb".to_string()]),
            ),
            ("allowed_scopes".to_string(), list(&["read".to_string()])),
            ("default_scopes".to_string(), list(&["read".to_string()])),
            ("kind".to_string(), s(kind)),
            ("pkce_optional".to_string(), AttributeValue::Bool(false)),
            ("allow_plain_pkce".to_string(), AttributeValue::Bool(true)),
            (
                "grant_types".to_string(),
                AttributeValue::L(vec![s("authorization_code"), s("refresh_token")]),
            ),
        ]);
        if let Some(hash) = secret_hash {
            item.insert("secret_hash".to_string(), s(hash));
        }
        item
    }

    #[test]
    fn items_written_before_the_client_type_still_load_and_write_back_alike() {
        let confidential = stored_item("confidential", Some("hash"));
        let client = client_from(&confidential);
        assert!(client.as_ref().is_ok_and(|c| matches!(
            c.client_type(),
            ClientType::Confidential {
                credential: ClientCredential::Secret { hash },
                pkce_optional: false,
                resource_server: false,
            } if hash == "hash"
        ) && c.allow_plain_pkce()));
        let mut written = client.map(|c| client_item(&c)).unwrap_or_default();
        assert_eq!(
            written.remove("resource_server"),
            Some(AttributeValue::Bool(false))
        );
        assert_eq!(written, confidential);
        let public = client_from(&stored_item("public", None));
        assert!(public.is_ok_and(|c| *c.client_type() == ClientType::Public));
    }

    #[test]
    fn an_item_that_breaks_the_registration_rules_is_corrupt() {
        let mut bypass = stored_item("public", None);
        bypass.insert(
            "redirect_uris".to_string(),
            list(&["http://127.0.0.1:80@evil.example/cb".to_string()]),
        );
        for item in [
            stored_item("public", Some("hash")),
            stored_item("confidential", None),
            stored_item("other", None),
            bypass,
        ] {
            assert!(
                matches!(client_from(&item), Err(StoreError::Corrupt(_))),
                "{item:?}"
            );
        }
    }
}
