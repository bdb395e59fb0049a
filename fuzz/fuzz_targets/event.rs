//! The API Gateway event conversion: any event JSON lambda_http accepts becomes a request
//! whose query, form and cookies parse without a panic.
#![no_main]

use auth_core::lambda::into_http_request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    // lambda_http builds the URI from rawPath and rawQueryString and panics on some values
    // (its `expect`): outside our code (docs/reliability.md). That panic is caught here, with
    // libFuzzer's abort-on-panic hook set aside for the call, so that only ours count.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let parsed = std::panic::catch_unwind(|| lambda_http::request::from_str(json));
    std::panic::set_hook(hook);
    let Ok(Ok(request)) = parsed else {
        return;
    };
    let request = into_http_request(request);
    let _ = request.query_params();
    let _ = request.form_params();
    let _ = request.cookie("session");
});
