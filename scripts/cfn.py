"""template.yaml as data, for the local stack's scripts: the tables, the functions and their
IAM statements. template.yaml is the only copy of these facts; the scripts read them here."""
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATE = os.path.join(ROOT, "template.yaml")
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Sub, !Ref, ...) as their long forms."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


CfnLoader.add_multi_constructor("!", _tag)


def load(path=TEMPLATE):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)


def resolve(value, stack_name, template):
    """A string value with the stack's name, tables' names and ARNs put in."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("Ref") == "AWS::StackName":
        return stack_name
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        if attribute != "Arn":
            raise ValueError(f"unsupported !GetAtt {logical_id}.{attribute}")
        return table_arn(table_name(template, logical_id, stack_name))
    if isinstance(value, dict) and "Fn::Sub" in value:
        def substitute(match):
            name = match.group(1)
            if name == "AWS::StackName":
                return stack_name
            if name == "AWS::Region":
                return REGION
            if name == "AWS::AccountId":
                return ACCOUNT_ID
            if name == "AWS::Partition":
                return "aws"
            if name.endswith(".Arn"):
                return table_arn(table_name(template, name[:-4], stack_name))
            raise ValueError(f"unsupported ${{{name}}} in !Sub")
        return re.sub(r"\$\{([^}]+)\}", substitute, value["Fn::Sub"])
    raise ValueError(f"unsupported value {value!r}")


def table_name(template, logical_id, stack_name):
    resource = template["Resources"][logical_id]
    if resource.get("Type") != "AWS::DynamoDB::Table":
        raise ValueError(f"{logical_id} is not a table")
    return resolve(resource["Properties"]["TableName"], stack_name, template)


def table_arn(name):
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"


def tables(template):
    """(logical id, properties) of every table."""
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::DynamoDB::Table":
            yield logical_id, resource["Properties"]


def functions(template):
    """{binary name: (logical id, [IAM statements])} of every function."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = resource["Metadata"]["BuildProperties"]["Binary"]
        statements = []
        for policy in resource["Properties"].get("Policies", []):
            if not isinstance(policy, dict) or "Statement" not in policy:
                raise ValueError(f"{logical_id}: only inline Statement policies are supported")
            statements.extend(policy["Statement"])
        found[binary] = (logical_id, statements)
    return found


def memory_sizes(template):
    """{binary name: MemorySize in MB} of every function: its own, else the Globals'."""
    default = template.get("Globals", {}).get("Function", {}).get("MemorySize", 128)
    return {resource["Metadata"]["BuildProperties"]["Binary"]: int(resource["Properties"].get("MemorySize", default))
            for resource in template["Resources"].values()
            if resource.get("Type") == "AWS::Serverless::Function"}


def as_list(value):
    return value if isinstance(value, list) else [value]
