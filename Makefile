# The two entry points of the README: `make demo` and `make test`.
.PHONY: all build demo test bench header soak loom property-long

all: build

# cargo builds libgosched.so; the link libgosched.so.<major> (its SONAME) is what
# programs linked against target/release ask for at run time.
build:
	cargo build --release
	bash scripts/soname-link.sh target/release

demo: build
	bash scripts/demo.sh

test:
	bash scripts/test.sh

bench: build
	bash benches/run.sh

header:
	.ci/update-header

# Mixed work under a signal storm for 10 minutes at nprocs 1, 2, 4 and 8, printing
# RSS, threads and fds every minute; fails if they are not flat (tests/c/soak.c).
soak: build
	gcc -std=c11 -O2 -g -Wall -Wextra -Werror -pthread -Iinclude -o target/soak tests/c/soak.c \
		-Ltarget/release -Wl,-rpath,$(CURDIR)/target/release -lgosched -lm
	SOAK_SECONDS=$${SOAK_SECONDS:-600} SOAK_SAMPLE=$${SOAK_SAMPLE:-60} target/soak

# The loom models alone (they also run in `make test`).
loom:
	bash scripts/loom.sh

# The property test of the C API (tests/property) over 5000 seeds instead of the 64
# that `make test` runs; PROPERTY_SEEDS sets another count, PROPERTY_SEED=n replays one.
property-long: build
	PROPERTY_SEEDS=$${PROPERTY_SEEDS:-5000} cargo test --release --test property -- --nocapture
