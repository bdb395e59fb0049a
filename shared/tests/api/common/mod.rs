//! What the suites share:
//! - `assertions`: `private_key_jwt` client keys and the assertions they sign;
//! - `fixtures`: the `World` fixture (an `App` over a store with scopes, clients, a user, a
//!   session and a signing key) and the clients, scopes and keys it is made of;
//! - `jwt`: JWTs signed as the token endpoint signs them (hints, forged tokens);
//! - `pkce`: the RFC 7636 Appendix B verifier and challenge;
//! - `records`: the records the storage tests store;
//! - `requests`: requests as a client app sends them, and what their answers hold;
//! - `fresh_tables` (here): new tables on the local DynamoDB server, for the tests that run
//!   against it (moto, started by `scripts/test`). Without one they fail, so that a run
//!   without moto cannot pass for a run of the storage tests; `AUTH_STORAGE_TESTS=skip`
//!   leaves them out on purpose, and each says on the terminal that it was not run.

pub mod assertions;
pub mod fixtures;
pub mod jwt;
pub mod pkce;
pub mod records;
pub mod requests;

use auth_core::config::Tables;
use auth_core::secret::random_id;
use std::io::Write;
use std::process::Command;

/// The value of `AUTH_STORAGE_TESTS` that leaves out the tests needing the local server.
const SKIP: &str = "skip";

/// Fresh tables from `template.yaml` under a new prefix; `None` (the caller returns) only
/// when the storage tests are skipped on purpose.
pub fn fresh_tables() -> Option<Tables> {
    if std::env::var_os("AWS_ENDPOINT_URL_DYNAMODB").is_none() {
        let test = std::thread::current()
            .name()
            .unwrap_or("a storage test")
            .to_string();
        assert!(
            std::env::var("AUTH_STORAGE_TESTS").as_deref() == Ok(SKIP),
            "{test} needs the local DynamoDB server, and AWS_ENDPOINT_URL_DYNAMODB is not set: \
             run scripts/test (it starts moto), or set AUTH_STORAGE_TESTS={SKIP} to leave the \
             storage tests out"
        );
        // Straight to stderr: libtest would swallow `eprintln!` of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "NOT RUN: {test} (AUTH_STORAGE_TESTS={SKIP}: no local DynamoDB server)"
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
