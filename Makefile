# The two entry points of the README: `make demo` and `make test`.
.PHONY: all build demo test bench header

all: build

build:
	cargo build --release

demo: build
	bash scripts/demo.sh

test:
	bash scripts/test.sh

bench: build
	bash benches/run.sh

header:
	.ci/update-header
