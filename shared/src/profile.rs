//! A user's profile: the standard claims of OpenID Connect Core 5.1 that a deployment keeps
//! (set by the operator with `authctl user create|update`), each checked where it is set,
//! so that what UserInfo and ID tokens carry is always well formed; and which of them a
//! grant's scopes release (`claims_for`, Core 5.4).

use crate::model::{Account, ScopeSet};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// The longest text claim: names and the like. Plenty for a display name, small for an item.
pub const MAX_TEXT_CLAIM_CHARS: usize = 256;
/// RFC 5321 4.5.3.1.3: a path holds at most 256 octets, an address at most 254.
pub const MAX_EMAIL_BYTES: usize = 254;
pub const MAX_PICTURE_URL_BYTES: usize = 2048;

/// The claims a profile holds, by their OpenID Connect names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Claim {
    Name,
    GivenName,
    FamilyName,
    PreferredUsername,
    Email,
    EmailVerified,
    Locale,
    Picture,
}

impl Claim {
    pub const ALL: [Claim; 8] = [
        Claim::Name,
        Claim::GivenName,
        Claim::FamilyName,
        Claim::PreferredUsername,
        Claim::Email,
        Claim::EmailVerified,
        Claim::Locale,
        Claim::Picture,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Claim::Name => "name",
            Claim::GivenName => "given_name",
            Claim::FamilyName => "family_name",
            Claim::PreferredUsername => "preferred_username",
            Claim::Email => "email",
            Claim::EmailVerified => "email_verified",
            Claim::Locale => "locale",
            Claim::Picture => "picture",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Claim::ALL.into_iter().find(|claim| claim.as_str() == name)
    }

    /// The scope that releases the claim (OpenID Connect Core 5.4).
    pub fn scope(self) -> &'static str {
        match self {
            Claim::Email | Claim::EmailVerified => "email",
            Claim::Name
            | Claim::GivenName
            | Claim::FamilyName
            | Claim::PreferredUsername
            | Claim::Locale
            | Claim::Picture => "profile",
        }
    }
}

/// `updated_at` (Core 5.1): when the profile last changed, released with `profile`.
pub const UPDATED_AT: &str = "updated_at";

/// Every claim this provider asserts, for discovery's `claims_supported`: the ID token's
/// (Core 2, and `sid` of Front-/Back-Channel Logout), then the user's by scope.
pub const SUPPORTED_CLAIMS: [&str; 18] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "at_hash",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "picture",
    "locale",
    UPDATED_AT,
    "email",
    "email_verified",
];

/// The claims about the account that the granted scopes release (Core 5.4), as UserInfo
/// answers them (Core 5.3.2): always `sub`; with `profile`, the profile's claims that are
/// set and `updated_at`; with `email`, `email` and `email_verified` when set. Nothing else:
/// a scope this provider does not know (`address`, `phone`) releases nothing.
pub fn claims_for(scopes: &ScopeSet, account: &Account) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), Value::String(account.sub.clone()));
    let profile = &account.profile;
    for claim in Claim::ALL
        .into_iter()
        .filter(|claim| scopes.contains(claim.scope()))
    {
        let value = match claim {
            Claim::EmailVerified => profile.email_verified.map(Value::Bool),
            text => profile.text(text).map(|v| Value::String(v.to_string())),
        };
        if let Some(value) = value {
            claims.insert(claim.as_str().into(), value);
        }
    }
    if scopes.contains("profile") {
        claims.insert(UPDATED_AT.into(), Value::from(account.updated_at));
    }
    claims
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a claim's value was refused: the text authctl prints.
#[derive(Debug, PartialEq, Eq)]
pub struct ClaimError {
    pub claim: Claim,
    pub rule: &'static str,
}

impl fmt::Display for ClaimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.claim, self.rule)
    }
}

impl std::error::Error for ClaimError {}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Profile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the operator checked that the address is the user's; meaningless without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// A BCP 47 language tag, e.g. `en-US`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// An `https` URL of the user's picture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}

impl Profile {
    /// Sets one claim from its text form (`email_verified`: `true` or `false`), if it is well formed.
    pub fn set(&mut self, claim: Claim, value: &str) -> Result<(), ClaimError> {
        let refuse = |rule| ClaimError { claim, rule };
        if claim == Claim::EmailVerified {
            self.email_verified = Some(match value {
                "true" => true,
                "false" => false,
                _ => return Err(refuse("must be true or false")),
            });
            return Ok(());
        }
        check(claim, value).map_err(refuse)?;
        if let Some(field) = self.text_mut(claim) {
            *field = Some(value.to_string());
        }
        Ok(())
    }

    pub fn unset(&mut self, claim: Claim) {
        match self.text_mut(claim) {
            Some(field) => *field = None,
            None => self.email_verified = None,
        }
    }

    /// A text claim's value (`email_verified` is not text: see the field).
    pub fn text(&self, claim: Claim) -> Option<&str> {
        match claim {
            Claim::Name => self.name.as_deref(),
            Claim::GivenName => self.given_name.as_deref(),
            Claim::FamilyName => self.family_name.as_deref(),
            Claim::PreferredUsername => self.preferred_username.as_deref(),
            Claim::Email => self.email.as_deref(),
            Claim::Locale => self.locale.as_deref(),
            Claim::Picture => self.picture.as_deref(),
            Claim::EmailVerified => None,
        }
    }

    fn text_mut(&mut self, claim: Claim) -> Option<&mut Option<String>> {
        Some(match claim {
            Claim::Name => &mut self.name,
            Claim::GivenName => &mut self.given_name,
            Claim::FamilyName => &mut self.family_name,
            Claim::PreferredUsername => &mut self.preferred_username,
            Claim::Email => &mut self.email,
            Claim::Locale => &mut self.locale,
            Claim::Picture => &mut self.picture,
            Claim::EmailVerified => return None,
        })
    }
}

/// The rule of a text claim's value.
fn check(claim: Claim, value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("must not be empty (unset it instead)");
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    match claim {
        Claim::Email => is_email(value)
            .then_some(())
            .ok_or("must be an address like name@example.com, at most 254 bytes"),
        Claim::Locale => is_language_tag(value)
            .then_some(())
            .ok_or("must be a BCP 47 language tag like en or en-US"),
        Claim::Picture => is_https_url(value)
            .then_some(())
            .ok_or("must be an https URL of at most 2048 bytes"),
        _ if value.chars().count() > MAX_TEXT_CLAIM_CHARS => Err("must be at most 256 characters"),
        _ => Ok(()),
    }
}

/// One `@` between a non-empty local part and a domain with a dot; no spaces. Deliverability
/// is the operator's to check (`email_verified`).
fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    value.len() <= MAX_EMAIL_BYTES
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(char::is_whitespace)
        && !domain.contains('@')
}

/// `language(-subtag)*`: 2 to 8 letters, then subtags of 1 to 8 letters or digits (RFC 5646's shape).
fn is_language_tag(value: &str) -> bool {
    let mut parts = value.split('-');
    let language_ok = parts
        .next()
        .is_some_and(|p| (2..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    language_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn is_https_url(value: &str) -> bool {
    value.len() <= MAX_PICTURE_URL_BYTES
        && url::Url::parse(value).is_ok_and(|url| {
            url.scheme() == "https" && url.host().is_some() && url.username().is_empty()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_set_when_well_formed_and_refused_otherwise() {
        // `full_profile` sets every claim, each asserted to be accepted.
        let mut profile = full_profile();
        assert_eq!(profile.email_verified, Some(true));
        assert_eq!(profile.text(Claim::Locale), Some("en-US"));
        for (claim, value) in [
            (Claim::Name, ""),
            (Claim::Name, "a\u{1b}[31m"),
            (Claim::Name, &"n".repeat(257)),
            (Claim::Email, "alice"),
            (Claim::Email, "alice@localhost"),
            (Claim::Email, "a b@example.com"),
            (Claim::Email, "a@b@example.com"),
            (Claim::EmailVerified, "yes"),
            (Claim::Locale, "english please"),
            (Claim::Locale, "e"),
            (Claim::Picture, "http://example.com/a.png"),
            (Claim::Picture, "javascript:alert(1)"),
            (Claim::Picture, "https://user@example.com/a.png"),
        ] {
            let before = profile.clone();
            assert!(profile.set(claim, value).is_err(), "{claim} = {value:?}");
            assert_eq!(profile, before, "a refused value changes nothing");
        }
        profile.unset(Claim::Email);
        profile.unset(Claim::EmailVerified);
        assert_eq!(
            (profile.email.as_deref(), profile.email_verified),
            (None, None)
        );
    }

    fn account(profile: Profile) -> Account {
        Account {
            sub: "sub-1".into(),
            username: "alice".into(),
            sessions_ended_at_ms: 0,
            profile,
            updated_at: 1_700_000_000,
        }
    }

    fn scopes(names: &str) -> ScopeSet {
        ScopeSet::parse(names).unwrap_or_default()
    }

    fn full_profile() -> Profile {
        let mut profile = Profile::default();
        for (claim, value) in [
            (Claim::Name, "Alice Example"),
            (Claim::GivenName, "Alice"),
            (Claim::FamilyName, "Example"),
            (Claim::PreferredUsername, "alice"),
            (Claim::Email, "alice@example.com"),
            (Claim::EmailVerified, "true"),
            (Claim::Locale, "en-US"),
            (Claim::Picture, "https://example.com/alice.png"),
        ] {
            assert_eq!(profile.set(claim, value), Ok(()), "{claim}");
        }
        profile
    }

    /// OpenID Connect Core 5.4: `profile` and `email` release their claims, `sub` is always there.
    #[test]
    fn scopes_release_their_claims_and_sub_always() {
        let alice = account(full_profile());
        let json = |names| Value::Object(claims_for(&scopes(names), &alice));
        assert_eq!(json("openid"), serde_json::json!({"sub": "sub-1"}));
        assert_eq!(
            json("openid profile"),
            serde_json::json!({
                "sub": "sub-1",
                "name": "Alice Example",
                "given_name": "Alice",
                "family_name": "Example",
                "preferred_username": "alice",
                "locale": "en-US",
                "picture": "https://example.com/alice.png",
                "updated_at": 1_700_000_000,
            })
        );
        assert_eq!(
            json("openid email"),
            serde_json::json!({
                "sub": "sub-1",
                "email": "alice@example.com",
                "email_verified": true,
            })
        );
        let everything = json("openid profile email address phone read");
        assert_eq!(
            everything.as_object().map(Map::len),
            Some(1 + Claim::ALL.len() + 1),
            "{everything}"
        );
    }

    /// Claims that are not set are left out, except `updated_at`, which `profile` always has.
    #[test]
    fn unset_claims_are_left_out() {
        let mut profile = Profile::default();
        assert_eq!(profile.set(Claim::Email, "a@example.com"), Ok(()));
        let claims = claims_for(&scopes("openid profile email"), &account(profile));
        assert_eq!(
            Value::Object(claims),
            serde_json::json!({
                "sub": "sub-1",
                "updated_at": 1_700_000_000,
                "email": "a@example.com",
            })
        );
    }

    #[test]
    fn every_claim_released_is_supported() {
        let released = claims_for(&scopes("profile email"), &account(full_profile()));
        for name in released.keys() {
            assert!(SUPPORTED_CLAIMS.contains(&name.as_str()), "{name}");
        }
        for claim in Claim::ALL {
            assert!(SUPPORTED_CLAIMS.contains(&claim.as_str()), "{claim}");
        }
    }

    #[test]
    fn claim_names_are_the_openid_connect_ones() {
        for claim in Claim::ALL {
            assert_eq!(Claim::parse(claim.as_str()), Some(claim));
        }
        assert_eq!(Claim::parse("sub"), None, "not a profile claim");
    }
}
