#!/usr/bin/env bash
# make lint-infra (and the first step of make test): the offline checks of the infrastructure. Needs no AWS
# credentials, region or network beyond PyPI for the first install.
#   check-infra.py   the template agrees with Cargo.toml's router, functions/ and Store::create_table
#   sam validate     the SAM transform, with --lint (cfn-lint's rules on the transformed template)
#   cfn-lint         the template as written
#   checkov          zero failed checks; every skip carries its reason in the resource's Metadata
#   actionlint       .github/workflows/*.yml (with shellcheck on their run: scripts)
source "$(dirname "$0")/lib.sh"

ensure_infra_tools
cd "$ROOT"
started=$SECONDS

log "check-infra: template vs. router, functions/ and shared/src/store/"
"$VENV/bin/python" scripts/check-infra.py

log "sam validate --lint"
sam validate --lint -t infra/template.yaml >/dev/null

log "cfn-lint"
cfn-lint infra/template.yaml

log "checkov"
BC_SKIP_MAPPING=TRUE CKV_SKIP_PACKAGE_UPDATE_CHECK=true "$CHECKOV" -f infra/template.yaml \
  --framework cloudformation --skip-download --compact --quiet >"$TOOLS/checkov.log" 2>&1 || {
  cat "$TOOLS/checkov.log" >&2
  die "checkov found failed checks (fix them, or skip with a one-line reason in the resource's Metadata)"
}
grep -E 'Passed checks: [0-9]+, Failed checks: 0, Skipped checks: [0-9]+' "$TOOLS/checkov.log" >&2 ||
  { cat "$TOOLS/checkov.log" >&2; die "checkov printed no summary"; }

log "actionlint"
actionlint -no-color .github/workflows/*.yml

log "infrastructure checks passed in $((SECONDS - started)) s"
