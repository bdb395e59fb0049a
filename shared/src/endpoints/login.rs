//! `GET /login` shows the sign-in form; `POST /login` checks the password (argon2id),
//! starts a session and returns the user to `return_to`, a path of this service.

use super::storage_failure_page;
use crate::config::Config;
use crate::http::{redirect, HttpRequest, HttpResponse};
use crate::ids;
use crate::metrics::{self, Event};
use crate::pages::{self, LoginForm};
use crate::password::{dummy_hash, verify_password};
use crate::secret::{constant_time_eq, now, random_b64};
use crate::session;
use crate::store::{SessionStore, ThrottleStore, UserStore};
use http::header::{HeaderValue, SET_COOKIE};
use http::{Method, StatusCode};

/// Failed sign-ins for one account before it is locked for the rest of the window.
pub const MAX_FAILURES: u32 = 5;
pub const FAILURE_WINDOW_SECONDS: i64 = 15 * 60;
const GENERIC_FAILURE: &str = "Incorrect username or password.";
const LOCKED: &str = "Too many failed sign-in attempts for this account. Try again in 15 minutes.";

pub async fn handle<S>(store: &S, config: &Config, request: &HttpRequest) -> HttpResponse
where
    S: UserStore + SessionStore + ThrottleStore,
{
    if request.method == Method::POST {
        sign_in(store, config, request).await
    } else {
        show_form(store, config, request).await
    }
}

/// Accepts only a path of this service (no scheme, no host, no `//` or `\`), so that
/// signing in can never send the browser elsewhere (RFC 9700 4.11).
/// The path decides where the browser goes, so it alone is held to these rules; the query
/// (an authorization request of any length and content) is carried as it came.
pub fn safe_return_to(value: Option<&str>) -> Option<&str> {
    let value = value?;
    let path = value.split('?').next().unwrap_or("");
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && value.len() <= crate::http::MAX_INPUT_BYTES
        && !value.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(value)
}

async fn show_form<S: SessionStore>(
    store: &S,
    config: &Config,
    request: &HttpRequest,
) -> HttpResponse {
    let params = match request.query_params() {
        Ok(params) => params,
        Err(error) => return pages::invalid_input(&error),
    };
    let return_to = safe_return_to(params.get("return_to"));
    if return_to.is_none() {
        match session::current(store, config, request).await {
            Ok(Some(session)) => return pages::signed_in(&session.username),
            Ok(None) => {}
            Err(error) => return storage_failure_page("reading the session failed", error),
        }
    }
    form(
        config,
        request,
        StatusCode::OK,
        return_to.unwrap_or(""),
        "",
        None,
    )
}

/// The login form with its CSRF token: a double-submit cookie, since there is no session yet.
fn form(
    config: &Config,
    request: &HttpRequest,
    status: StatusCode,
    return_to: &str,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    let cookie_name = session::login_csrf_cookie_name(config);
    let token = match request.cookie(cookie_name) {
        Some(existing) if existing.len() == 43 => existing.to_string(),
        _ => random_b64(32),
    };
    let mut response = pages::login(
        status,
        &LoginForm {
            return_to,
            csrf_token: &token,
            username,
            error,
        },
    );
    if let Ok(value) =
        HeaderValue::from_str(&session::set_cookie(config, cookie_name, &token, 3600))
    {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

async fn sign_in<S>(store: &S, config: &Config, request: &HttpRequest) -> HttpResponse
where
    S: UserStore + SessionStore + ThrottleStore,
{
    let params = match request.form_params() {
        Ok(params) => params,
        Err(error) => return pages::invalid_input(&error),
    };
    let return_to = safe_return_to(params.get("return_to")).unwrap_or("");
    let username = params.get("username").unwrap_or("");
    let csrf_ok = match (
        request.cookie(session::login_csrf_cookie_name(config)),
        params.get("csrf_token"),
    ) {
        (Some(cookie), Some(field)) => constant_time_eq(cookie.as_bytes(), field.as_bytes()),
        _ => false,
    };
    if !csrf_ok {
        let message = "The sign-in form expired. Please try again.";
        return form(
            config,
            request,
            StatusCode::FORBIDDEN,
            return_to,
            username,
            Some(message),
        );
    }
    let password = params.get("password").unwrap_or("");
    if username.is_empty() || password.is_empty() {
        let message = "Enter your username and password.";
        return form(
            config,
            request,
            StatusCode::BAD_REQUEST,
            return_to,
            username,
            Some(message),
        );
    }
    if username.len() > 128 || password.len() > 1024 {
        return form(
            config,
            request,
            StatusCode::UNAUTHORIZED,
            return_to,
            "",
            Some(GENERIC_FAILURE),
        );
    }
    if !ids::is_username(username) {
        // No account can have this name, and DynamoDB might refuse it as a key: no lookup, but
        // the argon2 work and the answer of a wrong password, so that nothing tells them apart.
        std::hint::black_box(verify_password(password, dummy_hash()));
        tracing::info!("sign-in refused");
        metrics::count(Event::SignInFailed);
        return form(
            config,
            request,
            StatusCode::UNAUTHORIZED,
            return_to,
            username,
            Some(GENERIC_FAILURE),
        );
    }

    let t = now();
    // Counted per account name, whether or not it exists: the lock reveals nothing.
    let failures = match store.failures(username, t).await {
        Ok(failures) => failures,
        Err(error) => return storage_failure_page("reading login failures failed", error),
    };
    if failures >= MAX_FAILURES {
        metrics::count(Event::SignInLocked);
        return form(
            config,
            request,
            StatusCode::TOO_MANY_REQUESTS,
            return_to,
            username,
            Some(LOCKED),
        );
    }
    let user = match store.get_user(username).await {
        Ok(user) => user,
        Err(error) => return storage_failure_page("reading the user failed", error),
    };
    // The same argon2 work whether or not the user exists: no enumeration by timing.
    let stored_hash = user
        .as_ref()
        .map_or(dummy_hash(), |u| u.password_hash.as_str());
    let password_ok = verify_password(password, stored_hash);
    let Some(user) = user.filter(|_| password_ok) else {
        if let Err(error) = store
            .record_failure(username, t, FAILURE_WINDOW_SECONDS)
            .await
        {
            return storage_failure_page("recording a login failure failed", error);
        }
        tracing::info!("sign-in refused");
        metrics::count(Event::SignInFailed);
        return form(
            config,
            request,
            StatusCode::UNAUTHORIZED,
            return_to,
            username,
            Some(GENERIC_FAILURE),
        );
    };
    if failures > 0 {
        if let Err(error) = store.clear_failures(username).await {
            return storage_failure_page("clearing login failures failed", error);
        }
    }
    let cookie = match session::start(store, config, &user).await {
        Ok(cookie) => cookie,
        Err(error) => return storage_failure_page("storing the session failed", error),
    };
    metrics::count(Event::SignInSucceeded);
    let target = if return_to.is_empty() {
        "/login"
    } else {
        return_to
    };
    let mut response = redirect(StatusCode::SEE_OTHER, &config.endpoint(target));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
