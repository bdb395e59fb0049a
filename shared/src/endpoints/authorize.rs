//! `GET /oauth/authorize`: validates the request, sends the user to log in, issues a
//! code at once when consent was given before, and otherwise shows the consent page.
//! With remembered consent that is two round trips: one read, one write.

use super::{authorization_failure, storage_failure_page};
use crate::authorization::{self, AuthorizationRequest};
use crate::config::Config;
use crate::http::{append_query, redirect, HttpRequest, HttpResponse};
use crate::model::{ScopeSet, Session};
use crate::pages::{self, ConsentForm, ConsentScope};
use crate::secret::{now, Secret};
use crate::session::{self, SessionCookie};
use crate::store::{AuthorizationStore, CodeStore, ScopeStore, SessionKey};
use http::StatusCode;

pub async fn handle<S>(store: &S, config: &Config, request: &HttpRequest) -> HttpResponse
where
    S: AuthorizationStore + CodeStore + ScopeStore,
{
    let params = match request.query_params() {
        Ok(params) => params,
        Err(error) => return pages::invalid_input(&error),
    };
    // A missing, repeated or impossible client id is refused before any storage call.
    let client_id = match authorization::requested_client_id(&params) {
        Ok(client_id) => client_id,
        Err(error) => return authorization_failure(config, error, StatusCode::FOUND),
    };
    let cookie = SessionCookie::from_request(config, request);
    let id_hash = cookie.as_ref().map(SessionCookie::id_hash);
    let session_key = cookie
        .as_ref()
        .zip(id_hash.as_deref())
        .map(|(c, id_hash)| SessionKey {
            sub: &c.sub,
            id_hash,
        });
    let context = match store
        .load_authorization_context(Some(client_id), session_key, now())
        .await
    {
        Ok(context) => context,
        Err(error) => return storage_failure_page("reading the client and session failed", error),
    };
    let authorization = match authorization::validate(context.client, &params) {
        Ok(authorization) => authorization,
        Err(error) => return authorization_failure(config, error, StatusCode::FOUND),
    };
    let (Some(session), Some(cookie)) = (context.session, cookie) else {
        let return_to = format!(
            "/oauth/authorize?{}",
            request.query.as_deref().unwrap_or("")
        );
        return redirect(
            StatusCode::FOUND,
            &append_query(&config.endpoint("/login"), &[("return_to", &return_to)]),
        );
    };

    let granted = context.consent.map(|c| c.scopes).unwrap_or_default();
    if authorization.scopes.is_subset(&granted) {
        let (code, grant) = authorization.new_code(config, &session.sub);
        return match store.create_code(&grant).await {
            Ok(()) => redirect(
                StatusCode::FOUND,
                &authorization.code_location(config, &code),
            ),
            Err(error) => storage_failure_page("storing the code failed", error),
        };
    }
    consent_page(store, &authorization, &session, &cookie.id, &granted).await
}

async fn consent_page<S: ScopeStore>(
    store: &S,
    authorization: &AuthorizationRequest,
    session: &Session,
    session_id: &Secret,
    granted: &ScopeSet,
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
