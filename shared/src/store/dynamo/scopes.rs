//! The scope catalogue.

use super::item::{get_opt_str, get_str, key, s, Item, KeySchema};
use super::pages::read_all_pages;
use super::DynamoStore;
use crate::model::{Scope, ScopeToken};
use crate::store::{ScopeAdmin, ScopeReader, StoreError, StoreResult};
use std::collections::HashMap;

const SCOPES: KeySchema = KeySchema::simple("name");

fn scope_from(item: &Item) -> StoreResult<Scope> {
    let name = get_str(item, "name")?;
    if ScopeToken::parse(&name).is_none() {
        return Err(StoreError::Corrupt(
            "a catalogue scope has an invalid name".into(),
        ));
    }
    Ok(Scope {
        name,
        description: get_opt_str(item, "description").unwrap_or_default(),
    })
}

impl ScopeReader for DynamoStore {
    async fn list_scopes(&self) -> StoreResult<Vec<Scope>> {
        let scan = self.client.scan().table_name(&self.tables.scopes);
        let mut scopes = read_all_pages(scan, self.page_size)
            .await?
            .iter()
            .map(scope_from)
            .collect::<StoreResult<Vec<_>>>()?;
        scopes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(scopes)
    }
}

impl ScopeAdmin for DynamoStore {
    async fn create_scope(&self, scope: &Scope) -> StoreResult<()> {
        let item = HashMap::from([
            ("name".to_string(), s(&scope.name)),
            ("description".to_string(), s(&scope.description)),
        ]);
        self.put_new(&self.tables.scopes, &SCOPES, item).await
    }

    async fn delete_scope(&self, name: &str) -> StoreResult<()> {
        self.delete_existing(&self.tables.scopes, &SCOPES, key("name", name))
            .await
    }
}
