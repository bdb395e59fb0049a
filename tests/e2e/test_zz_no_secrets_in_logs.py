"""Checklist 24: no secret value (password, code, verifier, token, client secret, session
cookie) reaches a log line or an error body. Runs last (file name) so that the log holds
every function's output of the whole run, then drives one flow of its own whose secrets
it knows, failures and DynamoDB faults included, and searches the stack's log for them."""
import os
import time

import requests

from conftest import (WITH_REFRESH, client_auth, code_grant, create_client, create_scope,
                      create_user, get_code, login, post_token, refresh_grant, revoke,
                      signed_in_agent)
from test_faults import PROXY, faults, rule

LOG = os.environ.get("AUTH_STACK_LOG")


def test_no_secret_reaches_a_log_line_or_an_error_body(base_url):
    assert LOG and os.path.exists(LOG), "scripts/test sets AUTH_STACK_LOG to the stack's log"
    scope, _ = create_scope("logs")
    client = create_client(scope, flags=WITH_REFRESH)
    user = create_user("logs")
    secret = client["client_secret"]
    bodies = []

    # A wrong password first (a failure path that logs), then the real flow.
    bodies.append(login(requests.Session(), base_url, user.username, user.password + "x").text)
    agent = signed_in_agent(base_url, user)
    session_cookie = next(c.value for c in agent.cookies if "session" in c.name and "csrf" not in c.name)
    code, verifier = get_code(base_url, client, user, scope, agent=agent)
    token_request = code_grant(code, verifier)
    tokens = post_token(base_url, token_request, client).json()
    # A refresh, then failure paths: refresh reuse, a code replay, a wrong secret; a revocation.
    refresh = refresh_grant(tokens["refresh_token"])
    rotated = post_token(base_url, refresh, client).json()
    assert "access_token" in rotated, rotated
    revoke(base_url, client, rotated["access_token"])
    bodies.append(post_token(base_url, refresh, client).text)
    bodies.append(post_token(base_url, token_request, client).text)
    bodies.append(post_token(base_url, token_request, auth=client_auth(client, secret[:-2] + "xx")).text)

    # The fault paths (issue 14.5): SDK errors are logged with their whole cause chain, so the
    # same secrets go through a throttled sign-in, a code exchange that fails on DynamoDB's side,
    # a refresh whose transaction conflicts and one whose answer is lost, then succeed.
    faulted_user = create_user("logs-faults")
    faulted_agent = requests.Session()
    if PROXY:
        with faults(rule("throttle")):
            bodies.append(login(faulted_agent, base_url, faulted_user.username, faulted_user.password).text)
    faulted_agent = signed_in_agent(base_url, faulted_user)
    faulted_code, faulted_verifier = get_code(base_url, client, faulted_user, scope, agent=faulted_agent)
    if PROXY:
        with faults(rule("internal")):
            bodies.append(post_token(base_url, code_grant(faulted_code, faulted_verifier), client).text)
    faulted = post_token(base_url, code_grant(faulted_code, faulted_verifier), client).json()
    if PROXY:
        with faults(rule("conflict", operation="TransactWriteItems")):
            bodies.append(post_token(base_url, refresh_grant(faulted["refresh_token"]), client).text)
        with faults(rule("lost_answer", operation="TransactWriteItems")):
            bodies.append(post_token(base_url, refresh_grant(faulted["refresh_token"]), client).text)

    secrets_used = {
        "password under faults": faulted_user.password,
        "code under faults": faulted_code,
        "code verifier under faults": faulted_verifier,
        "refresh token under faults": faulted["refresh_token"],
        "password": user.password,
        "client secret": secret,
        "code": code,
        "code verifier": verifier,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "rotated refresh token": rotated["refresh_token"],
        "session cookie": session_cookie.split(".")[-1],
    }
    time.sleep(1)  # let the log writer flush
    with open(LOG, encoding="utf-8", errors="replace") as f:
        log = f.read()
    assert "access token issued" in log, "the log holds the functions' output"
    for what, value in secrets_used.items():
        assert value not in log, f"the {what} appears in the log"
        for body in bodies:
            assert value not in body, f"the {what} appears in an error body"
