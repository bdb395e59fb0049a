//! Scope parsing (RFC 6749 3.3): a parsed set prints as a value that parses to the same set.
#![no_main]

use auth_core::model::ScopeSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = std::str::from_utf8(data) {
        if let Some(set) = ScopeSet::parse(value) {
            assert_eq!(ScopeSet::parse(&set.to_string()), Some(set));
        }
    }
});
