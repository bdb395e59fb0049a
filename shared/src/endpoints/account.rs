//! `GET /account` shows the signed-in user's account: who they are, the apps they allowed
//! (their consents, with the scopes' descriptions and dates), a button per app that withdraws
//! its consent (and revokes that grant's tokens: `consent::withdraw`, as `authctl consent
//! revoke` does), "Sign out" (this session) and "Sign out everywhere" (`account::end_sessions`).
//! `POST /account` does what a button says: CSRF-protected by the session's token, as the
//! consent form is, and answered with a `303`. Without a session, both send the browser to
//! sign in and come back.
//!
//! Round trips: the session and its account (one `BatchGetItem`), the consents (`Query`) and
//! the catalogue (`Scan`) together, then the consents' clients (one `BatchGetItem`).

use super::logout::expire_session_cookie;
use super::{StorageFailure, StoreContext};
use crate::account;
use crate::app::App;
use crate::config::Config;
use crate::consent;
use crate::http::{append_query, redirect, HttpRequest, HttpResponse, ParamError, Params};
use crate::ids;
use crate::model::{Account, Client, Consent, Scope, Session};
use crate::pages::{self, AccountApp, AccountView};
use crate::secret::now;
use crate::session::{self, SessionCookie};
use crate::store::{
    AuthorizationReader, ClientBatchReader, ConsentGrantReader, ConsentReader, ConsentRemover,
    GrantRevoker, ScopeReader, SessionKey, SessionRemover, UserSessionsEnder,
};
use crate::{authorization_context, scope::ScopeToken};
use http::{Method, StatusCode};
use std::collections::HashMap;

/// What the account function may touch, which is what its IAM policy in `template.yaml`
/// grants: the session and account (`BatchGetItem` on sessions and users), the consents
/// (`Query`, `DeleteItem`), their clients (`BatchGetItem`), the catalogue (`Scan`), a
/// withdrawn consent's grants (`Query` of `grants_by_user`, `UpdateItem` on tokens), the
/// user's sessions (`UpdateItem` of the account) and this session (`DeleteItem`).
pub trait AccountStore:
    AuthorizationReader
    + ConsentReader
    + ClientBatchReader
    + ScopeReader
    + ConsentRemover
    + ConsentGrantReader
    + GrantRevoker
    + UserSessionsEnder
    + SessionRemover
{
}

impl<S> AccountStore for S where
    S: AuthorizationReader
        + ConsentReader
        + ClientBatchReader
        + ScopeReader
        + ConsentRemover
        + ConsentGrantReader
        + GrantRevoker
        + UserSessionsEnder
        + SessionRemover
{
}

/// Where the page lives, and where signing in returns to.
const ACCOUNT_PATH: &str = "/account";

pub async fn handle<S: AccountStore>(app: &App<S>, request: &HttpRequest) -> HttpResponse {
    match decide(app, request).await {
        Ok(outcome) => render(&app.config, outcome),
        Err(error) => error.into_response(&app.config, &request.method),
    }
}

/// A button of the page.
enum AccountAction {
    Withdraw { client_id: String },
    SignOut,
    SignOutEverywhere,
}

impl AccountAction {
    fn parse(params: &Params) -> Option<Self> {
        match params.get("action")? {
            "withdraw" => {
                let client_id = params.get("client_id").filter(|id| ids::is_client_id(id))?;
                Some(AccountAction::Withdraw {
                    client_id: client_id.to_string(),
                })
            }
            "sign_out" => Some(AccountAction::SignOut),
            "sign_out_everywhere" => Some(AccountAction::SignOutEverywhere),
            _ => None,
        }
    }
}

/// The page's contents, read for the signed-in user.
struct AccountPage {
    account: Account,
    apps: Vec<(Consent, Client)>,
    scopes: HashMap<String, String>,
    csrf_token: String,
}

enum Outcome {
    Page(Box<AccountPage>),
    /// A consent withdrawn: back to the page.
    Withdrawn,
    /// This session ended (and, everywhere, every other): to the signed-out page.
    SignedOut,
}

enum AccountError {
    InvalidInput(ParamError),
    /// No session: sign in and come back (nothing was done).
    SignedOut,
    FormExpired,
    UnknownAction,
    Storage(StorageFailure),
}

impl From<StorageFailure> for AccountError {
    fn from(failure: StorageFailure) -> Self {
        AccountError::Storage(failure)
    }
}

impl AccountError {
    fn into_response(self, config: &Config, method: &Method) -> HttpResponse {
        match self {
            AccountError::InvalidInput(error) => pages::invalid_input(&error),
            AccountError::SignedOut => {
                let status = if *method == Method::POST {
                    StatusCode::SEE_OTHER
                } else {
                    StatusCode::FOUND
                };
                let login =
                    append_query(&config.endpoint("/login"), &[("return_to", ACCOUNT_PATH)]);
                redirect(status, &login)
            }
            AccountError::FormExpired => pages::error(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "Nothing was changed. Open your account page again and try again.",
            ),
            AccountError::UnknownAction => pages::error(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "The form did not say what to do.",
            ),
            AccountError::Storage(failure) => failure.into_page(),
        }
    }
}

async fn decide<S: AccountStore>(
    app: &App<S>,
    request: &HttpRequest,
) -> Result<Outcome, AccountError> {
    let is_post = request.method == Method::POST;
    let params = if is_post {
        Some(request.form_params().map_err(AccountError::InvalidInput)?)
    } else {
        None
    };
    let cookie =
        SessionCookie::from_request(&app.config, request).ok_or(AccountError::SignedOut)?;
    let (session, account) = signed_in(app, &cookie).await?;
    let Some(params) = params else {
        return read_page(app, &cookie, account).await;
    };
    if !session::csrf_token_matches(&cookie.id, params.get("csrf_token")) {
        return Err(AccountError::FormExpired);
    }
    match AccountAction::parse(&params).ok_or(AccountError::UnknownAction)? {
        AccountAction::Withdraw { client_id } => {
            let withdrawal = consent::withdraw(&app.store, &session.sub, &client_id)
                .await
                .context("withdrawing the consent failed")?;
            tracing::info!(
                client_id = client_id.as_str(),
                grants_revoked = withdrawal.families_revoked,
                "consent withdrawn by the user"
            );
            Ok(Outcome::Withdrawn)
        }
        AccountAction::SignOut => {
            end_this_session(app, &cookie).await?;
            Ok(Outcome::SignedOut)
        }
        AccountAction::SignOutEverywhere => {
            account::end_sessions(&app.store, &session.sub)
                .await
                .context("ending the user's sessions failed")?;
            end_this_session(app, &cookie).await?;
            tracing::info!("every session ended by the user");
            Ok(Outcome::SignedOut)
        }
    }
}

/// The session the cookie names and its user's account, if the session counts (the rule of
/// `authorization_context`, the same as authorize's).
async fn signed_in<S: AccountStore>(
    app: &App<S>,
    cookie: &SessionCookie,
) -> Result<(Session, Account), AccountError> {
    let id_hash = cookie.id_hash();
    let key = SessionKey {
        sub: &cookie.sub,
        id_hash: &id_hash,
    };
    let records = app
        .store
        .load_authorization_records(None, Some(key))
        .await
        .context("reading the session failed")?;
    let account = records.account.clone();
    let context = authorization_context::assemble(records, Some(&cookie.sub), now());
    match (context.session, account) {
        (Some(session), Some(account)) => Ok((session, account)),
        _ => Err(AccountError::SignedOut),
    }
}

async fn end_this_session<S: AccountStore>(
    app: &App<S>,
    cookie: &SessionCookie,
) -> Result<(), AccountError> {
    app.store
        .delete_session(&cookie.id_hash())
        .await
        .context("deleting the session failed")?;
    Ok(())
}

async fn read_page<S: AccountStore>(
    app: &App<S>,
    cookie: &SessionCookie,
    account: Account,
) -> Result<Outcome, AccountError> {
    let t = now();
    let (consents, scopes) = tokio::join!(
        app.store.list_consents(&account.sub),
        app.store.list_scopes()
    );
    let consents: Vec<Consent> = consents
        .context("listing the consents failed")?
        .into_iter()
        .filter(|consent| consent.expires_at > t)
        .collect();
    let scopes: HashMap<String, String> = scopes
        .context("listing the scopes failed")?
        .into_iter()
        .map(|Scope { name, description }| (name, description))
        .collect();
    let ids: Vec<String> = consents.iter().map(|c| c.client_id.clone()).collect();
    let mut clients: HashMap<String, Client> = if ids.is_empty() {
        HashMap::new()
    } else {
        app.store
            .get_clients(&ids)
            .await
            .context("reading the clients failed")?
            .into_iter()
            .map(|client| (client.client_id().to_string(), client))
            .collect()
    };
    // A consent whose client was deleted allows nothing any more: not shown.
    let apps = consents
        .into_iter()
        .filter_map(|consent| {
            let client = clients.remove(&consent.client_id)?;
            Some((consent, client))
        })
        .collect();
    Ok(Outcome::Page(Box::new(AccountPage {
        account,
        apps,
        scopes,
        csrf_token: session::csrf_token(&cookie.id),
    })))
}

fn render(config: &Config, outcome: Outcome) -> HttpResponse {
    match outcome {
        Outcome::Page(page) => render_page(config, &page),
        Outcome::Withdrawn => redirect(StatusCode::SEE_OTHER, &config.endpoint(ACCOUNT_PATH)),
        Outcome::SignedOut => expire_session_cookie(
            config,
            redirect(StatusCode::SEE_OTHER, &config.endpoint("/oauth/logout")),
        ),
    }
}

fn render_page(config: &Config, page: &AccountPage) -> HttpResponse {
    let mut apps: Vec<AccountApp<'_>> = page
        .apps
        .iter()
        .map(|(consent, client)| AccountApp {
            client_id: client.client_id(),
            client_name: client.name(),
            scopes: consent
                .scopes
                .iter()
                .map(ScopeToken::as_str)
                .map(|name| {
                    let description = page.scopes.get(name).map_or(name, String::as_str);
                    (name, description)
                })
                .collect(),
            // The consent lasts `consent_ttl_seconds` from its last approval.
            allowed_on: date(consent.expires_at - config.consent_ttl_seconds),
            until: date(consent.expires_at),
        })
        .collect();
    apps.sort_by(|a, b| a.client_name.cmp(b.client_name));
    let profile = &page.account.profile;
    pages::account(&AccountView {
        username: &page.account.username,
        name: profile.name.as_deref(),
        email: profile.email.as_deref(),
        apps,
        csrf_token: &page.csrf_token,
    })
}

/// `YYYY-MM-DD` (UTC) of an instant in seconds since the Unix epoch (the civil-from-days
/// algorithm of Howard Hinnant's `chrono`-compatible date library).
fn date(epoch_seconds: i64) -> String {
    let days = epoch_seconds.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::date;

    #[test]
    fn dates_are_utc_calendar_days() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_700_000_000), "2023-11-14");
        assert_eq!(date(1_709_251_199), "2024-02-29");
        assert_eq!(date(-1), "1969-12-31");
    }
}
