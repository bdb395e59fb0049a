//! `GET /.well-known/oauth-authorization-server` (RFC 8414), also served at
//! `/.well-known/openid-configuration`, where API Gateway's JWT authorizer looks.

use super::StoreContext;
use crate::app::App;
use crate::client_assertion::SIGNING_ALGORITHMS;
use crate::config::Config;
use crate::cors;
use crate::http::{json, HttpRequest, HttpResponse};
use crate::openid_request::PROMPT_VALUES;
use crate::profile::SUPPORTED_CLAIMS;
use crate::store::ScopeReader;
use http::header::{HeaderValue, CACHE_CONTROL};
use http::StatusCode;
use serde::Serialize;

#[derive(Serialize)]
struct Metadata<'a> {
    issuer: &'a str,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    /// OpenID Connect RP-Initiated Logout 1.0.
    end_session_endpoint: String,
    userinfo_endpoint: String,
    scopes_supported: Vec<String>,
    response_types_supported: [&'static str; 1],
    response_modes_supported: [&'static str; 1],
    grant_types_supported: [&'static str; 3],
    token_endpoint_auth_methods_supported: [&'static str; 4],
    revocation_endpoint_auth_methods_supported: [&'static str; 4],
    introspection_endpoint_auth_methods_supported: [&'static str; 3],
    code_challenge_methods_supported: [&'static str; 1],
    authorization_response_iss_parameter_supported: bool,
    // OpenID Connect Discovery 1.0 3, read at the second path by OpenID libraries: what the
    // ID tokens and authorization requests of the code flow are, and no more.
    id_token_signing_alg_values_supported: [&'static str; 1],
    subject_types_supported: [&'static str; 1],
    claims_supported: [&'static str; SUPPORTED_CLAIMS.len()],
    prompt_values_supported: [&'static str; 4],
    claims_parameter_supported: bool,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    /// What a `private_key_jwt` assertion may be signed with (RFC 8414 2).
    token_endpoint_auth_signing_alg_values_supported: [&'static str; 2],
    revocation_endpoint_auth_signing_alg_values_supported: [&'static str; 2],
    introspection_endpoint_auth_signing_alg_values_supported: [&'static str; 2],
}

pub async fn handle<S: ScopeReader>(app: &App<S>, _request: &HttpRequest) -> HttpResponse {
    let response = match app
        .store
        .list_scopes()
        .await
        .context("listing scopes failed")
    {
        Ok(scopes) => render(&app.config, scopes.into_iter().map(|s| s.name).collect()),
        Err(failure) => failure.into_json(),
    };
    // A public document: any origin may read it (`cors`).
    cors::any_origin(response)
}

fn render(config: &Config, scopes: Vec<String>) -> HttpResponse {
    let metadata = Metadata {
        issuer: &config.issuer,
        authorization_endpoint: config.endpoint("/oauth/authorize"),
        token_endpoint: config.endpoint("/oauth/token"),
        jwks_uri: config.endpoint("/.well-known/jwks.json"),
        revocation_endpoint: config.endpoint("/oauth/revoke"),
        introspection_endpoint: config.endpoint("/oauth/introspect"),
        end_session_endpoint: config.endpoint("/oauth/logout"),
        userinfo_endpoint: config.endpoint("/oauth/userinfo"),
        scopes_supported: scopes,
        response_types_supported: ["code"],
        response_modes_supported: ["query"],
        grant_types_supported: ["authorization_code", "refresh_token", "client_credentials"],
        token_endpoint_auth_methods_supported: [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        // Public clients revoke their own tokens with their client_id alone (RFC 7009 5).
        revocation_endpoint_auth_methods_supported: [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        introspection_endpoint_auth_methods_supported: [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        // plain is accepted only from clients configured for it; S256 is what we advertise.
        code_challenge_methods_supported: ["S256"],
        authorization_response_iss_parameter_supported: true,
        // ID tokens are signed with the keys of access tokens, RS256 only.
        id_token_signing_alg_values_supported: ["RS256"],
        // One `sub` per user, the same for every client.
        subject_types_supported: ["public"],
        claims_supported: SUPPORTED_CLAIMS,
        prompt_values_supported: PROMPT_VALUES,
        claims_parameter_supported: false,
        // `request` and `request_uri` are refused (`request_not_supported`, Core 6).
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        token_endpoint_auth_signing_alg_values_supported: SIGNING_ALGORITHMS,
        revocation_endpoint_auth_signing_alg_values_supported: SIGNING_ALGORITHMS,
        introspection_endpoint_auth_signing_alg_values_supported: SIGNING_ALGORITHMS,
    };
    let mut response = json(StatusCode::OK, &metadata);
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
