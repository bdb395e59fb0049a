#!/usr/bin/env python3
"""The local DynamoDB server: moto, with IAM enforced and every call recorded.

Serves moto's app with waitress (keep-alive connections, as DynamoDB keeps them). Before it
serves, it creates an `admin` IAM user allowed everything, writes that user's access key to
--admin-env (a file of `export` lines for scripts, authctl and the storage tests), then turns
moto's IAM enforcement on: from then on every call must be signed by a known access key and
its action allowed by that user's policies (moto checks the action only; resources and
conditions are checked from the recording by scripts/check_iam.py).

With --record FILE, every DynamoDB call is appended to FILE as one JSON line: the IAM user
that signed it, the operation, the parts of the request that IAM looks at (tables, index,
projection, Select) and moto's answer (status, error code). Nothing else of the request
(keys, items, values) is written.

Inside the atomic section, scripts/capacity.py computes the `ConsumedCapacity` that DynamoDB
would report from the items' real sizes, in place of moto's made-up figures.
"""
import argparse
import collections
import json
import os
import re
import sys
import threading
import time

import boto3
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam.models import iam_backends
from moto.server import DomainDispatcherApplication, create_backend_app
from waitress import create_server

from capacity import Capacity, dynamodb_call

ACCOUNT_ID = "123456789012"
ADMIN_USER = "admin"
ACCESS_DENIED = re.compile(rb"<Code>AccessDenied</Code><Message>([^<]*)</Message>")


def table_arn(name):
    return f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/{name}"


def access_key_id(authorization):
    """The access key id of a SigV4 Authorization header (`... Credential=AKID/date/...`)."""
    marker = "Credential="
    start = authorization.find(marker)
    if start < 0:
        return None
    return authorization[start + len(marker):].split("/", 1)[0]


def user_of(key_id, cache={}):
    """The moto IAM user that owns an access key, or None."""
    if key_id in cache:
        return cache[key_id]
    backend = iam_backends[ACCOUNT_ID]["aws"]
    for user in backend.users.values():
        for key in user.access_keys:
            cache[key.access_key_id] = user.name
    return cache.get(key_id)


def projection(part):
    """The top-level attribute names a ProjectionExpression reads, names resolved."""
    expression = part.get("ProjectionExpression")
    if expression is None:
        return None
    names = part.get("ExpressionAttributeNames") or {}
    attributes = []
    for path in expression.split(","):
        top = path.strip().split(".", 1)[0].split("[", 1)[0]
        attributes.append(names.get(top, top))
    return attributes


def summary(operation, body):
    """What IAM evaluates of a request: (action, table, index, attributes, select) per item."""
    def one(action, part):
        return {
            "action": action,
            "table": part.get("TableName"),
            "index": part.get("IndexName"),
            "attributes": projection(part),
            "select": part.get("Select"),
        }

    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [dict(one(operation, dict(keys, TableName=table)))
                for table, keys in (body.get("RequestItems") or {}).items()]
    if operation == "TransactWriteItems":
        kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                 "ConditionCheck": "ConditionCheckItem"}
        return [one(kinds[kind], part) for item in body.get("TransactItems") or []
                for kind, part in item.items() if kind in kinds]
    if operation == "TransactGetItems":
        return [one("GetItem", item["Get"]) for item in body.get("TransactItems") or [] if "Get" in item]
    return [one(operation, body)]


class Recorder:
    """WSGI middleware in front of moto for DynamoDB calls: applies each atomically, answers a
    refusal as DynamoDB does, and records each call with its answer."""

    def __init__(self, app, path):
        self.app = app
        self.lock = threading.Lock()
        # DynamoDB applies each request atomically (a conditional write has one winner);
        # moto's backend does not lock, so two threads can both pass the same condition.
        # One DynamoDB request at a time here gives the tests DynamoDB's atomicity.
        self.atomic = threading.Lock()
        self.out = open(path, "a", encoding="utf-8", buffering=1) if path else None
        self.transactions = collections.OrderedDict()  # ClientRequestToken -> (when, answer)

    def __call__(self, environ, start_response):
        call = dynamodb_call(environ)
        if call is None:
            return self.app(environ, start_response)
        operation, body = call
        answer = {}

        def capture(status_line, headers, exc_info=None):
            answer["status"], answer["headers"] = status_line, headers
            return lambda data: None

        with self.atomic:
            repeated = self.idempotent_answer(operation, body)
            if repeated:
                answer["status"], answer["headers"], chunks = repeated
            else:
                chunks = list(self.app(environ, capture))
                self.remember_answer(operation, body, answer, chunks)
        status_line, headers = answer["status"], answer["headers"]
        denied = ACCESS_DENIED.search(b"".join(chunks)) if status_line.startswith("403") else None
        if denied:
            # moto answers an XML 403; DynamoDB answers this JSON 400, which the SDK parses.
            table = body.get("TableName") or next(iter(body.get("RequestItems") or {}), "")
            chunks = [json.dumps({
                "__type": "com.amazon.coral.service#AccessDeniedException",
                "Message": f"{denied.group(1).decode()} on resource: {table_arn(table)} "
                           f"because no identity-based policy allows the action",
            }).encode()]
            status_line = "400 Bad Request"
            headers = [("Content-Type", "application/x-amz-json-1.0"),
                       ("Content-Length", str(len(chunks[0])))]
        start_response(status_line, headers)
        if self.out is not None:
            self.record(environ, operation, body, int(status_line.split(" ", 1)[0]), chunks)
        return chunks

    # DynamoDB's idempotent transactions, which moto lacks: a TransactWriteItems that succeeded
    # and is sent again with the same ClientRequestToken within 10 minutes succeeds again
    # without writing anything. The SDK sets the token and keeps it across its retries, so a
    # transaction whose answer was lost is retried as on DynamoDB (the fault matrix does this).
    IDEMPOTENCY_SECONDS = 600

    def idempotent_answer(self, operation, body):
        token = body.get("ClientRequestToken") if operation == "TransactWriteItems" else None
        entry = self.transactions.get(token) if token else None
        if entry and time.monotonic() - entry[0] < self.IDEMPOTENCY_SECONDS:
            return entry[1]
        return None

    def remember_answer(self, operation, body, answer, chunks):
        token = body.get("ClientRequestToken") if operation == "TransactWriteItems" else None
        if token and answer["status"].startswith("200"):
            now = time.monotonic()
            while self.transactions:  # oldest first: drop the expired
                oldest = next(iter(self.transactions.values()))
                if now - oldest[0] < self.IDEMPOTENCY_SECONDS:
                    break
                self.transactions.popitem(last=False)
            self.transactions[token] = (now, (answer["status"], answer["headers"], chunks))

    def record(self, environ, operation, body, status, chunks):
        record = {
            "user": user_of(access_key_id(environ.get("HTTP_AUTHORIZATION", ""))),
            "operation": operation,
            "calls": summary(operation, body),
            "status": status,
        }
        if status >= 400:
            try:
                error = json.loads(b"".join(chunks) or b"{}")
                record["error"] = str(error.get("__type", "")).rsplit("#", 1)[-1]
                record["message"] = error.get("message") or error.get("Message")
            except ValueError:
                record["error"] = "unreadable"
        with self.lock:
            self.out.write(json.dumps(record) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--admin-env", required=True,
                        help="file to write the admin identity's AWS_* variables to")
    parser.add_argument("--record", help="append every DynamoDB call to this JSON-lines file")
    args = parser.parse_args()

    app = Recorder(Capacity(DomainDispatcherApplication(create_backend_app)), args.record)
    server = create_server(app, host="127.0.0.1", port=args.port, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    # While enforcement is off (moto's default), create the admin identity; then enforce.
    endpoint = f"http://127.0.0.1:{args.port}"
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam.create_user(UserName=ADMIN_USER)
    iam.put_user_policy(UserName=ADMIN_USER, PolicyName="everything", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0

    tmp = args.admin_env + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
        f.write(f"export AWS_ACCESS_KEY_ID={key['AccessKeyId']}\n"
                f"export AWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}\n")
    os.replace(tmp, args.admin_env)
    print(f"moto on {endpoint}: IAM enforced; admin identity in {args.admin_env}", flush=True)
    thread.join()


if __name__ == "__main__":
    sys.exit(main())
