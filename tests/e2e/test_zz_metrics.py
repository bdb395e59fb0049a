"""Operators' metrics: the functions write CloudWatch Embedded Metric Format lines to stdout
(CloudWatch Logs turns them into metrics in the `AuthApi` namespace). Drives a flow with
its failures over HTTP and reads what the stack wrote to its log meanwhile."""
import json
import os
import time

import requests

from conftest import (WITH_REFRESH, client_auth, code_grant, create_client, create_scope,
                      create_user, get_code, login, post_token, signed_in_agent)

LOG = os.environ.get("AUTH_STACK_LOG")


def emf_documents(text):
    """The EMF documents among the log's lines, as {metric name: document}."""
    found = {}
    for line in text.splitlines():
        start = line.find("{")
        if start < 0 or '"_aws"' not in line:
            continue
        document = json.loads(line[start:])
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                found.setdefault(metric["Name"], []).append((directive, document))
    return found


def test_security_and_usage_events_become_cloudwatch_metrics(base_url):
    assert LOG and os.path.exists(LOG), "scripts/test sets AUTH_STACK_LOG to the stack's log"
    start = os.path.getsize(LOG)
    scope, _ = create_scope("metrics")
    client = create_client(scope, flags=WITH_REFRESH)
    user = create_user("metrics")

    login(requests.Session(), base_url, user.username, user.password + "x")  # SignInFailures
    agent = signed_in_agent(base_url, user)  # SignIns
    code, verifier = get_code(base_url, client, user, scope, agent=agent)  # ConsentApprovals
    exchange = code_grant(code, verifier)
    tokens = post_token(base_url, exchange, client).json()
    assert "access_token" in tokens, tokens  # TokensIssued
    replay = post_token(base_url, exchange, client)
    assert replay.status_code == 400  # CodeReplays
    wrong = post_token(base_url, exchange, auth=client_auth(client, "wrong-secret"))
    assert wrong.status_code == 401  # ClientAuthFailures

    time.sleep(1)  # let the log writer flush
    with open(LOG, encoding="utf-8", errors="replace") as f:
        f.seek(start)
        metrics = emf_documents(f.read())
    for name in ("SignInFailures", "SignIns", "ConsentApprovals", "TokensIssued", "CodeReplays",
                 "ClientAuthFailures"):
        assert name in metrics, f"no {name} metric in the log (found {sorted(metrics)})"
        directive, document = metrics[name][0]
        assert directive["Namespace"] == "AuthApi"
        assert directive["Dimensions"] == [["Stack"]] and document["Stack"]
        assert document[name] == 1
        assert isinstance(document["_aws"]["Timestamp"], int)
