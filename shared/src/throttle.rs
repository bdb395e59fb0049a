//! Sign-in throttling (issue 12.1; the policy and why these numbers: docs/security.md,
//! "Sign-in throttling"). Two counters per account name, in fixed 15-minute windows:
//!
//! - attempts from one source network: a hard limit, counted atomically *before* the
//!   password is checked (one conditional `UpdateItem`), cleared by a successful sign-in;
//! - failures from every source: a soft ceiling, above which each answer for the account
//!   waits a little longer, up to a bounded delay. It never refuses, so an attacker
//!   elsewhere cannot keep the owner out.

use crate::store::keys::{throttle_account_key, throttle_source_key};
use std::net::IpAddr;
use std::time::Duration;

/// Attempts on one account from one source network per window; the next is refused (429)
/// without checking the password.
pub const SOURCE_LIMIT: u32 = 5;
/// The length of a window; counters live until its end.
pub const WINDOW_SECONDS: i64 = 15 * 60;

/// Seconds from `now` until the current counting window ends (a locked source's `Retry-After`).
pub fn seconds_until_next_window(now: i64) -> i64 {
    WINDOW_SECONDS - now.rem_euclid(WINDOW_SECONDS)
}
/// Failed sign-ins of one account from all sources per window before answers slow down:
/// 25 in 15 minutes, ASVS 4.0 2.2.1's "no more than 100 failed attempts per hour".
pub const ACCOUNT_CEILING: u32 = 25;
/// What each failure above the ceiling adds to the wait.
pub const DELAY_STEP: Duration = Duration::from_millis(100);
/// The longest wait: a sleeping Lambda is billed and holds one of the login function's
/// reserved concurrent executions.
pub const MAX_DELAY: Duration = Duration::from_secs(1);

/// The counters of one sign-in attempt: their keys in the throttle table and when they end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInCounters {
    /// Attempts on this account from this source network (hard limit).
    pub source: String,
    /// Failures of this account from every source (soft ceiling).
    pub account: String,
    /// The end of the window: the counters' TTL.
    pub expires_at: i64,
}

impl SignInCounters {
    /// The counters of an attempt on `username` (a valid account name) at `now`.
    pub fn new(username: &str, source_ip: Option<IpAddr>, now: i64) -> Self {
        let window = now.div_euclid(WINDOW_SECONDS);
        let network = source_network(source_ip);
        SignInCounters {
            source: throttle_source_key(username, &network, window),
            account: throttle_account_key(username, window),
            expires_at: (window + 1) * WINDOW_SECONDS,
        }
    }
}

/// The network an address stands for: an IPv4 address itself, an IPv6 address its /64 (one
/// subscriber usually holds a whole /64, so counting single IPv6 addresses would give an
/// attacker 2^64 sources), an IPv4-mapped IPv6 address its IPv4 address. Without an
/// address (never behind API Gateway), every attempt counts as one source.
pub fn source_network(source_ip: Option<IpAddr>) -> String {
    match source_ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_string(),
    }
}

/// How long an attempt waits before its password is checked, given the account's failures
/// from every source in this window: nothing up to the ceiling, then 100 ms more per
/// failure above it, at most 1 s. The wait does not depend on the password, so a fast
/// answer tells nothing.
pub fn delay(account_failures: u32) -> Duration {
    let above = account_failures.saturating_sub(ACCOUNT_CEILING);
    DELAY_STEP.saturating_mul(above).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_source_may_try_again_when_the_window_ends() {
        assert_eq!(seconds_until_next_window(0), WINDOW_SECONDS);
        assert_eq!(seconds_until_next_window(WINDOW_SECONDS - 1), 1);
        assert_eq!(
            seconds_until_next_window(10 * WINDOW_SECONDS + 60),
            WINDOW_SECONDS - 60
        );
    }
    use crate::store::keys::is_storable;

    #[test]
    fn networks_are_ipv4_addresses_and_ipv6_slash_64s() {
        let network = |ip: &str| source_network(ip.parse().ok());
        assert_eq!(network("198.51.100.23"), "198.51.100.23");
        assert_eq!(network("::ffff:198.51.100.23"), "198.51.100.23");
        assert_eq!(
            network("2001:db8:aaaa:bbbb:1:2:3:4"),
            network("2001:db8:aaaa:bbbb:ffff:ffff:ffff:ffff")
        );
        assert_eq!(network("2001:db8:aaaa:bbbb::1"), "2001:db8:aaaa:bbbb::/64");
        assert_ne!(
            network("2001:db8:aaaa:bbbb::1"),
            network("2001:db8:aaaa:bbbc::1")
        );
        assert_eq!(source_network(None), "unknown");
    }

    #[test]
    fn counters_change_with_the_window_and_the_source_only() {
        let ip = "203.0.113.7".parse().ok();
        let t: i64 = 1_700_000_100;
        let start = t - t.rem_euclid(WINDOW_SECONDS);
        let a = SignInCounters::new("alice", ip, start);
        assert_eq!(
            a,
            SignInCounters::new("alice", ip, start + WINDOW_SECONDS - 1)
        );
        assert_eq!(a.expires_at, start + WINDOW_SECONDS);
        let next = SignInCounters::new("alice", ip, start + WINDOW_SECONDS);
        assert_ne!(a.source, next.source);
        assert_ne!(a.account, next.account);
        let elsewhere = SignInCounters::new("alice", "203.0.113.8".parse().ok(), start);
        assert_ne!(a.source, elsewhere.source);
        assert_eq!(a.account, elsewhere.account);
        assert_ne!(a.account, SignInCounters::new("bob", ip, start).account);
    }

    #[test]
    fn keys_fit_dynamodb_for_the_longest_name_and_address() {
        let name = "n".repeat(64); // ids::is_username allows 1 to 64 characters
        let ip = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".parse().ok();
        let counters = SignInCounters::new(&name, ip, 99_999_999_999);
        assert!(is_storable(&counters.source, None));
        assert!(is_storable(&counters.account, None));
        assert!(counters.source.len() < 200, "{}", counters.source);
    }

    #[test]
    fn the_delay_grows_above_the_ceiling_and_stays_bounded() {
        assert_eq!(delay(0), Duration::ZERO);
        assert_eq!(delay(ACCOUNT_CEILING), Duration::ZERO);
        assert_eq!(delay(ACCOUNT_CEILING + 1), Duration::from_millis(100));
        assert_eq!(delay(ACCOUNT_CEILING + 5), Duration::from_millis(500));
        assert_eq!(delay(ACCOUNT_CEILING + 10), MAX_DELAY);
        assert_eq!(delay(u32::MAX), MAX_DELAY);
    }
}
