//! Argument syntax: the command line's value parsers (the identifiers' rules are the
//! domain's, `auth_core::ids`), the password rule and the reading of one input line.
//! No storage here.

use auth_core::config::{parse_access_token_ttl, MAX_ACCESS_TOKEN_TTL_SECONDS};
use auth_core::ids::{
    is_client_id, is_kid, is_scope_name, is_username, MAX_CLIENT_ID_LEN, MAX_KID_LEN,
    MAX_SCOPE_NAME_LEN, MAX_USERNAME_LEN,
};
use auth_core::model::GrantType;
use auth_core::profile::Claim;

pub const MIN_PASSWORD_CHARS: usize = 8;
/// DynamoDB table names are at most 255 characters; leave room for `-consents` and the like.
pub const MAX_TABLE_PREFIX_LEN: usize = 200;

/// A table prefix: the characters DynamoDB allows in table names (`[A-Za-z0-9_.-]`).
pub fn is_table_prefix(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_TABLE_PREFIX_LEN
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

// clap value parsers: a refusal here is a usage error (exit status 2).

pub fn client_id_arg(value: &str) -> Result<String, String> {
    if is_client_id(value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "a client id is 1 to {MAX_CLIENT_ID_LEN} characters of A-Z a-z 0-9 . _ -"
        ))
    }
}

pub fn username_arg(value: &str) -> Result<String, String> {
    if is_username(value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "a username is 1 to {MAX_USERNAME_LEN} characters of A-Z a-z 0-9 . _ @ -"
        ))
    }
}

pub fn claim_arg(value: &str) -> Result<Claim, String> {
    Claim::parse(value).ok_or_else(|| {
        let names: Vec<&str> = Claim::ALL.iter().map(|claim| claim.as_str()).collect();
        format!("a claim is one of {}", names.join(", "))
    })
}

pub fn kid_arg(value: &str) -> Result<String, String> {
    if is_kid(value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "a key id is 1 to {MAX_KID_LEN} characters of A-Z a-z 0-9 . _ -"
        ))
    }
}

pub fn scope_name_arg(value: &str) -> Result<String, String> {
    if is_scope_name(value) {
        Ok(value.to_string())
    } else {
        Err(scope_name_rule())
    }
}

/// What a scope name is, for error messages.
pub fn scope_name_rule() -> String {
    format!(
        "a scope name is 1 to {MAX_SCOPE_NAME_LEN} characters of printable ASCII without space, \" or \\ (RFC 6749 3.3)"
    )
}

pub fn table_prefix_arg(value: &str) -> Result<String, String> {
    if is_table_prefix(value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "a table prefix is 1 to {MAX_TABLE_PREFIX_LEN} characters of A-Z a-z 0-9 _ . -"
        ))
    }
}

pub fn grant_arg(value: &str) -> Result<GrantType, String> {
    GrantType::parse(value).ok_or_else(|| {
        "expected authorization_code, refresh_token or client_credentials".to_string()
    })
}

/// The stack's access token lifetime, read as the functions read it; empty (an
/// `AUTH_ACCESS_TOKEN_TTL_SECONDS=` left blank) is unset, so the longest there can be.
pub fn access_token_ttl_arg(value: &str) -> Result<i64, String> {
    if value.is_empty() {
        return Ok(MAX_ACCESS_TOKEN_TTL_SECONDS);
    }
    parse_access_token_ttl(value)
}

pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must be at least {MIN_PASSWORD_CHARS} characters long"
        ));
    }
    Ok(())
}

/// One line read from standard input, without its line ending.
pub fn strip_line_ending(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// The values in their first order, each once.
pub fn dedupe<T: PartialEq + Clone>(values: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(values.len());
    for value in values {
        if !out.contains(value) {
            out.push(value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // The rules themselves are tested in `auth_core::ids`; here, that the parsers apply them.
    #[test]
    fn identifier_arguments() {
        assert!(client_id_arg("demo-client").is_ok());
        assert!(client_id_arg(&"x".repeat(64)).is_ok());
        assert!(client_id_arg("not ok").is_err());
        assert!(client_id_arg(&"x".repeat(65)).is_err());
        assert!(username_arg("alice@example.com").is_ok());
        assert!(username_arg("al:ice").is_err());
        assert!(kid_arg("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").is_ok());
        assert!(kid_arg("a/b").is_err());
        assert!(kid_arg(&"k".repeat(129)).is_err());
        assert!(scope_name_arg("orders:read").is_ok());
        assert!(scope_name_arg("bad\\scope").is_err());
        assert!(scope_name_arg(&"s".repeat(129)).is_err());
    }

    #[test]
    fn table_prefixes() {
        assert!(is_table_prefix("auth-local"));
        assert!(is_table_prefix("Stack_1.prod"));
        assert!(!is_table_prefix(""));
        assert!(!is_table_prefix("a b"));
        assert!(!is_table_prefix("a/b"));
        assert!(!is_table_prefix(&"p".repeat(201)));
    }

    #[test]
    fn grants() {
        assert_eq!(
            grant_arg("authorization_code"),
            Ok(GrantType::AuthorizationCode)
        );
        assert_eq!(grant_arg("refresh_token"), Ok(GrantType::RefreshToken));
        assert_eq!(
            grant_arg("client_credentials"),
            Ok(GrantType::ClientCredentials)
        );
        assert!(grant_arg("password").is_err());
        assert!(grant_arg("authorization-code").is_err());
    }

    #[test]
    fn access_token_lifetimes() {
        assert_eq!(access_token_ttl_arg("900"), Ok(900));
        assert_eq!(access_token_ttl_arg(""), Ok(86_400));
        assert!(access_token_ttl_arg("86401").is_err());
        assert!(access_token_ttl_arg("0").is_err());
    }

    #[test]
    fn passwords() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        // Characters, not bytes: seven two-byte characters are still too short.
        assert!(check_password(&"\u{e9}".repeat(7)).is_err());
        assert_eq!(strip_line_ending("secret pw\n"), "secret pw");
        assert_eq!(strip_line_ending("secret pw\r\n"), "secret pw");
        assert_eq!(strip_line_ending("secret pw"), "secret pw");
        assert_eq!(strip_line_ending("trailing space \n"), "trailing space ");
    }

    #[test]
    fn dedupe_keeps_first_order() {
        assert_eq!(dedupe(&["b", "a", "b", "c", "a"]), vec!["b", "a", "c"]);
    }
}
