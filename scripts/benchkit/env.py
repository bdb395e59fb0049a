"""Paths, and the environment the functions and the bench's tools run with.

The stack's settings (table prefix, issuer, region, DynamoDB endpoint) come from the one place
that defines them for every local script, scripts/lib.sh's `use_stack`, so that the bench
measures the stack that scripts/dev and scripts/test run, and follows it when it changes.
"""
import functools
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
STATE = ROOT / ".local"
LOGS = STATE / "bench-logs"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))

FUNCTIONS = ["scopes", "authorize", "consent", "token", "login", "metadata", "jwks", "revoke", "introspect",
             "userinfo", "logout", "account"]
PREFIX = "bench"
DYNAMO_PORT = 8400
ISSUER_PORT = 9400  # nothing listens there: it only names the issuer

# What the bench adds to lib.sh's stack. moto runs here without IAM enforcement (see
# stack.start_moto), so any key signs; lib.sh leaves the keys to start_dynamodb's admin identity.
BENCH_SETTINGS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    # Codes and tokens minted before a run stay valid however long the bench takes.
    "AUTH_CODE_TTL_SECONDS": "600",
    "AUTH_ACCESS_TOKEN_TTL_SECONDS": "3600",
}


@functools.cache
def stack_env():
    """The AUTH_* and AWS_* variables of `source scripts/lib.sh; use_stack bench 8400 9400`,
    plus BENCH_SETTINGS. bash starts with only PATH and HOME, so that what the caller's shell
    exports (an AWS_PROFILE, an AUTH_AUDIENCE) changes nothing that is measured."""
    script = f'source "$1" && use_stack {PREFIX} {DYNAMO_PORT} {ISSUER_PORT} && env -0'
    result = subprocess.run(
        ["bash", "-c", script, "bench", str(ROOT / "scripts" / "lib.sh")],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(Path.home())},
        capture_output=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"error: scripts/lib.sh use_stack failed: {result.stderr.decode().strip()}")
    pairs = (item.split("=", 1) for item in result.stdout.decode().split("\0") if "=" in item)
    env = {name: value for name, value in pairs if name.startswith(("AUTH_", "AWS_"))}
    missing = {"AUTH_TABLE_PREFIX", "AUTH_ISSUER", "AWS_REGION", "AWS_ENDPOINT_URL_DYNAMODB"} - env.keys()
    if missing:
        raise SystemExit(f"error: scripts/lib.sh use_stack no longer sets {', '.join(sorted(missing))}")
    return {**env, **BENCH_SETTINGS}


def tool_env():
    """Our environment with the virtualenv (cargo-lambda, zig) and cargo first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV / 'bin'}:{Path.home() / '.cargo' / 'bin'}:{env.get('PATH', '')}"
    return env


def stack_tool_env():
    """Our environment with the stack's in place of our own AUTH_* and AWS_* (a profile or a
    session token of the caller's would otherwise win): for create_tables.py and authctl."""
    own = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "AWS_"))}
    return {**own, **stack_env()}


def function_env(function_name, runtime_api, memory_mb=128, overrides=None):
    """What Lambda gives a function, plus the stack's settings: nothing of our own environment,
    as on Lambda. `overrides` (--as-lambda: the TLS endpoint and its trust store) win."""
    return {
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "_HANDLER": "bootstrap",
        **stack_env(),
        **trust_store_env(),
        **(overrides or {}),
    }


def trust_store_env():
    """template.yaml points SSL_CERT_FILE at Amazon Linux's CA bundle; the same here with
    this machine's bundle, so that init loads what it loads on Lambda: one file."""
    for bundle in ("/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"):
        if Path(bundle).is_file():
            return {"SSL_CERT_FILE": bundle}
    return {}


def host_binary(function_name):
    """BENCH_PROFILE=profiling: the release build with symbols (`cargo build --profile profiling`)."""
    return TARGET / os.environ.get("BENCH_PROFILE", "release") / function_name
