//! Registered clients.

use super::item::{
    get_bool, get_list, get_opt_str, get_set, get_str, key, list, s, unless_condition_failed, Item,
    KeySchema,
};
use super::pages::read_all_pages;
use super::DynamoStore;
use crate::model::{Client, ClientKind, GrantType};
use crate::store::{ClientStore, StoreError, StoreResult};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub(super) const CLIENTS: KeySchema = KeySchema::simple("client_id");

pub(super) fn client_key(client_id: &str) -> Item {
    key("client_id", client_id)
}

fn client_item(client: &Client) -> Item {
    let mut item = HashMap::from([
        ("client_id".to_string(), s(&client.client_id)),
        ("name".to_string(), s(&client.name)),
        ("redirect_uris".to_string(), list(&client.redirect_uris)),
        ("allowed_scopes".to_string(), list(&client.allowed_scopes)),
        ("default_scopes".to_string(), list(&client.default_scopes)),
        (
            "kind".to_string(),
            s(match client.kind {
                ClientKind::Confidential => "confidential",
                ClientKind::Public => "public",
            }),
        ),
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
    item
}

pub(super) fn client_from(item: &Item) -> StoreResult<Client> {
    let kind = match get_str(item, "kind")?.as_str() {
        "confidential" => ClientKind::Confidential,
        "public" => ClientKind::Public,
        other => return Err(StoreError::Corrupt(format!("client kind {other:?}"))),
    };
    Ok(Client {
        client_id: get_str(item, "client_id")?,
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
    })
}

impl ClientStore for DynamoStore {
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.get_item(&self.tables.clients, &CLIENTS, client_key(client_id))
            .await?
            .as_ref()
            .map(client_from)
            .transpose()
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let scan = self.client.scan().table_name(&self.tables.clients);
        let mut clients = read_all_pages(scan, self.page_size)
            .await?
            .iter()
            .map(client_from)
            .collect::<StoreResult<Vec<_>>>()?;
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
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
