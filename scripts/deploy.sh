#!/usr/bin/env bash
# make deploy ENV=dev|prod: `sam deploy --config-env ENV` of the build that `make package` left in
# infra/.aws-sam. Needs standard AWS credentials (in CI: the OIDC role) and a region (AWS_REGION).
# lib.sh fills in local placeholders (region, DynamoDB Local credentials); a deploy must use only what the
# caller's environment or AWS profile says, so remember what was set before.
had_region="${AWS_REGION+set}" had_key="${AWS_ACCESS_KEY_ID+set}"
source "$(dirname "$0")/lib.sh"
[ -n "$had_region" ] || unset AWS_REGION
[ -n "$had_key" ] || unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

env="${1:-}"
case "$env" in dev | prod) ;; *) die "usage: make deploy ENV=dev|prod" ;; esac
[ -f "$ROOT/infra/.aws-sam/build/template.yaml" ] || die "no build in infra/.aws-sam: run 'make package' first"
ensure_sam
cd "$ROOT/infra"
extra=()
# In CI the `prod` environment's required reviewers are the confirmation; there is no terminal to ask.
[ -n "${CI:-}" ] && extra+=(--no-confirm-changeset)
sam deploy --config-env "$env" "${extra[@]}"
sam list stack-outputs --stack-name "orgmint-$env" --output table || true
