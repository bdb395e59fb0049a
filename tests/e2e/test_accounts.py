"""Who may still get a code and a token, over HTTP (issue 12.2, 12.3, 12.8).

- a public client whose redirect URI is not HTTPS is asked for consent every time;
- `authctl session revoke --user` ends a user's sessions: the next authorization signs in again;
- `authctl user delete` ends the user's sessions, consents and refresh tokens.
"""
from urllib.parse import urlsplit

from conftest import (
    WITH_REFRESH, allowed_once, assert_error, authctl, authorize, callback_of, code_request,
    create_client, create_scope, create_user, decide, get_code, introspect, post_token,
    refresh_grant, sign_in_and_come_back, signed_in_agent, tokens_for,
)


def goes_to_login(response):
    return response.status_code == 302 and urlsplit(response.headers["location"]).path == "/login"


def test_a_public_loopback_client_is_asked_every_time_even_with_remembered_consent(base_url):
    scope, _ = create_scope()
    native = create_client(scope, flags=("--public",))
    user = create_user("native")
    agent = signed_in_agent(base_url, user)
    # The first authorization asks, and the user approves.
    get_code(base_url, native, user, scope, agent=agent)
    # The second asks again: an app that claimed the loopback port would otherwise get a
    # code silently (RFC 8252 8.6). The earlier grant is marked as such.
    params, _ = code_request(native, scope)
    page = authorize(agent, base_url, params)
    assert page.status_code == 200, page.text
    assert "already allowed" in page.text
    callback = callback_of(decide(agent, base_url, page, "approve"), 303)
    assert callback["state"] == params["state"] and "code" in callback


def test_a_confidential_client_keeps_the_silent_path(base_url):
    _, agent, params = allowed_once(base_url, "silent")
    callback = callback_of(authorize(agent, base_url, params), 302)
    assert "code" in callback


def test_authctl_session_revoke_signs_the_user_in_again(base_url):
    user, agent, params = allowed_once(base_url, "revoked")
    assert authorize(agent, base_url, params).status_code == 302

    ended = authctl("session", "revoke", "--user", user.username)
    assert ended == {"sessions_ended": user.username, "sub": user.sub}
    response = authorize(agent, base_url, params)
    assert goes_to_login(response), response.headers.get("location")
    # Signing in again starts a session that counts, with the consent as it was.
    back = sign_in_and_come_back(agent, base_url, user, response)
    assert "code" in callback_of(back, 302)

    missing = authctl("session", "revoke", "--user", "nobody-" + user.username, check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_authctl_user_delete_ends_sessions_consents_and_refresh_tokens(base_url):
    scope, _ = create_scope()
    client = create_client(scope, flags=WITH_REFRESH)
    user = create_user("deleted")
    agent = signed_in_agent(base_url, user)
    tokens = tokens_for(base_url, client, user, scope, agent=agent)
    params, _ = code_request(client, scope)
    assert authorize(agent, base_url, params).status_code == 302, "remembered consent"

    deleted = authctl("user", "delete", user.username)
    assert deleted["sub"] == user.sub
    assert deleted["consents_removed"] == 1
    assert deleted["refresh_families_revoked"] == 1

    # The session gets no code: it is sent to sign in, where the user no longer exists.
    response = authorize(agent, base_url, params)
    assert goes_to_login(response), response.headers.get("location")
    # The refresh token no longer rotates.
    assert_error(post_token(base_url, refresh_grant(tokens["refresh_token"]), client), 400,
                 "invalid_grant")
    assert introspect(base_url, client, tokens["refresh_token"]) == {"active": False}
    # And so does its access token: its grant was revoked (checklist 29).
    assert introspect(base_url, client, tokens["access_token"]) == {"active": False}
    # The consent is gone with the user.
    assert authctl("user", "show", user.username, check=False).returncode == 1
