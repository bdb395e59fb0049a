//! The syntax of the identifiers that become DynamoDB keys. Each is checked before any
//! lookup, so that request text no registration could have produced (empty, too long,
//! outside the alphabet) costs no round trip and is answered like an unknown id.
//!
//! | identifier | alphabet | length |
//! |---|---|---|
//! | client id | `A-Z a-z 0-9 . _ -` | 1 to 64 characters |
//! | username | `A-Z a-z 0-9 . _ @ -` | 1 to 64 characters |
//! | key id (`kid`) | `A-Z a-z 0-9 . _ -` (RFC 7638 thumbprints are 43 base64url characters) | 1 to 128 characters |
//! | scope name | RFC 6749 3.3 scope token: printable ASCII but space, `"` and `\` | 1 to 128 characters |
//!
//! `authctl` generates client ids of 32 hex digits and kids of 43 base64url characters, and
//! refuses any other value outside these rules, so every stored identifier satisfies them.
//! All are ASCII: a character is a byte, far below DynamoDB's key limits (`store::keys`).

pub const MAX_CLIENT_ID_LEN: usize = 64;
pub const MAX_USERNAME_LEN: usize = 64;
pub const MAX_KID_LEN: usize = 128;
pub const MAX_SCOPE_NAME_LEN: usize = 128;

/// A client id: 1 to 64 characters of `[A-Za-z0-9._-]`.
pub fn is_client_id(value: &str) -> bool {
    is_id(value, MAX_CLIENT_ID_LEN, |b| {
        b.is_ascii_alphanumeric() || b"._-".contains(&b)
    })
}

/// A username: 1 to 64 characters of `[A-Za-z0-9._@-]`.
pub fn is_username(value: &str) -> bool {
    is_id(value, MAX_USERNAME_LEN, |b| {
        b.is_ascii_alphanumeric() || b"._@-".contains(&b)
    })
}

/// A signing key id: 1 to 128 characters of `[A-Za-z0-9._-]`.
pub fn is_kid(value: &str) -> bool {
    is_id(value, MAX_KID_LEN, |b| {
        b.is_ascii_alphanumeric() || b"._-".contains(&b)
    })
}

/// A scope name: an RFC 6749 3.3 scope token (`%x21 / %x23-5B / %x5D-7E`) of at most 128 characters.
pub fn is_scope_name(value: &str) -> bool {
    is_id(value, MAX_SCOPE_NAME_LEN, |b| {
        b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b)
    })
}

/// Bytes, not characters: every allowed character is ASCII, so any other byte refuses the value.
fn is_id(value: &str, max_len: usize, allowed: impl Fn(u8) -> bool) -> bool {
    !value.is_empty() && value.len() <= max_len && value.bytes().all(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate_signing_key;
    use crate::secret::random_id;

    #[test]
    fn client_ids() {
        for good in ["demo-client", "a", "App_1.2", &"x".repeat(64), &random_id()] {
            assert!(is_client_id(good), "{good}");
        }
        for bad in [
            "",
            "with space",
            "slash/",
            "at@sign",
            "colon:",
            "caf\u{e9}",
            "a\0",
            &"x".repeat(65),
            &"x".repeat(3000),
        ] {
            assert!(!is_client_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn usernames() {
        for good in ["alice", "alice@example.com", "a.b_c-d", &"u".repeat(64)] {
            assert!(is_username(good), "{good}");
        }
        for bad in [
            "",
            "al ice",
            "alice:x",
            "\u{e9}mile",
            "a\n",
            &"u".repeat(65),
        ] {
            assert!(!is_username(bad), "{bad:?}");
        }
    }

    #[test]
    fn generated_kids_are_valid() {
        let Ok(key) = generate_signing_key() else {
            panic!("key generation failed")
        };
        assert!(is_kid(&key.kid), "{}", key.kid);
        assert!(is_kid("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
        for bad in ["", "a b", "a/b", "a+b", &"k".repeat(129)] {
            assert!(!is_kid(bad), "{bad:?}");
        }
    }

    #[test]
    fn scope_names_are_rfc_6749_scope_tokens() {
        for good in ["read", "orders:read", "https://api.example/x", "!#[]~"] {
            assert!(is_scope_name(good), "{good}");
        }
        for bad in [
            "",
            "a b",
            "bad\"quote",
            "back\\slash",
            "caf\u{e9}",
            &"s".repeat(129),
        ] {
            assert!(!is_scope_name(bad), "{bad:?}");
        }
        assert!(is_scope_name(&"s".repeat(128)));
    }
}
