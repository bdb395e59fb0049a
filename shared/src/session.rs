//! Login sessions: a random id in an `HttpOnly` cookie, stored only as its SHA-256
//! hash in DynamoDB (so a session can be ended server-side), and the CSRF token
//! derived from it for the consent form.

use crate::config::Config;
use crate::http::HttpRequest;
use crate::model::{Authentication, Session, User};
use crate::secret::{constant_time_eq, now, now_ms, sha256_b64, SessionId};
use crate::store::{AuthorizationReader, SessionKey, SessionStore, StoreResult};

/// `__Host-` binds the cookie to this exact origin; browsers accept it only with `Secure`.
pub fn cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies() {
        "__Host-session"
    } else {
        "session"
    }
}

pub fn login_csrf_cookie_name(config: &Config) -> &'static str {
    if config.secure_cookies() {
        "__Host-login_csrf"
    } else {
        "login_csrf"
    }
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path=/`, `Secure` outside loopback.
pub fn set_cookie(config: &Config, name: &str, value: &str, max_age_seconds: i64) -> String {
    let secure = if config.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}")
}

/// What the session cookie holds: `<sub>.<id>`. The `sub` (an opaque user id, not a
/// secret) lets the user's consent be read in the same round trip as the session; the
/// session item must name the same `sub`.
pub struct SessionCookie {
    pub sub: String,
    pub id: SessionId,
}

impl SessionCookie {
    pub fn from_request(config: &Config, request: &HttpRequest) -> Option<Self> {
        let (sub, id) = request.cookie(cookie_name(config))?.split_once('.')?;
        // Our ids are 43 base64url characters and subs are short ids; anything else cannot be ours.
        if id.len() != 43 || sub.is_empty() || sub.len() > 64 {
            return None;
        }
        Some(SessionCookie {
            sub: sub.to_string(),
            id: SessionId::new(id),
        })
    }

    pub fn id_hash(&self) -> String {
        self.id.hash()
    }
}

/// The signed-in user's session, if the cookie names one that counts (the rule of
/// `authorization_context`, the same as authorize's).
pub async fn current<S: AuthorizationReader>(
    store: &S,
    config: &Config,
    request: &HttpRequest,
) -> StoreResult<Option<Session>> {
    let Some(cookie) = SessionCookie::from_request(config, request) else {
        return Ok(None);
    };
    of_cookie(store, &cookie).await
}

/// The session this cookie names, if it counts (the rule of `authorization_context`).
pub async fn of_cookie<S: AuthorizationReader>(
    store: &S,
    cookie: &SessionCookie,
) -> StoreResult<Option<Session>> {
    let id_hash = cookie.id_hash();
    let key = SessionKey {
        sub: &cookie.sub,
        id_hash: &id_hash,
    };
    let context = store
        .load_authorization_context(None, Some(key), now())
        .await?;
    Ok(context.session)
}

/// Starts a session for the user; returns the `Set-Cookie` header value.
pub async fn start<S: SessionStore>(
    store: &S,
    config: &Config,
    user: &User,
) -> StoreResult<String> {
    let id = SessionId::generate();
    let session = Session {
        id_hash: id.hash(),
        sub: user.sub.clone(),
        username: user.username.clone(),
        signed_in_at_ms: now_ms(),
        expires_at: now() + config.session_ttl_seconds,
    };
    store.create_session(&session).await?;
    let value = format!("{}.{}", user.sub, id.expose());
    Ok(set_cookie(
        config,
        cookie_name(config),
        &value,
        config.session_ttl_seconds,
    ))
}

/// The session's identifier as ID tokens and sign-out name it (OpenID Connect `sid`): derived
/// from the cookie's id as the CSRF token is, with another label, so that it names the session
/// without telling its cookie or its stored hash. authorize and consent put it in the code;
/// sign-out compares it with the cookie's session.
pub fn sid(session_id: &SessionId) -> String {
    sha256_b64(format!("sid-v1:{}", session_id.expose()).as_bytes())
}

/// The sign-in a code issued in this session stands on: the ID token's `auth_time` (seconds)
/// and `sid`.
pub fn authentication(session: &Session, session_id: &SessionId) -> Authentication {
    Authentication {
        auth_time: session.signed_in_at_ms.div_euclid(1000),
        sid: sid(session_id),
    }
}

/// The consent form's CSRF token: bound to the session, derivable only by who holds its id.
pub fn csrf_token(session_id: &SessionId) -> String {
    sha256_b64(format!("csrf-v1:{}", session_id.expose()).as_bytes())
}

pub fn csrf_token_matches(session_id: &SessionId, presented: Option<&str>) -> bool {
    presented
        .is_some_and(|token| constant_time_eq(csrf_token(session_id).as_bytes(), token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sid_and_the_csrf_token_are_different_values_of_one_session() {
        let id = SessionId::new("s".repeat(43));
        assert_eq!(sid(&id), sid(&SessionId::new("s".repeat(43))));
        assert_ne!(sid(&id), csrf_token(&id));
        assert_ne!(sid(&id), id.hash());
        assert_ne!(sid(&id), sid(&SessionId::new("t".repeat(43))));
    }
}
