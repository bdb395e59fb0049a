//! The registered APIs (RFC 8707 resources): one item per API, keyed by its URI.

use super::item::{get_set, get_str, key, list, s, Item, KeySchema};
use super::pages::read_all_pages;
use super::DynamoStore;
use crate::resource::Resource;
use crate::store::{ResourceAdmin, ResourceReader, StoreError, StoreResult};
use std::collections::HashMap;

const RESOURCES: KeySchema = KeySchema::simple("resource");

/// An item through the registration rules: one that breaks them is corrupt.
fn resource_from(item: &Item) -> StoreResult<Resource> {
    let uri = get_str(item, "resource")?;
    Resource::register(uri, get_str(item, "name")?, get_set(item, "scopes")?)
        .map_err(|rule| StoreError::Corrupt(format!("a registered API: {rule}")))
}

impl ResourceReader for DynamoStore {
    async fn list_resources(&self) -> StoreResult<Vec<Resource>> {
        let scan = self.client.scan().table_name(&self.tables.resources);
        let mut resources = read_all_pages(scan, self.page_size)
            .await?
            .iter()
            .map(resource_from)
            .collect::<StoreResult<Vec<_>>>()?;
        resources.sort_by(|a, b| a.uri.cmp(&b.uri));
        Ok(resources)
    }
}

impl ResourceAdmin for DynamoStore {
    async fn create_resource(&self, resource: &Resource) -> StoreResult<()> {
        let item = HashMap::from([
            ("resource".to_string(), s(&resource.uri)),
            ("name".to_string(), s(&resource.name)),
            ("scopes".to_string(), list(&resource.scopes)),
        ]);
        self.put_new(&self.tables.resources, &RESOURCES, item).await
    }

    async fn delete_resource(&self, uri: &str) -> StoreResult<()> {
        self.delete_existing(&self.tables.resources, &RESOURCES, key("resource", uri))
            .await
    }
}
