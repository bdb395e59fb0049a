//! Registered OAuth clients. A `Client` is made only by `Client::register`, which holds
//! every registration rule (RFC 6749 2.1 and 3.1.2, RFC 8252, RFC 9700 2.1.1, the limits of
//! docs/security.md), so that authctl, the stores and the endpoints see valid clients only.
//! What only a confidential client has lives in its `ClientType` variant (kanidm's
//! `OAuth2Client { Basic { .. } | Public { .. } }`): a public client with a secret, without
//! PKCE or introspecting cannot be written down.

use crate::client_assertion::{check_jwks_uri, ClientJwks, JwksError};
use crate::ids;
use crate::model::GrantType;
use crate::scope::{ScopeSet, ScopeToken};
use serde::Serialize;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// The kind as stored and shown; `ClientType` is what the domain matches on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// Has a secret and authenticates at the token endpoint.
    Confidential,
    /// Cannot keep a secret (browser or native app): must use PKCE.
    Public,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Confidential => "confidential",
            ClientKind::Public => "public",
        }
    }
}

/// What a client of each kind has beyond the common fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientType {
    Confidential {
        /// How it authenticates: one method, registered (`token_endpoint_auth_method`).
        credential: ClientCredential,
        /// PKCE is required unless this is set (RFC 9700 2.1.1).
        pkce_optional: bool,
        /// An API that checks bearer tokens: it may introspect access tokens issued to any
        /// client (RFC 7662 4), not only its own.
        resource_server: bool,
    },
    /// Cannot keep a secret: authenticates with `none`, always uses PKCE, never introspects.
    Public,
}

/// What a confidential client authenticates with: a secret or its keys, never both, so that
/// a client registered for `private_key_jwt` cannot fall back to a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCredential {
    /// `client_secret_basic` or `client_secret_post`: SHA-256 of the client secret. The
    /// secret is 256 random bits, so a fast hash is as strong as a slow one here.
    Secret { hash: String },
    /// `private_key_jwt` (RFC 7523 2.2): a JWT signed with one of these keys.
    PrivateKeyJwt(ClientKeys),
}

/// Where a `private_key_jwt` client's public keys are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientKeys {
    /// Registered with the client (`jwks`).
    Jwks(ClientJwks),
    /// Fetched from the client (`jwks_uri`) and cached by the warm container.
    JwksUri(String),
}

/// The keys as asked for or stored, unchecked (`ClientRegistration::keys`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKeySource {
    Jwks(serde_json::Value),
    JwksUri(String),
}

/// A registered client. Read through its accessors; made only by `Client::register`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    client_id: String,
    name: String,
    redirect_uris: Vec<String>,
    allowed_scopes: ScopeSet,
    default_scopes: ScopeSet,
    client_type: ClientType,
    allow_plain_pkce: bool,
    grant_types: Vec<GrantType>,
    post_logout_redirect_uris: Vec<String>,
    /// The origins registered besides the redirect URIs' (`--web-origin`).
    web_origins: Vec<String>,
    /// Every origin a browser app of this client may call token and revoke from: the
    /// redirect URIs' origins and `web_origins`, as browsers write them in `Origin`.
    cors_origins: Vec<String>,
}

/// A client as asked for (by authctl) or as stored (an item): flat and unchecked, the
/// shape of the DynamoDB item. `Client::register` turns it into a `Client` or says why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientRegistration {
    pub client_id: String,
    pub name: String,
    /// Compared by exact string equality at authorize (RFC 9700 2.1).
    pub redirect_uris: Vec<String>,
    pub allowed_scopes: ScopeSet,
    /// Granted when an authorization request names no scope.
    pub default_scopes: ScopeSet,
    pub kind: ClientKind,
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub pkce_optional: bool,
    /// Accept `code_challenge_method=plain` (off unless explicitly configured, RFC 7636 4.2).
    pub allow_plain_pkce: bool,
    pub grant_types: Vec<GrantType>,
    pub resource_server: bool,
    /// Where sign-out may send the browser back (OpenID Connect RP-Initiated Logout 1.0):
    /// held to the rules of redirect URIs, compared by exact string equality.
    pub post_logout_redirect_uris: Vec<String>,
    /// Origins, besides those of the redirect URIs, from which a browser app of this client
    /// may call the token and revocation endpoints (CORS): `https://host[:port]`.
    pub web_origins: Vec<String>,
    /// `private_key_jwt`: the client's public keys, in place of a secret (confidential only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keys: Option<ClientKeySource>,
}

impl Client {
    /// The one way to make a client: every registration rule, in the order authctl's
    /// users expect to hear about them. Repeated redirect URIs and grants count once.
    pub fn register(registration: ClientRegistration) -> Result<Client, ClientRuleError> {
        let ClientRegistration {
            client_id,
            name,
            redirect_uris,
            allowed_scopes,
            default_scopes,
            kind,
            secret_hash,
            pkce_optional,
            allow_plain_pkce,
            grant_types,
            resource_server,
            post_logout_redirect_uris,
            web_origins,
            keys,
        } = registration;
        if !ids::is_client_id(&client_id) {
            return Err(ClientRuleError::ClientId);
        }
        check_client_name(&name).map_err(ClientRuleError::Name)?;
        let client_type = match kind {
            ClientKind::Public if secret_hash.is_some() => {
                return Err(ClientRuleError::PublicWithSecret { client_id })
            }
            ClientKind::Public if pkce_optional => {
                return Err(ClientRuleError::PublicWithoutPkce { client_id })
            }
            ClientKind::Public if resource_server => {
                return Err(ClientRuleError::PublicResourceServer { client_id })
            }
            ClientKind::Public if keys.is_some() => {
                return Err(ClientRuleError::PublicWithKeys { client_id })
            }
            ClientKind::Public => ClientType::Public,
            ClientKind::Confidential => ClientType::Confidential {
                credential: credential(secret_hash, keys)?,
                pkce_optional,
                resource_server,
            },
        };
        let redirect_uris = dedupe(redirect_uris);
        if redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(ClientRuleError::TooManyRedirectUris);
        }
        for uri in &redirect_uris {
            check_redirect_uri(uri, kind).map_err(|reason| ClientRuleError::RedirectUri {
                uri: uri.clone(),
                reason,
            })?;
        }
        let post_logout_redirect_uris = dedupe(post_logout_redirect_uris);
        if post_logout_redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(ClientRuleError::TooManyPostLogoutRedirectUris);
        }
        for uri in &post_logout_redirect_uris {
            check_redirect_uri(uri, kind).map_err(|reason| {
                ClientRuleError::PostLogoutRedirectUri {
                    uri: uri.clone(),
                    reason,
                }
            })?;
        }
        let web_origins = dedupe(web_origins);
        if web_origins.len() > MAX_REDIRECT_URIS {
            return Err(ClientRuleError::TooManyWebOrigins);
        }
        if let Some(origin) = web_origins.iter().find(|o| !is_web_origin(o)) {
            return Err(ClientRuleError::WebOrigin {
                origin: origin.clone(),
            });
        }
        let cors_origins = dedupe(
            redirect_uris
                .iter()
                .filter_map(|uri| web_origin_of(uri))
                .chain(web_origins.iter().cloned())
                .collect(),
        );
        for (scopes, which) in [(&allowed_scopes, "allowed"), (&default_scopes, "default")] {
            if scopes.len() > MAX_CLIENT_SCOPES {
                return Err(ClientRuleError::TooManyScopes { which });
            }
            // Each name is a `ScopeToken`: checked when it was parsed (an argument, an item).
        }
        let outside: Vec<String> = default_scopes
            .difference(&allowed_scopes)
            .map(ScopeToken::to_string)
            .collect();
        if !outside.is_empty() {
            return Err(ClientRuleError::DefaultScopesNotAllowed(outside));
        }
        let grant_types = dedupe(grant_types);
        // No grant: a resource server that only introspects takes part in no flow.
        let has = |grant| grant_types.contains(&grant);
        // Refresh tokens are only issued with codes here.
        if has(GrantType::RefreshToken) && !has(GrantType::AuthorizationCode) {
            return Err(ClientRuleError::RefreshWithoutCode);
        }
        if has(GrantType::AuthorizationCode) && redirect_uris.is_empty() {
            return Err(ClientRuleError::CodeWithoutRedirectUri);
        }
        // A machine's own identity needs a credential: RFC 6749 4.4 is for confidential clients.
        if has(GrantType::ClientCredentials) && kind == ClientKind::Public {
            return Err(ClientRuleError::PublicClientCredentials { client_id });
        }
        Ok(Client {
            client_id,
            name,
            redirect_uris,
            allowed_scopes,
            default_scopes,
            client_type,
            allow_plain_pkce,
            grant_types,
            post_logout_redirect_uris,
            web_origins,
            cors_origins,
        })
    }

    /// The flat form, to change and register again (authctl) or to store.
    pub fn registration(&self) -> ClientRegistration {
        let (credential, pkce_optional, resource_server) = match &self.client_type {
            ClientType::Confidential {
                credential,
                pkce_optional,
                resource_server,
            } => (Some(credential), *pkce_optional, *resource_server),
            ClientType::Public => (None, false, false),
        };
        let (secret_hash, keys) = match credential {
            Some(ClientCredential::Secret { hash }) => (Some(hash.clone()), None),
            Some(ClientCredential::PrivateKeyJwt(ClientKeys::Jwks(jwks))) => {
                (None, Some(ClientKeySource::Jwks(jwks.json().clone())))
            }
            Some(ClientCredential::PrivateKeyJwt(ClientKeys::JwksUri(uri))) => {
                (None, Some(ClientKeySource::JwksUri(uri.clone())))
            }
            None => (None, None),
        };
        ClientRegistration {
            client_id: self.client_id.clone(),
            name: self.name.clone(),
            redirect_uris: self.redirect_uris.clone(),
            allowed_scopes: self.allowed_scopes.clone(),
            default_scopes: self.default_scopes.clone(),
            kind: self.kind(),
            secret_hash,
            pkce_optional,
            allow_plain_pkce: self.allow_plain_pkce,
            grant_types: self.grant_types.clone(),
            resource_server,
            post_logout_redirect_uris: self.post_logout_redirect_uris.clone(),
            web_origins: self.web_origins.clone(),
            keys,
        }
    }

    /// The registered `token_endpoint_auth_method` (RFC 7591 2): `client_secret_basic` stands
    /// for both secret methods.
    pub fn token_endpoint_auth_method(&self) -> &'static str {
        match &self.client_type {
            ClientType::Confidential {
                credential: ClientCredential::Secret { .. },
                ..
            } => "client_secret_basic",
            ClientType::Confidential {
                credential: ClientCredential::PrivateKeyJwt(_),
                ..
            } => "private_key_jwt",
            ClientType::Public => "none",
        }
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Compared by exact string equality at authorize (RFC 9700 2.1).
    pub fn redirect_uris(&self) -> &[String] {
        &self.redirect_uris
    }

    /// Where sign-out may send the browser back: compared by exact string equality.
    pub fn post_logout_redirect_uris(&self) -> &[String] {
        &self.post_logout_redirect_uris
    }

    /// Whether `uri` is one of the registered post-logout redirect URIs, exactly.
    pub fn allows_post_logout_redirect_uri(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }

    /// The origins registered besides the redirect URIs' (`--web-origin`).
    pub fn web_origins(&self) -> &[String] {
        &self.web_origins
    }

    /// Whether a browser app at `origin` (the request's `Origin` header, as browsers write
    /// it) may call the token and revocation endpoints as this client: one of its redirect
    /// URIs' origins or of its web origins, exactly.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.cors_origins.iter().any(|o| o == origin)
    }

    pub fn allowed_scopes(&self) -> &ScopeSet {
        &self.allowed_scopes
    }

    /// Granted when an authorization request names no scope.
    pub fn default_scopes(&self) -> &ScopeSet {
        &self.default_scopes
    }

    pub fn client_type(&self) -> &ClientType {
        &self.client_type
    }

    pub fn kind(&self) -> ClientKind {
        match self.client_type {
            ClientType::Confidential { .. } => ClientKind::Confidential,
            ClientType::Public => ClientKind::Public,
        }
    }

    pub fn grant_types(&self) -> &[GrantType] {
        &self.grant_types
    }

    /// Accept `code_challenge_method=plain` (RFC 7636 4.2).
    pub fn allow_plain_pkce(&self) -> bool {
        self.allow_plain_pkce
    }

    pub fn requires_pkce(&self) -> bool {
        match self.client_type {
            ClientType::Confidential { pkce_optional, .. } => !pkce_optional,
            ClientType::Public => true,
        }
    }

    /// May introspect every client's access tokens (RFC 7662 4).
    pub fn is_resource_server(&self) -> bool {
        matches!(
            self.client_type,
            ClientType::Confidential {
                resource_server: true,
                ..
            }
        )
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// A confidential client's one credential: a secret or keys, never both, never neither.
fn credential(
    secret_hash: Option<String>,
    keys: Option<ClientKeySource>,
) -> Result<ClientCredential, ClientRuleError> {
    match (secret_hash, keys) {
        (Some(hash), None) => Ok(ClientCredential::Secret { hash }),
        (None, Some(ClientKeySource::Jwks(json))) => ClientJwks::from_json(json)
            .map(|jwks| ClientCredential::PrivateKeyJwt(ClientKeys::Jwks(jwks)))
            .map_err(ClientRuleError::Keys),
        (None, Some(ClientKeySource::JwksUri(uri))) => check_jwks_uri(&uri)
            .map(|()| ClientCredential::PrivateKeyJwt(ClientKeys::JwksUri(uri)))
            .map_err(ClientRuleError::Keys),
        (Some(_), Some(_)) => Err(ClientRuleError::SecretAndKeys),
        (None, None) => Err(ClientRuleError::ConfidentialWithoutSecret),
    }
}

/// Shown by authctl (`--json`) as the flat registration, never with the secret's hash.
impl Serialize for Client {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.registration().serialize(serializer)
    }
}

/// Why a client cannot be registered (or why a stored one is corrupt). Display is the
/// text authctl prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientRuleError {
    ClientId,
    Name(String),
    PublicWithSecret {
        client_id: String,
    },
    PublicWithoutPkce {
        client_id: String,
    },
    PublicResourceServer {
        client_id: String,
    },
    ConfidentialWithoutSecret,
    TooManyRedirectUris,
    RedirectUri {
        uri: String,
        reason: RedirectUriError,
    },
    TooManyPostLogoutRedirectUris,
    PostLogoutRedirectUri {
        uri: String,
        reason: RedirectUriError,
    },
    TooManyScopes {
        which: &'static str,
    },
    DefaultScopesNotAllowed(Vec<String>),
    RefreshWithoutCode,
    CodeWithoutRedirectUri,
    PublicClientCredentials {
        client_id: String,
    },
    TooManyWebOrigins,
    WebOrigin {
        origin: String,
    },
    PublicWithKeys {
        client_id: String,
    },
    SecretAndKeys,
    Keys(JwksError),
}

impl fmt::Display for ClientRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientRuleError::ClientId => write!(
                f,
                "a client id is 1 to {} characters of A-Z a-z 0-9 . _ -",
                ids::MAX_CLIENT_ID_LEN
            ),
            ClientRuleError::Name(why) => f.write_str(why),
            ClientRuleError::PublicWithSecret { client_id } => {
                write!(f, "client {client_id} is public: it has no secret")
            }
            ClientRuleError::PublicWithoutPkce { client_id } => write!(
                f,
                "client {client_id} is public: public clients must use PKCE"
            ),
            ClientRuleError::PublicResourceServer { client_id } => write!(
                f,
                "client {client_id} is public: only a confidential client can introspect"
            ),
            ClientRuleError::ConfidentialWithoutSecret => f.write_str(
                "a confidential client needs a secret, or keys for private_key_jwt (--jwks-file, --jwks-uri)",
            ),
            ClientRuleError::TooManyRedirectUris => {
                write!(f, "a client has at most {MAX_REDIRECT_URIS} redirect URIs")
            }
            ClientRuleError::RedirectUri { uri, reason } => {
                write!(f, "redirect URI {uri:?} is refused: {reason}")
            }
            ClientRuleError::TooManyPostLogoutRedirectUris => write!(
                f,
                "a client has at most {MAX_REDIRECT_URIS} post-logout redirect URIs"
            ),
            ClientRuleError::PostLogoutRedirectUri { uri, reason } => {
                write!(f, "post-logout redirect URI {uri:?} is refused: {reason}")
            }
            ClientRuleError::TooManyScopes { which } => {
                write!(f, "a client has at most {MAX_CLIENT_SCOPES} {which} scopes")
            }
            ClientRuleError::DefaultScopesNotAllowed(outside) => write!(
                f,
                "default scope {} is not among the client's allowed scopes (--scope)",
                outside.join(", ")
            ),
            ClientRuleError::RefreshWithoutCode => f.write_str(
                "a client needs the authorization_code grant: refresh tokens are only issued with it",
            ),
            ClientRuleError::CodeWithoutRedirectUri => {
                f.write_str("a client with the authorization_code grant needs --redirect-uri")
            }
            ClientRuleError::PublicClientCredentials { client_id } => write!(
                f,
                "client {client_id} is public: only a confidential client may use client_credentials"
            ),
            ClientRuleError::TooManyWebOrigins => {
                write!(f, "a client has at most {MAX_REDIRECT_URIS} web origins")
            }
            ClientRuleError::WebOrigin { origin } => write!(
                f,
                "web origin {origin:?} is refused: an origin is https://host[:port] (http only on \
                 127.0.0.1, [::1] or localhost), in lower case, without a path or a trailing slash, \
                 as a browser sends it in Origin"
            ),
            ClientRuleError::PublicWithKeys { client_id } => write!(
                f,
                "client {client_id} is public: only a confidential client authenticates with keys"
            ),
            ClientRuleError::SecretAndKeys => f.write_str(
                "a client authenticates with a secret or with keys (private_key_jwt), not both",
            ),
            ClientRuleError::Keys(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for ClientRuleError {}

/// Why a redirect URI is refused at registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectUriError {
    LengthOrSpaces,
    NotAbsolute,
    Fragment,
    UserInfo,
    NoHost,
    HttpNotLoopback,
    PrivateSchemeNotPublic,
    UnknownScheme,
}

impl fmt::Display for RedirectUriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RedirectUriError::LengthOrSpaces => {
                "a redirect URI must be at most 2000 bytes without spaces"
            }
            RedirectUriError::NotAbsolute => "a redirect URI must be an absolute URL",
            RedirectUriError::Fragment => {
                "a redirect URI must not contain a fragment (RFC 6749 3.1.2)"
            }
            RedirectUriError::UserInfo => {
                "a redirect URI must not contain user information (user@ before the host)"
            }
            RedirectUriError::NoHost => "an https redirect URI needs a host",
            RedirectUriError::HttpNotLoopback => {
                "plain http redirect URIs are allowed only on loopback hosts: 127.0.0.1, [::1] or localhost (RFC 8252 7.3, 8.3)"
            }
            RedirectUriError::PrivateSchemeNotPublic => {
                "private-use scheme redirect URIs are for native apps: register a --public client (RFC 8252 7.1)"
            }
            RedirectUriError::UnknownScheme => {
                "a redirect URI must use https, loopback http, or a reversed-domain private-use scheme"
            }
        })
    }
}

/// A redirect URI of a client of this kind, parsed as browsers do (WHATWG URL): absolute, no
/// fragment, no user information; `https` with a host, `http` only on an exact loopback host
/// (RFC 8252 7.3, 8.3), a reversed-domain private-use scheme only for public clients (RFC
/// 8252 7.1). The string itself is what authorize compares, unchanged.
pub fn check_redirect_uri(uri: &str, kind: ClientKind) -> Result<(), RedirectUriError> {
    if uri.len() > MAX_REDIRECT_URI_BYTES
        || uri.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(RedirectUriError::LengthOrSpaces);
    }
    // Before parsing: the parser drops an empty fragment (`...cb#`) from nothing.
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    let url = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute)?;
    // `http://127.0.0.1:80@evil.example/cb` goes to evil.example: whatever the user
    // information says, it only misleads whoever reads the URI.
    if !url.username().is_empty() || url.password().is_some() || authority_has_at(uri) {
        return Err(RedirectUriError::UserInfo);
    }
    match url.scheme() {
        "https" => {
            // WHATWG skips extra slashes (`https:///host` is `https://host`): ask for the
            // authority where the string has it.
            let has_host = url.host().is_some()
                && uri
                    .split_once(':')
                    .and_then(|(_, rest)| rest.strip_prefix("//"))
                    .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
            if has_host {
                Ok(())
            } else {
                Err(RedirectUriError::NoHost)
            }
        }
        "http" => {
            let loopback = match url.host() {
                Some(Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
                Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
                Some(Host::Domain(name)) => name == "localhost",
                None => false,
            };
            if loopback {
                Ok(())
            } else {
                Err(RedirectUriError::HttpNotLoopback)
            }
        }
        // Private-use schemes of native apps look like a reversed domain (RFC 8252 7.1).
        scheme if scheme.contains('.') => match kind {
            ClientKind::Public => Ok(()),
            ClientKind::Confidential => Err(RedirectUriError::PrivateSchemeNotPublic),
        },
        _ => Err(RedirectUriError::UnknownScheme),
    }
}

/// Whether `origin` is a web origin as a browser serialises it (RFC 6454 6.1): `https` (or
/// `http` on a loopback host, as redirect URIs allow), a host, a port unless the default, and
/// nothing else. Compared as strings with the `Origin` header, so only that form is accepted.
fn is_web_origin(origin: &str) -> bool {
    check_redirect_uri(origin, ClientKind::Confidential).is_ok()
        && web_origin_of(origin).as_deref() == Some(origin)
}

/// The origin of an http(s) redirect URI; none for a native app's private-use scheme.
fn web_origin_of(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "https" | "http") {
        return None;
    }
    Some(url.origin().ascii_serialization()).filter(|origin| origin != "null")
}

/// An `@` in the authority, even one the parser would drop (`https://@host/`).
fn authority_has_at(uri: &str) -> bool {
    uri.split_once("://").is_some_and(|(_, rest)| {
        rest.split(['/', '?', '\\'])
            .next()
            .is_some_and(|authority| authority.contains('@'))
    })
}

fn dedupe<T: PartialEq>(values: Vec<T>) -> Vec<T> {
    let mut unique = Vec::with_capacity(values.len());
    for value in values {
        if !unique.contains(&value) {
            unique.push(value);
        }
    }
    unique
}

// --- registration limits ---------------------------------------------------------------
// They keep every item far below DynamoDB's 400 KB (the largest client they allow is about
// 120 KB: 32 redirect URIs of 2000 bytes, twice 200 scope names of 128 bytes) and the
// consent page readable. docs/security.md ("Limits") lists them.

pub const MAX_CLIENT_NAME_CHARS: usize = 200;
pub const MAX_REDIRECT_URIS: usize = 32;
pub const MAX_REDIRECT_URI_BYTES: usize = 2000;
/// For allowed scopes and for default scopes, each.
pub const MAX_CLIENT_SCOPES: usize = 200;

/// The display name of a client as registered: trimmed, then held to `check_client_name`.
pub fn client_name(value: &str) -> Result<String, String> {
    let name = value.trim();
    check_client_name(name)?;
    Ok(name.to_string())
}

/// Not blank, at most 200 characters, no control characters (it is shown on the consent page).
pub fn check_client_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the client name must not be empty".into());
    }
    if name.chars().count() > MAX_CLIENT_NAME_CHARS {
        return Err(format!(
            "the client name must be at most {MAX_CLIENT_NAME_CHARS} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the client name must not contain control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration() -> ClientRegistration {
        ClientRegistration {
            client_id: "app".into(),
            name: "App".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            allowed_scopes: ScopeSet::parse("read").unwrap_or_default(),
            default_scopes: ScopeSet::new(),
            kind: ClientKind::Confidential,
            secret_hash: Some("hash".into()),
            pkce_optional: false,
            allow_plain_pkce: false,
            grant_types: vec![GrantType::AuthorizationCode],
            resource_server: false,
            post_logout_redirect_uris: vec!["https://app.example/signed-out".into()],
            web_origins: Vec::new(),
            keys: None,
        }
    }

    fn public() -> ClientRegistration {
        ClientRegistration {
            kind: ClientKind::Public,
            secret_hash: None,
            ..registration()
        }
    }

    fn refusal(registration: ClientRegistration) -> String {
        match Client::register(registration) {
            Err(error) => error.to_string(),
            Ok(client) => panic!("accepted {client:?}"),
        }
    }

    fn scopes(count: usize) -> ScopeSet {
        (0..count)
            .filter_map(|i| ScopeToken::parse(&format!("scope{i}")))
            .collect()
    }

    #[test]
    fn a_clients_origins_are_its_redirect_uris_and_its_web_origins() {
        let Ok(client) = Client::register(ClientRegistration {
            redirect_uris: vec![
                "https://app.example/callback".into(),
                "https://APP.example:443/other?x=1".into(),
                "http://127.0.0.1:8080/cb".into(),
            ],
            web_origins: vec!["https://static.example:8443".into()],
            ..registration()
        }) else {
            panic!("refused")
        };
        for origin in [
            "https://app.example",
            "http://127.0.0.1:8080",
            "https://static.example:8443",
        ] {
            assert!(client.allows_origin(origin), "{origin}");
        }
        for origin in [
            "https://app.example/",
            "https://app.example:443",
            "http://app.example",
            "https://evil.example",
            "https://static.example",
            "null",
            "",
        ] {
            assert!(!client.allows_origin(origin), "{origin}");
        }
        assert_eq!(client.web_origins(), ["https://static.example:8443"]);
        // A native app's private-use scheme has no web origin.
        let Ok(native) = Client::register(ClientRegistration {
            redirect_uris: vec!["com.example.app:/callback".into()],
            ..public()
        }) else {
            panic!("refused")
        };
        assert!(!native.allows_origin("null"));
        assert!(!native.allows_origin("com.example.app:"));
    }

    #[test]
    fn a_web_origin_is_an_origin_as_browsers_send_it() {
        for origin in [
            "https://app.example/",
            "https://app.example/path",
            "https://App.example",
            "https://app.example:443",
            "https://app.example?x",
            "https://user@app.example",
            "http://app.example",
            "app.example",
            "*",
            "null",
            "com.example.app:",
        ] {
            let message = refusal(ClientRegistration {
                web_origins: vec![origin.into()],
                ..registration()
            });
            assert!(message.starts_with("web origin"), "{origin}: {message}");
        }
        for origin in [
            "https://app.example",
            "http://localhost:3000",
            "http://[::1]:5173",
        ] {
            assert!(
                Client::register(ClientRegistration {
                    web_origins: vec![origin.into()],
                    ..registration()
                })
                .is_ok(),
                "{origin}"
            );
        }
        let too_many = (0..=MAX_REDIRECT_URIS)
            .map(|i| format!("https://app{i}.example"))
            .collect();
        assert_eq!(
            refusal(ClientRegistration {
                web_origins: too_many,
                ..registration()
            }),
            format!("a client has at most {MAX_REDIRECT_URIS} web origins")
        );
    }

    #[test]
    fn client_names_are_trimmed_and_limited() {
        assert_eq!(client_name("  Shop  "), Ok("Shop".to_string()));
        assert!(client_name("   ").is_err());
        assert!(client_name("a\u{7}b").is_err());
        assert!(client_name(&"n".repeat(201)).is_err());
        // Characters, not bytes.
        assert!(client_name(&"\u{e9}".repeat(200)).is_ok());
    }

    #[test]
    fn a_registration_round_trips_and_only_a_confidential_client_has_its_options() {
        let confidential = ClientRegistration {
            pkce_optional: true,
            resource_server: true,
            ..registration()
        };
        let client = Client::register(confidential.clone());
        assert_eq!(client.as_ref().map(Client::registration), Ok(confidential));
        assert!(client.is_ok_and(|c| c.is_resource_server() && !c.requires_pkce()));
        let client = Client::register(public());
        assert!(client
            .as_ref()
            .is_ok_and(|c| c.client_type() == &ClientType::Public
                && c.requires_pkce()
                && !c.is_resource_server()));
        assert_eq!(client.map(|c| c.registration()), Ok(public()));
    }

    #[test]
    fn bad_combinations_are_refused() {
        for (registration, expected) in [
            (
                ClientRegistration {
                    secret_hash: Some("hash".into()),
                    ..public()
                },
                "client app is public: it has no secret",
            ),
            (
                ClientRegistration {
                    pkce_optional: true,
                    ..public()
                },
                "client app is public: public clients must use PKCE",
            ),
            (
                ClientRegistration {
                    resource_server: true,
                    ..public()
                },
                "client app is public: only a confidential client can introspect",
            ),
            (
                ClientRegistration {
                    secret_hash: None,
                    ..registration()
                },
                "a confidential client needs a secret",
            ),
            (
                ClientRegistration {
                    default_scopes: ScopeSet::parse("write").unwrap_or_default(),
                    ..registration()
                },
                "default scope write is not among the client's allowed scopes",
            ),
            (
                ClientRegistration {
                    grant_types: vec![GrantType::RefreshToken],
                    ..registration()
                },
                "a client needs the authorization_code grant",
            ),
            (
                ClientRegistration {
                    redirect_uris: Vec::new(),
                    ..registration()
                },
                "a client with the authorization_code grant needs --redirect-uri",
            ),
        ] {
            let message = refusal(registration);
            assert!(message.contains(expected), "{message}");
        }
        // private_key_jwt: keys in place of the secret, never beside it, never for a public
        // client; the keys themselves are held to `client_assertion`'s rules.
        let jwks = |key: serde_json::Value| {
            Some(ClientKeySource::Jwks(serde_json::json!({ "keys": [key] })))
        };
        let ec = serde_json::json!({"kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        let mut private = ec.clone();
        private["d"] = serde_json::json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
        for (registration, expected) in [
            (
                ClientRegistration {
                    keys: jwks(ec.clone()),
                    ..registration()
                },
                "not both",
            ),
            (
                ClientRegistration {
                    keys: jwks(ec.clone()),
                    ..public()
                },
                "only a confidential client authenticates with keys",
            ),
            (
                ClientRegistration {
                    secret_hash: None,
                    keys: jwks(private),
                    ..registration()
                },
                "private key",
            ),
            (
                ClientRegistration {
                    secret_hash: None,
                    keys: Some(ClientKeySource::JwksUri("http://keys.example/jwks".into())),
                    ..registration()
                },
                "https",
            ),
        ] {
            let message = refusal(registration);
            assert!(message.contains(expected), "{message}");
        }
        let with_keys = ClientRegistration {
            secret_hash: None,
            keys: jwks(ec),
            ..registration()
        };
        let client = Client::register(with_keys.clone());
        assert_eq!(client.as_ref().map(Client::registration), Ok(with_keys));
        assert_eq!(
            client.map(|c| c.token_endpoint_auth_method()),
            Ok("private_key_jwt")
        );
        // A resource server in no flow needs no redirect URI.
        assert!(Client::register(ClientRegistration {
            redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            resource_server: true,
            ..registration()
        })
        .is_ok());
    }

    #[test]
    fn clients_are_held_to_the_registration_limits() {
        let uris = |count: usize| -> Vec<String> {
            (0..count)
                .map(|i| format!("https://app.example/cb{i}"))
                .collect()
        };
        let longest_uri = format!("https://app.example/{}", "p".repeat(2000 - 20));
        assert_eq!(longest_uri.len(), MAX_REDIRECT_URI_BYTES);
        let largest = ClientRegistration {
            name: "n".repeat(MAX_CLIENT_NAME_CHARS),
            redirect_uris: [uris(MAX_REDIRECT_URIS - 1), vec![longest_uri.clone()]].concat(),
            allowed_scopes: scopes(MAX_CLIENT_SCOPES),
            default_scopes: scopes(MAX_CLIENT_SCOPES),
            ..registration()
        };
        assert!(Client::register(largest).is_ok());
        // Repeated URIs count once.
        let repeated = Client::register(ClientRegistration {
            redirect_uris: vec![longest_uri.clone(); 40],
            ..registration()
        });
        assert_eq!(repeated.map(|c| c.redirect_uris().len()), Ok(1));
        let rows: Vec<(ClientRegistration, &str)> = vec![
            (
                ClientRegistration {
                    client_id: String::new(),
                    ..registration()
                },
                "a client id is 1 to 64 characters",
            ),
            (
                ClientRegistration {
                    client_id: "x".repeat(3000),
                    ..registration()
                },
                "a client id is 1 to 64 characters",
            ),
            (
                ClientRegistration {
                    name: "n".repeat(201),
                    ..registration()
                },
                "at most 200 characters",
            ),
            (
                ClientRegistration {
                    redirect_uris: uris(33),
                    ..registration()
                },
                "at most 32 redirect URIs",
            ),
            (
                ClientRegistration {
                    redirect_uris: vec![format!("{longest_uri}x")],
                    ..registration()
                },
                "at most 2000 bytes",
            ),
            (
                ClientRegistration {
                    allowed_scopes: scopes(201),
                    ..registration()
                },
                "at most 200 allowed scopes",
            ),
            (
                ClientRegistration {
                    default_scopes: scopes(201),
                    ..registration()
                },
                "at most 200 default scopes",
            ),
        ];
        // A name over 128 characters cannot even enter a client's scopes: no `ScopeToken`
        // (wave2-scopes), so no registration can carry one.
        assert!(ScopeToken::parse(&"s".repeat(129)).is_none());
        assert!(ScopeSet::from_names([&*"s".repeat(129)]).is_none());
        for (registration, expected) in rows {
            let message = refusal(registration);
            assert!(message.contains(expected), "{message}");
        }
    }

    #[test]
    fn redirect_uris_that_registration_accepts() {
        for (uri, kind) in [
            ("https://app.example.com/cb", ClientKind::Confidential),
            (
                "https://app.example.com:8443/cb?x=1",
                ClientKind::Confidential,
            ),
            ("http://127.0.0.1:8765/callback", ClientKind::Confidential),
            ("http://127.0.0.1/cb", ClientKind::Public),
            ("http://[::1]:8765/cb", ClientKind::Public),
            ("http://localhost/cb", ClientKind::Confidential),
            ("com.example.app:/oauth", ClientKind::Public),
        ] {
            assert_eq!(check_redirect_uri(uri, kind), Ok(()), "{uri}");
        }
    }

    /// Each shape the string-prefix check let through or that RFC 8252 rules out (issue 12.7).
    #[test]
    fn redirect_uris_that_registration_refuses() {
        use RedirectUriError::*;
        for (uri, kind, expected) in [
            // The old loopback check saw `127.0.0.1:`; the browser goes to evil.example.
            (
                "http://127.0.0.1:80@evil.example/cb",
                ClientKind::Public,
                UserInfo,
            ),
            (
                "https://user@app.example/cb",
                ClientKind::Confidential,
                UserInfo,
            ),
            (
                "https://@app.example/cb",
                ClientKind::Confidential,
                UserInfo,
            ),
            (
                "http://localhost:1@evil.example",
                ClientKind::Public,
                UserInfo,
            ),
            (
                "https://app.example.com/cb#frag",
                ClientKind::Confidential,
                Fragment,
            ),
            (
                "https://app.example.com/cb#",
                ClientKind::Confidential,
                Fragment,
            ),
            (
                "http://app.example.com/cb",
                ClientKind::Confidential,
                HttpNotLoopback,
            ),
            (
                "http://127.0.0.1.evil.example/cb",
                ClientKind::Public,
                HttpNotLoopback,
            ),
            (
                "http://localhost.evil/cb",
                ClientKind::Public,
                HttpNotLoopback,
            ),
            (
                "http://localhost.evil.example/cb",
                ClientKind::Public,
                HttpNotLoopback,
            ),
            ("http://127.0.0.2/cb", ClientKind::Public, HttpNotLoopback),
            ("http://[::2]/cb", ClientKind::Public, HttpNotLoopback),
            (
                "com.example.app:/oauth",
                ClientKind::Confidential,
                PrivateSchemeNotPublic,
            ),
            ("/relative", ClientKind::Confidential, NotAbsolute),
            ("https:///nohost", ClientKind::Confidential, NoHost),
            ("javascript:alert(1)", ClientKind::Public, UnknownScheme),
            ("ftp://x", ClientKind::Confidential, UnknownScheme),
            ("https://a b", ClientKind::Confidential, LengthOrSpaces),
        ] {
            assert_eq!(check_redirect_uri(uri, kind), Err(expected), "{uri}");
        }
        let message = refusal(ClientRegistration {
            post_logout_redirect_uris: vec!["http://127.0.0.1:80@evil.example/out".into()],
            ..registration()
        });
        assert_eq!(
            message,
            "post-logout redirect URI \"http://127.0.0.1:80@evil.example/out\" is refused: \
             a redirect URI must not contain user information (user@ before the host)"
        );
        for uri in [
            "http://app.example/out",
            "https://app.example/out#x",
            "/out",
        ] {
            assert!(refusal(ClientRegistration {
                post_logout_redirect_uris: vec![uri.into()],
                ..registration()
            })
            .starts_with("post-logout redirect URI"));
        }
        let Ok(client) = Client::register(ClientRegistration {
            post_logout_redirect_uris: vec!["https://app.example/out".into(); 2],
            ..registration()
        }) else {
            panic!("a repeated post-logout redirect URI counts once")
        };
        assert_eq!(
            client.post_logout_redirect_uris(),
            ["https://app.example/out"]
        );
        assert!(client.allows_post_logout_redirect_uri("https://app.example/out"));
        assert!(!client.allows_post_logout_redirect_uri("https://app.example/out/"));
        assert!(!client.allows_post_logout_redirect_uri("https://APP.example/out"));
        let message = refusal(ClientRegistration {
            redirect_uris: vec!["http://127.0.0.1:80@evil.example/cb".into()],
            ..registration()
        });
        assert_eq!(
            message,
            "redirect URI \"http://127.0.0.1:80@evil.example/cb\" is refused: \
             a redirect URI must not contain user information (user@ before the host)"
        );
    }
}
