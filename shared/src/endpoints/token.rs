//! `POST /oauth/token`: redeems an authorization code, or rotates a refresh token,
//! for an access token (and a refresh token for clients allowed that grant), and an ID
//! token when the grant has the `openid` scope (OpenID Connect Core 3.1.3.3, 12.2).

use super::client_request::{authenticated, ClientRequest, ClientRequestError};
use super::{StorageFailure, StoreContext};
use crate::app::App;
use crate::config::Config;
use crate::cors;
use crate::http::{json, no_store, HttpRequest, HttpResponse, Params};
use crate::metrics::{self, Event};
use crate::model::{
    Authentication, Client, ClientType, Grant, GrantType, RefreshToken, ScopeSet, TokenFamily,
};
use crate::oauth::{self, ErrorCode, ErrorResponse};
use crate::pkce;
use crate::resource::{self, Resource, TargetError};
use crate::scope::OPENID;
use crate::secret::{now, random_id, AuthorizationCode, RefreshTokenSecret, Secret};
use crate::store::{
    ClientAuthStore, CodeRedemption, CodeRedemptionStore, Redemption, RefreshTokenStore,
    RefreshUse, ResourceReader, RevocationStore, Rotation, SigningKeyReader,
};
use crate::tokens::{new_jti, AccessTokenClaims, Audience, IdTokenClaims, Signer, SignerError};
use http::{Method, StatusCode};
use serde::Serialize;
use std::sync::Arc;

pub async fn handle<S>(app: &App<S>, request: &HttpRequest) -> HttpResponse
where
    S: ClientAuthStore
        + CodeRedemptionStore
        + SigningKeyReader
        + RevocationStore
        + RefreshTokenStore
        + ResourceReader,
{
    if request.method == Method::OPTIONS {
        return cors::preflight(request, cors::Audience::ClientOrigins, "POST");
    }
    match decide(app, request).await {
        Ok(issued) => cors::for_client(request, render(issued)),
        // Before the client and its origins are known: no origin may read it.
        Err(TokenError::ClientRequest(error)) => error.into_response(),
        Err(error) => cors::for_client(request, error.into_response()),
    }
}

/// The grant's own parameters (RFC 6749 4.1.3 and 6), read once.
enum TokenRequest {
    AuthorizationCode {
        code: AuthorizationCode,
        redirect_uri: Option<String>,
        verifier: Option<Secret>,
    },
    RefreshToken {
        token: RefreshTokenSecret,
        /// A narrower scope for the new access token.
        scope: Option<ScopeSet>,
    },
    /// RFC 6749 4.4: the client's own token; the client's default scopes when none is asked.
    ClientCredentials { scope: Option<ScopeSet> },
}

/// What a successful request issued (RFC 6749 5.1).
struct Issued {
    access_token: String,
    expires_in: i64,
    scopes: ScopeSet,
    refresh_token: Option<RefreshTokenSecret>,
    id_token: Option<String>,
}

enum TokenError {
    /// Method, form or client authentication: refused before the grant is read.
    ClientRequest(ClientRequestError),
    InvalidRequest(&'static str),
    InvalidGrant(&'static str),
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope(&'static str),
    /// RFC 8707: a `resource` not registered, not granted, or not accepting the scope.
    InvalidTarget(TargetError),
    /// No usable signing key, or signing failed: the operator's to fix, the cause for the log.
    Signer {
        context: &'static str,
        error: SignerError,
    },
    Storage(StorageFailure),
}

impl From<ClientRequestError> for TokenError {
    fn from(error: ClientRequestError) -> Self {
        TokenError::ClientRequest(error)
    }
}

impl From<StorageFailure> for TokenError {
    fn from(failure: StorageFailure) -> Self {
        TokenError::Storage(failure)
    }
}

impl From<TargetError> for TokenError {
    fn from(error: TargetError) -> Self {
        TokenError::InvalidTarget(error)
    }
}

impl From<SignerError> for TokenError {
    fn from(error: SignerError) -> Self {
        match error {
            SignerError::Storage(error) => {
                StorageFailure::new("reading the signing keys failed", error).into()
            }
            error => TokenError::Signer {
                context: "no usable signing key",
                error,
            },
        }
    }
}

impl TokenError {
    /// The RFC 6749 5.2 response.
    fn into_response(self) -> HttpResponse {
        let bad_request = ErrorResponse::bad_request;
        let error = match self {
            TokenError::ClientRequest(error) => return error.into_response(),
            TokenError::InvalidRequest(description) => {
                bad_request(ErrorCode::InvalidRequest, description)
            }
            TokenError::InvalidGrant(description) => {
                bad_request(ErrorCode::InvalidGrant, description)
            }
            TokenError::UnauthorizedClient => bad_request(
                ErrorCode::UnauthorizedClient,
                "this client may not use this grant type",
            ),
            TokenError::UnsupportedGrantType => bad_request(
                ErrorCode::UnsupportedGrantType,
                "grant_type must be authorization_code, refresh_token or client_credentials",
            ),
            TokenError::InvalidScope(description) => {
                bad_request(ErrorCode::InvalidScope, description)
            }
            TokenError::InvalidTarget(error) => {
                bad_request(ErrorCode::InvalidTarget, error.description())
            }
            TokenError::Signer { context, error } => {
                tracing::error!(error = %error, "{context}");
                return oauth::server_error();
            }
            TokenError::Storage(failure) => return failure.into_json(),
        };
        error.render()
    }
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

fn render(issued: Issued) -> HttpResponse {
    no_store(json(
        StatusCode::OK,
        &TokenResponse {
            access_token: issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            scope: issued.scopes.to_string(),
            refresh_token: issued
                .refresh_token
                .as_ref()
                .map(RefreshTokenSecret::expose),
            id_token: issued.id_token,
        },
    ))
}

fn requested_grant_type(params: &Params) -> Result<GrantType, TokenError> {
    let value = params
        .get("grant_type")
        .ok_or(TokenError::InvalidRequest("grant_type is required"))?;
    GrantType::parse(value).ok_or(TokenError::UnsupportedGrantType)
}

impl TokenRequest {
    fn parse(grant_type: GrantType, params: &Params) -> Result<Self, TokenError> {
        match grant_type {
            GrantType::AuthorizationCode => {
                let code = params
                    .get("code")
                    .ok_or(TokenError::InvalidRequest("code is required"))?;
                let verifier = params.get("code_verifier");
                // Refused before the code is spent.
                if verifier.is_some_and(|verifier| !pkce::is_well_formed(verifier)) {
                    return Err(TokenError::InvalidGrant(
                        "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                    ));
                }
                Ok(TokenRequest::AuthorizationCode {
                    code: AuthorizationCode::new(code),
                    redirect_uri: params.get("redirect_uri").map(str::to_string),
                    verifier: verifier.map(Secret::new),
                })
            }
            GrantType::RefreshToken => {
                let token = params
                    .get("refresh_token")
                    .ok_or(TokenError::InvalidRequest("refresh_token is required"))?;
                Ok(TokenRequest::RefreshToken {
                    token: RefreshTokenSecret::new(token),
                    scope: requested_scope(params)?,
                })
            }
            GrantType::ClientCredentials => Ok(TokenRequest::ClientCredentials {
                scope: requested_scope(params)?,
            }),
        }
    }
}

/// The `scope` parameter, when sent: a non-empty, well-formed scope set.
fn requested_scope(params: &Params) -> Result<Option<ScopeSet>, TokenError> {
    params
        .get("scope")
        .map(|scope| {
            ScopeSet::parse(scope)
                .filter(|scopes| !scopes.is_empty())
                .ok_or(TokenError::InvalidScope("the scope is malformed"))
        })
        .transpose()
}

async fn decide<S>(app: &App<S>, request: &HttpRequest) -> Result<Issued, TokenError>
where
    S: ClientAuthStore
        + CodeRedemptionStore
        + SigningKeyReader
        + RevocationStore
        + RefreshTokenStore
        + ResourceReader,
{
    let ClientRequest { client, params } = authenticated(app, request).await?;
    let grant_type = requested_grant_type(&params)?;
    if !client.allows_grant(grant_type) {
        return Err(TokenError::UnauthorizedClient);
    }
    // The signer is loaded before anything is spent, so a missing key costs no code or token.
    let signer = app.cache.signer.current(&app.store).await?;
    let issuer = Issuer {
        store: &app.store,
        config: &app.config,
        signer,
        client: &client,
    };
    // RFC 8707: the APIs the access token is for (none: the default audience).
    let resources = params.get_all("resource");
    match TokenRequest::parse(grant_type, &params)? {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            verifier,
        } => {
            issuer
                .redeem_code(&code, redirect_uri.as_deref(), verifier.as_ref(), resources)
                .await
        }
        TokenRequest::RefreshToken { token, scope } => {
            issuer.refresh(&token, scope, resources).await
        }
        TokenRequest::ClientCredentials { scope } => {
            let apis = super::registered_apis(app, resources).await?;
            issuer.client_credentials(scope, &apis, resources)
        }
    }
}

struct Issuer<'a, S> {
    store: &'a S,
    config: &'a Config,
    signer: Arc<Signer>,
    client: &'a Client,
}

impl<S> Issuer<'_, S>
where
    S: CodeRedemptionStore + RevocationStore + RefreshTokenStore,
{
    /// The code is read and judged, then redeemed in one transaction with the grant it starts
    /// (and the grant's first refresh token): a replay finds the grant whenever it comes.
    async fn redeem_code(
        &self,
        code: &AuthorizationCode,
        redirect_uri: Option<&str>,
        verifier: Option<&Secret>,
        resources: &[String],
    ) -> Result<Issued, TokenError> {
        let code_hash = code.hash();
        let t = now();
        let grant = self
            .store
            .get_code(&code_hash)
            .await
            .context("reading the code failed")?
            .ok_or(TokenError::InvalidGrant(CODE_INVALID))?;
        if grant.redeemed_at.is_some() {
            return Err(self.replayed(&grant).await);
        }
        if grant.expires_at <= t {
            return Err(TokenError::InvalidGrant(CODE_INVALID));
        }
        if let Err(description) = check_binding(&grant, self.client, redirect_uri, verifier) {
            // The code is spent either way: a failed binding check is treated as an attack on it.
            tracing::warn!(client_id = %self.client.client_id(), reason = description, "code binding check failed");
            self.store
                .spend_code(&code_hash, t)
                .await
                .context("spending the code failed")?;
            return Err(TokenError::InvalidGrant(description));
        }
        // The same APIs or fewer (RFC 8707 2.2), refused before the code is spent.
        let audiences = resource::narrow(&grant.resources, resources)?;
        let jti = new_jti();
        let refresh_token = self
            .client
            .allows_grant(GrantType::RefreshToken)
            .then(RefreshTokenSecret::generate);
        let (family, first) = self.start_grant(&grant, t, refresh_token.as_ref());
        let redemption = CodeRedemption {
            code_hash: &code_hash,
            now: t,
            jti: &jti,
            grant: &family,
            first_refresh: first.as_ref(),
        };
        match self
            .store
            .redeem_code(&redemption)
            .await
            .context("redeeming the code failed")?
        {
            Redemption::Redeemed => {}
            Redemption::Replayed(grant) => return Err(self.replayed(&grant).await),
            Redemption::Invalid => return Err(TokenError::InvalidGrant(CODE_INVALID)),
            Redemption::UserGone => return Err(TokenError::InvalidGrant(USER_GONE)),
        }
        self.issue(Issue {
            sub: &grant.sub,
            scopes: grant.scopes,
            jti,
            issued_at: t,
            grant_id: &family.family_id,
            refresh_token,
            authentication: grant.authentication.as_ref(),
            nonce: grant.nonce.as_deref(),
            resources: &audiences,
        })
    }

    /// A second redemption: revoke what the first one issued (RFC 6749 4.1.2), and refuse.
    async fn replayed(&self, grant: &Grant) -> TokenError {
        match self.revoke_replayed(grant).await {
            Ok(()) => TokenError::InvalidGrant("the code was already used"),
            Err(failure) => failure.into(),
        }
    }

    async fn revoke_replayed(&self, grant: &Grant) -> Result<(), StorageFailure> {
        tracing::warn!(client_id = %grant.client_id, "authorization code replayed: revoking its tokens");
        metrics::count(Event::CodeReplayed);
        // Revoking the grant ends every token issued under it; the first access token's `jti`
        // is deny-listed as well, as it always was.
        if let Some(jti) = &grant.issued_jti {
            let until =
                grant.redeemed_at.unwrap_or_else(now) + self.config.access_token_ttl_seconds;
            self.store
                .revoke_jti(jti, until)
                .await
                .context("revoking the replayed code's access token failed")?;
        }
        if let Some(family_id) = &grant.issued_family {
            self.store
                .revoke_family(family_id)
                .await
                .context("revoking the replayed code's grant failed")?;
        }
        Ok(())
    }

    /// The grant a redemption starts, and its first refresh token when the client gets one.
    /// The grant outlives every token issued under it by one access token lifetime at most.
    fn start_grant(
        &self,
        code: &Grant,
        t: i64,
        refresh_token: Option<&RefreshTokenSecret>,
    ) -> (TokenFamily, Option<RefreshToken>) {
        let family_id = random_id();
        let access_ttl = self.config.access_token_ttl_seconds;
        let refresh_ends_at = t + self.config.refresh_absolute_ttl_seconds;
        let first = refresh_token.map(|token| RefreshToken {
            token_hash: token.hash(),
            family_id: family_id.clone(),
            client_id: self.client.client_id().to_string(),
            sub: code.sub.clone(),
            scopes: code.scopes.clone(),
            issued_at: t,
            expires_at: (t + self.config.refresh_idle_ttl_seconds).min(refresh_ends_at),
            family_expires_at: refresh_ends_at,
            used_at: None,
            revoked: false,
            authentication: code.authentication.clone(),
            resources: code.resources.clone(),
        });
        let family = TokenFamily {
            family_id,
            client_id: self.client.client_id().to_string(),
            sub: code.sub.clone(),
            expires_at: match &first {
                Some(_) => refresh_ends_at + access_ttl,
                None => t + access_ttl,
            },
            current: first.as_ref().map(|first| first.token_hash.clone()),
            revoked: false,
            authentication: code.authentication.clone(),
        };
        (family, first)
    }

    /// Rotation (RFC 9700 4.14): the presented token is spent, a successor issued;
    /// presenting a spent one revokes its whole family.
    async fn refresh(
        &self,
        presented: &RefreshTokenSecret,
        narrowed: Option<ScopeSet>,
        resources: &[String],
    ) -> Result<Issued, TokenError> {
        let token_hash = presented.hash();
        let t = now();
        let read = self
            .store
            .get_refresh_token(&token_hash)
            .await
            .context("reading the refresh token failed")?;
        let used = match read.map(|token| token.presented_by(self.client.client_id(), t)) {
            Some(RefreshUse::Accepted(token)) => token,
            Some(RefreshUse::Reused(token)) => return Err(self.reuse(&token.family_id).await),
            Some(RefreshUse::Invalid) | None => {
                return Err(TokenError::InvalidGrant(
                    "the refresh token is invalid or expired",
                ))
            }
        };
        // Checked before the token is spent, so that a bad request does not cost the client
        // its token.
        if narrowed
            .as_ref()
            .is_some_and(|narrowed| !narrowed.is_subset(&used.scopes))
        {
            return Err(TokenError::InvalidScope(
                "a refresh may only narrow the scope (RFC 6749 6)",
            ));
        }
        let audiences = resource::narrow(&used.resources, resources)?;
        // The client's registration as it is now, not as it was at consent: scopes it may no
        // longer use are dropped (RFC 6749 3.3, 6: the answer's `scope` says so). A grant
        // left with none ends here: the token is spent and has no successor.
        let scopes = still_allowed(
            narrowed.as_ref().unwrap_or(&used.scopes),
            self.client.allowed_scopes(),
        );
        if scopes.is_empty() {
            return Err(TokenError::InvalidScope(
                "the client may no longer use any scope of this grant",
            ));
        }
        let next_token = RefreshTokenSecret::generate();
        // RFC 6749 6: the new refresh token keeps the original scope, only the access token narrows.
        let next = RefreshToken {
            token_hash: next_token.hash(),
            issued_at: t,
            expires_at: (t + self.config.refresh_idle_ttl_seconds).min(used.family_expires_at),
            used_at: None,
            revoked: false,
            ..used.clone()
        };
        // All or nothing: a cancelled transaction (a conflict, throttling) spent nothing, and
        // the client may present the same token again after the 503.
        match self
            .store
            .rotate(&used, &next, t)
            .await
            .context("rotating the refresh token failed")?
        {
            Rotation::Rotated => {}
            Rotation::Reused => return Err(self.reuse(&used.family_id).await),
            Rotation::Ended => {
                return Err(TokenError::InvalidGrant("the refresh token was revoked"))
            }
            Rotation::UserGone => return Err(TokenError::InvalidGrant(USER_GONE)),
        }
        self.issue(Issue {
            sub: &used.sub,
            scopes,
            jti: new_jti(),
            issued_at: t,
            grant_id: &used.family_id,
            refresh_token: Some(next_token),
            authentication: used.authentication.as_ref(),
            // OpenID Connect Core 12.2: a refreshed ID token has no nonce.
            nonce: None,
            resources: &audiences,
        })
    }

    /// The client's own access token (RFC 6749 4.4): no user, no grant, no refresh token
    /// (4.4.3), no ID token; nothing is stored, so a warm container answers without a round trip.
    fn client_credentials(
        &self,
        asked: Option<ScopeSet>,
        apis: &[Resource],
        resources: &[String],
    ) -> Result<Issued, TokenError> {
        let allowed = self.client.allowed_scopes();
        let scopes_asked = asked.is_some();
        let scopes = match asked {
            Some(asked) if !asked.is_subset(allowed) => {
                return Err(TokenError::InvalidScope(
                    "the scope is not allowed for this client",
                ))
            }
            // `openid` asks for a user's identity: asked, it is refused below; by default, left out.
            Some(asked) => asked,
            None => self
                .client
                .default_scopes()
                .iter()
                .filter(|scope| scope.as_str() != OPENID)
                .cloned()
                .collect(),
        };
        if scopes.contains(OPENID) {
            return Err(TokenError::InvalidScope(
                "openid needs a user: it cannot be granted with client_credentials",
            ));
        }
        if scopes.is_empty() {
            return Err(TokenError::InvalidScope(
                "no scope was asked and the client has no default scope",
            ));
        }
        let (resources, scopes) = resource::select(apis, resources, scopes, scopes_asked)?;
        let mut claims = AccessTokenClaims::for_client(
            self.config,
            self.client.client_id(),
            &scopes,
            new_jti(),
            now(),
        );
        claims.aud = Audience::of(self.config, &resources, false);
        let access_token = self
            .signer
            .sign(&claims)
            .map_err(|error| TokenError::Signer {
                context: "signing failed",
                error,
            })?;
        tracing::info!(client_id = %self.client.client_id(), jti = %claims.jti, "client credentials token issued");
        metrics::count(Event::TokenIssued);
        Ok(Issued {
            access_token,
            expires_in: self.config.access_token_ttl_seconds,
            scopes,
            refresh_token: None,
            id_token: None,
        })
    }

    /// A spent refresh token presented again (RFC 9700 4.14): its family is revoked, and with it
    /// every token issued under the grant.
    async fn reuse(&self, family_id: &str) -> TokenError {
        tracing::warn!(client_id = %self.client.client_id(), "refresh token reused: revoking its family");
        metrics::count(Event::RefreshTokenReused);
        match self
            .store
            .revoke_family(family_id)
            .await
            .context("revoking a refresh token family failed")
        {
            Ok(_) => TokenError::InvalidGrant("the refresh token was already used"),
            Err(failure) => failure.into(),
        }
    }

    /// Signs the access token, and the ID token when the scope has `openid`: the last step,
    /// once everything they stand for is stored.
    fn issue(&self, issue: Issue<'_>) -> Result<Issued, TokenError> {
        let signing_failed = |error| TokenError::Signer {
            context: "signing failed",
            error,
        };
        let mut claims = AccessTokenClaims::new(
            self.config,
            issue.sub,
            self.client.client_id(),
            &issue.scopes,
            issue.jti,
            issue.issued_at,
            issue.grant_id,
        );
        claims.aud = Audience::of(self.config, issue.resources, issue.scopes.contains(OPENID));
        let access_token = self.signer.sign(&claims).map_err(signing_failed)?;
        let id_token = if issue.scopes.contains(OPENID) {
            let id_claims = IdTokenClaims::new(
                self.config,
                issue.sub,
                self.client.client_id(),
                issue.issued_at,
                issue.authentication,
                issue.nonce,
                &access_token,
            );
            Some(
                self.signer
                    .sign_id_token(&id_claims)
                    .map_err(signing_failed)?,
            )
        } else {
            None
        };
        tracing::info!(client_id = %self.client.client_id(), jti = %claims.jti, id_token = id_token.is_some(), "access token issued");
        metrics::count(Event::TokenIssued);
        Ok(Issued {
            access_token,
            expires_in: self.config.access_token_ttl_seconds,
            scopes: issue.scopes,
            refresh_token: issue.refresh_token,
            id_token,
        })
    }
}

/// What one token response is issued for.
struct Issue<'a> {
    sub: &'a str,
    scopes: ScopeSet,
    jti: String,
    issued_at: i64,
    grant_id: &'a str,
    refresh_token: Option<RefreshTokenSecret>,
    /// The grant's sign-in: the ID token's `auth_time` and `sid`.
    authentication: Option<&'a Authentication>,
    nonce: Option<&'a str>,
    /// The APIs the access token is for (RFC 8707); none: the default audience.
    resources: &'a [String],
}

const CODE_INVALID: &str = "the code is invalid or expired";
/// The user of the code or refresh token was deleted since it was issued (`authctl user delete`).
const USER_GONE: &str = "the user of this grant no longer exists";

/// The scopes of `scopes` that the client's registration still allows.
fn still_allowed(scopes: &ScopeSet, allowed: &ScopeSet) -> ScopeSet {
    let mut kept = ScopeSet::new();
    for scope in scopes
        .iter()
        .filter(|scope| allowed.contains(scope.as_str()))
    {
        kept.insert(scope.clone());
    }
    kept
}

/// RFC 6749 4.1.3 and RFC 7636 4.6: the code's client, redirect URI and PKCE challenge.
fn check_binding(
    grant: &Grant,
    client: &Client,
    redirect_uri: Option<&str>,
    verifier: Option<&Secret>,
) -> Result<(), &'static str> {
    if grant.client_id != client.client_id() {
        return Err("the code was issued to another client");
    }
    if grant.redirect_uri.as_deref() != redirect_uri {
        return Err("redirect_uri does not match the authorization request");
    }
    match (&grant.pkce, verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify(challenge, verifier.expose()) => Ok(()),
        (Some(_), Some(_)) => Err("code_verifier does not match the code_challenge"),
        (Some(_), None) => Err("code_verifier is required"),
        // RFC 9700 4.8.2: a verifier for a code issued without a challenge is a downgrade attempt.
        (None, Some(_)) => Err("the code was issued without a code_challenge"),
        (None, None) if *client.client_type() == ClientType::Public => {
            Err("public clients must use PKCE")
        }
        (None, None) => Ok(()),
    }
}
