# Two entry points for a newcomer: `make demo` (the main job on the embedded benchmark) and
# `make test` (every test). Both run the idempotent setup first (packages, restore, build).
.PHONY: setup demo test build clean bench

setup:
	@bash scripts/setup.sh

build: setup

demo: setup
	@bash scripts/demo.sh

test: setup
	@bash scripts/test.sh

bench:
	@HYBRID_WITH_PYTORCH=1 bash scripts/setup.sh
	@bash bench/run.sh

clean:
	rm -rf build */*/bin */*/obj tests/*/bin tests/*/obj bench/*/bin bench/*/obj
