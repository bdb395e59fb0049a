//! Where a browser may be sent: `return_to` after sign-in, and redirect URIs at registration.
#![no_main]

use auth_core::client::check_redirect_uri;
use auth_core::endpoints::login::safe_return_to;
use auth_core::model::ClientKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(accepted) = safe_return_to(Some(value)) {
        let path = accepted.split('?').next().unwrap_or("");
        assert!(path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'));
    }
    for kind in [ClientKind::Public, ClientKind::Confidential] {
        if check_redirect_uri(value, kind).is_ok() {
            assert!(!value.contains('#'));
        }
    }
});
