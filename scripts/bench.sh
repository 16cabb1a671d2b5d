#!/usr/bin/env bash
# make bench: builds the four functions, the SDK floor and hello world (release, or $BENCH_PROFILE), their
# arm64 zips (cargo lambda, one package per build as deploys build them), starts its own DynamoDB Local on a
# free port, runs the harness (bench/), and stops what it started. Prints the table; writes target/bench.json.
# The memory-size sweep runs each function under a cgroup CPU quota: as root (or with a writable cgroup
# hierarchy); otherwise it says so and skips the sweep.
# Not part of make test: it is a measurement, and release builds take minutes on 2 cores.
source "$(dirname "$0")/lib.sh"

PROFILE="${BENCH_PROFILE:-release}"
FUNCTIONS=(calcom-create-managed-organization clerk-create-organization datadog-create-child-org
  devin-create-enterprise-organization)
ARM64=aarch64-unknown-linux-gnu

ensure_venv # cargo-lambda (and zig) for the zips
ensure_dynamodb_local
# The Python/boto3 reference (bench/python) under awslambdaric, in a venv of its own: never shipped.
BENCH_VENV="$TOOLS/bench-venv"
ensure_locked "$BENCH_VENV" bench "awslambdaric 4.2.2 and boto3 (the bench's Python reference)"

stop_dynamodb_local_on_exit

cd "$ROOT"
packages=()
for p in "${FUNCTIONS[@]}" orgmint-bench-floor; do packages+=(-p "$p"); done
log "building the functions, the SDK floor and hello world (profile $PROFILE)"
started=$SECONDS
cargo build -q --profile "$PROFILE" "${packages[@]}"
log "building the harness"
cargo build -q --profile "$PROFILE" -p orgmint-bench
log "release builds took $((SECONDS - started)) s"

# Zip sizes. Earlier outputs go first, so that a failed build leaves no stale size behind.
rm -rf "$CARGO_TARGET_DIR/lambda"
libdir="$(rustc --print target-libdir --target "$ARM64" 2>/dev/null || true)"
if [ -n "$libdir" ] && [ -n "$(ls "$libdir"/libstd-* 2>/dev/null)" ]; then
  ZIP_ARCH=arm64
  arch_flag=(--arm64)
else
  printf '\n\033[1;31m!!! the Rust target %s is not installed (rustup target add %s): zip sizes will be x86_64 stand-ins\033[0m\n\n' "$ARM64" "$ARM64" >&2
  ZIP_ARCH=x86_64
  arch_flag=(--x86-64)
fi
if [ "${BENCH_SKIP_ZIPS:-}" != 1 ]; then
  started=$SECONDS
  # The profile measured; `release` is what deploys build (`cargo lambda build --release`).
  if [ "$PROFILE" = release ]; then profile_flag=(--release); else profile_flag=(--profile "$PROFILE"); fi
  for p in "${FUNCTIONS[@]}" orgmint-bench-floor; do
    log "cargo lambda build ${profile_flag[*]} ${arch_flag[*]} --output-format zip -p $p"
    cargo lambda build "${profile_flag[@]}" "${arch_flag[@]}" --output-format zip -p "$p" ||
      printf '\033[1;31m!!! cargo lambda build of %s failed: no zip size for it\033[0m\n' "$p" >&2
  done
  log "zips took $((SECONDS - started)) s"
fi

start_dynamodb_local "$(free_port)"
BENCH_BIN_DIR="$CARGO_TARGET_DIR/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")" \
  BENCH_ZIP_DIR="$CARGO_TARGET_DIR/lambda" BENCH_ZIP_ARCH="$ZIP_ARCH" BENCH_PYTHON="$BENCH_VENV/bin/python" \
  "$CARGO_TARGET_DIR/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/orgmint-bench"
