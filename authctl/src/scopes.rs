//! `authctl scope`: the catalogue of scopes that clients may be allowed.

use crate::check;
use crate::cli::ScopeCommand;
use crate::output::{store_error, table, Error, Output};
use auth_core::ids::is_scope_name;
use auth_core::model::{check_scope_description, Scope};
use auth_core::scope::{is_openid_connect_scope, OPENID_CONNECT_SCOPES};
use auth_core::store::{ScopeAdmin, StoreError};
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
    if is_openid_connect_scope(name) {
        return Err(Error(format!(
            "scope {name} is part of OpenID Connect and stays in every catalogue"
        )));
    }
    store
        .delete_scope(name)
        .await
        .map_err(store_error(&format!("scope {name}")))?;
    Ok(Output {
        json: json!({ "deleted": name }),
        text: format!("deleted scope {name}"),
    })
}

/// `authctl init`'s part: the OpenID Connect scopes, each stored unless it is there already
/// (an operator may have changed its description). Returns the names it stored.
pub async fn ensure_openid_connect_scopes(store: &impl ScopeAdmin) -> Result<Vec<String>, Error> {
    let existing = store.list_scopes().await?;
    let mut created = Vec::new();
    for (name, description) in OPENID_CONNECT_SCOPES {
        if existing.iter().any(|scope| scope.name == name) {
            continue;
        }
        let scope = Scope {
            name: name.to_string(),
            description: description.to_string(),
        };
        match store.create_scope(&scope).await {
            // Another init stored it meanwhile: as good.
            Ok(()) | Err(StoreError::AlreadyExists) => created.push(name.to_string()),
            Err(error) => return Err(Error::from(error)),
        }
    }
    Ok(created)
}
