"""Issue 14.1: every endpoint under DynamoDB's failures, injected between the functions and
the DynamoDB server by scripts/fault_proxy.py, so that the real SDK meets them with its
retries and timeouts (shared/src/store/dynamo/mod.rs).

For each endpoint and each persistent fault (every call throttled, failing with a 500,
conflicting, never answered, or its connection reset):
- the answer: `503 temporarily_unavailable` with `Retry-After` in JSON, a "try again" page
  (503, `Retry-After`), or RFC 6749's `temporarily_unavailable` redirect once the client and
  its redirect URI are known; always within a bounded time (the requests' own timeout, 15 s,
  would fail a hang; the SDK gives a call 2.5 s);
- the state: the tables hold none of the effect (read directly);
- the retry: the same request, sent again once the fault is gone, succeeds.

Faults that pass (one throttled, failed, reset or slow attempt) are retried by the SDK and
answered as if nothing happened. A transaction whose answer is lost is retried by the SDK with
the same ClientRequestToken, which DynamoDB (and scripts/dynamodb_server.py) answers
idempotently; when every answer is lost, the client's own retry is refused as a replay and
the grant written meanwhile is revoked.
"""
import base64
import hashlib
import os
from contextlib import contextmanager

import boto3
import pytest
import requests

from conftest import (WITH_REFRESH, authorize, callback_of, code_grant, code_request,
                      create_client, create_scope, create_user, decide, get_code, introspect,
                      login, post_token, refresh_grant, signed_in_agent)

PROXY = os.environ.get("AUTH_FAULT_PROXY")
PREFIX = os.environ.get("AUTH_TABLE_PREFIX")
BOUND = 15  # seconds: a request that has not answered by then hangs

pytestmark = pytest.mark.skipif(not PROXY, reason="scripts/test starts the fault proxy")

# Every call fails the same way, retries included.
PERSISTENT = ["throttle", "internal", "conflict", "timeout", "reset"]
# One attempt fails; the SDK's retry succeeds.
PASSING = ["throttle", "internal", "reset", "timeout", "slow"]


def rule(fault, **match):
    # A timeout holds the attempt past the SDK's attempt timeout (1 s), then lets go.
    delay = {"timeout": 3, "slow": 0.3}.get(fault)
    return dict({"fault": fault}, **({"delay": delay} if delay else {}), **match)


@contextmanager
def faults(*rules):
    response = requests.put(f"{PROXY}/__faults", json={"rules": list(rules)}, timeout=5)
    assert response.status_code == 200, response.text
    try:
        yield
        assert applied() > 0, "the fault was injected"
    finally:
        requests.delete(f"{PROXY}/__faults", timeout=5)


def applied():
    """How many calls the current rules failed."""
    rules = requests.get(f"{PROXY}/__faults", timeout=5).json()["rules"]
    return sum(rule["applied"] for rule in rules)


def table(name):
    return boto3.resource("dynamodb").Table(f"{PREFIX}-{name}")


def digest(secret):
    """The stored key of a secret: base64url(SHA-256), as shared/src/secret.rs hashes."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()).rstrip(b"=").decode()


def code_item(code):
    return table("codes").get_item(Key={"code_hash": digest(code)}, ConsistentRead=True).get("Item")


def refresh_item(refresh_token):
    return table("tokens").get_item(Key={"pk": f"rt#{digest(refresh_token)}"},
                                    ConsistentRead=True).get("Item")


def family_item(family_id):
    return table("tokens").get_item(Key={"pk": f"fam#{family_id}"}, ConsistentRead=True).get("Item")


def codes_of(client):
    items = table("codes").scan(ConsistentRead=True)["Items"]
    return [item for item in items if item.get("client_id") == client["client_id"]]


def consent_of(user, client):
    return table("consents").get_item(Key={"sub": user.sub, "client_id": client["client_id"]},
                                      ConsistentRead=True).get("Item")


def assert_busy_json(response):
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers.get("retry-after") == "1"
    assert response.headers.get("cache-control") == "no-store"
    assert response.json()["error"] == "temporarily_unavailable"


def assert_try_again_page(response):
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.headers.get("retry-after") == "1"
    assert response.headers["content-type"].startswith("text/html")
    assert "Please try again" in response.text


def assert_redirected_busy(response, status, state):
    callback = callback_of(response, status)
    assert callback["error"] == "temporarily_unavailable", callback
    assert callback["state"] == state


# --- the world each test starts from ----------------------------------------------------


@pytest.fixture(scope="module")
def scope():
    return create_scope("faults")[0]


@pytest.fixture(scope="module")
def client(scope):
    return create_client(scope, flags=WITH_REFRESH)


@pytest.fixture(scope="module")
def person():
    return create_user("faults")


@pytest.fixture(scope="module")
def browser(base_url, person, client, scope):
    """Signed in, and has approved `client` once: authorize answers with a code at once."""
    agent = signed_in_agent(base_url, person)
    get_code(base_url, client, person, scope, agent=agent)
    return agent


def fresh_tokens(base_url, client, person, scope, browser):
    code, verifier = get_code(base_url, client, person, scope, agent=browser)
    response = post_token(base_url, code_grant(code, verifier), client)
    assert response.status_code == 200, response.text
    return response.json()


def send(method, url, **kwargs):
    return requests.request(method, url, allow_redirects=False, timeout=BOUND, **kwargs)


# --- the JSON endpoints -------------------------------------------------------------------


@pytest.mark.parametrize("fault", PERSISTENT)
@pytest.mark.parametrize("path", ["/oauth/scopes", "/.well-known/oauth-authorization-server",
                                  "/.well-known/jwks.json"])
def test_a_catalogue_read_answers_503_then_serves(base_url, path, fault):
    with faults(rule(fault)):
        response = send("GET", f"{base_url}{path}")
    assert_busy_json(response)
    assert send("GET", f"{base_url}{path}").status_code == 200


# Every call fails, or only the transaction that writes (the reads before it succeed).
TARGETS = {"every-call": {}, "the-transaction": {"operation": "TransactWriteItems"}}


@pytest.mark.parametrize("fault", PERSISTENT)
@pytest.mark.parametrize("target", TARGETS)
def test_a_code_exchange_answers_503_spends_nothing_and_the_retry_succeeds(
        base_url, client, person, scope, browser, target, fault):
    code, verifier = get_code(base_url, client, person, scope, agent=browser)
    with faults(rule(fault, **TARGETS[target])):
        response = post_token(base_url, code_grant(code, verifier), client, timeout=BOUND)
    assert_busy_json(response)
    assert "redeemed_at" not in code_item(code), "the code is not spent"
    retry = post_token(base_url, code_grant(code, verifier), client)
    assert retry.status_code == 200, retry.text
    assert "redeemed_at" in code_item(code)


@pytest.mark.parametrize("fault", PERSISTENT)
@pytest.mark.parametrize("target", TARGETS)
def test_a_refresh_answers_503_spends_nothing_and_the_retry_succeeds(
        base_url, client, person, scope, browser, target, fault):
    tokens = fresh_tokens(base_url, client, person, scope, browser)
    presented = refresh_item(tokens["refresh_token"])
    with faults(rule(fault, **TARGETS[target])):
        response = post_token(base_url, refresh_grant(tokens["refresh_token"]), client,
                              timeout=BOUND)
    assert_busy_json(response)
    # All or nothing: the token is not spent and its family still points at it.
    assert refresh_item(tokens["refresh_token"]) == presented
    assert family_item(presented["family_id"])["current"] == digest(tokens["refresh_token"])
    retry = post_token(base_url, refresh_grant(tokens["refresh_token"]), client)
    assert retry.status_code == 200, retry.text
    assert "used_at" in refresh_item(tokens["refresh_token"])


@pytest.mark.parametrize("fault", PERSISTENT)
@pytest.mark.parametrize("target", {"every-call": {}, "the-write": {"operation": "UpdateItem"}})
def test_a_revocation_answers_503_and_the_retry_revokes(
        base_url, client, person, scope, browser, target, fault):
    tokens = fresh_tokens(base_url, client, person, scope, browser)
    match = {"operation": "UpdateItem"} if target == "the-write" else {}
    with faults(rule(fault, **match)):
        response = send("POST", f"{base_url}/oauth/revoke", data={"token": tokens["refresh_token"]},
                        auth=(client["client_id"], client["client_secret"]))
    assert_busy_json(response)
    assert not refresh_item(tokens["refresh_token"]).get("revoked"), "nothing revoked yet"
    retry = send("POST", f"{base_url}/oauth/revoke", data={"token": tokens["refresh_token"]},
                 auth=(client["client_id"], client["client_secret"]))
    assert retry.status_code == 200, retry.text
    assert introspect(base_url, client, tokens["refresh_token"]) == {"active": False}


@pytest.mark.parametrize("fault", PERSISTENT)
def test_introspection_and_userinfo_answer_503_then_serve(
        base_url, client, person, scope, browser, fault):
    tokens = fresh_tokens(base_url, client, person, scope, browser)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    with faults(rule(fault)):
        introspection = send("POST", f"{base_url}/oauth/introspect",
                             data={"token": tokens["access_token"]},
                             auth=(client["client_id"], client["client_secret"]))
        userinfo = send("GET", f"{base_url}/oauth/userinfo", headers=bearer)
    assert_busy_json(introspection)
    assert_busy_json(userinfo)
    assert introspect(base_url, client, tokens["access_token"])["active"] is True


# --- the pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", PERSISTENT)
def test_authorize_shows_try_again_then_issues_a_code(base_url, client, scope, browser, fault):
    params, _ = code_request(client, scope)
    with faults(rule(fault)):
        response = authorize(browser, base_url, params)
    assert_try_again_page(response)
    assert callback_of(authorize(browser, base_url, params), 302)["code"]


@pytest.mark.parametrize("fault", PERSISTENT)
def test_authorize_redirects_temporarily_unavailable_when_the_code_cannot_be_stored(
        base_url, client, scope, browser, fault):
    params, _ = code_request(client, scope)
    before = len(codes_of(client))
    with faults(rule(fault, operation="PutItem", table="-codes")):
        response = authorize(browser, base_url, params)
    assert_redirected_busy(response, 302, params["state"])
    assert len(codes_of(client)) == before, "no code stored"


@pytest.mark.parametrize("fault", PERSISTENT)
def test_consent_redirects_temporarily_unavailable_and_stores_nothing(
        base_url, person, scope, browser, fault):
    newcomer = create_client(scope)
    params, _ = code_request(newcomer, scope)
    consent_page = authorize(browser, base_url, params)
    assert consent_page.status_code == 200, consent_page.text
    with faults(rule(fault, operation="TransactWriteItems")):
        response = decide(browser, base_url, consent_page, "approve")
    assert_redirected_busy(response, 303, params["state"])
    assert consent_of(person, newcomer) is None and codes_of(newcomer) == [], "nothing stored"
    # The client starts again: the consent page again, and this time a code.
    again = authorize(browser, base_url, params)
    assert callback_of(decide(browser, base_url, again, "approve"), 303)["code"]


@pytest.mark.parametrize("fault", PERSISTENT)
def test_consent_shows_try_again_when_the_session_cannot_be_read(
        base_url, scope, browser, fault):
    newcomer = create_client(scope)
    params, _ = code_request(newcomer, scope)
    consent_page = authorize(browser, base_url, params)
    with faults(rule(fault)):
        response = decide(browser, base_url, consent_page, "approve")
    assert_try_again_page(response)
    assert callback_of(decide(browser, base_url, consent_page, "approve"), 303)["code"]


@pytest.mark.parametrize("fault", PERSISTENT)
def test_sign_in_shows_try_again_and_the_retry_signs_in(base_url, fault):
    person = create_user("faults-sign-in")
    agent = requests.Session()
    with faults(rule(fault)):
        response = login(agent, base_url, person.username, person.password)
    assert_try_again_page(response)
    retry = login(agent, base_url, person.username, person.password)
    assert retry.status_code == 303, retry.text


@pytest.mark.parametrize("fault", PERSISTENT)
@pytest.mark.parametrize("path", ["/login", "/oauth/logout", "/account"])
def test_a_page_that_reads_the_session_shows_try_again(base_url, browser, path, fault):
    with faults(rule(fault)):
        response = browser.get(f"{base_url}{path}", allow_redirects=False, timeout=BOUND)
    assert_try_again_page(response)
    assert browser.get(f"{base_url}{path}", allow_redirects=False, timeout=BOUND).status_code == 200


# --- faults that pass: the SDK retries, the client never knows --------------------------------


@pytest.mark.parametrize("fault", PASSING)
def test_one_failed_attempt_is_retried_by_the_sdk(base_url, client, person, scope, browser, fault):
    code, verifier = get_code(base_url, client, person, scope, agent=browser)
    with faults(rule(fault, times=1)):
        response = post_token(base_url, code_grant(code, verifier), client, timeout=BOUND)
        assert applied() == 1
    assert response.status_code == 200, response.text
    with faults(rule(fault, times=1)):
        refreshed = post_token(base_url, refresh_grant(response.json()["refresh_token"]), client,
                               timeout=BOUND)
    assert refreshed.status_code == 200, refreshed.text


# --- an answer lost after the write -----------------------------------------------------------


def test_a_redemption_whose_answer_is_lost_once_is_retried_idempotently(
        base_url, client, person, scope, browser):
    code, verifier = get_code(base_url, client, person, scope, agent=browser)
    with faults(rule("lost_answer", operation="TransactWriteItems", times=1)):
        response = post_token(base_url, code_grant(code, verifier), client, timeout=BOUND)
        assert applied() == 1
    assert response.status_code == 200, response.text
    grant = response.json()
    assert introspect(base_url, client, grant["access_token"])["active"] is True
    # Redeemed once: the code cannot be redeemed again.
    replay = post_token(base_url, code_grant(code, verifier), client)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_a_redemption_whose_every_answer_is_lost_is_not_redeemable_again(
        base_url, client, person, scope, browser):
    code, verifier = get_code(base_url, client, person, scope, agent=browser)
    with faults(rule("lost_answer", operation="TransactWriteItems")):
        response = post_token(base_url, code_grant(code, verifier), client, timeout=BOUND)
    assert_busy_json(response)
    written = code_item(code)
    assert "redeemed_at" in written, "the write was applied; only its answer was lost"
    # The client's retry is a replay: refused, and the grant written meanwhile is revoked,
    # so that no token of it is ever usable. The client can tell: invalid_grant, start again.
    retry = post_token(base_url, code_grant(code, verifier), client)
    assert retry.status_code == 400 and retry.json()["error"] == "invalid_grant", retry.text
    assert family_item(written["issued_family"]).get("revoked") is True


def test_a_code_whose_write_is_answered_too_late_is_still_issued(base_url, client, scope, browser):
    """The SDK retries a create whose answer was lost; the retry finds the very item it writes,
    which is success (a code's and a session's key is random: nobody else writes it)."""
    params, verifier = code_request(client, scope)
    with faults(rule("lost_answer", operation="PutItem", table="-codes", times=1)):
        response = authorize(browser, base_url, params)
        assert applied() == 1
    code = callback_of(response, 302)["code"]
    exchanged = post_token(base_url, code_grant(code, verifier), client)
    assert exchanged.status_code == 200, exchanged.text


def test_a_session_whose_write_is_answered_too_late_still_signs_in(base_url):
    person = create_user("faults-lost-session")
    agent = requests.Session()
    with faults(rule("lost_answer", table="-sessions", times=1)):
        response = login(agent, base_url, person.username, person.password)
    assert response.status_code == 303, response.text
    assert agent.get(f"{base_url}/account", allow_redirects=False, timeout=BOUND).status_code == 200


def test_a_refresh_whose_answer_is_lost_once_is_retried_idempotently(
        base_url, client, person, scope, browser):
    tokens = fresh_tokens(base_url, client, person, scope, browser)
    with faults(rule("lost_answer", operation="TransactWriteItems", times=1)):
        response = post_token(base_url, refresh_grant(tokens["refresh_token"]), client,
                              timeout=BOUND)
    assert response.status_code == 200, response.text
    rotated = response.json()
    family = family_item(refresh_item(tokens["refresh_token"])["family_id"])
    assert family["current"] == digest(rotated["refresh_token"]), "one successor, the one delivered"
    again = post_token(base_url, refresh_grant(rotated["refresh_token"]), client)
    assert again.status_code == 200, again.text
