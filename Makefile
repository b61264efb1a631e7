# vrapl — see README.md. `make demo` is the main job, `make test` runs the tests.
SWIFT ?= swift
OUT ?= demo-out

.PHONY: all build release lean collector guest test demo bench deps deps-build clean

all: build

deps:
	@scripts/install-deps.sh test

deps-build:
	@scripts/install-deps.sh build

build: deps-build
	$(SWIFT) build

release: deps-build
	$(SWIFT) build -c release

# Lean release binaries for the machines that run them (scripts/build-lean.sh says how): the Swift
# runtime linked in, no Foundation in the collector, HDF5 static. vrapl-collect is 16 MB resident
# instead of 33 MB, vrapl-guest about 20 MiB instead of 33 (docs/PERFORMANCE.md).
lean: deps-build
	@scripts/build-lean.sh vrapl-collect vrapl-guest

collector: deps-build
	@scripts/build-lean.sh vrapl-collect

guest: deps-build
	@scripts/build-lean.sh vrapl-guest

test: deps
	python3 scripts/check-dependencies.py --self-test
	python3 scripts/check-dependencies.py
	$(SWIFT) build --build-tests
	scripts/build-lean.sh vrapl-collect >/dev/null
	python3 Tests/Reliability/probe.py --bin "$$($(SWIFT) build --show-bin-path)" --lean /nonexistent
	$(SWIFT) test

demo: deps release
	@scripts/demo.sh $(OUT)

bench: deps release
	@scripts/bench.sh

clean:
	rm -rf .build .build-static $(OUT)
