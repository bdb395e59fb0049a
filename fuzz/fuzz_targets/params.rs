//! Form and query parsing (`Params`): any bytes, from a body or a query string.
#![no_main]

use auth_core::http::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = Params::parse(data) {
        let _ = params.first_repeated();
        for name in ["client_id", "redirect_uri", "scope", "state", "code"] {
            let _ = params.get(name);
            let _ = params.is_repeated(name);
        }
    }
});
