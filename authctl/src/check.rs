//! Pure helpers of `authctl`: syntax of the identifiers an operator types, the
//! password rule, and the human forms of times and tables. No storage here.

use auth_core::model::GrantType;

pub const MAX_ID_LEN: usize = 64;
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_CLIENT_NAME_CHARS: usize = 200;
/// DynamoDB table names are at most 255 characters; leave room for `-consents` and the like.
pub const MAX_TABLE_PREFIX_LEN: usize = 200;

/// A client id: 1-64 characters of `[A-Za-z0-9._-]`.
pub fn is_client_id(value: &str) -> bool {
    is_id(value, |c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// A username: 1-64 characters of `[A-Za-z0-9._@-]`.
pub fn is_username(value: &str) -> bool {
    is_id(value, |c| c.is_ascii_alphanumeric() || "._@-".contains(c))
}

fn is_id(value: &str, allowed: impl Fn(char) -> bool) -> bool {
    !value.is_empty() && value.len() <= MAX_ID_LEN && value.chars().all(allowed)
}

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
            "a client id is 1 to {MAX_ID_LEN} characters of A-Z a-z 0-9 . _ -"
        ))
    }
}

pub fn username_arg(value: &str) -> Result<String, String> {
    if is_username(value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "a username is 1 to {MAX_ID_LEN} characters of A-Z a-z 0-9 . _ @ -"
        ))
    }
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

pub fn non_empty_arg(value: &str) -> Result<String, String> {
    if value.is_empty() {
        Err("must not be empty".to_string())
    } else {
        Ok(value.to_string())
    }
}

/// The display name of a client: trimmed, not empty, no control characters.
pub fn client_name(value: &str) -> Result<String, String> {
    let name = value.trim();
    if name.is_empty() {
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
    Ok(name.to_string())
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

    #[test]
    fn client_ids() {
        for good in ["demo-client", "a", "App_1.2", &"x".repeat(64)] {
            assert!(is_client_id(good), "{good}");
        }
        for bad in [
            "",
            "with space",
            "slash/",
            "at@sign",
            "caf\u{e9}",
            &"x".repeat(65),
        ] {
            assert!(!is_client_id(bad), "{bad}");
        }
        assert!(client_id_arg("ok").is_ok());
        assert!(client_id_arg("not ok").is_err());
    }

    #[test]
    fn usernames() {
        for good in ["alice", "alice@example.com", "a.b_c-d", &"u".repeat(64)] {
            assert!(is_username(good), "{good}");
        }
        for bad in [
            "",
            "al ice",
            "alice:x",
            "\u{e9}mile",
            "a\n",
            &"u".repeat(65),
        ] {
            assert!(!is_username(bad), "{bad}");
        }
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
    fn client_names() {
        assert_eq!(client_name("  Shop  "), Ok("Shop".to_string()));
        assert!(client_name("   ").is_err());
        assert!(client_name("a\u{7}b").is_err());
        assert!(client_name(&"n".repeat(201)).is_err());
        assert!(client_name(&"\u{e9}".repeat(200)).is_ok());
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
