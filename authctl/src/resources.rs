//! `authctl resource`: the APIs that accept this server's access tokens (RFC 8707 resource
//! indicators), each with the scopes it accepts. A request naming one as `resource` gets
//! tokens whose `aud` is that API.

use crate::cli::ResourceCommand;
use crate::clients::catalogued_scopes;
use crate::output::{store_error, table, Error, Output};
use auth_core::resource::Resource;
use auth_core::store::{ResourceAdmin, ScopeReader};
use serde_json::json;

pub async fn run(
    store: &(impl ResourceAdmin + ScopeReader),
    command: ResourceCommand,
) -> Result<Output, Error> {
    match command {
        ResourceCommand::Create { uri, name, scopes } => create(store, uri, name, &scopes).await,
        ResourceCommand::List => list(store).await,
        ResourceCommand::Delete { uri } => delete(store, &uri).await,
    }
}

pub async fn create(
    store: &(impl ResourceAdmin + ScopeReader),
    uri: String,
    name: Option<String>,
    scopes: &[String],
) -> Result<Output, Error> {
    let scopes = catalogued_scopes(store, scopes).await?;
    let name = name.unwrap_or_else(|| uri.clone());
    let resource = Resource::register(uri, name, scopes).map_err(|rule| Error(rule.to_string()))?;
    store
        .create_resource(&resource)
        .await
        .map_err(store_error(&format!("API {}", resource.uri)))?;
    Ok(Output {
        json: json!(resource),
        text: format!("created API {}", resource.uri),
    })
}

pub async fn list(store: &impl ResourceAdmin) -> Result<Output, Error> {
    let resources = store.list_resources().await?;
    let text = if resources.is_empty() {
        "no APIs".to_string()
    } else {
        let mut rows = vec![vec![
            "RESOURCE".to_string(),
            "NAME".to_string(),
            "SCOPES".to_string(),
        ]];
        rows.extend(
            resources
                .iter()
                .map(|r| vec![r.uri.clone(), r.name.clone(), r.scopes.to_string()]),
        );
        table(&rows)
    };
    Ok(Output {
        json: json!(resources),
        text,
    })
}

pub async fn delete(store: &impl ResourceAdmin, uri: &str) -> Result<Output, Error> {
    store
        .delete_resource(uri)
        .await
        .map_err(store_error(&format!("API {uri}")))?;
    Ok(Output {
        json: json!({ "deleted": uri }),
        text: format!("deleted API {uri}"),
    })
}
