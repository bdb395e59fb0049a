//! Cookie parsing: any `Cookie` header value, searched for the session and CSRF cookies.
#![no_main]

use auth_core::http::HttpRequest;
use http::Method;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    // Values that are no valid header are refused before a function runs.
    if http::HeaderValue::from_str(value).is_err() {
        return;
    }
    let request = HttpRequest::new(Method::GET, "/").with_header("cookie", value);
    for name in ["session", "__Host-session", "login_csrf", "__Host-login_csrf"] {
        let _ = request.cookie(name);
    }
});
