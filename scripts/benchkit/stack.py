"""The local stack the functions run against: moto's DynamoDB server, the tables of
template.yaml and the data the requests need, created as an operator creates them."""
import json
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .env import DYNAMO_PORT, LOGS, TARGET, VENV, stack_env, stack_tool_env
from .proc import CHILDREN, die, log, port_open, run, wait_for_port

CLIENT_ID = "bench-client"
REDIRECT_URI = "http://127.0.0.1:8765/callback"
USERNAME = "bench"

# moto copies every table that a TransactWriteItems touches (to roll back), so its latency grows
# with the table: the codes and refresh tokens the bench itself issues are deleted between runs.
GROWING_TABLES = ("codes", "tokens")


def start_moto():
    """moto's DynamoDB server on DYNAMO_PORT, unless something already listens there.

    Not scripts/dynamodb_server.py: that server always enforces IAM (every call's signature
    looked up and its action checked against the caller's policies, in moto's Python) and
    passes every DynamoDB call through its recording middleware, with no switch to turn either
    off. Measured with boto3, interleaved, that added 0.5-0.6 ms to a median round trip of about
    5 ms (boto3's own time included, the machine busy). The bench measures our code, so it keeps
    moto's extra work out of the latencies: moto here enforces nothing and records nothing. IAM
    is checked where it belongs, by scripts/test and scripts/check_iam.py.

    Served by waitress as dynamodb_server.py serves it: `python -m moto.server` runs on
    werkzeug, which closes the connection after every response where DynamoDB keeps it open,
    so every call of a warm function would pay for a TCP connection it does not pay for on Lambda.
    """
    if port_open(DYNAMO_PORT):
        log(f"DynamoDB server already on port {DYNAMO_PORT}: reusing it")
        return
    log(f"starting moto's DynamoDB server on port {DYNAMO_PORT} (waitress, keep-alive)")
    # With DynamoDB's idempotent transactions (benchkit/idempotent.py): a retried transaction
    # whose first attempt moto applied late must not count as a second one; and DynamoDB's
    # consumed capacity (capacity.py) in place of moto's.
    serve_moto = ("import sys\n"
                  f"sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
                  "from benchkit.idempotent import IdempotentTransactions\n"
                  "from capacity import Capacity\n"
                  "from moto.server import DomainDispatcherApplication, create_backend_app\n"
                  "from waitress import serve\n"
                  "serve(IdempotentTransactions(Capacity(DomainDispatcherApplication(create_backend_app))), "
                  f"host='127.0.0.1', port={DYNAMO_PORT}, threads=4, _quiet=True)")
    CHILDREN.start([str(VENV / "bin" / "python"), "-c", serve_moto], LOGS / "moto.log")
    wait_for_port(DYNAMO_PORT, 30, "moto's DynamoDB server")


def authctl_binary():
    for profile in ("release", "debug"):
        path = TARGET / profile / "authctl"
        if path.exists():
            return path
    die("no authctl binary: run `cargo build --release --bins`")


def authctl(*args, stdin=None, check=True):
    result = subprocess.run([str(authctl_binary()), *args], input=stdin, capture_output=True, text=True,
                            env=stack_tool_env())
    if check and result.returncode != 0:
        die(f"authctl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def dynamodb():
    import boto3  # from the virtualenv

    env = stack_env()
    return boto3.client("dynamodb", region_name=env["AWS_REGION"], endpoint_url=env["AWS_ENDPOINT_URL_DYNAMODB"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def empty_growing_tables():
    client = dynamodb()
    prefix = stack_env()["AUTH_TABLE_PREFIX"]
    for suffix in GROWING_TABLES:
        table = f"{prefix}-{suffix}"
        key_names = [k["AttributeName"] for k in client.describe_table(TableName=table)["Table"]["KeySchema"]]
        keys = [{name: item[name] for name in key_names}
                for page in client.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]
        for start in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": key}} for key in keys[start:start + 25]]
            client.batch_write_item(RequestItems={table: requests})


@dataclass
class Seed:
    client_secret: str
    password: str


def seed_stack():
    """Tables of template.yaml and the data the requests need, as an operator creates them:
    the client and the user anew (a new user has no consent yet, so authorize shows the
    consent page once), the scope and a signing key if missing."""
    log(f"tables and data under the prefix {stack_env()['AUTH_TABLE_PREFIX']}")
    run([str(VENV / "bin" / "python"), "scripts/create_tables.py", "--quiet"], env=stack_tool_env())
    if '"name":"openid"' not in authctl("--json", "scope", "list").replace(" ", ""):
        authctl("init")  # the OpenID Connect scopes and the first signing key, as an operator does
    authctl("client", "delete", CLIENT_ID, check=False)
    created = authctl("--json", "client", "create", "--id", CLIENT_ID, "--name", "Bench App",
                      "--redirect-uri", REDIRECT_URI, "--scope", "openid", "--scope", "profile",
                      "--default-scope", "openid",
                      "--grant", "authorization_code", "--grant", "refresh_token")
    password = secrets.token_urlsafe(12)
    authctl("user", "delete", USERNAME, check=False)
    authctl("user", "create", USERNAME, "--password-stdin", stdin=password + "\n")
    if '"kid"' not in authctl("--json", "keys", "list"):
        authctl("keys", "rotate")
    return Seed(json.loads(created)["client_secret"], password)
