//! What authorize and consent know before they decide, judged from the stored records in
//! one place: the stores only read the records (`AuthorizationStore::load_authorization_records`),
//! so that every store applies the same rule.
//!
//! The rule: a session counts only while it is live, only if it belongs to the user the
//! cookie names (the cookie carries the user beside the session id), and only while that
//! user exists and the operator has not ended their sessions since it began; a consent
//! counts only while it is live and only beside such a session, of that session's user.

use crate::model::{Account, Client, Consent, Session};

/// The records stored under the keys an authorization request names, as read: expired or
/// not, whoever they belong to.
#[derive(Debug, Default)]
pub struct AuthorizationRecords {
    pub client: Option<Client>,
    pub session: Option<Session>,
    /// Stored under the cookie's user.
    pub account: Option<Account>,
    /// Stored under the cookie's user and the requested client.
    pub consent: Option<Consent>,
}

/// What authorize and consent need before they decide.
#[derive(Debug, Default)]
pub struct AuthorizationContext {
    pub client: Option<Client>,
    /// Live and belonging to the user the cookie names.
    pub session: Option<Session>,
    /// Live, of that user for that client.
    pub consent: Option<Consent>,
}

/// Judges the records at `now` for a request whose cookie names `cookie_sub` (`None`:
/// no cookie, so no session counts).
pub fn assemble(
    records: AuthorizationRecords,
    cookie_sub: Option<&str>,
    now: i64,
) -> AuthorizationContext {
    let account = records.account;
    let session = records.session.filter(|session| {
        session.expires_at > now
            && cookie_sub == Some(session.sub.as_str())
            && account
                .as_ref()
                .is_some_and(|account| account.admits(session))
    });
    let consent = session.as_ref().and_then(|session| {
        records
            .consent
            .filter(|consent| consent.expires_at > now && consent.sub == session.sub)
    });
    AuthorizationContext {
        client: records.client,
        session,
        consent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ScopeSet;

    const NOW: i64 = 1_700_000_000;

    const SIGNED_IN_MS: i64 = NOW * 1000 - 60_000;

    fn session(sub: &str, expires_at: i64) -> Session {
        Session {
            id_hash: "hash".into(),
            sub: sub.into(),
            username: "alice".into(),
            signed_in_at_ms: SIGNED_IN_MS,
            expires_at,
        }
    }

    fn account(sub: &str, sessions_ended_at_ms: i64) -> Account {
        Account {
            sub: sub.into(),
            username: "alice".into(),
            sessions_ended_at_ms,
            profile: Default::default(),
            updated_at: 0,
        }
    }

    fn consent(sub: &str, expires_at: i64) -> Consent {
        Consent {
            sub: sub.into(),
            client_id: "app".into(),
            scopes: ScopeSet::parse("read").unwrap_or_default(),
            expires_at,
        }
    }

    /// The records with the account of the session's user, as the store reads them.
    fn records(session: Option<Session>, consent: Option<Consent>) -> AuthorizationRecords {
        AuthorizationRecords {
            client: None,
            account: session.as_ref().map(|session| account(&session.sub, 0)),
            session,
            consent,
        }
    }

    #[test]
    fn a_session_of_a_deleted_user_does_not_count_nor_does_its_consent() {
        let mut found = records(
            Some(session("sub-1", NOW + 60)),
            Some(consent("sub-1", NOW + 60)),
        );
        found.account = None;
        let context = assemble(found, Some("sub-1"), NOW);
        assert_eq!(context.session, None);
        assert_eq!(context.consent, None);
    }

    #[test]
    fn a_session_that_began_before_its_users_sessions_were_ended_does_not_count() {
        for (ended_at_ms, counts) in [
            (SIGNED_IN_MS - 1, true),
            (SIGNED_IN_MS, false),
            (SIGNED_IN_MS + 1, false),
        ] {
            let mut found = records(
                Some(session("sub-1", NOW + 60)),
                Some(consent("sub-1", NOW + 60)),
            );
            found.account = Some(account("sub-1", ended_at_ms));
            let context = assemble(found, Some("sub-1"), NOW);
            assert_eq!(context.session.is_some(), counts, "ended at {ended_at_ms}");
            assert_eq!(context.consent.is_some(), counts, "ended at {ended_at_ms}");
        }
    }

    #[test]
    fn an_account_of_another_user_does_not_admit_the_session() {
        let mut found = records(Some(session("sub-1", NOW + 60)), None);
        found.account = Some(account("sub-2", 0));
        assert_eq!(assemble(found, Some("sub-1"), NOW).session, None);
    }

    #[test]
    fn a_live_session_of_the_cookies_user_counts_with_its_live_consent() {
        let found = records(
            Some(session("sub-1", NOW + 1)),
            Some(consent("sub-1", NOW + 1)),
        );
        let context = assemble(found, Some("sub-1"), NOW);
        assert_eq!(context.session, Some(session("sub-1", NOW + 1)));
        assert_eq!(context.consent, Some(consent("sub-1", NOW + 1)));
    }

    #[test]
    fn an_expired_session_does_not_count_nor_does_its_consent() {
        for expires_at in [NOW, NOW - 1] {
            let found = records(
                Some(session("sub-1", expires_at)),
                Some(consent("sub-1", NOW + 60)),
            );
            let context = assemble(found, Some("sub-1"), NOW);
            assert_eq!(context.session, None, "expires at {expires_at}");
            assert_eq!(context.consent, None, "expires at {expires_at}");
        }
    }

    #[test]
    fn a_session_naming_another_user_does_not_count() {
        let found = records(
            Some(session("sub-1", NOW + 60)),
            Some(consent("sub-2", NOW + 60)),
        );
        let context = assemble(found, Some("sub-2"), NOW);
        assert_eq!(context.session, None);
        assert_eq!(context.consent, None);
        let without_cookie = records(Some(session("sub-1", NOW + 60)), None);
        assert_eq!(assemble(without_cookie, None, NOW).session, None);
    }

    #[test]
    fn a_consent_without_a_live_session_does_not_count() {
        let found = records(None, Some(consent("sub-1", NOW + 60)));
        let context = assemble(found, Some("sub-1"), NOW);
        assert_eq!(context.session, None);
        assert_eq!(context.consent, None);
    }

    #[test]
    fn an_expired_consent_does_not_count_beside_a_live_session() {
        for expires_at in [NOW, NOW - 1] {
            let found = records(
                Some(session("sub-1", NOW + 60)),
                Some(consent("sub-1", expires_at)),
            );
            let context = assemble(found, Some("sub-1"), NOW);
            assert_eq!(context.session, Some(session("sub-1", NOW + 60)));
            assert_eq!(context.consent, None, "expires at {expires_at}");
        }
    }

    #[test]
    fn a_consent_of_another_user_does_not_count() {
        let found = records(
            Some(session("sub-1", NOW + 60)),
            Some(consent("sub-2", NOW + 60)),
        );
        let context = assemble(found, Some("sub-1"), NOW);
        assert!(context.session.is_some());
        assert_eq!(context.consent, None);
    }
}
