"""Sign-in throttling over HTTP (issue 12.1, checklist 27).

The old lock read the failure count, checked the password (argon2, tens of milliseconds)
and only then recorded the failure, so guesses sent in parallel (Lambda runs a container
per concurrent request; scripts/test serves the functions with `cargo lambda watch
--concurrency 4`) all passed the check. Each attempt is now counted before the password is
checked, in one conditional write: of 20 parallel wrong guesses exactly 5 get their password
checked (401), the others are refused unchecked (429).

Every request of these tests comes from 127.0.0.1 (`cargo lambda watch` puts that address
in `requestContext.http.sourceIp`), so that the owner signing in from another address is
proven at the handler (`shared/tests/login_throttle.rs`).
"""
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from conftest import create_user, in_one_sign_in_window, login, login_form, post_login

LIMIT = 5
PARALLEL = 20


def test_parallel_wrong_guesses_get_at_most_five_password_checks(base_url):
    in_one_sign_in_window()
    user = create_user("login-race")
    # Each guess is its own browser, with its form and CSRF cookie, ready before any is sent.
    prepared = []
    for i in range(PARALLEL):
        agent = requests.Session()
        _, fields = login_form(agent, base_url)
        fields.update(username=user.username, password=f"wrong-{i}")
        prepared.append((agent, fields))
    start = threading.Barrier(PARALLEL)

    def guess(browser):
        agent, fields = browser
        start.wait()
        return post_login(agent, base_url, fields)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        responses = list(pool.map(guess, prepared))

    checked = [r for r in responses if r.status_code == 401]
    refused = [r for r in responses if r.status_code == 429]
    assert (len(checked), len(refused)) == (LIMIT, PARALLEL - LIMIT), \
        sorted(r.status_code for r in responses)
    assert all("Incorrect username or password" in r.text for r in checked)
    assert all("Too many sign-in attempts" in r.text for r in refused)
    assert all("location" not in r.headers for r in responses)

    # From this address the account stays locked, even for the right password.
    agent = requests.Session()
    response = login(agent, base_url, user.username, user.password, "/oauth/scopes")
    assert response.status_code == 429
    assert 1 <= int(response.headers["retry-after"]) <= 15 * 60
    assert "session" not in agent.cookies


def test_a_successful_sign_in_clears_the_attempts_of_its_address(base_url):
    in_one_sign_in_window()
    user = create_user("login-clear")
    for _ in range(LIMIT - 1):
        assert login(requests.Session(), base_url, user.username, "typo").status_code == 401
    assert login(requests.Session(), base_url, user.username, user.password).status_code == 303
    # A fresh start: five more attempts before the address is locked.
    for _ in range(LIMIT):
        assert login(requests.Session(), base_url, user.username, "typo").status_code == 401
    assert login(requests.Session(), base_url, user.username, user.password).status_code == 429
