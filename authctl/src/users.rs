//! `authctl user`: the end users who sign in. Passwords are read from standard input or
//! a prompt, never from an argument, and only their argon2 hash is stored.

use crate::check;
use crate::cli::{SessionCommand, UserCommand};
use crate::output::{store_error, table, Error, Output};
use auth_core::account;
use auth_core::model::User;
use auth_core::password::hash_password;
use auth_core::secret::{random_id, Password};
use auth_core::store::{ConsentAdmin, RefreshTokenAdmin, UserAdmin, UserReader};
use serde_json::json;
use std::io::{self, BufRead, IsTerminal};

pub async fn run(
    store: &(impl UserAdmin + ConsentAdmin + RefreshTokenAdmin),
    command: UserCommand,
) -> Result<Output, Error> {
    match command {
        UserCommand::Create {
            username,
            password_stdin,
        } => create(store, &username, || read_password(password_stdin)).await,
        UserCommand::Show { username } => show(store, &username).await,
        UserCommand::Delete { username } => delete(store, &username).await,
    }
}

pub async fn create(
    store: &impl UserAdmin,
    username: &str,
    password: impl FnOnce() -> Result<Password, Error>,
) -> Result<Output, Error> {
    let what = format!("user {username}");
    // Checked before asking for the password, so that nobody types one for nothing.
    if store.get_user(username).await?.is_some() {
        return Err(Error(format!("{what} already exists")));
    }
    let password = password()?;
    check::check_password(password.expose())?;
    let user = User {
        username: username.to_string(),
        sub: random_id(),
        password_hash: hash_password(password.expose())
            .map_err(|e| Error(format!("cannot hash the password: {e}")))?,
    };
    store.create_user(&user).await.map_err(store_error(&what))?;
    Ok(Output {
        json: json!({ "username": user.username, "sub": user.sub }),
        text: format!("created user {} (sub {})", user.username, user.sub),
    })
}

/// The password: one line of stdin when asked or when stdin is not a terminal,
/// otherwise typed twice at a prompt without echo.
fn read_password(from_stdin: bool) -> Result<Password, Error> {
    if from_stdin || !io::stdin().is_terminal() {
        let mut line = String::new();
        let read = io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error(format!("cannot read the password from standard input: {e}")))?;
        if read == 0 {
            return Err(Error("no password on standard input".into()));
        }
        return Ok(Password::new(check::strip_line_ending(&line)));
    }
    let prompt = |label: &str| {
        rpassword::prompt_password(label)
            .map(Password::new)
            .map_err(|e| Error(format!("cannot read the password: {e}")))
    };
    let first = prompt("Password: ")?;
    check::check_password(first.expose())?;
    let second = prompt("Repeat the password: ")?;
    if !first.matches(&second) {
        return Err(Error("the passwords do not match".into()));
    }
    Ok(first)
}

pub async fn show(store: &impl UserAdmin, username: &str) -> Result<Output, Error> {
    let user = find_user(store, username).await?;
    Ok(Output {
        json: json!({ "username": user.username, "sub": user.sub }),
        text: table(&[
            vec!["username:".to_string(), user.username.clone()],
            vec!["sub:".to_string(), user.sub.clone()],
        ]),
    })
}

pub async fn delete(
    store: &(impl UserAdmin + ConsentAdmin + RefreshTokenAdmin),
    username: &str,
) -> Result<Output, Error> {
    let what = format!("user {username}");
    let user = find_user(store, username).await?;
    let removal = account::delete_user(store, &user)
        .await
        .map_err(store_error(&what))?;
    let families = removal.families_revoked;
    Ok(Output {
        json: json!({
            "deleted": username,
            "sub": user.sub,
            "consents_removed": removal.consents_removed,
            "refresh_families_revoked": families,
        }),
        text: format!(
            "deleted user {username} (sub {}): sessions ended, {} consent{} removed, {families} refresh token famil{} revoked",
            user.sub,
            removal.consents_removed,
            if removal.consents_removed == 1 { "" } else { "s" },
            if families == 1 { "y" } else { "ies" },
        ),
    })
}

pub async fn run_session(store: &impl UserAdmin, command: SessionCommand) -> Result<Output, Error> {
    match command {
        SessionCommand::Revoke { user } => revoke_sessions(store, &user).await,
    }
}

pub async fn revoke_sessions(store: &impl UserAdmin, username: &str) -> Result<Output, Error> {
    let what = format!("user {username}");
    let user = find_user(store, username).await?;
    account::end_sessions(store, &user)
        .await
        .map_err(store_error(&what))?;
    Ok(Output {
        json: json!({ "sessions_ended": username, "sub": user.sub }),
        text: format!(
            "ended every session of user {username}: they sign in again at the next authorization"
        ),
    })
}

pub async fn find_user(store: &impl UserReader, username: &str) -> Result<User, Error> {
    store
        .get_user(username)
        .await?
        .ok_or_else(|| Error(format!("user {username} does not exist")))
}
