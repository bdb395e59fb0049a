//! The authorization request (RFC 6749 4.1.1, RFC 7636 4.3, OpenID Connect Core 3.1.2.1),
//! validated the same way by `GET /oauth/authorize` and again by `POST /oauth/consent`
//! (hidden fields are never trusted), what authorize does with it (`next_step`: sign in,
//! ask, or issue the code), and the authorization codes issued for it.

use crate::config::Config;
use crate::http::{append_query, Params};
use crate::id_token_hint;
use crate::ids;
use crate::model::{
    Authentication, Client, ClientKind, Grant, PkceChallenge, PkceMethod, ScopeSet,
};
use crate::oauth::{ErrorCode, REPEATED_PARAMETER};
use crate::openid_request::{self, OpenIdParameters};
use crate::pkce;
use crate::resource::{self, Resource};
use crate::secret::{now, AuthorizationCode};
use crate::store::SigningKey;

/// A request that passed every check: what the consent page shows and a code stands for.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub client: Client,
    /// Where the response goes: the request's `redirect_uri`, or the client's only one.
    pub redirect_uri: String,
    /// Whether the request named it (then the token request must name it too, RFC 6749 4.1.3).
    pub redirect_uri_given: bool,
    pub scopes: ScopeSet,
    /// Whether `scope` was in the request (else `scopes` are the client's defaults).
    pub scopes_asked: bool,
    /// The APIs the tokens are for (RFC 8707 `resource`): as requested until `target` checks
    /// them against the registered ones; empty for the default audience.
    pub resources: Vec<String>,
    pub state: Option<String>,
    pub pkce: Option<PkceChallenge>,
    /// `nonce`, `prompt`, `max_age`, `login_hint`, `id_token_hint` (OpenID Connect Core 3.1.2.1).
    pub openid: OpenIdParameters,
}

/// The `error_description` of an `id_token_hint` that does not verify.
pub const INVALID_ID_TOKEN_HINT: &str =
    "id_token_hint is not an ID token this server issued to the client";
/// `prompt=none` with a hint naming another user than the signed-in one.
pub const HINT_NAMES_ANOTHER_USER: &str = "the user the id_token_hint names is not signed in";
/// Back from the sign-in the hint sent the browser to, as another user than the hint's.
pub const SIGNED_IN_AS_ANOTHER_USER: &str =
    "the user who signed in is not the one the id_token_hint names";

/// The browser's live session, as `next_step` judges it: when it began
/// (`Session::signed_in_at_ms`), whose it is, and what the caller keeps of it.
#[derive(Debug)]
pub struct LiveSession<S> {
    pub signed_in_at_ms: i64,
    pub sub: String,
    pub value: S,
}

/// What authorize does with a valid request, given the session and the remembered consent;
/// `S` is the session, as the caller gave it.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<S> {
    /// Send the browser to sign in (first, or again), then back to the request.
    SignIn { location: String },
    /// Issue the code at once: consent was given before and need not be asked again.
    Code(S),
    /// Ask the user.
    Consent(S),
}

#[derive(Debug)]
pub enum AuthorizationError {
    /// The client or redirect URI cannot be trusted: an error page, never a redirect (RFC 6749 4.1.2.1).
    Page {
        title: &'static str,
        message: &'static str,
    },
    /// Every other error goes back to the validated redirect URI.
    Redirect {
        redirect_uri: String,
        error: ErrorCode,
        description: &'static str,
        state: Option<String>,
    },
}

fn page(title: &'static str, message: &'static str) -> AuthorizationError {
    AuthorizationError::Page { title, message }
}

fn unknown_client() -> AuthorizationError {
    page(
        "Unknown application",
        "The application that sent you here is not registered.",
    )
}

/// The client id to look up: the first checks of `validate`, made before any storage call.
/// A client id outside `ids::is_client_id` (empty, too long, odd characters) cannot be
/// registered, so it gets the unknown client's page without a lookup.
pub fn requested_client_id(params: &Params) -> Result<&str, AuthorizationError> {
    if params.is_repeated("client_id") || params.is_repeated("redirect_uri") {
        return Err(page(
            "Invalid request",
            "The request names its application or return address more than once.",
        ));
    }
    let Some(client_id) = params.get("client_id") else {
        return Err(page(
            "Unknown application",
            "The request does not say which application is asking.",
        ));
    };
    if !ids::is_client_id(client_id) {
        return Err(unknown_client());
    }
    Ok(client_id)
}

/// Checks the request in the order of the spec: client and redirect URI first (errors
/// shown as a page), then response type, repeated parameters, scope and PKCE (errors
/// redirected). `client` is the stored client that `client_id` names, if there is one.
pub fn validate(
    client: Option<Client>,
    params: &Params,
) -> Result<AuthorizationRequest, AuthorizationError> {
    let client_id = requested_client_id(params)?;
    let Some(client) = client.filter(|c| c.client_id() == client_id) else {
        return Err(unknown_client());
    };
    let (redirect_uri, redirect_uri_given) = match params.get("redirect_uri") {
        // Exact string comparison: no normalisation, no prefix or pattern matching (RFC 9700 2.1).
        Some(uri) if client.redirect_uris().iter().any(|registered| registered == uri) => (uri.to_string(), true),
        Some(_) => {
            return Err(page(
                "Invalid return address",
                "The address to return to is not registered for this application.",
            ))
        }
        None => match client.redirect_uris() {
            [only] => (only.clone(), false),
            _ => {
                return Err(page(
                    "Invalid return address",
                    "The request does not say where to return, and the application has several addresses.",
                ))
            }
        },
    };

    let state = params.get("state").map(str::to_string);
    let redirect = |error: ErrorCode, description: &'static str| AuthorizationError::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description,
        state: state.clone(),
    };

    if let Some(response_type) = params.get("response_type") {
        if response_type != "code" {
            return Err(redirect(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if params.first_repeated().is_some() {
        return Err(redirect(ErrorCode::InvalidRequest, REPEATED_PARAMETER));
    }

    let requested = match params.get("scope") {
        Some(scope) => ScopeSet::parse(scope)
            .ok_or_else(|| redirect(ErrorCode::InvalidScope, "the scope is malformed"))?,
        None => ScopeSet::new(),
    };
    let scopes_asked = !requested.is_empty();
    let scopes = if requested.is_empty() {
        client.default_scopes().clone()
    } else {
        requested
    };
    if scopes.is_empty() {
        return Err(redirect(
            ErrorCode::InvalidScope,
            "no scope was requested and the client has no default scope",
        ));
    }
    if !scopes.is_subset(client.allowed_scopes()) {
        return Err(redirect(
            ErrorCode::InvalidScope,
            "a requested scope is not available to this client",
        ));
    }

    let pkce = match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (None, None) if client.requires_pkce() => {
            return Err(redirect(
                ErrorCode::InvalidRequest,
                "code_challenge is required (PKCE, RFC 7636)",
            ))
        }
        (None, None) => None,
        (None, Some(_)) => {
            return Err(redirect(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            ))
        }
        (Some(challenge), method) => {
            // RFC 7636 4.3: the method defaults to plain.
            let method = match PkceMethod::parse(method.unwrap_or("plain")) {
                Some(PkceMethod::S256) => PkceMethod::S256,
                Some(PkceMethod::Plain) if client.allow_plain_pkce() => PkceMethod::Plain,
                _ => {
                    return Err(redirect(
                        ErrorCode::InvalidRequest,
                        "code_challenge_method must be S256",
                    ))
                }
            };
            if !pkce::is_well_formed(challenge) {
                return Err(redirect(
                    ErrorCode::InvalidRequest,
                    "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                ));
            }
            Some(PkceChallenge {
                challenge: challenge.to_string(),
                method,
            })
        }
    };
    let openid = OpenIdParameters::parse(params)
        .map_err(|(error, description)| redirect(error, description))?;

    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        redirect_uri_given,
        scopes,
        scopes_asked,
        resources: params.get_all("resource").to_vec(),
        state,
        pkce,
        openid,
    })
}

impl AuthorizationRequest {
    /// The request's parameters, normalised, as the consent form carries them.
    pub fn form_fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![("client_id", self.client.client_id().to_string())];
        if self.redirect_uri_given {
            fields.push(("redirect_uri", self.redirect_uri.clone()));
        }
        fields.push(("scope", self.scopes.to_string()));
        for resource in &self.resources {
            fields.push(("resource", resource.clone()));
        }
        if let Some(state) = &self.state {
            fields.push(("state", state.clone()));
        }
        if let Some(pkce) = &self.pkce {
            fields.push(("code_challenge", pkce.challenge.clone()));
            fields.push(("code_challenge_method", pkce.method.as_str().to_string()));
        }
        fields.extend(self.openid.form_fields());
        fields
    }

    /// Checks the requested APIs against the registered ones (`resource::select`): the
    /// scopes become those the tokens get, or the request is refused with `invalid_target`,
    /// sent to the client. Only a request that names a `resource` needs the `catalogue`.
    pub fn target(&mut self, catalogue: &[Resource]) -> Result<(), AuthorizationError> {
        let (resources, scopes) = resource::select(
            catalogue,
            &self.resources,
            self.scopes.clone(),
            self.scopes_asked,
        )
        .map_err(|error| self.refusal(ErrorCode::InvalidTarget, error.description()))?;
        self.resources = resources;
        self.scopes = scopes;
        Ok(())
    }

    /// Verifies the request's `id_token_hint` (Core 3.1.2.1) against the published `keys`:
    /// an ID token of this issuer, signed by one of them, issued to this client (its expiry
    /// is not checked: a hint identifies, it does not authenticate). `Ok(None)` without a
    /// hint, the user it names (`sub`) with a valid one, `invalid_request` otherwise.
    pub fn verify_id_token_hint(
        &self,
        config: &Config,
        keys: &[SigningKey],
    ) -> Result<Option<String>, AuthorizationError> {
        let Some(token) = self.openid.id_token_hint.as_deref() else {
            return Ok(None);
        };
        id_token_hint::verify(config, keys, token, Some(self.client.client_id()))
            .map(|hint| Some(hint.sub))
            .map_err(|_| self.refusal(ErrorCode::InvalidRequest, INVALID_ID_TOKEN_HINT))
    }

    /// What authorize does next, for the request `query` (as it came) with this `session`
    /// (live, of the cookie's user: `LiveSession`), the user a verified `id_token_hint` names
    /// (`hinted_sub`), and the scopes the user `granted` this client before, at `now_ms`:
    /// - no session, or one older than `prompt=login` or `max_age` allow: sign in, unless
    ///   `prompt=none` (`login_required`);
    /// - a hint naming another user than the session's: `login_required` with `prompt=none`
    ///   (Core 3.1.2.1: the user the hint names must be the signed-in one), and after a
    ///   sign-in this request sent the browser to (the user chose another account); sign in
    ///   again otherwise;
    /// - consent given before for every scope, where remembered consent applies and
    ///   `prompt=consent` does not ask again: the code;
    /// - otherwise the consent page, unless `prompt=none` (`consent_required`).
    pub fn next_step<S>(
        &self,
        config: &Config,
        query: &str,
        session: Option<LiveSession<S>>,
        hinted_sub: Option<&str>,
        granted: &ScopeSet,
        now_ms: i64,
    ) -> Result<Step<S>, AuthorizationError> {
        let openid = &self.openid;
        // With a hint, a sign-in is marked, so that coming back as another user is told apart.
        let mark = openid.wants_recent_sign_in() || hinted_sub.is_some();
        let Some(session) = session else {
            if openid.prompt.none {
                return Err(self.refusal(ErrorCode::LoginRequired, "the user is not signed in"));
            }
            return Ok(self.sign_in(config, query, mark, now_ms));
        };
        if hinted_sub.is_some_and(|sub| sub != session.sub) {
            if openid.prompt.none {
                return Err(self.refusal(ErrorCode::LoginRequired, HINT_NAMES_ANOTHER_USER));
            }
            if openid.signed_in_by_this_request(session.signed_in_at_ms, now_ms) {
                return Err(self.refusal(ErrorCode::LoginRequired, SIGNED_IN_AS_ANOTHER_USER));
            }
            return Ok(self.sign_in(config, query, true, now_ms));
        }
        if !openid.sign_in_is_recent_enough(session.signed_in_at_ms, now_ms) {
            if openid.prompt.none {
                return Err(self.refusal(ErrorCode::LoginRequired, "the user must sign in again"));
            }
            return Ok(self.sign_in(config, query, mark, now_ms));
        }
        let remembered = self.scopes.is_subset(granted)
            && self.remembered_consent_applies()
            && !openid.prompt.consent;
        if remembered {
            Ok(Step::Code(session.value))
        } else if openid.prompt.none {
            Err(self.refusal(
                ErrorCode::ConsentRequired,
                "the user has not approved this request",
            ))
        } else {
            Ok(Step::Consent(session.value))
        }
    }

    /// The sign-in page, returning to this request; marked with the time the request was seen
    /// when `mark` (a recent sign-in is asked for, or a hint names the user), and with the
    /// username the request hints at (never anything from an `id_token_hint`).
    fn sign_in<S>(&self, config: &Config, query: &str, mark: bool, now_ms: i64) -> Step<S> {
        let marker = mark.then_some(now_ms);
        let return_to = format!(
            "/oauth/authorize?{}",
            openid_request::return_to_query(query, marker)
        );
        let mut params = vec![("return_to", return_to.as_str())];
        if let Some(hint) = &self.openid.login_hint {
            params.push(("login_hint", hint));
        }
        Step::SignIn {
            location: append_query(&config.endpoint("/login"), &params),
        }
    }

    /// An error for the validated redirect URI.
    pub(crate) fn refusal(
        &self,
        error: ErrorCode,
        description: &'static str,
    ) -> AuthorizationError {
        AuthorizationError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description,
            state: self.state.clone(),
        }
    }

    /// Whether a consent the user gave before may stand in for asking again. Not for a
    /// public client whose redirect URI is not HTTPS: another app on the device can claim
    /// the same loopback port or private-use scheme, and would otherwise get a code with no
    /// user action (RFC 8252 8.6, RFC 9700 4.2). An HTTPS redirect URI names a host that
    /// only the client controls; a confidential client must also prove its secret.
    pub fn remembered_consent_applies(&self) -> bool {
        self.client.kind() == ClientKind::Confidential
            || url::Url::parse(&self.redirect_uri).is_ok_and(|uri| uri.scheme() == "https")
    }

    /// A new code for the signed-in user (256 random bits) and the grant stored under its
    /// hash, with the request's `nonce` and the sign-in it was approved in.
    pub fn new_code(
        &self,
        config: &Config,
        sub: &str,
        authentication: Authentication,
    ) -> (AuthorizationCode, Grant) {
        let code = AuthorizationCode::generate();
        let grant = Grant {
            code_hash: code.hash(),
            client_id: self.client.client_id().to_string(),
            redirect_uri: self.redirect_uri_given.then(|| self.redirect_uri.clone()),
            sub: sub.to_string(),
            scopes: self.scopes.clone(),
            pkce: self.pkce.clone(),
            expires_at: now() + config.code_ttl_seconds,
            redeemed_at: None,
            issued_jti: None,
            issued_family: None,
            nonce: self.openid.nonce.clone(),
            authentication: Some(authentication),
            resources: self.resources.clone(),
        };
        (code, grant)
    }

    /// The success response's location: `code`, `state` and `iss` (RFC 9207).
    pub fn code_location(&self, config: &Config, code: &AuthorizationCode) -> String {
        let mut params = vec![("code", code.expose())];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", &config.issuer));
        append_query(&self.redirect_uri, &params)
    }
}

/// An error response's location: `error`, `error_description`, `state` and `iss`.
pub fn error_location(
    config: &Config,
    redirect_uri: &str,
    error: ErrorCode,
    description: &'static str,
    state: Option<&str>,
) -> String {
    let mut params = vec![
        ("error", error.as_str()),
        ("error_description", description),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("iss", &config.issuer));
    append_query(redirect_uri, &params)
}
