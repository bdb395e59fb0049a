//! The account page: who is signed in, the apps they allowed (withdrawn with one button
//! each), and signing out here or everywhere. Every button is a form posting to `/account`
//! with the session's CSRF token.

use super::page;
use crate::http::HttpResponse;
use http::StatusCode;
use maud::{html as markup, Markup};

/// An app the user allowed: its consent as the page shows it.
pub struct AccountApp<'a> {
    pub client_id: &'a str,
    pub client_name: &'a str,
    /// (scope name, its description in the catalogue, or the name when it has none).
    pub scopes: Vec<(&'a str, &'a str)>,
    /// `YYYY-MM-DD` of the last approval, and of the consent's end.
    pub allowed_on: String,
    pub until: String,
}

pub struct AccountView<'a> {
    pub username: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub apps: Vec<AccountApp<'a>>,
    pub csrf_token: &'a str,
}

/// A form posting `action` (and `client_id` for an app) to `/account`, with one button.
fn action_form(csrf_token: &str, action: &str, client_id: Option<&str>, button: Markup) -> Markup {
    markup! {
        form.inline method="post" action="/account" {
            input type="hidden" name="csrf_token" value=(csrf_token);
            input type="hidden" name="action" value=(action);
            @if let Some(client_id) = client_id {
                input type="hidden" name="client_id" value=(client_id);
            }
            (button)
        }
    }
}

pub fn account(view: &AccountView<'_>) -> HttpResponse {
    page(
        StatusCode::OK,
        "Your account",
        markup! {
            h1 { "Your account" }
            p {
                "Signed in as " strong { (view.name.unwrap_or(view.username)) }
                @if view.name.is_some() { " (" (view.username) ")" }
            }
            @if let Some(email) = view.email { p.muted { (email) } }
            h2 { "Apps you allowed" }
            @if view.apps.is_empty() {
                p.muted { "You have not allowed any app to access your account." }
            } @else {
                ul.apps {
                    @for app in &view.apps {
                        li {
                            div.app-name { (app.client_name) }
                            ul.app-scopes {
                                @for (name, description) in &app.scopes {
                                    li { (description) " " span.scope-name { (name) } }
                                }
                            }
                            p.muted { "Allowed on " (app.allowed_on) ", until " (app.until) "." }
                            (action_form(view.csrf_token, "withdraw", Some(app.client_id), markup! {
                                button.secondary type="submit" { "Withdraw access of " (app.client_name) }
                            }))
                        }
                    }
                }
                p.muted { "Withdrawing ends the app's access at once: its tokens stop working, and it must ask you again." }
            }
            h2 { "Sessions" }
            div.stack {
                (action_form(view.csrf_token, "sign_out", None, markup! {
                    button.secondary type="submit" { "Sign out" }
                }))
                (action_form(view.csrf_token, "sign_out_everywhere", None, markup! {
                    button.danger type="submit" { "Sign out everywhere" }
                }))
            }
            p.muted { "Signing out everywhere ends your sessions on every browser and device. Apps keep the access you allowed until you withdraw it." }
        },
    )
}
