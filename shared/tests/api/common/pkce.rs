//! The PKCE example of RFC 7636 Appendix B: a code verifier and its S256 challenge.

/// RFC 7636 Appendix B: the code verifier.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// RFC 7636 Appendix B: `BASE64URL(SHA256(VERIFIER))`, the S256 code challenge.
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
