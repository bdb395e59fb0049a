//! `GET /login` shows the sign-in form; `POST /login` checks the password (argon2id),
//! starts a session and returns the user to `return_to`, a path of this service.

use super::{StorageFailure, StoreContext};
use crate::app::App;
use crate::config::Config;
use crate::http::{redirect, HttpRequest, HttpResponse, ParamError, Params};
use crate::ids;
use crate::metrics::{self, Event};
use crate::pages::{self, LoginForm};
use crate::password::{dummy_hash, verify_password};
use crate::secret::{constant_time_eq, now, random_b64, Password};
use crate::session;
use crate::store::{Attempt, AuthorizationReader, SessionStore, ThrottleStore, UserReader};
use crate::throttle::{self, SignInCounters};
use http::header::{HeaderValue, RETRY_AFTER, SET_COOKIE};
use http::{Method, StatusCode};

const GENERIC_FAILURE: &str = "Incorrect username or password.";
/// The source limit of `throttle` is reached: from this network, for this account name.
const LOCKED: &str = "Too many sign-in attempts for this account. Try again in 15 minutes.";
const FORM_EXPIRED: &str = "The sign-in form expired. Please try again.";
const MISSING_CREDENTIALS: &str = "Enter your username and password.";

/// What the sign-in function may touch: the user, the sessions, the attempt counters, and
/// the session and account that say who is signed in already.
pub trait LoginStore: UserReader + SessionStore + ThrottleStore + AuthorizationReader {}

impl<S> LoginStore for S where S: UserReader + SessionStore + ThrottleStore + AuthorizationReader {}

pub async fn handle<S: LoginStore>(app: &App<S>, request: &HttpRequest) -> HttpResponse {
    let login = match LoginRequest::parse(request) {
        Ok(login) => login,
        Err(error) => return pages::invalid_input(&error),
    };
    let outcome = decide(app, request, &login).await;
    render(&app.config, request, &login, outcome)
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

enum LoginRequest {
    /// `GET`: the form, its username prefilled with authorize's `login_hint` (OpenID Connect
    /// Core 3.1.2.1) when that could be a username: a suggestion the user may change.
    Form {
        return_to: Option<String>,
        login_hint: Option<String>,
    },
    /// `POST`: the form, filled in.
    SignIn(SignIn),
}

struct SignIn {
    return_to: Option<String>,
    username: String,
    password: Password,
    /// The form's copy of the login CSRF cookie.
    csrf_token: Option<String>,
}

impl LoginRequest {
    fn parse(request: &HttpRequest) -> Result<Self, ParamError> {
        let return_to =
            |params: &Params| safe_return_to(params.get("return_to")).map(str::to_string);
        if request.method != Method::POST {
            let params = request.query_params()?;
            return Ok(LoginRequest::Form {
                return_to: return_to(&params),
                login_hint: params
                    .get("login_hint")
                    .filter(|hint| ids::is_username(hint))
                    .map(str::to_string),
            });
        }
        let params = request.form_params()?;
        Ok(LoginRequest::SignIn(SignIn {
            return_to: return_to(&params),
            username: params.get("username").unwrap_or("").to_string(),
            password: Password::new(params.get("password").unwrap_or("")),
            csrf_token: params.get("csrf_token").map(str::to_string),
        }))
    }

    fn return_to(&self) -> Option<&str> {
        match self {
            LoginRequest::Form { return_to, .. } => return_to.as_deref(),
            LoginRequest::SignIn(sign_in) => sign_in.return_to.as_deref(),
        }
    }

    /// What the form shows again in its username field.
    fn username(&self) -> &str {
        match self {
            LoginRequest::Form { login_hint, .. } => login_hint.as_deref().unwrap_or(""),
            LoginRequest::SignIn(sign_in) => &sign_in.username,
        }
    }
}

enum LoginOutcome {
    /// The empty form.
    Form,
    /// A signed-in user who opened the form with nowhere to return to.
    AlreadySignedIn { username: String },
    /// A session started: its `Set-Cookie` value.
    SignedIn { session_cookie: String },
}

enum LoginError {
    /// The CSRF cookie and the form's token differ, or one is missing.
    FormExpired,
    MissingCredentials,
    /// A wrong username or password: the same answer for both.
    Refused,
    /// Longer than any account name or password: refused without showing the name again.
    Oversized,
    /// Too many attempts on this account from this source network in this window
    /// (`throttle::SOURCE_LIMIT`): refused before the password is checked.
    Locked,
    Storage(StorageFailure),
}

impl From<StorageFailure> for LoginError {
    fn from(failure: StorageFailure) -> Self {
        LoginError::Storage(failure)
    }
}

async fn decide<S: LoginStore>(
    app: &App<S>,
    request: &HttpRequest,
    login: &LoginRequest,
) -> Result<LoginOutcome, LoginError> {
    match login {
        LoginRequest::Form {
            return_to: Some(_), ..
        } => Ok(LoginOutcome::Form),
        LoginRequest::Form {
            return_to: None, ..
        } => {
            let session = session::current(&app.store, &app.config, request)
                .await
                .context("reading the session failed")?;
            Ok(match session {
                Some(session) => LoginOutcome::AlreadySignedIn {
                    username: session.username,
                },
                None => LoginOutcome::Form,
            })
        }
        LoginRequest::SignIn(sign_in) => check_password(app, request, sign_in).await,
    }
}

/// Logs and counts a refused sign-in; the log names no one (the name might be a password).
fn refused() -> LoginError {
    tracing::info!("sign-in refused");
    metrics::count(Event::SignInFailed);
    LoginError::Refused
}

async fn check_password<S: LoginStore>(
    app: &App<S>,
    request: &HttpRequest,
    sign_in: &SignIn,
) -> Result<LoginOutcome, LoginError> {
    let csrf_ok = match (
        request.cookie(session::login_csrf_cookie_name(&app.config)),
        sign_in.csrf_token.as_deref(),
    ) {
        (Some(cookie), Some(field)) => constant_time_eq(cookie.as_bytes(), field.as_bytes()),
        _ => false,
    };
    if !csrf_ok {
        return Err(LoginError::FormExpired);
    }
    let username = sign_in.username.as_str();
    let password = sign_in.password.expose();
    if username.is_empty() || password.is_empty() {
        return Err(LoginError::MissingCredentials);
    }
    if username.len() > 128 || password.len() > 1024 {
        return Err(LoginError::Oversized);
    }
    if !ids::is_username(username) {
        // No account can have this name, and DynamoDB might refuse it as a key: no lookup, but
        // the argon2 work and the answer of a wrong password, so that nothing tells them apart.
        std::hint::black_box(verify_password(password, dummy_hash()));
        return Err(refused());
    }

    // Counted per account name, whether or not it exists: the limit reveals nothing. The
    // attempt is counted before the password is checked, in one conditional write, so that
    // parallel guesses cannot all pass a check made before any of them is recorded.
    let counters = SignInCounters::new(username, request.source_ip, now());
    let attempt = app
        .store
        .count_attempt(
            &counters.source,
            Some(throttle::SOURCE_LIMIT),
            counters.expires_at,
        )
        .await
        .context("counting the sign-in attempt failed")?;
    if attempt == Attempt::AtLimit {
        tracing::info!("sign-in refused: too many attempts from this source");
        metrics::count(Event::SignInLocked);
        return Err(LoginError::Locked);
    }
    let (failures, user) = tokio::join!(
        app.store.attempts(&counters.account),
        app.store.get_user(username),
    );
    let failures = failures.context("reading the account's sign-in failures failed")?;
    let user = user.context("reading the user failed")?;
    // Many failures from everywhere: slower answers, never a refusal (the owner still gets in).
    let wait = throttle::delay(failures);
    if !wait.is_zero() {
        tracing::info!(wait_ms = wait.as_millis() as u64, "sign-in slowed");
        metrics::count(Event::SignInSlowed);
        tokio::time::sleep(wait).await;
    }
    // The same argon2 work whether or not the user exists: no enumeration by timing.
    let stored_hash = user
        .as_ref()
        .map_or(dummy_hash(), |u| u.password_hash.as_str());
    let password_ok = verify_password(password, stored_hash);
    let Some(user) = user.filter(|_| password_ok) else {
        app.store
            .count_attempt(&counters.account, None, counters.expires_at)
            .await
            .context("counting a sign-in failure failed")?;
        return Err(refused());
    };
    let (cleared, session_cookie) = tokio::join!(
        app.store.clear_attempts(&counters.source),
        session::start(&app.store, &app.config, &user),
    );
    cleared.context("clearing sign-in attempts failed")?;
    let session_cookie = session_cookie.context("storing the session failed")?;
    metrics::count(Event::SignInSucceeded);
    Ok(LoginOutcome::SignedIn { session_cookie })
}

fn render(
    config: &Config,
    request: &HttpRequest,
    login: &LoginRequest,
    outcome: Result<LoginOutcome, LoginError>,
) -> HttpResponse {
    let (status, message, username) = match outcome {
        Ok(LoginOutcome::Form) => (StatusCode::OK, None, login.username()),
        Ok(LoginOutcome::AlreadySignedIn { username }) => return pages::signed_in(&username),
        Ok(LoginOutcome::SignedIn { session_cookie }) => {
            let target = login.return_to().unwrap_or("/login");
            let response = redirect(StatusCode::SEE_OTHER, &config.endpoint(target));
            return with_cookie(response, &session_cookie);
        }
        Err(LoginError::FormExpired) => {
            (StatusCode::FORBIDDEN, Some(FORM_EXPIRED), login.username())
        }
        Err(LoginError::MissingCredentials) => (
            StatusCode::BAD_REQUEST,
            Some(MISSING_CREDENTIALS),
            login.username(),
        ),
        Err(LoginError::Refused) => (
            StatusCode::UNAUTHORIZED,
            Some(GENERIC_FAILURE),
            login.username(),
        ),
        Err(LoginError::Oversized) => (StatusCode::UNAUTHORIZED, Some(GENERIC_FAILURE), ""),
        Err(LoginError::Locked) => (
            StatusCode::TOO_MANY_REQUESTS,
            Some(LOCKED),
            login.username(),
        ),
        Err(LoginError::Storage(failure)) => return failure.into_page(),
    };
    let view = FormView {
        status,
        return_to: login.return_to().unwrap_or(""),
        username,
        message,
    };
    let mut response = render_form(config, request, &view);
    if status == StatusCode::TOO_MANY_REQUESTS {
        // RFC 6585 4: when the counting window ends, the source may try again.
        let seconds = throttle::seconds_until_next_window(now());
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
    }
    response
}

/// The sign-in form as one response shows it.
struct FormView<'a> {
    status: StatusCode,
    return_to: &'a str,
    /// Shown again in the username field.
    username: &'a str,
    message: Option<&'static str>,
}

/// The login form with its CSRF token: a double-submit cookie, since there is no session yet.
fn render_form(config: &Config, request: &HttpRequest, view: &FormView<'_>) -> HttpResponse {
    let cookie_name = session::login_csrf_cookie_name(config);
    let token = match request.cookie(cookie_name) {
        Some(existing) if existing.len() == 43 => existing.to_string(),
        _ => random_b64(32),
    };
    let response = pages::login(
        view.status,
        &LoginForm {
            return_to: view.return_to,
            csrf_token: &token,
            username: view.username,
            error: view.message,
        },
    );
    with_cookie(
        response,
        &session::set_cookie(config, cookie_name, &token, 3600),
    )
}

fn with_cookie(mut response: HttpResponse, set_cookie: &str) -> HttpResponse {
    if let Ok(value) = HeaderValue::from_str(set_cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
