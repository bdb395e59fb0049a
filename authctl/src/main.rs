//! `authctl`: the operator's tool for the scope catalogue, clients, users, consents
//! and signing keys, straight against the service's DynamoDB tables.
//!
//! Output goes to stdout (human text, or JSON with `--json`); errors go to stderr as
//! `error: ...` with exit status 1 (usage errors: clap's, status 2).
//!
//! `main` parses the command line, builds the store and hands the command to its noun's
//! module (`scopes`, `clients`, `users` (and sessions), `consents`, `keys`), which calls the domain crate
//! and returns an `output::Output`.

mod check;
mod cli;
mod clients;
mod consents;
mod keys;
mod output;
mod resources;
mod scopes;
mod users;

use auth_core::config::Tables;
use auth_core::store::dynamo::DynamoStore;
use clap::Parser;
use cli::{Cli, Command};
use output::{Error, Output};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let store = DynamoStore::from_env(Tables::with_prefix(&cli.table_prefix)).await;
    match run(&store, cli.command).await {
        Ok(output) => output::print(&output, cli.json),
        Err(err) => output::print_error(&err, &cli.table_prefix),
    }
}

async fn run(store: &DynamoStore, command: Command) -> Result<Output, Error> {
    match command {
        Command::Init { tokens } => init(store, &tokens.lifecycle()).await,
        Command::Scope(command) => scopes::run(store, command).await,
        Command::Client(command) => clients::run(store, command).await,
        Command::Resource(command) => resources::run(store, command).await,
        Command::User(command) => users::run(store, command).await,
        Command::Session(command) => users::run_session(store, command).await,
        Command::Consent(command) => consents::run(store, command).await,
        Command::Keys(command) => keys::run(store, command).await,
    }
}

/// `authctl init`: what every stack needs before its first sign-in.
async fn init(
    store: &(impl auth_core::store::ScopeAdmin + auth_core::store::KeyAdmin),
    lifecycle: &auth_core::keys::lifecycle::KeyLifecycle,
) -> Result<Output, Error> {
    let scopes = scopes::ensure_openid_connect_scopes(store).await?;
    let has_key = !store.list_public_keys().await?.is_empty();
    let key = if has_key {
        None
    } else {
        Some(keys::rotate(store, lifecycle, None).await?)
    };
    let mut text = match scopes.as_slice() {
        [] => "the OpenID Connect scopes were there".to_string(),
        names => format!("stored the scopes {}", names.join(", ")),
    };
    text.push_str(match &key {
        Some(_) => "; stored the first signing key",
        None => "; a signing key was there",
    });
    Ok(Output {
        json: serde_json::json!({ "scopes_created": scopes, "key": key.map(|k| k.json) }),
        text,
    })
}

#[cfg(test)]
mod tests;
