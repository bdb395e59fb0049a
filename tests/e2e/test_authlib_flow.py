"""The whole code flow with a real OAuth client library (authlib), configured from
the metadata document alone (RFC 8414); a requests.Session plays the user's browser.
"""
import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import jwt
from authlib.oauth2.rfc6749.errors import MissingCodeException
from authlib.oauth2.rfc6749.parameters import parse_authorization_code_response
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from conftest import (
    REDIRECT_URI,
    TIMEOUT,
    WITH_REFRESH,
    create_client,
    create_scope,
    decide,
    query_of,
    sign_in_and_come_back,
)


@pytest.fixture(scope="module")
def scopes():
    return [create_scope("lib-a", "Read your library things")[0],
            create_scope("lib-b", "Change your library things")[0]]


def test_metadata_is_a_valid_rfc8414_document(base_url, metadata):
    """RFC 8414 3.2 (validated by authlib), RFC 9207 3, RFC 9700 2.1.1 (checklist 15, 16)."""
    AuthorizationServerMetadata(metadata).validate()
    assert metadata["issuer"] == base_url
    assert "S256" in metadata["code_challenge_methods_supported"]
    assert "plain" not in metadata["code_challenge_methods_supported"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert "code" in metadata["response_types_supported"]
    assert {"client_secret_basic", "client_secret_post", "none"} <= set(
        metadata["token_endpoint_auth_methods_supported"]
    )
    oidc = requests.get(f"{base_url}/.well-known/openid-configuration", timeout=TIMEOUT)
    assert oidc.status_code == 200 and oidc.json()["issuer"] == metadata["issuer"]


def authorization_request(oauth, metadata):
    """authlib's authorization URL with a fresh S256 verifier: (url, state, verifier)."""
    verifier = generate_token(64)
    url, state = oauth.create_authorization_url(metadata["authorization_endpoint"], code_verifier=verifier)
    return url, state, verifier


def browser_decides(base_url, user, authorization_url, decision="approve"):
    """The user agent: follows the authorization URL, signs in, approves (or denies); returns
    the callback URL."""
    browser = requests.Session()
    response = browser.get(authorization_url, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302, response.text
    page = sign_in_and_come_back(browser, base_url, user, response)
    assert page.status_code == 200, page.text
    callback = decide(browser, base_url, page, decision)
    assert callback.status_code == 303
    return callback.headers["location"]


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post", "none"])
def test_authlib_completes_the_code_flow_from_metadata_alone(base_url, metadata, jwks, scopes, user, auth_method):
    """RFC 6749 4.1 with RFC 7636 S256 and RFC 9207 iss, through authlib's OAuth2Session."""
    assert auth_method in metadata["token_endpoint_auth_methods_supported"]
    public = auth_method == "none"
    client = create_client(*scopes, flags=(("--public",) if public else ()) + WITH_REFRESH)
    scope = " ".join(scopes)
    oauth = OAuth2Session(
        client["client_id"],
        None if public else client["client_secret"],
        scope=scope,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
    )
    authorization_url, state, verifier = authorization_request(oauth, metadata)

    callback_url = browser_decides(base_url, user, authorization_url)
    assert callback_url.startswith(REDIRECT_URI + "?")
    callback = query_of(callback_url)
    assert callback["iss"] == metadata["issuer"], "RFC 9207 2.4: the client checks iss"
    assert callback["state"] == state

    tokens = oauth.fetch_token(
        metadata["token_endpoint"],
        authorization_response=callback_url,
        code_verifier=verifier,
        state=state,
    )
    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == set(scopes)
    assert tokens["expires_in"] > 0

    claims = jwt.decode(
        tokens["access_token"],
        jwks,
        claims_options={
            "iss": {"essential": True, "value": metadata["issuer"]},
            "aud": {"essential": True, "value": metadata["issuer"]},
            "exp": {"essential": True},
            "sub": {"essential": True, "value": user.sub},
        },
    )
    claims.validate(leeway=5)
    assert claims.header["typ"] == "at+jwt"
    assert claims["client_id"] == client["client_id"]
    assert set(claims["scope"].split()) == set(scopes)

    # Once more with the refresh token: it rotates (RFC 9700 4.14).
    refreshed = oauth.refresh_token(metadata["token_endpoint"], refresh_token=tokens["refresh_token"])
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]


def new_oauth_session(client, scope):
    return OAuth2Session(client["client_id"], client["client_secret"], scope=scope,
                         redirect_uri=REDIRECT_URI, code_challenge_method="S256")


def test_a_denied_request_reaches_the_client_as_access_denied(base_url, metadata, scopes, user):
    """RFC 6749 4.1.2.1: the callback carries error=access_denied, authlib's state and iss; no code."""
    oauth = new_oauth_session(create_client(*scopes), scopes[0])
    authorization_url, state, _ = authorization_request(oauth, metadata)
    callback_url = browser_decides(base_url, user, authorization_url, "deny")
    callback = query_of(callback_url)
    assert (callback["error"], callback["state"], callback["iss"]) == ("access_denied", state, metadata["issuer"])
    with pytest.raises(MissingCodeException):
        parse_authorization_code_response(callback_url, state=state)


def test_authlib_surfaces_a_replayed_code_as_invalid_grant(base_url, metadata, scopes, user):
    """RFC 6749 4.1.2 and 5.2: the error body is one a standard client library understands."""
    oauth = new_oauth_session(create_client(*scopes), scopes[1])
    authorization_url, state, verifier = authorization_request(oauth, metadata)
    callback_url = browser_decides(base_url, user, authorization_url)
    oauth.fetch_token(metadata["token_endpoint"], authorization_response=callback_url,
                      code_verifier=verifier, state=state)
    with pytest.raises(OAuthError) as raised:
        oauth.fetch_token(metadata["token_endpoint"], authorization_response=callback_url,
                          code_verifier=verifier, state=state)
    assert raised.value.error == "invalid_grant"
