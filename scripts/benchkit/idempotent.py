"""DynamoDB's idempotent transactions for the bench's moto, which lacks them.

The functions' SDK gives an attempt 1 s and retries a TransactWriteItems with the same
ClientRequestToken; DynamoDB answers such a retry of a transaction it applied with success,
writing nothing, and moto answers it as a new transaction (whose conditions then fail: a code
"already used"). The test stack's server (scripts/dynamodb_server.py) does the same for its
own middleware; this one is for the bench's bare moto.
"""
import collections
import io
import json
import threading
import time

TARGET = "DynamoDB_20120810.TransactWriteItems"
SECONDS = 600


class IdempotentTransactions:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.answers = collections.OrderedDict()  # ClientRequestToken -> (when, status, headers, body)

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET") != TARGET:
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            token = json.loads(raw or b"{}").get("ClientRequestToken")
        except ValueError:
            token = None
        with self.lock:
            now = time.monotonic()
            while self.answers and now - next(iter(self.answers.values()))[0] >= SECONDS:
                self.answers.popitem(last=False)
            if token in self.answers:
                _, status, headers, body = self.answers[token]
                start_response(status, headers)
                return [body]
            answer = {}

            def capture(status, headers, exc_info=None):
                answer["status"], answer["headers"] = status, headers
                return lambda data: None

            body = b"".join(self.app(environ, capture))
            if token and answer["status"].startswith("200"):
                self.answers[token] = (now, answer["status"], answer["headers"], body)
        start_response(answer["status"], answer["headers"])
        return [body]
