//! `authctl scope`: the catalogue of scopes that clients may be allowed.

use crate::check;
use crate::cli::ScopeCommand;
use crate::output::{store_error, table, Error, Output};
use auth_core::ids::is_scope_name;
use auth_core::model::{check_scope_description, Scope};
use auth_core::store::ScopeAdmin;
use serde_json::json;

pub async fn run(store: &impl ScopeAdmin, command: ScopeCommand) -> Result<Output, Error> {
    match command {
        ScopeCommand::Create { name, description } => create(store, &name, &description).await,
        ScopeCommand::List => list(store).await,
        ScopeCommand::Delete { name } => delete(store, &name).await,
    }
}

pub async fn create(
    store: &impl ScopeAdmin,
    name: &str,
    description: &str,
) -> Result<Output, Error> {
    if !is_scope_name(name) {
        return Err(Error(format!(
            "{name:?} is not a valid scope name: {}",
            check::scope_name_rule()
        )));
    }
    let description = description.trim();
    check_scope_description(description)?;
    let scope = Scope {
        name: name.to_string(),
        description: description.to_string(),
    };
    store
        .create_scope(&scope)
        .await
        .map_err(store_error(&format!("scope {name}")))?;
    Ok(Output {
        json: json!(scope),
        text: format!("created scope {name}"),
    })
}

pub async fn list(store: &impl ScopeAdmin) -> Result<Output, Error> {
    let scopes = store.list_scopes().await?;
    let text = if scopes.is_empty() {
        "no scopes".to_string()
    } else {
        let mut rows = vec![vec!["NAME".to_string(), "DESCRIPTION".to_string()]];
        rows.extend(
            scopes
                .iter()
                .map(|s| vec![s.name.clone(), s.description.clone()]),
        );
        table(&rows)
    };
    Ok(Output {
        json: json!(scopes),
        text,
    })
}

pub async fn delete(store: &impl ScopeAdmin, name: &str) -> Result<Output, Error> {
    store
        .delete_scope(name)
        .await
        .map_err(store_error(&format!("scope {name}")))?;
    Ok(Output {
        json: json!({ "deleted": name }),
        text: format!("deleted scope {name}"),
    })
}
