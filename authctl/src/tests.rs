//! The commands against the in-memory store, and the command line's shape.

use crate::cli::{
    Cli, ClientCommand, ClientCreate, ClientUpdate, Command, KeysCommand, ProfileArgs,
};
use crate::output::{Error, Output};
use crate::{clients, consents, keys, resources, scopes, users};
use auth_core::keys::generate_signing_key;
use auth_core::keys::lifecycle::KeyLifecycle;
use auth_core::model::{ClientKind, ClientRegistration, Consent, GrantType, Profile, ScopeSet};
use auth_core::password::verify_password;
use auth_core::profile::Claim;
use auth_core::secret::{now, ClientSecret, Password};
use auth_core::store::memory::MemoryStore;
use auth_core::store::{
    AccountReader, ClientAdmin, ClientReader, ConsentAdmin, KeyAdmin, PublicKeyReader,
    RefreshTokenReader, RefreshTokenStore, SigningKey, UserReader,
};
use clap::{CommandFactory, Parser};
use serde_json::{json, Value};

/// `authctl --table-prefix test` followed by the whitespace-separated words.
fn parse(words: &str) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(
        ["authctl", "--table-prefix", "test"]
            .into_iter()
            .chain(words.split_whitespace()),
    )
}

fn create_args(words: &str) -> ClientCreate {
    match parse(&format!("client create {words}")).map(|cli| cli.command) {
        Ok(Command::Client(ClientCommand::Create(args))) => args,
        other => panic!("not a client create: {other:?}"),
    }
}

fn update_args(words: &str) -> ClientUpdate {
    match parse(&format!("client update {words}")).map(|cli| cli.command) {
        Ok(Command::Client(ClientCommand::Update(args))) => args,
        other => panic!("not a client update: {other:?}"),
    }
}

fn error_of<T>(result: Result<T, Error>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(Error(message)) => message,
    }
}

fn ok<T>(result: Result<T, Error>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("unexpected error: {err}"),
    }
}

fn text_of(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_default().to_string()
}

async fn store_with_scopes() -> MemoryStore {
    let store = MemoryStore::default();
    for name in ["profile", "orders:read"] {
        ok(scopes::create(&store, name, "a scope").await);
    }
    store
}

/// The stored client in its flat form, with the secret's hash.
async fn stored_client(store: &MemoryStore, id: &str) -> ClientRegistration {
    match store.get_client(id).await {
        Ok(Some(client)) => client.registration(),
        other => panic!("client {id} not stored: {other:?}"),
    }
}

#[test]
fn command_line_is_well_formed() {
    Cli::command().debug_assert();
}

#[test]
fn usage_errors() {
    let uri = "--name A --redirect-uri https://a.example/cb";
    for bad in [
        format!("client create {uri} --public --pkce-optional"),
        format!("client create {uri} --id bad/id"),
        format!("client create {uri} --grant password"),
        "user create alice --password hunter22".to_string(),
        "user create al:ice".to_string(),
        "client update x --pkce-required --pkce-optional".to_string(),
        "client update x --allow-plain-pkce maybe".to_string(),
        "client update x --scope a --no-scope".to_string(),
        "scope create x".to_string(),
        // Identifiers that name a stored item follow the domain's rules (auth_core::ids).
        "client show bad/id".to_string(),
        format!("client delete {}", "x".repeat(65)),
        "client update bad/id --name X".to_string(),
        "user show al:ice".to_string(),
        "user delete al:ice".to_string(),
        "consent list --user al:ice".to_string(),
        "consent revoke --user alice --client bad/id".to_string(),
        "keys delete a/b".to_string(),
        "scope delete bad\\name".to_string(),
    ] {
        assert!(parse(&bad).is_err(), "{bad}");
    }
    assert!(Cli::try_parse_from(["authctl", "--table-prefix", "a/b", "scope", "list"]).is_err());
    assert!(
        parse("scope list --json").is_ok_and(|cli| cli.json),
        "--json after the command"
    );
    assert!(
        parse("--json scope list").is_ok_and(|cli| cli.json),
        "--json before the command"
    );
}

#[tokio::test]
async fn scopes() {
    let store = store_with_scopes().await;
    assert_eq!(
        error_of(scopes::create(&store, "profile", "again").await),
        "scope profile already exists"
    );
    assert!(
        error_of(scopes::create(&store, "bad\"name", "x").await).contains("not a valid scope name")
    );
    assert!(
        error_of(scopes::create(&store, "x", "a\u{1b}[31m").await).contains("control characters")
    );
    let listed = ok(scopes::list(&store).await);
    // scripts/seed-demo greps for this exact compact form.
    assert!(listed.json.to_string().contains(r#""name":"profile""#));
    assert!(listed.text.starts_with("NAME"));
    ok(scopes::delete(&store, "orders:read").await);
    assert_eq!(
        error_of(scopes::delete(&store, "orders:read").await),
        "scope orders:read does not exist"
    );
    assert_eq!(
        error_of(scopes::delete(&store, "profile").await),
        "scope profile is part of OpenID Connect and stays in every catalogue"
    );
}

/// `authctl init` stores what is missing (the OpenID Connect scopes, a first key) and
/// leaves what is there, so that it can run on every deployment.
#[tokio::test]
async fn init_stores_the_openid_connect_scopes_and_a_first_key_once() {
    let store = store_with_scopes().await;
    let lifecycle = KeyLifecycle::new(3600);
    let first = ok(crate::init(&store, &lifecycle).await);
    assert_eq!(
        first.json["scopes_created"],
        json!(["openid", "email"]),
        "profile was there"
    );
    assert!(first.json["key"].is_object(), "{}", first.json);
    let listed = ok(scopes::list(&store).await);
    for name in ["openid", "profile", "email"] {
        assert!(
            listed
                .json
                .to_string()
                .contains(&format!(r#""name":"{name}""#)),
            "{name}"
        );
    }
    let again = ok(crate::init(&store, &lifecycle).await);
    assert_eq!(again.json["scopes_created"], json!([]));
    assert_eq!(again.json["key"], Value::Null);
    assert_eq!(
        store.list_public_keys().await.map(|keys| keys.len()).ok(),
        Some(1),
        "one key"
    );
}

#[tokio::test]
async fn confidential_client_gets_a_secret_shown_once() {
    let store = store_with_scopes().await;
    let args = create_args(
        "--id shop --name Shop --redirect-uri https://shop.example/cb --redirect-uri https://shop.example/cb \
         --scope profile --scope orders:read --default-scope profile",
    );
    let output = ok(clients::create(&store, args).await);
    let secret = text_of(&output.json, "client_secret");
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    assert!(output.text.contains(&format!("client_secret: {secret}")));
    assert!(output.text.contains("shown only this once"));

    let stored = stored_client(&store, "shop").await;
    assert_eq!(
        stored.secret_hash,
        Some(ClientSecret::new(secret.clone()).hash())
    );
    assert_eq!(stored.redirect_uris, vec!["https://shop.example/cb"]);
    assert_eq!(stored.grant_types, vec![GrantType::AuthorizationCode]);
    assert!(!stored.pkce_optional && !stored.allow_plain_pkce);

    let shown = ok(clients::show(&store, "shop").await);
    let shown = format!("{}\n{}", shown.json, shown.text);
    assert!(
        !shown.contains(&secret) && !shown.contains("secret"),
        "{shown}"
    );
    let listed = ok(clients::list(&store).await);
    assert!(!listed.json.to_string().contains("secret"));

    let again = create_args("--id shop --name Shop --redirect-uri https://shop.example/cb");
    assert_eq!(
        error_of(clients::create(&store, again).await),
        "client shop already exists"
    );
}

#[tokio::test]
async fn public_client_has_no_secret() {
    let store = store_with_scopes().await;
    let args = create_args("--name SPA --public --redirect-uri http://127.0.0.1:8765/cb");
    let output = ok(clients::create(&store, args).await);
    assert!(output.json.get("client_secret").is_none());
    assert!(!output.text.contains("client_secret"));
    let id = text_of(&output.json, "client_id");
    assert_eq!(id.len(), 32, "random_id");
    let stored = stored_client(&store, &id).await;
    assert!(stored.kind == ClientKind::Public && stored.secret_hash.is_none());
}

/// Issue 15.2: a machine (client credentials) is confidential and needs no redirect URI.
#[tokio::test]
async fn a_machine_needs_no_redirect_uri_but_a_secret() {
    let store = store_with_scopes().await;
    let output = ok(clients::create(
        &store,
        create_args("--id billing-job --name Billing --grant client_credentials"),
    )
    .await);
    assert_eq!(text_of(&output.json, "client_secret").len(), 43);
    let stored = stored_client(&store, "billing-job").await;
    assert_eq!(stored.grant_types, vec![GrantType::ClientCredentials]);
    assert!(stored.redirect_uris.is_empty() && stored.kind == ClientKind::Confidential);
    let public = create_args("--name X --public --grant client_credentials");
    assert!(error_of(clients::create(&store, public).await)
        .ends_with("is public: only a confidential client may use client_credentials"));
}

#[tokio::test]
async fn resource_server_needs_no_redirect_uri_and_gets_no_grant() {
    let store = store_with_scopes().await;
    let output = ok(clients::create(
        &store,
        create_args("--id orders-api --name Orders --resource-server"),
    )
    .await);
    assert_eq!(text_of(&output.json, "client_secret").len(), 43);
    assert!(output.text.contains("resource_server:"));
    let stored = stored_client(&store, "orders-api").await;
    assert!(stored.resource_server && stored.kind == ClientKind::Confidential);
    assert!(stored.grant_types.is_empty() && stored.redirect_uris.is_empty());

    // Rejections: a public resource server, a grant without a redirect URI, a plain
    // client without a redirect URI (the default grant is authorization_code), and making a
    // public client a resource server.
    assert!(parse("client create --name X --resource-server --public").is_err());
    assert_eq!(
        error_of(clients::create(&store, create_args("--name X")).await),
        "a client with the authorization_code grant needs --redirect-uri"
    );
    let with_grant = create_args("--name X --resource-server --grant authorization_code");
    assert_eq!(
        error_of(clients::create(&store, with_grant).await),
        "a client with the authorization_code grant needs --redirect-uri"
    );
    ok(clients::create(
        &store,
        create_args("--id spa --public --name SPA --redirect-uri https://a.example/cb"),
    )
    .await);
    assert!(
        error_of(clients::update(&store, update_args("spa --resource-server true")).await)
            .contains("only a confidential client can introspect")
    );

    ok(clients::update(&store, update_args("orders-api --resource-server false")).await);
    assert!(!stored_client(&store, "orders-api").await.resource_server);
}

#[tokio::test]
async fn client_validation() {
    let store = store_with_scopes().await;
    let base = "--name A --redirect-uri https://a.example/cb";
    for (extra, expected) in [
        (
            "--redirect-uri http://evil.example/cb",
            "redirect URI \"http://evil.example/cb\" is refused: plain http",
        ),
        (
            "--redirect-uri https://a.example/cb#x",
            "must not contain a fragment",
        ),
        (
            "--scope orders:write --scope profile",
            "unknown scope orders:write",
        ),
        (
            "--scope profile --default-scope orders:read",
            "default scope orders:read is not among",
        ),
        (
            "--grant refresh_token",
            "needs the authorization_code grant",
        ),
        ("--scope bad\\scope", "not a valid scope name"),
    ] {
        let message =
            error_of(clients::create(&store, create_args(&format!("{base} {extra}"))).await);
        assert!(message.contains(expected), "{message}");
    }
    assert!(store
        .list_clients()
        .await
        .is_ok_and(|clients| clients.is_empty()));
}

/// Redirect URIs are parsed as a browser would (issue 12.7): the old prefix check let
/// `http://127.0.0.1:80@evil.example/cb` through, which sends codes over plain HTTP to
/// evil.example. Each refusal names the URI and the rule; nothing is stored.
#[tokio::test]
async fn redirect_uris_are_parsed_not_prefix_matched() {
    let store = store_with_scopes().await;
    for (args, expected) in [
        (
            "--public --redirect-uri http://127.0.0.1:80@evil.example/cb",
            "redirect URI \"http://127.0.0.1:80@evil.example/cb\" is refused: \
             a redirect URI must not contain user information (user@ before the host)",
        ),
        (
            "--public --redirect-uri http://127.0.0.1.evil.example/cb",
            "redirect URI \"http://127.0.0.1.evil.example/cb\" is refused: \
             plain http redirect URIs are allowed only on loopback hosts: 127.0.0.1, [::1] or localhost (RFC 8252 7.3, 8.3)",
        ),
        (
            "--public --redirect-uri http://localhost.evil/cb",
            "redirect URI \"http://localhost.evil/cb\" is refused: plain http",
        ),
        (
            "--redirect-uri com.example.app:/cb",
            "redirect URI \"com.example.app:/cb\" is refused: \
             private-use scheme redirect URIs are for native apps: register a --public client (RFC 8252 7.1)",
        ),
    ] {
        let message =
            error_of(clients::create(&store, create_args(&format!("--name A {args}"))).await);
        assert!(message.starts_with(expected), "{message}");
    }
    ok(clients::create(
        &store,
        create_args("--id native --public --name N --redirect-uri com.example.app:/cb"),
    )
    .await);
    ok(clients::create(
        &store,
        create_args("--id web --name W --redirect-uri https://w.example/cb"),
    )
    .await);
    let message = error_of(
        clients::update(
            &store,
            update_args("web --redirect-uri com.example.app:/cb"),
        )
        .await,
    );
    assert!(message.contains("register a --public client"), "{message}");
    let stored: Vec<String> = store
        .list_clients()
        .await
        .unwrap_or_default()
        .into_iter()
        .flat_map(|c| c.redirect_uris().to_vec())
        .collect();
    assert_eq!(stored, ["com.example.app:/cb", "https://w.example/cb"]);
}

/// The registration limits (docs/security.md, "Limits"), each named in its error; nothing
/// over them is stored.
#[tokio::test]
async fn registration_limits_are_named_in_their_errors() {
    let store = store_with_scopes().await;
    let uris = |count: usize| -> String {
        (0..count)
            .map(|i| format!(" --redirect-uri https://a.example/cb{i}"))
            .collect()
    };
    let message =
        error_of(clients::create(&store, create_args(&format!("--name A{}", uris(33)))).await);
    assert!(message.contains("at most 32 redirect URIs"), "{message}");
    // Repeated URIs count once.
    let repeated = " --redirect-uri https://a.example/cb".repeat(40);
    ok(clients::create(&store, create_args(&format!("--id app --name A{repeated}"))).await);
    let message = error_of(clients::update(&store, update_args(&format!("app{}", uris(33)))).await);
    assert!(message.contains("at most 32 redirect URIs"), "{message}");
    ok(clients::update(&store, update_args(&format!("app{}", uris(32)))).await);

    let long_uri = format!("https://a.example/{}", "p".repeat(2000));
    let message = error_of(
        clients::create(
            &store,
            create_args(&format!("--name A --redirect-uri {long_uri}")),
        )
        .await,
    );
    assert!(message.contains("at most 2000 bytes"), "{message}");
    let message = error_of(
        clients::create(
            &store,
            create_args(&format!(
                "--name {} --redirect-uri https://a.example/cb",
                "n".repeat(201)
            )),
        )
        .await,
    );
    assert!(message.contains("at most 200 characters"), "{message}");

    let message = error_of(scopes::create(&store, "big", &"d".repeat(1001)).await);
    assert!(message.contains("at most 1000 characters"), "{message}");
    let message = error_of(scopes::create(&store, &"s".repeat(129), "x").await);
    assert!(message.contains("1 to 128 characters"), "{message}");
    let names: Vec<String> = (0..201).map(|i| format!("s{i}")).collect();
    for name in &names {
        ok(scopes::create(&store, name, "x").await);
    }
    let scopes: String = names
        .iter()
        .map(|name| format!(" --scope {name}"))
        .collect();
    let message = error_of(
        clients::create(
            &store,
            create_args(&format!(
                "--name A --redirect-uri https://a.example/cb{scopes}"
            )),
        )
        .await,
    );
    assert!(message.contains("at most 200 allowed scopes"), "{message}");

    let stored: Vec<String> = store
        .list_clients()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.client_id().to_string())
        .collect();
    assert_eq!(stored, ["app"]);
    assert_eq!(stored_client(&store, "app").await.redirect_uris.len(), 32);
}

#[tokio::test]
async fn client_update_rules() {
    let store = store_with_scopes().await;
    let args = create_args("--id app --name App --redirect-uri https://a.example/cb --scope profile --default-scope profile");
    ok(clients::create(&store, args).await);
    let old_hash = stored_client(&store, "app").await.secret_hash;

    assert!(error_of(clients::update(&store, update_args("app")).await)
        .starts_with("nothing to change"));
    assert_eq!(
        error_of(clients::update(&store, update_args("nope --name X")).await),
        "client nope does not exist"
    );
    let narrowed = clients::update(&store, update_args("app --scope orders:read")).await;
    assert!(error_of(narrowed).contains("default scope profile is not among"));
    let bad_uri = clients::update(&store, update_args("app --redirect-uri ftp://x")).await;
    assert!(error_of(bad_uri).contains("\"ftp://x\" is refused"));

    let args = update_args(
        "app --scope orders:read --no-default-scope --pkce-optional --allow-plain-pkce true \
         --grant authorization_code --grant refresh_token --rotate-secret --redirect-uri https://a.example/new",
    );
    let output = ok(clients::update(&store, args).await);
    let client = stored_client(&store, "app").await;
    assert_eq!(
        client.secret_hash,
        Some(ClientSecret::new(text_of(&output.json, "client_secret")).hash())
    );
    assert_ne!(client.secret_hash, old_hash);
    assert!(client.pkce_optional && client.allow_plain_pkce);
    assert!(client.default_scopes.is_empty());
    assert_eq!(client.redirect_uris, vec!["https://a.example/new"]);
    assert_eq!(
        client.grant_types,
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken]
    );

    let output = ok(clients::update(
        &store,
        update_args("app --pkce-required --allow-plain-pkce false"),
    )
    .await);
    assert!(output.json.get("client_secret").is_none());
    let client = stored_client(&store, "app").await;
    assert!(!client.pkce_optional && !client.allow_plain_pkce);

    ok(clients::create(
        &store,
        create_args("--id spa --public --name SPA --redirect-uri https://a.example/cb"),
    )
    .await);
    assert!(
        error_of(clients::update(&store, update_args("spa --pkce-optional")).await)
            .contains("must use PKCE")
    );
    assert!(
        error_of(clients::update(&store, update_args("spa --rotate-secret")).await)
            .contains("no secret")
    );

    ok(clients::delete(&store, "spa").await);
    assert_eq!(
        error_of(clients::delete(&store, "spa").await),
        "client spa does not exist"
    );
}

#[tokio::test]
async fn users() {
    let store = MemoryStore::default();
    let short = users::create(&store, "alice", Profile::default(), || {
        Ok(Password::new("1234567"))
    })
    .await;
    assert!(error_of(short).contains("at least 8 characters"));
    let output = ok(users::create(&store, "alice", Profile::default(), || {
        Ok(Password::new("correct horse"))
    })
    .await);
    let user = store.get_user("alice").await.ok().flatten();
    let Some(user) = user else {
        panic!("alice not stored")
    };
    assert_eq!(user.sub, text_of(&output.json, "sub"));
    assert!(verify_password("correct horse", &user.password_hash));

    // A duplicate is refused before the password is asked for.
    let duplicate = users::create(&store, "alice", Profile::default(), || {
        panic!("asked for a password")
    })
    .await;
    assert_eq!(error_of(duplicate), "user alice already exists");

    let shown = ok(users::show(&store, "alice").await);
    assert_eq!(shown.json["username"], "alice");
    assert_eq!(shown.json["sub"], json!(user.sub));
    assert_eq!(shown.json["profile"], json!({}));
    assert!(!shown.text.contains("argon2"));

    // The profile: claims checked by the domain, set and unset.
    let given = ProfileArgs {
        name: Some("Alice Example".into()),
        email: Some("alice@example.com".into()),
        email_verified: Some(true),
        locale: Some("en-GB".into()),
        ..ProfileArgs::default()
    };
    let no_password: Option<fn() -> Result<Password, Error>> = None;
    ok(users::update(&store, "alice", &given, &[], no_password).await);
    let shown = ok(users::show(&store, "alice").await);
    assert_eq!(
        shown.json["profile"],
        json!({ "name": "Alice Example", "email": "alice@example.com", "email_verified": true, "locale": "en-GB" })
    );
    assert!(shown.text.contains("alice@example.com"));
    let bad = ProfileArgs {
        picture: Some("http://example.com/a.png".into()),
        ..ProfileArgs::default()
    };
    assert_eq!(
        error_of(users::update(&store, "alice", &bad, &[], no_password).await),
        "picture: must be an https URL of at most 2048 bytes"
    );
    ok(users::update(
        &store,
        "alice",
        &ProfileArgs::default(),
        &[Claim::Email, Claim::EmailVerified],
        no_password,
    )
    .await);
    let shown = ok(users::show(&store, "alice").await);
    assert_eq!(
        shown.json["profile"],
        json!({ "name": "Alice Example", "locale": "en-GB" })
    );
    assert!(error_of(
        users::update(&store, "alice", &ProfileArgs::default(), &[], no_password).await
    )
    .starts_with("nothing to change"));
    let listed = ok(users::list(&store).await);
    assert_eq!(listed.json[0]["username"], "alice");
    assert!(listed.text.contains("Alice Example"));

    // A new password ends the sessions; a refused one changes nothing.
    let weak = users::update(
        &store,
        "alice",
        &ProfileArgs::default(),
        &[],
        Some(|| Ok(Password::new("short"))),
    )
    .await;
    assert!(error_of(weak).contains("at least 8 characters"));
    let before = store
        .get_account(&user.sub)
        .await
        .ok()
        .flatten()
        .map(|a| a.sessions_ended_at_ms);
    assert_eq!(before, Some(0));
    let changed = ok(users::update(
        &store,
        "alice",
        &ProfileArgs::default(),
        &[],
        Some(|| Ok(Password::new("battery staple"))),
    )
    .await);
    assert!(
        changed.text.contains("every session ended"),
        "{}",
        changed.text
    );
    let Some(changed_user) = store.get_user("alice").await.ok().flatten() else {
        panic!("alice gone")
    };
    assert!(verify_password(
        "battery staple",
        &changed_user.password_hash
    ));
    let after = store
        .get_account(&user.sub)
        .await
        .ok()
        .flatten()
        .map(|a| a.sessions_ended_at_ms);
    assert!(after.is_some_and(|at| at > 0), "{after:?}");
    let revoked = ok(users::revoke_sessions(&store, "alice").await);
    assert_eq!(revoked.json["sessions_ended"], "alice");
    assert_eq!(
        error_of(users::revoke_sessions(&store, "nobody").await),
        "user nobody does not exist"
    );
    ok(users::delete(&store, "alice").await);
    assert_eq!(
        error_of(users::show(&store, "alice").await),
        "user alice does not exist"
    );
    assert_eq!(
        error_of(users::delete(&store, "alice").await),
        "user alice does not exist"
    );
}

#[tokio::test]
async fn consents() {
    let store = MemoryStore::default();
    ok(users::create(&store, "bob", Profile::default(), || {
        Ok(Password::new("long enough"))
    })
    .await);
    let Some(bob) = store.get_user("bob").await.ok().flatten() else {
        panic!("bob not stored")
    };
    for (client_id, expires_at) in [("a", now() + 60), ("b", now() + 60), ("c", now() - 60)] {
        let consent = Consent {
            sub: bob.sub.clone(),
            client_id: client_id.into(),
            scopes: ScopeSet::parse("profile").unwrap_or_default(),
            expires_at,
        };
        assert!(store.put_consent(&consent).await.is_ok());
    }
    let listed = ok(consents::list(&store, "bob").await);
    assert_eq!(listed.json.as_array().map(Vec::len), Some(3));
    assert_eq!(listed.json[0]["scopes"], json!(["profile"]));
    assert!(listed.text.contains("(expired)"));

    // A refresh token family issued under the consent for client b.
    let family = auth_core::model::TokenFamily {
        family_id: "fam-b".into(),
        client_id: "b".into(),
        sub: bob.sub.clone(),
        expires_at: now() + 60,
        current: Some("hash-b".into()),
        revoked: false,
        authentication: None,
    };
    let first = auth_core::model::RefreshToken {
        token_hash: "hash-b".into(),
        family_id: "fam-b".into(),
        client_id: "b".into(),
        sub: bob.sub.clone(),
        scopes: ScopeSet::parse("profile").unwrap_or_default(),
        issued_at: now(),
        expires_at: now() + 60,
        family_expires_at: now() + 60,
        used_at: None,
        revoked: false,
        authentication: None,
        resources: Vec::new(),
    };
    assert!(store.create_family(&family, &first).await.is_ok());

    let one = ok(consents::revoke(&store, "bob", Some("b")).await);
    assert_eq!(
        one.json,
        json!({ "removed": 1, "client_ids": ["b"], "refresh_families_revoked": 1 })
    );
    let revoked = RefreshTokenReader::get_family(&store, "fam-b")
        .await
        .ok()
        .flatten();
    assert_eq!(revoked.map(|f| f.revoked), Some(true));
    assert_eq!(
        error_of(consents::revoke(&store, "bob", Some("b")).await),
        "user bob has no consent for client b"
    );
    let all = ok(consents::revoke(&store, "bob", None).await);
    assert_eq!(
        all.json,
        json!({ "removed": 2, "client_ids": ["a", "c"], "refresh_families_revoked": 0 })
    );
    assert_eq!(
        all.text,
        "removed 2 consents of user bob (clients a, c); revoked 0 refresh token families"
    );
    assert_eq!(
        ok(consents::revoke(&store, "bob", None).await).text,
        "removed 0 consents of user bob; revoked 0 refresh token families"
    );
    assert_eq!(
        error_of(consents::list(&store, "carol").await),
        "user carol does not exist"
    );
}

fn key_created_at(created_at: i64) -> SigningKey {
    match generate_signing_key() {
        Ok(key) => SigningKey {
            created_at,
            active_from: created_at,
            ..key
        },
        Err(err) => panic!("{err}"),
    }
}

fn statuses(listed: &Output) -> Vec<(String, String)> {
    listed
        .json
        .as_array()
        .map(|keys| {
            keys.iter()
                .map(|k| (text_of(k, "kid"), text_of(k, "status")))
                .collect()
        })
        .unwrap_or_default()
}

fn status_pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(kid, status)| (kid.to_string(), status.to_string()))
        .collect()
}

/// The output of `keys rotate`, `list` and `delete`; what each key does over time is
/// tested with the lifecycle itself (`auth_core::keys::lifecycle`).
#[tokio::test]
async fn key_rotation_publishes_first_then_signs_and_keeps_keys_while_their_tokens_live() {
    let store = MemoryStore::default();
    let lifecycle = KeyLifecycle::new(86_400);
    // The first key signs at once, whatever --activate-in says: nothing else could sign.
    // It is dated back a little, so that a Lambda clock behind ours does not wait for it.
    let first = ok(keys::rotate(&store, &lifecycle, Some(600)).await);
    let first_kid = text_of(&first.json, "kid");
    assert!(first.text.contains("signs now") && first.text.contains("retired: none"));
    assert!(first.json["active_from"].as_i64() < first.json["created_at"].as_i64());
    assert_eq!(first.json["signing"], json!(first_kid));

    // Keys that signed two and three days ago.
    let day = 86_400_000;
    let (oldest, older) = (
        key_created_at(now() * 1000 - 3 * day),
        key_created_at(now() * 1000 - 2 * day),
    );
    for key in [&oldest, &older] {
        assert!(store.put_key(key).await.is_ok());
    }
    // A routine rotation: published now, signs in 600 s; the first key signs until then.
    // `older` signed until `first` started (just now): kept. `oldest` stopped two days ago.
    let rotated = ok(keys::rotate(&store, &lifecycle, None).await);
    let new_kid = text_of(&rotated.json, "kid");
    assert!(!rotated.text.contains("PRIVATE") && !rotated.json.to_string().contains("PRIVATE"));
    assert_eq!(
        rotated.json["active_from"].as_i64(),
        rotated.json["created_at"].as_i64().map(|t| t + 600_000)
    );
    assert_eq!(rotated.json["signing"], json!(first_kid));
    assert!(rotated
        .text
        .contains(&format!("signing until then: {first_kid}")));
    assert!(rotated
        .text
        .contains(&format!("still published: {} (previous)", older.kid)));
    assert_eq!(rotated.json["previous"], json!(older.kid));
    assert_eq!(rotated.json["retired"], json!([oldest.kid]));
    assert!(rotated
        .text
        .ends_with(&format!("\nretired: {}", oldest.kid)));
    let listed = ok(keys::list(&store, &lifecycle).await);
    assert_eq!(
        statuses(&listed),
        status_pairs(&[
            (&new_kid, "pending"),
            (&first_kid, "current"),
            (&older.kid, "previous")
        ])
    );
    assert!(!listed.json.to_string().contains("PRIVATE") && listed.text.contains("pending"));
    assert_eq!(listed.json[1]["current"], json!(true));

    // After a compromise: --activate-in 0 signs at once. The pending key it overtakes will
    // never sign; the first key signed until now, so it stays published until deleted.
    let emergency = ok(keys::rotate(&store, &lifecycle, Some(0)).await);
    let emergency_kid = text_of(&emergency.json, "kid");
    assert!(emergency.text.contains("signs now"));
    assert!(!emergency.text.contains("signing until then"));
    assert_eq!(emergency.json["signing"], json!(emergency_kid));
    assert_eq!(emergency.json["previous"], json!(first_kid));
    assert!(error_of(keys::delete(&store, &emergency_kid).await).contains("is the one that signs"));
    let deleted = ok(keys::delete(&store, &first_kid).await);
    assert_eq!(
        deleted.text,
        format!("deleted signing key {first_kid}; tokens it signed no longer verify")
    );
    assert_eq!(
        error_of(keys::delete(&store, &first_kid).await),
        format!("signing key {first_kid} does not exist")
    );
    let listed = ok(keys::list(&store, &lifecycle).await);
    assert_eq!(
        statuses(&listed),
        status_pairs(&[
            (&emergency_kid, "current"),
            (&new_kid, "pending"),
            (&older.kid, "previous")
        ])
    );

    let empty = MemoryStore::default();
    assert_eq!(
        ok(keys::list(&empty, &lifecycle).await).text,
        "no signing keys: create one with `authctl keys rotate`"
    );
    assert!(parse("keys rotate --activate-in 604801").is_err());
    assert!(parse("keys rotate --activate-in -1").is_err());
}

/// How long keys stay published follows the stack's access token lifetime; unknown, the
/// longest the template allows, so that no live token loses its key.
#[test]
fn the_access_token_lifetime_sets_key_retention() {
    let lifecycle_of = |words: &str| match parse(words).map(|cli| cli.command) {
        Ok(Command::Keys(KeysCommand::Rotate { tokens, .. } | KeysCommand::List { tokens })) => {
            tokens.lifecycle()
        }
        other => panic!("not a keys rotate or list: {other:?}"),
    };
    assert_eq!(
        lifecycle_of("keys rotate --access-token-ttl 900"),
        KeyLifecycle::new(900)
    );
    assert_eq!(
        lifecycle_of("keys list --access-token-ttl 3600"),
        KeyLifecycle::new(3600)
    );
    // The variable the functions read sets the default; unset, it is the template's maximum.
    if std::env::var_os("AUTH_ACCESS_TOKEN_TTL_SECONDS").is_none() {
        assert_eq!(lifecycle_of("keys rotate"), KeyLifecycle::new(86_400));
        assert_eq!(lifecycle_of("keys list"), KeyLifecycle::new(86_400));
    }
    for bad in ["0", "86401", "-1", "1h"] {
        assert!(
            parse(&format!("keys rotate --access-token-ttl {bad}")).is_err(),
            "{bad}"
        );
    }
    assert!(parse("keys delete abc --access-token-ttl 900").is_err());
}

/// Sign-out's return addresses (OpenID Connect RP-Initiated Logout): registered with the
/// client, held to the rules of redirect URIs, replaced or removed by `update`.
#[tokio::test]
async fn post_logout_redirect_uris_are_registered_checked_and_replaced() {
    let store = store_with_scopes().await;
    let message = error_of(
        clients::create(
            &store,
            create_args(
                "--name A --redirect-uri https://a.example/cb \
                 --post-logout-redirect-uri http://a.example/out",
            ),
        )
        .await,
    );
    assert!(
        message.starts_with("post-logout redirect URI \"http://a.example/out\" is refused"),
        "{message}"
    );
    ok(clients::create(
        &store,
        create_args(
            "--id app --name A --redirect-uri https://a.example/cb \
             --post-logout-redirect-uri https://a.example/out",
        ),
    )
    .await);
    assert_eq!(
        stored_client(&store, "app").await.post_logout_redirect_uris,
        ["https://a.example/out"]
    );
    ok(clients::update(
        &store,
        update_args("app --post-logout-redirect-uri https://a.example/bye"),
    )
    .await);
    assert_eq!(
        stored_client(&store, "app").await.post_logout_redirect_uris,
        ["https://a.example/bye"]
    );
    ok(clients::update(&store, update_args("app --no-post-logout-redirect-uri")).await);
    assert!(stored_client(&store, "app")
        .await
        .post_logout_redirect_uris
        .is_empty());
}

/// CORS origins of a browser app besides its redirect URIs' (`--web-origin`): checked as
/// browsers write `Origin`, shown, replaced or removed by `update`.
#[tokio::test]
async fn web_origins_are_registered_checked_and_replaced() {
    let store = store_with_scopes().await;
    let message = error_of(
        clients::create(
            &store,
            create_args("--public --name A --redirect-uri https://a.example/cb --web-origin https://cdn.example/"),
        )
        .await,
    );
    assert!(
        message.starts_with("web origin \"https://cdn.example/\" is refused"),
        "{message}"
    );
    let output = ok(clients::create(
        &store,
        create_args(
            "--public --id spa --name A --redirect-uri https://a.example/cb \
             --web-origin https://cdn.example",
        ),
    )
    .await);
    assert!(output.text.contains("web_origins:"), "{}", output.text);
    assert_eq!(
        stored_client(&store, "spa").await.web_origins,
        ["https://cdn.example"]
    );
    ok(clients::update(&store, update_args("spa --web-origin https://cdn2.example")).await);
    assert_eq!(
        stored_client(&store, "spa").await.web_origins,
        ["https://cdn2.example"]
    );
    ok(clients::update(&store, update_args("spa --no-web-origin")).await);
    assert!(stored_client(&store, "spa").await.web_origins.is_empty());
    assert!(parse("client update spa --web-origin https://x.example --no-web-origin").is_err());
}

/// APIs as audiences (RFC 8707): a URI by the rules, scopes from the catalogue, once.
#[tokio::test]
async fn apis_are_registered_with_catalogued_scopes_listed_and_deleted() {
    let store = store_with_scopes().await;
    let scopes = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let created = ok(resources::create(
        &store,
        "https://orders.example".into(),
        Some("Orders API".into()),
        &scopes(&["orders:read"]),
    )
    .await);
    assert_eq!(created.json["name"], "Orders API");
    let unknown_scope = error_of(
        resources::create(&store, "https://b.example".into(), None, &scopes(&["nope"])).await,
    );
    assert!(
        unknown_scope.starts_with("unknown scope nope"),
        "{unknown_scope}"
    );
    for uri in [
        "https://b.example#f",
        "http://b.example",
        "b.example",
        "https://b.example?q",
    ] {
        let refused =
            error_of(resources::create(&store, uri.into(), None, &scopes(&["orders:read"])).await);
        assert!(refused.starts_with("resource"), "{uri}: {refused}");
    }
    let again = error_of(
        resources::create(
            &store,
            "https://orders.example".into(),
            None,
            &scopes(&["orders:read"]),
        )
        .await,
    );
    assert!(again.contains("already exists"), "{again}");
    let listed = ok(resources::list(&store).await);
    assert!(
        listed.text.contains("https://orders.example"),
        "{}",
        listed.text
    );
    ok(resources::delete(&store, "https://orders.example").await);
    assert_eq!(ok(resources::list(&store).await).text, "no APIs");
    assert!(
        parse("resource create https://x.example").is_err(),
        "a scope is required"
    );
}

/// A JWKS file of one new RSA public key (or, with `private`, holding a private member).
fn jwks_file(name: &str, private: bool) -> std::path::PathBuf {
    let key = ok(generate_signing_key().map_err(Error));
    let mut jwk = json!({"kty": "RSA", "kid": "k1", "n": key.n, "e": key.e});
    if private {
        jwk["d"] = json!("AQAB");
    }
    let path = std::env::temp_dir().join(format!("authctl-{}-{name}.json", std::process::id()));
    ok(std::fs::write(&path, json!({ "keys": [jwk] }).to_string())
        .map_err(|e| Error(e.to_string())));
    path
}

#[tokio::test]
async fn private_key_jwt_clients_have_keys_instead_of_a_secret() {
    let store = store_with_scopes().await;
    let file = jwks_file("public", false);
    let args = create_args(&format!(
        "--id machine --name Machine --grant client_credentials --scope profile --jwks-file {}",
        file.display()
    ));
    let output = ok(clients::create(&store, args).await);
    assert!(output.json.get("client_secret").is_none() && !output.text.contains("client_secret"));
    assert!(output.text.contains("private_key_jwt (1 registered keys)"));
    let stored = stored_client(&store, "machine").await;
    assert!(stored.secret_hash.is_none() && stored.keys.is_some());
    // Back to a secret, then keys again: one credential at a time.
    let output = ok(clients::update(&store, update_args("machine --rotate-secret")).await);
    assert_eq!(text_of(&output.json, "client_secret").len(), 43);
    let stored = stored_client(&store, "machine").await;
    assert!(stored.secret_hash.is_some() && stored.keys.is_none());
    let args = update_args(&format!("machine --jwks-file {}", file.display()));
    ok(clients::update(&store, args).await);
    let stored = stored_client(&store, "machine").await;
    assert!(stored.secret_hash.is_none() && stored.keys.is_some());
    // Refused: a private key, a public client with keys, an http jwks_uri elsewhere than
    // loopback, both at once.
    let private = jwks_file("private", true);
    let args = create_args(&format!(
        "--id leaky --name Leaky --grant client_credentials --jwks-file {}",
        private.display()
    ));
    assert!(error_of(clients::create(&store, args).await).contains("private key"));
    let args = create_args(
        "--id remote --name Remote --grant client_credentials --jwks-uri http://machine.example/jwks",
    );
    assert!(error_of(clients::create(&store, args).await).contains("https"));
    for bad in [
        format!(
            "client create --name P --redirect-uri https://a.example/cb --public --jwks-file {}",
            file.display()
        ),
        format!(
            "client create --name P --jwks-uri https://a.example/j --jwks-file {}",
            file.display()
        ),
        format!(
            "client update machine --rotate-secret --jwks-file {}",
            file.display()
        ),
    ] {
        assert!(parse(&bad).is_err(), "{bad}");
    }
    let _ = (std::fs::remove_file(file), std::fs::remove_file(private));
}
