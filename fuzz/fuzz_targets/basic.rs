//! HTTP Basic client credentials (RFC 6749 2.3.1): any `Authorization` value.
#![no_main]

use auth_core::client_auth::basic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = std::str::from_utf8(data) {
        let _ = basic(value);
        let _ = basic(&format!("Basic {value}"));
    }
});
