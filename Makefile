# One entry point for people and CI.
.PHONY: setup run test lint
setup:
	bash scripts/setup.sh
run:
	bash scripts/run_example.sh
test:
	bash scripts/test.sh
lint:
	bash scripts/lint.sh
