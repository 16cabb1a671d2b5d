#!/usr/bin/env bash
# make package: `sam build` of every function in infra/template.yaml for arm64 (cargo-lambda cross-compiles
# with zig), then checks that each built `bootstrap` is a fresh aarch64 ELF and zips each into
# dist/<crate>.zip. Not part of make test: a release build of the workspace takes minutes on 2 cores.
# Fails loudly rather than ship stale binaries: the Rust target must be installed, and the outputs of any
# earlier build are removed first, so nothing old can be copied in their place.
source "$(dirname "$0")/lib.sh"

TARGET=aarch64-unknown-linux-gnu
ensure_sam
cd "$ROOT"

# First, so that a failed run leaves nothing old behind for make deploy to pick up.
log "removing earlier build outputs (infra/.aws-sam, $CARGO_TARGET_DIR/lambda, dist/)"
rm -rf infra/.aws-sam "$CARGO_TARGET_DIR/lambda" dist

libdir="$(rustc --print target-libdir --target "$TARGET" 2>/dev/null || true)"
if [ -z "$libdir" ] || [ -z "$(ls "$libdir"/libstd-* 2>/dev/null)" ]; then
  die "the Rust target $TARGET is not installed: run 'rustup target add $TARGET' (sam build would otherwise fail, or worse, copy old binaries)"
fi

log "sam build (cargo lambda build --release --arm64, target dir $CARGO_TARGET_DIR)"
started=$SECONDS
(cd infra && sam build)
log "sam build took $((SECONDS - started)) s"

"$VENV/bin/python" scripts/package-zips.py
