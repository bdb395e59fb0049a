"""Refresh tokens, revocation (RFC 7009), introspection (RFC 7662) and consent
revocation with authctl, over HTTP against the running stack."""
import pytest
import requests

from conftest import (TIMEOUT, WITH_REFRESH, assert_error, authctl, authorize, code_request,
                      create_client, create_scope, create_user, introspect, post_token,
                      refresh_grant, revoke, signed_in_agent, tokens_for)


@pytest.fixture(scope="module")
def scopes():
    return [create_scope("rr-read")[0], create_scope("rr-write")[0]]


@pytest.fixture(scope="module")
def client(scopes):
    return create_client(*scopes, flags=WITH_REFRESH)


def refresh(base_url, client, refresh_token, **extra):
    """POST /oauth/token with grant_type=refresh_token, as `client` (client_secret_basic)."""
    return post_token(base_url, refresh_grant(refresh_token, **extra), client)


def test_refresh_rotates_and_reuse_revokes_the_family(base_url, client, user, scopes):
    """RFC 9700 4.14: rotation on every use; a used token revokes its whole family."""
    first = tokens_for(base_url, client, user, " ".join(scopes))
    second = refresh(base_url, client, first["refresh_token"])
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second.get("token_type") == "Bearer"

    reused = refresh(base_url, client, first["refresh_token"])
    assert_error(reused, 400, "invalid_grant")
    after = refresh(base_url, client, second["refresh_token"])
    assert_error(after, 400, "invalid_grant")  # the family is revoked
    assert introspect(base_url, client, second["refresh_token"]) == {"active": False}


def test_refresh_may_narrow_but_never_widen_the_scope(base_url, client, user, scopes):
    """RFC 6749 6: the new scope must not include any scope not originally granted."""
    first = tokens_for(base_url, client, user, scopes[0])
    wider = refresh(base_url, client, first["refresh_token"], scope=" ".join(scopes))
    assert_error(wider, 400, "invalid_scope")
    same = refresh(base_url, client, first["refresh_token"], scope=scopes[0])
    assert same.status_code == 200, "a refused widening does not spend the token"


def test_another_clients_refresh_token_is_invalid_grant(base_url, client, user, scopes):
    first = tokens_for(base_url, client, user, scopes[0])
    other = create_client(*scopes, flags=WITH_REFRESH)
    response = refresh(base_url, other, first["refresh_token"])
    assert_error(response, 400, "invalid_grant")


def test_introspection_reports_active_tokens_with_their_claims(base_url, client, user, scopes):
    """RFC 7662 2.2."""
    issued = tokens_for(base_url, client, user, scopes[0])
    access = introspect(base_url, client, issued["access_token"])
    assert access["active"] is True
    assert access["client_id"] == client["client_id"]
    assert access["sub"] == user.sub
    assert access["scope"] == scopes[0]
    assert access["token_type"] == "Bearer"
    assert access["exp"] > access["iat"]
    refresh = introspect(base_url, client, issued["refresh_token"])
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"


def test_introspection_answers_inactive_for_foreign_or_unknown_tokens(base_url, client, user, scopes):
    issued = tokens_for(base_url, client, user, scopes[0])
    other = create_client(*scopes, flags=WITH_REFRESH)
    assert introspect(base_url, other, issued["access_token"]) == {"active": False}
    assert introspect(base_url, client, "not-a-token") == {"active": False}
    assert introspect(base_url, client, "a.b.c") == {"active": False}


def test_a_resource_server_introspects_the_access_tokens_of_every_client(base_url, client, user, scopes):
    """RFC 7662 4: an API registered with `authctl client create --resource-server` checks the
    bearer tokens that client apps send it; their refresh tokens stay hidden from it."""
    issued = tokens_for(base_url, client, user, scopes[0])
    api = create_client(name="Orders API", redirect_uris=(), flags=("--resource-server",))
    assert api["resource_server"] is True and api["grant_types"] == []
    access = introspect(base_url, api, issued["access_token"])
    assert access["active"] is True
    assert access["client_id"] == client["client_id"] and access["sub"] == user.sub
    assert introspect(base_url, api, issued["refresh_token"]) == {"active": False}
    assert revoke(base_url, client, issued["access_token"]).status_code == 200
    assert introspect(base_url, api, issued["access_token"]) == {"active": False}


def test_introspection_needs_client_authentication(base_url, client):
    response = requests.post(f"{base_url}/oauth/introspect", data={"token": "x"}, timeout=TIMEOUT)
    assert_error(response, 401, "invalid_client")


def test_revoking_an_access_token_makes_it_inactive(base_url, client, user, scopes):
    """RFC 7009 2.1: the jti is deny-listed until the token would expire."""
    issued = tokens_for(base_url, client, user, scopes[0])
    response = revoke(base_url, client, issued["access_token"])
    assert response.status_code == 200
    assert introspect(base_url, client, issued["access_token"]) == {"active": False}


def test_revoking_a_refresh_token_revokes_its_family(base_url, client, user, scopes):
    issued = tokens_for(base_url, client, user, scopes[0])
    assert revoke(base_url, client, issued["refresh_token"]).status_code == 200
    response = refresh(base_url, client, issued["refresh_token"])
    assert_error(response, 400, "invalid_grant")


def test_revocation_of_unknown_or_foreign_tokens_is_200_and_changes_nothing(base_url, client, user, scopes):
    """RFC 7009 2.2: 200 for invalid tokens; a client cannot revoke another client's token."""
    issued = tokens_for(base_url, client, user, scopes[0])
    other = create_client(*scopes, flags=WITH_REFRESH)
    assert revoke(base_url, other, issued["refresh_token"]).status_code == 200
    assert revoke(base_url, other, issued["access_token"]).status_code == 200
    assert revoke(base_url, client, "unknown-token").status_code == 200
    assert introspect(base_url, client, issued["access_token"])["active"] is True
    assert introspect(base_url, client, issued["refresh_token"])["active"] is True


def test_revocation_needs_client_authentication(base_url, client):
    assert_error(revoke(base_url, client, "x", secret="wrong"), 401, "invalid_client")


def test_authctl_consent_revoke_revokes_refresh_tokens_and_asks_again(base_url, scopes):
    """Revoking consent removes it and the refresh tokens issued under it."""
    user = create_user("rr-consent")
    client = create_client(*scopes, flags=WITH_REFRESH)
    agent = signed_in_agent(base_url, user)
    issued = tokens_for(base_url, client, user, scopes[0], agent=agent)

    listed = authctl("consent", "list", "--user", user.username)
    assert [c["client_id"] for c in listed] == [client["client_id"]]
    revoked = authctl("consent", "revoke", "--user", user.username, "--client", client["client_id"])
    assert revoked["removed"] == 1 and revoked["refresh_families_revoked"] == 1

    response = refresh(base_url, client, issued["refresh_token"])
    assert_error(response, 400, "invalid_grant")
    params, _ = code_request(client, scopes[0])
    again = authorize(agent, base_url, params)
    assert again.status_code == 200 and "/oauth/consent" in again.text, "the next authorize asks again"
