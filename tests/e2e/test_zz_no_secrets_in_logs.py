"""Checklist 24: no secret value (password, code, verifier, token, client secret, session
cookie) reaches a log line or an error body. Runs last (file name) so that the log holds
every function's output of the whole run, then drives one flow of its own whose secrets
it knows, failures included, and searches the stack's log for them."""
import os
import time

import requests

from conftest import (TIMEOUT, create_client, create_scope, create_user, get_code, login,
                      signed_in_agent)

LOG = os.environ.get("AUTH_STACK_LOG")


def test_no_secret_reaches_a_log_line_or_an_error_body(base_url):
    assert LOG and os.path.exists(LOG), "scripts/test sets AUTH_STACK_LOG to the stack's log"
    scope, _ = create_scope("logs")
    client = create_client(scope, flags=("--grant", "authorization_code", "--grant", "refresh_token"))
    user = create_user("logs")
    secret = client["client_secret"]
    auth = (client["client_id"], secret)
    bodies = []

    # A wrong password first (a failure path that logs), then the real flow.
    bodies.append(login(requests.Session(), base_url, user.username, user.password + "x").text)
    agent = signed_in_agent(base_url, user.username, user.password)
    session_cookie = next(c.value for c in agent.cookies if "session" in c.name and "csrf" not in c.name)
    code, verifier = get_code(base_url, client, user.username, user.password, scope, agent=agent)
    token_request = {"grant_type": "authorization_code", "code": code,
                     "redirect_uri": "http://127.0.0.1:8765/callback", "code_verifier": verifier}
    tokens = requests.post(f"{base_url}/oauth/token", data=token_request, auth=auth, timeout=TIMEOUT).json()
    # A refresh, then failure paths: refresh reuse, a code replay, a wrong secret; a revocation.
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    rotated = requests.post(f"{base_url}/oauth/token", data=refresh, auth=auth, timeout=TIMEOUT).json()
    assert "access_token" in rotated, rotated
    requests.post(f"{base_url}/oauth/revoke", data={"token": rotated["access_token"]}, auth=auth, timeout=TIMEOUT)
    bodies.append(requests.post(f"{base_url}/oauth/token", data=refresh, auth=auth, timeout=TIMEOUT).text)
    bodies.append(requests.post(f"{base_url}/oauth/token", data=token_request, auth=auth, timeout=TIMEOUT).text)
    bodies.append(requests.post(f"{base_url}/oauth/token", data=token_request,
                                auth=(client["client_id"], secret[:-2] + "xx"), timeout=TIMEOUT).text)

    secrets_used = {
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
