//! PKCE (RFC 7636): any verifier against a fixed challenge of each method.
#![no_main]

use auth_core::model::{PkceChallenge, PkceMethod};
use auth_core::pkce;
use libfuzzer_sys::fuzz_target;

// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fuzz_target!(|data: &[u8]| {
    let Ok(verifier) = std::str::from_utf8(data) else {
        return;
    };
    let _ = pkce::is_well_formed(verifier);
    let s256 = PkceChallenge {
        challenge: CHALLENGE.into(),
        method: PkceMethod::S256,
    };
    assert_eq!(pkce::verify(&s256, verifier), verifier == VERIFIER);
    let plain = PkceChallenge {
        challenge: VERIFIER.into(),
        method: PkceMethod::Plain,
    };
    assert_eq!(pkce::verify(&plain, verifier), verifier == VERIFIER);
});
