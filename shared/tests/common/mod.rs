//! Shared by the tests that run against the local DynamoDB server (moto, started by `scripts/test`).

use auth_core::config::Tables;
use auth_core::secret::random_id;
use std::process::Command;

/// Fresh tables from `template.yaml` under a new prefix, or `None` (test skipped) when no
/// local server is configured.
pub fn fresh_tables() -> Option<Tables> {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: skipped (scripts/test runs these against moto)"
        );
        return None;
    }
    let prefix = format!("store-{}", &random_id()[..12]);
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let python =
        std::env::var("AUTH_PYTHON").unwrap_or_else(|_| format!("{root}/.venv/bin/python"));
    let status = Command::new(python)
        .arg(format!("{root}/scripts/create_tables.py"))
        .args(["--prefix", &prefix, "--quiet"])
        .status();
    assert!(
        matches!(status, Ok(s) if s.success()),
        "creating tables failed: {status:?}"
    );
    Some(Tables::with_prefix(&prefix))
}
