//! JWT verification of our access tokens: nothing but a token we signed verifies, whatever
//! its header claims (`none`, HS256 keyed with the public key, another `kid`).
#![no_main]

use auth_core::config::Config;
use auth_core::keys::generate_signing_key;
use auth_core::store::SigningKey;
use auth_core::tokens::verify_access_token;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn keys() -> &'static [SigningKey] {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    KEYS.get_or_init(|| generate_signing_key().into_iter().collect())
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let config = Config::for_tests();
    assert!(verify_access_token(&config, keys(), token).is_none());
});
