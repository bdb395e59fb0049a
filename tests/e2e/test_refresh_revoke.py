"""Refresh tokens, revocation (RFC 7009), introspection (RFC 7662) and consent
revocation with authctl, over HTTP against the running stack."""
import pytest
import requests

from conftest import (REDIRECT_URI, TIMEOUT, authctl, authorize, code_request, create_client,
                      create_scope, create_user, get_code, signed_in_agent)

GRANTS = ("--grant", "authorization_code", "--grant", "refresh_token")


@pytest.fixture(scope="module")
def scopes():
    return [create_scope("rr-read")[0], create_scope("rr-write")[0]]


@pytest.fixture(scope="module")
def user():
    return create_user("rr")


@pytest.fixture(scope="module")
def client(scopes):
    return create_client(*scopes, flags=GRANTS)


def token(base_url, client, **form):
    return requests.post(f"{base_url}/oauth/token", data=form,
                         auth=(client["client_id"], client["client_secret"]), timeout=TIMEOUT)


def introspect(base_url, client, value):
    response = requests.post(f"{base_url}/oauth/introspect", data={"token": value},
                             auth=(client["client_id"], client["client_secret"]), timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def revoke(base_url, client, value):
    return requests.post(f"{base_url}/oauth/revoke", data={"token": value},
                         auth=(client["client_id"], client["client_secret"]), timeout=TIMEOUT)


def tokens_for(base_url, client, user, scope, agent=None):
    code, verifier = get_code(base_url, client, user.username, user.password, scope, agent=agent)
    response = token(base_url, client, grant_type="authorization_code", code=code,
                     redirect_uri=REDIRECT_URI, code_verifier=verifier)
    assert response.status_code == 200, response.text
    return response.json()


def test_refresh_rotates_and_reuse_revokes_the_family(base_url, client, user, scopes):
    """RFC 9700 4.14: rotation on every use; a used token revokes its whole family."""
    first = tokens_for(base_url, client, user, " ".join(scopes))
    second = token(base_url, client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second.get("token_type") == "Bearer"

    reused = token(base_url, client, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    after = token(base_url, client, grant_type="refresh_token", refresh_token=second["refresh_token"])
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant", "the family is revoked"
    assert introspect(base_url, client, second["refresh_token"]) == {"active": False}


def test_refresh_may_narrow_but_never_widen_the_scope(base_url, client, user, scopes):
    """RFC 6749 6: the new scope must not include any scope not originally granted."""
    first = tokens_for(base_url, client, user, scopes[0])
    wider = token(base_url, client, grant_type="refresh_token", refresh_token=first["refresh_token"],
                  scope=" ".join(scopes))
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    same = token(base_url, client, grant_type="refresh_token", refresh_token=first["refresh_token"],
                 scope=scopes[0])
    assert same.status_code == 200, "a refused widening does not spend the token"


def test_another_clients_refresh_token_is_invalid_grant(base_url, client, user, scopes):
    first = tokens_for(base_url, client, user, scopes[0])
    other = create_client(*scopes, flags=GRANTS)
    response = token(base_url, other, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


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
    other = create_client(*scopes, flags=GRANTS)
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
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_revoking_an_access_token_makes_it_inactive(base_url, client, user, scopes):
    """RFC 7009 2.1: the jti is deny-listed until the token would expire."""
    issued = tokens_for(base_url, client, user, scopes[0])
    response = revoke(base_url, client, issued["access_token"])
    assert response.status_code == 200
    assert introspect(base_url, client, issued["access_token"]) == {"active": False}


def test_revoking_a_refresh_token_revokes_its_family(base_url, client, user, scopes):
    issued = tokens_for(base_url, client, user, scopes[0])
    assert revoke(base_url, client, issued["refresh_token"]).status_code == 200
    response = token(base_url, client, grant_type="refresh_token", refresh_token=issued["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_revocation_of_unknown_or_foreign_tokens_is_200_and_changes_nothing(base_url, client, user, scopes):
    """RFC 7009 2.2: 200 for invalid tokens; a client cannot revoke another client's token."""
    issued = tokens_for(base_url, client, user, scopes[0])
    other = create_client(*scopes, flags=GRANTS)
    assert revoke(base_url, other, issued["refresh_token"]).status_code == 200
    assert revoke(base_url, other, issued["access_token"]).status_code == 200
    assert revoke(base_url, client, "unknown-token").status_code == 200
    assert introspect(base_url, client, issued["access_token"])["active"] is True
    assert introspect(base_url, client, issued["refresh_token"])["active"] is True


def test_revocation_needs_client_authentication(base_url, client):
    response = requests.post(f"{base_url}/oauth/revoke", data={"token": "x"},
                             auth=(client["client_id"], "wrong"), timeout=TIMEOUT)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_authctl_consent_revoke_revokes_refresh_tokens_and_asks_again(base_url, scopes):
    """Revoking consent removes it and the refresh tokens issued under it."""
    user = create_user("rr-consent")
    client = create_client(*scopes, flags=GRANTS)
    agent = signed_in_agent(base_url, user.username, user.password)
    issued = tokens_for(base_url, client, user, scopes[0], agent=agent)

    listed = authctl("consent", "list", "--user", user.username)
    assert [c["client_id"] for c in listed] == [client["client_id"]]
    revoked = authctl("consent", "revoke", "--user", user.username, "--client", client["client_id"])
    assert revoked["removed"] == 1 and revoked["refresh_families_revoked"] == 1

    response = token(base_url, client, grant_type="refresh_token", refresh_token=issued["refresh_token"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    params, _ = code_request(client, scopes[0])
    again = authorize(agent, base_url, params)
    assert again.status_code == 200 and "/oauth/consent" in again.text, "the next authorize asks again"
