"""UserInfo over HTTP (issue 13.4, OpenID Connect Core 5.3, RFC 6750): an access token from
the real code flow with `openid profile email`, presented as RFC 6750 allows, answers the
claims that authctl set; every refusal carries its `WWW-Authenticate: Bearer` challenge.
"""
import time

import pytest
import requests

from conftest import (
    TIMEOUT, WITH_REFRESH, authctl, create_client, create_user, revoke, tokens_for,
)

OIDC = "openid profile email"


@pytest.fixture(scope="module")
def person():
    """A user with the profile claims an operator sets (`authctl user update`)."""
    user = create_user("userinfo")
    authctl("user", "update", user.username, "--name", "Ada Lovelace", "--given-name", "Ada",
            "--family-name", "Lovelace", "--email", "ada@example.com", "--email-verified", "true",
            "--locale", "en-GB")
    return user


@pytest.fixture(scope="module")
def rp():
    """A relying party allowed the OpenID Connect scopes, with refresh tokens."""
    return create_client("openid", "profile", "email", flags=WITH_REFRESH)


@pytest.fixture(scope="module")
def tokens(base_url, rp, person):
    return tokens_for(base_url, rp, person, OIDC)


def userinfo_url(base_url):
    return f"{base_url}/oauth/userinfo"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_claims(response, person):
    """Core 5.3.2: 200, JSON, never cached; `sub` is the user's; the claims authctl set."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    claims = response.json()
    assert claims["sub"] == person.sub
    assert {k: claims[k] for k in ("name", "given_name", "family_name", "email", "locale")} == {
        "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
        "email": "ada@example.com", "locale": "en-GB",
    }
    assert claims["email_verified"] is True
    assert isinstance(claims["updated_at"], int) and claims["updated_at"] <= time.time() + 5
    return claims


def assert_challenge(response, status, error):
    """RFC 6750 3.1: the status, and `error` in both the challenge and the body (none at all
    when no token came)."""
    assert response.status_code == status, response.text
    challenge = response.headers["www-authenticate"]
    if error is None:
        assert challenge == "Bearer"
        assert "error" not in response.json()
    else:
        assert challenge.startswith(f'Bearer error="{error}", error_description="'), challenge
        assert response.json()["error"] == error
    assert "Ada" not in response.text
    return challenge


def test_discovery_names_the_userinfo_endpoint_and_its_claims(base_url):
    document = requests.get(f"{base_url}/.well-known/openid-configuration", timeout=TIMEOUT).json()
    assert document["userinfo_endpoint"] == userinfo_url(base_url)
    for claim in ("sub", "name", "given_name", "family_name", "preferred_username", "picture",
                  "locale", "updated_at", "email", "email_verified"):
        assert claim in document["claims_supported"], claim


def test_userinfo_get_with_the_bearer_header(base_url, tokens, person):
    response = requests.get(userinfo_url(base_url), headers=bearer(tokens["access_token"]),
                            timeout=TIMEOUT)
    assert_claims(response, person)


def test_userinfo_post_with_the_bearer_header(base_url, tokens, person):
    response = requests.post(userinfo_url(base_url), headers=bearer(tokens["access_token"]),
                             timeout=TIMEOUT)
    assert_claims(response, person)


def test_userinfo_post_with_the_token_in_the_form_body(base_url, tokens, person):
    response = requests.post(userinfo_url(base_url), data={"access_token": tokens["access_token"]},
                             timeout=TIMEOUT)
    assert_claims(response, person)


def test_claims_follow_the_granted_scopes(base_url, rp, person):
    for scope, expected in [
        ("openid", {"sub"}),
        ("openid email", {"sub", "email", "email_verified"}),
        ("openid profile", {"sub", "name", "given_name", "family_name", "locale", "updated_at"}),
    ]:
        token = tokens_for(base_url, rp, person, scope)["access_token"]
        response = requests.get(userinfo_url(base_url), headers=bearer(token), timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        assert set(response.json()) == expected, (scope, response.json())


def test_a_profile_change_shows_at_once(base_url, rp):
    user = create_user("userinfo-change")
    token = tokens_for(base_url, rp, user, OIDC)["access_token"]
    before = requests.get(userinfo_url(base_url), headers=bearer(token), timeout=TIMEOUT).json()
    assert set(before) == {"sub", "updated_at"}, before
    authctl("user", "update", user.username, "--preferred-username", "changed")
    after = requests.get(userinfo_url(base_url), headers=bearer(token), timeout=TIMEOUT).json()
    assert after["preferred_username"] == "changed"
    assert after["updated_at"] >= before["updated_at"]


def test_no_token_is_401_with_a_bare_bearer_challenge(base_url):
    for response in [
        requests.get(userinfo_url(base_url), timeout=TIMEOUT),
        requests.post(userinfo_url(base_url), timeout=TIMEOUT),
        requests.get(userinfo_url(base_url), auth=("user", "password"), timeout=TIMEOUT),
    ]:
        assert_challenge(response, 401, None)


def test_an_invalid_token_is_401_invalid_token(base_url, tokens):
    access_token = tokens["access_token"]
    header, claims, signature = access_token.split(".")
    tampered = f"{header}.{claims}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    for token in ["not-a-token", tampered, tokens["refresh_token"]]:
        response = requests.get(userinfo_url(base_url), headers=bearer(token), timeout=TIMEOUT)
        assert_challenge(response, 401, "invalid_token")


def test_a_token_without_openid_is_403_insufficient_scope(base_url, rp, person):
    token = tokens_for(base_url, rp, person, "profile email")["access_token"]
    response = requests.get(userinfo_url(base_url), headers=bearer(token), timeout=TIMEOUT)
    challenge = assert_challenge(response, 403, "insufficient_scope")
    assert challenge.endswith(', scope="openid"'), challenge


def test_a_token_in_the_query_is_refused_and_two_methods_are_invalid_request(base_url, tokens):
    token = tokens["access_token"]
    in_query = requests.get(userinfo_url(base_url), params={"access_token": token},
                            timeout=TIMEOUT)
    assert_challenge(in_query, 400, "invalid_request")
    both = requests.post(userinfo_url(base_url), headers=bearer(token),
                         data={"access_token": token}, timeout=TIMEOUT)
    assert_challenge(both, 400, "invalid_request")


def test_revoking_the_grant_ends_userinfo(base_url, rp, person):
    issued = tokens_for(base_url, rp, person, OIDC)
    url, headers = userinfo_url(base_url), bearer(issued["access_token"])
    assert requests.get(url, headers=headers, timeout=TIMEOUT).status_code == 200
    assert revoke(base_url, rp, issued["refresh_token"]).status_code == 200
    assert_challenge(requests.get(url, headers=headers, timeout=TIMEOUT), 401, "invalid_token")


def test_a_deleted_user_is_invalid_token(base_url, rp):
    user = create_user("userinfo-deleted")
    token = tokens_for(base_url, rp, user, OIDC)["access_token"]
    url = userinfo_url(base_url)
    assert requests.get(url, headers=bearer(token), timeout=TIMEOUT).status_code == 200
    authctl("user", "delete", user.username)
    assert_challenge(requests.get(url, headers=bearer(token), timeout=TIMEOUT), 401,
                     "invalid_token")
