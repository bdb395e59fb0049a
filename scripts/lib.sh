# Shared by scripts/dev and scripts/test: the local stack's pieces.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
STATE="$ROOT/.local"
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"
export SAM_CLI_TELEMETRY=0

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The local DynamoDB server enforces IAM: start_dynamodb exports its admin identity for the
# scripts, authctl and the storage tests; each function gets its own (watch_functions).
use_local_aws() {
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$1"
  export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
}

# The settings that template.yaml gives the functions in AWS, for a local stack.
use_stack() { # prefix dynamo_port http_port
  use_local_aws "$2"
  export AUTH_TABLE_PREFIX="$1"
  export AUTH_ISSUER="http://127.0.0.1:$3"
  export AUTH_AUDIENCE="${AUTH_AUDIENCE:-$AUTH_ISSUER}"
  export AUTH_PYTHON="$VENV/bin/python"
}

# Python tools into the project's own virtualenv; reinstalled when requirements change.
ensure_python_env() {
  local stamp="$VENV/.requirements.sha256" want
  want=$(sha256sum "$ROOT/tests/requirements.txt" | cut -d' ' -f1)
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing Python tools (cargo-lambda, moto, cfn-lint, sam, pytest, authlib)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/tests/requirements.txt"
    echo "$want" > "$stamp"
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # port seconds what
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    port_open "$1" && return 0
    sleep 0.1
  done
  die "$3 did not start on port $1 within $2 s"
}

# Starts the local DynamoDB server (moto with IAM enforced and every call recorded, see
# scripts/dynamodb_server.py) unless this script started one there already; exports its
# admin identity. Sets DYNAMO_PID (empty if reused) and DYNAMO_CALLS (the recording).
start_dynamodb() { # port logfile
  local admin_env="$STATE/dynamodb-$1.env"
  DYNAMO_PID=
  DYNAMO_CALLS="$STATE/dynamodb-$1.calls.jsonl"
  mkdir -p "$STATE" "$(dirname "$2")"
  if port_open "$1"; then
    [ -f "$admin_env" ] || die "a server that these scripts did not start listens on port $1: stop it"
    log "DynamoDB server already on port $1: reusing it"
  else
    rm -f "$admin_env" "$DYNAMO_CALLS"
    "$VENV/bin/python" "$ROOT/scripts/dynamodb_server.py" --port "$1" --admin-env "$admin_env" \
      --record "$DYNAMO_CALLS" >"$2" 2>&1 &
    DYNAMO_PID=$!
    local i
    for ((i = 0; i < 300; i++)); do
      [ -f "$admin_env" ] && break
      kill -0 "$DYNAMO_PID" 2>/dev/null || { cat "$2" >&2; die "the DynamoDB server did not start"; }
      sleep 0.1
    done
    [ -f "$admin_env" ] || die "the DynamoDB server did not start on port $1 within 30 s"
  fi
  # shellcheck disable=SC1090
  source "$admin_env"
}

# Starts scripts/fault_proxy.py in front of the DynamoDB server: it passes every call on until
# a test sets fault rules on it (tests/e2e/test_faults.py). Sets FAULT_PROXY_PID.
start_fault_proxy() { # port upstream_port logfile
  port_open "$1" && die "port $1 is in use"
  "$VENV/bin/python" "$ROOT/scripts/fault_proxy.py" --port "$1" --upstream-port "$2" >"$3" 2>&1 &
  FAULT_PROXY_PID=$!
  wait_for_port "$1" 30 "the fault proxy"
}

# One IAM user per function on the local server, holding that function's policy from
# template.yaml; their keys go to a credentials file that watch_functions hands over.
create_function_identities() { # credentials_file
  "$VENV/bin/python" "$ROOT/scripts/local_iam.py" --credentials "$1"
}

# Serves every function with `cargo lambda watch`, each under its own IAM identity: the
# admin keys are not passed on, and AWS_PROFILE (set per function in its Cargo.toml) picks
# the function's profile from the credentials file. Run it in the background (`&`): it
# replaces that background process with cargo-lambda itself, so that $! is cargo-lambda
# and stopping it stops the functions too.
watch_functions() { # credentials_file port [cargo lambda watch flags...]
  local credentials=$1 port=$2
  shift 2
  cd "$ROOT"
  exec env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE="$credentials" \
    cargo-lambda lambda watch -A 127.0.0.1 -P "$port" "$@"
}

authctl() { "$ROOT/target/debug/authctl" "$@"; }

# Builds every function and authctl, so that `cargo lambda watch` starts them at once.
build_debug() {
  log "building (debug)"
  (cd "$ROOT" && cargo build --quiet --workspace --bins)
}


wait_for_http() { # url seconds
  local i
  for ((i = 0; i < $2 * 5; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  die "$1 did not answer within $2 s"
}
