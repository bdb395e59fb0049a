"""A browser and a client app going through the functions: the session, the consent, codes and
an access token that the scenarios' requests need are obtained as they are in production."""
import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from .browser import CookieJar, page_form
from .events import basic_auth, http_event
from .proc import die, log
from .runtime_api import FunctionProcess
from .stack import CLIENT_ID, REDIRECT_URI, USERNAME, Seed


def b64url_sha256(text):
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


class UnexpectedAnswer(RuntimeError):
    pass


def expect(response, status, what):
    if response.status != status:
        raise UnexpectedAnswer(f"{what}: expected {status}, got {response.status}: {response.body[:300]}")
    return response


@dataclass
class Flow:
    """What a signed-in browser and the client app hold, obtained through the functions."""

    seed: Seed
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    jar: CookieJar = field(default_factory=CookieJar)
    sign_in_cookies: list = field(default_factory=list)  # the jar when the sign-in form was read
    sign_in_form: list = field(default_factory=list)  # that form's submission, as read from the page
    authorize_query: list = field(default_factory=list)  # where the sign-in redirected to
    consent_form: list = field(default_factory=list)  # the consent page's "Allow", as read from it
    access_token: str = ""

    def return_to(self):
        """authorize's own URL, which it sends a signed-out browser to the sign-in form with."""
        params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
                  "scope": "openid profile", "state": "bench", "code_challenge": b64url_sha256(self.verifier),
                  "code_challenge_method": "S256"}
        return "/oauth/authorize?" + urlencode(params)

    def browse(self, function, event):
        """One request of the browser: the function's answer, its cookies kept."""
        response = function.invoke(event)
        self.jar.update(response)
        return response

    def login_form_event(self):
        return http_event("login", query={"return_to": self.return_to()})

    def sign_in_event(self):
        return http_event("login-submit", cookies=self.sign_in_cookies, form=self.sign_in_form)

    def authorize_event(self):
        return http_event("authorize-signed-in", query=self.authorize_query, cookies=self.jar.pairs())

    def consent_event(self):
        return http_event("consent", cookies=self.jar.pairs(), form=self.consent_form)

    def token_event(self, code):
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                "code_verifier": self.verifier}
        return self.client_event("token", **form)

    def refresh_event(self, refresh_token):
        return self.client_event("token-refresh", grant_type="refresh_token", refresh_token=refresh_token)

    def userinfo_event(self, access_token):
        return http_event("userinfo", headers={"authorization": f"Bearer {access_token}"})

    def logout_event(self):
        return http_event("logout", query={}, cookies=self.jar.pairs())

    def account_event(self):
        return http_event("account", cookies=self.jar.pairs())

    def client_event(self, name, **form):
        """A client app's POST, authenticated with HTTP Basic as events/<name>.json is."""
        return http_event(name, form=form, headers=basic_auth(CLIENT_ID, self.seed.client_secret))


def sign_in(flow):
    """The sign-in form, its POST, the consent page authorize shows a new user, its "Allow",
    then the client's code exchange: CSRF tokens read from the pages' hidden inputs."""
    log("signing in and consenting through the functions")
    with FunctionProcess("login") as login:
        page = expect(flow.browse(login, flow.login_form_event()), 200, "login form")
        flow.sign_in_cookies = flow.jar.pairs()
        flow.sign_in_form = page_form(page.body, "/login").submission(username=USERNAME,
                                                                      password=flow.seed.password)
        signed_in = expect(flow.browse(login, flow.sign_in_event()), 303, "sign-in")
    target = urlsplit(signed_in.location)
    if target.path != "/oauth/authorize":
        die(f"sign-in: expected a redirect to /oauth/authorize, got {signed_in.location!r}")
    flow.authorize_query = parse_qsl(target.query)
    with FunctionProcess("authorize") as authorize:
        page = expect(flow.browse(authorize, flow.authorize_event()), 200, "consent page")
    flow.consent_form = page_form(page.body, "/oauth/consent").submission(button=("decision", "approve"))
    with FunctionProcess("consent") as consent:
        approved = expect(flow.browse(consent, flow.consent_event()), 303, "consent")
    with FunctionProcess("token") as token:
        issued = expect(token.invoke(flow.token_event(approved.location_param("code"))), 200, "token")
        flow.access_token = json.loads(issued.body)["access_token"]


class CodeMint:
    """Authorization codes from a running authorize function (remembered consent: one per
    request), and refresh tokens from a running token function."""

    def __init__(self, flow):
        self.flow = flow
        self.authorize = FunctionProcess("authorize")
        self.token = None

    def codes(self, count):
        responses = (self.authorize.invoke(self.flow.authorize_event()) for _ in range(count))
        return [expect(r, 302, "authorize").location_param("code") for r in responses]

    def tokens(self):
        """A new grant's tokens (the token endpoint's JSON answer)."""
        if self.token is None:
            self.token = FunctionProcess("token")
        issued = expect(self.token.invoke(self.flow.token_event(self.codes(1)[0])), 200, "token")
        return json.loads(issued.body)

    def close(self):
        self.authorize.close()
        if self.token:
            self.token.close()
