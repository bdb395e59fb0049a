//! Races at scale against the local DynamoDB server (issue 14.3): a thousand requests at once
//! through the real handlers and the real SDK, and what the tables hold after them.
//!
//! - 1,000 redemptions spread over 50 codes: exactly one succeeds per code, and the replays
//!   revoke the grant the first one started;
//! - 1,000 refreshes spread over 50 families: at most one successor per family, and the
//!   losers' reuse revokes the family;
//! - 50 approvals of one user and client, each of another scope, at once: the stored consent
//!   holds every scope.
//!
//! Every task is spawned at once; at most `IN_FLIGHT` requests run at a time, as Lambda's
//! concurrency bounds them: the local server applies one call at a time (and copies every
//! table for each transaction), so a call queued behind a thousand others would meet the SDK's
//! 1 s attempt timeout, a fault of its own that `tests/e2e/test_faults.py` covers. A 503 that
//! slips through anyway on a busy machine decided nothing, and the assertions allow for it.
//! The counts are in docs/reliability.md.

use crate::common;
use crate::common::fixtures::{client, code_grant, set, World, REDIRECT, SUB};
use crate::common::pkce::{CHALLENGE, VERIFIER};
use crate::common::requests::{client_post, json_body, location};

use auth_core::endpoints::{consent, token};
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use auth_core::model::*;
use auth_core::secret::{now, AuthorizationCode, RefreshTokenSecret};
use auth_core::session;
use auth_core::store::dynamo::DynamoStore;
use auth_core::store::*;
use http::{Method, StatusCode};
use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use tokio::sync::Semaphore;

const REQUESTS: usize = 1_000;
const KEYS: usize = 50;
const IN_FLIGHT: usize = 16;

/// Alice, signed in, and the client `app` (code and refresh grants) on fresh tables, with the
/// scopes `s0`..`s49` that the consent race asks for one each.
async fn world() -> Option<Arc<World<DynamoStore>>> {
    let tables = common::fresh_tables()?;
    let scopes: Vec<(String, String)> = (0..KEYS)
        .map(|i| (format!("s{i}"), format!("Scope {i}")))
        .collect();
    let scope_refs: Vec<(&str, &str)> = scopes
        .iter()
        .map(|(name, description)| (name.as_str(), description.as_str()))
        .collect();
    let names: Vec<&str> = scope_refs.iter().map(|(name, _)| *name).collect();
    let registration = ClientRegistration {
        allowed_scopes: set(&names),
        default_scopes: set(&names[..1]),
        ..client(
            "app",
            ClientKind::Confidential,
            &[GrantType::AuthorizationCode, GrantType::RefreshToken],
        )
    };
    let world = World::on(DynamoStore::from_env(tables).await)
        .with_scopes(&scope_refs)
        .await
        .with_clients([registration])
        .await
        .with_key()
        .await
        .with_alice_signed_in("signed in already")
        .await;
    Some(Arc::new(world))
}

/// Runs `REQUESTS` requests at once, request `i` made by `request(i)`, at most `IN_FLIGHT` at a
/// time; returns each one's key (`i % KEYS`) and answer.
async fn all_at_once<F, Fut>(
    world: &Arc<World<DynamoStore>>,
    request: F,
) -> Vec<(usize, HttpResponse)>
where
    F: Fn(Arc<World<DynamoStore>>, usize) -> Fut,
    Fut: Future<Output = HttpResponse> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(IN_FLIGHT));
    let tasks: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let (limit, answer) = (Arc::clone(&limit), request(Arc::clone(world), i));
            tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                (i % KEYS, answer.await)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        match task.await {
            Ok(answer) => answers.push(answer),
            Err(error) => panic!("a request panicked: {error}"),
        }
    }
    answers
}

/// What the requests were answered.
struct Tally {
    /// Per key, the requests answered 200.
    successes: BTreeMap<usize, usize>,
    /// Per key, the requests answered 503 (the local server's queue outlasted the SDK's
    /// timeouts): nothing decided, the client would retry.
    busy: BTreeMap<usize, usize>,
    /// Every other answer, by status and error.
    refusals: BTreeMap<String, usize>,
}

impl Tally {
    fn of(answers: &[(usize, HttpResponse)]) -> Self {
        let mut tally = Tally {
            successes: (0..KEYS).map(|key| (key, 0)).collect(),
            busy: (0..KEYS).map(|key| (key, 0)).collect(),
            refusals: BTreeMap::new(),
        };
        for (key, response) in answers {
            match response.status() {
                StatusCode::OK => *tally.successes.entry(*key).or_default() += 1,
                StatusCode::SERVICE_UNAVAILABLE => *tally.busy.entry(*key).or_default() += 1,
                status => {
                    let error = json_body(response)["error"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    *tally
                        .refusals
                        .entry(format!("{} {error}", status.as_u16()))
                        .or_default() += 1;
                }
            }
        }
        tally
    }

    /// Whether key `key` had exactly one success, or none and a 503 that could have been it.
    fn one_winner(&self, key: usize) -> bool {
        match self.successes[&key] {
            1 => true,
            0 => self.busy[&key] > 0,
            _ => false,
        }
    }

    fn busy_total(&self) -> usize {
        self.busy.values().sum()
    }

    /// One line for docs/reliability.md, straight to the terminal (libtest captures `eprintln!`).
    fn report(&self, race: &str) {
        let winners: usize = self.successes.values().sum();
        let line = format!(
            "RACE {race}: {REQUESTS} requests over {KEYS} keys: {winners} × 200, {:?}, {} × 503",
            self.refusals,
            self.busy_total()
        );
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

fn redemption(code: &str) -> HttpRequest {
    client_post(
        "/oauth/token",
        "app",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
}

fn code_name(key: usize) -> String {
    format!("race-code-{key}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_1000_redemptions_of_50_codes_one_per_code_succeeds_and_the_replays_revoke_it() {
    let Some(w) = world().await else { return };
    for key in 0..KEYS {
        w.add_code(code_grant(&code_name(key), "app", SUB, set(&["s0"])))
            .await;
    }
    let answers = all_at_once(&w, |w, i| async move {
        token::handle(&w.app, &redemption(&code_name(i % KEYS))).await
    })
    .await;
    let tally = Tally::of(&answers);
    tally.report("redemptions");
    assert!(
        (0..KEYS).all(|key| tally.one_winner(key)),
        "{:?}",
        tally.successes
    );
    let winners: usize = tally.successes.values().sum();
    assert_eq!(
        tally.refusals,
        BTreeMap::from([(
            "400 invalid_grant".to_string(),
            REQUESTS - winners - tally.busy_total()
        )])
    );
    // Each code was replayed: the grant its one redemption started is revoked.
    for key in 0..KEYS {
        let code = AuthorizationCode::new(code_name(key)).hash();
        let redeemed = w.app.store.get_code(&code).await.ok().flatten();
        let grant = redeemed.and_then(|code| code.issued_family);
        let family = match &grant {
            Some(id) => w.app.store.get_family(id).await.ok().flatten(),
            None => None,
        };
        assert_eq!(family.map(|f| f.revoked), Some(true), "code {key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_1000_refreshes_of_50_families_no_family_gets_two_successors() {
    let Some(w) = world().await else { return };
    let mut first_tokens = Vec::new();
    for key in 0..KEYS {
        let code = format!("family-code-{key}");
        w.add_code(code_grant(&code, "app", SUB, set(&["s0"])))
            .await;
        let response = token::handle(&w.app, &redemption(&code)).await;
        let body = json_body(&response);
        assert_eq!(response.status(), StatusCode::OK, "{body}");
        first_tokens.push(
            body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    let first_tokens = Arc::new(first_tokens);
    let presented = Arc::clone(&first_tokens);
    let answers = all_at_once(&w, move |w, i| {
        let refresh_token = presented[i % KEYS].clone();
        async move {
            let pairs = [
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.as_str()),
            ];
            token::handle(&w.app, &client_post("/oauth/token", "app", &pairs)).await
        }
    })
    .await;
    let tally = Tally::of(&answers);
    tally.report("refreshes");
    assert!(
        tally.successes.values().all(|&n| n <= 1),
        "{:?}",
        tally.successes
    );
    assert_eq!(
        tally.refusals.keys().collect::<Vec<_>>(),
        ["400 invalid_grant"],
        "{:?}",
        tally.refusals
    );
    for (key, first) in first_tokens.iter().enumerate() {
        let used = RefreshTokenSecret::new(first.clone()).hash();
        let token = w.app.store.get_refresh_token(&used).await.ok().flatten();
        let family = match &token {
            Some(token) => w
                .app
                .store
                .get_family(&token.family_id)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        let family = family.unwrap_or_else(|| panic!("family {key} is gone"));
        // The presented token was spent at most once: the family points at it or at the one
        // successor that was delivered; the losers' reuse revoked the family.
        assert!(family.revoked, "family {key}");
        let successor = family.current.filter(|current| *current != used);
        if tally.busy[&key] == 0 {
            assert_eq!(
                successor.is_some(),
                tally.successes[&key] == 1,
                "family {key}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_50_concurrent_approvals_of_one_client_the_consent_keeps_every_scope() {
    let Some(w) = world().await else { return };
    let cookie = Arc::new(w.cookie());
    let csrf = Arc::new(session::csrf_token(&w.session_id));
    let limit = Arc::new(Semaphore::new(IN_FLIGHT));
    let approvals: Vec<_> = (0..KEYS)
        .map(|i| {
            let (w, cookie, csrf) = (Arc::clone(&w), Arc::clone(&cookie), Arc::clone(&csrf));
            let limit = Arc::clone(&limit);
            tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                let scope = format!("s{i}");
                let body = form_encode(&[
                    ("client_id", "app"),
                    ("redirect_uri", REDIRECT),
                    ("scope", &scope),
                    ("state", "s"),
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "S256"),
                    ("csrf_token", &csrf),
                    ("decision", "approve"),
                ]);
                let request = HttpRequest::new(Method::POST, "/oauth/consent")
                    .with_form(&body)
                    .with_header("cookie", &cookie);
                let response = consent::handle(&w.app, &request).await;
                let approved = response.status() == StatusCode::SEE_OTHER
                    && location(&response).contains("code=");
                (scope, approved)
            })
        })
        .collect();
    let mut approved = Vec::new();
    for approval in approvals {
        match approval.await {
            Ok((scope, true)) => approved.push(scope),
            // Storage busy on a loaded machine: `temporarily_unavailable`, nothing stored.
            Ok((_, false)) => {}
            Err(error) => panic!("an approval panicked: {error}"),
        }
    }
    let _ = writeln!(
        std::io::stderr(),
        "RACE consent: {KEYS} approvals at once: {} approved, {} busy",
        approved.len(),
        KEYS - approved.len()
    );
    let stored = w
        .app
        .store
        .get_consent(SUB, "app", now())
        .await
        .ok()
        .flatten()
        .map(|consent| consent.scopes)
        .unwrap_or_default();
    // Nothing approved is lost, and nothing else is there.
    let approved = set(&approved.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(stored, approved);
    assert!(approved.len() > KEYS / 2, "most approvals went through");
}
