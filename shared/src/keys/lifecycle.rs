//! The life of a signing key, in one place: which key signs, what each key does at a
//! given time, what a rotation adds and retires, and how long a key that stopped signing
//! stays published. The token function asks only which key signs (`signing_key`);
//! `authctl keys` does the rest through `rotate`, `list` and `delete`.
//!
//! A key is published from the moment it is stored: JWKS lists every stored key, so the
//! lifecycle decides what JWKS publishes by deciding what stays stored. A rotation stores
//! the new key `pending` (published, not yet signing) for twice the time verifiers may
//! cache the key set, so they fetch it before they meet a token signed with it (AWS asks
//! for that order for JWT authorizers). Once due, it is `current`; the key it replaced is
//! `previous` and stays published while tokens it signed may be live: the configured access
//! token lifetime plus the time warm token containers keep signing with the key they
//! loaded. The most recent previous key stays until the next rotation, whatever its age.
//! Keys past that, and pending keys overtaken before they ever signed, are `retired`: the
//! next rotation deletes them.

use crate::config::Config;
use crate::keys::{generate_signing_key, now_millis};
use crate::store::{KeyAdmin, SigningKey, StoreError};

/// How long verifiers may cache the key set: the `max-age` of JWKS's `Cache-Control`
/// (`endpoints::jwks` writes it as a literal, which must match).
pub const JWKS_MAX_AGE_SECONDS: i64 = 300;

/// How long a warm container signs with the key it loaded before looking for a newer one.
pub const SIGNER_CACHE_SECONDS: i64 = 300;

/// The longest delay `keys rotate --activate-in` accepts: a week.
pub const MAX_ACTIVATION_DELAY_SECONDS: u32 = 604_800;

/// A key that signs at once is dated back this much, so that a Lambda clock behind the
/// operator's does not leave the token endpoint without a usable key for a while.
const CLOCK_SKEW_MS: i64 = 300_000;

/// The lifetimes that the lifecycle follows: the configured access token lifetime and
/// the service's cache lifetimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyLifecycle {
    /// How long an access token signed with a key lives (`AUTH_ACCESS_TOKEN_TTL_SECONDS`).
    pub access_token_ttl_seconds: i64,
    /// How long verifiers may cache the key set.
    pub jwks_max_age_seconds: i64,
    /// How long a warm container keeps signing with a key after a newer one is due.
    pub signer_cache_seconds: i64,
}

impl KeyLifecycle {
    /// The lifecycle for tokens that live `access_token_ttl_seconds`.
    pub fn new(access_token_ttl_seconds: i64) -> Self {
        KeyLifecycle {
            access_token_ttl_seconds,
            jwks_max_age_seconds: JWKS_MAX_AGE_SECONDS,
            signer_cache_seconds: SIGNER_CACHE_SECONDS,
        }
    }

    /// The lifecycle of a deployment configured with `config`.
    pub fn from_config(config: &Config) -> Self {
        Self::new(config.access_token_ttl_seconds)
    }

    /// How long a routine rotation publishes the new key before it signs: twice the time
    /// verifiers may cache the key set.
    pub fn default_activation_delay_seconds(&self) -> i64 {
        2 * self.jwks_max_age_seconds
    }

    /// How long a key that stopped signing stays published: warm containers may sign with it
    /// for `signer_cache_seconds` more, and its tokens live up to `access_token_ttl_seconds`.
    pub fn retention_ms(&self) -> i64 {
        (self.signer_cache_seconds + self.access_token_ttl_seconds) * 1000
    }

    /// The roles of `keys_newest_first` (by creation, the order in which `signing_key` looks
    /// at them) at `now_ms`.
    pub fn roles(&self, keys_newest_first: &[SigningKey], now_ms: i64) -> Vec<KeyRole> {
        let mut walk = self.walk_newest_first(now_ms);
        keys_newest_first
            .iter()
            .map(|key| walk.role_of(key))
            .collect()
    }

    fn walk_newest_first(&self, now_ms: i64) -> RoleWalk {
        RoleWalk {
            now_ms,
            retention_ms: self.retention_ms(),
            newer_starts: i64::MAX,
            current_seen: false,
            previous_seen: false,
        }
    }

    /// Seconds from its creation until a new key signs. The first key signs at once: there
    /// is nothing to protect and nothing else to sign with. Otherwise `requested`, by default
    /// `default_activation_delay_seconds`.
    pub fn activation_delay_seconds(
        &self,
        existing_newest_first: &[SigningKey],
        now_ms: i64,
        requested: Option<u32>,
    ) -> i64 {
        if signing_key(existing_newest_first, now_ms).is_none() {
            return 0;
        }
        requested.map_or_else(|| self.default_activation_delay_seconds(), i64::from)
    }

    /// A rotation at `now_ms` that adds `new_key` (just generated) to the stored keys: when
    /// the new key signs, and the roles of every key once it is stored.
    pub fn plan_rotation(
        &self,
        existing_newest_first: Vec<SigningKey>,
        mut new_key: SigningKey,
        now_ms: i64,
        requested_delay: Option<u32>,
    ) -> RotationPlan {
        let delay_seconds =
            self.activation_delay_seconds(&existing_newest_first, now_ms, requested_delay);
        new_key.active_from = if delay_seconds == 0 {
            new_key.created_at - CLOCK_SKEW_MS
        } else {
            new_key.created_at + delay_seconds * 1000
        };
        // The new key is the newest: the stored keys' roles follow from it.
        let mut walk = self.walk_newest_first(now_ms.max(new_key.created_at));
        let new_key_role = walk.role_of(&new_key);
        let stored = existing_newest_first
            .into_iter()
            .map(|key| {
                let role = walk.role_of(&key);
                (key, role)
            })
            .collect();
        RotationPlan {
            delay_seconds,
            new_key,
            new_key_role,
            stored,
        }
    }
}

/// The roles of keys met newest first: each depends on the newer ones.
struct RoleWalk {
    now_ms: i64,
    retention_ms: i64,
    /// When the newer keys seen so far started signing (the earliest): a key stops signing
    /// when a newer one starts.
    newer_starts: i64,
    current_seen: bool,
    previous_seen: bool,
}

impl RoleWalk {
    fn role_of(&mut self, key: &SigningKey) -> KeyRole {
        // A key cannot sign before it exists, whatever its (backdated) active_from says.
        let starts = key.active_from.max(key.created_at);
        let role = if key.active_from > self.now_ms {
            KeyRole::Pending
        } else if !self.current_seen {
            self.current_seen = true;
            KeyRole::Current
        } else if starts >= self.newer_starts {
            KeyRole::Retired // overtaken before it ever signed
        } else if !self.previous_seen {
            self.previous_seen = true;
            KeyRole::Previous
        } else if self.now_ms - self.newer_starts > self.retention_ms {
            KeyRole::Retired
        } else {
            KeyRole::Previous
        };
        self.newer_starts = self.newer_starts.min(starts);
        role
    }
}

/// What a key does at a given time.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KeyRole {
    /// Published, signs from its `active_from`.
    Pending,
    /// The newest key already active: the one that signs.
    Current,
    /// Signed before the current key; published while its tokens may be live.
    Previous,
    /// Never signed (overtaken while pending) or stopped long enough ago: no longer needed.
    Retired,
}

impl KeyRole {
    pub fn name(self) -> &'static str {
        match self {
            KeyRole::Pending => "pending",
            KeyRole::Current => "current",
            KeyRole::Previous => "previous",
            KeyRole::Retired => "retired",
        }
    }
}

/// The key that signs at `now_ms`: the newest of those already active. A key rotated in
/// with a delay is published (JWKS) before it signs, so that verifiers that cache the key
/// set have fetched it before they meet a token signed with it.
pub fn signing_key(keys_newest_first: &[SigningKey], now_ms: i64) -> Option<&SigningKey> {
    keys_newest_first.iter().find(|k| k.active_from <= now_ms)
}

/// A rotation decided before anything is written.
#[derive(Debug)]
pub struct RotationPlan {
    /// Seconds from the new key's creation until it signs.
    pub delay_seconds: i64,
    /// The new key, with the `active_from` the plan gives it.
    pub new_key: SigningKey,
    pub new_key_role: KeyRole,
    /// The stored keys, newest first, each with its role once the new key is stored.
    pub stored: Vec<(SigningKey, KeyRole)>,
}

impl RotationPlan {
    /// Every key once the new one is stored, newest first, with its role.
    pub fn keys(&self) -> impl Iterator<Item = (&SigningKey, KeyRole)> {
        std::iter::once((&self.new_key, self.new_key_role))
            .chain(self.stored.iter().map(|(key, role)| (key, *role)))
    }

    /// The newest key with `role`.
    pub fn kid_with(&self, role: KeyRole) -> Option<&str> {
        self.keys()
            .find(|(_, r)| *r == role)
            .map(|(key, _)| key.kid.as_str())
    }

    /// The stored keys that the rotation deletes.
    pub fn retired(&self) -> impl Iterator<Item = &str> {
        self.stored
            .iter()
            .filter(|(_, role)| *role == KeyRole::Retired)
            .map(|(key, _)| key.kid.as_str())
    }
}

/// What a rotation did.
#[derive(Debug, PartialEq, Eq)]
pub struct Rotation {
    pub kid: String,
    /// Milliseconds since the Unix epoch, as stored.
    pub created_at: i64,
    pub active_from: i64,
    /// Seconds from creation until the new key signs (0: it signs now).
    pub delay_seconds: i64,
    /// The key that signs now: the new one when it signs at once.
    pub signing: Option<String>,
    /// The most recent key that signed before the current one, still published.
    pub previous: Option<String>,
    /// The keys this rotation deleted.
    pub retired: Vec<String>,
}

#[derive(Debug)]
pub enum RotateError {
    /// The system's generator failed.
    Generation(String),
    /// A key with this kid is stored already.
    AlreadyStored(String),
    Storage(StoreError),
}

impl From<StoreError> for RotateError {
    fn from(error: StoreError) -> Self {
        RotateError::Storage(error)
    }
}

#[derive(Debug)]
pub enum DeleteError {
    /// The key is the one that signs now: rotate first.
    SignsNow,
    Storage(StoreError),
}

impl From<StoreError> for DeleteError {
    fn from(error: StoreError) -> Self {
        DeleteError::Storage(error)
    }
}

/// Stores a new key that signs after `requested_delay` seconds (see
/// `activation_delay_seconds`) and deletes the keys that are retired once it is stored.
pub async fn rotate(
    store: &impl KeyAdmin,
    lifecycle: &KeyLifecycle,
    requested_delay: Option<u32>,
) -> Result<Rotation, RotateError> {
    let now_ms = now_millis();
    let existing = store.list_public_keys().await?;
    let new_key = generate_signing_key().map_err(RotateError::Generation)?;
    let plan = lifecycle.plan_rotation(existing, new_key, now_ms, requested_delay);
    let new_key = &plan.new_key;
    match store.put_key(new_key).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists) => {
            return Err(RotateError::AlreadyStored(new_key.kid.clone()))
        }
        Err(error) => return Err(error.into()),
    }
    let mut retired = Vec::new();
    for kid in plan.retired() {
        match store.delete_key(kid).await {
            // Deleted meanwhile by another operator: retired all the same.
            Ok(()) | Err(StoreError::NotFound) => retired.push(kid.to_string()),
            Err(error) => return Err(error.into()),
        }
    }
    Ok(Rotation {
        kid: new_key.kid.clone(),
        created_at: new_key.created_at,
        active_from: new_key.active_from,
        delay_seconds: plan.delay_seconds,
        signing: plan.kid_with(KeyRole::Current).map(str::to_string),
        previous: plan.kid_with(KeyRole::Previous).map(str::to_string),
        retired,
    })
}

/// Every stored key (public parts only), newest first, with its role now.
pub async fn list(
    store: &impl KeyAdmin,
    lifecycle: &KeyLifecycle,
) -> Result<Vec<(SigningKey, KeyRole)>, StoreError> {
    let keys = store.list_public_keys().await?;
    let roles = lifecycle.roles(&keys, now_millis());
    Ok(keys.into_iter().zip(roles).collect())
}

/// Deletes a key, unless it is the one that signs now: warm containers would go on signing
/// with it for up to `SIGNER_CACHE_SECONDS` (tokens that no longer verify), then fall back
/// to an older key or to none.
pub async fn delete(store: &impl KeyAdmin, kid: &str) -> Result<(), DeleteError> {
    let keys = store.list_public_keys().await?;
    if signing_key(&keys, now_millis()).is_some_and(|key| key.kid == kid) {
        return Err(DeleteError::SignsNow);
    }
    store.delete_key(kid).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;
    use crate::store::PublicKeyReader;

    const SECOND: i64 = 1000;
    const HOUR: i64 = 3600 * SECOND;
    const DAY: i64 = 24 * HOUR;

    /// A key's public parts with these times; the kid names it in assertions.
    fn key(kid: &str, created_at: i64, active_from: i64) -> SigningKey {
        SigningKey {
            kid: kid.to_string(),
            created_at,
            active_from,
            private_pem: None,
            n: String::new(),
            e: String::new(),
        }
    }

    fn role_names(lifecycle: &KeyLifecycle, keys: &[SigningKey], now_ms: i64) -> Vec<&'static str> {
        lifecycle
            .roles(keys, now_ms)
            .into_iter()
            .map(KeyRole::name)
            .collect()
    }

    fn generated() -> SigningKey {
        match generate_signing_key() {
            Ok(key) => key,
            Err(err) => panic!("{err}"),
        }
    }

    #[test]
    fn lifetimes_come_from_the_configuration() {
        let lifecycle = KeyLifecycle::from_config(&Config::for_tests());
        assert_eq!(lifecycle.access_token_ttl_seconds, 900);
        assert_eq!(lifecycle.retention_ms(), (300 + 900) * SECOND);
        assert_eq!(lifecycle.default_activation_delay_seconds(), 600);
        assert_eq!(
            KeyLifecycle::new(86_400).retention_ms(),
            (300 + 86_400) * SECOND
        );
        let slow_cache = KeyLifecycle {
            jwks_max_age_seconds: 3600,
            ..lifecycle
        };
        assert_eq!(slow_cache.default_activation_delay_seconds(), 7200);
    }

    #[test]
    fn roles_over_time_follow_a_routine_rotation() {
        let lifecycle = KeyLifecycle::new(900);
        let t0 = 1_000 * DAY;
        let keys = [
            key("new", t0 + DAY, t0 + DAY + 600 * SECOND),
            key("old", t0, t0),
        ];
        let at = |offset: i64| role_names(&lifecycle, &keys, t0 + DAY + offset);
        // Published first: the old key signs until the new one is due.
        assert_eq!(at(0), ["pending", "current"]);
        assert_eq!(at(599 * SECOND), ["pending", "current"]);
        assert_eq!(at(600 * SECOND), ["current", "previous"]);
        // The most recent previous key stays, however old, until the next rotation.
        assert_eq!(at(30 * DAY), ["current", "previous"]);
        assert_eq!(
            signing_key(&keys, t0 + DAY + 599 * SECOND).map(|k| k.kid.as_str()),
            Some("old")
        );
        assert_eq!(
            signing_key(&keys, t0 + DAY + 600 * SECOND).map(|k| k.kid.as_str()),
            Some("new")
        );
        assert!(signing_key(&keys, t0 - 1).is_none());
        assert_eq!(
            role_names(&lifecycle, &keys, t0 - 1),
            ["pending", "pending"]
        );
    }

    #[test]
    fn an_older_key_is_kept_while_its_tokens_may_live() {
        let t0 = 1_000 * DAY;
        // Each key signed from its creation until the next one started: `first` stopped at
        // t0 + DAY, and since `third` started it is no longer the most recent previous key.
        let stopped = t0 + DAY;
        let keys = [
            key("third", stopped + 600 * SECOND, stopped + 600 * SECOND),
            key("second", stopped, stopped),
            key("first", t0, t0),
        ];
        // Kept for 300 s (warm containers may still sign with it) plus the token lifetime.
        let short = KeyLifecycle::new(900);
        assert_eq!(short.retention_ms(), 1200 * SECOND);
        assert_eq!(
            role_names(&short, &keys, stopped + 1200 * SECOND),
            ["current", "previous", "previous"]
        );
        assert_eq!(
            role_names(&short, &keys, stopped + 1200 * SECOND + 1),
            ["current", "previous", "retired"]
        );
        // With day-long tokens, the same key is needed a day and five minutes after.
        let long = KeyLifecycle::new(86_400);
        assert_eq!(
            role_names(&long, &keys, stopped + DAY + 300 * SECOND),
            ["current", "previous", "previous"]
        );
        assert_eq!(
            role_names(&long, &keys, stopped + DAY + 300 * SECOND + 1),
            ["current", "previous", "retired"]
        );
    }

    #[test]
    fn a_pending_key_overtaken_by_an_immediate_rotation_is_retired() {
        let lifecycle = KeyLifecycle::new(900);
        let t0 = 1_000 * DAY;
        let keys = [
            // After a compromise: signs at once (dated back, as `plan_rotation` does).
            key(
                "emergency",
                t0 + 60 * SECOND,
                t0 + 60 * SECOND - CLOCK_SKEW_MS,
            ),
            // A routine rotation a minute earlier, due in ten minutes: it never signs.
            key("overtaken", t0, t0 + 600 * SECOND),
            key("compromised", t0 - DAY, t0 - DAY),
        ];
        assert_eq!(
            role_names(&lifecycle, &keys, t0 + 61 * SECOND),
            ["current", "pending", "previous"]
        );
        // Once due, it would not sign either: a newer key started first.
        assert_eq!(
            role_names(&lifecycle, &keys, t0 + HOUR),
            ["current", "retired", "previous"]
        );
        assert_eq!(
            role_names(&lifecycle, &keys, t0 + 2 * DAY),
            ["current", "retired", "previous"]
        );
    }

    #[test]
    fn the_first_key_signs_at_once_and_later_ones_after_the_delay() {
        let lifecycle = KeyLifecycle::new(900);
        let now = now_millis();
        let first = lifecycle.plan_rotation(Vec::new(), generated(), now, Some(600));
        let new = &first.new_key;
        assert_eq!(first.delay_seconds, 0);
        assert_eq!(new.active_from, new.created_at - CLOCK_SKEW_MS);
        assert_eq!(first.kid_with(KeyRole::Current), Some(new.kid.as_str()));

        let stored = || vec![key("stored", now - DAY, now - DAY)];
        let routine = lifecycle.plan_rotation(stored(), generated(), now, None);
        let new = &routine.new_key;
        assert_eq!(routine.delay_seconds, 600);
        assert_eq!(new.active_from, new.created_at + 600 * SECOND);
        assert_eq!(routine.kid_with(KeyRole::Pending), Some(new.kid.as_str()));
        assert_eq!(routine.kid_with(KeyRole::Current), Some("stored"));
        assert_eq!(routine.retired().count(), 0);

        let immediate = lifecycle.plan_rotation(stored(), generated(), now, Some(0));
        assert_eq!(immediate.delay_seconds, 0);
        assert_eq!(immediate.kid_with(KeyRole::Previous), Some("stored"));
    }

    #[test]
    fn rotation_retires_what_no_token_needs() {
        let lifecycle = KeyLifecycle::new(900);
        let now = now_millis();
        let existing = || {
            vec![
                key("pending", now - 60 * SECOND, now + 540 * SECOND),
                key("current", now - 2 * DAY, now - 2 * DAY),
                key("previous", now - 3 * DAY, now - 3 * DAY),
                key("stale", now - 4 * DAY, now - 4 * DAY),
            ]
        };
        // The stale key stopped signing three days ago; the others may still be needed.
        let routine = lifecycle.plan_rotation(existing(), generated(), now, None);
        assert_eq!(routine.retired().collect::<Vec<_>>(), ["stale"]);
        assert_eq!(routine.kid_with(KeyRole::Previous), Some("previous"));
        // An immediate one makes `current` the previous key, and `previous`, which stopped
        // two days ago, is no longer needed. It overtakes the pending key, which is deleted
        // by the first rotation after it is due (it will never sign).
        let immediate = lifecycle.plan_rotation(existing(), generated(), now, Some(0));
        assert_eq!(
            immediate.retired().collect::<Vec<_>>(),
            ["previous", "stale"]
        );
        assert_eq!(immediate.kid_with(KeyRole::Pending), Some("pending"));
        assert_eq!(immediate.kid_with(KeyRole::Previous), Some("current"));
    }

    #[tokio::test]
    async fn rotate_stores_the_new_key_and_deletes_the_retired_ones() {
        let store = MemoryStore::default();
        let lifecycle = KeyLifecycle::new(900);
        let now = now_millis();
        for stored in [
            key("older", now - 2 * DAY, now - 2 * DAY),
            key("oldest", now - 3 * DAY, now - 3 * DAY),
        ] {
            assert!(store.put_key(&stored).await.is_ok());
        }
        let Ok(rotation) = rotate(&store, &lifecycle, None).await else {
            panic!("rotation failed")
        };
        assert_eq!(rotation.delay_seconds, 600);
        assert_eq!(rotation.signing.as_deref(), Some("older"));
        assert_eq!(rotation.previous.as_deref(), Some("oldest"));
        assert!(rotation.retired.is_empty());

        let Ok(emergency) = rotate(&store, &lifecycle, Some(0)).await else {
            panic!("rotation failed")
        };
        assert_eq!(emergency.signing.as_deref(), Some(emergency.kid.as_str()));
        assert_eq!(emergency.previous.as_deref(), Some("older"));
        // `oldest` stopped signing two days ago; the routine key is still pending.
        assert_eq!(emergency.retired, ["oldest"]);
        let listed = list(&store, &lifecycle).await.unwrap_or_default();
        let listed: Vec<(&str, KeyRole)> = listed
            .iter()
            .map(|(key, role)| (key.kid.as_str(), *role))
            .collect();
        assert_eq!(
            listed,
            [
                (emergency.kid.as_str(), KeyRole::Current),
                (rotation.kid.as_str(), KeyRole::Pending),
                ("older", KeyRole::Previous)
            ]
        );
    }

    #[tokio::test]
    async fn the_key_that_signs_cannot_be_deleted() {
        let store = MemoryStore::default();
        let now = now_millis();
        for stored in [
            key("pending", now, now + 600 * SECOND),
            key("current", now - DAY, now - DAY),
        ] {
            assert!(store.put_key(&stored).await.is_ok());
        }
        assert!(matches!(
            delete(&store, "current").await,
            Err(DeleteError::SignsNow)
        ));
        // A pending key is not signing yet: it may go.
        assert!(delete(&store, "pending").await.is_ok());
        assert!(matches!(
            delete(&store, "pending").await,
            Err(DeleteError::Storage(StoreError::NotFound))
        ));
        assert_eq!(
            store.list_public_keys().await.map(|keys| keys.len()).ok(),
            Some(1)
        );
    }
}
