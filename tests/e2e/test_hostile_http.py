"""Issue 14.4: hostile HTTP to every route, over raw sockets (no client library to tidy the
request up): about 200 requests per route of repeated and conflicting parameters, invalid
UTF-8 and bad percent-encoding, oversized values and headers, odd content types and chunked
bodies, junk cookies and Authorization headers. None may get a 5xx or hang, and no function
may panic (the stack's log is searched).

What does not reach a function here: header bytes outside UTF-8 make `cargo lambda watch`
answer 500 itself (it serializes headers as UTF-8 strings) before any function runs, and API
Gateway's own limits (10 KB per header line) refuse larger requests at the edge. The
functions' side of both is covered without the emulator: the event conversion takes any
header text (`properties.rs`, `any_accepted_event_converts`, and the `event` fuzz target).
"""
import os
import random
import socket
from urllib.parse import urlsplit

import pytest

from conftest import REDIRECT_URI

LOG = os.environ.get("AUTH_STACK_LOG")
PER_ROUTE = 200
BOUND = 30  # seconds: a request not answered by then hangs

# Every route of template.yaml, with a request that reaches its logic when well formed.
ROUTES = [
    ("GET", "/oauth/scopes", ""),
    ("GET", "/oauth/authorize", f"response_type=code&client_id=c&redirect_uri={REDIRECT_URI}&scope=s&state=x"),
    ("POST", "/oauth/consent", "client_id=c&decision=approve&csrf_token=t"),
    ("GET", "/login", "return_to=/oauth/authorize"),
    ("POST", "/login", "username=u&password=p&csrf_token=t&return_to=/"),
    ("POST", "/oauth/token", "grant_type=authorization_code&code=c&redirect_uri=r&code_verifier=v"),
    ("POST", "/oauth/revoke", "token=t&token_type_hint=refresh_token"),
    ("POST", "/oauth/introspect", "token=t"),
    ("GET", "/.well-known/oauth-authorization-server", ""),
    ("GET", "/.well-known/openid-configuration", ""),
    ("GET", "/.well-known/jwks.json", ""),
    ("GET", "/oauth/logout", "client_id=c&post_logout_redirect_uri=https://x/&state=s"),
    ("POST", "/oauth/logout", "csrf_token=t&decision=sign_out"),
    ("GET", "/account", ""),
    ("POST", "/account", "csrf_token=t&action=withdraw&client_id=c"),
    ("GET", "/oauth/userinfo", ""),
    ("POST", "/oauth/userinfo", "access_token=t"),
]

BAD_ENCODINGS = ["%", "%z", "%zz", "%ff%fe", "%C3%28", "%E2%82", "%00", "%0d%0a", "%25%", "+%2B%", "%F0%9F%92"]
PARAMETERS = ["client_id", "grant_type", "code", "redirect_uri", "scope", "state", "token",
              "response_type", "code_verifier", "csrf_token", "return_to", "username", "password",
              "refresh_token", "prompt", "max_age", "nonce", "id_token_hint", "decision", "action"]
CONTENT_TYPES = ["application/json", "multipart/form-data; boundary=x", "text/plain",
                 "application/x-www-form-urlencoded; charset=utf-16", "application/x-www-form-urlencoded;;;",
                 "", "*/*", "application/x-www-form-urlencoded" + " " * 200, "\t", "a/b; c=\"d"]


def mutations(route, rng):
    """PER_ROUTE (query, headers, body) triples built from the route's valid request."""
    method, path, valid = route
    form = method == "POST"
    made = []

    def add(params, headers=None, body=None):
        if form:
            made.append(("", headers or {"Content-Type": "application/x-www-form-urlencoded"},
                         params.encode("latin-1") if body is None else body))
        else:
            made.append((params, headers or {}, b"" if body is None else body))

    while len(made) < PER_ROUTE:
        kind = len(made) % 10
        name = rng.choice(PARAMETERS)
        if kind == 0:  # repeated and conflicting parameters
            add(f"{valid}&{name}=a&{name}=b&{name}=")
        elif kind == 1:  # bad percent-encoding, invalid UTF-8 once decoded
            add(f"{valid}&{name}={rng.choice(BAD_ENCODINGS)}{rng.choice(BAD_ENCODINGS)}")
        elif kind == 2:  # names and separators that are not parameters
            add(rng.choice(["&&&", "=", "==&==", "&=x", "a", "?x=1", ";a=b", "a=b;c=d", "%=%", "\t=\t"]) + valid)
        elif kind == 3:  # oversized values (up to 64 KB)
            add(f"{valid}&{name}={'A' * rng.choice([1024, 8192, 65536])}")
        elif kind == 4:  # odd content types, or a query on a form route
            body = valid.encode() if form else b"x=1"
            made.append((valid, {"Content-Type": rng.choice(CONTENT_TYPES)}, body))
        elif kind == 5:  # chunked bodies
            body = (valid or "x=1").encode()
            made.append(("" if form else valid, {"Content-Type": "application/x-www-form-urlencoded",
                                                 "Transfer-Encoding": "chunked"}, chunked(body, rng)))
        elif kind == 6:  # junk cookies
            add(valid, headers={"Cookie": rng.choice([
                ";;;===", "=", "session", "__Host-session=", "__Host-session=" + "x" * 4000,
                "__Host-session=a.b.c.d", "__Host-session=%ff", "a=b; a=c; a=d", "\"x\"=\"y\"",
                "__Host-login-csrf=; __Host-login-csrf=t", "__Host-session=sub.\t"]),
                "Content-Type": "application/x-www-form-urlencoded"})
        elif kind == 7:  # junk Authorization
            add(valid, headers={"Authorization": rng.choice([
                "Basic", "Basic !!!", "Basic Og==", "Basic " + "QQ" * 2000, "Basic w6k6w6k=",
                "Bearer", "Bearer  a  b", "Bearer " + "x" * 6000, "bearer a.b.c", "Digest x",
                "Basic YTpi, Basic YzpkZA==", "Bearer e30.e30.", "Bearer ....."]),
                "Content-Type": "application/x-www-form-urlencoded"})
        elif kind == 8:  # oversized headers (under API Gateway's 10 KB per header)
            add(valid, headers={"X-Junk": "y" * 9000, "Accept": "*/*" * 1000,
                                "Content-Type": "application/x-www-form-urlencoded"})
        else:  # random bytes where the parameters go
            junk = bytes(rng.randrange(32, 127) for _ in range(rng.randrange(1, 300)))
            add(junk.decode("latin-1").replace(" ", "%20").replace("#", "%23"))
    return made


def chunked(body, rng):
    out, rest = b"", body
    while rest:
        size = rng.randrange(1, 8)
        out += f"{size if size <= len(rest) else len(rest):x}\r\n".encode() + rest[:size] + b"\r\n"
        rest = rest[size:]
    return out + b"0\r\n\r\n"


def send_raw(base_url, method, path, query, headers, body):
    """One request over a new socket; returns the status code (None: no answer in BOUND)."""
    host = urlsplit(base_url)
    target = path + ("?" + query if query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body and "Transfer-Encoding" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection((host.hostname, host.port), timeout=BOUND) as connection:
        connection.sendall(raw)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0].decode("latin-1")
    return int(status_line.split(" ")[1]) if status_line.startswith("HTTP/1.") else None


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_hostile_requests_get_no_5xx_and_no_hang(base_url, route):
    method, path, _ = route
    rng = random.Random(f"{method} {path}")
    answers = {}
    for query, headers, body in mutations(route, rng):
        status = send_raw(base_url, method, path, query, headers, body)
        answers[status] = answers.get(status, 0) + 1
        assert status is not None and status < 500, (status, query[:200], headers, body[:200])
    assert sum(answers.values()) == PER_ROUTE
    print(f"HOSTILE {method} {path}: " + ", ".join(f"{n} × {s}" for s, n in sorted(answers.items())))


def test_no_function_panicked(base_url):
    assert LOG and os.path.exists(LOG), "scripts/test sets AUTH_STACK_LOG to the stack's log"
    with open(LOG, encoding="utf-8", errors="replace") as f:
        log = f.read()
    assert "panicked at" not in log
