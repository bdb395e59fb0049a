//! Scope names and sets (RFC 6749 3.3). A `ScopeToken` is built only by a checked parse,
//! so a set of them never holds a name that a request or a stored item could not carry.
//! `model::Scope` is something else: a catalogue entry (a name with its description).

use crate::ids;
use serde::{Serialize, Serializer};
use std::collections::BTreeSet;
use std::fmt;

/// The scopes of OpenID Connect (Core 5.4, and `openid` of 3.1.2.1), part of every
/// deployment's catalogue (`authctl init` stores them; `authctl scope delete` refuses them):
/// `openid` makes an authorization request an OpenID request; `profile` and `email` ask for
/// those claims of the user's profile. The descriptions are what the consent page shows.
pub const OPENID_CONNECT_SCOPES: [(&str, &str); 3] = [
    ("openid", "Sign you in with your account"),
    ("profile", "See your name, username, picture and language"),
    ("email", "See your email address"),
];

/// The scope that makes a request an OpenID request (Core 3.1.2.1): its grant gets ID tokens.
pub const OPENID: &str = "openid";

/// Whether the scope is one of OpenID Connect's, which every deployment keeps.
pub fn is_openid_connect_scope(name: &str) -> bool {
    OPENID_CONNECT_SCOPES
        .iter()
        .any(|(scope, _)| *scope == name)
}

/// One scope name: `1*( %x21 / %x23-5B / %x5D-7E )`, at most `ids::MAX_SCOPE_NAME_LEN`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScopeToken(String);

impl ScopeToken {
    /// `None` unless the value is a scope token (the rule of `ids::is_scope_name`).
    pub fn parse(value: &str) -> Option<Self> {
        ids::is_scope_name(value).then(|| ScopeToken(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ScopeToken {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

// Lets a set be searched with a `&str`; `Ord` of the inner `String` keeps it consistent.
impl std::borrow::Borrow<str> for ScopeToken {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ScopeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ScopeToken {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A set of scope tokens, ordered so that its string form is stable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ScopeSet(BTreeSet<ScopeToken>);

impl ScopeSet {
    pub fn new() -> Self {
        ScopeSet::default()
    }

    /// Parses a space-separated `scope` parameter; runs of spaces separate like one.
    /// `None` when a name is not a valid scope token.
    pub fn parse(value: &str) -> Option<Self> {
        value
            .split(' ')
            .filter(|name| !name.is_empty())
            .map(ScopeToken::parse)
            .collect()
    }

    /// Each name checked; `None` names the set invalid as a whole (stored lists, arguments).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        names.into_iter().map(ScopeToken::parse).collect()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn insert(&mut self, token: ScopeToken) -> bool {
        self.0.insert(token)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ScopeToken> {
        self.0.iter()
    }

    /// The names in either set.
    pub fn union<'a>(&'a self, other: &'a ScopeSet) -> impl Iterator<Item = &'a ScopeToken> {
        self.0.union(&other.0)
    }

    /// The names in `self` and not in `other`.
    pub fn difference<'a>(&'a self, other: &'a ScopeSet) -> impl Iterator<Item = &'a ScopeToken> {
        self.0.difference(&other.0)
    }
}

/// The `scope` parameter's form: names joined by single spaces.
impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut separator = "";
        for token in &self.0 {
            write!(f, "{separator}{token}")?;
            separator = " ";
        }
        Ok(())
    }
}

impl FromIterator<ScopeToken> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = ScopeToken>>(tokens: I) -> Self {
        ScopeSet(tokens.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a ScopeToken;
    type IntoIter = std::collections::btree_set::Iter<'a, ScopeToken>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for ScopeSet {
    type Item = ScopeToken;
    type IntoIter = std::collections::btree_set::IntoIter<ScopeToken>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_parsing_follows_rfc_6749_3_3() {
        let parsed = ScopeSet::parse("read  write read").unwrap_or_default();
        assert_eq!(parsed.to_string(), "read write");
        assert!(ScopeSet::parse("bad\"quote").is_none());
        assert!(ScopeSet::parse("back\\slash").is_none());
        assert!(ScopeSet::parse("caf\u{e9}").is_none());
        assert_eq!(ScopeSet::parse("").map(|s| s.len()), Some(0));
    }

    #[test]
    fn tokens_exist_only_when_valid() {
        assert!(ScopeToken::parse("orders:read").is_some());
        assert!(ScopeToken::parse("").is_none());
        assert!(ScopeToken::parse("a b").is_none());
        assert!(ScopeToken::parse(&"s".repeat(ids::MAX_SCOPE_NAME_LEN)).is_some());
        assert!(ScopeToken::parse(&"s".repeat(ids::MAX_SCOPE_NAME_LEN + 1)).is_none());
        assert!(ScopeSet::from_names(["read", ""]).is_none());
    }

    #[test]
    fn sets_compare_and_serialize_as_names() {
        let read = ScopeSet::parse("read").unwrap_or_default();
        let both = ScopeSet::parse("write read").unwrap_or_default();
        assert!(read.is_subset(&both) && !both.is_subset(&read));
        assert!(both.contains("write") && !read.contains("write"));
        let names: Vec<&str> = both.difference(&read).map(ScopeToken::as_str).collect();
        assert_eq!(names, ["write"]);
        assert_eq!(
            serde_json::to_string(&both).unwrap_or_default(),
            r#"["read","write"]"#
        );
    }
}
