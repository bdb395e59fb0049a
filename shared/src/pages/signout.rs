//! The pages of sign-out (OpenID Connect RP-Initiated Logout 1.0): the question asked when
//! the request cannot be trusted, and the page shown once signed out when no app is to be
//! returned to.

use super::page;
use crate::http::HttpResponse;
use http::StatusCode;
use maud::html as markup;

/// The service the user signs out of, as the pages name it.
pub const SERVICE_NAME: &str = "Auth API";

/// The confirmation form: what the request carried, sent back with the session's CSRF token.
pub struct SignOutForm<'a> {
    pub username: &'a str,
    /// The app that asked, when the request named one.
    pub client_name: Option<&'a str>,
    pub hidden: Vec<(&'a str, &'a str)>,
    pub csrf_token: &'a str,
}

pub fn sign_out_confirmation(form: &SignOutForm<'_>) -> HttpResponse {
    let title = format!("Sign out of {SERVICE_NAME}?");
    page(
        StatusCode::OK,
        &title,
        markup! {
            h1 { (title) }
            p { "You are signed in as " strong { (form.username) } " on this browser." }
            @if let Some(name) = form.client_name {
                p.muted { (name) " asks to sign you out." }
            }
            form method="post" action="/oauth/logout" {
                @for (name, value) in &form.hidden {
                    input type="hidden" name=(name) value=(value);
                }
                input type="hidden" name="csrf_token" value=(form.csrf_token);
                div.actions {
                    button.primary type="submit" { "Sign out" }
                }
            }
            p.muted { "If you did not ask to sign out, close this page: you stay signed in." }
        },
    )
}

pub fn signed_out() -> HttpResponse {
    page(
        StatusCode::OK,
        "Signed out",
        markup! {
            h1 { "You are signed out" }
            p { "You signed out of " (SERVICE_NAME) " on this browser." }
            p.muted { "Apps you allowed keep the access you gave them until you withdraw it on your account page." }
            p.footer { a href="/account" { "Sign in to your account" } }
        },
    )
}
