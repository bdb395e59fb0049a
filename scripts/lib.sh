# Shared by scripts/dev and scripts/test: the local stack's pieces.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
STATE="$ROOT/.local"
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"
export SAM_CLI_TELEMETRY=0

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Dummy credentials: the local DynamoDB server accepts any.
use_local_aws() {
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$1"
  unset AWS_PROFILE AWS_SESSION_TOKEN
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

# Starts moto's DynamoDB server unless one already listens there; sets DYNAMO_PID (empty if reused).
start_dynamodb() { # port logfile
  DYNAMO_PID=
  if port_open "$1"; then
    log "DynamoDB server already on port $1: reusing it"
    return 0
  fi
  mkdir -p "$(dirname "$2")"
  "$VENV/bin/python" -m moto.server -H 127.0.0.1 -p "$1" >"$2" 2>&1 &
  DYNAMO_PID=$!
  wait_for_port "$1" 30 "moto's DynamoDB server"
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
