#!/usr/bin/env python3
"""A fault-injecting HTTP proxy between the functions and the local DynamoDB server.

`scripts/test` points the functions' `AWS_ENDPOINT_URL_DYNAMODB` here; with no rule set, every
call is passed on unchanged (signature headers included, so IAM is still enforced behind it).
A test sets rules over HTTP on the same port, and the functions then meet DynamoDB's failures
through the real SDK, with its retries and timeouts:

    PUT    /__faults   {"rules": [RULE, ...]}   replaces the rules
    GET    /__faults                            the rules, each with `seen` and `applied`
    DELETE /__faults                            no rule: pass everything

A RULE matches a call by `operation` (e.g. "TransactWriteItems"), `table` (a substring of a
table name in the request) and `contains` (a substring of the request body), all optional;
it skips the first `after` matching calls, applies at most `times` times (default: always)
with `probability` (default 1), and injects `fault`:

    throttle      400 ProvisionedThroughputExceededException (the SDK retries it)
    throttling    400 ThrottlingException (retried)
    internal      500 InternalServerError (retried)
    conflict      400 TransactionCanceledException, every reason TransactionConflict for a
                  TransactWriteItems; TransactionConflictException for any other call
    timeout       no answer for `delay` seconds (default 30), then the connection closes
    reset         the connection is reset before the call reaches DynamoDB
    slow          the call is passed on after `delay` seconds (default 0.3)
    lost_answer   the call is passed on and applied, then the connection is reset: the
                  caller cannot tell whether it was applied
"""
import argparse
import http.client
import json
import random
import socket
import socketserver
import struct
import sys
import threading
import time

TARGET_PREFIX = "DynamoDB_20120810."
CONTROL_PATH = "/__faults"
FAULTS = {"throttle", "throttling", "internal", "conflict", "timeout", "reset", "slow", "lost_answer"}


class Rules:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def replace(self, rules):
        for rule in rules:
            if rule.get("fault") not in FAULTS:
                raise ValueError(f"unknown fault {rule.get('fault')!r}")
        with self.lock:
            self.rules = [dict(rule, seen=0, applied=0) for rule in rules]

    def snapshot(self):
        with self.lock:
            return [dict(rule) for rule in self.rules]

    def pick(self, operation, body):
        """The first rule that applies to this call, counted; None to pass it on."""
        text = body.decode("utf-8", "replace")
        with self.lock:
            for rule in self.rules:
                if rule.get("operation") not in (None, operation):
                    continue
                if "table" in rule and not tables_named(text, rule["table"]):
                    continue
                if "contains" in rule and rule["contains"] not in text:
                    continue
                rule["seen"] += 1
                if rule["seen"] <= rule.get("after", 0):
                    continue
                if "times" in rule and rule["applied"] >= rule["times"]:
                    continue
                if random.random() >= rule.get("probability", 1.0):
                    continue
                rule["applied"] += 1
                return dict(rule)
        return None


def table_names(body):
    """The table names a DynamoDB request body (parsed JSON) holds, wherever they are."""
    names = []

    def walk(value):
        if isinstance(value, dict):
            for key, inner in value.items():
                if key == "TableName" and isinstance(inner, str):
                    names.append(inner)
                elif key == "RequestItems" and isinstance(inner, dict):
                    names.extend(inner)
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(body)
    return names


def tables_named(text, fragment):
    """Whether a table whose name holds `fragment` is named in the request body."""
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return any(fragment in name for name in table_names(body))


def error_body(type_name, message, **extra):
    return json.dumps(dict({"__type": f"com.amazonaws.dynamodb.v20120810#{type_name}",
                            "message": message}, **extra)).encode()


def injected_answer(fault, operation, body):
    """(status, reason, body) of a fault answered in place of DynamoDB."""
    if fault == "throttle":
        return 400, "Bad Request", error_body(
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.")
    if fault == "throttling":
        return 400, "Bad Request", error_body("ThrottlingException", "Rate of requests exceeds the allowed throughput.")
    if fault == "internal":
        return 500, "Internal Server Error", error_body("InternalServerError", "Internal server error")
    if fault == "conflict":
        if operation != "TransactWriteItems":
            return 400, "Bad Request", error_body(
                "TransactionConflictException", "Transaction is ongoing for the item")
        try:
            count = len(json.loads(body).get("TransactItems") or []) or 1
        except ValueError:
            count = 1
        reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}] * count
        listed = ", ".join(["TransactionConflict"] * count)
        return 400, "Bad Request", error_body(
            "TransactionCanceledException",
            f"Transaction cancelled, please refer cancellation reasons for specific reasons [{listed}]",
            CancellationReasons=reasons)
    raise ValueError(fault)


def reset(connection):
    """Closes with a TCP reset (SO_LINGER 0), as a dropped connection looks to the SDK."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    connection.close()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        upstream = None
        try:
            while True:
                request = self.read_request()
                if request is None:
                    return
                method, path, headers, body = request
                if path.split("?", 1)[0] == CONTROL_PATH:
                    self.control(method, body)
                    continue
                target = next((v for k, v in headers if k.lower() == "x-amz-target"), "")
                operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else target
                rule = self.server.rules.pick(operation, body)
                fault = rule["fault"] if rule else None
                if fault in ("throttle", "throttling", "internal", "conflict"):
                    self.answer(*injected_answer(fault, operation, body))
                    continue
                if fault == "timeout":
                    time.sleep(rule.get("delay", 30))
                    reset(self.connection)
                    return
                if fault == "reset":
                    reset(self.connection)
                    return
                if fault == "slow":
                    time.sleep(rule.get("delay", 0.3))
                if upstream is None:
                    upstream = http.client.HTTPConnection(*self.server.upstream, timeout=60)
                status, reason, answer_headers, answer = forward(upstream, method, path, headers, body)
                if fault == "lost_answer":
                    reset(self.connection)
                    return
                self.answer(status, reason, answer, answer_headers)
        except (ConnectionError, OSError):
            return
        finally:
            if upstream is not None:
                upstream.close()

    def read_request(self):
        line = self.rfile.readline(65537)
        if not line:
            return None
        try:
            method, path, _ = line.decode("latin-1").split(" ", 2)
        except ValueError:
            return None
        headers = []
        while True:
            header = self.rfile.readline(65537)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        length = int(next((v for k, v in headers if k.lower() == "content-length"), "0") or 0)
        body = self.rfile.read(length) if length else b""
        return method, path, headers, body

    def answer(self, status, reason, body, headers=(("Content-Type", "application/x-amz-json-1.0"),)):
        head = [f"HTTP/1.1 {status} {reason}"]
        head += [f"{k}: {v}" for k, v in headers
                 if k.lower() not in ("content-length", "transfer-encoding", "connection")]
        head += [f"Content-Length: {len(body)}", "", ""]
        self.wfile.write("\r\n".join(head).encode("latin-1") + body)
        self.wfile.flush()

    def control(self, method, body):
        try:
            if method == "PUT":
                self.server.rules.replace(json.loads(body or b"{}").get("rules") or [])
            elif method == "DELETE":
                self.server.rules.replace([])
            answer = json.dumps({"rules": self.server.rules.snapshot()}).encode()
            self.answer(200, "OK", answer, (("Content-Type", "application/json"),))
        except (ValueError, AttributeError) as error:
            self.answer(400, "Bad Request", json.dumps({"error": str(error)}).encode(),
                        (("Content-Type", "application/json"),))


def forward(upstream, method, path, headers, body):
    """Sends the call on as it came (the signature covers its headers); returns the answer."""
    for attempt in (1, 2):
        try:
            upstream.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers:
                upstream.putheader(name, value)
            upstream.endheaders(body)
            response = upstream.getresponse()
            return response.status, response.reason, response.getheaders(), response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            upstream.close()  # a kept-alive connection the server closed: once more, afresh
            if attempt == 2:
                raise


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.rules = Rules()
    server.upstream = ("127.0.0.1", args.upstream_port)
    print(f"fault proxy on 127.0.0.1:{args.port} -> 127.0.0.1:{args.upstream_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
