"""Invocation events built from the API Gateway HTTP API 2.0 events of events/, and the
payload-2.0 responses the functions answer with.

The files are what API Gateway sends for each route (events/README.md), so the bench sends
the same shape: the same headers, cookies moved to `cookies`, form bodies base64-encoded. What
they carry for shared/tests/api/events.rs's seeded store (query, body, cookies, Authorization)
means nothing to the bench's stack, so each request puts its own in, and an event that would
still carry the fixture's is refused rather than sent.
"""
import base64
import datetime
import functools
import json
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from .env import ROOT

EVENTS = ROOT / "events"


@functools.cache
def template(name):
    """events/<name>.json as text: parsed anew for every event, so that none shares parts."""
    return (EVENTS / f"{name}.json").read_text()


def http_event(name, query=None, cookies=(), form=None, headers=None):
    """events/<name>.json with this request's query (a dict or pairs), cookies ("name=value"),
    form body and headers, a fresh request id and the time of now."""
    event = json.loads(template(name))
    fixture_parts = [part for part, present, given in (
        ("query string", event.get("rawQueryString"), query),
        ("body", event.get("body"), form),
        ("Authorization header", "authorization" in event["headers"], (headers or {}).get("authorization")),
    ) if present and given is None]
    if fixture_parts:
        raise ValueError(f"events/{name}.json: give this request's {', '.join(fixture_parts)}")

    now = datetime.datetime.now(datetime.timezone.utc)
    context = event["requestContext"]
    context["requestId"] = str(uuid.uuid4())
    context["time"] = now.strftime("%d/%b/%Y:%H:%M:%S +0000")
    context["timeEpoch"] = int(now.timestamp() * 1000)
    if query is not None:
        event["rawQueryString"] = urlencode(query)
        event.pop("queryStringParameters", None)
        if event["rawQueryString"]:
            event["queryStringParameters"] = dict(parse_qsl(event["rawQueryString"]))
    event.pop("cookies", None)
    if cookies:
        event["cookies"] = list(cookies)
    if form is not None:
        # API Gateway hands form bodies to Lambda base64-encoded.
        body = urlencode(form).encode()
        event["headers"]["content-type"] = "application/x-www-form-urlencoded"
        event["headers"]["content-length"] = str(len(body))
        event["body"] = base64.b64encode(body).decode()
        event["isBase64Encoded"] = True
    event["headers"].update(headers or {})
    return event


def basic_auth(client_id, secret):
    """HTTP Basic client authentication (RFC 6749 2.3.1: each part form-urlencoded first)."""
    credentials = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return {"authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


@dataclass
class Response:
    """A function's payload-2.0 response, with the time the emulator received it."""

    status: int
    headers: dict
    cookies: list
    body: str
    received_ns: int

    @property
    def location(self):
        return self.headers.get("location", "")

    def location_param(self, name):
        return dict(parse_qsl(urlsplit(self.location).query)).get(name)

    def set_cookies(self):
        """Every Set-Cookie of the response: payload 2.0 puts them in `cookies`."""
        single = self.headers.get("set-cookie")
        return self.cookies + ([single] if single else [])


def parse_response(body, received_ns):
    payload = json.loads(body)
    text = payload.get("body") or ""
    if payload.get("isBase64Encoded"):
        text = base64.b64decode(text).decode(errors="replace")
    headers = {k.lower(): v for k, v in (payload.get("headers") or {}).items()}
    return Response(payload.get("statusCode", 0), headers, payload.get("cookies") or [], text, received_ns)
