//! `GET /oauth/authorize`: validates the request, sends the user to log in, issues a
//! code at once when consent was given before, and otherwise shows the consent page.

use super::{authorization_failure, storage_failure_page};
use crate::authorization::{self, AuthorizationRequest};
use crate::config::Config;
use crate::http::{append_query, redirect, HttpRequest, HttpResponse};
use crate::model::Session;
use crate::pages::{self, ConsentForm, ConsentScope};
use crate::secret::{now, Secret};
use crate::session;
use crate::store::{ClientStore, CodeStore, ConsentStore, ScopeStore, SessionStore};
use http::StatusCode;

pub async fn handle<S>(store: &S, config: &Config, request: &HttpRequest) -> HttpResponse
where
    S: ClientStore + SessionStore + ConsentStore + CodeStore + ScopeStore,
{
    let params = match request.query_params() {
        Ok(params) => params,
        Err(error) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                &error.description(),
            )
        }
    };
    let authorization = match authorization::validate(store, &params).await {
        Ok(authorization) => authorization,
        Err(error) => return authorization_failure(config, error, StatusCode::FOUND),
    };
    let (session, session_id) = match session::current(store, config, request).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let return_to = format!(
                "/oauth/authorize?{}",
                request.query.as_deref().unwrap_or("")
            );
            return redirect(
                StatusCode::FOUND,
                &append_query(&config.endpoint("/login"), &[("return_to", &return_to)]),
            );
        }
        Err(error) => return storage_failure_page("reading the session failed", error),
    };

    let consent = match store
        .get_consent(&session.sub, &authorization.client.client_id, now())
        .await
    {
        Ok(consent) => consent,
        Err(error) => return storage_failure_page("reading the consent failed", error),
    };
    let granted = consent.map(|c| c.scopes).unwrap_or_default();
    if authorization.scopes.is_subset(&granted) {
        return match authorization.issue_code(store, config, &session.sub).await {
            Ok(code) => redirect(
                StatusCode::FOUND,
                &authorization.code_location(config, &code),
            ),
            Err(error) => storage_failure_page("storing the code failed", error),
        };
    }
    consent_page(store, &authorization, &session, &session_id, &granted).await
}

async fn consent_page<S: ScopeStore>(
    store: &S,
    authorization: &AuthorizationRequest,
    session: &Session,
    session_id: &Secret,
    granted: &crate::model::ScopeSet,
) -> HttpResponse {
    let catalogue = match store.list_scopes().await {
        Ok(scopes) => scopes,
        Err(error) => return storage_failure_page("reading the scopes failed", error),
    };
    let scopes = authorization
        .scopes
        .iter()
        .map(|name| ConsentScope {
            name,
            description: catalogue
                .iter()
                .find(|s| &s.name == name)
                .map_or(name.as_str(), |s| s.description.as_str()),
            already_granted: granted.contains(name),
        })
        .collect();
    let fields = authorization.form_fields();
    let csrf_token = session::csrf_token(session_id);
    pages::consent(&ConsentForm {
        client_name: &authorization.client.name,
        username: &session.username,
        scopes,
        hidden: fields
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect(),
        csrf_token: &csrf_token,
    })
}
