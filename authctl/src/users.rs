//! `authctl user`: the end users who sign in. Passwords are read from standard input or
//! a prompt, never from an argument, and only their argon2 hash is stored.

use crate::check;
use crate::cli::{ProfileArgs, SessionCommand, UserCommand};
use crate::output::{format_time, store_error, table, Error, Output};
use auth_core::account;
use auth_core::model::{Account, Profile, User};
use auth_core::password::hash_password;
use auth_core::profile::Claim;
use auth_core::secret::{now, now_ms, random_id, Password};
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
            profile,
        } => {
            let profile = profile_of(Profile::default(), &profile, &[])?;
            create(store, &username, profile, || read_password(password_stdin)).await
        }
        UserCommand::Update {
            username,
            profile,
            unset,
            password,
            password_stdin,
        } => {
            let new_password = (password || password_stdin).then_some(password_stdin);
            update(
                store,
                &username,
                &profile,
                &unset,
                new_password.map(|from_stdin| move || read_password(from_stdin)),
            )
            .await
        }
        UserCommand::Show { username } => show(store, &username).await,
        UserCommand::List => list(store).await,
        UserCommand::Delete { username } => delete(store, &username).await,
    }
}

/// `base` with the claims given set and those named removed, each checked by the domain.
pub fn profile_of(base: Profile, given: &ProfileArgs, unset: &[Claim]) -> Result<Profile, Error> {
    let mut profile = base;
    for claim in unset {
        profile.unset(*claim);
    }
    for (claim, value) in given.given() {
        profile
            .set(claim, &value)
            .map_err(|rule| Error(rule.to_string()))?;
    }
    Ok(profile)
}

pub async fn create(
    store: &impl UserAdmin,
    username: &str,
    profile: Profile,
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
    let account = Account::new(&user, profile, now());
    store
        .create_user(&user, &account)
        .await
        .map_err(store_error(&what))?;
    Ok(Output {
        json: json!({ "username": user.username, "sub": user.sub }),
        text: format!("created user {} (sub {})", user.username, user.sub),
    })
}

/// Changes the profile (claims given are set, those named by `--unset` removed) and, when
/// asked, the password, which ends every session of the user.
pub async fn update<P: FnOnce() -> Result<Password, Error>>(
    store: &impl UserAdmin,
    username: &str,
    given: &ProfileArgs,
    unset: &[Claim],
    password: Option<P>,
) -> Result<Output, Error> {
    let what = format!("user {username}");
    let user = find_user(store, username).await?;
    let profile_changes = !given.given().is_empty() || !unset.is_empty();
    if !profile_changes && password.is_none() {
        return Err(Error(
            "nothing to change: give a claim, --unset CLAIM or --password".into(),
        ));
    }
    let account = store
        .get_account(&user.sub)
        .await?
        .ok_or_else(|| Error(format!("{what} does not exist")))?;
    // Every value is checked before anything is written, and before a password is asked for.
    let profile = profile_of(account.profile.clone(), given, unset)?;
    let password_changed = password.is_some();
    if let Some(password) = password {
        let password = password()?;
        check::check_password(password.expose())?;
        let changed = User {
            password_hash: hash_password(password.expose())
                .map_err(|e| Error(format!("cannot hash the password: {e}")))?,
            ..user.clone()
        };
        store
            .change_password(&changed, now_ms())
            .await
            .map_err(store_error(&what))?;
    }
    if profile_changes {
        store
            .update_profile(&user.sub, &profile, now())
            .await
            .map_err(store_error(&what))?;
    }
    let mut text = format!("updated user {username}");
    if profile_changes {
        text.push_str(": profile changed");
    }
    if password_changed {
        text.push_str(if profile_changes { "; " } else { ": " });
        text.push_str("password changed, every session ended");
    }
    Ok(Output {
        json: json!({ "username": username, "sub": user.sub, "profile": profile }),
        text,
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
    let account = store
        .get_account(&user.sub)
        .await?
        .ok_or_else(|| Error(format!("user {username} does not exist")))?;
    let mut rows = vec![
        vec!["username:".to_string(), user.username.clone()],
        vec!["sub:".to_string(), user.sub.clone()],
    ];
    for claim in Claim::ALL {
        let value = match claim {
            Claim::EmailVerified => account.profile.email_verified.map(|v| v.to_string()),
            text => account.profile.text(text).map(str::to_string),
        };
        if let Some(value) = value {
            rows.push(vec![format!("{claim}:"), value]);
        }
    }
    rows.push(vec![
        "updated_at:".to_string(),
        format_time(account.updated_at),
    ]);
    if account.sessions_ended_at_ms > 0 {
        rows.push(vec![
            "sessions ended:".to_string(),
            format_time(account.sessions_ended_at_ms / 1000),
        ]);
    }
    Ok(Output {
        json: json!({
            "username": user.username,
            "sub": user.sub,
            "profile": account.profile,
            "updated_at": account.updated_at,
        }),
        text: table(&rows),
    })
}

pub async fn list(store: &impl UserAdmin) -> Result<Output, Error> {
    let accounts = store.list_accounts().await?;
    let json = accounts
        .iter()
        .map(|a| json!({ "username": a.username, "sub": a.sub, "profile": a.profile }))
        .collect();
    let mut rows = vec![vec![
        "USERNAME".to_string(),
        "SUB".to_string(),
        "NAME".to_string(),
        "EMAIL".to_string(),
    ]];
    rows.extend(accounts.iter().map(|a| {
        vec![
            a.username.clone(),
            a.sub.clone(),
            a.profile.name.clone().unwrap_or_default(),
            a.profile.email.clone().unwrap_or_default(),
        ]
    }));
    let text = if accounts.is_empty() {
        "no users".to_string()
    } else {
        table(&rows)
    };
    Ok(Output {
        json: serde_json::Value::Array(json),
        text,
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
    account::end_sessions(store, &user.sub)
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
