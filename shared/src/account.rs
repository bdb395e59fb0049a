//! Ending a user's access, as the operator does it (`authctl user delete`, `authctl
//! session revoke`) and as the user does on the account page: the rules of what goes with a user.

use crate::consent;
use crate::model::User;
use crate::secret::now_ms;
use crate::store::{ConsentAdmin, RefreshTokenAdmin, StoreResult, UserAdmin, UserSessionsEnder};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removal {
    pub consents_removed: usize,
    pub families_revoked: usize,
}

/// Deletes the user, then withdraws every consent they gave and revokes every grant they
/// hold (which ends every token issued under it, access tokens included, for introspection).
/// The user's records go first: from then on none of their sessions counts (authorize and
/// consent find no account beside it) and the sign-in record is gone, so nothing new can be
/// granted while the rest is withdrawn.
pub async fn delete_user<S: UserAdmin + ConsentAdmin + RefreshTokenAdmin>(
    store: &S,
    user: &User,
) -> StoreResult<Removal> {
    store.delete_user(user).await?;
    let mut removal = Removal::default();
    for given in store.list_consents(&user.sub).await? {
        let withdrawal = consent::withdraw(store, &user.sub, &given.client_id).await?;
        removal.consents_removed += usize::from(withdrawal.consent_removed);
        removal.families_revoked += withdrawal.families_revoked;
    }
    // Grants outlive the consent that allowed them when the consent expired: revoke those too.
    for grant in store.families_of_user(&user.sub).await? {
        if store.revoke_family(&grant).await? {
            removal.families_revoked += 1;
        }
    }
    Ok(removal)
}

/// Ends every session the user has now: the next authorization asks them to sign in again.
/// Tokens already issued to clients are the clients' grants and stay (withdraw the consent
/// to end those). The operator (`authctl session revoke`) and the user (the account page's
/// "Sign out everywhere") both end them this way.
pub async fn end_sessions<S: UserSessionsEnder>(store: &S, sub: &str) -> StoreResult<()> {
    store.end_sessions(sub, now_ms()).await
}
