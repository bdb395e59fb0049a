"""Sign-out (OpenID Connect RP-Initiated Logout 1.0) and the account page, over HTTP
(issue 13.6, 13.7).

- discovery names the `end_session_endpoint`;
- a valid `id_token_hint` naming the browser's session signs out at once and returns to the
  client's registered `post_logout_redirect_uri` with `state`; an expired hint counts;
- without a hint the user is asked first; the confirmation (session CSRF token) signs out;
- an unregistered address, or a hint of another client, is an error page: nothing happens;
- the account page lists the apps allowed; withdrawing one revokes its tokens; "Sign out
  everywhere" ends every session of the user.

The hints are ID tokens as the token endpoint signs them (RS256, `typ: JWT`, the published
key), minted here with the stack's key, read as the operator can.
"""
import base64
import hashlib
import os
import time
from html.parser import HTMLParser

import boto3
import pytest
import requests
from authlib.jose import jwt

from conftest import (
    TIMEOUT, WITH_REFRESH, authctl, create_client, create_scope, create_user, introspect,
    page_form, query_of, signed_in_agent, tokens_for, unique,
)

SIGNED_OUT = "http://127.0.0.1:8765/signed-out"


class _AccountForms(HTMLParser):
    """Every form posting to /account: its hidden fields and its button's text."""

    def __init__(self):
        super().__init__()
        self.forms, self._in_button = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("action") == "/account":
            self.forms.append({"fields": {}, "button": ""})
        elif self.forms and tag == "input" and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""
        elif self.forms and tag == "button":
            self._in_button = True

    def handle_endtag(self, tag):
        if tag == "button":
            self._in_button = False

    def handle_data(self, data):
        if self._in_button and self.forms:
            self.forms[-1]["button"] += data


def account_forms(html):
    parser = _AccountForms()
    parser.feed(html)
    return parser.forms


def session_cookie(agent):
    """The browser's session cookie `<sub>.<id>` (local stack: named `session`)."""
    return next(c.value for c in agent.cookies if c.name in ("session", "__Host-session"))


def sid_of(agent):
    """`session::sid`: base64url(SHA-256("sid-v1:" + the cookie's session id))."""
    session_id = session_cookie(agent).split(".", 1)[1]
    digest = hashlib.sha256(f"sid-v1:{session_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def signing_key():
    """A published key with its private half, read from the keys table as the operator can."""
    table = boto3.resource("dynamodb").Table(f"{os.environ['AUTH_TABLE_PREFIX']}-keys")
    items = [item for item in table.scan()["Items"] if item.get("private_pem")]
    assert items, "no signing key: authctl init makes one"
    item = max(items, key=lambda i: int(i["created_at"]))
    return item["kid"], item["private_pem"]


def id_token(signing_key, issuer, sub, aud, sid, exp=None):
    kid, pem = signing_key
    now = int(time.time())
    claims = {"iss": issuer, "sub": sub, "aud": aud, "exp": exp or now + 300, "iat": now,
              "auth_time": now, "sid": sid, "at_hash": "x"}
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    return jwt.encode(header, claims, pem).decode()


@pytest.fixture(scope="module")
def rp():
    """A relying party that registered where sign-out may send the browser back."""
    scope, _ = create_scope("rp")
    return create_client(scope, name=unique("Relying Party"),
                         flags=("--post-logout-redirect-uri", SIGNED_OUT))


def logout(agent, base_url, **params):
    return agent.get(f"{base_url}/oauth/logout", params=params, allow_redirects=False,
                     timeout=TIMEOUT)


def account(agent, base_url):
    return agent.get(f"{base_url}/account", allow_redirects=False, timeout=TIMEOUT)


def signed_in(agent, base_url):
    return account(agent, base_url).status_code == 200


def press_account_button(agent, base_url, action):
    """Posts the account page's form of this `action`; the answer, not followed."""
    form = next(f for f in account_forms(account(agent, base_url).text)
                if f["fields"].get("action") == action)
    return agent.post(f"{base_url}/account", data=form["fields"], allow_redirects=False,
                      timeout=TIMEOUT)


def test_discovery_names_the_end_session_endpoint(base_url, metadata):
    assert metadata["end_session_endpoint"] == f"{base_url}/oauth/logout"
    openid = requests.get(f"{base_url}/.well-known/openid-configuration", timeout=TIMEOUT).json()
    assert openid["end_session_endpoint"] == f"{base_url}/oauth/logout"


def test_authctl_registers_post_logout_redirect_uris_with_the_redirect_uri_rules(rp):
    assert rp["post_logout_redirect_uris"] == [SIGNED_OUT]
    refused = authctl("client", "update", rp["client_id"], "--post-logout-redirect-uri",
                      "http://evil.example/out", check=False)
    assert refused.returncode != 0
    assert "post-logout redirect URI" in refused.stderr


@pytest.mark.parametrize("expired", [False, True])
def test_a_trusted_hint_signs_out_and_returns_with_state(base_url, issuer, signing_key, rp, expired):
    user = create_user("logout")
    agent = signed_in_agent(base_url, user)
    exp = int(time.time()) - 3600 if expired else None
    hint = id_token(signing_key, issuer, user.sub, rp["client_id"], sid_of(agent), exp)
    state = "st/ate+1 ?&=ü"
    response = logout(agent, base_url, id_token_hint=hint, post_logout_redirect_uri=SIGNED_OUT,
                      state=state, ui_locales="de")
    assert response.status_code == 302, response.text
    assert response.headers["location"].split("?")[0] == SIGNED_OUT
    assert query_of(response.headers["location"]) == {"state": state}
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert not signed_in(agent, base_url)


def test_without_a_hint_the_user_is_asked_and_the_confirmation_signs_out(base_url, rp):
    user = create_user("logout-ask")
    agent = signed_in_agent(base_url, user)
    page = logout(agent, base_url, client_id=rp["client_id"], post_logout_redirect_uri=SIGNED_OUT,
                  state="xyz")
    assert page.status_code == 200, page.text
    assert "Sign out of Auth API?" in page.text and rp["name"] in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert signed_in(agent, base_url), "nothing happens before the user says so"
    fields = page_form(page.text, "/oauth/logout")["fields"]
    # Without the session's CSRF token the form is refused and nothing ends.
    forged = agent.post(f"{base_url}/oauth/logout", data={**fields, "csrf_token": "x" * 43},
                        allow_redirects=False, timeout=TIMEOUT)
    assert forged.status_code == 403
    assert signed_in(agent, base_url)
    response = agent.post(f"{base_url}/oauth/logout", data=fields, allow_redirects=False,
                          timeout=TIMEOUT)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{SIGNED_OUT}?state=xyz"
    assert not signed_in(agent, base_url)


def test_an_unregistered_address_or_another_clients_hint_changes_nothing(
        base_url, issuer, signing_key, rp):
    user = create_user("logout-refused")
    agent = signed_in_agent(base_url, user)
    hint = id_token(signing_key, issuer, user.sub, rp["client_id"], sid_of(agent))
    for params in (
        {"id_token_hint": hint, "post_logout_redirect_uri": "https://evil.example/"},
        {"client_id": rp["client_id"], "post_logout_redirect_uri": SIGNED_OUT + "/x"},
        {"id_token_hint": hint, "client_id": "demo-client-that-is-not-the-audience"},
        {"id_token_hint": id_token(signing_key, "https://evil.example", user.sub,
                                   rp["client_id"], sid_of(agent))},
    ):
        response = logout(agent, base_url, **params)
        assert response.status_code == 400, (params, response.text)
        assert "location" not in response.headers
        assert signed_in(agent, base_url), params


def test_the_account_page_withdraws_an_app_and_revokes_its_tokens(base_url):
    scope, description = create_scope("account", "Read your test notes")
    client = create_client(scope, name=unique("Notes App"), flags=WITH_REFRESH)
    user = create_user("account")
    agent = requests.Session()
    issued = tokens_for(base_url, client, user, scope, agent=agent)
    assert introspect(base_url, client, issued["access_token"])["active"] is True
    page = account(agent, base_url)
    assert page.status_code == 200, page.text
    assert user.username in page.text and client["name"] in page.text and description in page.text
    withdraw = next(f for f in account_forms(page.text)
                    if f["fields"].get("client_id") == client["client_id"])
    response = agent.post(f"{base_url}/account", data=withdraw["fields"], allow_redirects=False,
                          timeout=TIMEOUT)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{base_url}/account"
    assert introspect(base_url, client, issued["access_token"])["active"] is False
    assert introspect(base_url, client, issued["refresh_token"])["active"] is False
    assert client["name"] not in account(agent, base_url).text


def test_without_a_session_the_account_page_signs_in_first(base_url):
    response = account(requests.Session(), base_url)
    assert response.status_code == 302
    assert response.headers["location"] == f"{base_url}/login?return_to=%2Faccount"


def test_sign_out_everywhere_ends_every_session_of_the_user(base_url):
    user = create_user("everywhere")
    here, elsewhere = signed_in_agent(base_url, user), signed_in_agent(base_url, user)
    response = press_account_button(here, base_url, "sign_out_everywhere")
    assert response.status_code == 303
    assert response.headers["location"] == f"{base_url}/oauth/logout"
    assert not signed_in(here, base_url) and not signed_in(elsewhere, base_url)


def test_sign_out_on_the_account_page_ends_only_this_session(base_url):
    user = create_user("sign-out")
    here, elsewhere = signed_in_agent(base_url, user), signed_in_agent(base_url, user)
    response = press_account_button(here, base_url, "sign_out")
    assert response.status_code == 303
    signed_out = here.get(response.headers["location"], allow_redirects=False, timeout=TIMEOUT)
    assert signed_out.status_code == 200 and "You are signed out" in signed_out.text
    assert not signed_in(here, base_url) and signed_in(elsewhere, base_url)
