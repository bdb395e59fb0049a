//! `authctl client`: registering and changing OAuth clients. The registration rules and
//! limits are the domain's (`Client::register`, whose `ClientRuleError` is printed as it
//! is); here, what the options mean and the checks against the scope catalogue.

use crate::check;
use crate::cli::{ClientCommand, ClientCreate, ClientUpdate};
use crate::output::{store_error, table, Error, Output};
use auth_core::client_assertion::ClientJwks;
use auth_core::jwks_fetch::fetch_jwks;
use auth_core::model::{
    client_name, Client, ClientKeySource, ClientKind, ClientRegistration, GrantType, ScopeSet,
};
use auth_core::scope::ScopeToken;
use auth_core::secret::{random_id, ClientSecret};
use auth_core::store::{ClientAdmin, ScopeReader};
use serde_json::json;
use std::collections::BTreeSet;

pub async fn run(
    store: &(impl ClientAdmin + ScopeReader),
    command: ClientCommand,
) -> Result<Output, Error> {
    match command {
        ClientCommand::Create(args) => create(store, args).await,
        ClientCommand::List => list(store).await,
        ClientCommand::Show { id } => show(store, &id).await,
        ClientCommand::Update(args) => update(store, args).await,
        ClientCommand::Delete { id } => delete(store, &id).await,
    }
}

pub async fn create(
    store: &(impl ClientAdmin + ScopeReader),
    args: ClientCreate,
) -> Result<Output, Error> {
    let grants = match (args.grants.is_empty(), args.resource_server) {
        // An API registered to introspect takes part in no flow unless asked to.
        (true, true) => Vec::new(),
        (true, false) => vec![GrantType::AuthorizationCode],
        (false, _) => args.grants,
    };
    let kind = if args.public {
        ClientKind::Public
    } else {
        ClientKind::Confidential
    };
    let keys = client_keys(args.jwks_file.as_deref(), args.jwks_uri.as_deref()).await?;
    let secret = (kind == ClientKind::Confidential && keys.is_none()).then(ClientSecret::generate);
    let client = Client::register(ClientRegistration {
        client_id: args.id.unwrap_or_else(random_id),
        name: client_name(&args.name)?,
        redirect_uris: args.redirect_uris,
        allowed_scopes: catalogued_scopes(store, &args.scopes).await?,
        default_scopes: scope_tokens(&args.default_scopes)?,
        kind,
        secret_hash: secret.as_ref().map(ClientSecret::hash),
        pkce_optional: args.pkce_optional,
        allow_plain_pkce: args.allow_plain_pkce,
        grant_types: grants,
        resource_server: args.resource_server,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        web_origins: args.web_origins,
        keys,
    })?;
    let what = format!("client {}", client.client_id());
    store
        .create_client(&client)
        .await
        .map_err(store_error(&what))?;
    Ok(client_output(
        &format!("created {what}"),
        &client,
        secret.as_ref(),
    ))
}

pub async fn list(store: &impl ClientAdmin) -> Result<Output, Error> {
    let clients = store.list_clients().await?;
    let text = if clients.is_empty() {
        "no clients".to_string()
    } else {
        let mut rows = vec![vec![
            "CLIENT_ID".to_string(),
            "KIND".to_string(),
            "NAME".to_string(),
        ]];
        rows.extend(clients.iter().map(|c| {
            vec![
                c.client_id().to_string(),
                c.kind().as_str().to_string(),
                c.name().to_string(),
            ]
        }));
        table(&rows)
    };
    Ok(Output {
        json: json!(clients),
        text,
    })
}

pub async fn show(store: &impl ClientAdmin, id: &str) -> Result<Output, Error> {
    let client = store
        .get_client(id)
        .await?
        .ok_or_else(|| Error(format!("client {id} does not exist")))?;
    Ok(Output {
        json: json!(client),
        text: client_details(&client),
    })
}

pub async fn update(
    store: &(impl ClientAdmin + ScopeReader),
    args: ClientUpdate,
) -> Result<Output, Error> {
    if args.changes_nothing() {
        return Err(Error(
            "nothing to change: give at least one option (see `authctl client update --help`)"
                .into(),
        ));
    }
    let what = format!("client {}", args.id);
    let mut client = store
        .get_client(&args.id)
        .await?
        .ok_or_else(|| Error(format!("{what} does not exist")))?
        .registration();
    if let Some(name) = &args.name {
        client.name = client_name(name)?;
    }
    if !args.redirect_uris.is_empty() {
        client.redirect_uris = args.redirect_uris;
    }
    if !args.post_logout_redirect_uris.is_empty() || args.no_post_logout_redirect_uri {
        client.post_logout_redirect_uris = args.post_logout_redirect_uris;
    }
    if !args.web_origins.is_empty() || args.no_web_origin {
        client.web_origins = args.web_origins;
    }
    if !args.scopes.is_empty() || args.no_scope {
        client.allowed_scopes = catalogued_scopes(store, &args.scopes).await?;
    }
    if !args.default_scopes.is_empty() || args.no_default_scope {
        client.default_scopes = scope_tokens(&args.default_scopes)?;
    }
    if args.pkce_optional {
        client.pkce_optional = true;
    }
    if args.pkce_required {
        client.pkce_optional = false;
    }
    if let Some(allow) = args.allow_plain_pkce {
        client.allow_plain_pkce = allow;
    }
    if !args.grants.is_empty() {
        client.grant_types = args.grants;
    }
    if let Some(resource_server) = args.resource_server {
        client.resource_server = resource_server;
    }
    // A public client given a secret is refused by `Client::register`.
    let secret = args.rotate_secret.then(ClientSecret::generate);
    if let Some(secret) = &secret {
        client.secret_hash = Some(secret.hash());
        client.keys = None;
    }
    // One method at a time: keys replace the secret (`Client::register` refuses both).
    if let Some(keys) = client_keys(args.jwks_file.as_deref(), args.jwks_uri.as_deref()).await? {
        client.keys = Some(keys);
        client.secret_hash = None;
    }
    let client = Client::register(client)?;
    store
        .replace_client(&client)
        .await
        .map_err(store_error(&what))?;
    Ok(client_output(
        &format!("updated {what}"),
        &client,
        secret.as_ref(),
    ))
}

pub async fn delete(store: &impl ClientAdmin, id: &str) -> Result<Output, Error> {
    store
        .delete_client(id)
        .await
        .map_err(store_error(&format!("client {id}")))?;
    Ok(Output {
        json: json!({ "deleted": id }),
        text: format!("deleted client {id}"),
    })
}

/// The keys of `--jwks-file` or `--jwks-uri`, checked now: the file's JWKS by the rules of
/// `Client::register`, the URI's by fetching it (the function fetches it again when needed).
async fn client_keys(
    jwks_file: Option<&std::path::Path>,
    jwks_uri: Option<&str>,
) -> Result<Option<ClientKeySource>, Error> {
    if let Some(path) = jwks_file {
        let text = std::fs::read_to_string(path)
            .map_err(|error| Error(format!("cannot read {}: {error}", path.display())))?;
        let jwks = ClientJwks::parse(&text)
            .map_err(|error| Error(format!("{}: {error}", path.display())))?;
        return Ok(Some(ClientKeySource::Jwks(jwks.json().clone())));
    }
    if let Some(uri) = jwks_uri {
        fetch_jwks(uri)
            .await
            .map_err(|error| Error(format!("jwks_uri {uri}: {error}")))?;
        return Ok(Some(ClientKeySource::JwksUri(uri.to_string())));
    }
    Ok(None)
}

/// Each name through the checked parse; the error names the first invalid one.
fn scope_tokens(names: &[String]) -> Result<ScopeSet, Error> {
    names
        .iter()
        .map(|name| {
            ScopeToken::parse(name).ok_or_else(|| {
                Error(format!(
                    "{name:?} is not a valid scope name: {}",
                    check::scope_name_rule()
                ))
            })
        })
        .collect()
}

/// The named scopes, each a valid scope token that exists in the catalogue.
pub(crate) async fn catalogued_scopes(
    store: &impl ScopeReader,
    names: &[String],
) -> Result<ScopeSet, Error> {
    let scopes = scope_tokens(names)?;
    if scopes.is_empty() {
        return Ok(scopes);
    }
    let catalogue: BTreeSet<String> = store
        .list_scopes()
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect();
    let unknown: Vec<String> = check::dedupe(names)
        .into_iter()
        .filter(|name| !catalogue.contains(name))
        .collect();
    if !unknown.is_empty() {
        return Err(Error(format!(
            "unknown scope {}: create it first with `authctl scope create`",
            unknown.join(", ")
        )));
    }
    Ok(scopes)
}

fn client_details(client: &Client) -> String {
    let join = |values: &mut dyn Iterator<Item = &str>| {
        let joined = values.collect::<Vec<_>>().join(" ");
        if joined.is_empty() {
            "(none)".to_string()
        } else {
            joined
        }
    };
    let pkce = match (client.requires_pkce(), client.allow_plain_pkce()) {
        (true, false) => "required (S256)",
        (true, true) => "required (S256 or plain)",
        (false, false) => "optional (S256)",
        (false, true) => "optional (S256 or plain)",
    };
    let mut rows = vec![
        vec!["client_id:".to_string(), client.client_id().to_string()],
        vec!["name:".to_string(), client.name().to_string()],
        vec!["kind:".to_string(), client.kind().as_str().to_string()],
    ];
    for (i, uri) in client.redirect_uris().iter().enumerate() {
        let label = if i == 0 { "redirect_uris:" } else { "" };
        rows.push(vec![label.to_string(), uri.clone()]);
    }
    for (i, uri) in client.post_logout_redirect_uris().iter().enumerate() {
        let label = if i == 0 {
            "post_logout_redirect_uris:"
        } else {
            ""
        };
        rows.push(vec![label.to_string(), uri.clone()]);
    }
    for (i, origin) in client.web_origins().iter().enumerate() {
        let label = if i == 0 { "web_origins:" } else { "" };
        rows.push(vec![label.to_string(), origin.clone()]);
    }
    rows.push(vec![
        "allowed_scopes:".to_string(),
        join(&mut client.allowed_scopes().iter().map(ScopeToken::as_str)),
    ]);
    rows.push(vec![
        "default_scopes:".to_string(),
        join(&mut client.default_scopes().iter().map(ScopeToken::as_str)),
    ]);
    rows.push(vec![
        "grant_types:".to_string(),
        join(&mut client.grant_types().iter().map(|g| g.as_str())),
    ]);
    rows.push(vec!["pkce:".to_string(), pkce.to_string()]);
    // Secret clients say nothing: the default, and `show` never mentions secrets.
    match client.registration().keys {
        Some(ClientKeySource::JwksUri(uri)) => {
            rows.push(vec![
                "authentication:".to_string(),
                "private_key_jwt".to_string(),
            ]);
            rows.push(vec!["jwks_uri:".to_string(), uri]);
        }
        Some(ClientKeySource::Jwks(jwks)) => {
            let keys = jwks["keys"].as_array().map_or(0, Vec::len);
            rows.push(vec![
                "authentication:".to_string(),
                format!("private_key_jwt ({keys} registered keys)"),
            ]);
        }
        None => {}
    }
    if client.is_resource_server() {
        rows.push(vec![
            "resource_server:".to_string(),
            "yes: may introspect every client's access tokens".to_string(),
        ]);
    }
    table(&rows)
}

/// A client as created or updated, with its new secret when there is one.
fn client_output(headline: &str, client: &Client, secret: Option<&ClientSecret>) -> Output {
    let mut json = json!(client);
    let mut text = format!("{headline}\n{}", client_details(client));
    if let Some(secret) = secret {
        json["client_secret"] = json!(secret.expose());
        text.push_str(&format!(
            "\n\nclient_secret: {}\nThe client secret is shown only this once: store it now (only its hash is kept).",
            secret.expose()
        ));
    }
    Output { json, text }
}
