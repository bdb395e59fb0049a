//! The integration tests of auth-core, as one test binary (`cargo test -p auth-core --test
//! api`): every suite is a module of it, so the AWS SDK and the crate are linked once, not
//! once per file. A test's full name is `<suite>::<test>`, e.g.
//! `token_endpoint::code_rules_are_invalid_grant` or `store_contract::dynamo::<contract>`.
//!
//! - `common`: what the suites share: the `World` fixture (a store with scopes, clients, a
//!   user, a session and a signing key, set up as the handlers need them), the RFC 7636
//!   PKCE vectors, the stored records of the storage tests, and fresh tables on the local
//!   DynamoDB server.
//! - `private_key_jwt`: client authentication with signed assertions (RFC 7523), at token,
//!   revoke and introspect.
//! - `browser_flow`, `token_endpoint`, `userinfo`: the handlers on the in-memory store, one row
//!   per rule.
//! - `openid_connect`: OpenID Connect as a relying party sees it (ID tokens, `prompt`,
//!   `max_age`, `nonce`, discovery), named after the conformance suite's modules.
//! - `events`: the handlers fed by the API Gateway events of `events/`.
//! - `store_contract`: the storage contracts, on both stores; `dynamo_store` and
//!   `round_trips`: what only DynamoDB has (limits, paging, round trips per request);
//!   `races`: a thousand requests at once through the handlers, on DynamoDB.
//!
//! A new suite is a new module here, not a new file directly under `tests/` (which cargo
//! would build and link as a binary of its own): `one_test_binary` below says so.

mod common;

mod account;
mod browser_flow;
mod client_credentials;
mod cors;
mod dynamo_store;
mod error_descriptions;
mod events;
mod grant_revocation;
mod login_throttle;
mod logout;
mod openid_connect;
mod private_key_jwt;
mod properties;
mod races;
mod resource_indicators;
mod round_trips;
mod store_contract;
mod token_endpoint;
mod userinfo;

/// Every integration test of the crate is in this binary: `tests/` holds only `api/`.
#[test]
fn one_test_binary() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests");
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => panic!("cannot list {dir}: {error}"),
    };
    let mut others: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "api")
        .collect();
    others.sort();
    assert!(
        others.is_empty(),
        "shared/tests/ holds {others:?} besides api/: make each suite a module of \
         shared/tests/api/main.rs (one test binary, linked once)"
    );
}
