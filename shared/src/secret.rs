//! Random values, hashes and comparisons for secrets: codes, tokens, session ids,
//! client secrets. Only hashes of these are ever stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// A secret value (token, code, password, client secret). `Debug` and `Display`
/// print `[redacted]`, so it cannot slip into a log line by formatting.
#[derive(PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// A fresh random secret of `bytes` bytes from the operating system's CSPRNG, base64url.
    pub fn generate(bytes: usize) -> Self {
        Secret(random_b64(bytes))
    }

    /// The value itself: call only where it leaves to its owner (a response, a cookie).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 hash under which the secret is stored.
    pub fn hash(&self) -> String {
        sha256_b64(self.0.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// 32 bytes (256 bits) for codes, tokens, session ids and client secrets:
/// twice the 128 bits that RFC 6749 10.10 asks for.
pub const TOKEN_BYTES: usize = 32;

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS CSPRNG failing is not recoverable: nothing secret may be issued without it.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut bytes).expect("the system CSPRNG is unavailable");
    bytes
}

pub fn random_b64(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut buffer).expect("the system CSPRNG is unavailable");
    URL_SAFE_NO_PAD.encode(buffer)
}

/// A short random identifier (128 bits, hex) for things that are not secret: client ids, `jti`, `sub`.
pub fn random_id() -> String {
    random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn sha256_b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(data))
}

/// Compares two byte strings in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_when_formatted() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?} {secret}"), "[redacted] [redacted]");
    }

    #[test]
    fn generated_secrets_carry_256_bits() {
        let a = Secret::generate(TOKEN_BYTES);
        let b = Secret::generate(TOKEN_BYTES);
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
