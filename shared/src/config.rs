//! Configuration, read once from the environment (set by `template.yaml` in AWS,
//! by `scripts/dev` locally). Every setting of the service is read here and nowhere else.

use std::env;
use std::fmt;

/// Names of the DynamoDB tables. In AWS they are `<stack name>-<table>`
/// (see `template.yaml`), so one prefix names them all.
#[derive(Clone, Debug)]
pub struct Tables {
    /// The prefix itself: the stack's name in a deployment.
    pub prefix: String,
    pub scopes: String,
    pub clients: String,
    pub users: String,
    pub sessions: String,
    pub consents: String,
    pub codes: String,
    pub tokens: String,
    pub keys: String,
    pub throttle: String,
    /// The registered APIs (RFC 8707 resources).
    pub resources: String,
    /// Single-use JWT ids (`jti`s of client assertions), until their expiry.
    pub replay: String,
}

impl Tables {
    pub fn with_prefix(prefix: &str) -> Self {
        let name = |table: &str| format!("{prefix}-{table}");
        Tables {
            prefix: prefix.to_string(),
            scopes: name("scopes"),
            clients: name("clients"),
            users: name("users"),
            sessions: name("sessions"),
            consents: name("consents"),
            codes: name("codes"),
            tokens: name("tokens"),
            keys: name("keys"),
            throttle: name("throttle"),
            resources: name("resources"),
            replay: name("replay"),
        }
    }

    /// Reads `AUTH_TABLE_PREFIX`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::with_prefix(&required("AUTH_TABLE_PREFIX")?))
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// The issuer URL: `iss` of every token and authorization response, base of every endpoint URL.
    pub issuer: String,
    /// `aud` of access tokens.
    pub audience: String,
    pub tables: Tables,
    /// Lifetime of an authorization code (RFC 6749 4.1.2: at most 10 minutes).
    pub code_ttl_seconds: i64,
    pub access_token_ttl_seconds: i64,
    /// Lifetime of an ID token (`exp - iat`): a client checks it once, when the user signs in.
    pub id_token_ttl_seconds: i64,
    pub consent_ttl_seconds: i64,
    pub session_ttl_seconds: i64,
    /// A refresh token unused for this long expires.
    pub refresh_idle_ttl_seconds: i64,
    /// No refresh token of a family outlives this, however often it rotates.
    pub refresh_absolute_ttl_seconds: i64,
}

pub const MAX_CODE_TTL_SECONDS: i64 = 600;
pub const DEFAULT_ACCESS_TOKEN_TTL_SECONDS: i64 = 900;
/// The longest access token lifetime: `MaxValue` of `AccessTokenTtlSeconds` in template.yaml.
/// Signing keys stay published this long after they stop signing (`keys::lifecycle`), so a
/// deployment that set a longer one would see its tokens stop verifying before they expire.
pub const MAX_ACCESS_TOKEN_TTL_SECONDS: i64 = 86_400;
/// The ID token lifetime, unless `AUTH_ID_TOKEN_TTL_SECONDS` says otherwise: five minutes.
/// A client validates the ID token once, right after the code exchange, so a long life buys
/// nothing but a longer window for a leaked one (Keycloak's default is its access token's
/// five minutes; node-oidc-provider's is an hour). Clocks may differ by a minute or two; five
/// minutes leave room for that. An expired ID token still serves as `id_token_hint`.
pub const DEFAULT_ID_TOKEN_TTL_SECONDS: i64 = 300;
/// `MinValue` and `MaxValue` of `IdTokenTtlSeconds` in template.yaml.
pub const MIN_ID_TOKEN_TTL_SECONDS: i64 = 60;
pub const MAX_ID_TOKEN_TTL_SECONDS: i64 = 3600;
/// The variable that sets the access token lifetime, for the functions and for authctl.
pub const ACCESS_TOKEN_TTL_VARIABLE: &str = "AUTH_ACCESS_TOKEN_TTL_SECONDS";

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let issuer = required("AUTH_ISSUER")?.trim_end_matches('/').to_string();
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return Err(ConfigError(format!(
                "AUTH_ISSUER must be an http(s) URL, got {issuer:?}"
            )));
        }
        let audience = match env::var("AUTH_AUDIENCE") {
            Ok(value) if !value.is_empty() => value,
            _ => issuer.clone(),
        };
        let code_ttl_seconds = seconds("AUTH_CODE_TTL_SECONDS", 60)?;
        if !(1..=MAX_CODE_TTL_SECONDS).contains(&code_ttl_seconds) {
            return Err(ConfigError(format!(
                "AUTH_CODE_TTL_SECONDS must be between 1 and {MAX_CODE_TTL_SECONDS}"
            )));
        }
        let id_token_ttl_seconds =
            seconds("AUTH_ID_TOKEN_TTL_SECONDS", DEFAULT_ID_TOKEN_TTL_SECONDS)?;
        if !(MIN_ID_TOKEN_TTL_SECONDS..=MAX_ID_TOKEN_TTL_SECONDS).contains(&id_token_ttl_seconds) {
            return Err(ConfigError(format!(
                "AUTH_ID_TOKEN_TTL_SECONDS must be between {MIN_ID_TOKEN_TTL_SECONDS} and {MAX_ID_TOKEN_TTL_SECONDS}"
            )));
        }
        Ok(Config {
            issuer,
            audience,
            tables: Tables::from_env()?,
            code_ttl_seconds,
            access_token_ttl_seconds: access_token_ttl_from_env()?,
            id_token_ttl_seconds,
            consent_ttl_seconds: seconds("AUTH_CONSENT_TTL_SECONDS", 90 * 24 * 3600)?,
            session_ttl_seconds: seconds("AUTH_SESSION_TTL_SECONDS", 8 * 3600)?,
            refresh_idle_ttl_seconds: seconds("AUTH_REFRESH_IDLE_TTL_SECONDS", 14 * 24 * 3600)?,
            refresh_absolute_ttl_seconds: seconds(
                "AUTH_REFRESH_ABSOLUTE_TTL_SECONDS",
                90 * 24 * 3600,
            )?,
        })
    }

    /// A configuration for unit tests.
    pub fn for_tests() -> Self {
        Config {
            issuer: "https://auth.example.test".into(),
            audience: "https://api.example.test".into(),
            tables: Tables::with_prefix("test"),
            code_ttl_seconds: 60,
            access_token_ttl_seconds: DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
            id_token_ttl_seconds: DEFAULT_ID_TOKEN_TTL_SECONDS,
            consent_ttl_seconds: 3600,
            session_ttl_seconds: 3600,
            refresh_idle_ttl_seconds: 3600,
            refresh_absolute_ttl_seconds: 7200,
        }
    }

    /// Cookies are `Secure` unless the issuer is a loopback http URL (local development).
    pub fn secure_cookies(&self) -> bool {
        !(self.issuer.starts_with("http://127.0.0.1")
            || self.issuer.starts_with("http://localhost")
            || self.issuer.starts_with("http://[::1]"))
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }
}

#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

fn required(name: &str) -> Result<String, ConfigError> {
    match env::var(name) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => Err(ConfigError(format!("{name} is not set"))),
    }
}

/// `AUTH_ACCESS_TOKEN_TTL_SECONDS`, read as `parse_access_token_ttl` reads it (authctl too).
fn access_token_ttl_from_env() -> Result<i64, ConfigError> {
    match env::var(ACCESS_TOKEN_TTL_VARIABLE) {
        Ok(value) if !value.is_empty() => parse_access_token_ttl(&value)
            .map_err(|why| ConfigError(format!("{ACCESS_TOKEN_TTL_VARIABLE}: {why}"))),
        _ => Ok(DEFAULT_ACCESS_TOKEN_TTL_SECONDS),
    }
}

/// An access token lifetime in seconds: 1 to `MAX_ACCESS_TOKEN_TTL_SECONDS`.
pub fn parse_access_token_ttl(value: &str) -> Result<i64, String> {
    match value.parse::<i64>() {
        Ok(seconds) if (1..=MAX_ACCESS_TOKEN_TTL_SECONDS).contains(&seconds) => Ok(seconds),
        _ => Err(format!(
            "an access token lifetime is 1 to {MAX_ACCESS_TOKEN_TTL_SECONDS} seconds"
        )),
    }
}

fn seconds(name: &str, default: i64) -> Result<i64, ConfigError> {
    match env::var(name) {
        Ok(value) if !value.is_empty() => match value.parse::<i64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ConfigError(format!(
                "{name} must be a positive number of seconds"
            ))),
        },
        _ => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_lifetimes() {
        assert_eq!(parse_access_token_ttl("900"), Ok(900));
        assert_eq!(parse_access_token_ttl("86400"), Ok(86_400));
        for bad in ["0", "-5", "86401", "15m", ""] {
            assert!(parse_access_token_ttl(bad).is_err(), "{bad}");
        }
    }

    /// A number of a template parameter's definition (`MinValue:`, `MaxValue:`, `Default:`).
    fn template_parameter(name: &str, field: &str) -> Option<i64> {
        include_str!("../../template.yaml")
            .lines()
            .map(str::trim)
            .skip_while(|line| line.strip_suffix(':') != Some(name))
            .take_while(|line| !line.is_empty() && !line.starts_with("Description:"))
            .find_map(|line| line.strip_prefix(field))
            .and_then(|value| value.trim().parse().ok())
    }

    /// The longest lifetime is the template's: key retention relies on no token living
    /// longer. The default is the template's too.
    #[test]
    fn access_token_lifetimes_match_the_template() {
        let field = |field| template_parameter("AccessTokenTtlSeconds", field);
        assert_eq!(field("MaxValue:"), Some(MAX_ACCESS_TOKEN_TTL_SECONDS));
        assert_eq!(field("Default:"), Some(DEFAULT_ACCESS_TOKEN_TTL_SECONDS));
    }

    /// The ID token lifetime's bounds and default are the template's.
    #[test]
    fn id_token_lifetimes_match_the_template() {
        let field = |field| template_parameter("IdTokenTtlSeconds", field);
        assert_eq!(field("MinValue:"), Some(MIN_ID_TOKEN_TTL_SECONDS));
        assert_eq!(field("MaxValue:"), Some(MAX_ID_TOKEN_TTL_SECONDS));
        assert_eq!(field("Default:"), Some(DEFAULT_ID_TOKEN_TTL_SECONDS));
    }
}
