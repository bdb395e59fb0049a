//! `POST /oauth/consent`: the user's decision. Needs the session and its CSRF token,
//! validates every parameter again, and answers with a `303` (RFC 9700 4.12).
//! Two round trips: one read, and on approval one transaction (consent and code).

use super::{authorization_failure, storage_failure_page};
use crate::authorization::{self, error_location};
use crate::config::Config;
use crate::http::{redirect, HttpRequest, HttpResponse};
use crate::metrics::{self, Event};
use crate::model::Consent;
use crate::pages;
use crate::secret::now;
use crate::session::{self, SessionCookie};
use crate::store::{AuthorizationStore, SessionKey};
use http::StatusCode;

pub async fn handle<S: AuthorizationStore>(
    store: &S,
    config: &Config,
    request: &HttpRequest,
) -> HttpResponse {
    let params = match request.form_params() {
        Ok(params) => params,
        Err(error) => return pages::invalid_input(&error),
    };
    let session_ended = || {
        pages::error(
            StatusCode::FORBIDDEN,
            "Your session has ended",
            "Nothing was changed. Go back to the application and sign in again.",
        )
    };
    let Some(cookie) = SessionCookie::from_request(config, request) else {
        return session_ended();
    };
    // A missing, repeated or impossible client id is refused before any storage call.
    let client_id = match authorization::requested_client_id(&params) {
        Ok(client_id) => client_id,
        Err(error) => return authorization_failure(config, error, StatusCode::SEE_OTHER),
    };
    let id_hash = cookie.id_hash();
    let t = now();
    let session_key = SessionKey {
        sub: &cookie.sub,
        id_hash: &id_hash,
    };
    let context = match store
        .load_authorization_context(Some(client_id), Some(session_key), t)
        .await
    {
        Ok(context) => context,
        Err(error) => return storage_failure_page("reading the client and session failed", error),
    };
    let Some(session) = context.session else {
        return session_ended();
    };
    if !session::csrf_token_matches(&cookie.id, params.get("csrf_token")) {
        return pages::error(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "Nothing was changed. Go back to the application and try again.",
        );
    }
    let authorization = match authorization::validate(context.client, &params) {
        Ok(authorization) => authorization,
        Err(error) => return authorization_failure(config, error, StatusCode::SEE_OTHER),
    };

    match params.get("decision") {
        Some("deny") => {
            metrics::count(Event::ConsentDenied);
            redirect(
                StatusCode::SEE_OTHER,
                &error_location(
                    config,
                    &authorization.redirect_uri,
                    "access_denied",
                    "the user denied the request",
                    authorization.state.as_deref(),
                ),
            )
        }
        Some("approve") => {
            let earlier = context.consent.map(|c| c.scopes).unwrap_or_default();
            let consent = Consent {
                sub: session.sub.clone(),
                client_id: authorization.client.client_id.clone(),
                scopes: earlier.union(&authorization.scopes).cloned().collect(),
                expires_at: t + config.consent_ttl_seconds,
            };
            let (code, grant) = authorization.new_code(config, &session.sub);
            match store.save_consent_and_code(&consent, &grant).await {
                Ok(()) => {
                    metrics::count(Event::ConsentApproved);
                    redirect(
                        StatusCode::SEE_OTHER,
                        &authorization.code_location(config, &code),
                    )
                }
                Err(error) => storage_failure_page("storing the consent and code failed", error),
            }
        }
        _ => pages::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The form did not say whether you allow or deny access.",
        ),
    }
}
