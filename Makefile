# The two commands of the README. Each installs what it needs into .tools/ first.
.PHONY: dev test check bench fmt lint-infra package deploy

dev:
	@bash scripts/dev.sh

test:
	@bash scripts/test.sh

# The fast loop: fmt, clippy and the tests that need no DynamoDB Local (no Java, npm or PyPI).
check:
	@bash scripts/check.sh

# The functions against the SDK floor: cold start, warm latency, throughput, zip size, memory. Prints a table
# and writes target/bench.json. BENCH_PROFILE=bench-dev for a quicker, non-LTO build while iterating.
bench:
	@bash scripts/bench.sh

fmt:
	cargo fmt --all

# The offline infrastructure checks (also the first step of make test): check-infra, sam validate --lint,
# cfn-lint, checkov, actionlint.
lint-infra:
	@bash scripts/lint-infra.sh

# sam build for arm64 and dist/<function>.zip; needs `rustup target add aarch64-unknown-linux-gnu`.
package:
	@bash scripts/package.sh

# sam deploy --config-env $(ENV) of the last `make package`; needs AWS credentials. ENV=dev or ENV=prod.
deploy:
	@bash scripts/deploy.sh $(ENV)
