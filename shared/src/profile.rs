//! A user's profile: the standard claims of OpenID Connect Core 5.1 that a deployment keeps
//! (set by the operator with `authctl user create|update`), each checked where it is set,
//! so that what UserInfo and ID tokens carry is always well formed.

use serde::Serialize;
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

    #[test]
    fn claim_names_are_the_openid_connect_ones() {
        for claim in Claim::ALL {
            assert_eq!(Claim::parse(claim.as_str()), Some(claim));
        }
        assert_eq!(Claim::parse("sub"), None, "not a profile claim");
    }
}
