"""End-to-end tests: they drive the running local stack over HTTP.

scripts/test starts the stack and sets AUTH_ISSUER, AUTH_TABLE_PREFIX and the
DynamoDB endpoint; `authctl` (the real operator tool) prepares the data.

Shared here, so that a test reads as the API flow it checks:
- fixtures: `base_url`, `metadata`, `issuer`, `jwks` (per run); `user` and its signed-in
  browser `agent` (per test file);
- data: `create_user`, `create_scope`, `create_client` (with `WITH_REFRESH` for refresh tokens);
- the browser side: `login_form`, `login`, `post_login`, `sign_in`, `signed_in_agent`,
  `authorize`, `follow`, `return_to_of`, `sign_in_and_come_back`, `decide`, `callback_of`,
  `code_request`, `get_code` (the whole authorize -> login -> consent dance), `pkce_pair`;
- the client side: `code_grant`, `refresh_grant`, `post_token`, `tokens_for`, `introspect`,
  `revoke`, `client_auth`, `assert_error`.
"""
import base64
import hashlib
import json
import os
import secrets
import subprocess
import time
import uuid
import warnings
from collections import namedtuple
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AUTHCTL = os.path.join(ROOT, "target", "debug", "authctl")


def authctl(*args, stdin=None, check=True):
    """Runs authctl --json; returns the parsed output (or the CompletedProcess when check=False)."""
    result = subprocess.run(
        [AUTHCTL, "--json", *args], input=stdin, capture_output=True, text=True, timeout=60
    )
    if not check:
        return result
    assert result.returncode == 0, f"authctl {args} failed: {result.stderr}"
    return json.loads(result.stdout) if result.stdout.strip() else None


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def base_url():
    url = os.environ.get("AUTH_ISSUER")
    if not url:
        pytest.exit("AUTH_ISSUER is not set: run the end-to-end tests with scripts/test", returncode=2)
    return url


# --- shared helpers for the browser-side flow (login, consent) and PKCE ---------------

# authlib 1.x announces on import that authlib.jose moves to joserfc (and forces that
# warning on); the tests use authlib.jose as it is, so it is imported here once, quietly.
with warnings.catch_warnings():
    import authlib.deprecate  # noqa: F401  (installs its "always" filter first)

    warnings.simplefilter("ignore", DeprecationWarning)
    import authlib.jose  # noqa: F401


REDIRECT_URI = "http://127.0.0.1:8765/callback"
TIMEOUT = 300  # generous: under `cargo lambda watch` a request may wait for a (re)build
WITH_REFRESH = ("--grant", "authorization_code", "--grant", "refresh_token")  # create_client flags


def s256(verifier):
    """RFC 7636 4.2: BASE64URL(SHA256(ASCII(verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_pair():
    """A fresh (verifier, S256 challenge); the verifier is 64 characters of the RFC 7636 alphabet."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


SIGN_IN_WINDOW_SECONDS = 15 * 60  # shared/src/throttle.rs WINDOW_SECONDS


def in_one_sign_in_window(seconds=90):
    """Sign-in attempts are counted in fixed 15-minute windows: a test that counts several
    attempts first waits for the next window when the current one ends within `seconds`, so
    that its attempts never fall into two windows."""
    left = SIGN_IN_WINDOW_SECONDS - time.time() % SIGN_IN_WINDOW_SECONDS
    if left <= seconds:
        time.sleep(left + 1)


def new_password():
    return secrets.token_urlsafe(18)


User = namedtuple("User", "username password sub")


def create_user(prefix="user"):
    """A new user made with authctl; returns User(username, password, sub)."""
    username, password = unique(prefix), new_password()
    created = authctl("user", "create", username, "--password-stdin", stdin=password + "\n")
    return User(username, password, created["sub"])


def create_scope(prefix="scope", description=None):
    """A new scope made with authctl; returns (name, description)."""
    name = unique(prefix)
    description = description or f"Access to {name}"
    authctl("scope", "create", name, "--description", description)
    return name, description


def create_client(*scopes, name=None, redirect_uris=(REDIRECT_URI,), flags=()):
    """A new client made with authctl; returns its JSON (client_id, client_secret, ...)."""
    args = ["client", "create", "--name", name or unique("App")]
    for uri in redirect_uris:
        args += ["--redirect-uri", uri]
    for scope in scopes:
        args += ["--scope", scope]
    return authctl(*args, *flags)


class _Forms(HTMLParser):
    """Collects every form of a page: its action, method, and named inputs and buttons."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "method": attrs.get("method"),
                               "fields": {}, "buttons": []})
        elif self.forms and tag == "input" and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""
        elif self.forms and tag == "button" and attrs.get("name"):
            self.forms[-1]["buttons"].append((attrs["name"], attrs.get("value")))

    handle_startendtag = handle_starttag


def page_form(html, action):
    """The form that posts to `action`, as {action, method, fields, buttons} (values unescaped)."""
    parser = _Forms()
    parser.feed(html)
    matches = [form for form in parser.forms if form["action"] == action]
    assert len(matches) == 1, f"expected one form posting to {action}, found {parser.forms}"
    return matches[0]


def query_of(location):
    """The query of a redirect Location as a dict; every parameter must appear once."""
    parsed = parse_qs(urlsplit(location).query, keep_blank_values=True)
    assert all(len(values) == 1 for values in parsed.values()), f"repeated parameter in {location}"
    return {name: values[0] for name, values in parsed.items()}


def without_query(location):
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def login_form(agent, base_url, return_to=None):
    """GET /login; returns the response and the login form's fields."""
    params = {"return_to": return_to} if return_to is not None else None
    response = agent.get(f"{base_url}/login", params=params, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response, page_form(response.text, "/login")["fields"]


def login(agent, base_url, username, password, return_to=None):
    """Signs in like a browser (form, csrf cookie, POST); returns the POST's response, not followed."""
    _, fields = login_form(agent, base_url, return_to)
    fields.update(username=username, password=password)
    return post_login(agent, base_url, fields)


def post_login(agent, base_url, fields, **kwargs):
    """POST /login with the form `fields` as they are (crafted ones too), not following redirects."""
    return agent.post(f"{base_url}/login", data=fields, allow_redirects=False, timeout=TIMEOUT,
                      **kwargs)


def sign_in(agent, base_url, user, return_to=None):
    """`user` signs in with the right password; asserts the 303 and returns it, not followed."""
    response = login(agent, base_url, user.username, user.password, return_to)
    assert response.status_code == 303, response.text
    return response


def signed_in_agent(base_url, user):
    """A cookie-keeping user agent with a live session of `user`."""
    agent = requests.Session()
    sign_in(agent, base_url, user)
    return agent


def follow(agent, response):
    """GET the Location of a redirect `response`, as one step (redirects are never followed)."""
    return agent.get(response.headers["location"], allow_redirects=False, timeout=TIMEOUT)


def return_to_of(response):
    """The return_to of a redirect to the login page."""
    return query_of(response.headers["location"])["return_to"]


def sign_in_and_come_back(agent, base_url, user, to_login):
    """From a redirect to /login (`to_login`): `user` signs in and the browser goes back to
    where it was sent from; returns that page's response."""
    return follow(agent, sign_in(agent, base_url, user, return_to_of(to_login)))


def authorize(agent, base_url, params):
    """GET /oauth/authorize with `params` (a dict or a list of pairs), not following redirects."""
    return agent.get(f"{base_url}/oauth/authorize", params=params, allow_redirects=False,
                     timeout=TIMEOUT)


def decide(agent, base_url, consent_page, decision, **overrides):
    """Submits the consent page's form with `decision`; `overrides` replace (or, when None, drop) fields."""
    fields = dict(page_form(consent_page.text, "/oauth/consent")["fields"])
    fields["decision"] = decision
    for name, value in overrides.items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    return agent.post(f"{base_url}/oauth/consent", data=fields, allow_redirects=False,
                      timeout=TIMEOUT)


def callback_of(response, status, redirect_uri=REDIRECT_URI):
    """A redirect with `status` to the client's `redirect_uri`: its query parameters as a dict."""
    assert response.status_code == status, (response.status_code, response.text)
    location = response.headers["location"]
    assert without_query(location) == redirect_uri, location
    return query_of(location)


def code_request(client, scope, *, redirect_uri=REDIRECT_URI, pkce=True, state=None):
    """Authorization request parameters and the PKCE verifier (None without PKCE)."""
    params = {"response_type": "code", "client_id": client["client_id"], "scope": scope}
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    params["state"] = state or secrets.token_urlsafe(16)
    verifier = None
    if pkce:
        verifier, challenge = pkce_pair()
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return params, verifier


def get_code(base_url, client, user, scope, *, redirect_uri=REDIRECT_URI, pkce=True, agent=None):
    """Runs the browser side of the code flow with requests: authorize, `user` signs in when
    needed, approves when asked. Returns (code, verifier); verifier is None without PKCE."""
    agent = agent or requests.Session()
    params, verifier = code_request(client, scope, redirect_uri=redirect_uri, pkce=pkce)
    response = authorize(agent, base_url, params)
    if response.status_code == 302 and urlsplit(response.headers["location"]).path == "/login":
        response = sign_in_and_come_back(agent, base_url, user, response)
    if response.status_code == 200:
        response = decide(agent, base_url, response, "approve")
    assert response.status_code in (302, 303), response.text
    callback = query_of(response.headers["location"])
    assert callback.get("state") == params["state"], callback
    return callback["code"], verifier


def allowed_once(base_url, user_prefix):
    """A new user, signed in, who approved a new confidential client for a new scope once:
    (the user, their browser, a second authorization request of that client)."""
    scope, _ = create_scope()
    client = create_client(scope)
    user = create_user(user_prefix)
    agent = signed_in_agent(base_url, user)
    get_code(base_url, client, user, scope, agent=agent)
    params, _ = code_request(client, scope)
    return user, agent, params


# --- shared helpers for the client side: token, introspection, revocation --------------


def client_auth(client, secret=None):
    """HTTP Basic credentials of `client` (RFC 6749 2.3.1), with another `secret` if given."""
    return client["client_id"], secret or client["client_secret"]


def code_grant(code, verifier, redirect_uri=REDIRECT_URI):
    """The form of an authorization_code request (RFC 6749 4.1.3) without client credentials."""
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}


def refresh_grant(refresh_token, **extra):
    """The form of a refresh_token request (RFC 6749 6) without client credentials."""
    return {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}


def post_token(base_url, data, client=None, **kwargs):
    """POST /oauth/token with `data`, as `client` with client_secret_basic when one is given."""
    if client is not None:
        kwargs.setdefault("auth", client_auth(client))
    kwargs.setdefault("timeout", TIMEOUT)
    return requests.post(f"{base_url}/oauth/token", data=data, allow_redirects=False, **kwargs)


def introspect(base_url, client, value):
    """POST /oauth/introspect as `client` (RFC 7662); asserts 200, never cached; returns the JSON."""
    response = requests.post(f"{base_url}/oauth/introspect", data={"token": value},
                             auth=client_auth(client), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def revoke(base_url, client, value, secret=None):
    """POST /oauth/revoke as `client` (RFC 7009); returns the response."""
    return requests.post(f"{base_url}/oauth/revoke", data={"token": value},
                         auth=client_auth(client, secret), timeout=TIMEOUT)


def tokens_for(base_url, client, user, scope, agent=None):
    """The whole code flow for `user` and `client` (client_secret_basic); the token response's JSON."""
    code, verifier = get_code(base_url, client, user, scope, agent=agent)
    response = post_token(base_url, code_grant(code, verifier), client)
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response, status, error):
    """An OAuth error response (RFC 6749 5.2) with `status` and `error`."""
    assert (response.status_code, response.json()["error"]) == (status, error), response.text


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def metadata(base_url):
    response = requests.get(f"{base_url}/.well-known/oauth-authorization-server", timeout=TIMEOUT)
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="session")
def issuer(metadata):
    return metadata["issuer"]


@pytest.fixture(scope="session")
def jwks(metadata):
    """The published key set (authlib KeySet), fetched from the metadata's jwks_uri."""
    from authlib.jose import JsonWebKey

    response = requests.get(metadata["jwks_uri"], timeout=TIMEOUT)
    assert response.status_code == 200
    return JsonWebKey.import_key_set(response.json())


@pytest.fixture(scope="module")
def user(request):
    """A user of this test file, made with authctl (named after the file)."""
    return create_user(request.module.__name__.removeprefix("test_").replace("_", "-"))


@pytest.fixture(scope="module")
def agent(base_url, user):
    """The signed-in browser of `user`, shared by this file's tests."""
    return signed_in_agent(base_url, user)
