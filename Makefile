# vrapl — see README.md. `make demo` is the main job, `make test` runs the tests.
SWIFT ?= swift
OUT ?= demo-out

.PHONY: all build release guest test demo bench deps deps-build clean

all: build

deps:
	@scripts/install-deps.sh test

deps-build:
	@scripts/install-deps.sh build

build: deps-build
	$(SWIFT) build

release: deps-build
	$(SWIFT) build -c release

# vrapl-guest for copying into a VM: the Swift runtime and Foundation linked in (no Swift install needed
# there; the VM needs libhdf5 and libopenblas from its package manager), and 6–7 MiB less resident
# memory than the default dynamically linked build (docs/PERFORMANCE.md, Guest).
guest: deps-build
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-static --product vrapl-guest
	@echo "vrapl-guest: $$($(SWIFT) build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)/vrapl-guest"

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

demo: deps release
	@scripts/demo.sh $(OUT)

bench: deps release
	@scripts/bench.sh

clean:
	rm -rf .build $(OUT)
