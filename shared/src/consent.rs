//! Withdrawing consent: the consent goes, and so does every refresh token issued under it.

use crate::store::{ConsentGrantReader, ConsentRemover, GrantRevoker, StoreError, StoreResult};

#[derive(Debug, PartialEq, Eq)]
pub struct Withdrawal {
    /// Whether a consent was there to remove.
    pub consent_removed: bool,
    pub families_revoked: usize,
}

/// Revokes the user's refresh token families for the client, then removes the consent,
/// so that the next authorization asks again and no refresh token outlives the consent.
/// What it touches is what `authctl consent revoke` and the account page are granted: the
/// grants of the consent (`Query` of `grants_by_user`), their revocation (`UpdateItem`) and
/// the consent (`DeleteItem`).
pub async fn withdraw<S: ConsentRemover + ConsentGrantReader + GrantRevoker>(
    store: &S,
    sub: &str,
    client_id: &str,
) -> StoreResult<Withdrawal> {
    let mut families_revoked = 0;
    for family_id in store.families_of(sub, client_id).await? {
        if store.revoke_family(&family_id).await? {
            families_revoked += 1;
        }
    }
    let consent_removed = match store.delete_consent(sub, client_id).await {
        Ok(()) => true,
        Err(StoreError::NotFound) => false,
        Err(error) => return Err(error),
    };
    Ok(Withdrawal {
        consent_removed,
        families_revoked,
    })
}
