//! The API Gateway event conversion: any event JSON the runtime accepts becomes a request
//! (or the 400 of an unreadable event) whose query, form and cookies parse without a panic.
#![no_main]

use auth_core::lambda::HttpApiEvent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(event) = HttpApiEvent::from_json(json) else {
        return;
    };
    let Ok(request) = event.into_request() else {
        return;
    };
    let _ = request.query_params();
    let _ = request.form_params();
    let _ = request.cookie("session");
});
