"""End-to-end tests: they drive the running local stack over HTTP.

scripts/test starts the stack and sets AUTH_ISSUER, AUTH_TABLE_PREFIX and the
DynamoDB endpoint; `authctl` (the real operator tool) prepares the data.
"""
import json
import os
import subprocess
import uuid

import pytest

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

import base64
import hashlib
import secrets
import warnings
from collections import namedtuple
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import requests

# authlib 1.x announces on import that authlib.jose moves to joserfc (and forces that
# warning on); the tests use authlib.jose as it is, so it is imported here once, quietly.
with warnings.catch_warnings():
    import authlib.deprecate  # noqa: F401  (installs its "always" filter first)

    warnings.simplefilter("ignore", DeprecationWarning)
    import authlib.jose  # noqa: F401


REDIRECT_URI = "http://127.0.0.1:8765/callback"
TIMEOUT = 300  # generous: under `cargo lambda watch` a request may wait for a (re)build


def s256(verifier):
    """RFC 7636 4.2: BASE64URL(SHA256(ASCII(verifier))) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_pair():
    """A fresh (verifier, S256 challenge); the verifier is 64 characters of the RFC 7636 alphabet."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


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
    return agent.post(f"{base_url}/login", data=fields, allow_redirects=False, timeout=TIMEOUT)


def signed_in_agent(base_url, username, password):
    """A cookie-keeping user agent with a live session."""
    agent = requests.Session()
    response = login(agent, base_url, username, password)
    assert response.status_code == 303, response.text
    return agent


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


def get_code(base_url, client, username, password, scope, *, redirect_uri=REDIRECT_URI,
             pkce=True, agent=None):
    """Runs the browser side of the code flow with requests: authorize, log in when
    needed, approve when asked. Returns (code, verifier); verifier is None without PKCE."""
    agent = agent or requests.Session()
    params, verifier = code_request(client, scope, redirect_uri=redirect_uri, pkce=pkce)
    response = authorize(agent, base_url, params)
    if response.status_code == 302 and urlsplit(response.headers["location"]).path == "/login":
        return_to = query_of(response.headers["location"])["return_to"]
        signed_in = login(agent, base_url, username, password, return_to)
        assert signed_in.status_code == 303, signed_in.text
        response = agent.get(signed_in.headers["location"], allow_redirects=False, timeout=TIMEOUT)
    if response.status_code == 200:
        response = decide(agent, base_url, response, "approve")
    assert response.status_code in (302, 303), response.text
    callback = query_of(response.headers["location"])
    assert callback.get("state") == params["state"], callback
    return callback["code"], verifier


@pytest.fixture(scope="session")
def metadata(base_url):
    response = requests.get(f"{base_url}/.well-known/oauth-authorization-server", timeout=TIMEOUT)
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="session")
def jwks(metadata):
    """The published key set (authlib KeySet), fetched from the metadata's jwks_uri."""
    from authlib.jose import JsonWebKey

    response = requests.get(metadata["jwks_uri"], timeout=TIMEOUT)
    assert response.status_code == 200
    return JsonWebKey.import_key_set(response.json())
