#!/usr/bin/env bash
# make check: the fast loop. fmt, clippy and every test that needs no DynamoDB Local: the crates' own unit and
# property tests (validators, dialects, ids, secrets, slugs, the CLI). No Java, npm or PyPI; crates.io only.
# The end-to-end suite (orgmint-tests) is make test's.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
started=$SECONDS
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets -q -- -D warnings
log "unit tests (no DynamoDB Local)"
# No endpoint: a test that reached for DynamoDB would fail here rather than find make dev's by chance.
env -u AWS_ENDPOINT_URL_DYNAMODB cargo test --workspace --exclude orgmint-tests -q
log "make check passed in $((SECONDS - started)) s"
