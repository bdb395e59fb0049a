//! The command line: clap's types, one enum per noun. Values that name stored items are
//! checked here by the domain's rules (`check`), so a bad one is a usage error.

use crate::check::{
    access_token_ttl_arg, claim_arg, client_id_arg, grant_arg, kid_arg, scope_name_arg,
    table_prefix_arg, username_arg,
};
use auth_core::config::{ACCESS_TOKEN_TTL_VARIABLE, MAX_ACCESS_TOKEN_TTL_SECONDS};
use auth_core::keys::lifecycle::{KeyLifecycle, MAX_ACTIVATION_DELAY_SECONDS};
use auth_core::model::GrantType;
use auth_core::profile::Claim;
use clap::{Args, Parser, Subcommand};

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
pub struct Cli {
    /// Stack name that prefixes every table (`<prefix>-clients`, ...).
    #[arg(long, env = "AUTH_TABLE_PREFIX", value_name = "PREFIX", value_parser = table_prefix_arg)]
    pub table_prefix: String,

    /// Machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Prepares a new stack, and is safe to run again: stores the OpenID Connect scopes
    /// (openid, profile, email) that are missing and, when no key is stored, the first
    /// signing key (it signs at once).
    Init {
        #[command(flatten)]
        tokens: AccessTokenLifetime,
    },
    /// The scope catalogue.
    #[command(subcommand)]
    Scope(ScopeCommand),
    /// OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// APIs that accept access tokens, as audiences (RFC 8707 resource indicators).
    #[command(subcommand)]
    Resource(ResourceCommand),
    /// End users who sign in.
    #[command(subcommand)]
    User(UserCommand),
    /// Users' sign-in sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Users' standing approvals of clients.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand, Debug)]
pub enum ScopeCommand {
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
pub enum ResourceCommand {
    /// Registers an API: a request naming it as `resource` gets tokens whose `aud` is it.
    Create {
        /// The API's URI, e.g. https://api.example.com: its tokens' `aud`, and what API
        /// Gateway's JWT authorizer of that API lists as its audience.
        uri: String,
        /// Shown to users on the consent page [default: the URI].
        #[arg(long)]
        name: Option<String>,
        /// A scope the API accepts; must exist in the catalogue (repeat for several).
        #[arg(long = "scope", value_name = "SCOPE", required = true)]
        scopes: Vec<String>,
    },
    /// Lists the registered APIs.
    List,
    /// Removes an API: requests naming it are refused (`invalid_target`); tokens already
    /// issued for it stay valid until they expire.
    Delete { uri: String },
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
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
pub struct ClientCreate {
    /// Display name, shown to users on the consent page.
    #[arg(long)]
    pub name: String,
    /// Redirect URI, compared exactly (repeat for several); needed with the
    /// authorization_code grant (the default), not by a machine (--grant client_credentials)
    /// or a --resource-server.
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Where sign-out (RP-Initiated Logout) may send the browser back, compared exactly;
    /// the rules of redirect URIs (repeat for several).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    pub post_logout_redirect_uris: Vec<String>,
    /// An origin (https://host[:port]) from which a browser app of this client may call the
    /// token and revocation endpoints, besides the redirect URIs' origins, which need no
    /// listing (repeat for several).
    #[arg(long = "web-origin", value_name = "ORIGIN")]
    pub web_origins: Vec<String>,
    /// Scope the client may ask for; must exist in the catalogue (repeat for several).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
    /// Scope granted when a request names none; must be one of --scope (repeat for several).
    #[arg(long = "default-scope", value_name = "SCOPE")]
    pub default_scopes: Vec<String>,
    /// A public client (browser or native app): no secret, PKCE always required.
    #[arg(long)]
    pub public: bool,
    /// Do not require PKCE (confidential clients only).
    #[arg(long, conflicts_with = "public")]
    pub pkce_optional: bool,
    /// Accept code_challenge_method=plain besides S256.
    #[arg(long)]
    pub allow_plain_pkce: bool,
    /// Grant type the client may use (repeat for several) [default: authorization_code;
    /// none for a --resource-server].
    #[arg(long = "grant", value_name = "GRANT", value_parser = grant_arg)]
    pub grants: Vec<GrantType>,
    /// An API that checks bearer tokens: may introspect access tokens issued to any client.
    /// Needs no redirect URI.
    #[arg(long, conflicts_with = "public")]
    pub resource_server: bool,
    /// Client id [default: random].
    #[arg(long, value_name = "CLIENT_ID", value_parser = client_id_arg)]
    pub id: Option<String>,
    /// private_key_jwt: the client's public keys (a JWKS file: RSA of 2048 bits or more for
    /// RS256, EC P-256 for ES256), instead of a secret.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["public", "jwks_uri"])]
    pub jwks_file: Option<std::path::PathBuf>,
    /// private_key_jwt: where the client publishes its public keys (https; http only on a
    /// loopback address), instead of a secret. Fetched now to check it.
    #[arg(long, value_name = "URL", conflicts_with = "public")]
    pub jwks_uri: Option<String>,
}

#[derive(Args, Debug)]
pub struct ClientUpdate {
    #[arg(value_parser = client_id_arg)]
    pub id: String,
    /// New display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Replaces the redirect URIs (repeat for several).
    #[arg(long = "redirect-uri", value_name = "URI")]
    pub redirect_uris: Vec<String>,
    /// Replaces the post-logout redirect URIs (repeat for several).
    #[arg(
        long = "post-logout-redirect-uri",
        value_name = "URI",
        conflicts_with = "no_post_logout_redirect_uri"
    )]
    pub post_logout_redirect_uris: Vec<String>,
    /// Removes every post-logout redirect URI.
    #[arg(long)]
    pub no_post_logout_redirect_uri: bool,
    /// Replaces the web origins besides the redirect URIs' (repeat for several).
    #[arg(
        long = "web-origin",
        value_name = "ORIGIN",
        conflicts_with = "no_web_origin"
    )]
    pub web_origins: Vec<String>,
    /// Removes every web origin besides the redirect URIs'.
    #[arg(long)]
    pub no_web_origin: bool,
    /// Replaces the allowed scopes (repeat for several).
    #[arg(long = "scope", value_name = "SCOPE", conflicts_with = "no_scope")]
    pub scopes: Vec<String>,
    /// Removes every allowed scope.
    #[arg(long)]
    pub no_scope: bool,
    /// Replaces the default scopes (repeat for several).
    #[arg(
        long = "default-scope",
        value_name = "SCOPE",
        conflicts_with = "no_default_scope"
    )]
    pub default_scopes: Vec<String>,
    /// Removes every default scope.
    #[arg(long)]
    pub no_default_scope: bool,
    /// Require PKCE.
    #[arg(long, conflicts_with = "pkce_optional")]
    pub pkce_required: bool,
    /// Do not require PKCE (confidential clients only).
    #[arg(long)]
    pub pkce_optional: bool,
    /// Accept code_challenge_method=plain besides S256.
    #[arg(long, value_name = "true|false")]
    pub allow_plain_pkce: Option<bool>,
    /// Replaces the grant types (repeat for several).
    #[arg(long = "grant", value_name = "GRANT", value_parser = grant_arg)]
    pub grants: Vec<GrantType>,
    /// May introspect access tokens issued to any client (confidential clients only).
    #[arg(long, value_name = "true|false")]
    pub resource_server: Option<bool>,
    /// Issues a new client secret (printed once); the old one stops working. A
    /// private_key_jwt client goes back to a secret, its keys dropped.
    #[arg(long, conflicts_with_all = ["jwks_file", "jwks_uri"])]
    pub rotate_secret: bool,
    /// Switches to (or stays with) private_key_jwt with these public keys; a secret is dropped.
    #[arg(long, value_name = "PATH", conflicts_with = "jwks_uri")]
    pub jwks_file: Option<std::path::PathBuf>,
    /// Switches to (or stays with) private_key_jwt with the keys at this URL; a secret is dropped.
    #[arg(long, value_name = "URL")]
    pub jwks_uri: Option<String>,
}

impl ClientUpdate {
    pub fn changes_nothing(&self) -> bool {
        self.name.is_none()
            && self.redirect_uris.is_empty()
            && self.post_logout_redirect_uris.is_empty()
            && !self.no_post_logout_redirect_uri
            && self.web_origins.is_empty()
            && !self.no_web_origin
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
            && self.jwks_file.is_none()
            && self.jwks_uri.is_none()
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Creates a user. The password is read from stdin (one line) or prompted for, never an argument.
    Create {
        #[arg(value_parser = username_arg)]
        username: String,
        /// Read the password as one line of standard input (implied when stdin is not a terminal).
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Changes a user's profile claims, or password (which ends their sessions).
    Update {
        #[arg(value_parser = username_arg)]
        username: String,
        #[command(flatten)]
        profile: ProfileArgs,
        /// Removes a claim (repeat for several).
        #[arg(long, value_name = "CLAIM", value_parser = claim_arg)]
        unset: Vec<Claim>,
        /// Sets a new password, prompted for; ends every session of the user.
        #[arg(long, conflicts_with = "password_stdin")]
        password: bool,
        /// Sets a new password read as one line of standard input; ends every session of the user.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Shows a user's username, subject identifier and profile.
    Show {
        #[arg(value_parser = username_arg)]
        username: String,
    },
    /// Lists the users.
    List,
    /// Deletes a user: their sessions end, their consents and the refresh tokens issued
    /// under them are revoked.
    Delete {
        #[arg(value_parser = username_arg)]
        username: String,
    },
}

/// The standard claims of OpenID Connect Core 5.1 that a user's profile holds; each is
/// checked by the domain (`auth_core::profile`).
#[derive(Args, Debug, Default)]
pub struct ProfileArgs {
    /// Full name, as shown.
    #[arg(long, value_name = "TEXT")]
    pub name: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub given_name: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub family_name: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub preferred_username: Option<String>,
    #[arg(long, value_name = "ADDRESS")]
    pub email: Option<String>,
    /// Whether you checked that the address is the user's.
    #[arg(long, value_name = "true|false")]
    pub email_verified: Option<bool>,
    /// A BCP 47 language tag, e.g. en-US.
    #[arg(long, value_name = "TAG")]
    pub locale: Option<String>,
    /// An https URL of the user's picture.
    #[arg(long, value_name = "URL")]
    pub picture: Option<String>,
}

impl ProfileArgs {
    /// The claims given, by their OpenID Connect names, as text.
    pub fn given(&self) -> Vec<(Claim, String)> {
        [
            (Claim::Name, self.name.clone()),
            (Claim::GivenName, self.given_name.clone()),
            (Claim::FamilyName, self.family_name.clone()),
            (Claim::PreferredUsername, self.preferred_username.clone()),
            (Claim::Email, self.email.clone()),
            (
                Claim::EmailVerified,
                self.email_verified.map(|v| v.to_string()),
            ),
            (Claim::Locale, self.locale.clone()),
            (Claim::Picture, self.picture.clone()),
        ]
        .into_iter()
        .filter_map(|(claim, value)| value.map(|value| (claim, value)))
        .collect()
    }
}

#[derive(Subcommand, Debug)]
pub enum SessionCommand {
    /// Ends every session of a user (a shared or stolen browser): the next authorization
    /// asks them to sign in again. Tokens already issued to clients stay; revoke the
    /// user's consents to end those.
    Revoke {
        #[arg(long, value_name = "USERNAME", value_parser = username_arg)]
        user: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConsentCommand {
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
pub enum KeysCommand {
    /// Adds a new signing key, published at once; it signs after --activate-in seconds.
    /// Keeps the pending key, the current one and the previous one; retires older ones.
    Rotate {
        /// Seconds from now until the new key signs, so that verifiers caching the key set
        /// (JWKS is cacheable for 300 s) fetch it first. 0 for a compromised key.
        /// [default: 600; 0 when no key signs yet]
        #[arg(
            long,
            value_name = "SECONDS",
            value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_ACTIVATION_DELAY_SECONDS))
        )]
        activate_in: Option<u32>,
        #[command(flatten)]
        tokens: AccessTokenLifetime,
    },
    /// Lists the published keys, newest first, with what each does now.
    List {
        #[command(flatten)]
        tokens: AccessTokenLifetime,
    },
    /// Deletes a key that no longer signs (after a compromise: `rotate --activate-in 0`,
    /// then delete the old key; warm containers stop using it within 300 s).
    Delete {
        #[arg(value_parser = kid_arg)]
        kid: String,
    },
}

/// The stack's access token lifetime, which decides how long a key that stopped signing
/// stays published.
#[derive(Args, Debug)]
pub struct AccessTokenLifetime {
    /// Access token lifetime of the stack (its AccessTokenTtlSeconds): a key that stopped
    /// signing stays published 300 s longer than this. The default, the longest lifetime the
    /// template allows, cuts no token short.
    #[arg(
        long = "access-token-ttl",
        env = ACCESS_TOKEN_TTL_VARIABLE,
        value_name = "SECONDS",
        value_parser = access_token_ttl_arg,
        default_value_t = MAX_ACCESS_TOKEN_TTL_SECONDS
    )]
    pub seconds: i64,
}

impl AccessTokenLifetime {
    pub fn lifecycle(&self) -> KeyLifecycle {
        KeyLifecycle::new(self.seconds)
    }
}
