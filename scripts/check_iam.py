#!/usr/bin/env python3
"""Check every DynamoDB call the functions made against their policies in template.yaml.

Reads the calls that scripts/dynamodb_server.py recorded (--record) during a test run, and
evaluates each one as IAM would in AWS: the action (TransactWriteItems needs the action of
each of its items, BatchGetItem its own), the resource (the table's ARN, or the index's ARN
for a Query on an index), and the conditions `dynamodb:Attributes` and `dynamodb:Select`
(with IAM's rules for a key the request does not carry: `ForAllValues` holds, `StringEquals`
fails). moto, which the local stack runs on, checks only the action.

Fails, naming function, call and what is missing, when a call is not allowed; and, for least
privilege, when a grant (function, action, resource) allowed no recorded call.
"""
import argparse
import fnmatch
import json
import sys
from collections import Counter, defaultdict

import cfn

CONDITION_KEYS = {"dynamodb:Attributes", "dynamodb:Select"}


def request_values(call, key):
    """The values of a condition key in a call, or None when the request does not carry it."""
    if key == "dynamodb:Attributes":
        return call.get("attributes")
    if key == "dynamodb:Select":
        return [call["select"]] if call.get("select") else None
    raise ValueError(f"condition key {key} is not supported by this check")


def string_match(operator, pattern, value):
    if operator.startswith("StringLike"):
        return fnmatch.fnmatchcase(value, pattern)
    return value == pattern


def condition_holds(operator, key, expected, call):
    """One condition of a statement, with IAM's semantics for multi-valued and absent keys."""
    expected = [str(v) for v in cfn.as_list(expected)]
    values = request_values(call, key)
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in ("StringEquals", "StringLike"):
        raise ValueError(f"condition operator {operator} is not supported by this check")
    if values is None:
        return qualifier == "ForAllValues" or if_exists
    matches = [any(string_match(base, e, v) for e in expected) for v in values]
    if qualifier == "ForAllValues":
        return all(matches)
    if qualifier == "ForAnyValue":
        return any(matches)
    if qualifier:
        raise ValueError(f"condition operator {operator} is not supported by this check")
    # A single-valued key: the request's one value must match.
    return len(values) == 1 and matches[0]


def conditions_hold(statement, call):
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, expected in pairs.items():
            if not condition_holds(operator, key, expected, call):
                return False, f"condition {operator} {key} {expected} fails for {request_values(call, key)}"
    return True, None


class Policy:
    """One function's statements, resolved for a stack name."""

    def __init__(self, binary, logical_id, statements, stack_name, template):
        self.binary = binary
        self.logical_id = logical_id
        self.statements = []
        for statement in statements:
            unknown = set().union(*[set(p) for p in (statement.get("Condition") or {}).values()]) - CONDITION_KEYS
            if unknown:
                raise ValueError(f"{logical_id}: condition keys {sorted(unknown)} are not supported by this check")
            self.statements.append({
                "Effect": statement["Effect"],
                "Action": cfn.as_list(statement["Action"]),
                "Resource": [cfn.resolve(r, stack_name, template) for r in cfn.as_list(statement["Resource"])],
                "Condition": statement.get("Condition"),
            })
        # Every (action, resource) this policy grants, to find the ones no call used.
        self.used = {(a, r): 0 for s in self.statements if s["Effect"] == "Allow"
                     for a in s["Action"] for r in s["Resource"]}

    def evaluate(self, call):
        """(allowed, why not) for one call; marks the grants that allowed it."""
        action = "dynamodb:" + call["action"]
        resource = cfn.table_arn(call["table"]) + (f"/index/{call['index']}" if call.get("index") else "")
        granted, reasons = [], []
        for statement in self.statements:
            actions = [a for a in statement["Action"] if fnmatch.fnmatchcase(action.lower(), a.lower())]
            resources = [r for r in statement["Resource"] if fnmatch.fnmatchcase(resource, r)]
            if not actions or not resources:
                continue
            holds, why = conditions_hold(statement, call)
            if not holds:
                reasons.append(why)
                continue
            if statement["Effect"] == "Deny":
                return False, "an explicit Deny"
            granted.extend((a, r) for a in actions for r in resources)
        if not granted:
            return False, "; ".join(reasons) or f"no statement allows {action} on {resource}"
        for grant in granted:
            self.used[grant] += 1
        return True, None


def short(resource, stack_name):
    """`tokens` for arn:...:table/<stack>-tokens, `tokens/index/x` for an index."""
    name = resource.rsplit(":table/", 1)[-1]
    return name.removeprefix(stack_name + "-")


def describe(call):
    parts = [f"dynamodb:{call['action']} on {call['table']}"]
    if call.get("index"):
        parts.append(f"index {call['index']}")
    if call.get("attributes") is not None:
        parts.append(f"projecting {', '.join(call['attributes'])}")
    if call.get("select"):
        parts.append(f"Select {call['select']}")
    return ", ".join(parts)


def check(records, template, stack_name, out=sys.stdout, refusals_only=False):
    """Prints the verdict; returns the number of problems."""
    functions = cfn.functions(template)
    policies = {binary: Policy(binary, logical_id, statements, stack_name, template)
                for binary, (logical_id, statements) in functions.items()}
    calls_by_function = Counter()
    refused = defaultdict(Counter)   # function -> (call description, why) -> count
    denied_by_moto = defaultdict(Counter)
    for record in records:
        policy = policies.get(record.get("user"))
        if policy is None:
            continue
        calls = [c for c in record["calls"] if (c.get("table") or "").startswith(stack_name + "-")]
        if not calls:
            continue  # another stack's tables on the same server
        if record.get("error") == "AccessDeniedException":
            denied_by_moto[policy.binary][record["operation"]] += 1
        for call in calls:
            calls_by_function[policy.binary] += 1
            allowed, why = policy.evaluate(call)
            if not allowed:
                refused[policy.binary][(describe(call), why)] += 1

    problems = 0
    total = sum(calls_by_function.values())
    print(f"IAM check: {total} DynamoDB calls of {len(calls_by_function)} functions "
          f"against their policies in template.yaml (stack {stack_name})", file=out)
    for binary, operations in sorted(denied_by_moto.items()):
        for operation, count in sorted(operations.items()):
            print(f"  DENIED   {binary} ({policies[binary].logical_id}): the local IAM refused "
                  f"dynamodb:{operation} ({count}x): template.yaml does not grant that action", file=out)
    for binary, calls in sorted(refused.items()):
        for (what, why), count in sorted(calls.items()):
            problems += 1
            print(f"  MISSING  {binary} ({policies[binary].logical_id}): {what} ({count}x): {why}", file=out)
    for binary, policy in sorted(policies.items()):
        for (action, resource), count in sorted(policy.used.items()):
            if count == 0 and not refusals_only:
                problems += 1
                print(f"  UNUSED   {binary} ({policy.logical_id}): {action} on {short(resource, stack_name)}: "
                      f"no recorded call needed it (least privilege: remove it, or test the path that needs it)",
                      file=out)
    if problems == 0 and not denied_by_moto:
        for binary, count in sorted(calls_by_function.items()):
            grants = ", ".join(f"{a.removeprefix('dynamodb:')} {short(r, stack_name)}"
                               for (a, r) in sorted(policies[binary].used))
            print(f"  ok       {binary}: {count} calls; grants used: {grants}", file=out)
    return problems + sum(len(v) for v in denied_by_moto.values())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", required=True, help="the calls recorded by scripts/dynamodb_server.py")
    parser.add_argument("--prefix", required=True, help="the stack name (AUTH_TABLE_PREFIX) of the run")
    parser.add_argument("--template", default=cfn.TEMPLATE)
    parser.add_argument("--refusals-only", action="store_true",
                        help="report calls that were or would be refused, not unused grants (for a run that stopped early)")
    args = parser.parse_args()
    with open(args.record, encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    problems = check(records, cfn.load(args.template), args.prefix, refusals_only=args.refusals_only)
    if problems:
        print(f"IAM check failed: {problems} problem(s); each function's policy is in template.yaml", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
