//! PKCE (RFC 7636): syntax of verifiers and challenges, and verification.

use crate::model::{PkceChallenge, PkceMethod};
use crate::secret::{constant_time_eq, sha256_b64};

/// RFC 7636 4.1 and 4.2: 43 to 128 characters of `A-Z a-z 0-9 - . _ ~`.
pub fn is_well_formed(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `verifier` matches the challenge bound to a code, compared in constant time.
pub fn verify(challenge: &PkceChallenge, verifier: &str) -> bool {
    if !is_well_formed(verifier) {
        return false;
    }
    let derived = match challenge.method {
        PkceMethod::S256 => sha256_b64(verifier.as_bytes()),
        PkceMethod::Plain => verifier.to_string(),
    };
    constant_time_eq(derived.as_bytes(), challenge.challenge.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_appendix_b_vector() {
        let challenge = PkceChallenge {
            challenge: CHALLENGE.into(),
            method: PkceMethod::S256,
        };
        assert!(verify(&challenge, VERIFIER));
        assert!(!verify(&challenge, &VERIFIER.replace('d', "e")));
        assert!(
            !verify(&challenge, CHALLENGE),
            "the challenge itself is not a verifier"
        );
    }

    #[test]
    fn plain_compares_the_values() {
        let challenge = PkceChallenge {
            challenge: VERIFIER.into(),
            method: PkceMethod::Plain,
        };
        assert!(verify(&challenge, VERIFIER));
        assert!(!verify(&challenge, CHALLENGE));
    }

    #[test]
    fn syntax_rfc_7636_4_1() {
        assert!(is_well_formed(&"a".repeat(43)));
        assert!(is_well_formed(&"a".repeat(128)));
        assert!(!is_well_formed(&"a".repeat(42)));
        assert!(!is_well_formed(&"a".repeat(129)));
        assert!(is_well_formed(&format!("{}-._~", "A1".repeat(20))));
        assert!(!is_well_formed(&format!("{}+", "a".repeat(43))));
        assert!(!is_well_formed(&format!("{}=", "a".repeat(43))));
    }
}
