#!/usr/bin/env bash
# make dev: DynamoDB Local, the table, one demo tenant per vendor, and `cargo lambda watch` serving every
# route on one port. Ctrl-C or SIGTERM stops everything this script started.
source "$(dirname "$0")/lib.sh"

DDB_PORT="${ORGMINT_DDB_PORT:-8000}"
API_PORT="${ORGMINT_API_PORT:-9000}"
export ORGMINT_API_PORT="$API_PORT"

ensure_venv
ensure_clerk_js
ensure_dynamodb_local

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]; then
  log "using DynamoDB at $AWS_ENDPOINT_URL_DYNAMODB"
elif (exec 3<>"/dev/tcp/127.0.0.1/$DDB_PORT") 2>/dev/null; then
  die "port $DDB_PORT is taken: stop what listens there, or set ORGMINT_DDB_PORT (or AWS_ENDPOINT_URL_DYNAMODB to use it)"
else
  # On disk, fresh for each run: stopped and started again with the same command line, DynamoDB Local
  # keeps the tables, tenants and orgs of this run.
  # (One directory per port: a second make dev on other ports, as the tests run one, leaves this one alone.)
  rm -rf "$ROOT/.dev/dynamodb-$DDB_PORT"
  start_dynamodb_local "$DDB_PORT" "$ROOT/.dev/dynamodb-$DDB_PORT"
  pids+=("$DDB_PID")
fi

# Build before serving: watch would otherwise build each function on its first request.
log "building the workspace"
cargo build --workspace --bins
ensure_clerk_signing_key

orgmint() { "$CARGO_TARGET_DIR/debug/orgmint" "$@"; }
orgmint table create
echo
log "the orgmint CLI in another terminal reaches this stack after this line (without it: AWS itself):"
echo "export AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB"
echo "# then, e.g.: cargo run -q -p orgmint-cli -- tenant create --vendor devin --json"
echo
log "demo tenants: paste a line into another terminal"
for vendor in $(orgmint vendors); do
  orgmint tenant create --vendor "$vendor" --name "Demo ${vendor^}" --cap 100
done
echo
log "retries: add -H 'Idempotency-Key: <any unique string>' to a line; sent again, it answers with the first response (header Idempotent-Replayed: true) and creates nothing"
echo

log "serving on http://127.0.0.1:$API_PORT (Ctrl-C stops everything)"
cd "$ROOT"
# Watch listens on a port of its own behind scripts/dev-proxy.py, which only makes bodies that are not UTF-8
# reach the functions (watch alone answers them 500); see the script.
WATCH_PORT="$(free_port)"
WATCH_CONCURRENCY=16
# --disable-cors: watch's own CORS layer would answer preflights itself; the functions answer them as each
# vendor does, as they do behind API Gateway (which has no CORS configuration of its own here).
cargo lambda watch -A 127.0.0.1 -P "$WATCH_PORT" --concurrency "$WATCH_CONCURRENCY" --disable-cors &
pids+=($!)
"$VENV/bin/python" scripts/dev-proxy.py "$API_PORT" "$WATCH_PORT" "$WATCH_CONCURRENCY" &
pids+=($!)
wait "${pids[@]}"
