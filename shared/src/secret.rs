//! Random values, hashes and comparisons for secrets: codes, tokens, session ids,
//! client secrets. Only hashes of these are ever stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// The redacted formatting, constant-time comparison and access every secret type shares.
/// None derives `PartialEq` (`==` would stop at the first differing byte) or prints its value.
macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            /// The value itself: call only where it leaves to its owner (a response, a cookie).
            pub fn expose(&self) -> &str {
                &self.0
            }

            /// Equality in time that does not depend on where the values differ.
            pub fn matches(&self, other: &Self) -> bool {
                constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }
    };
}

/// A secret issued by this server and stored only as its SHA-256 hash.
macro_rules! issued_secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        secret_type!($(#[$doc])* $name);

        impl $name {
            /// A fresh value of `TOKEN_BYTES` random bytes, base64url.
            pub fn generate() -> Self {
                $name(random_b64(TOKEN_BYTES))
            }

            /// The SHA-256 hash under which the value is stored.
            pub fn hash(&self) -> String {
                sha256_b64(self.0.as_bytes())
            }
        }
    };
}

secret_type!(
    /// A secret without a type of its own: a private key's PEM, a PKCE verifier, a token
    /// presented to revoke or introspect (access or refresh). `Clone` because the in-memory
    /// store hands out copies of the keys it holds.
    #[derive(Clone)]
    Secret
);

impl Secret {
    /// The SHA-256 hash a presented refresh token is looked up by (revoke, introspect).
    pub fn hash(&self) -> String {
        sha256_b64(self.0.as_bytes())
    }
}

issued_secret_type!(
    /// An authorization code (RFC 6749 4.1.2).
    AuthorizationCode
);

issued_secret_type!(
    /// A refresh token's value (RFC 6749 1.5); `model::RefreshToken` is its stored record.
    RefreshTokenSecret
);

issued_secret_type!(
    /// A login session's id, the secret half of the session cookie.
    SessionId
);

issued_secret_type!(
    /// A confidential client's secret (RFC 6749 2.3.1).
    ClientSecret
);

impl ClientSecret {
    /// Whether this is the secret whose hash is stored, compared in constant time.
    pub fn verify(&self, stored_hash: &str) -> bool {
        constant_time_eq(stored_hash.as_bytes(), self.hash().as_bytes())
    }
}

secret_type!(
    /// A user's password, as typed; stored only as an argon2id hash (`password`).
    Password
);

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
/// Milliseconds since the Unix epoch: for ordering events within a second.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

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
        let value = "hunter2";
        let printed = [
            format!("{:?} {}", Secret::new(value), Secret::new(value)),
            format!(
                "{:?} {}",
                AuthorizationCode::new(value),
                AuthorizationCode::new(value)
            ),
            format!(
                "{:?} {}",
                RefreshTokenSecret::new(value),
                RefreshTokenSecret::new(value)
            ),
            format!("{:?} {}", SessionId::new(value), SessionId::new(value)),
            format!(
                "{:?} {}",
                ClientSecret::new(value),
                ClientSecret::new(value)
            ),
            format!(
                "{:?} {:#?} {}",
                Password::new(value),
                Password::new(value),
                Password::new(value)
            ),
            format!("{:?}", Some(Password::new(value))),
        ];
        for printed in printed {
            assert!(!printed.contains(value), "{printed}");
            assert!(printed.contains("[redacted]"), "{printed}");
        }
    }

    #[test]
    fn generated_secrets_carry_256_bits() {
        let a = AuthorizationCode::generate();
        let b = AuthorizationCode::generate();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(SessionId::generate().expose().len(), 43);
        assert_eq!(RefreshTokenSecret::generate().expose().len(), 43);
        assert_eq!(ClientSecret::generate().expose().len(), 43);
    }

    #[test]
    fn secrets_compare_and_verify_by_value() {
        assert!(Password::new("same").matches(&Password::new("same")));
        assert!(!Password::new("same").matches(&Password::new("sane")));
        let secret = ClientSecret::generate();
        assert!(secret.verify(&secret.hash()));
        assert!(!ClientSecret::generate().verify(&secret.hash()));
        // The hash is the stored form of every issued secret: plain SHA-256, base64url.
        assert_eq!(
            SessionId::new("abc").hash(),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
