//! `authctl`: the operator's tool for the scope catalogue, clients, users, consents
//! and signing keys, straight against the service's DynamoDB tables.
//!
//! Output goes to stdout (human text, or JSON with `--json`); errors go to stderr as
//! `error: ...` with exit status 1 (usage errors: clap's, status 2).

mod check;

use auth_core::config::Tables;
use auth_core::ids::is_scope_name;
use auth_core::keys::{generate_signing_key, now_millis};
use auth_core::model::{
    check_scope_description, client_name, validate_client, validate_redirect_uri, Client,
    ClientKind, GrantType, Scope, ScopeSet, User,
};
use auth_core::password::hash_password;
use auth_core::secret::{now, random_id, Secret, TOKEN_BYTES};
use auth_core::store::dynamo::DynamoStore;
use auth_core::store::{
    ClientStore, ConsentStore, KeyStore, RefreshTokenStore, ScopeStore, SigningKey, StoreError,
    UserStore,
};
use auth_core::tokens::{signing_key, SIGNER_CACHE_SECONDS};
use check::{
    client_id_arg, format_time, grant_arg, kid_arg, scope_name_arg, table, table_prefix_arg,
    username_arg,
};
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};
use std::fmt;
use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

// --- command line -------------------------------------------------------------

#[derive(Parser, Debug)]
#[command(
    name = "authctl",
    version,
    about = "Operator tool of Auth API: scopes, clients, users, consents, signing keys."
)]
#[command(
    after_help = "DynamoDB is reached through the standard AWS environment: AWS_PROFILE, AWS_REGION, \
AWS_ENDPOINT_URL_DYNAMODB (a local server), AWS_ACCESS_KEY_ID..."
)]
struct Cli {
    /// Stack name that prefixes every table (`<prefix>-clients`, ...).
    #[arg(long, env = "AUTH_TABLE_PREFIX", value_name = "PREFIX", value_parser = table_prefix_arg)]
    table_prefix: String,

    /// Machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The scope catalogue.
    #[command(subcommand)]
    Scope(ScopeCommand),
    /// OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// End users who sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Users' standing approvals of clients.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand, Debug)]
enum ScopeCommand {
    /// Adds a scope to the catalogue.
    Create {
        /// Scope name (RFC 6749 3.3 scope token), e.g. orders:read.
        name: String,
        /// What the scope lets a client do, shown to users on the consent page.
        #[arg(long)]
        description: String,
    },
    /// Lists the catalogue.
    List,
    /// Removes a scope from the catalogue.
    Delete {
        #[arg(value_parser = scope_name_arg)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum ClientCommand {
    /// Registers a client; a confidential one gets a secret, printed once.
    Create(ClientCreate),
    /// Lists clients.
    List,
    /// Shows one client (never its secret).
    Show {
        #[arg(value_parser = client_id_arg)]
        id: String,
    },
    /// Changes a client; list options replace the stored list.
    Update(ClientUpdate),
    /// Deletes a client.
    Delete {
        #[arg(value_parser = client_id_arg)]
        id: String,
    },
}

#[derive(Args, Debug)]
struct ClientCreate {
    /// Display name, shown to users on the consent page.
    #[arg(long)]
    name: String,
    /// Redirect URI, compared exactly (repeat for several).
    #[arg(
        long = "redirect-uri",
        value_name = "URI",
        required_unless_present = "resource_server"
    )]
    redirect_uris: Vec<String>,
    /// Scope the client may ask for; must exist in the catalogue (repeat for several).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Scope granted when a request names none; must be one of --scope (repeat for several).
    #[arg(long = "default-scope", value_name = "SCOPE")]
    default_scopes: Vec<String>,
    /// A public client (browser or native app): no secret, PKCE always required.
    #[arg(long)]
    public: bool,
    /// Do not require PKCE (confidential clients only).
    #[arg(long, conflicts_with = "public")]
    pkce_optional: bool,
    /// Accept code_challenge_method=plain besides S256.
    #[arg(long)]
    allow_plain_pkce: bool,
    /// Grant type the client may use (repeat for several) [default: authorization_code;
    /// none for a --resource-server].
    #[arg(long = "grant", value_name = "GRANT", value_parser = grant_arg)]
    grants: Vec<GrantType>,
    /// An API that checks bearer tokens: may introspect access tokens issued to any client.
    /// Needs no redirect URI.
    #[arg(long, conflicts_with = "public")]
    resource_server: bool,
    /// Client id [default: random].
    #[arg(long, value_name = "CLIENT_ID", value_parser = client_id_arg)]
    id: Option<String>,
}

#[derive(Args, Debug)]
struct ClientUpdate {
    #[arg(value_parser = client_id_arg)]
    id: String,
    /// New display name.
    #[arg(long)]
    name: Option<String>,
    /// Replaces the redirect URIs (repeat for several).
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// Replaces the allowed scopes (repeat for several).
    #[arg(long = "scope", value_name = "SCOPE", conflicts_with = "no_scope")]
    scopes: Vec<String>,
    /// Removes every allowed scope.
    #[arg(long)]
    no_scope: bool,
    /// Replaces the default scopes (repeat for several).
    #[arg(
        long = "default-scope",
        value_name = "SCOPE",
        conflicts_with = "no_default_scope"
    )]
    default_scopes: Vec<String>,
    /// Removes every default scope.
    #[arg(long)]
    no_default_scope: bool,
    /// Require PKCE.
    #[arg(long, conflicts_with = "pkce_optional")]
    pkce_required: bool,
    /// Do not require PKCE (confidential clients only).
    #[arg(long)]
    pkce_optional: bool,
    /// Accept code_challenge_method=plain besides S256.
    #[arg(long, value_name = "true|false")]
    allow_plain_pkce: Option<bool>,
    /// Replaces the grant types (repeat for several).
    #[arg(long = "grant", value_name = "GRANT", value_parser = grant_arg)]
    grants: Vec<GrantType>,
    /// May introspect access tokens issued to any client (confidential clients only).
    #[arg(long, value_name = "true|false")]
    resource_server: Option<bool>,
    /// Issues a new client secret (printed once); the old one stops working.
    #[arg(long)]
    rotate_secret: bool,
}

impl ClientUpdate {
    fn changes_nothing(&self) -> bool {
        self.name.is_none()
            && self.redirect_uris.is_empty()
            && self.scopes.is_empty()
            && !self.no_scope
            && self.default_scopes.is_empty()
            && !self.no_default_scope
            && !self.pkce_required
            && !self.pkce_optional
            && self.allow_plain_pkce.is_none()
            && self.grants.is_empty()
            && self.resource_server.is_none()
            && !self.rotate_secret
    }
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Creates a user. The password is read from stdin (one line) or prompted for, never an argument.
    Create {
        #[arg(value_parser = username_arg)]
        username: String,
        /// Read the password as one line of standard input (implied when stdin is not a terminal).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Shows a user's username and subject identifier.
    Show {
        #[arg(value_parser = username_arg)]
        username: String,
    },
    /// Deletes a user.
    Delete {
        #[arg(value_parser = username_arg)]
        username: String,
    },
}

#[derive(Subcommand, Debug)]
enum ConsentCommand {
    /// Lists a user's consents.
    List {
        #[arg(long, value_name = "USERNAME", value_parser = username_arg)]
        user: String,
    },
    /// Revokes a user's consent for one client, or all of them.
    Revoke {
        #[arg(long, value_name = "USERNAME", value_parser = username_arg)]
        user: String,
        /// Only this client's consent [default: all].
        #[arg(long, value_name = "CLIENT_ID", value_parser = client_id_arg)]
        client: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Adds a new signing key, published at once; it signs after --activate-in seconds.
    /// Keeps the pending key, the current one and the previous one; retires older ones.
    Rotate {
        /// Seconds from now until the new key signs, so that verifiers caching the key set
        /// (JWKS is cacheable for 300 s) fetch it first. 0 for a compromised key.
        /// [default: 600; 0 when no key signs yet]
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(0..=604_800))]
        activate_in: Option<u32>,
    },
    /// Lists the published keys, newest first, with what each does now.
    List,
    /// Deletes a key that no longer signs (after a compromise: `rotate --activate-in 0`,
    /// then delete the old key; warm containers stop using it within 300 s).
    Delete {
        #[arg(value_parser = kid_arg)]
        kid: String,
    },
}

// --- results --------------------------------------------------------------------

/// What a command prints on success, in both forms.
struct Output {
    json: Value,
    text: String,
}

#[derive(Debug, PartialEq, Eq)]
struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Error(message)
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(cause) => Error(format!(
                "cannot reach DynamoDB ({})",
                error_chain(cause.as_ref())
            )),
            StoreError::Corrupt(what) => Error(format!("DynamoDB holds a malformed item: {what}")),
            StoreError::Contention(reasons) => Error(format!(
                "DynamoDB cancelled the change ({reasons}): try again"
            )),
            other => Error(other.to_string()),
        }
    }
}

/// `AlreadyExists` and `NotFound` said of `what` ("client abc"); other errors as usual.
fn store_error(what: &str) -> impl FnOnce(StoreError) -> Error + '_ {
    move |err| match err {
        StoreError::AlreadyExists => Error(format!("{what} already exists")),
        StoreError::NotFound => Error(format!("{what} does not exist")),
        other => Error::from(other),
    }
}

/// An error and its sources, e.g. "dispatch failure: io error: ... Connection refused".
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

// --- main -------------------------------------------------------------------------

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let store = DynamoStore::from_env(Tables::with_prefix(&cli.table_prefix)).await;
    match run(&store, cli.command).await {
        Ok(output) => print(&output, cli.json),
        Err(err) => {
            match check::hint(&err.0, &cli.table_prefix) {
                Some(hint) => eprintln!("error: {err}\nhint: {hint}"),
                None => eprintln!("error: {err}"),
            }
            ExitCode::FAILURE
        }
    }
}

fn print(output: &Output, json: bool) -> ExitCode {
    let text = if json {
        output.json.to_string()
    } else {
        output.text.clone()
    };
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: cannot write the output: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run(store: &DynamoStore, command: Command) -> Result<Output, Error> {
    match command {
        Command::Scope(ScopeCommand::Create { name, description }) => {
            scope_create(store, &name, &description).await
        }
        Command::Scope(ScopeCommand::List) => scope_list(store).await,
        Command::Scope(ScopeCommand::Delete { name }) => scope_delete(store, &name).await,
        Command::Client(ClientCommand::Create(args)) => client_create(store, args).await,
        Command::Client(ClientCommand::List) => client_list(store).await,
        Command::Client(ClientCommand::Show { id }) => client_show(store, &id).await,
        Command::Client(ClientCommand::Update(args)) => client_update(store, args).await,
        Command::Client(ClientCommand::Delete { id }) => client_delete(store, &id).await,
        Command::User(UserCommand::Create {
            username,
            password_stdin,
        }) => user_create(store, &username, || read_password(password_stdin)).await,
        Command::User(UserCommand::Show { username }) => user_show(store, &username).await,
        Command::User(UserCommand::Delete { username }) => user_delete(store, &username).await,
        Command::Consent(ConsentCommand::List { user }) => consent_list(store, &user).await,
        Command::Consent(ConsentCommand::Revoke { user, client }) => {
            consent_revoke(store, &user, client.as_deref()).await
        }
        Command::Keys(KeysCommand::Rotate { activate_in }) => keys_rotate(store, activate_in).await,
        Command::Keys(KeysCommand::List) => keys_list(store).await,
        Command::Keys(KeysCommand::Delete { kid }) => keys_delete(store, &kid).await,
    }
}

// --- scopes -------------------------------------------------------------------------

async fn scope_create(
    store: &impl ScopeStore,
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

async fn scope_list(store: &impl ScopeStore) -> Result<Output, Error> {
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

async fn scope_delete(store: &impl ScopeStore, name: &str) -> Result<Output, Error> {
    store
        .delete_scope(name)
        .await
        .map_err(store_error(&format!("scope {name}")))?;
    Ok(Output {
        json: json!({ "deleted": name }),
        text: format!("deleted scope {name}"),
    })
}

// --- clients -------------------------------------------------------------------------

async fn client_create(
    store: &(impl ClientStore + ScopeStore),
    args: ClientCreate,
) -> Result<Output, Error> {
    let grants = match (args.grants.is_empty(), args.resource_server) {
        // An API registered to introspect takes part in no flow unless asked to.
        (true, true) => Vec::new(),
        (true, false) => vec![GrantType::AuthorizationCode],
        (false, _) => checked_grants(&args.grants)?,
    };
    if !grants.is_empty() && args.redirect_uris.is_empty() {
        return Err(Error(
            "a client with the authorization_code grant needs --redirect-uri".into(),
        ));
    }
    let kind = if args.public {
        ClientKind::Public
    } else {
        ClientKind::Confidential
    };
    let secret = (kind == ClientKind::Confidential).then(|| Secret::generate(TOKEN_BYTES));
    let client = Client {
        client_id: args.id.unwrap_or_else(random_id),
        name: client_name(&args.name)?,
        redirect_uris: checked_redirect_uris(&args.redirect_uris)?,
        allowed_scopes: catalogued_scopes(store, &args.scopes).await?,
        default_scopes: args.default_scopes.into_iter().collect(),
        kind,
        secret_hash: secret.as_ref().map(Secret::hash),
        pkce_optional: args.pkce_optional,
        allow_plain_pkce: args.allow_plain_pkce,
        grant_types: grants,
        resource_server: args.resource_server,
    };
    check_default_scopes(&client)?;
    validate_client(&client)?;
    let what = format!("client {}", client.client_id);
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

async fn client_list(store: &impl ClientStore) -> Result<Output, Error> {
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
                c.client_id.clone(),
                kind_name(c.kind).to_string(),
                c.name.clone(),
            ]
        }));
        table(&rows)
    };
    Ok(Output {
        json: json!(clients),
        text,
    })
}

async fn client_show(store: &impl ClientStore, id: &str) -> Result<Output, Error> {
    let client = store
        .get_client(id)
        .await?
        .ok_or_else(|| Error(format!("client {id} does not exist")))?;
    Ok(Output {
        json: json!(client),
        text: client_details(&client),
    })
}

async fn client_update(
    store: &(impl ClientStore + ScopeStore),
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
        .ok_or_else(|| Error(format!("{what} does not exist")))?;
    if let Some(name) = &args.name {
        client.name = client_name(name)?;
    }
    if !args.redirect_uris.is_empty() {
        client.redirect_uris = checked_redirect_uris(&args.redirect_uris)?;
    }
    if !args.scopes.is_empty() || args.no_scope {
        client.allowed_scopes = catalogued_scopes(store, &args.scopes).await?;
    }
    if !args.default_scopes.is_empty() || args.no_default_scope {
        client.default_scopes = args.default_scopes.iter().cloned().collect();
    }
    check_default_scopes(&client)?;
    if args.pkce_optional {
        if client.kind == ClientKind::Public {
            return Err(Error(format!(
                "{what} is public: public clients must use PKCE"
            )));
        }
        client.pkce_optional = true;
    }
    if args.pkce_required {
        client.pkce_optional = false;
    }
    if let Some(allow) = args.allow_plain_pkce {
        client.allow_plain_pkce = allow;
    }
    if !args.grants.is_empty() {
        client.grant_types = checked_grants(&args.grants)?;
    }
    if let Some(resource_server) = args.resource_server {
        if resource_server && client.kind == ClientKind::Public {
            return Err(Error(format!(
                "{what} is public: only a confidential client can introspect"
            )));
        }
        client.resource_server = resource_server;
    }
    let secret = if args.rotate_secret {
        if client.kind == ClientKind::Public {
            return Err(Error(format!(
                "{what} is public: it has no secret to rotate"
            )));
        }
        let secret = Secret::generate(TOKEN_BYTES);
        client.secret_hash = Some(secret.hash());
        Some(secret)
    } else {
        None
    };
    validate_client(&client)?;
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

async fn client_delete(store: &impl ClientStore, id: &str) -> Result<Output, Error> {
    store
        .delete_client(id)
        .await
        .map_err(store_error(&format!("client {id}")))?;
    Ok(Output {
        json: json!({ "deleted": id }),
        text: format!("deleted client {id}"),
    })
}

/// Every URI must pass the registration rules; duplicates are dropped.
fn checked_redirect_uris(uris: &[String]) -> Result<Vec<String>, Error> {
    for uri in uris {
        validate_redirect_uri(uri)
            .map_err(|why| Error(format!("redirect URI {uri:?} is refused: {why}")))?;
    }
    Ok(check::dedupe(uris))
}

/// The named scopes, each a valid scope token that exists in the catalogue.
async fn catalogued_scopes(store: &impl ScopeStore, names: &[String]) -> Result<ScopeSet, Error> {
    if let Some(bad) = names.iter().find(|name| !is_scope_name(name)) {
        return Err(Error(format!(
            "{bad:?} is not a valid scope name: {}",
            check::scope_name_rule()
        )));
    }
    if names.is_empty() {
        return Ok(ScopeSet::new());
    }
    let catalogue: ScopeSet = store
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
    Ok(names.iter().cloned().collect())
}

fn check_default_scopes(client: &Client) -> Result<(), Error> {
    let outside: Vec<&str> = client
        .default_scopes
        .difference(&client.allowed_scopes)
        .map(String::as_str)
        .collect();
    if outside.is_empty() {
        Ok(())
    } else {
        Err(Error(format!(
            "default scope {} is not among the client's allowed scopes (--scope)",
            outside.join(", ")
        )))
    }
}

/// Grant types without duplicates; refresh tokens come only from authorization codes here.
fn checked_grants(grants: &[GrantType]) -> Result<Vec<GrantType>, Error> {
    let grants = check::dedupe(grants);
    if !grants.contains(&GrantType::AuthorizationCode) {
        return Err(Error(
            "a client needs the authorization_code grant: refresh tokens are only issued with it"
                .into(),
        ));
    }
    Ok(grants)
}

fn kind_name(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Confidential => "confidential",
        ClientKind::Public => "public",
    }
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
    let pkce = match (client.requires_pkce(), client.allow_plain_pkce) {
        (true, false) => "required (S256)",
        (true, true) => "required (S256 or plain)",
        (false, false) => "optional (S256)",
        (false, true) => "optional (S256 or plain)",
    };
    let mut rows = vec![
        vec!["client_id:".to_string(), client.client_id.clone()],
        vec!["name:".to_string(), client.name.clone()],
        vec!["kind:".to_string(), kind_name(client.kind).to_string()],
    ];
    for (i, uri) in client.redirect_uris.iter().enumerate() {
        let label = if i == 0 { "redirect_uris:" } else { "" };
        rows.push(vec![label.to_string(), uri.clone()]);
    }
    rows.push(vec![
        "allowed_scopes:".to_string(),
        join(&mut client.allowed_scopes.iter().map(String::as_str)),
    ]);
    rows.push(vec![
        "default_scopes:".to_string(),
        join(&mut client.default_scopes.iter().map(String::as_str)),
    ]);
    rows.push(vec![
        "grant_types:".to_string(),
        join(&mut client.grant_types.iter().map(|g| g.as_str())),
    ]);
    rows.push(vec!["pkce:".to_string(), pkce.to_string()]);
    if client.resource_server {
        rows.push(vec![
            "resource_server:".to_string(),
            "yes: may introspect every client's access tokens".to_string(),
        ]);
    }
    table(&rows)
}

/// A client as created or updated, with its new secret when there is one.
fn client_output(headline: &str, client: &Client, secret: Option<&Secret>) -> Output {
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

// --- users --------------------------------------------------------------------------

async fn user_create(
    store: &impl UserStore,
    username: &str,
    password: impl FnOnce() -> Result<Secret, Error>,
) -> Result<Output, Error> {
    let what = format!("user {username}");
    // Checked before asking for the password, so that nobody types one for nothing.
    if store.get_user(username).await?.is_some() {
        return Err(Error(format!("{what} already exists")));
    }
    let password = password()?;
    check::check_password(password.expose())?;
    let user = User {
        username: username.to_string(),
        sub: random_id(),
        password_hash: hash_password(password.expose())
            .map_err(|e| Error(format!("cannot hash the password: {e}")))?,
    };
    store.create_user(&user).await.map_err(store_error(&what))?;
    Ok(Output {
        json: json!({ "username": user.username, "sub": user.sub }),
        text: format!("created user {} (sub {})", user.username, user.sub),
    })
}

/// The password: one line of stdin when asked or when stdin is not a terminal,
/// otherwise typed twice at a prompt without echo.
fn read_password(from_stdin: bool) -> Result<Secret, Error> {
    if from_stdin || !io::stdin().is_terminal() {
        let mut line = String::new();
        let read = io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error(format!("cannot read the password from standard input: {e}")))?;
        if read == 0 {
            return Err(Error("no password on standard input".into()));
        }
        return Ok(Secret::new(check::strip_line_ending(&line)));
    }
    let prompt = |label: &str| {
        rpassword::prompt_password(label)
            .map(Secret::new)
            .map_err(|e| Error(format!("cannot read the password: {e}")))
    };
    let first = prompt("Password: ")?;
    check::check_password(first.expose())?;
    let second = prompt("Repeat the password: ")?;
    if first != second {
        return Err(Error("the passwords do not match".into()));
    }
    Ok(first)
}

async fn user_show(store: &impl UserStore, username: &str) -> Result<Output, Error> {
    let user = find_user(store, username).await?;
    Ok(Output {
        json: json!({ "username": user.username, "sub": user.sub }),
        text: table(&[
            vec!["username:".to_string(), user.username.clone()],
            vec!["sub:".to_string(), user.sub.clone()],
        ]),
    })
}

async fn user_delete(store: &impl UserStore, username: &str) -> Result<Output, Error> {
    store
        .delete_user(username)
        .await
        .map_err(store_error(&format!("user {username}")))?;
    Ok(Output {
        json: json!({ "deleted": username }),
        text: format!("deleted user {username}"),
    })
}

async fn find_user(store: &impl UserStore, username: &str) -> Result<User, Error> {
    store
        .get_user(username)
        .await?
        .ok_or_else(|| Error(format!("user {username} does not exist")))
}

// --- consents -------------------------------------------------------------------------

async fn consent_list(
    store: &(impl UserStore + ConsentStore),
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
            vec![
                c.client_id.clone(),
                expires,
                c.scopes.iter().cloned().collect::<Vec<_>>().join(" "),
            ]
        }));
        table(&rows)
    };
    Ok(Output { json, text })
}

async fn consent_revoke(
    store: &(impl UserStore + ConsentStore + RefreshTokenStore),
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

// --- signing keys ------------------------------------------------------------------------

/// A routine rotation publishes the new key this long before it signs: twice the time
/// verifiers may cache the key set (`Cache-Control: max-age=300` on JWKS).
const DEFAULT_ACTIVATE_IN_SECONDS: u32 = 600;

/// How long a key that stopped signing stays published: warm containers may sign with it
/// for `SIGNER_CACHE_SECONDS` more, and its tokens live up to the longest access token
/// lifetime the template allows (`AccessTokenTtlSeconds` at most 86400).
const RETIRE_AFTER_MS: i64 = (SIGNER_CACHE_SECONDS + 86_400) * 1000;

/// A key that signs at once is dated back this much, so that a Lambda clock behind the
/// operator's does not leave the token endpoint without a usable key for a while.
const CLOCK_SKEW_MS: i64 = 300_000;

/// What a key does at `now_ms`: pending keys are published and will sign; the newest
/// active key signs; keys that signed before it stay published while their tokens may be
/// live (the most recent one always); keys that never signed (a pending key overtaken by an
/// immediate rotation) or stopped long ago are no longer needed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum KeyRole {
    Pending,
    Current,
    Previous,
    Retired,
}

impl KeyRole {
    fn name(self) -> &'static str {
        match self {
            KeyRole::Pending => "pending",
            KeyRole::Current => "current",
            KeyRole::Previous => "previous",
            KeyRole::Retired => "retired",
        }
    }
}

/// The roles of `keys_newest_first` (by creation, the order in which the token function
/// prefers them) at `now_ms`.
fn key_roles(keys_newest_first: &[SigningKey], now_ms: i64) -> Vec<KeyRole> {
    // A key stops signing when a newer one starts: the earliest start among newer keys.
    // A key cannot sign before it exists, whatever its (backdated) active_from says.
    let mut newer_starts = i64::MAX;
    let (mut current_seen, mut previous_seen) = (false, false);
    keys_newest_first
        .iter()
        .map(|key| {
            let starts = key.active_from.max(key.created_at);
            let role = if key.active_from > now_ms {
                KeyRole::Pending
            } else if !current_seen {
                current_seen = true;
                KeyRole::Current
            } else if starts >= newer_starts {
                KeyRole::Retired // overtaken before it ever signed
            } else if !previous_seen {
                previous_seen = true;
                KeyRole::Previous
            } else if now_ms - newer_starts > RETIRE_AFTER_MS {
                KeyRole::Retired
            } else {
                KeyRole::Previous
            };
            newer_starts = newer_starts.min(starts);
            role
        })
        .collect()
}

async fn keys_rotate(store: &impl KeyStore, activate_in: Option<u32>) -> Result<Output, Error> {
    let now_ms = now_millis();
    let existing = store.list_keys(false).await?;
    let anything_signs = signing_key(&existing, now_ms).is_some();
    // The first key signs at once: there is nothing to protect and nothing else to sign with.
    let delay = match (anything_signs, activate_in) {
        (false, _) => 0,
        (true, requested) => requested.unwrap_or(DEFAULT_ACTIVATE_IN_SECONDS),
    };
    let mut key =
        generate_signing_key().map_err(|e| Error(format!("cannot generate a signing key: {e}")))?;
    key.active_from = if delay == 0 {
        key.created_at - CLOCK_SKEW_MS
    } else {
        key.created_at + i64::from(delay) * 1000
    };
    store
        .put_key(&key)
        .await
        .map_err(store_error(&format!("signing key {}", key.kid)))?;
    // Newest first, the new key ahead of every existing one.
    let mut keys = vec![key];
    keys.extend(existing);
    let roles = key_roles(&keys, now_ms.max(keys[0].created_at));
    let mut retired = Vec::new();
    for (stored, role) in keys.iter().zip(&roles) {
        if *role == KeyRole::Retired {
            match store.delete_key(&stored.kid).await {
                Ok(()) | Err(StoreError::NotFound) => retired.push(stored.kid.clone()),
                Err(err) => return Err(err.into()),
            }
        }
    }
    let new = &keys[0];
    let signing = keys
        .iter()
        .zip(&roles)
        .find(|(_, r)| **r == KeyRole::Current);
    let previous = keys
        .iter()
        .zip(&roles)
        .find(|(_, r)| **r == KeyRole::Previous);
    let mut text = if delay == 0 {
        format!("new signing key {} (current): signs now", new.kid)
    } else {
        format!(
            "new signing key {} (pending): published now, signs from {} (in {delay} s)",
            new.kid,
            format_time(new.active_from / 1000)
        )
    };
    if let (Some((key, _)), true) = (signing, delay > 0) {
        text.push_str(&format!("\nsigning until then: {}", key.kid));
    }
    if let Some((key, _)) = previous {
        text.push_str(&format!("\nstill published: {} (previous)", key.kid));
    }
    text.push_str(&if retired.is_empty() {
        "\nretired: none".to_string()
    } else {
        format!("\nretired: {}", retired.join(", "))
    });
    Ok(Output {
        json: json!({
            "kid": new.kid,
            "created_at": new.created_at,
            "active_from": new.active_from,
            "signing": signing.map(|(k, _)| &k.kid),
            "previous": previous.map(|(k, _)| &k.kid),
            "retired": retired,
        }),
        text,
    })
}

async fn keys_list(store: &impl KeyStore) -> Result<Output, Error> {
    let keys = store.list_keys(false).await?;
    let roles = key_roles(&keys, now_millis());
    let json = Value::Array(
        keys.iter()
            .zip(&roles)
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
        rows.extend(keys.iter().zip(&roles).map(|(k, role)| {
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

async fn keys_delete(store: &impl KeyStore, kid: &str) -> Result<Output, Error> {
    let keys = store.list_keys(false).await?;
    let what = format!("signing key {kid}");
    if signing_key(&keys, now_millis()).is_some_and(|k| k.kid == kid) {
        return Err(Error(format!(
            "{what} is the one that signs: rotate first (`authctl keys rotate --activate-in 0`)"
        )));
    }
    store.delete_key(kid).await.map_err(store_error(&what))?;
    Ok(Output {
        json: json!({ "deleted": kid }),
        text: format!("deleted {what}; tokens it signed no longer verify"),
    })
}

#[cfg(test)]
mod tests;
