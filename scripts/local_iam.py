#!/usr/bin/env python3
"""Give every function of template.yaml its own IAM identity on the local DynamoDB server.

For each AWS::Serverless::Function, an IAM user named after its binary gets that function's
policy statements from template.yaml, with their actions as written and their resources
widened to `*` (moto matches actions only; scripts/check_iam.py checks resources and
conditions from the recorded calls). Each user gets a fresh access key, written as a profile
named after the binary to an AWS shared credentials file. `cargo lambda watch` runs each
function with AWS_PROFILE set to its binary's name (`[package.metadata.lambda.env]` in its
Cargo.toml, which this script checks), so each function holds only its own policy's actions.

Run as the admin identity (AWS_ACCESS_KEY_ID of scripts/dynamodb_server.py).
"""
import argparse
import configparser
import json
import os
import sys
import tomllib

import boto3

import cfn


def check_profile_setting(binary):
    """The function's Cargo.toml must run it under its own profile."""
    manifest = os.path.join(cfn.ROOT, "functions", binary, "Cargo.toml")
    try:
        with open(manifest, "rb") as f:
            data = tomllib.load(f)
    except OSError:
        return f"{manifest} is missing"
    env = data.get("package", {}).get("metadata", {}).get("lambda", {}).get("env", {})
    if env.get("AWS_PROFILE") != binary:
        return (f"{manifest} must set AWS_PROFILE = \"{binary}\" under [package.metadata.lambda.env], "
                f"so that `cargo lambda watch` runs it with its own IAM identity")
    return None


# AWS authorizes each item of a transaction by its own action (PutItem, UpdateItem, ...);
# moto asks for the operation's name instead. A policy that grants an item action therefore
# gets the transaction's name on moto; check_iam.py judges each item as AWS does.
TRANSACTION_ACTIONS = {
    "dynamodb:PutItem": "dynamodb:TransactWriteItems",
    "dynamodb:UpdateItem": "dynamodb:TransactWriteItems",
    "dynamodb:DeleteItem": "dynamodb:TransactWriteItems",
    "dynamodb:ConditionCheckItem": "dynamodb:TransactWriteItems",
    "dynamodb:GetItem": "dynamodb:TransactGetItems",
}


def local_policy(statements):
    """The statements for moto: actions as written, resources `*`, no conditions."""
    local = []
    for statement in statements:
        actions = cfn.as_list(statement["Action"])
        extra = {TRANSACTION_ACTIONS[a] for a in actions if a in TRANSACTION_ACTIONS} - set(actions)
        local.append({"Effect": statement["Effect"], "Action": actions + sorted(extra), "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": local}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", required=True, help="the AWS shared credentials file to write")
    parser.add_argument("--template", default=cfn.TEMPLATE)
    args = parser.parse_args()
    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        parser.error("AWS_ENDPOINT_URL_DYNAMODB is not set: refusing to create IAM users in AWS")

    functions = cfn.functions(cfn.load(args.template))
    problems = [p for p in (check_profile_setting(binary) for binary in functions) if p]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1

    iam = boto3.client("iam", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"], region_name=cfn.REGION)
    existing = {user["UserName"] for user in iam.list_users()["Users"]}
    profiles = configparser.ConfigParser()
    for binary, (logical_id, statements) in sorted(functions.items()):
        if binary not in existing:
            iam.create_user(UserName=binary, Tags=[{"Key": "function", "Value": logical_id}])
        iam.put_user_policy(UserName=binary, PolicyName=logical_id,
                            PolicyDocument=json.dumps(local_policy(statements)))
        for old in iam.list_access_keys(UserName=binary)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=binary, AccessKeyId=old["AccessKeyId"])
        key = iam.create_access_key(UserName=binary)["AccessKey"]
        profiles[binary] = {"aws_access_key_id": key["AccessKeyId"],
                            "aws_secret_access_key": key["SecretAccessKey"]}

    tmp = args.credentials + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
        profiles.write(f)
    os.replace(tmp, args.credentials)
    return 0


if __name__ == "__main__":
    sys.exit(main())
