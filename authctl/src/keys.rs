//! `authctl keys`: rotating, listing and deleting token signing keys. What each key does
//! and what a rotation keeps is the domain's (`auth_core::keys::lifecycle`); here, how
//! it is told.

use crate::cli::KeysCommand;
use crate::output::{format_time, store_error, table, Error, Output};
use auth_core::keys::lifecycle::{self, DeleteError, KeyLifecycle, KeyRole, RotateError};
use auth_core::store::KeyAdmin;
use serde_json::{json, Value};

pub async fn run(store: &impl KeyAdmin, command: KeysCommand) -> Result<Output, Error> {
    match command {
        KeysCommand::Rotate {
            activate_in,
            tokens,
        } => rotate(store, &tokens.lifecycle(), activate_in).await,
        KeysCommand::List { tokens } => list(store, &tokens.lifecycle()).await,
        KeysCommand::Delete { kid } => delete(store, &kid).await,
    }
}

pub async fn rotate(
    store: &impl KeyAdmin,
    lifecycle: &KeyLifecycle,
    activate_in: Option<u32>,
) -> Result<Output, Error> {
    let rotation = lifecycle::rotate(store, lifecycle, activate_in)
        .await
        .map_err(|err| match err {
            RotateError::Generation(why) => Error(format!("cannot generate a signing key: {why}")),
            RotateError::AlreadyStored(kid) => Error(format!("signing key {kid} already exists")),
            RotateError::Storage(err) => Error::from(err),
        })?;
    let delay = rotation.delay_seconds;
    let mut text = if delay == 0 {
        format!("new signing key {} (current): signs now", rotation.kid)
    } else {
        format!(
            "new signing key {} (pending): published now, signs from {} (in {delay} s)",
            rotation.kid,
            format_time(rotation.active_from / 1000)
        )
    };
    if let (Some(kid), true) = (&rotation.signing, delay > 0) {
        text.push_str(&format!("\nsigning until then: {kid}"));
    }
    if let Some(kid) = &rotation.previous {
        text.push_str(&format!("\nstill published: {kid} (previous)"));
    }
    text.push_str(&if rotation.retired.is_empty() {
        "\nretired: none".to_string()
    } else {
        format!("\nretired: {}", rotation.retired.join(", "))
    });
    Ok(Output {
        json: json!({
            "kid": rotation.kid,
            "created_at": rotation.created_at,
            "active_from": rotation.active_from,
            "signing": rotation.signing,
            "previous": rotation.previous,
            "retired": rotation.retired,
        }),
        text,
    })
}

pub async fn list(store: &impl KeyAdmin, lifecycle: &KeyLifecycle) -> Result<Output, Error> {
    let keys = lifecycle::list(store, lifecycle).await?;
    let json = Value::Array(
        keys.iter()
            .map(|(k, role)| {
                json!({
                    "kid": k.kid,
                    "created_at": k.created_at,
                    "active_from": k.active_from,
                    "status": role.name(),
                    "current": *role == KeyRole::Current,
                })
            })
            .collect(),
    );
    let text = if keys.is_empty() {
        "no signing keys: create one with `authctl keys rotate`".to_string()
    } else {
        let mut rows = vec![vec![
            "KID".to_string(),
            "CREATED".to_string(),
            "SIGNS FROM".to_string(),
            String::new(),
        ]];
        rows.extend(keys.iter().map(|(k, role)| {
            vec![
                k.kid.clone(),
                format_time(k.created_at / 1000),
                format_time(k.active_from / 1000),
                role.name().to_string(),
            ]
        }));
        table(&rows)
    };
    Ok(Output { json, text })
}

pub async fn delete(store: &impl KeyAdmin, kid: &str) -> Result<Output, Error> {
    let what = format!("signing key {kid}");
    lifecycle::delete(store, kid)
        .await
        .map_err(|err| match err {
            DeleteError::SignsNow => Error(format!(
            "{what} is the one that signs: rotate first (`authctl keys rotate --activate-in 0`)"
        )),
            DeleteError::Storage(err) => store_error(&what)(err),
        })?;
    Ok(Output {
        json: json!({ "deleted": kid }),
        text: format!("deleted {what}; tokens it signed no longer verify"),
    })
}
