"""The IAM check (scripts/check_iam.py) finds what AWS would refuse, and unused grants."""
import io
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import cfn  # noqa: E402
import check_iam  # noqa: E402

STACK = "s"


def template(*statements):
    """A template with a keys table, a tokens table with an index, and one function."""
    return {
        "Resources": {
            "KeysTable": {"Type": "AWS::DynamoDB::Table",
                          "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-keys"}}},
            "TokensTable": {"Type": "AWS::DynamoDB::Table",
                            "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-tokens"}}},
            "JwksFunction": {
                "Type": "AWS::Serverless::Function",
                "Metadata": {"BuildProperties": {"Binary": "jwks"}},
                "Properties": {"Policies": [{"Statement": list(statements)}]},
            },
        }
    }


def call(action, table="s-keys", index=None, attributes=None, select=None):
    return {"action": action, "table": table, "index": index, "attributes": attributes, "select": select}


def run(tpl, *calls, user="jwks", refusals_only=False):
    out = io.StringIO()
    records = [{"user": user, "operation": c["action"], "calls": [c], "status": 200} for c in calls]
    problems = check_iam.check(records, tpl, STACK, out=out, refusals_only=refusals_only)
    return problems, out.getvalue()


KEYS = {"Fn::GetAtt": ["KeysTable", "Arn"]}
PUBLIC_ONLY = {
    "ForAllValues:StringEquals": {"dynamodb:Attributes": ["kid", "n", "e"]},
    "StringEquals": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
}


def test_a_granted_call_passes():
    problems, out = run(template({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": KEYS}),
                        call("GetItem"))
    assert problems == 0, out
    assert "ok       jwks: 1 calls" in out


def test_a_missing_action_is_named_with_function_and_call():
    problems, out = run(template({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": KEYS}),
                        call("GetItem"), call("BatchGetItem"))
    assert problems == 1
    assert "MISSING  jwks (JwksFunction): dynamodb:BatchGetItem on s-keys" in out


def test_the_wrong_table_is_refused():
    problems, out = run(template({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": KEYS}),
                        call("GetItem"), call("GetItem", table="s-tokens"))
    assert problems == 1
    assert "no statement allows dynamodb:GetItem on arn:aws:dynamodb:us-east-1:123456789012:table/s-tokens" in out


def test_a_query_on_an_index_needs_the_index_arn():
    tokens = {"Fn::GetAtt": ["TokensTable", "Arn"]}
    index = {"Fn::Sub": "${TokensTable.Arn}/index/by_grant"}
    problems, out = run(template({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": tokens}),
                        call("Query", table="s-tokens", index="by_grant"))
    assert problems == 2, out  # refused, and the table grant is unused
    assert "/index/by_grant" in out
    problems, out = run(template({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": index}),
                        call("Query", table="s-tokens", index="by_grant"))
    assert problems == 0, out


def test_attribute_conditions_hold_for_a_public_projection():
    statement = {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": KEYS, "Condition": PUBLIC_ONLY}
    problems, out = run(template(statement),
                        call("Scan", attributes=["kid", "n", "e"], select="SPECIFIC_ATTRIBUTES"))
    assert problems == 0, out


def test_a_projection_outside_the_condition_is_refused():
    statement = {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": KEYS, "Condition": PUBLIC_ONLY}
    problems, out = run(template(statement),
                        call("Scan", attributes=["kid", "n", "e"], select="SPECIFIC_ATTRIBUTES"),
                        call("Scan", attributes=["kid", "private_pem"], select="SPECIFIC_ATTRIBUTES"))
    assert problems == 1
    assert "ForAllValues:StringEquals dynamodb:Attributes" in out


def test_a_scan_without_projection_is_refused_by_the_select_condition():
    # ForAllValues holds when the request carries no attributes at all (IAM's rule), which
    # is why the policy also requires Select: the check must apply both rules.
    statement = {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": KEYS, "Condition": PUBLIC_ONLY}
    problems, out = run(template(statement),
                        call("Scan", attributes=["kid"], select="SPECIFIC_ATTRIBUTES"), call("Scan"))
    assert problems == 1
    assert "StringEquals dynamodb:Select" in out


def test_an_unused_grant_is_reported():
    problems, out = run(template({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:DeleteItem"],
                                  "Resource": KEYS}), call("GetItem"))
    assert problems == 1
    assert "UNUSED   jwks (JwksFunction): dynamodb:DeleteItem on keys" in out
    problems, _ = run(template({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:DeleteItem"],
                                "Resource": KEYS}), call("GetItem"), refusals_only=True)
    assert problems == 0


def test_an_explicit_deny_wins():
    problems, out = run(template({"Effect": "Allow", "Action": "dynamodb:*", "Resource": KEYS},
                                 {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": KEYS}),
                        call("GetItem"), call("DeleteItem"))
    assert "an explicit Deny" in out


def test_calls_of_other_identities_and_stacks_are_not_judged():
    tpl = template({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": KEYS})
    problems, out = run(tpl, call("GetItem"), call("DeleteItem"), user="admin")
    assert "MISSING" not in out
    problems, out = run(tpl, call("GetItem"), call("DeleteItem", table="other-keys"))
    assert problems == 0, out


def test_a_refusal_by_the_local_iam_is_reported():
    tpl = template({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": KEYS})
    records = [{"user": "jwks", "operation": "GetItem", "calls": [call("GetItem")], "status": 200},
               {"user": "jwks", "operation": "Scan", "calls": [call("Scan")], "status": 400,
                "error": "AccessDeniedException"}]
    out = io.StringIO()
    assert check_iam.check(records, tpl, STACK, out=out) == 2
    assert "DENIED   jwks (JwksFunction): the local IAM refused dynamodb:Scan" in out.getvalue()


def test_unsupported_conditions_fail_closed():
    statement = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": KEYS,
                 "Condition": {"StringEquals": {"aws:SourceIp": "1.2.3.4"}}}
    with pytest.raises(ValueError):
        run(template(statement), call("GetItem"))


def test_the_real_template_resolves():
    tpl = cfn.load()
    functions = cfn.functions(tpl)
    assert "token" in functions
    for binary, (logical_id, statements) in functions.items():
        check_iam.Policy(binary, logical_id, statements, "stack", tpl)
