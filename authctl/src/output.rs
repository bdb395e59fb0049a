//! What `authctl` prints: a command's result as text or JSON on stdout, errors on stderr,
//! and the human forms of tables and times.

use auth_core::model::ClientRuleError;
use auth_core::store::StoreError;
use serde_json::Value;
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

/// What a command prints on success, in both forms.
pub struct Output {
    pub json: Value,
    pub text: String,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Error(message)
    }
}

/// A registration rule, in the domain's words.
impl From<ClientRuleError> for Error {
    fn from(rule: ClientRuleError) -> Self {
        Error(rule.to_string())
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(cause) => Error(format!(
                "cannot reach DynamoDB ({})",
                error_chain(cause.as_ref())
            )),
            StoreError::Corrupt(what) => Error(format!("DynamoDB holds a malformed item: {what}")),
            StoreError::Contention(reasons) => Error(format!(
                "DynamoDB cancelled the change ({reasons}): try again"
            )),
            other => Error(other.to_string()),
        }
    }
}

/// `AlreadyExists` and `NotFound` said of `what` ("client abc"); other errors as usual.
pub fn store_error(what: &str) -> impl FnOnce(StoreError) -> Error + '_ {
    move |err| match err {
        StoreError::AlreadyExists => Error(format!("{what} already exists")),
        StoreError::NotFound => Error(format!("{what} does not exist")),
        other => Error::from(other),
    }
}

/// An error and its sources, e.g. "dispatch failure: io error: ... Connection refused".
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// Prints a result; a failed write (a closed pipe) is a failure too.
pub fn print(output: &Output, json: bool) -> ExitCode {
    let text = if json {
        output.json.to_string()
    } else {
        output.text.clone()
    };
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: cannot write the output: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Prints an error, with a hint when DynamoDB's answer usually means a setting is wrong.
pub fn print_error(err: &Error, table_prefix: &str) -> ExitCode {
    match hint(&err.0, table_prefix) {
        Some(hint) => eprintln!("error: {err}\nhint: {hint}"),
        None => eprintln!("error: {err}"),
    }
    ExitCode::FAILURE
}

/// What to check when DynamoDB answers in a way that usually means a setting is wrong.
fn hint(error: &str, table_prefix: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
