//! Operational metrics as CloudWatch Embedded Metric Format (EMF) lines on stdout: Lambda
//! sends stdout to CloudWatch Logs, which extracts the metrics. Counting costs no API call,
//! no latency and no IAM permission. Namespace `AuthApi`, one dimension: `Stack`.

use serde_json::json;
use std::io::Write;
use std::sync::OnceLock;

pub const NAMESPACE: &str = "AuthApi";

/// The `Stack` dimension; metrics are written only once it is set (the functions set it at
/// start, from the table prefix, which is the stack's name; tests leave metrics off).
static STACK: OnceLock<String> = OnceLock::new();

pub fn enable(stack: &str) {
    let _ = STACK.set(stack.to_string());
}

/// What operators count and alarm on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// An access token issued (code exchange or refresh).
    TokenIssued,
    /// A second redemption of a code: its tokens are revoked (RFC 6749 4.1.2).
    CodeReplayed,
    /// A used refresh token presented again: its family is revoked (RFC 9700 4.14).
    RefreshTokenReused,
    /// Unknown client or wrong client secret at the token, revoke or introspect endpoint.
    ClientAuthFailed,
    SignInSucceeded,
    /// Wrong password or unknown user.
    SignInFailed,
    /// A sign-in refused before its password was checked: too many attempts on the account
    /// from the same source network in this window.
    SignInLocked,
    /// A sign-in answered late: the account's failures from all sources passed the ceiling.
    SignInSlowed,
    ConsentApproved,
    ConsentDenied,
    /// DynamoDB refused a call for good (a permission, a missing table): answered with a 500.
    StorageFailure,
    /// DynamoDB throttled, timed out, failed on its side or conflicted, after the SDK's
    /// retries: answered with a 503 (or `temporarily_unavailable`) to retry.
    StorageBusy,
}

impl Event {
    pub fn metric_name(self) -> &'static str {
        match self {
            Event::TokenIssued => "TokensIssued",
            Event::CodeReplayed => "CodeReplays",
            Event::RefreshTokenReused => "RefreshTokenReuses",
            Event::ClientAuthFailed => "ClientAuthFailures",
            Event::SignInSucceeded => "SignIns",
            Event::SignInFailed => "SignInFailures",
            Event::SignInLocked => "SignInsLocked",
            Event::SignInSlowed => "SignInsSlowed",
            Event::ConsentApproved => "ConsentApprovals",
            Event::ConsentDenied => "ConsentDenials",
            Event::StorageFailure => "StorageFailures",
            Event::StorageBusy => "StorageBusy",
        }
    }
}

/// Counts one occurrence of `event`.
pub fn count(event: Event) {
    if let Some(stack) = STACK.get() {
        let line = emf_line(event, stack, crate::keys::now_millis());
        // A metric must never fail a request: a write error is dropped.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// One EMF document: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
pub fn emf_line(event: Event, stack: &str, timestamp_ms: i64) -> String {
    let name = event.metric_name();
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Stack"]],
                "Metrics": [{ "Name": name, "Unit": "Count" }],
            }],
        },
        "Stack": stack,
        name: 1,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_names_its_metric_dimension_and_value() {
        let line = emf_line(Event::CodeReplayed, "auth-prod", 1_700_000_000_000);
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&line) else {
            panic!("not JSON: {line}")
        };
        assert!(!line.contains('\n'));
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "AuthApi");
        assert_eq!(directive["Dimensions"], json!([["Stack"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{ "Name": "CodeReplays", "Unit": "Count" }])
        );
        assert_eq!(doc["Stack"], "auth-prod");
        assert_eq!(doc["CodeReplays"], 1);
    }
}
