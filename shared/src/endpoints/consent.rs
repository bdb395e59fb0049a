//! `POST /oauth/consent`: the user's decision. Needs the session and its CSRF token,
//! validates every parameter again, and answers with a `303` (RFC 9700 4.12).

use super::{authorization_failure, storage_failure_page};
use crate::authorization::{self, error_location};
use crate::config::Config;
use crate::http::{redirect, HttpRequest, HttpResponse};
use crate::model::Consent;
use crate::pages;
use crate::secret::now;
use crate::session;
use crate::store::{ClientStore, CodeStore, ConsentStore, SessionStore};
use http::StatusCode;

pub async fn handle<S>(store: &S, config: &Config, request: &HttpRequest) -> HttpResponse
where
    S: ClientStore + SessionStore + ConsentStore + CodeStore,
{
    let params = match request.form_params() {
        Ok(params) => params,
        Err(error) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                &error.description(),
            )
        }
    };
    let (session, session_id) = match session::current(store, config, request).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return pages::error(
                StatusCode::FORBIDDEN,
                "Your session has ended",
                "Nothing was changed. Go back to the application and sign in again.",
            )
        }
        Err(error) => return storage_failure_page("reading the session failed", error),
    };
    if !session::csrf_token_matches(&session_id, params.get("csrf_token")) {
        return pages::error(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "Nothing was changed. Go back to the application and try again.",
        );
    }
    let authorization = match authorization::validate(store, &params).await {
        Ok(authorization) => authorization,
        Err(error) => return authorization_failure(config, error, StatusCode::SEE_OTHER),
    };

    match params.get("decision") {
        Some("deny") => redirect(
            StatusCode::SEE_OTHER,
            &error_location(
                config,
                &authorization.redirect_uri,
                "access_denied",
                "the user denied the request",
                authorization.state.as_deref(),
            ),
        ),
        Some("approve") => {
            let t = now();
            let client_id = &authorization.client.client_id;
            let earlier = match store.get_consent(&session.sub, client_id, t).await {
                Ok(consent) => consent.map(|c| c.scopes).unwrap_or_default(),
                Err(error) => return storage_failure_page("reading the consent failed", error),
            };
            let consent = Consent {
                sub: session.sub.clone(),
                client_id: client_id.clone(),
                scopes: earlier.union(&authorization.scopes).cloned().collect(),
                expires_at: t + config.consent_ttl_seconds,
            };
            if let Err(error) = store.put_consent(&consent).await {
                return storage_failure_page("storing the consent failed", error);
            }
            match authorization.issue_code(store, config, &session.sub).await {
                Ok(code) => redirect(
                    StatusCode::SEE_OTHER,
                    &authorization.code_location(config, &code),
                ),
                Err(error) => storage_failure_page("storing the code failed", error),
            }
        }
        _ => pages::error(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The form did not say whether you allow or deny access.",
        ),
    }
}
