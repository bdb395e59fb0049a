//! Issue 12.6, checklist line 30: every `error_description` is a fixed text the server chose,
//! within RFC 6749's character set (%x20-21 / %x23-5B / %x5D-7E, 4.1.2.1 and 5.2), and never
//! text from the request. Descriptions are `&'static str` everywhere (no request text can
//! reach one); these tests enumerate them: every description the source can produce (each
//! literal handed to an error constructor), and every description that driving the
//! rejections of each endpoint produced, which must be among the former.

use auth_core::config::Config;
use auth_core::endpoints::{authorize, introspect, revoke, token, userinfo};
use auth_core::http::{form_encode, HttpRequest, HttpResponse, Params};
use auth_core::model::*;
use auth_core::secret::ClientSecret;
use auth_core::store::memory::MemoryStore;
use auth_core::store::*;
use auth_core::App;
use http::Method;
use std::collections::BTreeSet;
use std::path::Path;

/// RFC 6749 4.1.2.1 and 5.2: `error_description` = 1*( %x20-21 / %x23-5B / %x5D-7E ).
fn in_rfc_6749_character_set(description: &str) -> bool {
    !description.is_empty()
        && description
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

/// Where a description is handed over: the constructors of every error that carries one.
const SINKS: &[&str] = &[
    "redirect(",
    "bad_request(",
    "ErrorResponse::new(",
    "method_not_allowed(",
    "InvalidRequest(",
    "InvalidGrant(",
    "InvalidScope(",
    "Malformed(",
    "error_location(",
    "refusal(",
];

/// The string literals (as written in the source, escapes included) between `open` (just
/// after an opening parenthesis) and the parenthesis that closes it.
fn literals_in_call(source: &str, open: usize) -> Vec<String> {
    let bytes = source.as_bytes();
    let (mut depth, mut i, mut found) = (1, open, Vec::new());
    while i < bytes.len() && depth > 0 {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                found.push(source[start..i.min(bytes.len())].to_string());
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Every description literal of one source file, outside its tests.
fn descriptions_in(source: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or(source);
    let mut found = Vec::new();
    for sink in SINKS {
        for (at, _) in code.match_indices(sink) {
            found.extend(literals_in_call(code, at + sink.len()));
        }
    }
    // `Err("...")`: check_binding's reasons, and the like.
    for (at, _) in code.match_indices("Err(\"") {
        found.extend(literals_in_call(code, at + 4).into_iter().take(1));
    }
    // `fn description(&self) -> &'static str { match self { .. => "..." } }` (http::ParamError).
    if let Some(at) = code.find("fn description(&self) -> &'static str {") {
        let body = &code[at..];
        let body = &body[..body.find("\n    }\n").unwrap_or(body.len())];
        for (arm, _) in body.match_indices("=> \"") {
            found.extend(literals_in_call(body, arm + 3).into_iter().take(1));
        }
    }
    // The named descriptions (`oauth::REPEATED_PARAMETER` and its neighbours).
    let lines: Vec<&str> = code.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line
            .trim()
            .strip_prefix("pub const ")
            .or(line.trim().strip_prefix("const "))
        {
            if let Some((_, literal)) = rest.split_once(": &str = \"") {
                found.push(literal.trim_end_matches("\";").to_string());
            } else if rest.ends_with(": &str =") {
                // rustfmt puts a long literal on the next line.
                let next = lines.get(i + 1).map_or("", |next| next.trim());
                if let Some(literal) = next.strip_prefix('"') {
                    found.push(literal.trim_end_matches("\";").to_string());
                }
            }
        }
    }
    found
}

fn source_files(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            source_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// Every description the code can produce, read from `shared/src`.
fn every_description_in_the_source() -> BTreeSet<String> {
    let mut files = Vec::new();
    source_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 20, "the sources were not found");
    let mut all = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap_or_default();
        all.extend(descriptions_in(&source));
    }
    all
}

#[test]
fn every_error_description_in_the_source_is_fixed_text_in_rfc_6749s_character_set() {
    let all = every_description_in_the_source();
    assert!(all.len() >= 40, "too few descriptions found: {all:#?}");
    let outside: Vec<&String> = all
        .iter()
        .filter(|d| !in_rfc_6749_character_set(d) || d.contains('{'))
        .collect();
    assert!(
        outside.is_empty(),
        "descriptions outside %x20-21 / %x23-5B / %x5D-7E, or formatted: {outside:#?}"
    );
    assert!(all.contains(auth_core::oauth::REPEATED_PARAMETER));
    assert!(all.contains("the code is invalid or expired"));
}

// --- every rejection, driven ----------------------------------------------------------------

const REDIRECT: &str = "https://app.example/cb";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// A parameter name no server should repeat back: quotes, a newline, markup, a backslash,
/// Unicode (a right-to-left override) and length.
fn hostile_name() -> String {
    format!("x\"\n<script>\\\u{e9}\u{202e}{}", "y".repeat(600))
}

async fn app() -> App<MemoryStore> {
    use GrantType::{AuthorizationCode as Code, RefreshToken as Refresh};
    let store = MemoryStore::default();
    for (id, kind, grants) in [
        ("app", ClientKind::Confidential, vec![Code, Refresh]),
        ("noref", ClientKind::Confidential, vec![Code]),
        ("spa", ClientKind::Public, vec![Code]),
    ] {
        let registration = ClientRegistration {
            client_id: id.into(),
            name: id.into(),
            redirect_uris: vec![REDIRECT.into()],
            allowed_scopes: ScopeSet::parse("read").unwrap_or_default(),
            default_scopes: ScopeSet::new(),
            kind,
            secret_hash: (kind == ClientKind::Confidential)
                .then(|| ClientSecret::new(format!("{id}-secret")).hash()),
            pkce_optional: false,
            allow_plain_pkce: false,
            resource_server: false,
            grant_types: grants,
            post_logout_redirect_uris: Vec::new(),
            web_origins: Vec::new(),
            keys: None,
        };
        let Ok(client) = Client::register(registration) else {
            panic!("client {id}")
        };
        assert!(store.create_client(&client).await.is_ok());
    }
    let Ok(key) = auth_core::keys::generate_signing_key() else {
        panic!("key generation failed")
    };
    assert!(store.put_key(&key).await.is_ok());
    App::new(Config::for_tests(), store)
}

fn post(path: &str, body: String) -> HttpRequest {
    HttpRequest::new(Method::POST, path).with_form(&body)
}

fn as_app(pairs: &[(&str, &str)]) -> String {
    let mut all = pairs.to_vec();
    all.extend([("client_id", "app"), ("client_secret", "app-secret")]);
    form_encode(&all)
}

/// The description of a JSON error, or of an error redirect.
fn description_of(response: &HttpResponse) -> Option<String> {
    if let Some(location) = response.headers().get("location") {
        let location = location.to_str().ok()?;
        let query = location.split_once('?').map(|(_, q)| q)?;
        let params = Params::parse(query.as_bytes()).ok()?;
        return params.get("error_description").map(str::to_string);
    }
    let body: serde_json::Value = serde_json::from_str(response.body()).ok()?;
    body["error_description"].as_str().map(str::to_string)
}

#[tokio::test]
async fn every_rejection_describes_itself_with_a_fixed_text_and_echoes_nothing() {
    let app = app().await;
    let hostile = hostile_name();
    let repeated = format!(
        "{}&{}",
        form_encode(&[(&hostile, "1")]),
        form_encode(&[(&hostile, "2")])
    );
    let token_bodies: Vec<(&str, String)> = vec![
        (
            "repeated hostile name",
            format!(
                "{}&{repeated}",
                as_app(&[("grant_type", "authorization_code")])
            ),
        ),
        ("no grant_type", as_app(&[])),
        (
            "unsupported grant_type",
            as_app(&[("grant_type", "password")]),
        ),
        ("no code", as_app(&[("grant_type", "authorization_code")])),
        (
            "malformed verifier",
            as_app(&[
                ("grant_type", "authorization_code"),
                ("code", "c"),
                ("code_verifier", "short"),
            ]),
        ),
        (
            "unknown code",
            as_app(&[("grant_type", "authorization_code"), ("code", "c")]),
        ),
        (
            "no refresh_token",
            as_app(&[("grant_type", "refresh_token")]),
        ),
        (
            "malformed scope",
            as_app(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "r"),
                ("scope", "a\"b"),
            ]),
        ),
        (
            "unknown refresh token",
            as_app(&[("grant_type", "refresh_token"), ("refresh_token", "r")]),
        ),
        (
            "refresh grant not allowed",
            form_encode(&[
                ("grant_type", "refresh_token"),
                ("client_id", "noref"),
                ("client_secret", "noref-secret"),
            ]),
        ),
        (
            "wrong secret",
            form_encode(&[
                ("grant_type", "refresh_token"),
                ("client_id", "app"),
                ("client_secret", "wrong"),
            ]),
        ),
    ];
    let mut responses = Vec::new();
    for (rule, body) in token_bodies {
        responses.push((rule, token::handle(&app, &post("/oauth/token", body)).await));
    }
    responses.push((
        "GET token",
        token::handle(&app, &HttpRequest::new(Method::GET, "/oauth/token")).await,
    ));
    responses.push((
        "not a form",
        token::handle(
            &app,
            &HttpRequest::new(Method::POST, "/oauth/token")
                .with_form("a=b")
                .with_header("content-type", "application/json"),
        )
        .await,
    ));
    responses.push((
        "an origin the client did not register",
        token::handle(
            &app,
            &post(
                "/oauth/token",
                as_app(&[("grant_type", "refresh_token"), ("refresh_token", "r")]),
            )
            .with_header("origin", &format!("https://{}.example", "x".repeat(20))),
        )
        .await,
    ));
    responses.push((
        "bad percent-encoding",
        token::handle(&app, &post("/oauth/token", "grant_type=%zz".into())).await,
    ));
    responses.push((
        "revoke: repeated hostile name",
        revoke::handle(
            &app,
            &post(
                "/oauth/revoke",
                format!("{}&{repeated}", as_app(&[("token", "t")])),
            ),
        )
        .await,
    ));
    responses.push((
        "revoke: no token",
        revoke::handle(&app, &post("/oauth/revoke", as_app(&[]))).await,
    ));
    responses.push((
        "introspect: repeated hostile name",
        introspect::handle(
            &app,
            &post(
                "/oauth/introspect",
                format!("{}&{repeated}", as_app(&[("token", "t")])),
            ),
        )
        .await,
    ));
    responses.push((
        "introspect: public client",
        introspect::handle(
            &app,
            &post(
                "/oauth/introspect",
                form_encode(&[("token", "t"), ("client_id", "spa")]),
            ),
        )
        .await,
    ));
    let bearer = |method: Method, query: &str| {
        HttpRequest::new(method, &format!("/oauth/userinfo{query}"))
            .with_header("authorization", "Bearer e30.e30.e30")
    };
    for (rule, request) in [
        (
            "userinfo: token in the query",
            HttpRequest::new(
                Method::GET,
                &format!(
                    "/oauth/userinfo?{}&{repeated}",
                    form_encode(&[("access_token", &hostile)])
                ),
            ),
        ),
        (
            "userinfo: two methods",
            post(
                "/oauth/userinfo",
                form_encode(&[("access_token", &hostile)]),
            )
            .with_header("authorization", "Bearer e30.e30.e30"),
        ),
        (
            "userinfo: malformed header",
            HttpRequest::new(Method::GET, "/oauth/userinfo").with_header(
                "authorization",
                &format!("Bearer {}", hostile.replace('\n', "")),
            ),
        ),
        (
            "userinfo: repeated hostile name, invalid token",
            bearer(Method::GET, &format!("?{repeated}")),
        ),
        (
            "userinfo: no token",
            HttpRequest::new(Method::GET, &format!("/oauth/userinfo?{repeated}")),
        ),
    ] {
        responses.push((rule, userinfo::handle(&app, &request).await));
    }
    let authorization = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("client_id", "app"),
            ("redirect_uri", REDIRECT),
            ("response_type", "code"),
            ("scope", "read"),
            ("state", "s"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        pairs.retain(|(name, _)| !extra.iter().any(|(n, _)| n == name));
        pairs.extend(extra.iter().filter(|(_, v)| !v.is_empty()));
        form_encode(&pairs)
    };
    for (rule, query) in [
        (
            "authorize: repeated hostile name",
            format!("{}&{repeated}", authorization(&[])),
        ),
        (
            "authorize: response_type=token",
            authorization(&[("response_type", "token")]),
        ),
        (
            "authorize: scope not allowed",
            authorization(&[("scope", "admin")]),
        ),
        (
            "authorize: malformed scope",
            authorization(&[("scope", "a\"b")]),
        ),
        (
            "authorize: no PKCE",
            authorization(&[("code_challenge", ""), ("code_challenge_method", "")]),
        ),
        (
            "authorize: plain PKCE",
            authorization(&[("code_challenge_method", "plain")]),
        ),
        (
            "authorize: an id_token_hint that is no ID token of ours",
            authorization(&[("id_token_hint", &hostile)]),
        ),
    ] {
        let request = HttpRequest::new(Method::GET, &format!("/oauth/authorize?{query}"));
        responses.push((rule, authorize::handle(&app, &request).await));
    }

    let known = every_description_in_the_source();
    let mut seen = BTreeSet::new();
    for (rule, response) in &responses {
        let Some(description) = description_of(response) else {
            panic!(
                "{rule}: no error_description in {:?} {}",
                response.headers(),
                response.body()
            )
        };
        assert!(
            in_rfc_6749_character_set(&description),
            "{rule}: {description:?}"
        );
        assert!(
            known.contains(&description),
            "{rule}: {description:?} is not among the source's"
        );
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).to_string())
            .unwrap_or_default();
        if let Some((_, quoted)) = challenge.split_once("error_description=\"") {
            let in_challenge = quoted.split('"').next().unwrap_or_default();
            assert_eq!(
                in_challenge, description,
                "{rule}: the challenge's description"
            );
        }
        for part in ["<script", "yyyy", "\u{202e}", "\u{e9}"] {
            assert!(
                !challenge.contains(part),
                "{rule}: the challenge echoes {part:?}: {challenge}"
            );
            assert!(
                !response.body().contains(part),
                "{rule}: the body echoes {part:?}: {}",
                response.body()
            );
            let location = response
                .headers()
                .get("location")
                .map(|l| l.as_bytes().to_vec());
            let location = String::from_utf8_lossy(&location.unwrap_or_default()).to_string();
            assert!(
                !location.contains(part) && !location.contains("%3Cscript"),
                "{rule}: {location}"
            );
        }
        seen.insert(description);
    }
    assert!(
        seen.len() >= 15,
        "the rejections should be told apart: {seen:#?}"
    );
}
