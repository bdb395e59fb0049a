//! Sign-in throttling (issue 12.1), at the handler: parallel guesses never get more
//! password checks than the limit, the limit holds per source network so that the owner
//! still signs in from elsewhere, and failures from everywhere slow answers without refusing
//! them. In-memory store, except the round trips (moto). The storage contract itself
//! (atomic counting, 50 concurrent attempts) is in `store_contract.rs`.

use crate::common;
use crate::common::fixtures::in_one_sign_in_window;

use auth_core::config::Config;
use auth_core::endpoints::login;
use auth_core::http::{form_encode, HttpRequest, HttpResponse};
use auth_core::lambda::HttpApiEvent;
use auth_core::model::{Account, Profile, User};
use auth_core::password::hash_password;
use auth_core::secret::now;
use auth_core::session;
use auth_core::store::dynamo::DynamoStore;
use auth_core::store::memory::MemoryStore;
use auth_core::store::*;
use auth_core::throttle::{self, SignInCounters};
use auth_core::App;
use http::{Method, StatusCode};
use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse";
const ATTACKER: &str = "203.0.113.66";
const OWNER: &str = "198.51.100.23";

async fn app_with_alice<S: UserAdmin>(store: S) -> App<S> {
    let user = User {
        username: "alice".into(),
        sub: "sub-alice".into(),
        password_hash: hash_password(PASSWORD).unwrap_or_default(),
    };
    assert!(store
        .create_user(&user, &Account::new(&user, Profile::default(), 0))
        .await
        .is_ok());
    App::new(Config::for_tests(), store)
}

fn ip(address: &str) -> IpAddr {
    address
        .parse()
        .unwrap_or_else(|_| panic!("not an address: {address}"))
}

/// `POST /login` as the form sends it, from `source`.
fn sign_in_request(config: &Config, password: &str, source: &str) -> HttpRequest {
    let csrf = "c".repeat(43);
    let body = form_encode(&[
        ("username", "alice"),
        ("password", password),
        ("csrf_token", &csrf),
    ]);
    HttpRequest::new(Method::POST, "/login")
        .with_form(&body)
        .with_header(
            "cookie",
            &format!("{}={csrf}", session::login_csrf_cookie_name(config)),
        )
        .with_source_ip(ip(source))
}

async fn sign_in<S>(app: &App<S>, password: &str, source: &str) -> HttpResponse
where
    S: UserReader + SessionStore + ThrottleStore + AuthorizationReader,
{
    login::handle(app, &sign_in_request(&app.config, password, source)).await
}

fn is_wrong_password(response: &HttpResponse) -> bool {
    response.status() == StatusCode::UNAUTHORIZED
        && response.body().contains("Incorrect username or password.")
}

fn is_locked(response: &HttpResponse) -> bool {
    response.status() == StatusCode::TOO_MANY_REQUESTS
        && response.body().contains("Too many sign-in attempts")
}

/// The old code read the failure count, ran argon2, then recorded the failure: guesses
/// running in parallel (Lambda runs one container per concurrent request) all read the same
/// count, and each got its password checked. Now each attempt is counted before the check.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_guesses_get_at_most_the_limit_of_password_checks() {
    in_one_sign_in_window(60).await;
    let app = Arc::new(app_with_alice(MemoryStore::default()).await);
    let guesses = parallel_guesses(&app, 20, 20).await;
    assert_eq!(
        (guesses.checked, guesses.busy),
        (throttle::SOURCE_LIMIT as usize, 0)
    );
}

/// Issue 14.3, the same at scale on DynamoDB: 200 wrong guesses at once from one network
/// (at most 16 in flight: see `races.rs`) get exactly the limit of password checks, argon2
/// running only for an attempt that was counted. An attempt answered 503 on a busy machine
/// (its counting timed out) was not checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_200_parallel_guesses_on_dynamodb_exactly_the_limit_are_checked() {
    in_one_sign_in_window(60).await;
    let Some(tables) = common::fresh_tables() else {
        return;
    };
    let app = Arc::new(app_with_alice(DynamoStore::from_env(tables).await).await);
    let guesses = parallel_guesses(&app, 200, 16).await;
    let _ = writeln!(
        std::io::stderr(),
        "RACE sign-in: 200 wrong guesses at once from one network: {} password checks, {} refused unchecked, {} × 503",
        guesses.checked, guesses.locked, guesses.busy
    );
    assert!(guesses.checked <= throttle::SOURCE_LIMIT as usize);
    if guesses.busy == 0 {
        assert_eq!(guesses.checked, throttle::SOURCE_LIMIT as usize);
    }
}

/// How parallel guesses were answered.
struct Guesses {
    /// Wrong password: the password was checked.
    checked: usize,
    /// Refused unchecked: too many attempts.
    locked: usize,
    /// 503: storage busy, nothing checked.
    busy: usize,
}

/// Sends `guesses` wrong passwords at once from `ATTACKER`, at most `in_flight` at a time;
/// then asserts that the right password is refused unchecked too.
async fn parallel_guesses<S>(app: &Arc<App<S>>, guesses: usize, in_flight: usize) -> Guesses
where
    S: UserReader + SessionStore + ThrottleStore + AuthorizationReader + 'static,
{
    let limit = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let tasks: Vec<_> = (0..guesses)
        .map(|i| {
            let (app, limit) = (Arc::clone(app), Arc::clone(&limit));
            tokio::spawn(async move {
                let _permit = limit.acquire_owned().await;
                sign_in(&app, &format!("guess {i}"), ATTACKER).await
            })
        })
        .collect();
    let mut answered = Guesses {
        checked: 0,
        locked: 0,
        busy: 0,
    };
    for task in tasks {
        match task.await {
            Ok(response) if is_wrong_password(&response) => answered.checked += 1,
            Ok(response) if is_locked(&response) => answered.locked += 1,
            Ok(response) if response.status() == StatusCode::SERVICE_UNAVAILABLE => {
                answered.busy += 1
            }
            Ok(response) => panic!("unexpected answer {}", response.status()),
            Err(error) => panic!("{error}"),
        }
    }
    assert!(is_locked(&sign_in(app, PASSWORD, ATTACKER).await));
    answered
}

/// The old lock was per account: five wrong passwords from anyone locked the owner out for 15
/// minutes. Now the limit holds per account and source network.
#[tokio::test]
async fn the_owner_signs_in_from_elsewhere_while_an_attackers_address_is_locked() {
    in_one_sign_in_window(60).await;
    let app = app_with_alice(MemoryStore::default()).await;
    for _ in 0..throttle::SOURCE_LIMIT {
        assert!(is_wrong_password(&sign_in(&app, "guess", ATTACKER).await));
    }
    // The attacker's address is locked, even with the right password, unchecked.
    assert!(is_locked(&sign_in(&app, PASSWORD, ATTACKER).await));
    // The owner, elsewhere, signs in.
    let owner = sign_in(&app, PASSWORD, OWNER).await;
    assert_eq!(owner.status(), StatusCode::SEE_OTHER);
    let session_cookie = format!("{}=", session::cookie_name(&app.config));
    assert!(owner
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().is_ok_and(|c| c.starts_with(&session_cookie))));
    // ... which does not unlock the attacker's address.
    assert!(is_locked(&sign_in(&app, PASSWORD, ATTACKER).await));
}

#[tokio::test]
async fn a_successful_sign_in_clears_the_attempts_of_its_source() {
    in_one_sign_in_window(60).await;
    let app = app_with_alice(MemoryStore::default()).await;
    for _ in 1..throttle::SOURCE_LIMIT {
        assert!(is_wrong_password(&sign_in(&app, "typo", OWNER).await));
    }
    assert_eq!(
        sign_in(&app, PASSWORD, OWNER).await.status(),
        StatusCode::SEE_OTHER
    );
    let counters = SignInCounters::new("alice", Some(ip(OWNER)), now());
    assert_eq!(app.store.attempts(&counters.source).await.ok(), Some(0));
    // The failures still count towards the account's ceiling.
    assert_eq!(
        app.store.attempts(&counters.account).await.ok(),
        Some(throttle::SOURCE_LIMIT - 1)
    );
}

/// IPv6: a subscriber holds a whole /64, so its addresses share one limit.
#[tokio::test]
async fn the_addresses_of_one_ipv6_slash_64_share_a_limit() {
    in_one_sign_in_window(60).await;
    let app = app_with_alice(MemoryStore::default()).await;
    for i in 0..throttle::SOURCE_LIMIT {
        let source = format!("2001:db8:aaaa:bbbb::{:x}", i + 1);
        assert!(is_wrong_password(&sign_in(&app, "guess", &source).await));
    }
    assert!(is_locked(
        &sign_in(&app, PASSWORD, "2001:db8:aaaa:bbbb:ffff::1").await
    ));
    assert_eq!(
        sign_in(&app, PASSWORD, "2001:db8:aaaa:cccc::1")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

/// Above the account's ceiling of failures from every source, answers wait (100 ms per
/// failure above it, at most 1 s), the right password included, and nothing is refused.
#[tokio::test]
async fn failures_from_everywhere_slow_answers_but_never_refuse() {
    in_one_sign_in_window(60).await;
    let app = app_with_alice(MemoryStore::default()).await;
    let counters = SignInCounters::new("alice", Some(ip(OWNER)), now());
    for _ in 0..throttle::ACCOUNT_CEILING + 3 {
        let counted = app
            .store
            .count_attempt(&counters.account, None, counters.expires_at)
            .await;
        assert!(matches!(counted, Ok(Attempt::Counted(_))));
    }
    let started = Instant::now();
    let wrong = sign_in(&app, "guess", ATTACKER).await;
    assert!(is_wrong_password(&wrong), "slowed, not refused");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    let owner = sign_in(&app, PASSWORD, OWNER).await;
    assert_eq!(owner.status(), StatusCode::SEE_OTHER);
    // One more failure was counted meanwhile: 4 above the ceiling.
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(throttle::delay(u32::MAX), throttle::MAX_DELAY);
}

/// `requestContext.http.sourceIp` of API Gateway's event reaches the handler as a typed
/// address; the sample sign-in event comes from its documentation range.
#[test]
fn the_source_address_comes_from_the_api_gateway_event() {
    let event = include_str!("../../../events/login-submit.json");
    let request = match HttpApiEvent::from_json(event).map(HttpApiEvent::into_request) {
        Ok(Ok(request)) => request,
        other => panic!("invalid sample event: {other:?}"),
    };
    assert_eq!(request.source_ip, Some(ip(OWNER)));
    assert!(!format!("{request:?}").contains(OWNER), "not in Debug");
}

/// DynamoDB requests of a sign-in (counted against moto): a refused attempt costs one
/// write and no password check; a checked one adds the user and the account's failures
/// (read together) and then one write (a failure counted, or the session stored with the
/// source's attempts cleared, together).
#[tokio::test]
async fn sign_in_round_trips() {
    in_one_sign_in_window(60).await;
    let Some(tables) = common::fresh_tables() else {
        return;
    };
    let (store, trips) = DynamoStore::from_env_counted(tables).await;
    let app = app_with_alice(store).await;
    let counted = |response: HttpResponse, expected: StatusCode| {
        assert_eq!(response.status(), expected);
        let counts = trips.counts();
        trips.reset();
        (counts.round_trips, counts.read_units, counts.write_units)
    };
    trips.reset();
    let wrong = counted(
        sign_in(&app, "guess", OWNER).await,
        StatusCode::UNAUTHORIZED,
    );
    let right = counted(sign_in(&app, PASSWORD, OWNER).await, StatusCode::SEE_OTHER);
    for _ in 0..throttle::SOURCE_LIMIT {
        let _ = sign_in(&app, "guess", ATTACKER).await;
    }
    trips.reset();
    let locked = counted(
        sign_in(&app, PASSWORD, ATTACKER).await,
        StatusCode::TOO_MANY_REQUESTS,
    );
    // Units as DynamoDB reports them: the refused attempt's write fails its condition, and
    // DynamoDB reports no capacity with an error (it bills 1 write unit all the same).
    assert_eq!(
        (wrong, right, locked),
        ((4, 2.0, 2.0), (5, 2.0, 3.0), (1, 0.0, 0.0)),
        "wrong, right, locked: (round trips, read units, write units)"
    );
}
