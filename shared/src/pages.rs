//! The HTML pages a person sees: login, consent, and errors; sign-out and the account page
//! in `signout` and `account`. Plain semantic HTML that works without JavaScript, on a phone
//! and a desktop. maud escapes every value.

mod account;
mod signout;

pub use account::{account, AccountApp, AccountView};
pub use signout::{sign_out_confirmation, signed_out, SignOutForm};

use crate::http::{html, HttpResponse, ParamError};
use http::StatusCode;
use maud::{html as markup, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--text:#1c1e21;--muted:#5f6368;--line:#dadce0;--accent:#1a56db;--accent-text:#fff;--danger:#b3261e}
@media (prefers-color-scheme:dark){:root{--bg:#121417;--card:#1d2025;--text:#e8eaed;--muted:#9aa0a6;--line:#3c4043;--accent:#8ab4f8;--accent-text:#0b1a33;--danger:#f2b8b5}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:flex-start;justify-content:center;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{width:100%;max-width:26rem;margin:8vh 1rem 2rem;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:2rem 1.75rem}
h1{font-size:1.35rem;line-height:1.3;margin:0 0 .5rem}
p{margin:.5rem 0}
.muted{color:var(--muted);font-size:.9rem}
.brand{font-weight:600;letter-spacing:.02em;color:var(--muted);font-size:.85rem;text-transform:uppercase;margin-bottom:1.25rem}
label{display:block;font-weight:500;margin:1rem 0 .3rem}
input[type=text],input[type=password]{width:100%;padding:.7rem .8rem;font-size:1rem;border:1px solid var(--line);border-radius:8px;background:transparent;color:inherit}
input:focus,button:focus{outline:3px solid color-mix(in srgb,var(--accent) 40%,transparent);outline-offset:1px}
button{font:inherit;font-weight:600;padding:.75rem 1rem;border-radius:8px;border:1px solid var(--accent);cursor:pointer;width:100%}
.primary{background:var(--accent);color:var(--accent-text)}
.secondary{background:transparent;color:var(--accent)}
.actions{display:flex;gap:.75rem;margin-top:1.5rem;flex-direction:row-reverse}
.actions button{flex:1}
.alert{border:1px solid var(--danger);color:var(--danger);border-radius:8px;padding:.6rem .8rem;margin:1rem 0}
ul.scopes{list-style:none;padding:0;margin:1rem 0;border-top:1px solid var(--line)}
ul.scopes li{padding:.75rem 0;border-bottom:1px solid var(--line)}
.scope-name{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.8rem;color:var(--muted)}
.granted{display:inline-block;font-size:.75rem;border:1px solid var(--line);border-radius:999px;padding:0 .5rem;margin-left:.4rem;color:var(--muted)}
.login>button{margin-top:1.5rem}
.footer{margin-top:1.5rem;font-size:.9rem;text-align:center}
a{color:var(--accent)}
h2{font-size:1.05rem;margin:1.75rem 0 .5rem}
ul.apps{list-style:none;padding:0;margin:.5rem 0;border-top:1px solid var(--line)}
ul.apps>li{padding:1rem 0;border-bottom:1px solid var(--line)}
.app-name{font-weight:600}
ul.app-scopes{list-style:none;padding:0;margin:.4rem 0}
ul.app-scopes li{padding:.15rem 0}
form.inline{margin-top:.6rem}
.danger{background:transparent;color:var(--danger);border-color:var(--danger)}
.stack form+form{margin-top:.75rem}
"#;

/// The stylesheet's hash, allowed by the pages' content security policy.
static STYLE_HASH: LazyLock<String> = LazyLock::new(|| {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()))
});

/// The plain "Sign out" link of the pages a signed-in person may see (RP-Initiated Logout:
/// it asks before it signs out).
fn sign_out_link() -> Markup {
    markup! { p.footer { a href="/oauth/logout" { "Sign out" } } }
}

fn page(status: StatusCode, title: &str, body: Markup) -> HttpResponse {
    let document = markup! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { main { div.brand { "Auth API" } (body) } }
        }
    };
    html(status, document.into_string(), &STYLE_HASH)
}

/// An error page for the cases where redirecting is not safe (RFC 6749 4.1.2.1).
pub fn error(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    page(
        status,
        title,
        markup! {
            h1 { (title) }
            p { (message) }
            p.muted { "If you followed a link from an application, go back to it and try again." }
        },
    )
}

/// `503` with `Retry-After`: storage was busy or unreachable and nothing was done; the same
/// step may be taken again.
pub fn try_again() -> HttpResponse {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "Please try again",
        "The service is busy and could not complete this step. Please try again in a moment.",
    );
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from_static(crate::oauth::RETRY_AFTER_SECONDS),
    );
    response
}

/// The page for a request whose parameters cannot be read at all.
pub fn invalid_input(error: &ParamError) -> HttpResponse {
    self::error(
        StatusCode::BAD_REQUEST,
        "Invalid request",
        error.description(),
    )
}

pub struct LoginForm<'a> {
    pub return_to: &'a str,
    pub csrf_token: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

pub fn login(status: StatusCode, form: &LoginForm<'_>) -> HttpResponse {
    page(
        status,
        "Sign in",
        markup! {
            h1 { "Sign in" }
            p.muted { "Use your account to continue." }
            @if let Some(error) = form.error {
                div.alert role="alert" { (error) }
            }
            form.login method="post" action="/login" {
                input type="hidden" name="return_to" value=(form.return_to);
                input type="hidden" name="csrf_token" value=(form.csrf_token);
                label for="username" { "Username" }
                input #username type="text" name="username" value=(form.username)
                    autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button.primary type="submit" { "Sign in" }
            }
            (sign_out_link())
        },
    )
}

pub fn signed_in(username: &str) -> HttpResponse {
    page(
        StatusCode::OK,
        "Signed in",
        markup! {
            h1 { "You are signed in" }
            p { "Signed in as " strong { (username) } "." }
            p.muted { "You can close this page and return to the application." }
            p.footer { a href="/account" { "Your account" } " · " a href="/oauth/logout" { "Sign out" } }
        },
    )
}

pub struct ConsentScope<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub already_granted: bool,
}

/// The request's parameters, carried through the consent form (and validated again on POST).
pub struct ConsentForm<'a> {
    pub client_name: &'a str,
    pub username: &'a str,
    pub scopes: Vec<ConsentScope<'a>>,
    /// The APIs the app will reach (RFC 8707 resources): each one's name and URI.
    pub apis: Vec<(&'a str, &'a str)>,
    pub hidden: Vec<(&'a str, &'a str)>,
    pub csrf_token: &'a str,
}

pub fn consent(form: &ConsentForm<'_>) -> HttpResponse {
    let title = format!("{} wants to access your account", form.client_name);
    page(
        StatusCode::OK,
        &title,
        markup! {
            h1 { strong { (form.client_name) } " wants to access your account" }
            p.muted { "Signed in as " (form.username) }
            p { "This will allow " (form.client_name) " to:" }
            ul.scopes {
                @for scope in &form.scopes {
                    li {
                        div {
                            (scope.description)
                            @if scope.already_granted { span.granted { "already allowed" } }
                        }
                        div.scope-name { (scope.name) }
                    }
                }
            }
            @if !form.apis.is_empty() {
                p { "at:" }
                ul.scopes.apis {
                    @for (name, uri) in &form.apis {
                        li { div { (name) } div.scope-name { (uri) } }
                    }
                }
            }
            form method="post" action="/oauth/consent" {
                @for (name, value) in &form.hidden {
                    input type="hidden" name=(name) value=(value);
                }
                input type="hidden" name="csrf_token" value=(form.csrf_token);
                div.actions {
                    button.primary type="submit" name="decision" value="approve" { "Allow" }
                    button.secondary type="submit" name="decision" value="deny" { "Deny" }
                }
            }
            p.muted { "You can withdraw this permission later. Only allow applications you trust." }
            (sign_out_link())
        },
    )
}
