//! Pure helpers of `authctl`: the command line's value parsers (the identifiers' rules
//! are the domain's, `auth_core::ids`), the password rule, and the human forms of times
//! and tables. No storage here.

use auth_core::ids::{
    is_client_id, is_kid, is_scope_name, is_username, MAX_CLIENT_ID_LEN, MAX_KID_LEN,
    MAX_SCOPE_NAME_LEN, MAX_USERNAME_LEN,
};
use auth_core::model::GrantType;

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
    GrantType::parse(value)
        .ok_or_else(|| "expected authorization_code or refresh_token".to_string())
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

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Rows as text columns separated by two spaces; the last column is not padded.
pub fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|row| row.get(i))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 < row.len() {
                    let pad = widths[i] - cell.chars().count();
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad + 2));
                } else {
                    line.push_str(cell);
                }
            }
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What to check when DynamoDB answers in a way that usually means a setting is wrong.
pub fn hint(error: &str, table_prefix: &str) -> Option<String> {
    if error.contains("ResourceNotFoundException") {
        Some(format!(
            "no such table: do the tables {table_prefix}-scopes, {table_prefix}-clients, ... exist? \
             (--table-prefix or AUTH_TABLE_PREFIX names the stack)"
        ))
    } else if error.contains("missing signing region") {
        Some("set AWS_REGION (or a region in the AWS_PROFILE)".to_string())
    } else {
        None
    }
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
        assert!(grant_arg("client_credentials").is_err());
        assert!(grant_arg("authorization-code").is_err());
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

    #[test]
    fn times() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_time(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(format_time(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(format_time(4_102_444_799), "2099-12-31 23:59:59 UTC");
    }

    #[test]
    fn tables_align_all_but_the_last_column() {
        let rows = vec![
            vec!["name".to_string(), "description".to_string()],
            vec!["orders:read".to_string(), "Read your orders".to_string()],
            vec!["x".to_string(), String::new()],
        ];
        assert_eq!(
            table(&rows),
            "name         description\norders:read  Read your orders\nx"
        );
    }

    #[test]
    fn hints() {
        let missing = "cannot reach DynamoDB (service error: ResourceNotFoundException: Requested resource not found)";
        assert!(hint(missing, "dev").is_some_and(|h| h.contains("dev-scopes")));
        assert!(hint(
            "cannot reach DynamoDB (dispatch failure: other: missing signing region)",
            "dev"
        )
        .is_some_and(|h| h.contains("AWS_REGION")));
        assert_eq!(hint("client x does not exist", "dev"), None);
    }
}
