//! Storage, split by capability so that each handler asks only for what it uses
//! (which matches each function's least-privilege IAM policy): a `...Reader` is what a
//! function reads, a `...Admin` what only authctl changes (its IAM is the operator's). `dynamo` is the
//! implementation that runs; `memory` serves fast unit tests of domain logic. Both check
//! keys against DynamoDB's limits before anything else (`keys`).

pub mod dynamo;
pub mod keys;
pub mod memory;

pub use crate::authorization_context::{AuthorizationContext, AuthorizationRecords};

use crate::authorization_context;
use crate::model::{
    Account, Client, Consent, Grant, Profile, RefreshToken, Scope, Session, TokenFamily, User,
};
use crate::resource::Resource;
use crate::secret::Secret;
use std::fmt;
use std::future::Future;

#[derive(Debug)]
pub enum StoreError {
    /// A create-if-absent write found the item already there.
    AlreadyExists,
    /// An update or delete found no such item.
    NotFound,
    /// The store refused the call for good (a permission, a missing table); the cause is for
    /// the log.
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    /// The store did not answer in time, lost the connection, throttled or failed on its
    /// side, after the SDK's retries: trying again shortly may succeed.
    Transient(Box<dyn std::error::Error + Send + Sync>),
    /// An item is missing an attribute or has one of the wrong type.
    Corrupt(String),
    /// A write named a key DynamoDB refuses (empty, or over its length limit): nothing was sent.
    /// The key came from a request, so this is the request's fault, not the store's.
    InvalidKey,
    /// An item over DynamoDB's 400 KB limit: nothing was sent.
    ItemTooLarge,
    /// A transaction was cancelled by a concurrent one or by throttling (the reason codes):
    /// transient, never a domain outcome such as a lost race.
    Contention(String),
}

impl StoreError {
    /// Refused before anything was sent, because of what the request carried: the answer is
    /// a client error, and it is no storage failure.
    pub fn is_request_error(&self) -> bool {
        matches!(self, StoreError::InvalidKey | StoreError::ItemTooLarge)
    }

    /// Worth trying again shortly: the answer is `503` with `Retry-After`, and nothing was
    /// decided (a transaction cancelled by contention wrote nothing).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Transient(_) | StoreError::Contention(_))
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::AlreadyExists => f.write_str("the item already exists"),
            StoreError::NotFound => f.write_str("no such item"),
            // The SDK's top-level error says only "service error": the chain says which
            // (e.g. AccessDeniedException naming the function's identity and the action).
            StoreError::Unavailable(cause) => {
                f.write_str("storage unavailable: ")?;
                write_chain(f, cause.as_ref())
            }
            StoreError::Transient(cause) => {
                f.write_str("storage busy or unreachable: ")?;
                write_chain(f, cause.as_ref())
            }
            StoreError::Corrupt(what) => write!(f, "corrupt item: {what}"),
            StoreError::InvalidKey => f.write_str("a key is empty or longer than DynamoDB allows"),
            StoreError::ItemTooLarge => f.write_str("the item is larger than DynamoDB's 400 KB"),
            StoreError::Contention(reasons) => {
                write!(f, "transaction cancelled by contention: {reasons}")
            }
        }
    }
}

impl std::error::Error for StoreError {}

/// An error and its sources, `: `-separated.
fn write_chain(
    f: &mut fmt::Formatter<'_>,
    error: &(dyn std::error::Error + 'static),
) -> fmt::Result {
    write!(f, "{error}")?;
    let mut source = error.source();
    while let Some(error) = source {
        write!(f, ": {error}")?;
        source = error.source();
    }
    Ok(())
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The catalogue, read whole (scopes, metadata, authorize: `Scan`).
pub trait ScopeReader: Send + Sync {
    fn list_scopes(&self) -> impl Future<Output = StoreResult<Vec<Scope>>> + Send;
}

/// authctl only.
pub trait ScopeAdmin: ScopeReader {
    fn create_scope(&self, scope: &Scope) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_scope(&self, name: &str) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The registered APIs, read whole (authorize, consent, token, revoke, introspect: `Scan`,
/// only for a request that names a `resource` or a token for one).
pub trait ResourceReader: Send + Sync {
    fn list_resources(&self) -> impl Future<Output = StoreResult<Vec<Resource>>> + Send;
}

/// authctl only.
pub trait ResourceAdmin: ResourceReader {
    fn create_resource(&self, resource: &Resource) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_resource(&self, uri: &str) -> impl Future<Output = StoreResult<()>> + Send;
}

/// One client by id (token, revoke, introspect: `GetItem`; authorize and consent read it
/// through `AuthorizationStore`).
pub trait ClientReader: Send + Sync {
    fn get_client(
        &self,
        client_id: &str,
    ) -> impl Future<Output = StoreResult<Option<Client>>> + Send;
}

/// Several clients by id in one round trip (the account page: `BatchGetItem`). Unknown
/// ids are left out; the order is not the ids'.
pub trait ClientBatchReader: Send + Sync {
    fn get_clients(
        &self,
        client_ids: &[String],
    ) -> impl Future<Output = StoreResult<Vec<Client>>> + Send;
}

/// authctl only: listing (`Scan`) and every write.
pub trait ClientAdmin: ClientReader {
    fn list_clients(&self) -> impl Future<Output = StoreResult<Vec<Client>>> + Send;
    fn create_client(&self, client: &Client) -> impl Future<Output = StoreResult<()>> + Send;
    /// Replaces an existing client; `NotFound` when there is none.
    fn replace_client(&self, client: &Client) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_client(&self, client_id: &str) -> impl Future<Output = StoreResult<()>> + Send;
}

/// One user's sign-in record by name (login: `GetItem`).
pub trait UserReader: Send + Sync {
    fn get_user(&self, username: &str) -> impl Future<Output = StoreResult<Option<User>>> + Send;
}

/// One user's account by `sub` (`GetItem`): the tokens and the session cookie name the `sub`.
pub trait AccountReader: Send + Sync {
    fn get_account(&self, sub: &str) -> impl Future<Output = StoreResult<Option<Account>>> + Send;
}

/// authctl only. A user is stored as two records written and deleted together: the
/// sign-in record by username, and the `Account` by `sub` that authorize and consent read
/// beside the session.
/// Ending every session of a user at once (authctl, the account page's "Sign out
/// everywhere": `UpdateItem` of the account).
pub trait UserSessionsEnder: Send + Sync {
    /// Ends every session of the user that began at or before `at_ms`; `NotFound` when
    /// there is no such account.
    fn end_sessions(&self, sub: &str, at_ms: i64) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait UserAdmin: UserReader + UserSessionsEnder + AccountReader {
    /// Creates the user and their account (`Account::new` of that user); `AlreadyExists`
    /// when the username is taken.
    fn create_user(
        &self,
        user: &User,
        account: &Account,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Deletes the user and their account (which ends their sessions); `NotFound` when the
    /// username no longer names this user.
    fn delete_user(&self, user: &User) -> impl Future<Output = StoreResult<()>> + Send;
    /// Every account, by username.
    fn list_accounts(&self) -> impl Future<Output = StoreResult<Vec<Account>>> + Send;
    /// Replaces the profile; `NotFound` when there is no such account.
    fn update_profile(
        &self,
        sub: &str,
        profile: &Profile,
        updated_at: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Stores the user's new password hash and ends their sessions begun at or before
    /// `at_ms`, in one transaction; `NotFound` when the username no longer names this user.
    fn change_password(
        &self,
        user: &User,
        at_ms: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

pub trait SessionStore: Send + Sync {
    /// Creates the session; the very same session again is success (a retried write whose
    /// answer was lost), another one under its id `AlreadyExists`.
    fn create_session(&self, session: &Session) -> impl Future<Output = StoreResult<()>> + Send;
    /// The session, unless it is unknown or expired at `now`.
    fn get_session(
        &self,
        id_hash: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<Session>>> + Send;
}

/// Ending one browser's session (sign-out, the account page: `DeleteItem`).
pub trait SessionRemover: Send + Sync {
    /// Deletes the session; deleting one that is gone already is no error.
    fn delete_session(&self, id_hash: &str) -> impl Future<Output = StoreResult<()>> + Send;
}

/// A user's consents (authctl, the account page: `Query` on the consents table).
pub trait ConsentReader: Send + Sync {
    fn list_consents(&self, sub: &str) -> impl Future<Output = StoreResult<Vec<Consent>>> + Send;
}

/// Removing a consent (authctl, the account page: `DeleteItem`).
pub trait ConsentRemover: Send + Sync {
    fn delete_consent(
        &self,
        sub: &str,
        client_id: &str,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// authctl only: the functions read and write consents through `AuthorizationStore`, and
/// the account page lists and removes them (`ConsentReader`, `ConsentRemover`).
pub trait ConsentAdmin: ConsentReader + ConsentRemover {
    /// The consent, unless it is unknown or expired at `now`.
    fn get_consent(
        &self,
        sub: &str,
        client_id: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<Consent>>> + Send;
    fn put_consent(&self, consent: &Consent) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The outcome of redeeming an authorization code.
#[derive(Debug, PartialEq, Eq)]
pub enum Redemption {
    /// This call redeemed the code and started its grant: the only one that ever will.
    Redeemed,
    /// The code was redeemed before: a replay (RFC 6749 4.1.2). Carries what was issued then.
    Replayed(Box<Grant>),
    /// Unknown or expired.
    Invalid,
    /// The code's user no longer exists (deleted after the code was issued): nothing was
    /// written. The condition is checked in the redemption's transaction, so that a deletion
    /// that comes between the read of the code and its redemption is seen too.
    UserGone,
}

/// The outcome of rotating a refresh token.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The presented token is spent, the successor stored and the family's current token.
    Rotated,
    /// The presented token was used or revoked meanwhile (a concurrent use won): reuse, so
    /// its family must be revoked. Nothing was written.
    Reused,
    /// The family was revoked, expired or rotated meanwhile, or the token expired: nothing
    /// was written.
    Ended,
    /// The grant's user no longer exists: nothing was written.
    UserGone,
}

/// What redeeming a code writes, in one transaction: the code marked redeemed (with the
/// `jti` and grant about to be issued, so that a replay can revoke them), the grant it
/// starts, and the grant's first refresh token when the client gets one, on condition that
/// the grant's user (`grant.sub`) still has an account. Of concurrent redemptions exactly
/// one is written; nothing of the others is.
#[derive(Clone, Copy, Debug)]
pub struct CodeRedemption<'a> {
    pub code_hash: &'a str,
    pub now: i64,
    /// The `jti` of the access token about to be signed.
    pub jti: &'a str,
    pub grant: &'a TokenFamily,
    pub first_refresh: Option<&'a RefreshToken>,
}

/// Where a login session is found: the cookie names both the user and the session id's hash,
/// so the user's consent can be read in the same round trip as the session.
#[derive(Clone, Copy, Debug)]
pub struct SessionKey<'a> {
    pub sub: &'a str,
    pub id_hash: &'a str,
}

/// What authorize, consent and the sign-in page read before they decide.
pub trait AuthorizationReader: Send + Sync {
    /// The client, the session with the cookie's user's account, and that user's consent
    /// for the client (asked for only with both a client id and a session), in one round
    /// trip, as stored: not judged.
    fn load_authorization_records(
        &self,
        client_id: Option<&str>,
        session: Option<SessionKey<'_>>,
    ) -> impl Future<Output = StoreResult<AuthorizationRecords>> + Send;
    /// The records, judged at `now` by the one rule of `authorization_context::assemble`.
    fn load_authorization_context(
        &self,
        client_id: Option<&str>,
        session: Option<SessionKey<'_>>,
        now: i64,
    ) -> impl Future<Output = StoreResult<AuthorizationContext>> + Send {
        async move {
            let records = self.load_authorization_records(client_id, session).await?;
            Ok(authorization_context::assemble(
                records,
                session.map(|key| key.sub),
                now,
            ))
        }
    }
}

pub trait AuthorizationStore: AuthorizationReader {
    /// Stores the consent and the code issued under it, in one transaction: the consent's
    /// scopes are merged into those of a live consent (of concurrent approvals none is lost),
    /// and replace an expired one (whose scopes must not come back).
    fn save_consent_and_code(
        &self,
        consent: &Consent,
        grant: &Grant,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Storing a new code (authorize: `PutItem`; consent stores it through `AuthorizationStore`).
pub trait CodeStore: Send + Sync {
    /// Creates the code; the very same code again is success (a retried write whose answer
    /// was lost), another one under its hash `AlreadyExists`.
    fn create_code(&self, grant: &Grant) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The token function's codes: read, judged, then redeemed together with the grant the
/// redemption starts (`GetItem`, then one `TransactWriteItems`: the code's conditional
/// `UpdateItem` and `PutItem`s on the tokens table), or spent without issuing anything.
pub trait CodeRedemptionStore: Send + Sync {
    /// The code as stored, redeemed or expired alike (a strongly consistent read); `None`
    /// when there is no such code.
    fn get_code(&self, code_hash: &str) -> impl Future<Output = StoreResult<Option<Grant>>> + Send;
    /// Marks the code redeemed without issuing anything (its binding check failed: the code
    /// is treated as attacked); `false` when it was redeemed, expired or gone already.
    fn spend_code(
        &self,
        code_hash: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Redeems the code and starts its grant, in one transaction whose condition on the code
    /// (not redeemed, not expired) decides among concurrent redemptions, and which checks
    /// that the grant's user still exists (a `ConditionCheck` on the account).
    fn redeem_code(
        &self,
        redemption: &CodeRedemption<'_>,
    ) -> impl Future<Output = StoreResult<Redemption>> + Send;
}

/// An RSA signing key. The private half is held only by the token function.
#[derive(Debug)]
pub struct SigningKey {
    pub kid: String,
    /// Milliseconds since the Unix epoch: of the active keys, the newest signs.
    pub created_at: i64,
    /// Milliseconds since the Unix epoch from which the key signs. It is published from its
    /// creation, so that verifiers can fetch it before they see a token signed with it.
    pub active_from: i64,
    /// PKCS#8 PEM of the private key; `None` when read without it (JWKS).
    pub private_pem: Option<Secret>,
    /// base64url modulus and exponent of the public key (RFC 7518 6.3.1).
    pub n: String,
    pub e: String,
}

impl SigningKey {
    /// The key without its private half: what the public readers answer (JWKS).
    pub fn public_half(&self) -> SigningKey {
        SigningKey {
            kid: self.kid.clone(),
            created_at: self.created_at,
            active_from: self.active_from,
            private_pem: None,
            n: self.n.clone(),
            e: self.e.clone(),
        }
    }
}

/// Every stored key's public parts, newest first (JWKS, revoke, introspect: a `Scan` of
/// `kid, created_at, active_from, n, e` only; authctl).
pub trait PublicKeyReader: Send + Sync {
    fn list_public_keys(&self) -> impl Future<Output = StoreResult<Vec<SigningKey>>> + Send;
}

/// Every stored key with its private half, newest first: the token function only.
pub trait SigningKeyReader: PublicKeyReader {
    fn list_signing_keys(&self) -> impl Future<Output = StoreResult<Vec<SigningKey>>> + Send;
}

/// authctl only: it writes keys, and reads their public parts.
pub trait KeyAdmin: PublicKeyReader {
    fn put_key(&self, key: &SigningKey) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_key(&self, kid: &str) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The outcome of counting an attempt against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Counted: the attempts on the counter so far, this one included.
    Counted(u32),
    /// The counter was at its limit: nothing was counted.
    AtLimit,
}

/// Login: attempt counters in the throttle table (`UpdateItem`, `GetItem`, `DeleteItem`).
/// A key names one counter for one window (`keys::throttle_source_key`,
/// `throttle_account_key`), so a new window starts at zero without any reset.
pub trait ThrottleStore: Send + Sync {
    /// Counts one attempt unless `limit` (if any) are counted already, in one atomic step:
    /// of any number of concurrent calls, at most `limit` are `Counted`. The counter lives
    /// until `expires_at`.
    fn count_attempt(
        &self,
        key: &str,
        limit: Option<u32>,
        expires_at: i64,
    ) -> impl Future<Output = StoreResult<Attempt>> + Send;
    /// The attempts counted on `key` (0 when none, or when the key is impossible).
    fn attempts(&self, key: &str) -> impl Future<Output = StoreResult<u32>> + Send;
    fn clear_attempts(&self, key: &str) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What introspection reads of an access token, in one round trip: whether its `jti` is
/// deny-listed (judged at `now`) and its grant, as stored.
#[derive(Debug, PartialEq, Eq)]
pub struct AccessTokenRecords {
    pub jti_revoked: bool,
    pub grant: Option<TokenFamily>,
}

/// Whether an access token was revoked (introspect: `BatchGetItem` on the tokens table).
pub trait RevocationReader: Send + Sync {
    fn is_jti_revoked(&self, jti: &str, now: i64)
        -> impl Future<Output = StoreResult<bool>> + Send;
    /// The `jti`'s deny-list entry and the grant the token was issued under, in one round trip.
    fn access_token_records(
        &self,
        jti: &str,
        grant_id: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<AccessTokenRecords>> + Send;
}

/// What UserInfo reads for a bearer access token, in one round trip: the token's records as
/// introspection reads them, and the account of the token's `sub` (`None`: the user is gone).
#[derive(Debug, PartialEq, Eq)]
pub struct UserInfoRecords {
    pub token: AccessTokenRecords,
    pub account: Option<Account>,
}

/// UserInfo (OpenID Connect Core 5.3): one `BatchGetItem` of the tokens table (the `jti`'s
/// deny-list entry, the grant) and the users table (the account).
pub trait UserInfoReader: Send + Sync {
    fn userinfo_records(
        &self,
        jti: &str,
        grant_id: &str,
        sub: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<UserInfoRecords>> + Send;
}

/// Token (a replayed code) and revoke: `PutItem`.
pub trait RevocationStore: RevocationReader {
    /// Deny-lists an access token's `jti` until its expiry.
    fn revoke_jti(
        &self,
        jti: &str,
        expires_at: i64,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What a presented refresh token is, as read (`RefreshToken::presented_by`).
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshUse {
    /// Live, unused and this client's: it may be rotated.
    Accepted(RefreshToken),
    /// The token was used before (or revoked): reuse, so its family must be revoked.
    Reused(RefreshToken),
    /// Unknown, expired, or issued to another client.
    Invalid,
}

/// A refresh token or family by its key (introspect: `GetItem`).
pub trait RefreshTokenReader: Send + Sync {
    fn get_refresh_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = StoreResult<Option<RefreshToken>>> + Send;
    fn get_family(
        &self,
        family_id: &str,
    ) -> impl Future<Output = StoreResult<Option<TokenFamily>>> + Send;
}

/// Revoking a grant (token, revoke, the account page's consent withdrawal: `UpdateItem`).
pub trait GrantRevoker: Send + Sync {
    /// Revokes the grant (family) and its current refresh token, which ends every token issued
    /// under it; `false` when there is no such grant or it was revoked before.
    fn revoke_family(&self, family_id: &str) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// Issuing, rotating and revoking (token and revoke: `GetItem`, `PutItem`, `UpdateItem`).
pub trait RefreshTokenStore: RefreshTokenReader + GrantRevoker {
    /// Starts a family with its first token, in one transaction. (The token function starts
    /// grants with `CodeRedemptionStore::redeem_code`, which writes the same items.)
    fn create_family(
        &self,
        family: &TokenFamily,
        first: &RefreshToken,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Spends `used` (the token as read, judged `RefreshUse::Accepted`) and issues `next`,
    /// all or nothing, in one transaction: the token marked used on condition that it is still
    /// unused, unrevoked and live (of concurrent uses exactly one is written, the others are
    /// `Reused`); the family advanced from it to `next` unless revoked, expired or rotated
    /// (`Ended`); `next` stored; the user's account checked (`UserGone`). A transaction
    /// cancelled by contention wrote nothing and is `StoreError::Contention`, never reuse.
    fn rotate(
        &self,
        used: &RefreshToken,
        next: &RefreshToken,
        now: i64,
    ) -> impl Future<Output = StoreResult<Rotation>> + Send;
}

/// The grants a consent allowed (authctl, the account page's consent withdrawal: `Query` on
/// the `grants_by_user` index).
pub trait ConsentGrantReader: Send + Sync {
    /// Ids of the grants (families) of this user with this client (consent withdrawal).
    fn families_of(
        &self,
        sub: &str,
        client_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
}

/// Single-use JWT ids (`PutItem` on the replay table, on condition that the key is new): the
/// `jti` of a `private_key_jwt` assertion (token, revoke, introspect), and of DPoP proofs
/// later. A key names what the id is of (`keys::client_assertion_key`).
pub trait JtiStore: Send + Sync {
    /// Records `key` until `expires_at`; `false` when it was recorded before (a replay). Of
    /// concurrent calls with one key exactly one is `true`.
    fn use_once(
        &self,
        key: &str,
        expires_at: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// What client authentication reads and writes (token, revoke, introspect).
pub trait ClientAuthStore: ClientReader + JtiStore {}

impl<S: ClientReader + JtiStore> ClientAuthStore for S {}

/// authctl only: the `grants_by_user` index (`Query`), to revoke a consent's or a user's grants.
pub trait RefreshTokenAdmin: RefreshTokenStore + ConsentGrantReader {
    /// Ids of every grant of this user, with any client (user deletion).
    fn families_of_user(&self, sub: &str) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
}

#[cfg(test)]
mod tests {
    use super::StoreError;
    use std::fmt;

    #[derive(Debug)]
    struct Outer(Inner);
    #[derive(Debug)]
    struct Inner;
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("service error")
        }
    }
    impl fmt::Display for Inner {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("AccessDeniedException: not authorized to perform: dynamodb:Scan")
        }
    }
    impl std::error::Error for Inner {}
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn an_unavailable_store_is_logged_with_its_whole_cause() {
        let error = StoreError::Unavailable(Box::new(Outer(Inner)));
        assert_eq!(
            error.to_string(),
            "storage unavailable: service error: AccessDeniedException: not authorized to perform: dynamodb:Scan"
        );
    }
}
