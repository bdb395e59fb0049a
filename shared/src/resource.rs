//! APIs as audiences (RFC 8707 resource indicators). An operator registers each API that
//! accepts this server's tokens (`authctl resource create https://api.example.com --scope
//! orders:read`), naming the scopes it accepts. A request's `resource` parameters (authorize,
//! token, client credentials) name the APIs its access tokens are for: the tokens' `aud`.
//! Without `resource`, tokens are for the configured default audience, as before.
//!
//! The rules (`select`): every `resource` must be a registered API (`invalid_target`); a
//! scope the client asked for must be accepted by one of them (`invalid_target`), except
//! OpenID Connect's scopes, which are this server's own (UserInfo); scopes that came by
//! default are narrowed to those the APIs accept.

use crate::client::check_redirect_uri;
use crate::model::ClientKind;
use crate::scope::{is_openid_connect_scope, ScopeSet, ScopeToken};
use std::fmt;

/// At most this many `resource` parameters in one request (each is one `aud` value).
pub const MAX_RESOURCES_PER_REQUEST: usize = 8;
/// At most this many scopes one API accepts (an item stays far below DynamoDB's 400 KB).
pub const MAX_RESOURCE_SCOPES: usize = 256;
/// The longest display name of an API.
pub const MAX_RESOURCE_NAME_CHARS: usize = 200;

/// A registered API: its URI (the `resource` value and the tokens' `aud`), the name the
/// consent page shows, and the scopes it accepts.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Resource {
    pub uri: String,
    pub name: String,
    pub scopes: ScopeSet,
}

/// Why an API cannot be registered; Display is what authctl prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResourceRuleError {
    Uri(String),
    Name,
    NoScope,
    TooManyScopes,
}

impl fmt::Display for ResourceRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceRuleError::Uri(uri) => write!(
                f,
                "resource {uri:?} is refused: an API is an absolute https URI (http only on \
                 127.0.0.1, [::1] or localhost) without query or fragment (RFC 8707 2)"
            ),
            ResourceRuleError::Name => write!(
                f,
                "an API's name is 1 to {MAX_RESOURCE_NAME_CHARS} characters without control characters"
            ),
            ResourceRuleError::NoScope => {
                f.write_str("an API accepts at least one scope (--scope)")
            }
            ResourceRuleError::TooManyScopes => {
                write!(f, "an API accepts at most {MAX_RESOURCE_SCOPES} scopes")
            }
        }
    }
}

impl std::error::Error for ResourceRuleError {}

impl Resource {
    /// The one way to make a registered API: every registration rule.
    pub fn register(
        uri: String,
        name: String,
        scopes: ScopeSet,
    ) -> Result<Resource, ResourceRuleError> {
        if !is_resource_uri(&uri) {
            return Err(ResourceRuleError::Uri(uri));
        }
        let name = name.trim().to_string();
        if name.is_empty()
            || name.chars().count() > MAX_RESOURCE_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(ResourceRuleError::Name);
        }
        if scopes.is_empty() {
            return Err(ResourceRuleError::NoScope);
        }
        if scopes.len() > MAX_RESOURCE_SCOPES {
            return Err(ResourceRuleError::TooManyScopes);
        }
        Ok(Resource { uri, name, scopes })
    }
}

/// RFC 8707 2: an absolute URI, no fragment; no query either (it SHOULD NOT have one, and an
/// audience is compared as a string). Held to the rules of redirect URIs for the rest:
/// https, or http on a loopback host.
pub fn is_resource_uri(uri: &str) -> bool {
    check_redirect_uri(uri, ClientKind::Confidential).is_ok()
        && !uri.contains('?')
        && matches!(uri.split(':').next(), Some("https" | "http"))
}

/// Why a request's resources are refused: always RFC 8707's `invalid_target`, with one of
/// these fixed descriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetError {
    Unknown,
    TooMany,
    ScopeNotAccepted,
    NoDefaultScopeAccepted,
    NotGranted,
}

impl TargetError {
    pub fn description(self) -> &'static str {
        match self {
            TargetError::Unknown => "a resource is not an API registered with this server",
            TargetError::TooMany => "too many resource parameters",
            TargetError::ScopeNotAccepted => "a requested scope is not accepted by the resource",
            TargetError::NoDefaultScopeAccepted => {
                "the resource accepts none of the client's default scopes"
            }
            TargetError::NotGranted => "the resource was not part of the authorization",
        }
    }
}

/// The resources a request names and the scopes its tokens get, by the rules above:
/// `requested` are the `resource` values, `catalogue` the registered APIs, `scopes` the scopes
/// asked for (`asked`) or given by default. With no resource, the scopes as they are.
pub fn select(
    catalogue: &[Resource],
    requested: &[String],
    scopes: ScopeSet,
    asked: bool,
) -> Result<(Vec<String>, ScopeSet), TargetError> {
    if requested.is_empty() {
        return Ok((Vec::new(), scopes));
    }
    let resources = dedupe(requested);
    if resources.len() > MAX_RESOURCES_PER_REQUEST {
        return Err(TargetError::TooMany);
    }
    let apis: Vec<&Resource> = resources
        .iter()
        .map(|uri| catalogue.iter().find(|r| &r.uri == uri))
        .collect::<Option<_>>()
        .ok_or(TargetError::Unknown)?;
    let accepted = |scope: &ScopeToken| {
        is_openid_connect_scope(scope.as_str())
            || apis.iter().any(|api| api.scopes.contains(scope.as_str()))
    };
    if asked {
        if !scopes.iter().all(accepted) {
            return Err(TargetError::ScopeNotAccepted);
        }
        return Ok((resources, scopes));
    }
    let narrowed: ScopeSet = scopes.iter().filter(|s| accepted(s)).cloned().collect();
    if narrowed.iter().all(|s| is_openid_connect_scope(s.as_str())) {
        return Err(TargetError::NoDefaultScopeAccepted);
    }
    Ok((resources, narrowed))
}

/// The audiences a token of a grant authorized for `granted` is for, when the token request
/// names `requested` (RFC 8707 2.2: the same or fewer; none named means all of them).
pub fn narrow(granted: &[String], requested: &[String]) -> Result<Vec<String>, TargetError> {
    if requested.is_empty() {
        return Ok(granted.to_vec());
    }
    let requested = dedupe(requested);
    if requested.iter().all(|uri| granted.contains(uri)) {
        Ok(requested)
    } else {
        Err(TargetError::NotGranted)
    }
}

fn dedupe(values: &[String]) -> Vec<String> {
    let mut unique: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        if !unique.contains(value) {
            unique.push(value.clone());
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &str) -> ScopeSet {
        ScopeSet::parse(names).unwrap_or_default()
    }

    fn catalogue() -> Vec<Resource> {
        vec![
            Resource {
                uri: "https://orders.example".into(),
                name: "Orders".into(),
                scopes: set("orders:read orders:write"),
            },
            Resource {
                uri: "https://billing.example".into(),
                name: "Billing".into(),
                scopes: set("billing:read"),
            },
        ]
    }

    fn uris(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn registration_rules() {
        let ok = Resource::register("https://api.example".into(), " Orders ".into(), set("a"));
        assert_eq!(ok.map(|r| r.name), Ok("Orders".into()));
        for uri in [
            "api.example",
            "https://api.example#x",
            "https://api.example?x=1",
            "http://api.example",
            "urn:example:api",
            "com.example.app:/x",
        ] {
            assert_eq!(
                Resource::register(uri.into(), "A".into(), set("a")),
                Err(ResourceRuleError::Uri(uri.into())),
                "{uri}"
            );
        }
        assert!(is_resource_uri("http://127.0.0.1:8080/api"));
        assert_eq!(
            Resource::register("https://a.example".into(), " ".into(), set("a")),
            Err(ResourceRuleError::Name)
        );
        assert_eq!(
            Resource::register("https://a.example".into(), "A".into(), set("")),
            Err(ResourceRuleError::NoScope)
        );
    }

    #[test]
    fn resources_must_be_registered_and_accept_the_asked_scopes() {
        let c = catalogue();
        let orders = uris(&["https://orders.example"]);
        assert_eq!(
            select(&c, &orders, set("orders:read openid"), true),
            Ok((orders.clone(), set("orders:read openid")))
        );
        assert_eq!(
            select(&c, &orders, set("billing:read"), true),
            Err(TargetError::ScopeNotAccepted)
        );
        let both = uris(&["https://orders.example", "https://billing.example"]);
        assert_eq!(
            select(&c, &both, set("orders:read billing:read"), true).map(|(r, _)| r),
            Ok(both.clone())
        );
        assert_eq!(
            select(
                &c,
                &uris(&["https://other.example"]),
                set("orders:read"),
                true
            ),
            Err(TargetError::Unknown)
        );
        let many: Vec<String> = (0..=MAX_RESOURCES_PER_REQUEST)
            .map(|i| format!("https://{i}.example"))
            .collect();
        assert_eq!(select(&c, &many, set("a"), true), Err(TargetError::TooMany));
        // The same resource twice counts once.
        assert_eq!(
            select(
                &c,
                &uris(&["https://orders.example"; 2]),
                set("orders:read"),
                true
            ),
            Ok((orders.clone(), set("orders:read")))
        );
        // No resource: the scopes as they are, the default audience.
        assert_eq!(
            select(&c, &[], set("anything"), true),
            Ok((Vec::new(), set("anything")))
        );
    }

    #[test]
    fn default_scopes_are_narrowed_to_what_the_resource_accepts() {
        let c = catalogue();
        let billing = uris(&["https://billing.example"]);
        assert_eq!(
            select(&c, &billing, set("orders:read billing:read openid"), false),
            Ok((billing.clone(), set("billing:read openid")))
        );
        assert_eq!(
            select(&c, &billing, set("orders:read openid"), false),
            Err(TargetError::NoDefaultScopeAccepted)
        );
    }

    #[test]
    fn a_token_request_may_only_narrow_the_resources() {
        let granted = uris(&["https://orders.example", "https://billing.example"]);
        assert_eq!(narrow(&granted, &[]), Ok(granted.clone()));
        assert_eq!(
            narrow(&granted, &uris(&["https://billing.example"])),
            Ok(uris(&["https://billing.example"]))
        );
        assert_eq!(
            narrow(&granted, &uris(&["https://other.example"])),
            Err(TargetError::NotGranted)
        );
        assert_eq!(
            narrow(&[], &uris(&["https://orders.example"])),
            Err(TargetError::NotGranted)
        );
    }
}
