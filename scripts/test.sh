#!/usr/bin/env bash
# make test: its own DynamoDB Local on a free port, lints, the whole suite; stops what it started, even on
# failure.
source "$(dirname "$0")/lib.sh"

ensure_crates
ensure_test_clients
ensure_schemathesis
ensure_cargo_deny
ensure_dynamodb_local

stop_dynamodb_local_on_exit

cd "$ROOT"
bash scripts/lint-infra.sh # the offline template and workflow checks (make lint-infra)
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets -q -- -D warnings
log "cargo deny check licenses bans sources (offline; advisories run in CI)"
"$CARGO_DENY" --offline check licenses bans sources

start_dynamodb_local "$(free_port)"
# The HTTP tests run the binaries through `cargo lambda watch`: build them first.
log "building"
cargo build --workspace --bins -q
ensure_clerk_signing_key
log "running the tests"
results="$TOOLS/test-results.log"
cargo test --workspace -q --no-fail-fast -- --test-threads "${TEST_THREADS:-4}" 2>&1 | tee "$results"
# One closing line over every test binary (cargo prints one per binary, the last often a doc-test's 0).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$results"
