//! The domain's records. Storage converts DynamoDB items to and from these; nothing
//! outside `store` sees an attribute map.

use crate::ids;
use serde::Serialize;

pub use crate::scope::{ScopeSet, ScopeToken};

/// An entry of the scope catalogue that operators manage with `authctl scope`: a name and
/// what it lets a client do (not a `ScopeToken`, which is the name alone).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Scope {
    pub name: String,
    pub description: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientKind {
    /// Has a secret and authenticates at the token endpoint.
    Confidential,
    /// Cannot keep a secret (browser or native app): must use PKCE.
    Public,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Client {
    pub client_id: String,
    pub name: String,
    /// Compared by exact string equality (RFC 9700 2.1).
    pub redirect_uris: Vec<String>,
    pub allowed_scopes: ScopeSet,
    /// Granted when an authorization request names no scope.
    pub default_scopes: ScopeSet,
    pub kind: ClientKind,
    /// SHA-256 of the client secret (confidential clients only). The secret is
    /// 256 random bits, so a fast hash is as strong as a slow one here.
    #[serde(skip)]
    pub secret_hash: Option<String>,
    /// PKCE is required unless this is set (confidential clients only, RFC 9700 2.1.1).
    pub pkce_optional: bool,
    /// Accept `code_challenge_method=plain` (off unless explicitly configured, RFC 7636 4.2).
    pub allow_plain_pkce: bool,
    pub grant_types: Vec<GrantType>,
    /// An API that checks bearer tokens: it may introspect access tokens issued to any
    /// client (RFC 7662 4), not only its own. Confidential clients only.
    pub resource_server: bool,
}

impl Client {
    pub fn requires_pkce(&self) -> bool {
        self.kind == ClientKind::Public || !self.pkce_optional
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// Checks a redirect URI for registration (RFC 6749 3.1.2, RFC 8252): absolute,
/// no fragment, `https`, or `http` on a loopback host, or a private-use scheme for native apps.
pub fn validate_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_REDIRECT_URI_BYTES
        || uri.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "a redirect URI must be at most {MAX_REDIRECT_URI_BYTES} bytes without spaces"
        ));
    }
    if uri.contains('#') {
        return Err("a redirect URI must not contain a fragment (RFC 6749 3.1.2)".into());
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err("a redirect URI must be absolute".into());
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return Err("a redirect URI must start with a valid scheme".into());
    }
    match scheme {
        "https" => match rest.strip_prefix("//") {
            Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(()),
            _ => Err("an https redirect URI needs a host".into()),
        },
        "http" => {
            let host = rest.strip_prefix("//").unwrap_or("");
            let loopback = ["127.0.0.1", "localhost", "[::1]"].iter().any(|h| {
                host == *h
                    || host.starts_with(&format!("{h}:"))
                    || host.starts_with(&format!("{h}/"))
            });
            if loopback {
                Ok(())
            } else {
                Err(
                    "plain http redirect URIs are allowed only on loopback hosts (RFC 8252 7.3)"
                        .into(),
                )
            }
        }
        // Private-use schemes of native apps must look like a reversed domain (RFC 8252 7.1).
        other if other.contains('.') => Ok(()),
        _ => Err(
            "a redirect URI must use https, loopback http, or a reversed-domain private-use scheme"
                .into(),
        ),
    }
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
pub const MAX_SCOPE_DESCRIPTION_CHARS: usize = 1000;

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

/// A scope's description, shown on the consent page: at most 1000 characters, no control characters.
pub fn check_scope_description(description: &str) -> Result<(), String> {
    if description.chars().count() > MAX_SCOPE_DESCRIPTION_CHARS {
        return Err(format!(
            "the description must be at most {MAX_SCOPE_DESCRIPTION_CHARS} characters"
        ));
    }
    if description.chars().any(char::is_control) {
        return Err("the description must not contain control characters".into());
    }
    Ok(())
}

/// Each URI passes `validate_redirect_uri`; the error names the first that does not.
pub fn check_redirect_uris(uris: &[String]) -> Result<(), String> {
    for uri in uris {
        validate_redirect_uri(uri)
            .map_err(|why| format!("redirect URI {uri:?} is refused: {why}"))?;
    }
    Ok(())
}

/// The registration rules and limits a client must meet before it is stored.
pub fn validate_client(client: &Client) -> Result<(), String> {
    if !ids::is_client_id(&client.client_id) {
        return Err(format!(
            "a client id is 1 to {} characters of A-Z a-z 0-9 . _ -",
            ids::MAX_CLIENT_ID_LEN
        ));
    }
    check_client_name(&client.name)?;
    if client.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(format!(
            "a client has at most {MAX_REDIRECT_URIS} redirect URIs"
        ));
    }
    check_redirect_uris(&client.redirect_uris)?;
    for (scopes, what) in [
        (&client.allowed_scopes, "allowed"),
        (&client.default_scopes, "default"),
    ] {
        if scopes.len() > MAX_CLIENT_SCOPES {
            return Err(format!(
                "a client has at most {MAX_CLIENT_SCOPES} {what} scopes"
            ));
        }
        // Each name is a `ScopeToken`: checked when it was parsed.
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub username: String,
    /// Stable subject identifier (`sub`), independent of the username.
    pub sub: String,
    /// argon2id PHC string.
    pub password_hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the session id held by the browser's cookie.
    pub id_hash: String,
    pub sub: String,
    pub username: String,
    pub expires_at: i64,
}

/// A user's standing approval of scopes for a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Consent {
    pub sub: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub expires_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkceMethod {
    S256,
    Plain,
}

impl PkceMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PkceMethod::S256 => "S256",
            PkceMethod::Plain => "plain",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "S256" => Some(PkceMethod::S256),
            "plain" => Some(PkceMethod::Plain),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PkceChallenge {
    pub challenge: String,
    pub method: PkceMethod,
}

/// What an authorization code stands for: stored under the code's hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub code_hash: String,
    pub client_id: String,
    /// The redirect URI of the authorization request, `None` when it was omitted
    /// (then the token request must omit it too, RFC 6749 4.1.3).
    pub redirect_uri: Option<String>,
    pub sub: String,
    pub scopes: ScopeSet,
    pub pkce: Option<PkceChallenge>,
    pub expires_at: i64,
    /// Set once the code has been redeemed: the marker that tells reuse apart.
    pub redeemed_at: Option<i64>,
    /// `jti` of the access token issued at redemption, revoked if the code is replayed.
    pub issued_jti: Option<String>,
    /// Refresh token family issued at redemption, revoked if the code is replayed.
    pub issued_family: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_are_trimmed_and_limited() {
        assert_eq!(client_name("  Shop  "), Ok("Shop".to_string()));
        assert!(client_name("   ").is_err());
        assert!(client_name("a\u{7}b").is_err());
        assert!(client_name(&"n".repeat(201)).is_err());
        // Characters, not bytes.
        assert!(client_name(&"\u{e9}".repeat(200)).is_ok());
    }

    fn registered() -> Client {
        Client {
            client_id: "app".into(),
            name: "App".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            allowed_scopes: ScopeSet::parse("read").unwrap_or_default(),
            default_scopes: ScopeSet::new(),
            kind: ClientKind::Confidential,
            secret_hash: None,
            pkce_optional: false,
            allow_plain_pkce: false,
            grant_types: vec![GrantType::AuthorizationCode],
            resource_server: false,
        }
    }

    fn scopes(count: usize) -> ScopeSet {
        (0..count)
            .filter_map(|i| ScopeToken::parse(&format!("scope{i}")))
            .collect()
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
        let largest = Client {
            name: "n".repeat(MAX_CLIENT_NAME_CHARS),
            redirect_uris: vec![longest_uri.clone(); MAX_REDIRECT_URIS],
            allowed_scopes: scopes(MAX_CLIENT_SCOPES),
            default_scopes: scopes(MAX_CLIENT_SCOPES),
            ..registered()
        };
        assert_eq!(validate_client(&largest), Ok(()));
        assert_eq!(validate_client(&registered()), Ok(()));
        let rows: Vec<(Client, &str)> = vec![
            (
                Client {
                    client_id: String::new(),
                    ..registered()
                },
                "a client id is 1 to 64 characters",
            ),
            (
                Client {
                    client_id: "x".repeat(3000),
                    ..registered()
                },
                "a client id is 1 to 64 characters",
            ),
            (
                Client {
                    name: "n".repeat(201),
                    ..registered()
                },
                "at most 200 characters",
            ),
            (
                Client {
                    redirect_uris: uris(33),
                    ..registered()
                },
                "at most 32 redirect URIs",
            ),
            (
                Client {
                    redirect_uris: vec![format!("{longest_uri}x")],
                    ..registered()
                },
                "at most 2000 bytes",
            ),
            (
                Client {
                    allowed_scopes: scopes(201),
                    ..registered()
                },
                "at most 200 allowed scopes",
            ),
            (
                Client {
                    default_scopes: scopes(201),
                    ..registered()
                },
                "at most 200 default scopes",
            ),
        ];
        // A name over 128 characters cannot even enter a client's scopes.
        assert!(ScopeSet::from_names([&*"s".repeat(129)]).is_none());
        for (client, expected) in rows {
            match validate_client(&client) {
                Err(message) => assert!(message.contains(expected), "{message}"),
                Ok(()) => panic!("accepted, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn scope_descriptions_are_limited() {
        assert!(check_scope_description(&"d".repeat(1000)).is_ok());
        assert!(check_scope_description(&"d".repeat(1001))
            .is_err_and(|e| e.contains("at most 1000 characters")));
        assert!(check_scope_description("a\u{1b}[31m").is_err());
    }

    #[test]
    fn redirect_uri_registration_rules() {
        for good in [
            "https://app.example.com/cb",
            "http://127.0.0.1:8765/callback",
            "http://localhost/cb",
            "com.example.app:/oauth",
        ] {
            assert!(validate_redirect_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#frag",
            "/relative",
            "https:///nohost",
            "javascript:alert(1)",
            "http://localhost.evil.example/cb",
            "https://a b",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}

/// A refresh token: stored under its hash, one live token per family at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    pub token_hash: String,
    pub family_id: String,
    pub client_id: String,
    pub sub: String,
    pub scopes: ScopeSet,
    pub issued_at: i64,
    /// The earlier of the idle and the family's absolute expiry.
    pub expires_at: i64,
    /// The family's absolute expiry, which no rotation extends.
    pub family_expires_at: i64,
    /// Set when the token was exchanged for its successor: a second use is reuse.
    pub used_at: Option<i64>,
    pub revoked: bool,
}

/// A chain of rotated refresh tokens from one authorization (RFC 9700 4.14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenFamily {
    pub family_id: String,
    pub client_id: String,
    pub sub: String,
    /// Absolute end of the family: no rotation extends it.
    pub expires_at: i64,
    /// Hash of the one token of the family that may be used next.
    pub current: String,
    pub revoked: bool,
}
