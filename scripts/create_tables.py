#!/usr/bin/env python3
"""Create the DynamoDB tables of template.yaml on the local server.

template.yaml is the only copy of the table definitions: this script reads every
AWS::DynamoDB::Table there, puts the stack name (AUTH_TABLE_PREFIX) where the
template says ${AWS::StackName}, and creates what is missing (a second run changes nothing).
The endpoint comes from AWS_ENDPOINT_URL_DYNAMODB, as for the functions.
"""
import argparse
import os
import sys

import boto3

import cfn


def table_definitions(template_path, stack_name):
    template = cfn.load(template_path)
    for logical_id, props in cfn.tables(template):
        table = {
            "TableName": cfn.resolve(props["TableName"], stack_name, template),
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            table["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        yield logical_id, table, props.get("TimeToLiveSpecification")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", default=cfn.TEMPLATE)
    parser.add_argument("--prefix", default=os.environ.get("AUTH_TABLE_PREFIX"),
                        help="stack name that prefixes every table (default: $AUTH_TABLE_PREFIX)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if not args.prefix:
        parser.error("--prefix or AUTH_TABLE_PREFIX is required")
    if not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        parser.error("AWS_ENDPOINT_URL_DYNAMODB is not set: refusing to create tables in AWS (use sam deploy)")

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    dynamodb = boto3.client("dynamodb", region_name=region)
    existing = set(dynamodb.list_tables()["TableNames"])
    for logical_id, table, ttl in table_definitions(args.template, args.prefix):
        name = table["TableName"]
        if name in existing:
            continue
        dynamodb.create_table(**table)
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        if not args.quiet:
            print(f"created {name} ({logical_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
