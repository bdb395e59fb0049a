"""The browser side over HTTP: GET/POST /login, GET /oauth/authorize, POST /oauth/consent.

A cookie-keeping `requests.Session` plays the browser; redirects are never followed
automatically, so every status and Location is checked as the server sent it.
"""
import http.client
import json
import os
import time
from urllib.parse import urlencode, urlsplit

import boto3
import pytest
import requests

from conftest import (
    REDIRECT_URI,
    TIMEOUT,
    authctl,
    in_one_sign_in_window,
    authorize,
    callback_of,
    code_request,
    create_client,
    create_scope,
    create_user,
    decide,
    follow,
    login,
    login_form,
    page_form,
    pkce_pair,
    post_login,
    query_of,
    return_to_of,
    sign_in,
    signed_in_agent,
    unique,
    without_query,
)

OTHER_REDIRECT_URI = "http://127.0.0.1:8766/other-callback"


# --- data, created once for this file ------------------------------------------------


@pytest.fixture(scope="module")
def scope_read():
    return create_scope("consent-read", "Read your e2e widgets")


@pytest.fixture(scope="module")
def scope_write():
    return create_scope("consent-write", "Change your e2e widgets & gadgets")


@pytest.fixture(scope="module")
def scope_elsewhere():
    """A scope that exists but that no client of this file may ask for."""
    return create_scope("consent-elsewhere", "Not for these clients")


@pytest.fixture(scope="module")
def new_client(scope_read, scope_write):
    """Makes a client allowed both scopes: tests that store a consent use their own."""

    def make(**kwargs):
        kwargs.setdefault("name", unique("Widget Viewer"))
        return create_client(scope_read[0], scope_write[0], **kwargs)

    return make


@pytest.fixture(scope="module")
def client(new_client):
    """A client no test approves, so its consent page always shows."""
    return new_client()


@pytest.fixture(scope="module")
def other_client(scope_read):
    """Another registered client, with another redirect URI."""
    return create_client(scope_read[0], redirect_uris=(OTHER_REDIRECT_URI,))


def consent_page(agent, base_url, client, scope, **extra):
    """GET /oauth/authorize for a signed-in agent; asserts the consent page and returns it."""
    params, _ = code_request(client, scope)
    params.update(extra)
    response = authorize(agent, base_url, params)
    assert response.status_code == 200, (response.status_code, response.headers.get("location"))
    return response, params


def assert_no_consent_stored(agent, base_url, client, scope):
    """Proof that nothing was granted: asking again shows the consent page, not a code."""
    consent_page(agent, base_url, client, scope)


def assert_error_page(response, status=400):
    """An HTML error page: never a redirect (RFC 6749 4.1.2.1)."""
    assert response.status_code == status
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "evil.example" not in response.text


def set_cookie_attributes(response, name):
    """The attributes of the Set-Cookie header for `name`, lower-cased, with its value."""
    headers = [h for h in response.raw.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.raw.headers.getlist("Set-Cookie")
    value, *attributes = [part.strip() for part in headers[0].split(";")]
    return value.split("=", 1)[1], {a.lower() for a in attributes}


# --- GET and POST /login ---------------------------------------------------------------


def test_login_form_carries_a_csrf_token_matching_its_cookie(base_url):
    """Login CSRF (RFC 6749 10.12): a double-submit token, hidden field and HttpOnly cookie."""
    agent = requests.Session()
    response, fields = login_form(agent, base_url, "/oauth/scopes")
    form = page_form(response.text, "/login")
    assert form["method"] == "post"
    assert {"username", "password", "csrf_token", "return_to"} <= set(fields)
    assert fields["return_to"] == "/oauth/scopes"
    token, attributes = set_cookie_attributes(response, "login_csrf")
    assert fields["csrf_token"] == token
    assert len(token) >= 43, "at least 128 bits"
    assert {"httponly", "samesite=lax", "path=/"} <= attributes


def test_login_sets_a_session_cookie_and_redirects_303_to_return_to(base_url):
    """RFC 9700 4.12: 303 after the credential POST; the session cookie is HttpOnly, SameSite=Lax, Path=/."""
    user = create_user("login-ok")
    agent = requests.Session()
    response = login(agent, base_url, user.username, user.password, "/oauth/scopes?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == f"{base_url}/oauth/scopes?x=1"
    assert response.headers["cache-control"] == "no-store"
    session_id, attributes = set_cookie_attributes(response, "session")
    assert len(session_id) >= 43, "at least 128 bits (RFC 6749 10.10)"
    assert {"httponly", "samesite=lax", "path=/"} <= attributes
    assert user.password not in response.headers.get("location", "")


@pytest.mark.parametrize("csrf_token", [None, "wrong-" + "x" * 37], ids=["missing", "wrong"])
def test_login_post_without_its_csrf_token_is_refused(base_url, csrf_token):
    """Login CSRF (RFC 6749 10.12): a POST whose token does not match the cookie starts no session."""
    user = create_user("login-csrf")
    agent = requests.Session()
    _, fields = login_form(agent, base_url)
    fields.update(username=user.username, password=user.password)
    if csrf_token is None:
        del fields["csrf_token"]
    else:
        fields["csrf_token"] = csrf_token
    response = post_login(agent, base_url, fields)
    assert response.status_code == 403
    assert "location" not in response.headers
    assert "session" not in response.cookies


def test_wrong_password_and_unknown_user_get_the_same_answer(base_url):
    """No account enumeration (RFC 6819 5.1.4.2.2): same status, same message."""
    user = create_user("login-enum")
    wrong_password = login(requests.Session(), base_url, user.username, "not-the-password")
    unknown_user = login(requests.Session(), base_url, unique("nobody"), "not-the-password")
    assert wrong_password.status_code == unknown_user.status_code == 401

    def alert(response):
        start = response.text.index('role="alert">')
        return response.text[start:response.text.index("</div>", start)]

    assert alert(wrong_password) == alert(unknown_user)
    assert "Incorrect username or password" in alert(wrong_password)
    assert "session" not in wrong_password.cookies and "session" not in unknown_user.cookies


def test_five_failures_from_one_address_lock_it_even_for_the_right_password(base_url):
    """Repeated failures are slowed or locked (RFC 6749 10.10, RFC 6819 5.1.4.2.3): per account
    and source address (issue 12.1; other addresses still sign in: test_login_throttle.py)."""
    in_one_sign_in_window()
    user = create_user("login-lock")
    for _ in range(5):
        assert login(requests.Session(), base_url, user.username, "wrong").status_code == 401
    agent = requests.Session()
    response = login(agent, base_url, user.username, user.password, "/oauth/scopes")
    assert response.status_code == 429
    assert "location" not in response.headers
    assert "session" not in agent.cookies


@pytest.mark.parametrize(
    "return_to",
    ["https://evil.example", "//evil.example", "/\\evil.example", "https://evil.example/oauth/authorize"],
    ids=["absolute-url", "scheme-relative", "backslash", "absolute-url-with-our-path"],
)
def test_return_to_outside_the_service_ends_at_its_own_login_page(base_url, return_to):
    """No open redirector after login (RFC 9700 4.11): only a relative path of this service."""
    user = create_user("login-redirect")
    agent = requests.Session()
    _, fields = login_form(agent, base_url, return_to)
    assert "evil.example" not in fields["return_to"], "the form must not carry it on"
    # A crafted POST that names the target itself gets no further.
    fields.update(username=user.username, password=user.password, return_to=return_to)
    response = post_login(agent, base_url, fields)
    assert response.status_code == 303
    assert response.headers["location"] == f"{base_url}/login"
    landing = follow(agent, response)
    assert landing.status_code == 200
    assert user.username in landing.text, "the signed-in page"


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_login_post_that_is_not_a_form_is_a_bad_request(base_url, content_type):
    """Checklist 25: a body of the wrong type is a 4xx and starts no session."""
    user = create_user("login-json")
    agent = requests.Session()
    _, fields = login_form(agent, base_url)
    fields.update(username=user.username, password=user.password)
    body = json.dumps(fields) if content_type == "application/json" else urlencode(fields)
    response = post_login(agent, base_url, body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert "session" not in agent.cookies


# --- GET /oauth/authorize without a session ---------------------------------------------


def test_authorize_without_session_redirects_302_to_login_with_a_relative_return_to(
    base_url, client, scope_read
):
    """Spec authorize step 3: 302 to /login?return_to=<this request, relative>."""
    params, _ = code_request(client, scope_read[0])
    response = authorize(requests.Session(), base_url, params)
    assert response.status_code == 302
    location = response.headers["location"]
    assert without_query(location) == f"{base_url}/login"
    return_to = return_to_of(response)
    assert return_to.startswith("/oauth/authorize?"), return_to
    assert query_of(return_to) == params


def test_a_forged_session_cookie_is_no_session(base_url, client, scope_read):
    """Session ids are random server-side secrets (RFC 6749 10.10): a made-up one signs no one in."""
    agent = requests.Session()
    agent.cookies.set("session", "A" * 43, domain=urlsplit(base_url).hostname, path="/")
    params, _ = code_request(client, scope_read[0])
    response = authorize(agent, base_url, params)
    assert response.status_code == 302
    assert without_query(response.headers["location"]) == f"{base_url}/login"


def test_signing_in_returns_to_the_authorization_request(base_url, client, scope_read):
    """The login round trip lands on the consent page of the original request."""
    user = create_user("roundtrip")
    agent = requests.Session()
    params, _ = code_request(client, scope_read[0])
    return_to = return_to_of(authorize(agent, base_url, params))
    response = sign_in(agent, base_url, user, return_to)
    assert response.headers["location"] == base_url + return_to
    page = follow(agent, response)
    assert page.status_code == 200
    assert page_form(page.text, "/oauth/consent")["fields"]["state"] == params["state"]


# --- the consent page ----------------------------------------------------------------


def test_consent_page_names_the_client_and_describes_each_scope(
    base_url, agent, client, scope_read, scope_write, user
):
    """Spec authorize step 5: client name, each scope with its description, Approve and Deny."""
    scopes = f"{scope_read[0]} {scope_write[0]}"
    page, params = consent_page(agent, base_url, client, scopes)
    assert page.headers["content-type"].startswith("text/html")
    assert client["name"] in page.text
    assert user.username in page.text
    assert scope_read[1] in page.text
    assert "Change your e2e widgets &amp; gadgets" in page.text, "descriptions are HTML-escaped"
    assert "already allowed" not in page.text
    form = page_form(page.text, "/oauth/consent")
    assert form["method"] == "post"
    assert set(form["buttons"]) == {("decision", "approve"), ("decision", "deny")}
    fields = form["fields"]
    assert fields["csrf_token"]
    for name in ("client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"):
        assert fields[name] == params[name]
    assert set(fields["scope"].split()) == set(scopes.split())


def test_consent_page_escapes_the_client_name(base_url, agent, scope_read):
    """The client name is operator data shown to users: it is HTML-escaped, never markup."""
    client = create_client(scope_read[0], name='<script>alert("x")</script> & Co')
    page, _ = consent_page(agent, base_url, client, scope_read[0])
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page.text


def html_pages():
    """Every kind of HTML page: (id, function that fetches it)."""
    return [
        ("login", lambda ctx: login_form(requests.Session(), ctx["base_url"])[0]),
        ("consent", lambda ctx: consent_page(ctx["agent"], ctx["base_url"], ctx["client"], ctx["scope"])[0]),
        ("authorize-error", lambda ctx: authorize(requests.Session(), ctx["base_url"], {"client_id": unique("nope")})),
        ("failed-login", lambda ctx: login(requests.Session(), ctx["base_url"], unique("nobody"), "x")),
    ]


@pytest.mark.parametrize("fetch", [f for _, f in html_pages()], ids=[i for i, _ in html_pages()])
def test_html_pages_cannot_be_framed_cached_or_leak_the_referrer(base_url, agent, client, scope_read, fetch):
    """RFC 9700 4.16 / RFC 6749 10.13 (no framing), RFC 6749 5.1 (no-store), spec: no referrer."""
    response = fetch({"base_url": base_url, "agent": agent, "client": client, "scope": scope_read[0]})
    assert response.headers["content-type"].startswith("text/html")
    csp = [d.strip() for d in response.headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


# --- approve and deny ------------------------------------------------------------------


def test_approve_redirects_303_with_code_state_and_iss(base_url, new_client, scope_read, user, issuer):
    """RFC 6749 4.1.2, RFC 9207 2, RFC 9700 4.12: 303 to the redirect URI with code, state, iss."""
    agent = signed_in_agent(base_url, user)
    page, params = consent_page(agent, base_url, new_client(), scope_read[0])
    callback = callback_of(decide(agent, base_url, page, "approve"), 303)
    assert set(callback) == {"code", "state", "iss"}
    assert callback["state"] == params["state"]
    assert callback["iss"] == issuer == base_url
    assert len(callback["code"]) >= 43, "at least 128 bits (RFC 6749 10.10)"


def odd_state(length):
    """A state of `length` characters: spaces, &, =, +, %, #, quotes, brackets, unicode, emoji."""
    alphabet = 'a b&c=d+e%20f/?#ü€😀\'"<>;\\'
    return (alphabet * (length // len(alphabet) + 1))[:length]


def test_state_is_echoed_exactly_through_login_and_consent(base_url, new_client, scope_read):
    """RFC 6749 4.1.2 / checklist 14: a 1200-character state of odd characters comes back unchanged."""
    user = create_user("state")
    state = odd_state(1200)
    agent = requests.Session()
    params, _ = code_request(new_client(), scope_read[0], state=state)
    return_to = return_to_of(authorize(agent, base_url, params))
    signed_in = sign_in(agent, base_url, user, return_to)
    assert signed_in.headers["location"] == base_url + return_to
    page = follow(agent, signed_in)
    assert page.status_code == 200
    assert callback_of(decide(agent, base_url, page, "approve"), 303)["state"] == state


def test_state_is_echoed_exactly_on_deny(base_url, agent, client, scope_read):
    """RFC 6749 4.1.2.1: the error response carries the exact state too."""
    state = odd_state(1500)
    page, _ = consent_page(agent, base_url, client, scope_read[0], state=state)
    assert callback_of(decide(agent, base_url, page, "deny"), 303)["state"] == state


def test_a_long_authorization_request_survives_the_login_round_trip(base_url, client, scope_read):
    """Checklist 14: state is echoed whatever its length within the request size limit (32 KiB);
    a 3000-character state makes a ~10 KiB query, and signing in must come back to it."""
    user = create_user("long-state")
    agent = requests.Session()
    params, _ = code_request(client, scope_read[0], state=odd_state(3000))
    response = authorize(agent, base_url, params)
    assert response.status_code == 302
    return_to = return_to_of(response)
    assert len(urlencode(params)) < 32 * 1024
    signed_in = sign_in(agent, base_url, user, return_to)
    assert signed_in.headers["location"] == base_url + return_to


def test_an_unknown_parameter_with_a_raw_backslash_survives_the_login_round_trip(base_url, client, scope_read):
    """RFC 6749 3.1 (unknown parameters are ignored): browsers send `\\` unescaped in a query
    (WHATWG URL); it must not stop the user from coming back to the request after signing in."""
    user = create_user("backslash")
    params, _ = code_request(client, scope_read[0])
    target = urlsplit(base_url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=TIMEOUT)
    connection.request("GET", "/oauth/authorize?" + urlencode(params) + "&utm_source=a\\b")
    response = connection.getresponse()
    connection.close()
    assert response.status == 302
    return_to = query_of(response.getheader("location"))["return_to"]
    assert return_to.endswith("&utm_source=a\\b"), return_to
    signed_in = sign_in(requests.Session(), base_url, user, return_to)
    assert signed_in.headers["location"] == base_url + return_to


def test_deny_redirects_303_with_access_denied_and_stores_nothing(
    base_url, agent, client, scope_read, issuer
):
    """RFC 6749 4.1.2.1: error=access_denied with state and iss, no code; nothing is stored."""
    page, params = consent_page(agent, base_url, client, scope_read[0])
    callback = callback_of(decide(agent, base_url, page, "deny"), 303)
    assert callback["error"] == "access_denied"
    assert callback["state"] == params["state"]
    assert callback["iss"] == issuer
    assert "code" not in callback
    assert_no_consent_stored(agent, base_url, client, scope_read[0])


def test_remembered_consent_issues_a_code_at_once_with_302(base_url, agent, new_client, scope_read, issuer):
    """Spec authorize step 4: a stored consent covering the scopes: 302 with code, state, iss."""
    client = new_client()
    page, _ = consent_page(agent, base_url, client, scope_read[0])
    assert decide(agent, base_url, page, "approve").status_code == 303
    params, _ = code_request(client, scope_read[0])
    callback = callback_of(authorize(agent, base_url, params), 302)
    assert set(callback) == {"code", "state", "iss"}
    assert callback["state"] == params["state"] and callback["iss"] == issuer


def test_a_new_scope_asks_again_and_marks_the_earlier_one_already_allowed(
    base_url, agent, new_client, scope_read, scope_write
):
    """Consent covers only what was granted; approving merges the grants."""
    client = new_client()
    page, _ = consent_page(agent, base_url, client, scope_read[0])
    assert decide(agent, base_url, page, "approve").status_code == 303

    both = f"{scope_read[0]} {scope_write[0]}"
    page, _ = consent_page(agent, base_url, client, both)
    items = page.text.split('<ul class="scopes">', 1)[1].split("</ul>", 1)[0].split("<li>")[1:]
    marks = {name: ("already allowed" in item) for item in items for name in (scope_read[0], scope_write[0]) if name in item}
    assert marks == {scope_read[0]: True, scope_write[0]: False}

    assert decide(agent, base_url, page, "approve").status_code == 303
    for scope in (both, scope_write[0], scope_read[0]):
        params, _ = code_request(client, scope)
        assert authorize(agent, base_url, params).status_code == 302, scope


def test_an_expired_consents_scopes_do_not_come_back_with_a_new_approval(
    base_url, user, agent, new_client, scope_read, scope_write
):
    """Approvals merge into a live consent only: a consent past its expiry that DynamoDB's TTL
    has not deleted yet (TTL deletion is late) is replaced, not merged."""
    client = new_client()
    consents = boto3.resource("dynamodb").Table(f"{os.environ['AUTH_TABLE_PREFIX']}-consents")
    consents.put_item(Item={"sub": user.sub, "client_id": client["client_id"],
                            "scopes": {scope_read[0]}, "expires_at": int(time.time()) - 60})
    page, _ = consent_page(agent, base_url, client, scope_write[0])
    assert decide(agent, base_url, page, "approve").status_code == 303
    stored = consents.get_item(Key={"sub": user.sub, "client_id": client["client_id"]},
                               ConsistentRead=True)["Item"]
    assert stored["scopes"] == {scope_write[0]}
    assert stored["expires_at"] > time.time()


# --- consent POST: CSRF and session -----------------------------------------------------


@pytest.mark.parametrize("csrf_token", [None, "A" * 43, "from-another-session"], ids=["missing", "wrong", "other-session"])
def test_consent_without_the_sessions_csrf_token_is_refused_and_grants_nothing(
    base_url, agent, client, scope_read, csrf_token
):
    """RFC 6749 10.12 / checklist 19: 403, nothing granted."""
    if csrf_token == "from-another-session":
        other = create_user("csrf-other")
        other_agent = signed_in_agent(base_url, other)
        other_page, _ = consent_page(other_agent, base_url, client, scope_read[0])
        csrf_token = page_form(other_page.text, "/oauth/consent")["fields"]["csrf_token"]
    page, _ = consent_page(agent, base_url, client, scope_read[0])
    response = decide(agent, base_url, page, "approve", csrf_token=csrf_token)
    assert response.status_code == 403
    assert "location" not in response.headers
    assert_no_consent_stored(agent, base_url, client, scope_read[0])


def test_consent_post_without_a_session_is_forbidden(base_url, agent, client, scope_read):
    """Spec consent: a valid session is needed (else 403, nothing changes)."""
    page, _ = consent_page(agent, base_url, client, scope_read[0])
    response = decide(requests.Session(), base_url, page, "approve")
    assert response.status_code == 403
    assert "location" not in response.headers
    assert_no_consent_stored(agent, base_url, client, scope_read[0])


def test_consent_post_that_is_not_a_form_is_a_bad_request(base_url, agent, client, scope_read):
    """Spec consent: an invalid body is a 400; checklist 25: nothing changes."""
    page, _ = consent_page(agent, base_url, client, scope_read[0])
    fields = dict(page_form(page.text, "/oauth/consent")["fields"], decision="approve")
    response = agent.post(f"{base_url}/oauth/consent", data=json.dumps(fields),
                          headers={"Content-Type": "application/json"}, allow_redirects=False,
                          timeout=TIMEOUT)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert_no_consent_stored(agent, base_url, client, scope_read[0])


# --- consent POST: hidden fields are validated again -------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://evil.example/callback", OTHER_REDIRECT_URI, REDIRECT_URI + "/"],
    ids=["foreign", "another-clients", "trailing-slash"],
)
def test_consent_with_a_tampered_redirect_uri_shows_an_error_page(
    base_url, agent, client, scope_read, redirect_uri
):
    """RFC 6749 4.1.2.1: hidden fields are never trusted; a bad redirect URI is never redirected to."""
    page, _ = consent_page(agent, base_url, client, scope_read[0])
    response = decide(agent, base_url, page, "approve", redirect_uri=redirect_uri)
    assert_error_page(response)
    assert_no_consent_stored(agent, base_url, client, scope_read[0])


@pytest.mark.parametrize("which", ["unknown", "other"])
def test_consent_with_a_tampered_client_id_shows_an_error_page(
    base_url, agent, client, other_client, scope_read, which
):
    """RFC 6749 4.1.2.1: an unknown client, or one without this redirect URI: a page, no redirect."""
    client_id = unique("no-such-client") if which == "unknown" else other_client["client_id"]
    page, _ = consent_page(agent, base_url, client, scope_read[0])
    response = decide(agent, base_url, page, "approve", client_id=client_id)
    assert_error_page(response)
    assert_no_consent_stored(agent, base_url, client, scope_read[0])


def test_consent_with_a_scope_the_client_may_not_have_redirects_invalid_scope(
    base_url, agent, client, scope_read, scope_elsewhere, issuer
):
    """RFC 6749 4.1.2.1: invalid_scope at the redirect URI with state and iss (303 after POST)."""
    page, params = consent_page(agent, base_url, client, scope_read[0])
    response = decide(agent, base_url, page, "approve", scope=f"{scope_read[0]} {scope_elsewhere[0]}")
    callback = callback_of(response, 303)
    assert callback["error"] == "invalid_scope"
    assert callback["state"] == params["state"] and callback["iss"] == issuer
    assert "code" not in callback
    assert_no_consent_stored(agent, base_url, client, scope_read[0])


def test_consent_with_a_downgraded_pkce_method_redirects_invalid_request(
    base_url, agent, client, scope_read
):
    """RFC 7636 4.4.1: plain is refused on POST too, unless the client allows it."""
    page, _ = consent_page(agent, base_url, client, scope_read[0])
    response = decide(agent, base_url, page, "approve", code_challenge_method="plain")
    assert callback_of(response, 303)["error"] == "invalid_request"
    assert_no_consent_stored(agent, base_url, client, scope_read[0])


def test_consent_without_a_decision_is_a_bad_request(base_url, agent, client, scope_read):
    """Spec consent: invalid body: 400, nothing changes."""
    page, _ = consent_page(agent, base_url, client, scope_read[0])
    response = decide(agent, base_url, page, "maybe")
    assert response.status_code == 400
    assert "location" not in response.headers
    assert_no_consent_stored(agent, base_url, client, scope_read[0])


# --- GET /oauth/authorize: errors shown as a page ------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": None},
        {"client_id": "unknown"},
        {"redirect_uri": "https://evil.example/callback"},
        {"redirect_uri": REDIRECT_URI + "/"},
        {"redirect_uri": REDIRECT_URI.replace("8765", "8766")},
        {"redirect_uri": REDIRECT_URI.upper()},
        {"redirect_uri": REDIRECT_URI + "?next=https://evil.example"},
        {"redirect_uri": OTHER_REDIRECT_URI},
    ],
    ids=[
        "missing-client",
        "unknown-client",
        "foreign-redirect-uri",
        "trailing-slash",
        "other-port",
        "other-case",
        "extra-query",
        "another-clients-redirect-uri",
    ],
)
def test_authorize_with_untrusted_client_or_redirect_uri_shows_a_page_never_a_redirect(
    base_url, client, scope_read, change
):
    """RFC 6749 4.1.2.1, RFC 9700 2.1 (exact string match): 400 HTML page, no Location."""
    params, _ = code_request(client, scope_read[0])
    for name, value in change.items():
        if value is None:
            params.pop(name)
        else:
            params[name] = unique("no-such-client") if value == "unknown" else value
    assert_error_page(authorize(requests.Session(), base_url, params))


@pytest.mark.parametrize(
    "uri",
    [
        # Passed the old `starts_with("127.0.0.1:")` check; the browser goes to evil.example.
        "http://127.0.0.1:80@evil.example/cb",
        "http://127.0.0.1.evil.example/cb",
        "http://localhost.evil/cb",
    ],
)
def test_authctl_refuses_a_redirect_uri_that_only_looks_like_loopback(uri):
    """Issue 12.7, RFC 8252 8.3: plain http only for an exact loopback host, no user information."""
    name = unique("Lookalike")
    result = authctl("client", "create", "--name", name, "--public", "--redirect-uri", uri, check=False)
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith(f'error: redirect URI "{uri}" is refused: '), result.stderr
    assert name not in [c["name"] for c in authctl("client", "list")]


def test_authorize_with_a_repeated_client_id_shows_a_page(base_url, client, scope_read):
    """RFC 6749 3.1: a repeated client_id cannot be trusted to pick a redirect URI."""
    params, _ = code_request(client, scope_read[0])
    pairs = list(params.items()) + [("client_id", client["client_id"])]
    assert_error_page(authorize(requests.Session(), base_url, pairs))


def test_authorize_with_invalid_percent_encoding_shows_a_page(base_url, client, scope_read):
    """Checklist 25: invalid UTF-8 in the query is a 400 page, neither a redirect nor a 5xx."""
    params, _ = code_request(client, scope_read[0])
    url = f"{base_url}/oauth/authorize?{urlencode(params)}&nonsense=%ff%fe"
    assert_error_page(requests.get(url, allow_redirects=False, timeout=TIMEOUT))


# --- GET /oauth/authorize: errors redirected to the client ----------------------------------


REDIRECTED_ERRORS = [
    ("rfc6749-4.1.2.1-unsupported-response-type", {"response_type": "token"}, "unsupported_response_type"),
    ("rfc6749-4.1.2.1-unknown-scope", {"scope": "no-such-scope"}, "invalid_scope"),
    ("rfc6749-4.1.2.1-scope-not-allowed", {"scope": "ELSEWHERE"}, "invalid_scope"),
    ("rfc9700-2.1.1-missing-pkce", {"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ("rfc7636-4.4.1-plain-pkce", {"code_challenge_method": "plain", "code_challenge": "V" * 43}, "invalid_request"),
    ("rfc7636-4.4.1-unknown-method", {"code_challenge_method": "S512"}, "invalid_request"),
    ("rfc7636-4.3-method-without-challenge", {"code_challenge": None}, "invalid_request"),
    ("rfc7636-4.2-challenge-too-short", {"code_challenge": "a" * 42}, "invalid_request"),
    ("rfc7636-4.2-challenge-too-long", {"code_challenge": "a" * 129}, "invalid_request"),
    ("rfc7636-4.2-challenge-bad-characters", {"code_challenge": "a" * 42 + "+"}, "invalid_request"),
    ("rfc6749-3.1-repeated-scope", {"+scope": "SAME"}, "invalid_request"),
    ("rfc6749-3.1-repeated-state", {"+state": "SAME"}, "invalid_request"),
    ("rfc6749-3.1-repeated-code-challenge", {"+code_challenge": "SAME"}, "invalid_request"),
]


@pytest.mark.parametrize(
    "change, error", [(c, e) for _, c, e in REDIRECTED_ERRORS], ids=[i for i, _, _ in REDIRECTED_ERRORS]
)
def test_authorize_errors_redirect_302_with_error_state_and_iss(
    base_url, client, scope_read, scope_elsewhere, issuer, change, error
):
    """RFC 6749 4.1.2.1, RFC 9207 2 (checklist 3, 5, 6, 9, 23): a redirect with the error."""
    state = odd_state(80)
    params, _ = code_request(client, scope_read[0], state=state)
    pairs = dict(params)
    repeats = []
    for name, value in change.items():
        if name.startswith("+"):
            repeats.append((name[1:], params[name[1:]]))
        elif value is None:
            pairs.pop(name)
        else:
            pairs[name] = scope_elsewhere[0] if value == "ELSEWHERE" else value
    callback = callback_of(authorize(requests.Session(), base_url, list(pairs.items()) + repeats), 302)
    assert callback["error"] == error
    assert callback["error_description"]
    assert callback["state"] == state
    assert callback["iss"] == issuer
    assert "code" not in callback


def test_authorize_without_scope_and_no_default_scope_redirects_invalid_scope(base_url, client, issuer):
    """Spec: no scope means the client's default scopes, or invalid_scope when it has none."""
    params, _ = code_request(client, None)
    del params["scope"]
    callback = callback_of(authorize(requests.Session(), base_url, params), 302)
    assert callback["error"] == "invalid_scope"
    assert callback["state"] == params["state"] and callback["iss"] == issuer


def test_authorize_without_scope_uses_the_default_scope(base_url, agent, scope_read, scope_write):
    """RFC 6749 3.3: the server applies a pre-defined default scope."""
    client = create_client(scope_read[0], scope_write[0], flags=("--default-scope", scope_write[0]))
    params, _ = code_request(client, None)
    del params["scope"]
    response = authorize(agent, base_url, params)
    assert response.status_code == 200
    assert page_form(response.text, "/oauth/consent")["fields"]["scope"] == scope_write[0]


def test_plain_pkce_is_accepted_from_a_client_configured_for_it(base_url, agent, scope_read):
    """RFC 7636 4.2: plain is allowed when the operator says so (--allow-plain-pkce)."""
    client = create_client(scope_read[0], flags=("--allow-plain-pkce",))
    verifier, _ = pkce_pair()
    params, _ = code_request(client, scope_read[0], pkce=False)
    params.update(code_challenge=verifier, code_challenge_method="plain")
    response = authorize(agent, base_url, params)
    assert response.status_code == 200
    fields = page_form(response.text, "/oauth/consent")["fields"]
    assert fields["code_challenge_method"] == "plain"


def test_a_missing_redirect_uri_is_allowed_when_the_client_has_exactly_one(base_url, agent, client, scope_read):
    """RFC 6749 3.1.2.3: the single registered URI is used."""
    params, _ = code_request(client, scope_read[0], redirect_uri=None)
    response = authorize(agent, base_url, params)
    assert response.status_code == 200
    callback_of(decide(agent, base_url, response, "deny"), 303)


def test_a_missing_redirect_uri_is_an_error_page_when_the_client_has_several(base_url, scope_read):
    """RFC 6749 3.1.2.3: with several registered, the request must name one."""
    client = create_client(scope_read[0], redirect_uris=(REDIRECT_URI, OTHER_REDIRECT_URI))
    params, _ = code_request(client, scope_read[0], redirect_uri=None)
    assert_error_page(authorize(requests.Session(), base_url, params))
