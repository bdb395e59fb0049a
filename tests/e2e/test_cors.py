"""CORS over HTTP against the local stack (issue 15.1), the headers a browser reads: token and
revoke answer the origins their client registered (the redirect URIs' and `--web-origin`) and
refuse any other before anything is done; UserInfo, metadata and JWKS answer every origin;
preflights come from the functions; the pages answer none. tests/js/spa.test.mjs runs a
browser app across origins in Chromium."""
import pytest
import requests

from conftest import (REDIRECT_URI, TIMEOUT, assert_error, authctl, code_grant, create_scope,
                      create_user, get_code, post_token, refresh_grant, unique)

APP_ORIGIN = "http://127.0.0.1:8765"  # REDIRECT_URI's origin
EVIL_ORIGIN = "https://evil.example"
CDN_ORIGIN = "https://cdn.example"


@pytest.fixture(scope="module")
def spa():
    """A public client at REDIRECT_URI's origin, also served from CDN_ORIGIN."""
    scope, _ = create_scope("cors")
    client = authctl("client", "create", "--public", "--name", unique("SPA"),
                     "--redirect-uri", REDIRECT_URI, "--scope", scope, "--web-origin", CDN_ORIGIN,
                     "--grant", "authorization_code", "--grant", "refresh_token")
    return client, scope, create_user("cors")


def public_exchange(base_url, client, code, verifier, origin):
    data = {**code_grant(code, verifier), "client_id": client["client_id"]}
    return post_token(base_url, data, headers={"Origin": origin})


@pytest.mark.parametrize("origin", [APP_ORIGIN, CDN_ORIGIN])
def test_a_registered_origin_reads_the_tokens_and_the_refresh(base_url, spa, origin):
    client, scope, user = spa
    code, verifier = get_code(base_url, client, user, scope)
    response = public_exchange(base_url, client, code, verifier, origin)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == origin
    assert "origin" in response.headers["vary"].lower()
    assert "access-control-allow-credentials" not in response.headers
    refreshed = post_token(base_url, {**refresh_grant(response.json()["refresh_token"]),
                                      "client_id": client["client_id"]},
                           headers={"Origin": origin})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize("origin", [EVIL_ORIGIN, "null", "http://127.0.0.1:8766",
                                    "http://localhost:8765"])
def test_an_unregistered_origin_is_refused_before_the_code_is_spent(base_url, spa, origin):
    client, scope, user = spa
    code, verifier = get_code(base_url, client, user, scope)
    refused = public_exchange(base_url, client, code, verifier, origin)
    assert_error(refused, 400, "invalid_request")
    assert refused.json()["error_description"] == \
        "this client has not registered the origin of the request"
    assert "access-control-allow-origin" not in refused.headers
    # Nothing was done: the code still works from the app's own origin.
    redeemed = public_exchange(base_url, client, code, verifier, APP_ORIGIN)
    assert redeemed.status_code == 200, redeemed.text


def test_revoke_answers_the_clients_origins_only(base_url, spa):
    client, _, _ = spa

    def revoke_from(origin):
        return requests.post(f"{base_url}/oauth/revoke", timeout=TIMEOUT, headers={"Origin": origin},
                             data={"token": "not-a-token", "client_id": client["client_id"]})

    allowed = revoke_from(APP_ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    refused = revoke_from(EVIL_ORIGIN)
    assert_error(refused, 400, "invalid_request")
    assert "access-control-allow-origin" not in refused.headers


def test_an_answer_before_the_client_is_known_names_no_origin(base_url):
    for data in ({"grant_type": "refresh_token", "refresh_token": "x", "client_id": "nobody"},
                 {"grant_type": "refresh_token", "refresh_token": "x"}):
        response = post_token(base_url, data, headers={"Origin": APP_ORIGIN})
        assert response.status_code in (400, 401)
        assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("path,methods,allowed", [
    ("/oauth/token", "POST", EVIL_ORIGIN),
    ("/oauth/revoke", "POST", EVIL_ORIGIN),
    ("/oauth/userinfo", "GET, POST", "*"),
])
def test_preflights(base_url, path, methods, allowed):
    response = requests.options(f"{base_url}{path}", timeout=TIMEOUT, headers={
        "Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert response.status_code == 204, response.text
    assert response.headers["access-control-allow-origin"] == allowed
    assert response.headers["access-control-allow-methods"] == methods
    assert response.headers["access-control-allow-headers"] == "authorization, content-type"
    assert response.headers["access-control-max-age"] == "7200"
    assert "access-control-allow-credentials" not in response.headers


def test_public_documents_and_userinfo_answer_every_origin(base_url, metadata):
    for url in (f"{base_url}/.well-known/openid-configuration",
                f"{base_url}/.well-known/oauth-authorization-server", metadata["jwks_uri"]):
        response = requests.get(url, timeout=TIMEOUT, headers={"Origin": EVIL_ORIGIN})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*", url
    userinfo = requests.get(metadata["userinfo_endpoint"], timeout=TIMEOUT,
                            headers={"Origin": EVIL_ORIGIN, "Authorization": "Bearer x.y.z"})
    assert userinfo.status_code == 401
    assert userinfo.headers["access-control-allow-origin"] == "*"
    assert userinfo.headers["access-control-expose-headers"] == "www-authenticate"


@pytest.mark.parametrize("method,path", [("GET", "/login"), ("GET", "/oauth/authorize"),
                                         ("POST", "/oauth/consent"), ("GET", "/oauth/logout"),
                                         ("GET", "/account"), ("POST", "/oauth/introspect")])
def test_pages_and_introspection_answer_no_origin(base_url, method, path):
    response = requests.request(method, f"{base_url}{path}", timeout=TIMEOUT,
                                allow_redirects=False, headers={"Origin": APP_ORIGIN})
    assert "access-control-allow-origin" not in response.headers, path
    preflight = requests.options(f"{base_url}{path}", timeout=TIMEOUT, headers={
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": method})
    assert "access-control-allow-origin" not in preflight.headers, path
