//! The domain's records. Storage converts DynamoDB items to and from these; nothing
//! outside `store` sees an attribute map.

use serde::Serialize;
use std::collections::BTreeSet;

/// An OAuth scope of the catalogue that operators manage with `authctl scope`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Scope {
    pub name: String,
    pub description: String,
}

/// A set of scope names (RFC 6749 3.3), ordered so that its string form is stable.
pub type ScopeSet = BTreeSet<String>;

/// Parses a space-separated `scope` parameter. `None` when a name is not a valid
/// scope token (RFC 6749 3.3: `%x21 / %x23-5B / %x5D-7E`).
pub fn parse_scope(value: &str) -> Option<ScopeSet> {
    let mut scopes = ScopeSet::new();
    for name in value.split(' ').filter(|s| !s.is_empty()) {
        if !is_scope_token(name) {
            return None;
        }
        scopes.insert(name.to_string());
    }
    Some(scopes)
}

pub fn is_scope_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

pub fn scope_string(scopes: &ScopeSet) -> String {
    scopes.iter().cloned().collect::<Vec<_>>().join(" ")
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
    if uri.len() > 2000 || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a redirect URI must be at most 2000 characters without spaces".into());
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
    fn scope_parsing_follows_rfc_6749_3_3() {
        let parsed = parse_scope("read  write read").unwrap_or_default();
        assert_eq!(scope_string(&parsed), "read write");
        assert!(parse_scope("bad\"quote").is_none());
        assert!(parse_scope("back\\slash").is_none());
        assert!(parse_scope("caf\u{e9}").is_none());
        assert_eq!(parse_scope("").map(|s| s.len()), Some(0));
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
