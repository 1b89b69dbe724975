# The two entry points of the README: `make demo` and `make test`.
.PHONY: all build demo test bench header soak loom property-long install uninstall

# Where `make install` puts things (GNU conventions; DESTDIR stages a package).
prefix ?= /usr/local
PREFIX ?= $(prefix)
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR ?= $(LIBDIR)/cmake/gosched
INSTALL_ENV = DESTDIR='$(DESTDIR)' PREFIX='$(PREFIX)' LIBDIR='$(LIBDIR)' INCLUDEDIR='$(INCLUDEDIR)' \
	DATADIR='$(DATADIR)' PKGCONFIGDIR='$(PKGCONFIGDIR)' CMAKEDIR='$(CMAKEDIR)'

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

# The library, its headers, gosched.pc, the CMake package and the gdb extension
# (scripts/install.sh). Builds first where cargo is on the PATH (`sudo make install`
# often has none: then the library built by `make` is installed).
install:
	@if command -v cargo >/dev/null 2>&1; then $(MAKE) --no-print-directory build; fi
	$(INSTALL_ENV) bash scripts/install.sh install

uninstall:
	$(INSTALL_ENV) bash scripts/install.sh uninstall

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
