//! `authctl consent`: users' standing approvals of clients. Revoking one also revokes the
//! refresh tokens issued under it (`auth_core::consent::withdraw`).

use crate::cli::ConsentCommand;
use crate::output::{format_time, table, Error, Output};
use crate::users::find_user;
use auth_core::secret::now;
use auth_core::store::{ConsentAdmin, RefreshTokenAdmin, UserReader};
use serde_json::{json, Value};

pub async fn run(
    store: &(impl UserReader + ConsentAdmin + RefreshTokenAdmin),
    command: ConsentCommand,
) -> Result<Output, Error> {
    match command {
        ConsentCommand::List { user } => list(store, &user).await,
        ConsentCommand::Revoke { user, client } => revoke(store, &user, client.as_deref()).await,
    }
}

pub async fn list(
    store: &(impl UserReader + ConsentAdmin),
    username: &str,
) -> Result<Output, Error> {
    let user = find_user(store, username).await?;
    let consents = store.list_consents(&user.sub).await?;
    let now = now();
    let json = Value::Array(
        consents
            .iter()
            .map(|c| json!({ "client_id": c.client_id, "scopes": c.scopes, "expires_at": c.expires_at }))
            .collect(),
    );
    let text = if consents.is_empty() {
        format!("user {username} has no consents")
    } else {
        let mut rows = vec![vec![
            "CLIENT_ID".to_string(),
            "EXPIRES".to_string(),
            "SCOPES".to_string(),
        ]];
        rows.extend(consents.iter().map(|c| {
            let mut expires = format_time(c.expires_at);
            if c.expires_at <= now {
                expires.push_str(" (expired)");
            }
            vec![c.client_id.clone(), expires, c.scopes.to_string()]
        }));
        table(&rows)
    };
    Ok(Output { json, text })
}

pub async fn revoke(
    store: &(impl UserReader + ConsentAdmin + RefreshTokenAdmin),
    username: &str,
    client_id: Option<&str>,
) -> Result<Output, Error> {
    let user = find_user(store, username).await?;
    let client_ids: Vec<String> = match client_id {
        Some(client_id) => vec![client_id.to_string()],
        None => store
            .list_consents(&user.sub)
            .await?
            .into_iter()
            .map(|c| c.client_id)
            .collect(),
    };
    let mut removed = Vec::new();
    let mut families_revoked = 0;
    for client_id in &client_ids {
        let withdrawal = auth_core::consent::withdraw(store, &user.sub, client_id).await?;
        families_revoked += withdrawal.families_revoked;
        if withdrawal.consent_removed {
            removed.push(client_id.clone());
        }
    }
    if let (Some(client_id), true) = (client_id, removed.is_empty()) {
        if families_revoked == 0 {
            return Err(Error(format!(
                "user {username} has no consent for client {client_id}"
            )));
        }
    }
    let count = removed.len();
    let plural = if count == 1 { "" } else { "s" };
    let mut text = format!("removed {count} consent{plural} of user {username}");
    if !removed.is_empty() {
        text.push_str(&format!(" (client{plural} {})", removed.join(", ")));
    }
    text.push_str(&format!(
        "; revoked {families_revoked} refresh token famil{}",
        if families_revoked == 1 { "y" } else { "ies" }
    ));
    Ok(Output {
        json: json!({ "removed": count, "client_ids": removed, "refresh_families_revoked": families_revoked }),
        text,
    })
}
