"""Grants over HTTP (issue 12.4, 12.5, 12.6 and the refresh checks of 12): every access
token names the grant its code started (claim `gid`), and introspection checks that grant,
so that revoking a refresh token, reusing one, replaying the code or withdrawing consent
ends the grant's access tokens too (RFC 7009 2.1); error descriptions never echo request
text (RFC 6749 4.1.2.1, 5.2); a refresh re-checks the client's current registration."""
import base64
import json
import re
import time
from urllib.parse import urlencode

import pytest
import requests

from conftest import (TIMEOUT, WITH_REFRESH, assert_error, authctl, code_grant, code_request,
                      create_client, create_scope, create_user, get_code, introspect,
                      post_token, query_of, refresh_grant, revoke, signed_in_agent, tokens_for)

# cache::CLIENT_CACHE_SECONDS: how long a warm container trusts a client record it read.
CLIENT_CACHE_SECONDS = 60
# RFC 6749 4.1.2.1, 5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
DESCRIPTION = re.compile(r"^[\x20\x21\x23-\x5b\x5d-\x7e]*$")
HOSTILE_NAME = 'x"\n<script>alert(1)</script>\\\u00e9\u202e' + "y" * 600


@pytest.fixture(scope="module")
def scopes():
    return [create_scope("gr-read")[0], create_scope("gr-write")[0]]


@pytest.fixture(scope="module")
def client(scopes):
    return create_client(*scopes, flags=WITH_REFRESH)


def refresh(base_url, client, refresh_token, **extra):
    response = post_token(base_url, refresh_grant(refresh_token, **extra), client)
    assert response.status_code == 200, response.text
    return response.json()


def active(base_url, client, issued):
    return introspect(base_url, client, issued["access_token"])["active"]


def claims_of(access_token):
    """The payload of a JWT, unverified (the tests of test_token.py verify signatures)."""
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_access_tokens_name_their_grant_beside_the_rfc_9068_claims(base_url, client, user, scopes):
    first = tokens_for(base_url, client, user, scopes[0])
    second = refresh(base_url, client, first["refresh_token"])
    claims, refreshed = claims_of(first["access_token"]), claims_of(second["access_token"])
    for name in ("iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"):
        assert name in claims, name
    assert claims["gid"] and claims["gid"] == refreshed["gid"], "a refresh stays in its grant"
    assert claims["jti"] != refreshed["jti"]


def test_revoking_a_refresh_token_ends_the_access_tokens_of_its_grant(base_url, client, user, scopes):
    """RFC 7009 2.1: before, both access tokens stayed active after the revocation."""
    first = tokens_for(base_url, client, user, scopes[0])
    second = refresh(base_url, client, first["refresh_token"])
    other = tokens_for(base_url, client, user, scopes[0])
    assert [active(base_url, client, t) for t in (first, second, other)] == [True, True, True]
    assert revoke(base_url, client, second["refresh_token"]).status_code == 200
    assert [active(base_url, client, t) for t in (first, second, other)] == [False, False, True]


def test_refresh_token_reuse_ends_the_access_tokens_of_its_grant(base_url, client, user, scopes):
    """RFC 9700 4.14: reuse revokes the grant, access tokens included."""
    first = tokens_for(base_url, client, user, scopes[0])
    second = refresh(base_url, client, first["refresh_token"])
    reuse = post_token(base_url, refresh_grant(first["refresh_token"]), client)
    assert_error(reuse, 400, "invalid_grant")
    assert [active(base_url, client, t) for t in (first, second)] == [False, False]


def test_a_code_replay_ends_the_access_tokens_of_every_refresh(base_url, client, user, scopes):
    """RFC 6749 4.1.2: before, only the first access token was revoked on a replay."""
    code, verifier = get_code(base_url, client, user, scopes[0])
    first = post_token(base_url, code_grant(code, verifier), client)
    assert first.status_code == 200, first.text
    first = first.json()
    second = refresh(base_url, client, first["refresh_token"])
    replay = post_token(base_url, code_grant(code, verifier), client)
    assert_error(replay, 400, "invalid_grant")
    assert [active(base_url, client, t) for t in (first, second)] == [False, False]
    assert_error(post_token(base_url, refresh_grant(second["refresh_token"]), client), 400, "invalid_grant")


def test_authctl_consent_revoke_ends_the_access_tokens_of_its_grants(base_url, scopes):
    """Also the grant of a client that gets no refresh token."""
    user = create_user("gr-consent")
    agent = signed_in_agent(base_url, user)
    with_refresh = create_client(*scopes, flags=WITH_REFRESH)
    without_refresh = create_client(*scopes)
    first = tokens_for(base_url, with_refresh, user, scopes[0], agent=agent)
    second = refresh(base_url, with_refresh, first["refresh_token"])
    only_access = tokens_for(base_url, without_refresh, user, scopes[0], agent=agent)
    assert "refresh_token" not in only_access

    revoked = authctl("consent", "revoke", "--user", user.username, "--client", with_refresh["client_id"])
    assert revoked["refresh_families_revoked"] == 1
    assert [active(base_url, with_refresh, t) for t in (first, second)] == [False, False]
    assert active(base_url, without_refresh, only_access), "another client's grant is untouched"

    revoked = authctl("consent", "revoke", "--user", user.username, "--client", without_refresh["client_id"])
    assert revoked["refresh_families_revoked"] == 1, "a grant without refresh tokens is revoked too"
    assert not active(base_url, without_refresh, only_access)


# --- issue 12.6: error descriptions are the server's own text ------------------------------


def assert_fixed_description(description):
    assert DESCRIPTION.match(description), repr(description)
    assert "<script" not in description and "yyyy" not in description, description


def test_a_repeated_parameter_with_a_hostile_name_is_not_echoed(base_url, client, scopes):
    """The name of a repeated parameter (quotes, newline, markup, backslash, Unicode, 600
    characters) goes neither into the error redirect of authorize nor into the JSON error of
    token."""
    params, _ = code_request(client, scopes[0])
    query = urlencode(list(params.items()) + [(HOSTILE_NAME, "1"), (HOSTILE_NAME, "2")])
    response = requests.get(f"{base_url}/oauth/authorize?{query}", allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    callback = query_of(location)
    assert callback["error"] == "invalid_request"
    assert_fixed_description(callback["error_description"])
    assert "<script" not in location and "%3Cscript" not in location and "yyyy" not in location

    form = [("grant_type", "authorization_code"), ("code", "x"), (HOSTILE_NAME, "1"), (HOSTILE_NAME, "2")]
    response = post_token(base_url, form, client)
    assert_error(response, 400, "invalid_request")
    assert_fixed_description(response.json()["error_description"])
    assert "<script" not in response.text and "\\n" not in response.text

    response = requests.post(f"{base_url}/oauth/introspect", data=[("token", "a"), (HOSTILE_NAME, "1"), (HOSTILE_NAME, "2")],
                             auth=(client["client_id"], client["client_secret"]), timeout=TIMEOUT)
    assert_error(response, 400, "invalid_request")
    assert_fixed_description(response.json()["error_description"])


# --- refresh re-checks the client's registration -------------------------------------------


def test_refresh_follows_the_clients_current_registration(base_url, user, scopes):
    """A scope the client may no longer use is dropped from a refreshed token (RFC 6749 3.3:
    the answer's `scope` says so); a client no longer allowed the refresh grant gets
    unauthorized_client; a deleted client invalid_client. A warm token function trusts a client
    record for CLIENT_CACHE_SECONDS, so the changes are checked once that has passed (one wait
    for the three)."""
    narrowed = create_client(*scopes, flags=WITH_REFRESH)
    no_refresh = create_client(*scopes, flags=WITH_REFRESH)
    deleted = create_client(*scopes, flags=WITH_REFRESH)
    issued = {c["client_id"]: tokens_for(base_url, c, user, " ".join(scopes)) for c in (narrowed, no_refresh, deleted)}
    assert issued[narrowed["client_id"]]["scope"].split() == sorted(scopes)

    authctl("client", "update", narrowed["client_id"], "--scope", scopes[0])
    authctl("client", "update", no_refresh["client_id"], "--grant", "authorization_code")
    authctl("client", "delete", deleted["client_id"])
    time.sleep(CLIENT_CACHE_SECONDS + 1)

    after = refresh(base_url, narrowed, issued[narrowed["client_id"]]["refresh_token"])
    assert after["scope"] == scopes[0]
    assert introspect(base_url, narrowed, after["access_token"])["scope"] == scopes[0]
    response = post_token(base_url, refresh_grant(issued[no_refresh["client_id"]]["refresh_token"]), no_refresh)
    assert_error(response, 400, "unauthorized_client")
    response = post_token(base_url, refresh_grant(issued[deleted["client_id"]]["refresh_token"]), deleted)
    assert_error(response, 401, "invalid_client")
