# The two commands of the README. Each installs what it needs into .tools/ first.
.PHONY: dev test fmt

dev:
	@bash scripts/dev.sh

test:
	@bash scripts/test.sh

fmt:
	cargo fmt --all
