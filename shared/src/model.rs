//! The domain's records. Storage converts DynamoDB items to and from these; nothing
//! outside `store` sees an attribute map.

pub use crate::client::{
    check_client_name, client_name, Client, ClientCredential, ClientKeySource, ClientKeys,
    ClientKind, ClientRegistration, ClientRuleError, ClientType,
};
use serde::Serialize;

pub use crate::profile::Profile;
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
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    /// RFC 6749 4.4: a confidential client's own access token, for no user.
    ClientCredentials,
}

impl GrantType {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            _ => None,
        }
    }
}

// --- registration limits ---------------------------------------------------------------
// Clients' are in `client`; docs/security.md ("Limits") lists them all.

pub const MAX_SCOPE_DESCRIPTION_CHARS: usize = 1000;

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

/// A user's sign-in record, found by username (login).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub username: String,
    /// Stable subject identifier (`sub`), independent of the username: random, never reused.
    pub sub: String,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// A user as the functions find them by `sub` (the session cookie and the tokens name the
/// `sub`, not the username): that the user still exists, from when their sessions count,
/// and their profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub sub: String,
    pub username: String,
    /// Milliseconds since the Unix epoch: sessions that began at or before it were ended by
    /// the operator (`authctl session revoke`, a new password); 0 when none were.
    pub sessions_ended_at_ms: i64,
    pub profile: Profile,
    /// Seconds since the Unix epoch when the profile last changed (OIDC's `updated_at`).
    pub updated_at: i64,
}

impl Account {
    /// The account of a new user: none of its sessions were ended.
    pub fn new(user: &User, profile: Profile, created_at: i64) -> Self {
        Account {
            sub: user.sub.clone(),
            username: user.username.clone(),
            sessions_ended_at_ms: 0,
            profile,
            updated_at: created_at,
        }
    }

    /// Whether this session of the account's user still counts: it began after the
    /// operator last ended the user's sessions.
    pub fn admits(&self, session: &Session) -> bool {
        session.sub == self.sub && session.signed_in_at_ms > self.sessions_ended_at_ms
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the session id held by the browser's cookie.
    pub id_hash: String,
    pub sub: String,
    pub username: String,
    /// Milliseconds since the Unix epoch when the password was checked (OIDC's `auth_time`).
    pub signed_in_at_ms: i64,
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
    /// The grant (`TokenFamily`) that the redemption started, in the same transaction:
    /// revoked if the code is replayed, which ends every token issued under it.
    pub issued_family: Option<String>,
    /// The authorization request's `nonce` (OpenID Connect), echoed in the ID token.
    pub nonce: Option<String>,
    /// The sign-in the user approved with: the ID token's `auth_time` and `sid`. Every code
    /// issued since OpenID Connect has one; `None` only for a code stored before.
    pub authentication: Option<Authentication>,
    /// The APIs (RFC 8707 resources) the user authorized, the tokens' `aud`; empty for the
    /// default audience.
    pub resources: Vec<String>,
}

/// The sign-in a grant stands on, as ID tokens tell it (OpenID Connect Core 2): when the
/// user entered their password (`auth_time`, seconds since the Unix epoch: the session's
/// `signed_in_at_ms`) and the session they did it in (`sid`, `session::sid`). Carried by the
/// code, then by the grant and its refresh tokens, so that a refreshed ID token tells the
/// same sign-in (OpenID Connect Core 12.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authentication {
    pub auth_time: i64,
    pub sid: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_descriptions_are_limited() {
        assert!(check_scope_description(&"d".repeat(1000)).is_ok());
        assert!(check_scope_description(&"d".repeat(1001))
            .is_err_and(|e| e.contains("at most 1000 characters")));
        assert!(check_scope_description("a\u{1b}[31m").is_err());
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
    /// The grant's sign-in, copied to every successor: a refreshed ID token's `auth_time`
    /// and `sid`. `None` for a token of a grant started before OpenID Connect.
    pub authentication: Option<Authentication>,
    /// The grant's APIs (RFC 8707), copied to every successor: a refresh may name fewer.
    pub resources: Vec<String>,
}

impl RefreshToken {
    /// What this token, as read, is when `client_id` presents it at `now`: reuse is told
    /// before expiry, so that a spent token presented late still revokes its family.
    pub fn presented_by(self, client_id: &str, now: i64) -> crate::store::RefreshUse {
        use crate::store::RefreshUse;
        if self.client_id != client_id {
            RefreshUse::Invalid
        } else if self.used_at.is_some() || self.revoked {
            RefreshUse::Reused(self)
        } else if self.expires_at <= now {
            RefreshUse::Invalid
        } else {
            RefreshUse::Accepted(self)
        }
    }
}

/// The grant: what one code redemption started, created in the same transaction as the
/// redemption, whether or not the client gets a refresh token. Every access token issued
/// under it carries its id (the `gid` claim, `tokens::GRANT_ID_CLAIM`), and so does every
/// refresh token of its rotation chain (RFC 9700 4.14), so that revoking it ends them all
/// (RFC 7009 2.1): introspection reads it with the token's `jti`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenFamily {
    pub family_id: String,
    pub client_id: String,
    pub sub: String,
    /// When the last token issued under the grant expires, and the item with it: the refresh
    /// tokens' absolute end (`RefreshToken::family_expires_at`, which no rotation extends)
    /// plus one access token lifetime, or one access token lifetime for a grant without
    /// refresh tokens. A grant that is gone is no grant: its tokens are inactive.
    pub expires_at: i64,
    /// Hash of the one refresh token that may be used next; `None` when the client was
    /// given no refresh token.
    pub current: Option<String>,
    pub revoked: bool,
    /// The sign-in the grant stands on (`auth_time`, `sid`), as the code carried it.
    pub authentication: Option<Authentication>,
}

impl TokenFamily {
    /// Whether tokens issued under the grant may still be honoured at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        !self.revoked && self.expires_at > now
    }
}
