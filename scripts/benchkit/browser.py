"""What a browser keeps and reads: its cookies, and the forms of a page.

The bench takes the CSRF tokens from the pages, as a browser submits them: the hidden inputs of
the sign-in and consent forms. Deriving them instead (the consent token is a hash of the session
id) would keep passing if the page stopped carrying the token a browser needs.
"""
from dataclasses import dataclass, field
from html.parser import HTMLParser


class CookieJar:
    """The cookies a browser holds for the issuer, as the functions set them: names included
    (`__Host-` ones on an https issuer, plain ones on loopback)."""

    def __init__(self):
        self.cookies = {}

    def update(self, response):
        for set_cookie in response.set_cookies():
            pair, *attributes = set_cookie.split(";")
            name, _, value = pair.strip().partition("=")
            max_age = next((a.split("=", 1)[1].strip() for a in attributes
                            if a.strip().lower().startswith("max-age=")), None)
            if not value or (max_age is not None and int(max_age) <= 0):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def pairs(self):
        """The event's `cookies`: what the browser sends with its next request."""
        return [f"{name}={value}" for name, value in self.cookies.items()]


@dataclass
class Form:
    """One <form>: what a browser submits from it."""

    action: str
    method: str
    fields: list = field(default_factory=list)  # (name, value) of its inputs, in page order
    buttons: list = field(default_factory=list)  # (name, value) of its named submit buttons

    def submission(self, button=None, **values):
        """The fields as a browser posts them, `values` typed into the named inputs, and the
        pressed button's name and value."""
        unknown = values.keys() - {name for name, _ in self.fields}
        if unknown:
            raise ValueError(f"the form of {self.action} has no input {', '.join(sorted(unknown))}")
        if button is not None and button not in self.buttons:
            raise ValueError(f"the form of {self.action} has no button {button}")
        pairs = [(name, values.get(name, value)) for name, value in self.fields]
        return pairs + ([button] if button else [])


class FormReader(HTMLParser):
    """The forms of a page with their inputs and submit buttons (attribute values unescaped)."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self.current = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.current = Form(attrs.get("action", ""), attrs.get("method", "get").lower())
            self.forms.append(self.current)
        elif self.current is None or "name" not in attrs:
            return
        elif tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind == "submit":
                self.current.buttons.append((attrs["name"], attrs.get("value", "")))
            elif kind not in ("checkbox", "radio") or "checked" in attrs:
                self.current.fields.append((attrs["name"], attrs.get("value", "")))
        elif tag == "button" and attrs.get("type", "submit").lower() == "submit":
            self.current.buttons.append((attrs["name"], attrs.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def page_form(html, action):
    """The page's form that posts to `action`."""
    reader = FormReader()
    reader.feed(html)
    reader.close()
    for form in reader.forms:
        if form.action == action and form.method == "post":
            return form
    raise ValueError(f"the page has no form posting to {action}: {html[:300]!r}")
